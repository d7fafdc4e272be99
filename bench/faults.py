"""scripts/faults: how long the registry stays down when its database goes away.

1. `kill -9` of the embedded PostgreSQL's postmaster under `registry serve`: the time from the
   kill to the first correct GraphQL answer (the supervisor restarts the server).
2. A restart of an external server (`DATABASE_URL`): a second embedded PostgreSQL, stopped
   and started again on its port, plays the part of a server the registry does not run. The
   time from that server being ready again to the first correct GraphQL answer is how long
   the pool takes to heal; the time from the stop is shown too.

Each is repeated `--runs` times (5) and the median printed. The response cache is off, so
every answer comes from PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bench.procs import Child
from service.embedded import EmbeddedPostgres

QUERY = b'{"query": "{ lab(slug: \\"upstage\\") { country { code } } }"}'
# Every answer states its cost (extensions.cost); a lab and its country are no list: 0.
ANSWER = (
    b'{"data":{"lab":{"country":{"code":"KR"}}},'
    b'"extensions":{"cost":{"requested":0,"budget":50000}}}'
)
POLL_SECONDS = 0.005
BOUND_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=QUERY,
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bytes(response.read()) == ANSWER
    except (urllib.error.URLError, OSError):
        return False


def _wait(condition: Callable[[], bool], what: str) -> float:
    """Seconds until `condition` holds, polled every POLL_SECONDS."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > BOUND_SECONDS:
            raise RuntimeError(f"{what}: nothing after {BOUND_SECONDS:.0f} s")
        time.sleep(POLL_SECONDS)
    return time.monotonic() - start


def _serve(work: Path, settings: dict[str, str]) -> tuple[Child, int]:
    port = _free_port()
    registry = Path(sys.executable).with_name("registry")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {"REGISTRY_RESPONSE_CACHE": "false", "REGISTRY_LOG_LEVEL": "warning", **settings}
    argv = [str(registry), "serve", "--port", str(port)]
    child = Child("registry", argv, env=env, log=work / "registry.log")
    _wait(lambda: _answers(port), "registry serve to answer")
    return child, port


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def _outage(port: int, what: str) -> float:
    """Seconds from now until the service answers again after it has failed at least once.

    Right after a kill, a backend that has not yet noticed its postmaster's death may still
    answer; counting that as "back" would measure nothing.
    """
    start = time.monotonic()
    _wait(lambda: not _answers(port), f"{what}: a failure")
    _wait(lambda: _answers(port), f"{what}: an answer")
    return time.monotonic() - start


def embedded_kill(work: Path, runs: int) -> list[float]:
    data_dir = work / "pgdata"
    child, port = _serve(work, {"REGISTRY_DATA_DIR": str(data_dir)})
    times = []
    try:
        for _ in range(runs):
            os.kill(_postmaster_pid(data_dir), signal.SIGKILL)
            times.append(_outage(port, "after kill -9"))
            time.sleep(1)
    except RuntimeError:
        print(child.tail(4000), file=sys.stderr)
        raise
    finally:
        child.stop()
    return times


def external_restart(work: Path, runs: int) -> tuple[list[float], list[float]]:
    external = EmbeddedPostgres(work / "external")
    dsn = external.start()
    heal, total = [], []
    child, port = _serve(work, {"DATABASE_URL": dsn})
    try:
        for _ in range(runs):
            stopped = time.monotonic()
            external.stop()
            if external.start() != dsn:
                raise RuntimeError("the external server came back on another port")
            ready = time.monotonic()
            _wait(lambda: _answers(port), "an answer after the external restart")
            heal.append(time.monotonic() - ready)
            total.append(time.monotonic() - stopped)
            time.sleep(1)
    finally:
        child.stop()
        external.stop()
    return heal, total


def _line(name: str, times: list[float]) -> str:
    each = " ".join(f"{t * 1000:.0f}" for t in times)
    return f"{name}: median {statistics.median(times) * 1000:.0f} ms (each: {each} ms)"


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/faults", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="repetitions (%(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="registry-faults-") as tmp:
        kill_dir, external_dir = Path(tmp, "kill"), Path(tmp, "external")
        kill_dir.mkdir()
        external_dir.mkdir()
        kills = embedded_kill(kill_dir, args.runs)
        print(_line("kill -9 of the embedded postmaster -> first answer", kills), flush=True)
        heal, total = external_restart(external_dir, args.runs)
        print(_line("external server restarted -> first answer (pool heal)", heal))
        print(_line("external server stopped -> first answer (stop + start + heal)", total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
