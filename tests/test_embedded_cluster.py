"""The embedded cluster on disk: what a first start creates and says, postmaster.pid, and the
old postmaster's leftovers a start waits for (or gives up on, saying why)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
from pathlib import Path

import asyncpg
import pytest

from service.embedded import cluster as embedded_cluster
from service.embedded import running_dsn
from service.errors import EmbeddedPostgresError
from tests.conftest import MakePg


def _write_pid_file(data_dir: Path, pid: int, status: str | None) -> None:
    """postmaster.pid as postgres writes it; no status line while it is still being written."""
    lines = [str(pid), str(data_dir), "0", "5999", "/tmp", "127.0.0.1", "  0  0"]
    lines += [] if status is None else [status.ljust(8)]
    (data_dir / "postmaster.pid").write_text("\n".join(lines) + "\n")


def test_a_first_start_creates_the_cluster_and_later_starts_do_not(
    tmp_path: Path, make_pg: MakePg, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.embedded")
    data_dir = tmp_path / "pgdata"
    pg = make_pg(data_dir)
    assert not pg.has_cluster()

    pg.start()

    assert pg.created is True and pg.has_cluster()
    initialising = [r for r in caplog.records if r.getMessage().startswith("initialising")]
    assert [r.name for r in initialising] == ["service.embedded"]
    assert initialising[0].getMessage().startswith("initialising PostgreSQL 18 cluster in /")
    guest = make_pg(data_dir)
    guest.start()
    assert guest.created is False
    guest.stop()
    pg.stop()
    pg.start()
    assert pg.created is False and pg.has_cluster()


def test_a_postmaster_counts_as_running_once_its_pid_file_says_ready(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    data_dir.mkdir(mode=0o700)
    # A stand-in for a postmaster: a live process working in the data dir.
    with subprocess.Popen(["sleep", "60"], cwd=data_dir) as postmaster:
        try:
            _write_pid_file(data_dir, postmaster.pid, None)  # still being written
            assert running_dsn(data_dir) is None
            _write_pid_file(data_dir, postmaster.pid, "starting")
            assert running_dsn(data_dir) is None
            _write_pid_file(data_dir, postmaster.pid, "ready")
            assert running_dsn(data_dir) == "postgresql://postgres@127.0.0.1:5999/registry"
        finally:
            postmaster.kill()


def test_a_start_gives_up_on_a_postmaster_that_never_stops_and_says_why(
    tmp_path: Path, make_pg: MakePg, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded_cluster, "_STOP_TIMEOUT", 1.0)
    data_dir = tmp_path / "pgdata"
    data_dir.mkdir(mode=0o700)
    with subprocess.Popen(["sleep", "60"], cwd=data_dir) as postmaster:
        try:
            _write_pid_file(data_dir, postmaster.pid, "stopping")
            expected = f"timed out after 1 s waiting for postmaster {postmaster.pid} to stop"

            with pytest.raises(EmbeddedPostgresError) as raised:
                make_pg(data_dir).start()

            assert str(raised.value) == expected
        finally:
            postmaster.kill()


async def test_a_restart_after_a_crash_waits_for_the_old_backends_to_exit(
    tmp_path: Path, make_pg: MakePg, caplog: pytest.LogCaptureFixture
) -> None:
    pg = make_pg(tmp_path / "pgdata")
    conn = await asyncpg.connect(pg.start())
    # A busy backend only notices that its postmaster died once its statement ends; until it
    # has exited, postgres refuses to start on the old shared memory.
    spin = "DO $$ BEGIN WHILE clock_timestamp() < now() + interval '2 s' LOOP END LOOP; END $$"
    busy = asyncio.ensure_future(conn.execute(spin))
    try:
        await asyncio.sleep(0.5)
        assert pg.pid is not None
        os.kill(pg.pid, signal.SIGKILL)
        while pg.is_running():  # as the supervisor polls: the death is seen, the pid reaped
            await asyncio.sleep(0.01)
        caplog.set_level(logging.WARNING, logger="service.embedded")
        # Only the restart's lines: the first start's are captured too when an earlier test
        # of the session left the logger at INFO (the CLI configures logging).
        caplog.clear()

        dsn = pg.start()

        check = await asyncpg.connect(dsn)
        assert await check.fetchval("select 1") == 1
        await check.close()
        assert pg.started_by_us
        # The killed postmaster's pid is gone: postgres replaces its pid file itself.
        assert [r.getMessage() for r in caplog.records if r.name == "service.embedded"] == []
    finally:
        conn.terminate()
        await asyncio.gather(busy, return_exceptions=True)
