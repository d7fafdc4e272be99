"""The compiled path answers exactly what per-field execution answers.

Every document runs through a schema with the compiler and one without; data and errors
must be identical. Documents the compiler covers must actually take it (or this test
would pass by falling back), and the rest must fall back rather than fail.
"""

from __future__ import annotations

import datetime as dt
import random
import struct
from collections.abc import AsyncIterator
from typing import Any, cast

import asyncpg
import orjson
import pytest

from service.db.pool import create_pool
from service.graphql.compiler.rules import MARK, RULES, Scalar
from service.graphql.context import Context
from service.graphql.permissions import IsAdmin
from service.graphql.schema import RegistrySchema, build_schema
from tests.conftest import Api
from tests.test_known_at import FIRST_DAY, SCRIPT, _end_of, write_on

LEADERBOARD = """
query Board($asOf: Date, $first: Int, $after: String, $provenance: [Provenance!],
            $stages: [VersionStage!], $countries: [String!], $version: String,
            $verification: [Verification!], $knownAt: DateTime) {
  leaderboard(benchmark: "aa-intelligence-index", asOf: $asOf, first: $first, after: $after,
              provenance: $provenance, stages: $stages, countries: $countries,
              benchmarkVersion: $version, verification: $verification, knownAt: $knownAt) {
    __typename asOf knownAt totalCount
    benchmarkVersion { id label effectiveOn benchmarkSlug benchmarkName }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      rank
      score { id value qualifier uncertainty runConfiguration measuredOn provenance
              verification verificationChangedOn superseded recordedAt note
              source { id url title publisher publishedOn kind } benchmarkVersion { label } }
      version { id label stage isPreview announcedOn totalParameters activeParameters
                released { date precision } planned { date precision } }
      model { id slug name modality openWeights license trainingOrigin description }
      lab { id slug name foundedYear headquarters website description country { code name } }
      country { code name }
    } }
  }
}
"""
BACKWARD = """
query Back($last: Int, $before: String) {
  leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-05-30", last: $last,
              before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { rank model { slug } } }
  }
}
"""
MODEL_PAGE = """
query Page($slug: String!) {
  model(slug: $slug) {
    ...modelFields
    lab { ...labFields models { slug name } }
    family { id slug name description }
    versions {
      id label stage isPreview announcedOn contextWindow totalParameters
      released { date precision } planned { __typename date precision }
      source { title kind }
      promotedFrom { label scores { value } }
      model { slug }
      hardwareTargets { accelerator acceleratorCount memoryGb precision note }
      scores { id value qualifier measuredOn provenance verification superseded
               source { title } benchmarkVersion { id label } version { label } }
    }
  }
}
fragment modelFields on Model { id slug name openWeights license trainingOrigin }
fragment labFields on Lab { id slug name country { code name } }
"""
LINEAGE = """
query Graph($model: String!, $direction: LineageDirection, $depth: Int,
            $relations: [LineageRelation!]) {
  lineage(model: $model, direction: $direction, depth: $depth, relations: $relations) {
    __typename
    root { ...modelFields }
    nodes { ...modelFields lab { slug country { code } } family { slug } }
    edges {
      __typename id relation note
      parent { slug name } child { ... on Model { slug versions { label } } }
      source { id url title publisher publishedOn kind }
    }
  }
}
fragment modelFields on Model { __typename id slug name trainingOrigin openWeights }
"""
NESTED_FIRST = """
query Versions($n: Int) { model(slug: "solar-pro") { slug versions(first: $n) { label } } }
"""
COMPILED: list[tuple[str, dict[str, Any]]] = [
    (LEADERBOARD, {"asOf": "2026-05-30"}),
    (LEADERBOARD, {"asOf": "2026-05-30", "first": 3}),
    # ("after", n): the endCursor of the first n entries, as the plain path hands it out.
    (LEADERBOARD, {"asOf": "2026-05-30", "first": 3, "after": ("after", 3)}),
    (LEADERBOARD, {"asOf": "2026-05-30", "first": 5, "after": ("after", 8)}),
    (LEADERBOARD, {"asOf": "2026-05-30", "first": None, "after": ("after", 1)}),
    (LEADERBOARD, {"asOf": "2026-05-30", "first": 0}),
    (
        '{ leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-05-30", first: 2,'
        " last: null, before: null) { nodes { rank model { slug } } totalCount"
        " pageInfo { startCursor endCursor hasNextPage } } }",
        {},
    ),
    (
        '{ leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-05-30", first: 2) {'
        " edges { __typename cursor } } }",
        {},
    ),
    (LEADERBOARD, {"asOf": "2026-05-30", "provenance": ["INDEPENDENT"]}),
    (LEADERBOARD, {"asOf": "2026-05-30", "stages": ["PREVIEW"]}),
    (LEADERBOARD, {"asOf": "2026-05-30", "countries": ["kr", "FR"]}),
    (LEADERBOARD, {"asOf": "2026-05-30", "version": "as reported 2026-05-30"}),
    (LEADERBOARD, {"asOf": "2027-01-01"}),
    (LEADERBOARD, {"asOf": "2026-05-30", "knownAt": "2026-05-30T12:00:00Z"}),
    (LEADERBOARD, {"asOf": "2026-05-30", "knownAt": "2026-05-30T21:00:00+09:00"}),
    (LEADERBOARD, {"asOf": "2026-05-30", "knownAt": "2026-05-30T12:00:00"}),
    (LEADERBOARD, {"asOf": "2026-05-30", "knownAt": "2099-01-01T00:00:00Z"}),
    (LEADERBOARD, {"asOf": "2026-05-30", "verification": ["UNVERIFIED"]}),
    (LEADERBOARD, {}),
    (MODEL_PAGE, {"slug": "solar-next"}),
    (MODEL_PAGE, {"slug": "solar-10.7b"}),
    (MODEL_PAGE, {"slug": "solar-pro"}),
    (MODEL_PAGE, {"slug": "gemini-3.1-pro"}),
    (MODEL_PAGE, {"slug": "no-such-model"}),
    ('{ lab(slug: "upstage") { __typename name models { slug versions { label } } } }', {}),
    ('{ a: lab(slug: "cohere") { n: name } b: model(slug: "gpt-5.5") { s: slug } }', {}),
    ("{ __typename }", {}),
    ('{ ... on Query { model(slug: "solar-pro") { slug } } }', {}),
    (
        '{ model(slug: "solar-pro-3") { ... on Model { slug lab { ... on Lab { name } } } } }',
        {},
    ),
    (LINEAGE, {"model": "solar-pro"}),
    (LINEAGE, {"model": "solar-pro", "direction": "DESCENDANTS", "depth": 5}),
    (LINEAGE, {"model": "solar-pro-2", "direction": "BOTH", "depth": 1}),
    (LINEAGE, {"model": "solar-pro-3", "direction": "ANCESTORS", "depth": 10}),
    (LINEAGE, {"model": "solar-next", "direction": "BOTH", "depth": 10}),
    (LINEAGE, {"model": "mistral-7b", "direction": "DESCENDANTS", "depth": 10}),
    (LINEAGE, {"model": "solar-10.7b", "direction": "ANCESTORS", "relations": ["DEPTH_UP_SCALED"]}),
    (LINEAGE, {"model": "solar-pro-3", "direction": "BOTH", "relations": ["SUCCESSOR"]}),
    (LINEAGE, {"model": "solar-pro-3", "relations": []}),
    (LINEAGE, {"model": "gpt-5.5", "direction": "BOTH", "depth": 10}),  # no links
    (
        '{ a: lineage(model: "solar-pro") { r: root { s: slug } e: edges { r: relation } }'
        ' b: lineage(model: "solar-10.7b", direction: ANCESTORS, depth: 2) { nodes { slug } }'
        ' c: model(slug: "solar-pro") { slug } }',
        {},
    ),
    (
        '{ lineage(model: "solar-pro", depth: 2) { ... on LineageGraph { edges { id } } } }',
        {},
    ),
    # A nested list's `first`, the one argument compiled: given, zero, from a variable, absent.
    (
        '{ lab(slug: "upstage") { models(first: 2) { slug versions(first: 1) { label'
        " scores(first: 1) { value } } } } }",
        {},
    ),
    ('{ model(slug: "solar-pro") { versions(first: 0) { label } } }', {}),
    (NESTED_FIRST, {"n": 1}),
    (NESTED_FIRST, {"n": None}),
    (NESTED_FIRST, {}),
    # An inline fragment without a type condition applies to the type it is in.
    ('{ model(slug: "solar-pro") { ... { slug lab { ... { name } } } } }', {}),
]
# Covered root fields whose arguments or selections the compiler leaves to graphql-core.
FALLBACK: list[tuple[str, dict[str, Any]]] = [
    (LEADERBOARD, {"asOf": "2026-05-30", "first": 101}),  # OUT_OF_RANGE
    (LEADERBOARD, {"asOf": "2026-05-30", "after": "bogus"}),  # INVALID cursor
    (LEADERBOARD, {"asOf": "2026-05-30", "after": "UG9zaXRpb246Mw"}),  # Position:3, INVALID
    (BACKWARD, {"last": 3}),  # a page from the end: the resolver counts where it starts
    (BACKWARD, {"last": 2, "before": ("after", 5)}),
    (LEADERBOARD, {"asOf": "2026-05-01"}),  # NOT_FOUND: no method version yet
    (LEADERBOARD, {"asOf": "2026-05-30", "version": "v99"}),  # NOT_FOUND
    (LEADERBOARD, {"asOf": "not-a-date"}),  # a variable that does not coerce
    # NOT_FOUND: no method version recorded yet
    (LEADERBOARD, {"asOf": "2026-05-30", "knownAt": "2000-01-01T00:00:00Z"}),
    ('{ model(slug: "solar-pro") { versions { memoryFit(memoryGb: 80) { fits } } } }', {}),
    (NESTED_FIRST, {"n": 101}),  # OUT_OF_RANGE
    (NESTED_FIRST, {"n": -1}),  # OUT_OF_RANGE
    ('{ model(slug: "solar-pro") @include(if: true) { slug } }', {}),
    # A fragment on another type inside one on an interface: it never applies to a Model.
    ('{ model(slug: "solar-pro") { slug ... on Node { ... on Lab { name } } } }', {}),
    ('{ model(slug: "solar-pro") { slug } labs { totalCount } }', {}),
    ('{ model(slug: "solar-pro") { slug slug } }', {}),
    ("{ model(slug: 12) { slug } }", {}),  # invalid: graphql-core reports it
    (LINEAGE, {"model": "no-such-model"}),  # NOT_FOUND
    (LINEAGE, {"model": "solar-pro", "depth": 0}),  # OUT_OF_RANGE
    (LINEAGE, {"model": "solar-pro", "depth": 11}),  # OUT_OF_RANGE
    (LINEAGE, {"model": "solar-pro", "direction": "SIDEWAYS"}),  # does not coerce
    ('{ lineage(model: "solar-pro") { edges { parent { parents { relation } } } } }', {}),
    ('{ lineage(model: "solar-pro") { nodes { slug } nodes { name } } }', {}),
    # Repeated response keys merge in graphql-core, at the root and inside any root field.
    ('{ a: model(slug: "solar-pro") { slug } a: model(slug: "solar-pro") { name } }', {}),
    (
        '{ leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-05-30") {'
        " edges { cursor } edges { node { rank } } } }",
        {},
    ),
]


