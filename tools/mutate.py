"""Mutation testing: would the tests notice if this module's logic changed?

Each mutant makes one small change: a comparison, `and`/`or`, `not`, a boolean or integer
constant, an arithmetic sign, a return value, an `if`'s test, a string, or a deleted
statement in the Python code, and `<=`, `=`, `AND`, `NOT`, `DESC`, `IS NULL`... in the SQL its
string literals hold. Mutants run one at a time in a copy of the working tree (never in it),
each as `pytest -x` on the named test files with a timeout. A mutant the tests pass on
survived: a test is missing, or the change is equivalent (no caller can tell the difference).
At most `--cap` mutants are spread over the module's lines, the behavioural ones first; the
choice is deterministic, so two runs on the same code run the same mutants.

    scripts/mutate run service/cache.py --tests tests/test_cache.py [--cap 40] [--out F.jsonl]
    scripts/mutate list service/cache.py [--cap 40]
    scripts/mutate summary F.jsonl ...

`run` appends one JSON line per mutant to --out (default mutants/<module>.jsonl) and skips the
ids already there, so an interrupted run resumes; `--survivors` first drops the survivors'
lines, to try them again once tests were added.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CMP = {
    ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="), ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"),
    ast.Gt: (">", ">="), ast.GtE: (">=", ">"), ast.Is: ("is", "is not"),
    ast.IsNot: ("is not", "is"), ast.In: ("in", "not in"), ast.NotIn: ("not in", "in"),
}  # fmt: skip
BINOP = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*")}
SQL = [  # (pattern, replacement, label): operators inside SQL string literals
    (r"<=", "<", "sql <= -> <"),
    (r">=", ">", "sql >= -> >"),
    (r"(?<![<>!])=(?!=)", "<>", "sql = -> <>"),
    (r"<>", "=", "sql <> -> ="),
    (r"(?<![<])<(?![=>])", "<=", "sql < -> <="),
    (r"(?<![-=])>(?!=)", ">=", "sql > -> >="),
    (r"\bDESC\b", "ASC", "sql DESC -> ASC"),
    (r"\bASC\b", "DESC", "sql ASC -> DESC"),
    (r"\bAND\b", "OR", "sql AND -> OR"),
    (r"\bNOT\s+", "", "sql drop NOT"),
    (r"\bIS NULL\b", "IS NOT NULL", "sql IS NULL -> IS NOT NULL"),
    (r"\bIS NOT NULL\b", "IS NULL", "sql IS NOT NULL -> IS NULL"),
    (r"\bLIMIT 1\b", "LIMIT 2", "sql LIMIT 1 -> 2"),
    (r"\+ 1\b", "+ 2", "sql + 1 -> + 2"),
]
SQL_HINT = re.compile(r"\b(SELECT|WHERE|FROM|JOIN|ORDER BY)\b")
# Least informative: ranked after the behavioural operators when the cap bites.
LOW = {"delete statement", "string XX", "sql = -> <>"}
STATEMENTS = (ast.Assign, ast.AugAssign, ast.Expr, ast.Return, ast.Raise, ast.Continue, ast.Break)


@dataclass(frozen=True)
class Mutant:
    id: int
    line: int
    start: int  # byte offsets into the source
    end: int
    new: str
    op: str

    def apply(self, src: bytes) -> bytes:
        return src[: self.start] + self.new.encode() + src[self.end :]

    def describe(self, src: bytes) -> str:
        before = src[self.start : self.end].decode()
        before = before if len(before) < 70 else before[:67] + "..."
        return f"L{self.line} [{self.op}] {before!r} -> {self.new!r}"


class _Finder:
    """Candidate edits (line, start, end, replacement, label) of one module's source."""

    def __init__(self, src: bytes) -> None:
        self.src = src
        self.starts = [0]
        for line in src.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))
        self.found: list[tuple[int, int, int, str, str]] = []
        self.skip: list[tuple[int, int]] = []  # annotations, docstrings, TYPE_CHECKING

    def at(self, line: int | None, col: int | None) -> int:
        assert line is not None and col is not None
        return self.starts[line - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.at(getattr(node, "lineno", None), getattr(node, "col_offset", None))
        end = self.at(getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None))
        return start, end

    def text(self, start: int, end: int) -> str:
        return self.src[start:end].decode()

    def add(self, line: int, start: int, end: int, new: str, op: str) -> None:
        if not any(a <= start and end <= b for a, b in self.skip):
            self.found.append((line, start, end, new, op))

    def between(self, node: ast.AST, operands: tuple[ast.AST, ast.AST], token: str, new: str,
                op: str) -> None:  # fmt: skip
        """Replace `token`, the operator text between two operands of `node`."""
        start, end = self.span(operands[0])[1], self.span(operands[1])[0]
        match = re.search(token, self.text(start, end))
        if match:
            line = getattr(node, "lineno", 0)
            self.add(line, start + match.start(), start + match.end(), new, op)

    def sql(self, node: ast.expr, text: str, start: int) -> None:
        for pattern, new, op in SQL:
            for match in re.finditer(pattern, text):
                before = text[: match.start()]
                if isinstance(node, ast.JoinedStr) and before.count("{") != before.count("}"):
                    continue  # inside an f-string's {expression}
                line = (node.lineno or 0) + before.count("\n")
                self.add(line, start + match.start(), start + match.end(), new, op)

    def visit(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            self._mark_skipped(node)
        for node in ast.walk(tree):
            self._operators(node)
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    if isinstance(node, STATEMENTS) or (
                        isinstance(node, ast.AnnAssign) and node.value
                    ):
                        self.add(node.lineno, *self.span(node), "pass", "delete statement")

    def _mark_skipped(self, node: ast.AST) -> None:
        for name in ("annotation", "returns"):
            sub = getattr(node, name, None)
            if isinstance(sub, ast.AST):
                self.skip.append(self.span(sub))
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = body[0] if body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                self.skip.append(self.span(first))
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
            self.skip.append(self.span(node))

    def _operators(self, node: ast.AST) -> None:
        if isinstance(node, ast.Compare):
            left = node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                old, new = CMP[type(op)]
                pattern = re.escape(old).replace(r"\ ", r"\s+")
                self.between(node, (left, right), pattern, new, f"{old} -> {new}")
                left = right
        elif isinstance(node, ast.BoolOp):
            old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
            for left, right in zip(node.values, node.values[1:], strict=False):
                self.between(node, (left, right), rf"\b{old}\b", new, f"{old} -> {new}")
        elif isinstance(node, ast.BinOp) and type(node.op) in BINOP:
            old, new = BINOP[type(node.op)]
            operands = (node.left, node.right)
            self.between(node, operands, re.escape(old), new, f"{old} -> {new}")
        elif isinstance(node, ast.AugAssign) and type(node.op) in (ast.Add, ast.Sub):
            old, new = ("+=", "-=") if isinstance(node.op, ast.Add) else ("-=", "+=")
            operands = (node.target, node.value)
            self.between(node, operands, re.escape(old), new, f"{old} -> {new}")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.add(node.lineno, self.span(node)[0], self.span(node.operand)[0], "", "drop not")
        elif isinstance(node, ast.Constant):
            self._constant(node)
        elif isinstance(node, ast.JoinedStr):
            start, end = self.span(node)
            if SQL_HINT.search(self.text(start, end)):
                self.sql(node, self.text(start, end), start)
        elif isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                self.add(node.lineno, *self.span(node.value), "None", "return None")
        elif isinstance(node, ast.If) and not (
            isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not)
        ):
            start, end = self.span(node.test)
            self.add(node.lineno, start, end, f"not ({self.text(start, end)})", "negate if")

    def _constant(self, node: ast.Constant) -> None:
        start, end = self.span(node)
        value = node.value
        if isinstance(value, bool):
            self.add(node.lineno, start, end, str(not value), f"{value} -> {not value}")
        elif type(value) is int:
            self.add(node.lineno, start, end, str(value + 1), "int +1")
            self.add(node.lineno, start, end, str(value - 1), "int -1")
        elif isinstance(value, str):
            text = self.text(start, end)
            if SQL_HINT.search(value):
                self.sql(node, text, start)
            elif 0 < len(value) <= 40 and "\n" not in text:
                quote = text[-1]
                prefix = text[: text.index(quote)]
                self.add(node.lineno, start, end, f"{prefix}{quote}XX{value}XX{quote}", "string XX")


