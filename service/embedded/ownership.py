"""Who runs PostgreSQL (ourselves, a user namespace, or a system user) and the data dir it owns."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

from service.embedded.processes import _binary, _Mode, _run_tool, _RunAs
from service.errors import EmbeddedPostgresError

logger = logging.getLogger("service.embedded")


FALLBACK_USER = "registry-postgres"


FALLBACK_ROOT = Path("/var/lib/model-release-registry")


NO_USERNS_ENV = "REGISTRY_EMBEDDED_PG_NO_USERNS"


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
    return all(_can_enter(path, run_as) for path in (directory, *directory.parents))


def _can_enter(path: Path, run_as: _RunAs) -> bool:
    st = path.stat()
    if st.st_uid == run_as.uid:
        bit = stat.S_IXUSR
    elif st.st_gid == run_as.gid:
        bit = stat.S_IXGRP
    else:
        bit = stat.S_IXOTH
    return bool(st.st_mode & bit)


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
    # Empty until initdb writes into it, which first makes it 0700 itself ("fixing permissions
    # on existing directory").
    path.mkdir(parents=True, exist_ok=True)
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
