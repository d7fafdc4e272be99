"""Server CPU per uncached request, as instructions counted by callgrind, not as time.

On a loaded machine wall-clock and CPU timings drift by tens of percent; callgrind counts the
instructions the process executes, the same on every run. One process serves the app in-process
(its lifespan run as `registry serve` runs it, the response cache off, logging at WARNING as
bench/run starts it) and drives it with ASGI messages as uvicorn would after parsing wrk's
POST: no HTTP client and no socket in the count, only the app, asyncpg and the event loop
(uvloop where installed, as `registry serve` picks). PostgreSQL runs in its own processes and is
not counted.

    python -m bench.cpu_profile                    # all three queries, 200 requests each
    python -m bench.cpu_profile --requests 400 --query "model page"
    python -m bench.cpu_profile --load             # first: the smoke dataset into DATABASE_URL

After a warm-up (every query's document checked, its plan compiled, the pool filled) each
query's N requests run between two calls of libc's getppid(), at which callgrind dumps its
counters (`--dump-before=getppid`); a dump's total over N is the figure. The dumps stay in
--out-dir for `callgrind_annotate --inclusive=yes <file>`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from bench.config import SCALES
from bench.queries import NAMES, check_answer, registry_queries

WARMUP = 30
HEADERS = [(b"host", b"127.0.0.1:18000"), (b"content-type", b"application/json")]
_TOTAL = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


def _scope(body: bytes, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [*HEADERS, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 18000),
        "state": dict(state),
    }


async def _request(app: Any, body: bytes, state: dict[str, Any]) -> tuple[int, bytes]:
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope(body, state), receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@contextlib.asynccontextmanager
async def _served(dsn: str) -> AsyncIterator[tuple[Any, dict[str, Any]]]:
    # service.app.serving, written out: it runs on commits from before `serving` existed too.
    from service.app import create_app
    from service.config import Settings

    settings = Settings(database_url=dsn, seed_demo=False, response_cache=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:
        yield app, dict(state or {})


async def serve(dsn: str, names: list[str], requests: int) -> None:
    """Warm up, check each answer, then `requests` of each query between two dumps."""
    bodies = {name: query.body() for name, query in registry_queries(SCALES["smoke"]).items()}
    async with _served(dsn) as (app, state):
        for name in names:
            for _ in range(WARMUP):
                status, answer = await _request(app, bodies[name], state)
            problem = check_answer(answer)
            if status != 200 or problem is not None:
                raise SystemExit(f"{name}: {status} {problem}")
        for name in names:
            os.getppid()  # callgrind dumps here: what came before is start-up and warm-up
            for _ in range(requests):
                await _request(app, bodies[name], state)
        os.getppid()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _count(dsn: str, names: list[str], requests: int, out_dir: Path) -> list[int]:
    """Instructions of each query's `requests` requests, one callgrind run for all."""
    for old in out_dir.glob("callgrind.out*"):
        old.unlink()
    argv = [
        "valgrind",
        "--tool=callgrind",
        "--dump-before=getppid",
        f"--callgrind-out-file={out_dir / 'callgrind.out'}",
        sys.executable,
        "-m",
        "bench.cpu_profile",
        "--serve",
        "--requests",
        str(requests),
        *(arg for name in names for arg in ("--query", name)),
    ]
    env = {**os.environ, "DATABASE_URL": dsn, "PYTHONHASHSEED": "0"}
    subprocess.run(argv, env=env, check=True, stderr=subprocess.DEVNULL)
    dumps = sorted(out_dir.glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
    # Dump 1 is start-up and warm-up; dump k + 1 ends query k's requests; the last, the exit.
    totals = [int(_TOTAL.findall(path.read_bytes())[-1]) for path in dumps]
    for index, name in enumerate(names):
        dumps[index + 1].rename(out_dir / f"callgrind.{name.replace(' ', '-')}.out")
    return totals[1 : 1 + len(names)]


def _load(dsn: str) -> None:
    from bench import dataset

    dataset.migrate(dsn)
    asyncio.run(dataset.load(dsn, SCALES["smoke"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_profile", description=__doc__)
    parser.add_argument("--query", action="append", choices=NAMES, help="default: all of them")
    parser.add_argument("--requests", type=int, default=200, help="per query (default 200)")
    parser.add_argument("--out-dir", type=Path, help="keep the callgrind dumps here")
    parser.add_argument("--load", action="store_true", help="load the smoke dataset first")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the counted run
    args = parser.parse_args(argv)
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        parser.error("DATABASE_URL names the database (with the smoke dataset: --load)")
    names = args.query or list(NAMES)
    if args.serve:
        with contextlib.suppress(ImportError):  # older commits: no service.logs
            from service import logs

            logs.configure("warning", "json")  # as bench/run starts the registry
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(serve(dsn, names, args.requests))
        return 0
    if args.load:
        _load(dsn)
    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="cpu-profile-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    totals = _count(dsn, names, args.requests, out_dir)
    print(f"instructions per request ({args.requests} requests each, callgrind, {out_dir}):")
    for name, total in zip(names, totals, strict=True):
        print(f"  {name:<12} {total / args.requests / 1e6:8.3f} M")
    return 0


if __name__ == "__main__":
    sys.exit(main())
