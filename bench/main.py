"""bench/run: build the dataset, start the servers, load them in turns, print the tables."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from bench import dataset as datasets
from bench import fair, mix, peers, report, scaling, tables
from bench.config import CONNECTIONS, THREADS, RunSettings, parse_args
from bench.http import post
from bench.measure import RSS_SAMPLE_SECONDS, Database

START_TIMEOUT = 120.0


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


@contextlib.contextmanager
def _database(settings: RunSettings, work: Path) -> Iterator[Database]:
    if settings.database_url:
        yield Database(settings.database_url, None)
        return
    from service.embedded import EmbeddedPostgres

    # fsync off: nothing here needs to survive a crash, and the load goes faster.
    embedded = EmbeddedPostgres(work / "pgdata", fast_unsafe=True)
    dsn = embedded.start()
    try:
        yield Database(dsn, embedded.pid)
    finally:
        embedded.stop()


def _server_kinds(settings: RunSettings) -> list[Callable[[str, Path], peers.Server]]:
    """The peers to start besides the registries: v4 only in full runs (CI's smoke is short)."""
    if not settings.peers:
        return []
    kinds: list[Callable[[str, Path], peers.Server]] = [
        peers.spawn_postgraphile5,
        lambda dsn, logs: peers.spawn_postgraphile5(dsn, logs, generic_plans=True),
    ]
    return kinds if settings.smoke else [*kinds, peers.spawn_postgraphile4]


def start_servers(
    settings: RunSettings, dsn: str, logs: Path, servers: list[peers.Server]
) -> list[peers.Server]:
    """The registry first and alone (its start time is a figure), then the rest at once; all
    at once in a smoke run, which is about being short. Every process spawned is appended to
    `servers` at once, so the caller stops it whatever happens next; returns those ready."""
    kinds = _server_kinds(settings)
    if kinds:
        # Before any server starts: `npm ci` on a fresh clone takes tens of seconds, which
        # would count in the start time of a server starting meanwhile.
        try:
            peers.install_node_peers()
        except (RuntimeError, OSError) as error:
            if not settings.smoke:
                raise
            _warn(f"could not install the PostGraphile peers; registry only. {error}")
            kinds = []
    servers.append(peers.spawn_registry(dsn, logs))
    if not settings.smoke:
        servers[0].wait_ready(START_TIMEOUT)
    servers.append(peers.spawn_registry(dsn, logs, cached=True))
    for spawn in kinds:
        try:
            servers.append(spawn(dsn, logs))
        except (RuntimeError, OSError) as error:
            _warn(f"a PostGraphile peer did not start; continuing without it. {error}")
    ready = []
    for server in servers:
        try:
            server.wait_ready(START_TIMEOUT)
        except RuntimeError as error:
            if server.name in peers.REGISTRIES:
                raise
            _warn(f"{server.name} did not start; continuing without it. {error}")
            server.child.stop()
            continue
        ready.append(server)
    for server in ready:
        if server.name in peers.V5S:
            _check_plans(server)
    return ready


def _check_plans(server: peers.Server) -> None:
    """Ask the peer which plan_cache_mode its connections run with; the generic one must."""
    mode = fair.plan_cache_mode(post(server.url, fair.SETTING_QUERY))
    if server.name == peers.V5_GENERIC and mode != "force_generic_plan":
        raise RuntimeError(
            f"{server.name}: its connections run plan_cache_mode={mode}, not force_generic_plan"
        )
    server.note = f"{server.note}, plan_cache_mode={mode} (asked through it)".lstrip(", ")


def _run(settings: RunSettings, work: Path) -> int:
    _ensure_wrk()
    logs = work / "logs"
    logs.mkdir()
    failed = False
    with _database(settings, work) as db:
        if settings.scaling:
            return scaling.run(settings, db, logs, work)
        print(f"building the {settings.scale.name} dataset ...", flush=True)
        data = datasets.build(db.server_dsn, settings.scale)
        print(report.dataset_summary(data), flush=True)
        servers: list[peers.Server] = []
        try:
            ready = start_servers(settings, data.dsn, logs, servers)
            print(report.servers_summary(ready), flush=True)
            print(
                f"\nwrk: {CONNECTIONS} connections, {THREADS} threads, {settings.rounds} "
                f"round(s) of {settings.round_seconds} s per row after a "
                f"{settings.warmup_seconds} s warm-up, rounds interleaved across rows\n",
                flush=True,
            )
            sections, failed = tables.run(settings, data, db, ready, work)
            if settings.mix:
                section, mix_failed = mix.run(settings, data, db, ready, work)
                sections.append(section)
                failed = failed or mix_failed
            print("\n" + report.dataset_summary(data))
            print(_environment())
            print(report.servers_summary(ready) + "\n")
            print("\n\n".join(sections))
            print("\n" + FOOTNOTE)
        finally:
            for server in servers:
                server.child.stop()
            if settings.database_url and not settings.keep_db:
                with contextlib.suppress(Exception):
                    asyncio.run(datasets.drop_database(db.server_dsn))
    return 1 if failed else 0


FOOTNOTE = (
    "Each figure: the median over rounds (min-max across rounds). Ratios are taken round by "
    "round, then their median (min-max). CPU ms/req: utime+stime of the server process and "
    "its children over the round, per request; db CPU: the same for the PostgreSQL "
    "postmaster and all its backends (reaped ones included; embedded server only); total: "
    "both. RSS: resident memory of the server process tree, the peak sampled every "
    f"{RSS_SAMPLE_SECONDS} s while the load ran (the registry is one process: one worker). "
    "One machine, one run: compare ratios, not absolute times."
)


def _environment() -> str:
    return (
        f"machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
        f"python {platform.python_version()}"
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
