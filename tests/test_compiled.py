"""The compiled path answers exactly what per-field execution answers.

Every document runs through a schema with the compiler and one without; data and errors
must be identical. Documents the compiler covers must actually take it (or this test
would pass by falling back), and the rest must fall back rather than fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import asyncpg
import pytest

from service.db.pool import create_pool
from service.graphql.context import Context
from service.graphql.schema import RegistrySchema, build_schema

LEADERBOARD = """
query Board($asOf: Date, $first: Int! = 20, $after: String, $provenance: [Provenance!],
            $stages: [VersionStage!], $countries: [String!], $version: String) {
  leaderboard(benchmark: "aa-intelligence-index", asOf: $asOf, first: $first, after: $after,
              provenance: $provenance, stages: $stages, countries: $countries,
              benchmarkVersion: $version) {
    __typename asOf totalCount
    benchmarkVersion { id label effectiveOn benchmarkSlug benchmarkName }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      rank
      score { id value qualifier uncertainty runConfiguration measuredOn provenance
              verification superseded note source { id url title publisher publishedOn kind }
              benchmarkVersion { label } }
      version { id label stage isPreview announcedOn totalParameters activeParameters
                released { date precision } planned { date precision } }
      model { id slug name modality openWeights license trainingOrigin description }
      lab { id slug name foundedYear headquarters website description country { code name } }
      country { code name }
    } }
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
COMPILED: list[tuple[str, dict[str, Any]]] = [
    (LEADERBOARD, {"asOf": "2026-05-30"}),
    (LEADERBOARD, {"asOf": "2026-05-30", "first": 3}),
    (LEADERBOARD, {"asOf": "2026-05-30", "first": 3, "after": "UG9zaXRpb246Mw"}),
    (LEADERBOARD, {"asOf": "2026-05-30", "first": 5, "after": "UG9zaXRpb246OA"}),
    (LEADERBOARD, {"asOf": "2026-05-30", "first": 0}),
    (LEADERBOARD, {"asOf": "2026-05-30", "provenance": ["INDEPENDENT"]}),
    (LEADERBOARD, {"asOf": "2026-05-30", "stages": ["PREVIEW"]}),
    (LEADERBOARD, {"asOf": "2026-05-30", "countries": ["kr", "FR"]}),
    (LEADERBOARD, {"asOf": "2026-05-30", "version": "as reported 2026-05-30"}),
    (LEADERBOARD, {"asOf": "2027-01-01"}),
    (LEADERBOARD, {}),
    (MODEL_PAGE, {"slug": "solar-next"}),
    (MODEL_PAGE, {"slug": "solar-10.7b"}),
    (MODEL_PAGE, {"slug": "solar-pro"}),
    (MODEL_PAGE, {"slug": "gemini-3.1-pro"}),
    (MODEL_PAGE, {"slug": "no-such-model"}),
    ('{ lab(slug: "upstage") { __typename name models { slug versions { label } } } }', {}),
    ('{ a: lab(slug: "cohere") { n: name } b: model(slug: "gpt-5.5") { s: slug } }', {}),
    ("{ __typename }", {}),
    (
        '{ model(slug: "solar-pro-3") { ... on Model { slug lab { ... on Lab { name } } } } }',
        {},
    ),
]
# Covered root fields whose arguments or selections the compiler leaves to graphql-core.
FALLBACK: list[tuple[str, dict[str, Any]]] = [
    (LEADERBOARD, {"asOf": "2026-05-30", "first": 101}),  # OUT_OF_RANGE
    (LEADERBOARD, {"asOf": "2026-05-30", "after": "bogus"}),  # INVALID cursor
    (LEADERBOARD, {"asOf": "2026-05-01"}),  # NOT_FOUND: no method version yet
    (LEADERBOARD, {"asOf": "2026-05-30", "version": "v99"}),  # NOT_FOUND
    (LEADERBOARD, {"asOf": "not-a-date"}),  # a variable that does not coerce
    ('{ model(slug: "solar-pro") { versions { memoryFit(memoryGb: 80) { fits } } } }', {}),
    ('{ model(slug: "solar-pro") @include(if: true) { slug } }', {}),
    ('{ model(slug: "solar-pro") { slug } labs { totalCount } }', {}),
    ('{ model(slug: "solar-pro") { slug slug } }', {}),
    ("{ model(slug: 12) { slug } }", {}),  # invalid: graphql-core reports it
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


def _errors(result: Any) -> list[tuple[str, Any]] | None:
    if not result.errors:
        return None
    return [(error.message, error.extensions) for error in result.errors]


@pytest.mark.parametrize(("query", "variables"), COMPILED)
async def test_compiled_documents_answer_like_execution(
    schemas: tuple[RegistrySchema, RegistrySchema, Any], query: str, variables: dict[str, Any]
) -> None:
    compiled_schema, _, pool = schemas
    assert compiled_schema.fast_path is not None
    assert compiled_schema.fast_path.compiled(query, None) is not None, "not compiled"
    assert await compiled_schema.fast_path.data(pool, query, variables, None) is not None
    fast, slow = await _both(schemas, query, variables)
    assert _errors(slow) is None
    assert fast.data == slow.data


@pytest.mark.parametrize(("query", "variables"), FALLBACK)
async def test_other_documents_fall_back_with_the_same_answer(
    schemas: tuple[RegistrySchema, RegistrySchema, Any], query: str, variables: dict[str, Any]
) -> None:
    compiled_schema, _, pool = schemas
    assert compiled_schema.fast_path is not None
    assert await compiled_schema.fast_path.data(pool, query, variables, None) is None
    fast, slow = await _both(schemas, query, variables)
    assert fast.data == slow.data
    assert _errors(fast) == _errors(slow)


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
    compiled_schema, _, _ = schemas
    assert compiled_schema.fast_path is not None
    assert compiled_schema.fast_path.compiled(query, None) is not None
    fast, slow = await _both(schemas, query, {})
    assert _errors(slow) is None
    assert fast.data == slow.data
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
        assert fast.data == slow.data
    fast, slow = await _both(schemas, MODEL_PAGE, {"slug": "gpt-5.5"})
    assert fast.data == slow.data
