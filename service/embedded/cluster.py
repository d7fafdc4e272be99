"""The cluster on disk: initdb, postmaster.pid, and whether a live postmaster serves a data dir."""

from __future__ import annotations

import contextlib
import enum
import functools
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from service.embedded.ownership import _ensure_owned, _make_private_dir, _relocated
from service.embedded.processes import _binary, _run_tool, _RunAs
from service.errors import EmbeddedPostgresError

logger = logging.getLogger("service.embedded")


DATABASE = "registry"


SUPERUSER = "postgres"


HOST = "127.0.0.1"


PG_MAJOR = "18"


_START_TIMEOUT = 60.0  # generous: crash recovery after a kill replays WAL before "ready"


_STOP_TIMEOUT = 30.0


_POLL_INTERVAL = 0.005


def _ensure_initialised(data_dir: Path, run_as: _RunAs, fast_unsafe: bool) -> bool:
    """Make `data_dir` hold a cluster of our major version; True if it was created now."""
    if (data_dir / "PG_VERSION").exists():
        _check_major_version(data_dir)
        _ensure_owned(data_dir, run_as)
        return False
    if data_dir.exists():
        if any(data_dir.iterdir()):
            raise EmbeddedPostgresError(
                f"{data_dir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); "
                "empty it or choose another data dir"
            )
        # An existing empty dir may be a mount point, which cannot be renamed onto: init in place.
        _initialise(data_dir, run_as, fast_unsafe)
        return True
    # Initialise next door and rename, so an interrupted initdb never leaves a half cluster.
    staging = data_dir.with_name(f".{data_dir.name}.initdb")
    shutil.rmtree(staging, ignore_errors=True)  # leftover of a killed init; we hold the lock
    try:
        _initialise(staging, run_as, fast_unsafe)
        staging.rename(data_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def _initialise(target: Path, run_as: _RunAs, fast_unsafe: bool) -> None:
    logger.info("initialising PostgreSQL %s cluster in %s", PG_MAJOR, target)
    _make_private_dir(target, run_as)
    initdb = [_binary("initdb"), "-D", str(target), "-U", SUPERUSER, "--auth=trust"]
    initdb += ["--encoding=UTF8", "--no-locale", "--no-instructions"]
    _run_tool([*initdb, *(["--no-sync"] if fast_unsafe else [])], run_as)
    # Single-user mode creates the database without a port or a wait for readiness.
    single = [_binary("postgres"), "--single", "-D", str(target), "-c", "exit_on_error=on"]
    single += [*(["-F"] if fast_unsafe else []), "postgres"]
    _run_tool(single, run_as, stdin=f"CREATE DATABASE {DATABASE};\n".encode())


def _check_major_version(data_dir: Path) -> None:
    version = (data_dir / "PG_VERSION").read_text().strip()
    if version != PG_MAJOR:
        raise EmbeddedPostgresError(
            f"{data_dir} holds a PostgreSQL {version} cluster but the embedded server is "
            f"PostgreSQL {PG_MAJOR}; export it with pg_dump from PostgreSQL {version} and "
            "restore it, or point the data dir elsewhere"
        )


class _PostmasterInfo(NamedTuple):
    """The fields of `postmaster.pid` we use (lines 1, 4 and 8)."""

    pid: int
    port: int
    status: str  # "starting", "ready", "stopping", "standby", or "" while being written


def _read_postmaster_pid(data_dir: Path) -> _PostmasterInfo | None:
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, IndexError, ValueError):  # absent, unreadable, or still being written
        return None
    status = lines[7].strip() if len(lines) > 7 else ""
    return _PostmasterInfo(pid, port, status)


class _PidState(enum.Enum):
    POSTMASTER = enum.auto()  # a live postgres serving this data dir (or one we cannot inspect)
    GONE = enum.auto()  # no such process: postgres itself copes with the stale pid file
    STALE = enum.auto()  # a zombie, or a pid reused by an unrelated process (e.g. after a reboot)


