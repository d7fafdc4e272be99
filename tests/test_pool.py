"""The connection pool keeps the service's statements prepared, long compiled ones included."""

from __future__ import annotations

from graphql import OperationDefinitionNode, parse

from service.db.pool import MAX_CACHEABLE_STATEMENT_BYTES, create_pool
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
