"""The connection pool keeps the service's statements prepared, long compiled ones included."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from decimal import Decimal

import pytest
from asyncpg.connection import LoggedQuery
from graphql import OperationDefinitionNode, parse

from service.db.pool import MAX_CACHEABLE_STATEMENT_BYTES, _release_waits, create_pool, reconnect
from service.db.reads import READS, Reads
from service.graphql.compiler import compile_operation
from service.graphql.schema import build_schema

LEADERBOARD = """query Board { leaderboard(benchmark: "aa-intelligence-index", first: 20) {
  edges { node { rank score { value qualifier } model { name } lab { name }
  country { code } } } } }"""


async def test_a_long_statement_is_prepared_once_per_connection(database_url: str) -> None:
    # Past asyncpg's default bound (15 KB) every execution was prepared, and planned, anew.
    padding = "x" * 20_000
    sql = f"SELECT $1::int + 1 /* {padding} */"
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:
            for value in range(3):
                assert await connection.fetchval(sql, value) == value + 1
            prepared = await connection.fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", sql
            )
        assert prepared == 1
    finally:
        await pool.close()


def test_the_compiled_leaderboard_fits_the_prepared_statement_bound() -> None:
    schema = build_schema(compiled=True)._schema
    [operation] = parse(LEADERBOARD).definitions
    assert isinstance(operation, OperationDefinitionNode)
    plan = compile_operation(schema, operation, {})
    assert 15_360 < len(plan.sql.encode()) < MAX_CACHEABLE_STATEMENT_BYTES


async def test_a_statement_of_up_to_64_kib_is_prepared_once(database_url: str) -> None:
    sql = "SELECT $1::int /* " + "x" * (65_000 - 20) + " */"
    assert 63 * 1024 < len(sql.encode()) <= 64 * 1024
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:
            for value in range(2):
                assert await connection.fetchval(sql, value) == value
            prepared = await connection.fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", sql
            )
        assert prepared == 1
    finally:
        await pool.close()


SLEEP = "SELECT pg_sleep(0.05)"
SLEEP_FOR = "SELECT pg_sleep($1)"
ECHO = "SELECT $1::int"


@pytest.mark.parametrize("timed", [True, False])
async def test_each_statement_is_recorded_for_the_request_and_timed_once(
    database_url: str, timed: bool
) -> None:
    """Every way of sending a statement: the simple protocol (`execute` without arguments),
    `execute` with them, `executemany`, a fetch and `fetchmany`. Each one's text lands in the
    running request's reads (what the response cache keys an answer by) and, with a hook, each
    one's duration is reported once."""
    durations: list[float] = []
    queries: list[str] = []
    records: list[LoggedQuery] = []
    pool = await create_pool(
        database_url,
        max_size=1,
        on_query=queries.append if timed else None,
        on_statement=durations.append if timed else None,
        on_record=records.append if timed else None,
    )
    request = Reads()
    token = READS.set(request)
    try:
        async with pool.acquire() as connection:
            assert await connection.execute(SLEEP) == "SELECT 1"
            assert await connection.execute(SLEEP_FOR, 0.05) == "SELECT 1"
            assert await connection.executemany(SLEEP_FOR, [(0.05,), (0.05,)]) is None
            assert await connection.fetchval(ECHO, 7) == 7
            assert [row[0] for row in await connection.fetchmany(ECHO, [(1,), (2,)])] == [1, 2]
        await asyncio.sleep(0.1)  # the query loggers are called from the event loop
    finally:
        READS.reset(token)
        await pool.close()
    assert request.statements == {SLEEP, SLEEP_FOR, ECHO}
    if timed:
        assert len(durations) == 5
        slept = [0.05, 0.05, 0.1, 0.0, 0.0]
        assert all(least <= took < least + 5 for took, least in zip(durations, slept, strict=True))
        # The loggers (statement counts in tests, traces) see the statements sent.
        assert set(queries) == {SLEEP, SLEEP_FOR, ECHO}
        assert {record.query for record in records} == {SLEEP, SLEEP_FOR, ECHO}
    else:
        assert durations == [] and queries == [] and records == []


async def test_a_reconnected_pool_keeps_its_statement_timeout(database_url: str) -> None:
    pool = await create_pool(database_url, max_size=1, statement_timeout_ms=250)
    try:
        async with pool.acquire() as connection:
            before = connection.get_server_pid()
        await reconnect(pool, database_url)
        async with pool.acquire() as connection:
            assert connection.get_server_pid() != before  # a new connection
            assert await connection.fetchval("SHOW statement_timeout") == "250ms"
    finally:
        await pool.close()


