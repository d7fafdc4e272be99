"""What the commands share: the one-line messages, the database a command uses, tables."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
from collections.abc import Iterator

from service import database
from service.config import Settings
from service.errors import ConfigurationError

EXIT_FAILED = 1  # a RegistryError: the line on stderr says why


EXIT_INTERRUPTED = 130


def say(message: str) -> None:
    print(f"registry: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def database_for(settings: Settings, *, existing: str | None = None) -> Iterator[str]:
    """DATABASE_URL when set; otherwise the embedded server (started, or the running one).

    With `existing` (a hint for the user), the database must already hold a registry: one
    that does not is refused with one line instead of being initialised and migrated.
    """
    if settings.dsn is not None:
        asyncio.run(database.probe(settings.dsn))
        say(f"database: {database.describe_url(settings.dsn)} (DATABASE_URL)")
        if existing is not None and not asyncio.run(database.has_registry(settings.dsn)):
            raise ConfigurationError(_no_registry(settings, existing))
        yield settings.dsn
        return
    server = database.embedded_server(settings.data_dir)
    if existing is not None and not server.has_cluster():
        raise ConfigurationError(_no_registry(settings, existing))
    dsn = server.start()
    try:
        say(f"database: {database.describe_embedded(server)}")
        if existing is not None and not asyncio.run(database.has_registry(dsn)):
            raise ConfigurationError(_no_registry(settings, existing))
        yield dsn
    finally:
        server.stop()


def _no_registry(settings: Settings, hint: str) -> str:
    if settings.dsn is not None:
        where = f"{database.describe_url(settings.dsn)} (DATABASE_URL)"
    else:
        where = f"{settings.data_dir.expanduser()} (REGISTRY_DATA_DIR)"
    return f"no registry in {where}: is it the database your server uses? {hint}".rstrip()


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = [header, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def when(value: dt.datetime | None) -> str:
    return "-" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