@pytest.fixture
async def schemas(database_url: str) -> AsyncIterator[tuple[RegistrySchema, RegistrySchema, Any]]:
    pool = await create_pool(database_url, min_size=1, max_size=4)
    try:
        yield build_schema(compiled=True), build_schema(compiled=False), pool
    finally:
        await pool.close()


def _context(pool: asyncpg.Pool) -> Context:
    return Context(request=cast(Any, None), response=cast(Any, None), pool=pool, request_id="t")


async def _both(
    schemas: tuple[RegistrySchema, RegistrySchema, Any], query: str, variables: dict[str, Any]
) -> tuple[Any, Any]:
    compiled, plain, pool = schemas
    fast = await compiled.execute(query, variables, _context(pool))
    slow = await plain.execute(query, variables, _context(pool))
    return fast, slow


async def _cursors(
    schemas: tuple[RegistrySchema, RegistrySchema, Any], variables: dict[str, Any]
) -> dict[str, Any]:
    """Variables with each ("after", n) replaced by the plain path's endCursor of n entries."""
    _, plain, pool = schemas
    resolved = dict(variables)
    for name, value in variables.items():
        if isinstance(value, tuple):
            query = (
                'query ($n: Int) { leaderboard(benchmark: "aa-intelligence-index", '
                'asOf: "2026-05-30", first: $n) { pageInfo { endCursor } } }'
            )
            result = await plain.execute(query, {"n": value[1]}, _context(pool))
            assert result.data is not None
            resolved[name] = result.data["leaderboard"]["pageInfo"]["endCursor"]
    return resolved