def _pid_state(pid: int, data_dir: Path) -> _PidState:
    """A live pid alone proves nothing (pids get reused), so also compare its cwd.

    Postgres chdirs into its data dir. A zombie's cwd link is unreadable, so a killed
    postmaster that its new parent has not reaped yet counts as stale, not as running.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return _PidState.GONE
    except PermissionError:  # another user's live process: assume the worst
        return _PidState.POSTMASTER
    cwd = _cwd(pid)
    if cwd is None:
        return _PidState.POSTMASTER  # cannot inspect it: assume the worst
    return _PidState.POSTMASTER if cwd == data_dir else _PidState.STALE


def _cwd(pid: int) -> Path | None:
    """The cwd of `pid`; Path() for a zombie or a vanished process; None if not ours to see."""
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except PermissionError:
        return None
    except OSError:
        return Path()


def _postgres_processes_in(data_dir: Path) -> list[int]:
    """Live postgres processes working in `data_dir` (each process of a cluster chdirs there)."""
    return [pid for pid in _pids_named("postgres") if _cwd(pid) == data_dir]


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):  # not a process, or it just exited
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == name:
                pids.append(int(entry.name))
    return pids


def _dsn(port: int) -> str:
    return f"postgresql://{SUPERUSER}@{HOST}:{port}/{DATABASE}"


def _ready_postmaster(data_dir: Path) -> _PostmasterInfo | None:
    info = _read_postmaster_pid(data_dir)
    if info is None or info.status != "ready":
        return None
    return info if _pid_state(info.pid, data_dir) is _PidState.POSTMASTER else None


def _candidates(data_dir: Path) -> list[Path]:
    """Where the cluster of a configured data dir may live (as root it may be relocated)."""
    data_dir = data_dir.expanduser().resolve()
    return [data_dir, _relocated(data_dir)] if os.geteuid() == 0 else [data_dir]


def running_dsn(data_dir: Path) -> str | None:
    """The DSN of a ready server on `data_dir` (run by any process), or None."""
    for candidate in _candidates(data_dir):
        info = _ready_postmaster(candidate)
        if info is not None:
            return _dsn(info.port)
    return None


def has_cluster(data_dir: Path) -> bool:
    """Whether `data_dir` already holds a PostgreSQL cluster (nothing is created to find out)."""
    return any((candidate / "PG_VERSION").exists() for candidate in _candidates(data_dir))


def _attachable_postmaster(data_dir: Path) -> _PostmasterInfo | None:
    """A live server to attach to; otherwise clear the way for starting one (under the lock)."""
    info = _read_postmaster_pid(data_dir)
    if info is None:
        return None
    state = _pid_state(info.pid, data_dir)
    if state is not _PidState.POSTMASTER:
        _clear_stale(data_dir, info, state)
        return None
    alive = functools.partial(_pid_is_postmaster, info.pid, data_dir)
    try:
        if info.status == "stopping":
            _wait_until(lambda: not alive(), _STOP_TIMEOUT, f"postmaster {info.pid} to stop")
            raise _ServerExited
        return _wait_ready(data_dir, info.pid, alive)
    except _ServerExited:  # it went away: look again (it may have left a stale pid file)
        return _attachable_postmaster(data_dir)


def _clear_stale(data_dir: Path, info: _PostmasterInfo, state: _PidState) -> None:
    # The orphaned backends of a killed postmaster exit by themselves, quickly; until they
    # have, postgres refuses to start ("pre-existing shared memory block is still in use").
    what = f"the processes of the old postmaster {info.pid} to exit"
    _wait_until(lambda: not _postgres_processes_in(data_dir), _STOP_TIMEOUT, what)
    if state is _PidState.GONE:
        return  # postgres removes the pid file itself, after its own shared-memory check
    # Postgres refuses to start while the pid in postmaster.pid exists, even as a zombie or
    # as an unrelated process; with no process left in the dir, removing the file is safe.
    logger.warning("removing postmaster.pid of the dead postmaster %d", info.pid)
    (data_dir / "postmaster.pid").unlink(missing_ok=True)


def _pid_is_postmaster(pid: int, data_dir: Path) -> bool:
    return _pid_state(pid, data_dir) is _PidState.POSTMASTER


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise EmbeddedPostgresError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(_POLL_INTERVAL)


def _wait_ready(data_dir: Path, pid: int, alive: Callable[[], bool]) -> _PostmasterInfo:
    """Wait for postmaster.pid to say "ready", as `pg_ctl -w` does: no connection needed."""
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        info = _read_postmaster_pid(data_dir)
        if info is not None and info.pid == pid and info.status == "ready":
            return info
        if not alive():
            raise _ServerExited
        if time.monotonic() > deadline:
            raise EmbeddedPostgresError(f"PostgreSQL not ready after {_START_TIMEOUT:.0f} s")
        time.sleep(_POLL_INTERVAL)


class _ServerExited(Exception):
    pass
