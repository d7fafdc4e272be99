"""The service outlives the death of its embedded PostgreSQL, or says it cannot."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import asyncpg

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


async def _answers(api: Api) -> bool:
    try:
        response = await api.http.post("/graphql", json={"query": QUERY})
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False  # the ASGI transport raises what the app did not answer (a 500)
    return response.status_code == 200 and response.json().get("data") == ANSWER


async def test_kill_9_of_the_embedded_postmaster_is_survived(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    async with running_api(_settings(data_dir)) as api:
        assert await api.data(QUERY) == ANSWER
        killed = _postmaster(data_dir)
        assert killed is not None

        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + BOUND_SECONDS
        # A backend that has not yet noticed the death may still answer once: wait for a
        # new postmaster too.
        while not (_postmaster(data_dir) not in (None, killed) and await _answers(api)):
            assert time.monotonic() < deadline, "no answer from a restarted server in time"
            await asyncio.sleep(0.05)

        assert not _exists(killed)  # reaped, not left a zombie
        # Concurrent requests use several pooled connections: none is a dead one.
        assert await asyncio.gather(*(_answers(api) for _ in range(10))) == [True] * 10
        assert (await api.http.get("/healthz")).status_code == 200
        assert (await api.http.get("/readyz")).json() == {"status": "ready"}


async def test_an_embedded_server_that_cannot_restart_fails_liveness(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    fatal: list[str] = []
    async with running_api(_settings(data_dir), on_fatal=fatal.append) as api:
        assert await api.data(QUERY) == ANSWER
        killed = _postmaster(data_dir)
        assert killed is not None
        # A cluster of another major version: every start is refused.
        (data_dir / "PG_VERSION").write_text("17\n")

        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + BOUND_SECONDS
        while not fatal:
            assert time.monotonic() < deadline, "the supervisor neither restarted nor gave up"
            await asyncio.sleep(0.05)

        health = await api.http.get("/healthz")
        ready = await api.http.get("/readyz")
        assert not _exists(killed)
    assert health.status_code == 503
    assert health.json() == {"status": "failed"}
    assert ready.status_code == 503
    assert fatal[0].startswith("the embedded PostgreSQL stopped and could not be started again")
    assert "PostgreSQL 17 cluster" in fatal[0]