def _bytes(result: Any) -> bytes:
    # What the response carries, as the app encodes it: 40 and 40.0 are different answers.
    return orjson.dumps(result.data)


def _errors(result: Any) -> list[tuple[str, Any]] | None:
    if not result.errors:
        return None
    return [(error.message, error.extensions) for error in result.errors]


async def test_compiled_documents_answer_like_execution(
    schemas: tuple[RegistrySchema, RegistrySchema, Any],
) -> None:
    # One database for every document (they only read): a fresh copy each costs seconds.
    compiled_schema, _, pool = schemas
    assert compiled_schema.fast_path is not None
    for query, asked in COMPILED:
        variables = await _cursors(schemas, asked)
        case = (query, asked)
        assert compiled_schema.fast_path.compiled(query, None) is not None, ("not compiled", case)
        assert await compiled_schema.fast_path.data(pool, query, variables, None) is not None, case
        fast, slow = await _both(schemas, query, variables)
        assert _errors(slow) is None, case
        assert _bytes(fast) == _bytes(slow), case


async def test_other_documents_fall_back_with_the_same_answer(
    schemas: tuple[RegistrySchema, RegistrySchema, Any],
) -> None:
    compiled_schema, _, pool = schemas
    assert compiled_schema.fast_path is not None
    for query, asked in FALLBACK:
        variables = await _cursors(schemas, asked)
        case = (query, asked)
        assert await compiled_schema.fast_path.data(pool, query, variables, None) is None, case
        fast, slow = await _both(schemas, query, variables)
        assert _bytes(fast) == _bytes(slow), case
        assert _errors(fast) == _errors(slow), case


