"""The service outlives the death of its embedded PostgreSQL, or says it cannot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from service import supervisor
from service.config import Settings
from tests.conftest import Api, running_api

QUERY = '{ lab(slug: "upstage") { name country { code } } }'
ANSWER = {"lab": {"name": "Upstage", "country": {"code": "KR"}}}
BOUND_SECONDS = 30.0  # generous for a loaded machine; scripts/faults measures the real time


def _settings(data_dir: Path) -> Settings:
    # No response cache: every answer below comes from PostgreSQL.
    return Settings(database_url=None, data_dir=data_dir, response_cache=False)


def _postmaster(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


def _exists(pid: int) -> bool:
    """True while the process exists, a zombie included (only its parent can reap it)."""
    return Path(f"/proc/{pid}").exists()


def _port(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().splitlines()[3])


async def _answers(api: Api) -> bool:
    try:
        # Bounded: a pool pointed at a port nobody answers on would wait for its own timeout.
        response = await asyncio.wait_for(api.http.post("/graphql", json={"query": QUERY}), 10)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False  # the ASGI transport raises what the app did not answer (a 500)
    return response.status_code == 200 and response.json().get("data") == ANSWER


async def _kill_and_await_answer(api: Api, data_dir: Path) -> int:
    """kill -9 the postmaster, wait for a new one that answers; the killed pid."""
    killed = _postmaster(data_dir)
    assert killed is not None
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + BOUND_SECONDS
    # A backend that has not yet noticed the death may still answer once: wait for a
    # new postmaster too.
    while not (_postmaster(data_dir) not in (None, killed) and await _answers(api)):
        assert time.monotonic() < deadline, "no answer from a restarted server in time"
        await asyncio.sleep(0.05)
    return killed


def _lines(caplog: pytest.LogCaptureFixture, start: str) -> list[str]:
    """The supervisor's log lines (logger `service.supervisor`) that start with `start`."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "service.supervisor" and record.getMessage().startswith(start)
    ]


class _OnRecord(logging.Handler):
    def __init__(self, action: Callable[[str], None]) -> None:
        super().__init__()
        self._action = action

    def emit(self, record: logging.LogRecord) -> None:
        self._action(record.getMessage())


@contextlib.contextmanager
def _on_supervisor_line(action: Callable[[str], None]) -> Iterator[None]:
    """Run `action` on each line the supervisor logs, as it logs it (so between its steps)."""
    handler = _OnRecord(action)
    logger = logging.getLogger("service.supervisor")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _supervisor_tasks() -> list[asyncio.Task[object]]:
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name() == "embedded-postgres-supervisor" and not task.done()
    ]


