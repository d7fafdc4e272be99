"""Load generators: wrk against a GraphQL endpoint, pgbench against the SQL ceiling."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import BENCH_DIR, CONNECTIONS, THREADS
from bench.stats import Spread

WRK_SCRIPT = BENCH_DIR / "wrk.lua"


@dataclass
class Round:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_s: float
    db_cpu_s: float | None
    rss_peak_bytes: int  # the server's resident memory, sampled while the load ran

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def per_request_ms(self, seconds: float | None) -> float | None:
        return None if seconds is None else 1000 * seconds / max(self.requests, 1)

    @property
    def total_cpu_ms(self) -> float | None:
        """Server and PostgreSQL CPU per request; None when PostgreSQL's is not known."""
        if self.db_cpu_s is None:
            return None
        return self.per_request_ms(self.server_cpu_s + self.db_cpu_s)


@dataclass
class Result:
    """One row of a table: a server answering one query (or the mix), round after round."""

    label: str
    rounds: list[Round] = field(default_factory=list)
    missing: str | None = None  # why there is no measurement ("field missing", an error)

    def _spread(self, values: list[float | None]) -> Spread | None:
        if any(v is None for v in values):
            return None
        return Spread.of(v for v in values if v is not None)

    @property
    def rps_each(self) -> list[float]:
        return [r.rps for r in self.rounds]

    @property
    def rps(self) -> Spread | None:
        return Spread.of(self.rps_each)

    @property
    def p50_ms(self) -> Spread | None:
        return Spread.of(r.p50_ms for r in self.rounds)

    @property
    def p99_ms(self) -> Spread | None:
        return Spread.of(r.p99_ms for r in self.rounds)

    @property
    def server_cpu_ms(self) -> Spread | None:
        return self._spread([r.per_request_ms(r.server_cpu_s) for r in self.rounds])

    @property
    def db_cpu_ms(self) -> Spread | None:
        return self._spread([r.per_request_ms(r.db_cpu_s) for r in self.rounds])

    @property
    def total_cpu_each(self) -> list[float | None]:
        return [r.total_cpu_ms for r in self.rounds]

    @property
    def total_cpu_ms(self) -> Spread | None:
        return self._spread(self.total_cpu_each)

    @property
    def rss_mb(self) -> Spread | None:
        return Spread.of(r.rss_peak_bytes / 2**20 for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)


@dataclass(frozen=True)
class WrkOutput:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install -y wrk)")
    return found


def run_wrk(
    url: str, body_file: Path, seconds: int, *, extra: list[str] | None = None
) -> WrkOutput:
    """wrk with a Lua script that POSTs `body_file` (or, for the mix, picks among bodies)."""
    argv = [wrk_path(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"]
    argv += ["-s", str(WRK_SCRIPT), url, "--", str(body_file), *(extra or [])]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line.removeprefix("BENCH_JSON "))
            return WrkOutput(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                errors=sum(data["errors"].values()),
            )
    raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout}{result.stderr}")


# --- the ceiling: pgbench of the leaderboard's SQL ------------------------------------------


def leaderboard_sql(document: str) -> str:
    """The statement the registry runs for a leaderboard document (the compiled path's, as
    service.graphql.fastpath sends it), with its parameters written in as literals."""
    from graphql import OperationDefinitionNode, parse

    from service.graphql.compiler import compile_operation
    from service.graphql.schema import build_schema

    schema = build_schema(compiled=True)._schema
    operation = parse(document).definitions[0]
    assert isinstance(operation, OperationDefinitionNode), "one operation"
    # As the uncached registry runs it: no keys found, the statement these variables pick.
    plan = compile_operation(schema, operation, {}, keyed=False).pick({})
    # Every parameter is cast where it is used ($3::date), so a quoted text literal of the
    # value (NULL for none) reads as the statement's own parameter would.
    literals = [_literal(value) for value in plan.bind({})]
    return re.sub(r"\$(\d+)", lambda m: literals[int(m.group(1)) - 1], plan.sql).strip()


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):
        text = "{" + ",".join('"' + str(item) + '"' for item in value) + "}"
    elif isinstance(value, dt.date | dt.datetime):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class PgbenchOutput:
    transactions: int
    seconds: float
    tps: float
    p50_ms: float
    p99_ms: float
    errors: int


def run_pgbench(pgbench: Path, dsn: str, sql: str, seconds: int) -> PgbenchOutput:
    with tempfile.TemporaryDirectory(prefix="mrr-pgbench-") as work:
        script = Path(work) / "leaderboard.sql"
        script.write_text(sql + ";\n")
        argv = [str(pgbench), "-n", "-M", "prepared", "-c", str(CONNECTIONS), "-j", str(THREADS)]
        argv += ["-T", str(seconds), "-f", str(script), "-l", f"--log-prefix={work}/tx", dsn]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        if result.returncode != 0:
            raise RuntimeError(f"pgbench failed ({result.returncode}): {result.stderr[-2000:]}")
        latencies = sorted(
            int(line.split()[2])
            for log in Path(work).glob("tx*")
            for line in log.read_text().splitlines()
        )
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    count = len(latencies)
    return PgbenchOutput(
        transactions=count,
        seconds=float(seconds),
        tps=float(tps.group(1)) if tps else count / seconds,
        p50_ms=latencies[count // 2] / 1000 if count else 0.0,
        p99_ms=latencies[min(count - 1, int(count * 0.99))] / 1000 if count else 0.0,
        errors=int(failed.group(1)) if failed else 0,
    )
