"""Starting and stopping the postmaster, and EmbeddedPostgres, the public handle on it."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from service.embedded.cluster import (
    _STOP_TIMEOUT,
    HOST,
    PG_MAJOR,
    _attachable_postmaster,
    _dsn,
    _ensure_initialised,
    _pid_is_postmaster,
    _PostmasterInfo,
    _ServerExited,
    _wait_ready,
    has_cluster,
)
from service.embedded.ownership import _data_dir_for, _exclusive, _lock_path, _run_as
from service.embedded.processes import (
    _binary,
    _describe_exit,
    _Popen,
    _RunAs,
    _spawn,
    _with_cause,
    postgres_bin_dir,
)
from service.errors import EmbeddedPostgresError

logger = logging.getLogger("service.embedded")


_PORT_ATTEMPTS = 5


_LOG_NAME = "postgres.log"


_LOG_MAX_BYTES = 10 * 1024 * 1024


_SOCKET_PARENT = Path("/tmp")  # short on purpose: unix socket paths are limited to ~107 bytes


_SOCKET_PREFIX = "registry-pg-"


@dataclass
class _Server:
    process: _Popen
    socket_dir: Path
    info: _PostmasterInfo


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _open_log(data_dir: Path) -> IO[bytes]:
    log = data_dir / _LOG_NAME
    with contextlib.suppress(FileNotFoundError):
        if log.stat().st_size > _LOG_MAX_BYTES:
            log.replace(log.with_name(_LOG_NAME + ".1"))
    # Private: the log can contain SQL statements and their parameters.
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "ab")


def _server_argv(data_dir: Path, port: int, socket_dir: Path, fast_unsafe: bool) -> list[str]:
    argv = [_binary("postgres"), "-D", str(data_dir), "-p", str(port), "-h", HOST]
    argv += ["-k", str(socket_dir)]
    # After a crash, postgres first flushes every file of the cluster to disk, one fsync per
    # file (~3 s for a fresh cluster here); one syncfs() per file system gives the same
    # guarantee in a few milliseconds, which is most of a restart after `kill -9`.
    argv += ["-c", "recovery_init_sync_method=syncfs"]
    if fast_unsafe:  # tests: a crash may lose or corrupt data, which they do not care about
        argv += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    return argv


def _start_server(
    data_dir: Path, run_as: _RunAs, fast_unsafe: bool, port: int | None = None
) -> _Server:
    """Start on `port` if it is free (a restart keeps its clients' DSN), else on a free one."""
    for _ in range(_PORT_ATTEMPTS):  # the free port may be taken before postgres binds it
        server = _try_start_server(data_dir, run_as, fast_unsafe, port or _free_port())
        if server is not None:
            return server
        port = None
    raise EmbeddedPostgresError(f"no free port for PostgreSQL after {_PORT_ATTEMPTS} attempts")


def _sweep_socket_dirs() -> None:
    """Remove the socket dirs of servers that were killed (they cannot clean up after a kill)."""
    for path in _SOCKET_PARENT.glob(_SOCKET_PREFIX + "*"):
        with contextlib.suppress(OSError, ValueError, IndexError):  # not ours, or vanished
            locks = [lock.read_text().split()[0] for lock in path.glob(".s.PGSQL.*.lock")]
            if locks and not any(_pid_exists(int(pid)) for pid in locks):
                shutil.rmtree(path)


def _pid_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()  # whoever owns it


def _remove_socket_dir(socket_dir: Path) -> None:
    # Already gone when a tmp cleaner (systemd-tmpfiles, tmpreaper) took it from a running server.
    shutil.rmtree(socket_dir, ignore_errors=True)


def _try_start_server(
    data_dir: Path, run_as: _RunAs, fast_unsafe: bool, port: int
) -> _Server | None:
    """Start postgres and wait until ready; None if its port was taken meanwhile."""
    _sweep_socket_dirs()
    socket_dir = Path(tempfile.mkdtemp(prefix=_SOCKET_PREFIX, dir=_SOCKET_PARENT))
    if os.geteuid() == 0 and run_as.uid != 0:
        os.chown(socket_dir, run_as.uid, run_as.gid)
    argv = _server_argv(data_dir, port, socket_dir, fast_unsafe)
    with _open_log(data_dir) as log:
        log_start = log.tell()
        process = _spawn(argv, run_as, stdin=subprocess.DEVNULL, output=log)
    try:
        info = _wait_ready(data_dir, process.pid, lambda: process.poll() is None)
    except _ServerExited:
        _remove_socket_dir(socket_dir)
        output = _read_log(data_dir, log_start)
        if "Address already in use" in output:
            return None
        summary = f"PostgreSQL exited during start-up ({_describe_exit(process.returncode)})"
        message = f"{_with_cause(summary, output)} (log: {data_dir / _LOG_NAME})"
        raise EmbeddedPostgresError(message, detail=output[-2000:]) from None
    except BaseException:
        _stop_process(process)
        _remove_socket_dir(socket_dir)
        raise
    logger.info("PostgreSQL %s (pid %d) listening on %s:%d", PG_MAJOR, info.pid, HOST, info.port)
    return _Server(process, socket_dir, info)


def _read_log(data_dir: Path, offset: int) -> str:
    with open(data_dir / _LOG_NAME, "rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def _stop_process(process: _Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # fast shutdown: abort sessions, checkpoint, exit
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("PostgreSQL (pid %d) ignored SIGINT; killing it", process.pid)
            process.kill()
            process.wait()


class EmbeddedPostgres:
    """An embedded PostgreSQL on `data_dir`: started by us, or attached to if already running.

    `start()` blocks (about 1.5 s for a first initdb, well under 0.3 s for a restart); from
    async code call it directly or via `asyncio.to_thread`, both are safe.
    """

    def __init__(self, data_dir: Path, *, fast_unsafe: bool = False) -> None:
        self._configured = Path(data_dir)
        self._fast_unsafe = fast_unsafe  # initdb --no-sync and fsync=off: for tests only
        self._lock = threading.Lock()
        self._data_dir: Path | None = None
        self._info: _PostmasterInfo | None = None
        self._server: _Server | None = None  # set only when we started the postmaster
        self._port: int | None = None  # the last port served: a restart tries it first
        self._created = False

    @property
    def dsn(self) -> str | None:
        return None if self._info is None else _dsn(self._info.port)

    @property
    def pid(self) -> int | None:
        """The postmaster's pid, whether we own it or attached to it."""
        return None if self._info is None else self._info.pid

    @property
    def started_by_us(self) -> bool:
        return self._server is not None

    @property
    def data_dir(self) -> Path | None:
        """The cluster's directory, which differs from the configured one only when relocated."""
        return self._data_dir

    @property
    def created(self) -> bool:
        """Whether the last `start()` initialised a new, empty cluster."""
        return self._created

    def start(self) -> str:
        """Start (or attach to) the server and return its DSN; a no-op while it runs.

        After the server died, this starts it again (or attaches to the one another process
        started meanwhile), on the same port when it is free.
        """
        with self._lock:
            if self._is_running():
                return _dsn(self._current_port())
            postgres_bin_dir()  # fail before touching the data dir when the wheel is missing
            run_as = _run_as()
            data_dir = _data_dir_for(self._configured, run_as)
            with _exclusive(_lock_path(data_dir)):
                info = _attachable_postmaster(data_dir)
                created = False
                if info is None:
                    fast = self._fast_unsafe
                    created = _ensure_initialised(data_dir, run_as, fast)
                    self._server = _start_server(data_dir, run_as, fast, self._port)
                    info = self._server.info
                    atexit.register(self.stop)  # a clean shutdown beats the death signal
                else:
                    logger.info("attaching to PostgreSQL (pid %d) on %s", info.pid, data_dir)
            self._data_dir, self._info, self._port = data_dir, info, info.port
            self._created = created
            return _dsn(info.port)

    def has_cluster(self) -> bool:
        """Whether the data dir holds a cluster, so `start()` would not initialise a new one."""
        return has_cluster(self._configured)

    def is_running(self) -> bool:
        """Whether the server still runs; a server of ours that died is reaped (no zombie)."""
        with self._lock:
            return self._is_running()

    def stop(self) -> None:
        """Stop the server if we started it; an attached server is left running."""
        with self._lock:
            self._forget()

    def _current_port(self) -> int:
        assert self._info is not None
        return self._info.port

    def _is_running(self) -> bool:
        if self._info is None or self._data_dir is None:
            return False
        if self._server is not None:
            running = self._server.process.poll() is None
        else:
            running = _pid_is_postmaster(self._info.pid, self._data_dir)
        if not running:
            self._forget()
        return running

    def _forget(self) -> None:
        server, self._server, self._info = self._server, None, None
        if server is None:
            return
        atexit.unregister(self.stop)
        _stop_process(server.process)
        _remove_socket_dir(server.socket_dir)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