async def test_archived_and_revised_rows_answer_alike(
    schemas: tuple[RegistrySchema, RegistrySchema, Any], database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE lab SET archived_at = '2026-06-01 12:34:56.789+00', revision = 3 "
            "WHERE slug = 'cohere'; "
            "UPDATE model SET archived_at = '2026-06-02 00:00:00+00' WHERE slug = 'gpt-5.5'; "
            "UPDATE score SET verification = 'VERIFIED', verification_changed_on = '2026-06-03' "
            "WHERE value = 61.4"
        )
    finally:
        await conn.close()
    query = """
    { a: lab(slug: "cohere") { revision archivedAt models { slug } }
      b: model(slug: "gpt-5.5") { revision archivedAt versions { revision } }
      c: model(slug: "claude-opus-4.8") {
        versions { scores { verification verificationChangedOn } } }
      d: lab(slug: "openai") { archivedAt models { slug } } }
    """
    compiled_schema, _, pool = schemas
    assert compiled_schema.fast_path is not None
    assert await compiled_schema.fast_path.data(pool, query, {}, None) is not None, "fell back"
    fast, slow = await _both(schemas, query, {})
    assert _errors(slow) is None
    assert _bytes(fast) == _bytes(slow)
    assert slow.data["a"]["archivedAt"] == "2026-06-01T12:34:56.789000+00:00"


