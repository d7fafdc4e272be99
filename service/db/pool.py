"""The asyncpg connection pool, with the codecs every connection needs."""

from __future__ import annotations

import json
from collections.abc import Callable
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


QueryHook = Callable[[str], None]

_CONNECT_ARGS: dict[str, Any] = {
    # Short statements: JIT compilation would cost more than it saves, and planning them
    # anew on every execution (what "auto" settles on for the ranking walk, whose custom
    # plans look cheaper on paper) costs ~2.5 ms against ~1 ms of execution.
    "server_settings": {"jit": "off", "plan_cache_mode": "force_generic_plan"},
}


async def _keep_session(connection: asyncpg.Connection) -> None:
    # The default reset (UNLISTEN, RESET ALL, unlock advisory locks) costs a round trip per
    # release. Pooled connections never change session state here: no LISTEN, no SET, only
    # transaction-scoped advisory locks; asyncpg still rolls back an unfinished transaction.
    return None


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, on_query: QueryHook | None = None
) -> asyncpg.Pool:
    """A pool whose connections decode jsonb; `on_query` sees every statement (tests count)."""

    async def init(connection: asyncpg.Connection) -> None:
        await _init_connection(connection)
        if on_query is not None:
            connection.add_query_logger(lambda logged: on_query(logged.query))

    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=init, reset=_keep_session, **_CONNECT_ARGS
    )
    assert pool is not None
    return pool


async def reconnect(pool: asyncpg.Pool, dsn: str) -> None:
    """After the server restarted (maybe on another port): new connections from now on.

    A connection the server closed is replaced on its next acquire anyway; expiring them all
    also replaces those whose loss the client has not noticed yet.
    """
    pool.set_connect_args(dsn, **_CONNECT_ARGS)
    await pool.expire_connections()


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection with the pool's codecs, for the CLI and tests."""
    connection = await asyncpg.connect(dsn)
    await _init_connection(connection)
    return connection
