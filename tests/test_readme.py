"""README.md and the service agree: every example answers as shown, on every path.

Each ```graphql example is a named operation that selects `id` on every node (what codegen and
Relay need), answers exactly the ```json shown after it, and answers alike through the plain
path, the compiled path and the response cache. The release walk-through runs as written, one
pasted command after another, and each answer matches the one printed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import asyncpg
import orjson
import pytest
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    Visitor,
    get_named_type,
    parse,
    visit,
)
from graphql.utilities import TypeInfoVisitor

from service.cache import ResponseCache
from service.config import Settings
from service.db.pool import create_pool
from service.enums import Role
from service.graphql.context import Context
from service.graphql.schema import RegistrySchema, build_schema
from tests import readme
from tests.conftest import Api, running_api
from tests.writing import issue_token

TEXT = readme.read()
EXAMPLES = readme.examples(TEXT)
WALK_THROUGH = readme.walk_through(TEXT)
SCHEMA = build_schema(compiled=False)


def _operations(document: str) -> list[OperationDefinitionNode]:
    return [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]


QUERIES = [
    e for e in EXAMPLES if all(o.operation is OperationType.QUERY for o in _operations(e.document))
]


def _name(example: readme.Example) -> str:
    names = [o.name.value if o.name else "?" for o in _operations(example.document)]
    return ",".join(names)


DOCUMENTS = (
    [e.document for e in EXAMPLES]
    + [r.body["query"] for r in WALK_THROUGH]
    + readme.documents_in(readme.consumer_code(TEXT))
)


class _MissingIds(Visitor):
    """Records each selection of a type with an `id` field that does not select it."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.missing: list[str] = []

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        named = get_named_type(self.type_info.get_type())
        if node.selection_set is None or not isinstance(named, GraphQLObjectType):
            return
        if "id" not in named.fields:
            return
        selected = {s.name.value for s in node.selection_set.selections if isinstance(s, FieldNode)}
        spreads = any(
            isinstance(s, FragmentSpreadNode | InlineFragmentNode)
            for s in node.selection_set.selections
        )
        if "id" not in selected and not spreads:
            self.missing.append(f"{node.name.value}: {named.name}")


def _assert_shown(answer: Any, shown: Any, what: str = "") -> None:
    # Equal values and equal JSON types: README's 40.0 is not an answer of 40.
    assert answer == shown, what
    assert orjson.dumps(answer) == orjson.dumps(shown), what


def test_readme_shows_examples_and_the_walk_through() -> None:
    assert len(QUERIES) >= 7
    assert len(WALK_THROUGH) >= 7


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_readme_operation_is_named_and_selects_ids(document: str) -> None:
    assert all(o.name is not None for o in _operations(document)), "unnamed operation"
    type_info = TypeInfo(SCHEMA._schema)
    checker = _MissingIds(type_info)
    visit(parse(document), TypeInfoVisitor(type_info, checker))
    assert checker.missing == []


@pytest.mark.parametrize("example", QUERIES, ids=_name)
async def test_each_readme_query_answers_as_shown(api: Api, example: readme.Example) -> None:
    assert example.answer is not None, "README shows no answer for this query"
    response = await api.http.post("/graphql", json={"query": example.document})
    _assert_shown(response.json(), example.answer)


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
    # As the response carries it: compiled and cached answers are JSON text (orjson.Fragment).
    return orjson.dumps(result.data), errors


@pytest.mark.parametrize("example", QUERIES, ids=_name)
async def test_every_path_answers_a_readme_query_alike(
    pool: asyncpg.Pool, example: readme.Example
) -> None:
    query = example.document
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


# The registry's clock for each write of the walk-through, as its text says: the answers of
# `leaderboard(knownAt:)` are those of this history on every run.
WALK_THROUGH_CLOCK = {
    "Promote": "2026-09-15T09:00:00Z",
    "RecordMeasurement": "2026-09-20T09:00:00Z",
    "Verify": "2026-09-21T09:00:00Z",
}
ANNOUNCED = "2026-06-10T09:00:00Z"


async def _pin_clock(database_url: str, moment: str) -> None:
    """New sessions of the database record their writes at `moment` (migration 0007)."""
    conn = await asyncpg.connect(database_url)
    try:
        name = await conn.fetchval("SELECT current_database()")
        await conn.execute(f"ALTER DATABASE {name} SET registry.clock = '{moment}'")
    finally:
        await conn.close()


async def test_the_release_walk_through_runs_as_written(database_url: str) -> None:
    token = await issue_token(database_url, "release-bot", Role.EDITOR)
    auth = {"Authorization": f"Bearer {token}"}
    settings = Settings(
        database_url=database_url, migrate_on_start=False, seed_demo=False, response_cache=False
    )
    for request in WALK_THROUGH:
        (operation,) = _operations(request.body["query"])
        assert operation.name is not None
        await _pin_clock(database_url, WALK_THROUGH_CLOCK.get(operation.name.value, ANNOUNCED))
        # A new service for each step: its sessions read the clock just set.
        async with running_api(settings) as api:
            response = await api.http.post(
                "/graphql", json=request.body, headers=auth | request.headers
            )
        _assert_shown(response.json(), request.answer, request.command)
    # Sending the first keyed request again replays its answer and writes nothing.
    keyed = next(r for r in WALK_THROUGH if "Idempotency-Key" in r.headers)
    async with running_api(settings) as api:
        again = await api.http.post("/graphql", json=keyed.body, headers=auth | keyed.headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    _assert_shown(again.json(), keyed.answer)