async def test_as_of_answers_follow_corrections_on_both_paths(
    schemas: tuple[RegistrySchema, RegistrySchema, Any], database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
                               source_id, supersedes_id)
            SELECT old.version_id, old.benchmark_version_id, 30, '2026-06-10', 'INDEPENDENT',
                   old.source_id, old.id
            FROM score old JOIN model_version v ON v.id = old.version_id
            JOIN model m ON m.id = v.model_id WHERE m.slug = 'gpt-5.5'
            """
        )
    finally:
        await conn.close()
    for as_of in ("2026-06-09", "2026-06-10"):
        fast, slow = await _both(schemas, LEADERBOARD, {"asOf": as_of})
        assert _bytes(fast) == _bytes(slow)
    fast, slow = await _both(schemas, MODEL_PAGE, {"slug": "gpt-5.5"})
    assert _bytes(fast) == _bytes(slow)


async def test_a_nested_list_longer_than_its_cap_is_cut_at_the_cap_on_both_paths(
    schemas: tuple[RegistrySchema, RegistrySchema, Any], database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        # 101 more scores on one version: past NESTED_LIST_CAP (100), the default `first`.
        await conn.execute(
            """
            INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
                               source_id)
            SELECT old.version_id, old.benchmark_version_id, 50 + n, old.measured_on,
                   old.provenance, old.source_id
            FROM (SELECT score.* FROM score JOIN model_version v ON v.id = score.version_id
                  JOIN model m ON m.id = v.model_id WHERE m.slug = 'gpt-5.5' LIMIT 1) AS old
            CROSS JOIN generate_series(1, 101) AS n
            """
        )
    finally:
        await conn.close()
    # Without `first` the default (the cap) applies; `first: null` means the cap too.
    query = (
        '{ model(slug: "gpt-5.5") { versions { a: scores { value }'
        " b: scores(first: null) { value } } } }"
    )
    compiled_schema, _, pool = schemas
    assert compiled_schema.fast_path is not None
    text = await compiled_schema.fast_path.data(pool, query, {}, None)
    assert text is not None, "fell back"
    data = orjson.loads(text)
    fast, slow = await _both(schemas, query, {})
    assert _errors(slow) is None
    assert _bytes(fast) == _bytes(slow)
    for key in ("a", "b"):
        assert max(len(v[key]) for v in data["model"]["versions"]) == 100


async def test_a_scripted_history_answers_alike_on_both_paths_every_day(
    schemas: tuple[RegistrySchema, RegistrySchema, Any], database_url: str
) -> None:
    for day, write in enumerate(SCRIPT):
        await write_on(database_url, FIRST_DAY + dt.timedelta(days=day), write)
    for day in range(-1, len(SCRIPT)):
        for verification in (None, ["VERIFIED"]):
            variables = {"asOf": "2026-06-30", "knownAt": _end_of(day)}
            fast, slow = await _both(
                schemas, LEADERBOARD, variables | {"verification": verification}
            )
            assert _errors(slow) is None
            assert _bytes(fast) == _bytes(slow), day


async def test_a_compiled_lineage_is_one_statement(api: Api) -> None:
    variables = {"model": "solar-pro", "direction": "BOTH", "depth": 10}
    await api.data(LINEAGE, **variables)
    api.queries.clear()
    data = await api.data(LINEAGE, **variables)
    assert data["lineage"]["root"]["slug"] == "solar-pro"
    assert len(data["lineage"]["edges"]) > 3
    # the root's id, the walk, the models and their labs, families and versions: one statement
    assert len(api.queries.statements) == 1


@pytest.mark.parametrize(("type_name", "field"), [("Lab", "name"), ("Query", "model")])
def test_a_field_with_a_permission_class_is_never_compiled(type_name: str, field: str) -> None:
    schema = build_schema(compiled=True)
    assert schema.fast_path is not None
    document = '{ model(slug: "solar-pro") { slug lab { name } } }'
    assert schema.fast_path.compiled(document, None) is not None
    # strawberry keeps one definition per field, shared by every schema built from the types.
    definition = schema._schema.get_type(type_name).fields[field].extensions  # type: ignore[union-attr]
    definition["strawberry-definition"].permission_classes = [IsAdmin]
    try:
        # Another text: not the plan cached above.
        assert schema.fast_path.compiled(document + " ", None) is None
    finally:
        definition["strawberry-definition"].permission_classes = []


async def test_a_run_configuration_is_sent_compact_by_the_compiled_path(
    schemas: tuple[RegistrySchema, RegistrySchema, Any], database_url: str
) -> None:
    """jsonb's own text has spaces (`{"shots": 5}`); the compiled answer's text is made
    compact, byte for byte what the resolvers' answer encodes to."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO score (version_id, benchmark_version_id, value, measured_on,"
            " provenance, source_id, run_configuration)"
            " SELECT v.id, (SELECT min(id) FROM benchmark_version), 50, '2026-06-01',"
            ' \'INDEPENDENT\', (SELECT min(id) FROM source), \'{"shots": 5, "mode": ["cot"]}\''
            " FROM model_version AS v JOIN model AS m ON m.id = v.model_id"
            " WHERE m.slug = 'solar-pro'"
        )
    finally:
        await conn.close()
    compiled_schema, _, pool = schemas
    assert compiled_schema.fast_path is not None
    query = '{ model(slug: "solar-pro") { versions { scores { runConfiguration } } } }'
    text = await compiled_schema.fast_path.data(pool, query, {}, None)
    assert text is not None
    _, slow = await _both(schemas, query, {})
    sent = text.encode() if isinstance(text, str) else text
    assert sent == orjson.dumps(slow.data)
    assert b'{"mode":["cot"],"shots":5}' in sent


