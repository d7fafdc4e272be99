"""Every query README.md shows answers the same through every path.

The plain path (graphql-core executing resolvers), the compiled path (one SQL statement per
document, where the compiler covers it) and the response cache (a second, cached answer) must
give identical data and errors for each ```graphql block of README.md that is a query.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
from graphql import OperationDefinitionNode, OperationType, parse

from service.cache import ResponseCache
from service.db.pool import create_pool
from service.graphql.context import Context
from service.graphql.schema import RegistrySchema, build_schema

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def _is_query(document: str) -> bool:
    operations = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
    return all(o.operation is OperationType.QUERY for o in operations)


QUERIES = [block for block in BLOCKS if _is_query(block)]


def test_readme_shows_queries() -> None:
    assert len(QUERIES) >= 7


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


def _context(pool: asyncpg.Pool) -> Context:
    return Context(request=cast(Any, None), response=cast(Any, None), pool=pool, request_id="t")


async def _run(schema: RegistrySchema, pool: asyncpg.Pool, query: str) -> Any:
    result = await schema.execute(query, None, _context(pool))
    errors = [(e.message, e.extensions) for e in result.errors or []]
    return result.data, errors


@pytest.mark.parametrize("query", QUERIES)
async def test_every_path_answers_a_readme_query_alike(pool: asyncpg.Pool, query: str) -> None:
    plain = await _run(build_schema(compiled=False), pool, query)
    assert plain[1] == [], plain[1]
    compiled = await _run(build_schema(compiled=True), pool, query)
    cache = ResponseCache(max_bytes=1024 * 1024)
    cache.enabled = True
    cached_schema = build_schema(compiled=True, cache=cache)
    first = await _run(cached_schema, pool, query)
    second = await _run(cached_schema, pool, query)
    assert cache.hits == 1
    assert compiled == plain
    assert first == plain
    assert second == plain
