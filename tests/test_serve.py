"""`registry serve` as a process, on one data dir, when its embedded PostgreSQL goes away."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

QUERY = json.dumps({"query": '{ lab(slug: "upstage") { country { code } } }'}).encode()
ANSWER = {"data": {"lab": {"country": {"code": "KR"}}}}
BOUND_SECONDS = 60.0  # a first start initialises a cluster; the machine may be busy


@dataclass
class Serve:
    process: subprocess.Popen[bytes]
    port: int
    err: Path

    def answers(self) -> bool:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            data=QUERY,
            headers={"content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                # The data; the answer also states its cost (extensions.cost).
                return bool(json.loads(response.read()).get("data") == ANSWER["data"])
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _postmaster(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


@contextlib.contextmanager
def _serving(tmp_path: Path, data_dir: Path) -> Iterator[Callable[[str], Serve]]:
    """Start `registry serve` processes; whatever is left is killed at the end."""
    started: list[Serve] = []
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    # No response cache: every answer comes from PostgreSQL.
    env |= {"REGISTRY_DATA_DIR": str(data_dir), "REGISTRY_RESPONSE_CACHE": "false"}

    def start(name: str) -> Serve:
        port = _free_port()
        err = tmp_path / f"{name}.err"
        with open(err, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "service", "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=out,
            )
        serve = Serve(process, port, err)
        started.append(serve)
        _until(lambda: serve.answers() or serve.process.poll() is not None, f"{name} to answer")
        assert serve.process.poll() is None, serve.stderr()
        return serve

    try:
        yield start
    finally:
        for serve in started:
            serve.process.kill()
            serve.process.wait()


def test_a_second_serve_on_one_data_dir_takes_over_when_the_first_stops(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    with _serving(tmp_path, data_dir) as start:
        first = start("first")
        second = start("second")
        shared = _postmaster(data_dir)
        assert shared is not None and _parent(shared) == first.process.pid
        assert f"attached to the server another process runs, pid {shared}" in second.stderr()

        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(BOUND_SECONDS) == 0

        # The second starts the server again as its own, and answers.
        _until(lambda: _parent(_postmaster(data_dir) or 0) == second.process.pid, "a new server")
        _until(second.answers, "the second to answer again")
        assert "the embedded PostgreSQL is back" in second.stderr()

        # The first, started again, now attaches to the second's server.
        again = start("first-again")
        assert _parent(_postmaster(data_dir) or 0) == second.process.pid
        assert "attached to the server another process runs" in again.stderr()


def test_serve_exits_non_zero_when_its_embedded_server_cannot_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    with _serving(tmp_path, data_dir) as start:
        serve = start("serve")
        killed = _postmaster(data_dir)
        assert killed is not None
        (data_dir / "PG_VERSION").write_text("17\n")  # every start is refused from now on

        os.kill(killed, signal.SIGKILL)

        assert serve.process.wait(BOUND_SECONDS) == 1
        last = serve.stderr().strip().splitlines()[-1]
        assert last.startswith(
            "registry: the embedded PostgreSQL stopped and could not be started again: "
        )
        assert last.endswith("exiting so that whatever runs the registry can start it again")
