"""bench/run: build the dataset, start the servers, load them in turns, print the tables."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from bench import dataset as datasets
from bench import peers, queries, report
from bench.config import CONNECTIONS, THREADS, RunSettings, parse_args
from bench.load import PgbenchOutput, Result, Round, leaderboard_sql, run_pgbench, run_wrk
from bench.procs import tree_cpu_seconds, tree_rss_bytes


class Interrupted(Exception):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr, flush=True)


def _ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (apt-get install -y wrk) ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (Debian: apt-get install -y wrk)")


@dataclass
class Database:
    server_dsn: str
    postmaster_pid: int | None  # known for the embedded server: its CPU is then measured


@contextlib.contextmanager
def _database(settings: RunSettings, work: Path) -> Iterator[Database]:
    if settings.database_url:
        yield Database(settings.database_url, None)
        return
    from service.embedded import EmbeddedPostgres

    # fsync off: the benchmark only reads, and the load goes faster.
    embedded = EmbeddedPostgres(work / "pgdata", fast_unsafe=True)
    dsn = embedded.start()
    try:
        yield Database(dsn, embedded.pid)
    finally:
        embedded.stop()


def _post(url: str, body: bytes) -> bytes:
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        return bytes(error.read())


def _registry_has_lineage(url: str) -> bool:
    body = b'{"query":"{ __type(name: \\"Query\\") { fields { name } } }"}'
    return b'"lineage"' in _post(url, body)


def _measure(server: peers.Server, body: Path, seconds: int, db: Database) -> Round:
    cpu = tree_cpu_seconds(server.child.pid)
    db_cpu = tree_cpu_seconds(db.postmaster_pid) if db.postmaster_pid else None
    out = run_wrk(server.url, body, seconds)
    cpu = tree_cpu_seconds(server.child.pid) - cpu
    if db.postmaster_pid and db_cpu is not None:
        db_cpu = tree_cpu_seconds(db.postmaster_pid) - db_cpu
    rss = tree_rss_bytes(server.child.pid)
    return Round(out.requests, out.seconds, out.p50_ms, out.p99_ms, out.errors, cpu, db_cpu, rss)


def _start_servers(settings: RunSettings, dsn: str, logs: Path) -> list[peers.Server]:
    servers = [peers.start_registry(dsn, logs), peers.start_registry(dsn, logs, cached=True)]
    if not settings.peers:
        return servers
    try:
        peers.install_node_peers()
    except (RuntimeError, OSError) as error:
        if not settings.smoke:
            raise
        _warn(f"could not install the PostGraphile peers; registry only. {error}")
        return servers
    for start in (peers.start_postgraphile5, peers.start_postgraphile4):
        try:
            servers.append(start(dsn, logs))
        except (RuntimeError, OSError) as error:
            _warn(f"a PostGraphile peer did not start; continuing without it. {error}")
    return servers


def _run(settings: RunSettings, work: Path) -> int:
    _ensure_wrk()
    logs = work / "logs"
    logs.mkdir()
    failed = False
    with _database(settings, work) as db:
        print(f"building the {settings.scale.name} dataset ...", flush=True)
        data = datasets.build(db.server_dsn, settings.scale)
        print(report.dataset_summary(data), flush=True)
        servers: list[peers.Server] = []
        try:
            servers = _start_servers(settings, data.dsn, logs)
            for server in servers:
                note = f" ({server.note})" if server.note else ""
                print(f"{server.name}: pid {server.child.pid}, {server.url}{note}", flush=True)
            failed = _benchmark(settings, data, db, servers, work)
        finally:
            for server in servers:
                server.child.stop()
            if settings.database_url and not settings.keep_db:
                with contextlib.suppress(Exception):
                    import asyncio

                    asyncio.run(datasets.drop_database(db.server_dsn))
    return 1 if failed else 0


def _benchmark(
    settings: RunSettings,
    data: datasets.Dataset,
    db: Database,
    servers: list[peers.Server],
    work: Path,
) -> bool:
    """Measure every query on every server; True when the registry side failed."""
    failed = False
    print(
        f"\nwrk: {CONNECTIONS} connections, {THREADS} threads, {settings.rounds} round(s) of "
        f"{settings.round_seconds} s per server and query after a {settings.warmup_seconds} s "
        "warm-up, rounds interleaved across servers\n",
        flush=True,
    )
    tables = []
    for name in (queries.LEADERBOARD, queries.MODEL_PAGE, queries.LINEAGE):
        active: list[tuple[peers.Server, Path]] = []
        results: dict[str, Result] = {}
        for server in servers:
            result = results[server.name] = Result(server.name)
            query = queries.for_server(server.name, data)[name]
            lineage_here = server.name in peers.REGISTRIES and name == queries.LINEAGE
            if lineage_here and not _registry_has_lineage(server.url):
                result.missing = "field missing"
                continue
            problem = queries.check_answer(_post(server.url, query.body()))
            if problem is not None:
                result.missing = f"error: {problem}"
                _warn(f"{server.name} / {name}: {problem}")
                failed = failed or (server.name in peers.REGISTRIES and name != queries.LINEAGE)
                continue
            body = work / f"{server.name.replace(' ', '-')}-{name.replace(' ', '-')}.json"
            body.write_bytes(query.body())
            active.append((server, body))
        if settings.warmup_seconds:
            for server, body in active:
                run_wrk(server.url, body, settings.warmup_seconds)
        ceiling: PgbenchOutput | None = None
        ceiling_db = 0.0
        for round_no in range(settings.rounds):
            for server, body in active:
                measured = _measure(server, body, settings.round_seconds, db)
                results[server.name].rounds.append(measured)
                print(
                    f"  {name} round {round_no + 1}: {server.name:16} "
                    f"{measured.requests / measured.seconds:8.0f} req/s",
                    flush=True,
                )
            if name == queries.LEADERBOARD:
                before = tree_cpu_seconds(db.postmaster_pid) if db.postmaster_pid else 0.0
                out = _pgbench(data, settings.round_seconds)
                if db.postmaster_pid:
                    ceiling_db += tree_cpu_seconds(db.postmaster_pid) - before
                ceiling = out if ceiling is None else _merge(ceiling, out)
        ceiling_db_ms = (
            1000 * ceiling_db / ceiling.transactions
            if ceiling and ceiling.transactions and db.postmaster_pid
            else None
        )
        table = report.query_table(name, list(results.values()), ceiling, ceiling_db_ms)
        tables.append(f"{table}\n\n{queries.NOTES[name]}")
        for server in servers:
            if server.name in peers.REGISTRIES and not server.child.alive():
                _warn(f"the registry died:\n{server.child.tail()}")
                failed = True
    print("\n" + report.dataset_summary(data))
    print(_environment(servers) + "\n")
    print("\n\n".join(tables))
    print(
        "\nCPU ms/req: utime+stime of the server process and its children over the round, per"
        " request; db CPU: the same for the PostgreSQL postmaster and all its backends (reaped"
        " ones included). RSS: resident memory of the server process tree after its last "
        "round. p50: mean over rounds; p99: worst round. One machine, one run: compare ratios,"
        " not absolute times."
    )
    return failed


def _pgbench(data: datasets.Dataset, seconds: int) -> PgbenchOutput:
    from service.embedded import postgres_bin_dir

    sql = leaderboard_sql(data.leaderboard_version_id)
    return run_pgbench(postgres_bin_dir() / "pgbench", data.dsn, sql, seconds)


def _merge(a: PgbenchOutput, b: PgbenchOutput) -> PgbenchOutput:
    n = a.transactions + b.transactions
    return PgbenchOutput(
        transactions=n,
        seconds=a.seconds + b.seconds,
        tps=n / (a.seconds + b.seconds),
        p50_ms=(a.p50_ms + b.p50_ms) / 2,
        p99_ms=max(a.p99_ms, b.p99_ms),
        errors=a.errors + b.errors,
    )


def _environment(servers: list[peers.Server]) -> str:
    notes = "; ".join(f"{s.name}: {s.note}" for s in servers if s.note)
    return (
        f"machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
        f"python {platform.python_version()}; {notes}"
    )


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv, os.environ.get("BENCH_DATABASE_URL") or None)
    # Explicit handlers: a shell may start us with SIGINT ignored (a background job).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="mrr-bench-"))
    try:
        code = _run(settings, work)
    except Interrupted as signame:
        _warn(f"interrupted by {signame}; every process stopped; logs in {work / 'logs'}")
        return 130
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"bench failed: {error}\nlogs in {work / 'logs'}", file=sys.stderr)
        return 1
    finally:
        # The logs hold each server's output; keep them when something went wrong.
        shutil.rmtree(work / "pgdata", ignore_errors=True)
    print(f"\nbench finished in {time.monotonic() - started:.1f} s")
    if code == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"server logs kept in {work / 'logs'}", file=sys.stderr)
    return code