def generate(src: bytes) -> list[Mutant]:
    """Every mutant of the source that still compiles, in source order."""
    finder = _Finder(src)
    finder.visit(ast.parse(src))
    seen: set[tuple[int, int, str]] = set()
    mutants: list[Mutant] = []
    for line, start, end, new, op in sorted(finder.found, key=lambda f: (f[1], f[2], f[4])):
        if (start, end, new) in seen or src[start:end] == new.encode():
            continue
        try:
            compile(src[:start] + new.encode() + src[end:], "<mutant>", "exec")
        except SyntaxError:
            continue
        seen.add((start, end, new))
        mutants.append(Mutant(len(mutants), line, start, end, new, op))
    return mutants


def choose(mutants: list[Mutant], cap: int) -> list[Mutant]:
    """At most `cap`, spread over the lines, three quarters (or more) behavioural."""
    if len(mutants) <= cap:
        return mutants
    high = [m for m in mutants if m.op not in LOW]
    low = [m for m in mutants if m.op in LOW]
    chosen = _spread(high, max(cap * 3 // 4, cap - len(low)))
    chosen += _spread(low, cap - len(chosen))
    return sorted(chosen, key=lambda m: m.start)


def _spread(mutants: list[Mutant], cap: int) -> list[Mutant]:
    """Round-robin over lines (one mutant per line a round, operator kinds alternating in a
    seeded order), each round sampled evenly once it no longer fits whole."""
    if cap <= 0:
        return []
    rng = random.Random(12345)
    by_line: dict[int, list[Mutant]] = {}
    for mutant in mutants:
        by_line.setdefault(mutant.line, []).append(mutant)
    for line_mutants in (by_line[line] for line in sorted(by_line)):
        kinds: dict[str, list[Mutant]] = {}
        for mutant in sorted(line_mutants, key=lambda m: m.start):
            kinds.setdefault(mutant.op, []).append(mutant)
        lists = [kinds[kind] for kind in sorted(kinds)]
        rng.shuffle(lists)
        for kind_list in lists:
            rng.shuffle(kind_list)
        width = max(len(kind_list) for kind_list in lists)
        line_mutants[:] = [kl[i] for i in range(width) for kl in lists if i < len(kl)]
    chosen: list[Mutant] = []
    for depth in range(max(len(ms) for ms in by_line.values())):
        round_ = [ms[depth] for _, ms in sorted(by_line.items()) if depth < len(ms)]
        room = cap - len(chosen)
        if room <= 0:
            break
        step = max(len(round_) / room, 1.0)
        chosen += [round_[int(i * step)] for i in range(min(room, len(round_)))]
    return sorted(chosen, key=lambda m: m.start)


def _copy_tree(destination: Path) -> None:
    """The working tree's files (tracked or new, not ignored), uncommitted edits included."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout  # fmt: skip
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


# Imported once by the tool and inherited by every forked pytest session: about a third of a
# session's start-up (hypothesis, strawberry, alembic ...), paid per mutant before. Only
# third-party packages: the project's own modules must be imported fresh from the mutated copy.
# pytest warns that plugins imported before it starts cannot have their asserts rewritten
# (an error under the project's `filterwarnings`); the plugins' own asserts do not matter here.
PRELOADED = (
    "pytest", "pytest_asyncio", "hypothesis", "strawberry", "graphql", "asyncpg", "starlette",
    "httpx", "pydantic", "pydantic_settings", "orjson", "prometheus_client", "pycountry",
    "alembic", "sqlalchemy", "schemathesis",
)  # fmt: skip


def _preload() -> None:
    for name in PRELOADED:
        # An optional extra that is not installed: the child imports less.
        with contextlib.suppress(ImportError):
            __import__(name)


def _pytest(copy: Path, tests: list[str], timeout: float) -> tuple[str, float, str]:
    """`pytest -x` on the copy in a forked child of this process, killed (with anything it
    started) after `timeout` seconds."""
    args = ["-x", "-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    args += tests
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 3
            try:
                os.setsid()
                os.dup2(output.fileno(), 1)
                os.dup2(output.fileno(), 2)
                os.chdir(copy)
                # No bytecode: a mutant of the same size written within a second would reuse a
                # stale .pyc. PYTHONPATH: for the processes the tests start themselves.
                sys.dont_write_bytecode = True
                os.environ.update(PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
                sys.path.insert(0, str(copy))
                import pytest

                code = int(pytest.main(args))
                # What the interpreter's own exit does and os._exit skips: join the threads
                # left running (a session that leaves a non-daemon thread hangs, as it would
                # in a process of its own) and run the atexit handlers.
                getattr(threading, "_shutdown")()  # noqa: B009 - private, no typed stub
                atexit._run_exitfuncs()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        status = _wait(pid, started + timeout)
        secs = time.monotonic() - started
        output.seek(0)
        text = output.read().decode(errors="replace")
    if status is None:
        return "timeout", secs, ""
    if status == 0:
        return "survived", secs, ""
    failed = [line for line in text.splitlines() if line.startswith(("FAILED", "ERROR"))]
    detail = (failed[0] if failed else text[-300:])[:300]
    # 1: a test failed; anything else (a collection or import error) also noticed the change.
    return ("killed" if status == 1 else "error"), secs, detail


def _wait(pid: int, deadline: float) -> int | None:
    """The child's exit code, or None once it ran past the deadline (then its whole session
    is killed)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.05)
    # Processes the session started and left behind would hold ports and databases.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return os.waitstatus_to_exitcode(status)