async def test_kill_9_of_the_embedded_postmaster_is_survived(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "pgdata"
    async with running_api(_settings(data_dir)) as api:
        assert await api.data(QUERY) == ANSWER
        assert (await api.http.get("/readyz")).json() == {"status": "ready"}
        started = time.monotonic()
        killed = await _kill_and_await_answer(api, data_dir)
        elapsed = time.monotonic() - started
        assert not _exists(killed)  # reaped, not left a zombie
        # Concurrent requests use several pooled connections: none is a dead one.
        assert await asyncio.gather(*(_answers(api) for _ in range(10))) == [True] * 10
        assert (await api.http.get("/healthz")).status_code == 200
        assert (await api.http.get("/readyz")).json() == {"status": "ready"}

        # The supervisor goes on watching: a second death is survived too.
        killed = await _kill_and_await_answer(api, data_dir)
        assert not _exists(killed)
        last = _postmaster(data_dir)
        assert last is not None
        assert (await api.http.get("/readyz")).json() == {"status": "ready"}

    # Stopping the service stops its PostgreSQL and its watch: nothing is left running.
    assert not _exists(last)
    assert not (data_dir / "postmaster.pid").exists()
    assert _supervisor_tasks() == []
    assert len(_lines(caplog, "the embedded PostgreSQL has stopped; starting it again")) == 2
    back = _lines(caplog, "the embedded PostgreSQL is back")
    assert len(back) == 2
    found = re.search(r"\(pid \d+, ([0-9.]+) s after it stopped\)", back[0])
    assert found is not None, back[0]
    assert 0 <= float(found[1]) <= elapsed


async def _await_fatal(fatal: list[str]) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while not fatal:
        assert time.monotonic() < deadline, "the supervisor neither restarted nor gave up"
        await asyncio.sleep(0.05)


async def test_an_embedded_server_that_cannot_restart_fails_liveness(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "pgdata"
    fatal: list[str] = []
    # No change listener (subscriptions): it would keep trying the server's port.
    settings = Settings(
        database_url=None, data_dir=data_dir, response_cache=False, subscriptions=False
    )
    squatter = socket.socket()
    with squatter:
        async with running_api(settings, on_fatal=fatal.append) as api:
            assert await api.data(QUERY) == ANSWER
            killed = _postmaster(data_dir)
            assert killed is not None
            old_port = _port(data_dir)
            # A cluster of another major version: every start is refused.
            (data_dir / "PG_VERSION").write_text("17\n")

            os.kill(killed, signal.SIGKILL)
            await _await_fatal(fatal)
            # Once it gave up it stops watching (the process is asked to exit): ten polls later
            # it has not tried again. (A slow machine could only hide a retry, never invent one.)
            await asyncio.sleep(10 * supervisor.POLL_SECONDS)

            # Another program listens where the server was, and never answers.
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", old_port))
            squatter.listen()
            squatter.setblocking(False)
            health = await api.http.get("/healthz")
            ready = await api.http.get("/readyz")
            # Readiness knew the server was down: it did not ask the pool, which would have
            # connected to that port.
            with pytest.raises(BlockingIOError):
                squatter.accept()
            assert not _exists(killed)
    assert health.status_code == 503
    assert health.json() == {"status": "failed"}
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable"}
    assert len(fatal) == 1
    assert fatal[0].startswith("the embedded PostgreSQL stopped and could not be started again")
    assert "PostgreSQL 17 cluster" in fatal[0]
    # The operator's log: one restart, three tries each saying why it failed, one error line.
    assert len(_lines(caplog, "the embedded PostgreSQL has stopped")) == 1
    tries = _lines(caplog, "starting the embedded PostgreSQL failed: ")
    assert len(tries) == supervisor.ATTEMPTS == 3
    assert all("PostgreSQL 17 cluster" in line for line in tries)
    # Between the tries, a backoff the log states: 0.25 s, then twice that.
    assert _lines(caplog, "starting the embedded PostgreSQL again in ") == [
        "starting the embedded PostgreSQL again in 0.25 s",
        "starting the embedded PostgreSQL again in 0.50 s",
    ]
    assert _lines(caplog, "the embedded PostgreSQL stopped and could not") == fatal


async def test_a_server_that_fails_to_start_twice_is_started_on_the_third_try(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "pgdata"
    fatal: list[str] = []
    version_file = data_dir / "PG_VERSION"

    failures: list[str] = []

    def repair_after_the_second_failure(line: str) -> None:
        # Logged after a failed try and before the backoff: the next try finds it repaired.
        if line.startswith("starting the embedded PostgreSQL failed"):
            failures.append(line)
            if len(failures) == 2:
                version_file.write_text(version)

    async with running_api(_settings(data_dir), on_fatal=fatal.append) as api:
        assert await api.data(QUERY) == ANSWER
        version = version_file.read_text()
        version_file.write_text("17\n")
        with _on_supervisor_line(repair_after_the_second_failure):
            await _kill_and_await_answer(api, data_dir)
        assert (await api.http.get("/healthz")).status_code == 200
    assert fatal == []
    assert len(_lines(caplog, "starting the embedded PostgreSQL failed")) == 2
    assert len(_lines(caplog, "the embedded PostgreSQL is back")) == 1


async def test_a_restart_moves_to_a_free_port_when_its_own_is_taken(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    squatter = socket.socket()

    def take_the_port(line: str) -> None:
        # Logged once the death is seen, before starting again: another program takes the port.
        if line.startswith("the embedded PostgreSQL has stopped"):
            # As PostgreSQL does: the pool's closed connections leave the port in TIME_WAIT.
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", old_port))
            squatter.listen()

    with squatter:
        async with running_api(_settings(data_dir)) as api:
            assert await api.data(QUERY) == ANSWER
            old_port = _port(data_dir)
            with _on_supervisor_line(take_the_port):
                await _kill_and_await_answer(api, data_dir)
            # The pool follows the server to its new port.
            assert _port(data_dir) != old_port
            assert await asyncio.gather(*(_answers(api) for _ in range(10))) == [True] * 10


async def test_a_data_dir_that_lost_its_cluster_is_not_initialised_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "pgdata"
    fatal: list[str] = []
    async with running_api(_settings(data_dir), on_fatal=fatal.append) as api:
        assert await api.data(QUERY) == ANSWER
        killed = _postmaster(data_dir)
        assert killed is not None
        data_dir.rename(tmp_path / "moved")  # e.g. a volume unmounted under the server
        os.kill(killed, signal.SIGKILL)
        await _await_fatal(fatal)
        await asyncio.sleep(10 * supervisor.POLL_SECONDS)  # it gave up once, and stopped watching
        health = await api.http.get("/healthz")
    # Better no registry than a blank one: nothing was created where the cluster was.
    assert not data_dir.exists()
    assert _lines(caplog, "the embedded PostgreSQL has stopped") == []  # no start was tried
    assert health.status_code == 503
    assert fatal == [
        "the embedded PostgreSQL stopped and could not be started again: "
        "its data directory no longer holds a cluster"
    ]


async def test_a_crash_loop_fails_liveness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "pgdata"
    fatal: list[str] = []
    async with running_api(_settings(data_dir), on_fatal=fatal.append) as api:
        assert await api.data(QUERY) == ANSWER
        # Deaths further apart than the window are no loop, however many: with a window
        # shorter than any restart, CRASH_LIMIT deaths in a row are all survived.
        monkeypatch.setattr(supervisor, "CRASH_WINDOW_SECONDS", 1e-6)
        for death in range(1, supervisor.CRASH_LIMIT + 1):
            await _kill_and_await_answer(api, data_dir)
            if death == 2:
                after_the_second = time.monotonic()
                await asyncio.sleep(3)
        assert fatal == []
        # An 11th death, with a window that reaches back to just after the 2nd: the last
        # CRASH_LIMIT deaths (the 2nd to the 11th) do not all fall in it, so no loop yet.
        window = time.monotonic() - after_the_second
        monkeypatch.setattr(supervisor, "CRASH_WINDOW_SECONDS", window)
        await _kill_and_await_answer(api, data_dir)
        assert fatal == []
        # The last CRASH_LIMIT deaths within the window (a long one here, so that a loaded
        # machine's slow restarts still fit in it): the supervisor gives up.
        monkeypatch.setattr(supervisor, "CRASH_WINDOW_SECONDS", 3600.0)
        killed = _postmaster(data_dir)
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        await _await_fatal(fatal)
        health = await api.http.get("/healthz")
    assert health.status_code == 503
    assert fatal == [
        "the embedded PostgreSQL stopped and could not be started again: "
        "it died 10 times within 3600 s"
    ]
    # Each survived death was started again; the last one was not.
    restarts = _lines(caplog, "the embedded PostgreSQL has stopped; starting it again")
    assert len(restarts) == supervisor.CRASH_LIMIT + 1