TWO_OPERATIONS = """
query A { model(slug: "solar-pro") { slug } }
query B($lab: String!) { lab(slug: $lab) { ...L } }
fragment L on Lab { slug }
"""


async def test_an_operation_is_compiled_and_answered_by_its_name(
    schemas: tuple[RegistrySchema, RegistrySchema, Any],
) -> None:
    compiled_schema, plain, pool = schemas
    path = compiled_schema.fast_path
    assert path is not None
    variables = {"lab": "upstage"}
    for name, data in (
        ("A", {"model": {"slug": "solar-pro"}}),
        ("B", {"lab": {"slug": "upstage"}}),
    ):
        plan = path.compiled(TWO_OPERATIONS, name)
        assert plan is not None, name
        assert path.compiled(TWO_OPERATIONS, name) is plan  # compiled once per name
        text = await path.data(pool, TWO_OPERATIONS, variables, name)
        assert text is not None and orjson.loads(text) == data
        slow = await plain.execute(TWO_OPERATIONS, variables, _context(pool), operation_name=name)
        assert slow.data == data
    # Two operations and no name, a name no operation has, a name on an anonymous one: the
    # normal path words the error.
    unnamed: list[tuple[str, str | None]] = [
        (TWO_OPERATIONS, None),
        (TWO_OPERATIONS, "C"),
        ("{ labs { totalCount } }", "A"),
        ("{ model(slug: 12) { slug } }", None),  # invalid
    ]
    for query, wrong in unnamed:
        assert path.compiled(query, wrong) is None
        assert await path.data(pool, query, variables, wrong) is None
    # A variable never given (None, not {}): the normal path says it is missing.
    assert await path.data(pool, TWO_OPERATIONS, None, "B") is None
    assert await path.data(pool, TWO_OPERATIONS, None, "A") is not None


