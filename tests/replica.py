"""A primary and a real streaming replica of it, both from the embedded PostgreSQL's binaries.

The replica is what `pg_basebackup -R` makes of the primary (a copy plus `standby.signal` and
`primary_conninfo`), started as a hot standby on another port. The tools are run the way
service.embedded runs its own (as root: in a user namespace), with its package-private helpers:
the replica is a test fixture, not something the service ever starts.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from service.embedded import EmbeddedPostgres
from service.embedded.cluster import DATABASE, HOST, SUPERUSER
from service.embedded.ownership import _run_as
from service.embedded.processes import _binary, _run_tool, _spawn
from service.embedded.server import _free_port, _stop_process

START_TIMEOUT = 60.0


def _basebackup(primary_port: int, target: Path) -> None:
    argv = [_binary("pg_basebackup"), "-D", str(target), "-R", "-X", "stream"]
    argv += ["-h", HOST, "-p", str(primary_port), "-U", SUPERUSER]
    argv += ["--checkpoint=fast", "--no-sync"]
    _run_tool(argv, _run_as())


@contextmanager
def _standby(data_dir: Path, port: int) -> Iterator[str]:
    argv = [_binary("postgres"), "-D", str(data_dir), "-p", str(port)]
    argv += ["-h", HOST, "-c", "unix_socket_directories=", "-c", "fsync=off"]
    with open(data_dir.parent / "replica.log", "ab") as log:
        process = _spawn(argv, _run_as(), stdin=subprocess.DEVNULL, output=log)
    try:
        yield f"postgresql://{SUPERUSER}@{HOST}:{port}/{DATABASE}"
    finally:
        _stop_process(process)


async def wait_connectable(dsn: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while True:
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
        except (OSError, asyncpg.CannotConnectNowError):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)
        else:
            await conn.close()
            return


@contextmanager
def primary_and_replica(root: Path) -> Iterator[tuple[str, str]]:
    """DSNs of the `registry` database on a new primary and on its streaming replica."""
    with EmbeddedPostgres(root / "primary", fast_unsafe=True) as primary:
        port = int(primary.rsplit(":", 1)[1].split("/")[0])
        _basebackup(port, root / "replica")
        with _standby(root / "replica", _free_port()) as replica:
            yield primary, replica
