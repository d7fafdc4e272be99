"""The asyncpg connection pool, with the codecs every connection needs and its time limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from time import perf_counter
from typing import Any

import asyncpg
from asyncpg.connection import LoggedQuery
from asyncpg.pool import PoolConnectionProxy

from service.db import reads


def _encode_json(value: Any) -> str:
    # Audit rows hold whole records: dates and decimals are written as their text form.
    return json.dumps(value, default=str)


async def _init_connection(connection: asyncpg.Connection) -> None:
    # jsonb columns come back as Python objects, not strings.
    await connection.set_type_codec(
        "jsonb", encoder=_encode_json, decoder=json.loads, schema="pg_catalog"
    )


# The largest statement text kept prepared per connection (asyncpg's default: 15 KB). With
# asyncpg's 100 statements per connection, at most 6.4 MB of text a connection even when
# clients vary their documents to fill it.
MAX_CACHEABLE_STATEMENT_BYTES = 64 * 1024

QueryHook = Callable[[str], None]
StatementHook = Callable[[float], None]
RecordHook = Callable[[LoggedQuery], None]


def _connect_args(statement_timeout_ms: int) -> dict[str, Any]:
    return {
        # asyncpg prepares a statement once per connection and reuses it, but only up to
        # 15 KB of text by default: the compiled leaderboard is ~15 KB, and re-preparing it
        # on every request cost ~7 ms of planning for ~2 ms of execution.
        "max_cacheable_statement_size": MAX_CACHEABLE_STATEMENT_BYTES,
        # Short statements: JIT compilation would cost more than it saves, and planning them
        # anew on every execution (what "auto" settles on for the ranking walk, whose custom
        # plans look cheaper on paper) costs ~2.5 ms against ~1 ms of execution. Every
        # statement is bounded (0: not), so one expensive request cannot hold a backend.
        "server_settings": {
            "jit": "off",
            "plan_cache_mode": "force_generic_plan",
            "statement_timeout": str(statement_timeout_ms),
        },
    }


async def _keep_session(connection: asyncpg.Connection) -> None:
    # The default reset (UNLISTEN, RESET ALL, unlock advisory locks) costs a round trip per
    # release. Pooled connections never change session state here: no LISTEN, no SET, only
    # transaction-scoped advisory locks; asyncpg still rolls back an unfinished transaction.
    return None


class PoolConnection(asyncpg.Connection):
    """Every pool connection's class: it tells the running request's reads (service.db.reads)
    the text of each statement it sends, reports each one's duration to `on_statement`
    (metrics) and its text to `on_query` (tests count statements), once each.

    Both hook the calls every query method ends in. A statement with parameters, prepared or
    run through a cursor passes through `_get_statement` (recorded there); one that is run
    passes through `_execute` or `_executemany` (timed and told there, asyncpg's own logging
    points). `execute` without arguments takes the simple protocol instead: recorded, timed
    and told there. Done here rather than by a query logger: asyncpg builds a LoggedQuery and
    schedules a loop callback per statement for every logger, which cost ~30 k instructions
    per request, and a callback may run after the request has been answered. A duration is
    the client's wait for the statement's result (prepare, bind, execute, rows decoded), as
    the logger's `elapsed` was.
    """

    on_statement: StatementHook | None = None
    on_query: QueryHook | None = None

    async def execute(self, query: str, *args: object, timeout: float | None = None) -> str:
        if args:  # recorded in _get_statement, timed and told in _execute
            return await super().execute(query, *args, timeout=timeout)
        reads.record(query)
        if self.on_statement is None and self.on_query is None:
            return await super().execute(query, timeout=timeout)
        start = perf_counter()
        try:
            return await super().execute(query, timeout=timeout)
        finally:
            self._done(query, start)

    async def _get_statement(self, query: str, *args: Any, **kwargs: Any) -> Any:
        reads.record(query)
        return await super()._get_statement(query, *args, **kwargs)  # type: ignore[misc]

    async def _execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        if self.on_statement is None and self.on_query is None:
            return await super()._execute(query, *args, **kwargs)  # type: ignore[misc]
        start = perf_counter()
        try:
            return await super()._execute(query, *args, **kwargs)  # type: ignore[misc]
        finally:
            self._done(query, start)

    async def _executemany(self, query: str, *args: Any, **kwargs: Any) -> Any:
        if self.on_statement is None and self.on_query is None:
            return await super()._executemany(query, *args, **kwargs)  # type: ignore[misc]
        start = perf_counter()
        try:
            return await super()._executemany(query, *args, **kwargs)  # type: ignore[misc]
        finally:
            self._done(query, start)

    def _done(self, query: str, start: float) -> None:
        if self.on_statement is not None:
            self.on_statement(perf_counter() - start)
        if self.on_query is not None:
            self.on_query(query)


class BoundedPool(asyncpg.Pool):
    """asyncpg's pool, where acquire() waits at most `acquire_timeout` seconds by default.

    Every caller (resolvers, loaders, the compiled path, the idempotency path) gets the bound
    without passing it; a request that cannot get a connection fails with TimeoutError, which
    the GraphQL layer answers as TIMEOUT, instead of queueing forever behind a stuck pool.
    """

    __slots__ = ("_acquire_timeout", "connect_args")

    def __init__(
        self,
        *args: Any,
        acquire_timeout: float | None = None,
        connect_args: dict[str, Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **connect_args, **kwargs)
        self._acquire_timeout = acquire_timeout
        self.connect_args = connect_args

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self._acquire_timeout if timeout is None else timeout)

    # The bound costs a timeout scope and a timer per acquire (asyncpg's wait_for) and one per
    # release: paid only when the acquire or the release may have to wait. A free connection
    # that is open and current is handed over without suspending (no `setup`, no connect), so
    # a timeout could never fire there; an exhausted pool waits with the bound as before.
    async def _acquire(self, timeout: float | None) -> Any:
        if timeout is not None and self._free_at_once():
            return await super()._acquire(None)  # type: ignore[misc]
        return await super()._acquire(timeout)  # type: ignore[misc]

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        if timeout is None and _release_waits(connection):
            # A rollback, a cancellation or a close to wait for: bounded as the acquire was.
            timeout = self._acquire_timeout
        elif timeout is None and self._owns(connection):
            # asyncpg releases under asyncio.shield, so that a cancelled caller still returns
            # the connection: a task per release, and the caller resumed a loop iteration
            # later. An idle connection's release never suspends (nothing to roll back, wait
            # for or close; the reset is _keep_session), so no cancellation can cut it short:
            # the rest of asyncpg's Pool.release, without the shield.
            self._check_init()  # type: ignore[attr-defined]
            connection._con._on_release()
            holder = connection._holder
            await holder.release(holder._timeout)
            return
        await super().release(connection, timeout=timeout)

    def _owns(self, connection: Any) -> bool:
        """Whether `connection` is a proxy of this pool still holding its connection (what
        asyncpg's release checks before releasing)."""
        return (
            type(connection) is PoolConnectionProxy
            and connection._holder._pool is self
            and connection._con is not None  # type: ignore[attr-defined]
        )

    def _free_at_once(self) -> bool:
        free = self._queue._queue  # type: ignore[attr-defined]
        if not free or self._setup is not None:  # type: ignore[attr-defined]
            return False
        # The holder the next get() takes: asyncpg's queue hands out the last connected one.
        holder = next((found for found in reversed(free) if found.is_connected()), None)
        return holder is not None and holder._generation == self._generation  # type: ignore[attr-defined]


def _release_waits(proxy: Any) -> bool:
    """Whether releasing this pooled connection awaits anything (asyncpg's release: a
    ROLLBACK of an unfinished transaction, a pending cancellation, a close when the connection
    is spent or expired); an idle one's release completes without waiting."""
    holder, connection = getattr(proxy, "_holder", None), getattr(proxy, "_con", None)
    if holder is None or connection is None or connection.is_closed():
        return True
    protocol = connection._protocol
    return bool(
        protocol.is_in_transaction()
        or connection._top_xact is not None
        or protocol._is_cancelling()
        or protocol.queries_count >= holder._max_queries
        or holder._generation != holder._pool._generation
    )


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int,
    on_query: QueryHook | None = None,
    statement_timeout_ms: int = 0,
    acquire_timeout: float | None = None,
    on_statement: StatementHook | None = None,
    on_record: RecordHook | None = None,
) -> BoundedPool:
    """A pool whose connections decode jsonb; `on_query` sees every statement (tests count),
    `on_statement` every statement's duration in seconds (metrics), `on_record` asyncpg's
    whole record of it (traces).

    `statement_timeout_ms` (0: none) bounds every statement on the server; `acquire_timeout`
    bounds the wait for a connection.
    """

    async def init(connection: PoolConnection) -> None:
        await _init_connection(connection)
        connection.on_query = on_query
        if on_statement is not None:
            connection.on_statement = on_statement
        if on_record is not None:
            connection.add_query_logger(on_record)

    # asyncpg.create_pool's defaults, with our subclass (create_pool cannot be given one).
    pool = BoundedPool(
        dsn,
        acquire_timeout=acquire_timeout,
        connect_args=_connect_args(statement_timeout_ms),
        min_size=min_size,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        init=init,
        reset=_keep_session,
        loop=None,
        # Tells the response cache what each request read, and times statements for metrics.
        connection_class=PoolConnection,
        record_class=asyncpg.Record,
    )
    await pool
    return pool


async def reconnect(pool: BoundedPool, dsn: str) -> None:
    """After the server restarted (maybe on another port): new connections from now on.

    A connection the server closed is replaced on its next acquire anyway; expiring them all
    also replaces those whose loss the client has not noticed yet.
    """
    # The same settings (statement_timeout included) as the pool was created with.
    pool.set_connect_args(dsn, **pool.connect_args)
    await pool.expire_connections()


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection with the pool's codecs, for the CLI and tests."""
    connection = await asyncpg.connect(dsn)
    await _init_connection(connection)
    return connection