def run(module: str, tests: list[str], cap: int, timeout: float, out: Path) -> None:
    src = (ROOT / module).read_bytes()
    chosen = choose(generate(src), cap)
    if out.exists():
        described = {m.id: (m.line, m.op) for m in chosen}
        for record in read(out):
            if described.get(int(str(record["id"]))) != (record["line"], record["op"]):
                sys.exit(f"{out} holds mutants of other code: its mutant {record['id']} differs")
    done = {record["id"] for record in read(out)} if out.exists() else set()
    out.parent.mkdir(parents=True, exist_ok=True)
    # Not a TemporaryDirectory: its clean-up is an atexit hook (weakref.finalize), which each
    # forked session inherits and runs on exit, deleting the copy under the next mutant.
    copy = Path(tempfile.mkdtemp(prefix="mutate-"))
    try:
        _copy_tree(copy)
        _preload()
        status, secs, detail = _pytest(copy, tests, 900)
        if status != "survived":
            sys.exit(f"the tests fail without any mutant: {status} {detail}")
        limit = timeout or max(3 * secs, secs + 30)
        print(f"baseline {secs:.1f}s, timeout {limit:.0f}s, {len(chosen)} mutants", flush=True)
        for mutant in (m for m in chosen if m.id not in done):
            (copy / module).write_bytes(mutant.apply(src))
            status, secs, detail = _pytest(copy, tests, limit)
            (copy / module).write_bytes(src)
            record = {
                "module": module, "id": mutant.id, "line": mutant.line, "op": mutant.op,
                "before": src[mutant.start : mutant.end].decode(), "after": mutant.new,
                "status": status, "secs": round(secs, 1), "detail": detail,
            }  # fmt: skip
            with out.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            print(f"{status:8s} {secs:5.1f}s {mutant.describe(src)}", flush=True)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    summary([out])