async def test_an_exhausted_pool_waits_for_a_connection_no_longer_than_its_bound(
    database_url: str,
) -> None:
    pool = await create_pool(database_url, max_size=1, acquire_timeout=0.2)
    loop = asyncio.get_running_loop()
    try:
        async with pool.acquire():
            started = loop.time()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(pool.acquire(), 10)
            assert loop.time() - started < 5
        async with pool.acquire() as connection:  # free again: no wait
            assert await connection.fetchval(ECHO, 1) == 1
    finally:
        await pool.close()


async def test_only_a_release_that_has_something_to_wait_for_is_bounded(
    database_url: str,
) -> None:
    """The timer of the acquire bound is paid only where a wait is possible: a free, current
    connection is handed over at once, and an idle one is released at once; a release with a
    transaction to roll back, or a connection of an expired generation to close, may wait."""
    pool = await create_pool(database_url, max_size=1, acquire_timeout=5)
    try:
        assert pool._free_at_once()
        async with pool.acquire() as connection:
            assert not pool._free_at_once()  # nothing free: the acquire would wait
            assert not _release_waits(connection)
            async with connection.transaction():
                assert _release_waits(connection)
            assert not _release_waits(connection)
            # At its last allowed query a connection is closed on release (asyncpg's
            # max_queries, 50,000 here): lowered to the count it has reached.
            holder = connection._holder
            spent, holder._max_queries = (
                holder._max_queries,
                connection._con._protocol.queries_count,
            )
            assert _release_waits(connection)
            holder._max_queries = spent
            await pool.expire_connections()
            assert _release_waits(connection)  # closed on release
        assert _release_waits(connection)  # released already: no holder
        assert not pool._free_at_once()  # the free one is of the expired generation
    finally:
        await pool.close()


async def test_an_idle_connection_is_released_without_suspending(database_url: str) -> None:
    """asyncpg shields every release in a task of its own; an idle connection's release
    never suspends, so the pool releases it in the caller's task: it is free again before
    `release` returns control, and can be taken again at once."""
    pool = await create_pool(database_url, max_size=1, acquire_timeout=5)
    try:
        connection = await pool.acquire()
        await connection.fetchval("SELECT 1")
        releasing = pool.release(connection)
        with pytest.raises(StopIteration):
            releasing.send(None)  # ran to its end without yielding to the loop
        assert pool._free_at_once()
        async with pool.acquire() as again:
            assert await again.fetchval("SELECT 2") == 2
        # A connection in a transaction rolls back on release: shielded and bounded, and
        # still free afterwards.
        connection = await pool.acquire()
        await connection.execute("BEGIN")
        await pool.release(connection)
        async with pool.acquire() as again:
            assert not again.is_in_transaction()
    finally:
        await pool.close()


async def test_a_release_that_cannot_finish_gives_up_at_the_acquire_bound(
    database_url: str,
) -> None:
    """A connection released inside a transaction rolls it back; when its server does not
    answer (here: its backend stopped), the release fails after the acquire bound instead of
    holding the caller, and the connection is dropped."""
    pool = await create_pool(database_url, max_size=1, acquire_timeout=0.3)
    loop = asyncio.get_running_loop()
    connection = await pool.acquire()
    backend = connection.get_server_pid()
    await connection.execute("BEGIN")
    os.kill(backend, signal.SIGSTOP)
    try:
        started = loop.time()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pool.release(connection), 10)
        assert loop.time() - started < 5
    finally:
        os.kill(backend, signal.SIGCONT)
    try:
        async with pool.acquire() as fresh:
            assert fresh.get_server_pid() != backend
    finally:
        await pool.close()


async def test_jsonb_is_written_from_records_and_read_as_python(database_url: str) -> None:
    # Audit rows hold whole records: their dates and decimals are written as text.
    record = {"on": dt.date(2026, 5, 30), "value": Decimal("61.4"), "tags": ["a"]}
    pool = await create_pool(database_url, max_size=1)
    try:
        async with pool.acquire() as connection:
            found = await connection.fetchval("SELECT $1::jsonb", record)
    finally:
        await pool.close()
    assert found == {"on": "2026-05-30", "value": "61.4", "tags": ["a"]}
