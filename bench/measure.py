"""One measured round: a load against one server, with its CPU (and PostgreSQL's) and memory."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from bench.load import Round, WrkOutput
from bench.peers import Server
from bench.procs import tree_cpu_seconds, tree_rss_bytes

RSS_SAMPLE_SECONDS = 0.25


@dataclass
class Database:
    server_dsn: str
    postmaster_pid: int | None  # known for the embedded server: its CPU is then measured

    def cpu_seconds(self) -> float | None:
        return tree_cpu_seconds(self.postmaster_pid) if self.postmaster_pid else None


class _PeakRss:
    """Samples the resident memory of a process tree while a load runs: RSS under load."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = tree_rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_SECONDS):
            self.peak = max(self.peak, tree_rss_bytes(self.pid))

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss_bytes(self.pid))


def measure(server: Server, load: Callable[[], WrkOutput], db: Database) -> Round:
    """Run `load` against `server`; CPU is read before and after, memory sampled during."""
    cpu = tree_cpu_seconds(server.child.pid)
    db_cpu = db.cpu_seconds()
    with _PeakRss(server.child.pid) as rss:
        out = load()
    cpu = tree_cpu_seconds(server.child.pid) - cpu
    db_after = db.cpu_seconds()
    db_used = db_after - db_cpu if db_after is not None and db_cpu is not None else None
    return Round(
        out.requests, out.seconds, out.p50_ms, out.p99_ms, out.errors, cpu, db_used, rss.peak
    )