async def test_a_jsonb_answer_is_made_compact_like_the_resolvers_answer(
    schemas: tuple[RegistrySchema, RegistrySchema, Any], database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """UPDATE score SET run_configuration = '{"effort": "high", "a": [1, 2]}'"""
        )
    finally:
        await conn.close()
    compiled_schema, plain, pool = schemas
    path = compiled_schema.fast_path
    assert path is not None
    jsonb = '{ model(slug: "gpt-5.5") { versions { scores { runConfiguration } } } }'
    for query in (jsonb, '{ model(slug: "gpt-5.5") { versions { scores { value } } } }'):
        text = await path.data(pool, query, {}, None)
        assert text is not None, query
        answer = text.encode() if isinstance(text, str) else text
        slow = await plain.execute(query, {}, _context(pool))
        assert answer == orjson.dumps(slow.data)
        assert (b'{"a":[1,2],"effort":"high"}' in answer) == (query == jsonb)


async def test_a_float_postgresql_writes_with_an_exponent_is_sent_as_the_resolvers_send_it(
    schemas: tuple[RegistrySchema, RegistrySchema, Any], database_url: str
) -> None:
    # PostgreSQL writes 0.00001 as `1e-05`, orjson (the resolvers' encoder) as `0.00001`.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE score SET uncertainty = 0.00001 WHERE value = 61.4")
    finally:
        await conn.close()
    query = '{ model(slug: "claude-opus-4.8") { versions { scores { value uncertainty } } } }'
    compiled_schema, plain, pool = schemas
    assert compiled_schema.fast_path is not None
    text = await compiled_schema.fast_path.data(pool, query, {}, None)
    assert text is not None, "fell back"
    slow = await plain.execute(query, {}, _context(pool))
    sent = text.encode() if isinstance(text, str) else text
    assert sent == _bytes(slow)


def _floats(count: int) -> list[float]:
    """Any bit pattern, everyday values at a few decimals, and every magnitude, both signs."""
    rng = random.Random(20261130)
    found: list[float] = []
    while len(found) < count:
        kind = rng.random()
        if kind < 0.3:
            value = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        elif kind < 0.6:
            value = round(rng.uniform(0, 100), rng.randint(0, 4))
        else:
            value = rng.uniform(-1, 1) * 10 ** rng.randint(-9, 18)
        if value == value and abs(value) != float("inf"):
            found.append(value)
    return found


def _numerics(floats: list[float]) -> list[str]:
    """Numeric texts as a score may hold: each float's shortest digits (what a GraphQL Float
    writes), the same padded with zeros (as an import may write them), and decimals with more
    digits than a float8 keeps, some a hair off an integer."""
    rng = random.Random(20261201)
    found = [repr(value) for value in floats]
    found += [f"{value:.{rng.randint(1, 9)}f}" for value in floats if abs(value) < 1e6]
    for _ in range(len(floats) // 4):
        whole = rng.randint(-(10 ** rng.randint(0, 17)), 10 ** rng.randint(0, 17))
        fraction = rng.choice(["0" * rng.randint(14, 20) + "1", str(rng.getrandbits(70))])
        found.append(f"{whole}.{fraction}")
    return found


async def test_postgresql_writes_an_unmarked_float_as_orjson_does(
    database_url: str,
) -> None:
    """Why the compiled path re-encodes an answer holding a Float only when a value in it is
    marked (service.graphql.compiler.rules.Reencode): otherwise the bytes are the same as the
    resolvers' (asyncpg's Decimal as a float, written by orjson), and a marked one is after
    re-encoding."""
    values = _numerics(_floats(20_000))
    rule = RULES["Score"]["value"]
    assert isinstance(rule, Scalar) and rule.text
    written = rule.sql.format(t="x").replace("x.value", "x")
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(f"SELECT {written}, x FROM unnest($1::numeric[]) AS x", values)
    finally:
        await conn.close()
    marked = 0
    for text, held in rows:  # held: the numeric as the resolvers read it (a Decimal)
        if text.startswith(MARK):
            marked += 1
            text = orjson.dumps(orjson.loads(text.removeprefix(MARK))).decode()
        assert MARK not in text
        assert text == orjson.dumps(float(held)).decode(), held
    assert 0 < marked < len(values)  # both kinds, each held to orjson