def read(path: Path) -> Iterator[dict[str, object]]:
    for line in path.read_text().splitlines():
        if line.strip():
            record: dict[str, object] = json.loads(line)
            yield record


def summary(paths: list[Path]) -> None:
    """A markdown table: module, mutants, killed (timeouts and errors included), score; then
    the survivors, to be killed by a test or explained as equivalent."""
    print("| module | mutants | killed | score |\n|---|---:|---:|---:|")
    survivors: list[dict[str, object]] = []
    for path in paths:
        records = list(read(path))
        alive = [r for r in records if r["status"] == "survived"]
        survivors += alive
        killed = len(records) - len(alive)
        score = 100 * killed / len(records) if records else 0.0
        module = records[0]["module"] if records else path.stem
        print(f"| {module} | {len(records)} | {killed} | {score:.0f}% |")
    for r in survivors:
        print(f"survived {r['module']}:{r['line']} [{r['op']}] {r['before']!r} -> {r['after']!r}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/mutate", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="show the mutants a run would try")
    running = sub.add_parser("run", help="run the tests against each mutant")
    for command in (listing, running):
        command.add_argument("module", help="a path relative to the repository, e.g. service/x.py")
        command.add_argument("--cap", type=int, default=40, help="most mutants (default 40)")
    running.add_argument("--tests", nargs="+", required=True, help="test files to run")
    running.add_argument("--timeout", type=float, default=0, help="seconds (default 3x baseline)")
    running.add_argument("--out", type=Path, help="JSON lines (default mutants/<module>.jsonl)")
    running.add_argument("--survivors", action="store_true", help="run --out's survivors again")
    summing = sub.add_parser("summary", help="the score table of earlier runs")
    summing.add_argument("results", nargs="+", type=Path)
    args = parser.parse_args()
    if args.command == "summary":
        summary(args.results)
        return
    module = Path(args.module).resolve().relative_to(ROOT).as_posix()
    if args.command == "list":
        src = (ROOT / module).read_bytes()
        every = generate(src)
        chosen = choose(every, args.cap)
        print(f"# {len(every)} candidates, {len(chosen)} chosen")
        for mutant in chosen:
            print(mutant.id, mutant.describe(src))
        return
    out = args.out or Path("mutants") / (module.replace("/", ".").removesuffix(".py") + ".jsonl")
    if args.survivors and out.exists():
        kept = [line for line in out.read_text().splitlines() if '"status": "survived"' not in line]
        out.write_text("".join(line + "\n" for line in kept))
    run(module, args.tests, args.cap, args.timeout, out)


if __name__ == "__main__":
    main()
