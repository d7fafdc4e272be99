"""The asyncpg connection pool, with the codecs every connection needs."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


def _encode_json(value: Any) -> str:
    # Audit rows hold whole records: dates and decimals are written as their text form.
    return json.dumps(value, default=str)


async def _init_connection(connection: asyncpg.Connection) -> None:
    # jsonb columns come back as Python objects, not strings.
    await connection.set_type_codec(
        "jsonb", encoder=_encode_json, decoder=json.loads, schema="pg_catalog"
    )


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection
    )
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection with the pool's codecs, for the CLI and tests."""
    connection = await asyncpg.connect(dsn)
    await _init_connection(connection)
    return connection
