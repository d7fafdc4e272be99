"""Catalog root fields through /graphql: connections, filters, node ids, external ids."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.conftest import Api

LABS_PAGE = """
query ($first: Int, $after: String, $last: Int, $before: String) {
  labs(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    nodes { slug }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
ALL_LABS = sorted(
    [
        "alibaba-qwen", "anthropic", "cohere", "google", "lg-ai-research", "mistral-ai",
        "moonshot-ai", "naver-cloud", "nc-ai", "openai", "sk-telecom", "upstage",
    ]
)  # fmt: skip


def _slugs(connection: dict[str, Any]) -> list[str]:
    return [node["slug"] for node in connection["nodes"]]


async def test_first_page_then_the_next_then_the_last(api: Api) -> None:
    first = (await api.data(LABS_PAGE, first=5))["labs"]
    assert first["totalCount"] == 12
    assert _slugs(first) == ALL_LABS[:5]
    assert (first["pageInfo"]["hasNextPage"], first["pageInfo"]["hasPreviousPage"]) == (True, False)

    second = (await api.data(LABS_PAGE, first=5, after=first["pageInfo"]["endCursor"]))["labs"]
    assert _slugs(second) == ALL_LABS[5:10]
    assert second["pageInfo"]["hasPreviousPage"] is True

    last = (await api.data(LABS_PAGE, last=3))["labs"]
    assert _slugs(last) == ALL_LABS[-3:]
    assert (last["pageInfo"]["hasNextPage"], last["pageInfo"]["hasPreviousPage"]) == (False, True)

    before = (await api.data(LABS_PAGE, last=2, before=last["pageInfo"]["startCursor"]))["labs"]
    assert _slugs(before) == ALL_LABS[-5:-3]


async def test_an_empty_page_still_counts(api: Api) -> None:
    last = (await api.data(LABS_PAGE, last=1))["labs"]
    beyond = (await api.data(LABS_PAGE, first=5, after=last["pageInfo"]["endCursor"]))["labs"]
    assert beyond["nodes"] == []
    assert beyond["totalCount"] == 12
    assert beyond["pageInfo"]["hasNextPage"] is False
    assert beyond["pageInfo"]["endCursor"] is None
    nothing = (await api.data(LABS_PAGE, first=0))["labs"]
    assert (nothing["nodes"], nothing["totalCount"]) == ([], 12)


async def test_a_page_that_reaches_either_end_of_the_list_says_nothing_lies_past_it(
    api: Api,
) -> None:
    for size in ({"first": 12}, {"last": 12}):
        whole = (await api.data(LABS_PAGE, **size))["labs"]
        assert _slugs(whole) == ALL_LABS
        info = whole["pageInfo"]
        assert (info["hasNextPage"], info["hasPreviousPage"]) == (False, False), size


async def test_an_empty_list_asked_for_no_rows_has_nothing_either_side(api: Api) -> None:
    query = """
    query ($first: Int, $last: Int) {
      labs(filter: {country: "BR"}, first: $first, last: $last) {
        totalCount nodes { slug } pageInfo { hasNextPage hasPreviousPage } } }
    """
    for size in ({"first": 0}, {"last": 0}, {"first": 1}):
        labs = (await api.data(query, **size))["labs"]
        assert (labs["totalCount"], labs["nodes"]) == (0, []), size
        info = labs["pageInfo"]
        assert (info["hasNextPage"], info["hasPreviousPage"]) == (False, False), size


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"first": 101}, "OUT_OF_RANGE", "first"),
        ({"last": 101}, "OUT_OF_RANGE", "last"),
        ({"first": -1}, "OUT_OF_RANGE", "first"),
        ({"first": 1, "last": 1}, "INVALID", "last"),
        ({"after": "not-a-cursor"}, "INVALID", "after"),
    ],
)
async def test_bad_page_arguments_are_refused(
    api: Api, variables: dict[str, Any], code: str, field: str
) -> None:
    body = await api.graphql(LABS_PAGE, **variables)
    [error] = body["errors"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["field"] == field


async def test_labs_filter_by_country_and_name_and_order(api: Api) -> None:
    query = """
    { korean: labs(filter: {country: "kr"}, orderBy: {field: NAME, direction: DESC}) {
        nodes { slug } }
      named: labs(filter: {search: "cohere"}) { nodes { slug } }
      atThreshold: labs(filter: {search: "opik"}) { nodes { slug } } }
    """
    data = await api.data(query)
    assert _slugs(data["korean"]) == [
        "upstage",
        "sk-telecom",
        "naver-cloud",
        "nc-ai",
        "lg-ai-research",
    ]
    assert _slugs(data["named"]) == ["cohere"]
    # "opik" shares 2 of 5 trigrams with "OpenAI": a similarity of exactly 0.4, the lowest kept.
    assert _slugs(data["atThreshold"]) == ["openai"]


async def test_an_unknown_country_code_is_invalid(api: Api) -> None:
    body = await api.graphql('{ labs(filter: {country: "XX"}) { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "INVALID"


async def test_models_filters(api: Api) -> None:
    query = """
    { open: models(filter: {openWeights: true}, orderBy: {field: PARAMETERS, direction: DESC}) {
        nodes { slug } }
      solar: models(filter: {family: "solar", lab: "upstage"}) { totalCount }
      previews: models(filter: {stage: PREVIEW}) { nodes { slug } }
      french: models(filter: {country: "FR"}) { nodes { slug } }
      big: models(filter: {minParameters: 10000000000}) { nodes { slug } }
      small: models(filter: {maxParameters: 8000000000}) { nodes { slug } }
      gpu: models(filter: {hardware: "gpu"}) { nodes { slug } }
      fits24: models(filter: {fitsMemoryGb: 24}) { nodes { slug } }
      fits16: models(filter: {fitsMemoryGb: 16}) { nodes { slug } }
      exactly: models(filter: {minParameters: 10700000000, maxParameters: 10700000000}) {
        nodes { slug } } }
    """
    data = await api.data(query)
    # Parameter counts are known for two open models; the third has none and sorts last.
    assert _slugs(data["open"]) == ["solar-10.7b", "mistral-7b", "mistral-medium-3.5"]
    assert data["solar"]["totalCount"] == 5
    assert _slugs(data["previews"]) == ["gemini-3.1-pro", "solar-next"]
    assert _slugs(data["french"]) == ["mistral-7b", "mistral-medium-3.5"]
    assert _slugs(data["big"]) == ["solar-10.7b"]
    assert _slugs(data["small"]) == ["mistral-7b"]
    assert _slugs(data["gpu"]) == ["solar-pro"]
    # bf16 weights: 10.7B x 2 bytes = 21.4 GB, 7.3B x 2 = 14.6 GB.
    assert _slugs(data["fits24"]) == ["mistral-7b", "solar-10.7b"]
    assert _slugs(data["fits16"]) == ["mistral-7b"]
    # The bounds are inclusive: a count equal to both is within them.
    assert _slugs(data["exactly"]) == ["solar-10.7b"]


async def test_a_model_needing_exactly_the_memory_given_fits(api: Api, database_url: str) -> None:
    # Solar Pro states a single GPU and no parameter count: made 2 x 40 GB, only its stated
    # target can fit; Solar Pro 2 made 40B parameters: 80 GB of bf16 weights, derived.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            UPDATE hardware_target SET memory_gb = 40, accelerator_count = 2
            WHERE version_id IN (SELECT v.id FROM model_version AS v
                                 JOIN model ON model.id = v.model_id
                                 WHERE model.slug = 'solar-pro')
            """
        )
        await conn.execute(
            """
            UPDATE model_version SET total_parameters = 40000000000
            WHERE model_id = (SELECT id FROM model WHERE slug = 'solar-pro-2')
            """
        )
    finally:
        await conn.close()
    query = """
    { at: models(filter: {fitsMemoryGb: 80}) { nodes { slug } }
      under: models(filter: {fitsMemoryGb: 79}) { nodes { slug } } }
    """
    data = await api.data(query)
    assert {"solar-pro", "solar-pro-2"} <= set(_slugs(data["at"]))
    assert {"solar-pro", "solar-pro-2"}.isdisjoint(_slugs(data["under"]))


async def test_memory_fit_says_whether_it_is_stated_or_derived(api: Api) -> None:
    query = """
    { version(model: "solar-10.7b", label: "release") {
        bf16: memoryFit(memoryGb: 16) { fits basis requiredGb }
        int8: memoryFit(memoryGb: 16, precision: INT8) { fits basis requiredGb } }
      unknown: version(model: "gpt-5.5", label: "release") { memoryFit(memoryGb: 80) { fits } } }
    """
    data = await api.data(query)
    assert data["version"]["bf16"] == {"fits": False, "basis": "DERIVED", "requiredGb": 21.4}
    assert data["version"]["int8"] == {"fits": True, "basis": "DERIVED", "requiredGb": 10.7}
    assert data["unknown"]["memoryFit"] is None


async def test_a_preview_promoted_to_a_final_keeps_its_scores(api: Api) -> None:
    query = """
    { version(model: "solar-next", label: "final") {
        stage scores { value }
        promotedFrom { label isPreview scores { value provenance } promotedTo { label } }
        model { latestFinalVersion { label } } } }
    """
    version = (await api.data(query))["version"]
    assert version["stage"] == "FINAL"
    assert version["scores"] == []
    assert version["promotedFrom"]["isPreview"] is True
    assert version["promotedFrom"]["scores"] == [{"value": 40, "provenance": "LAB_CLAIM"}]
    assert version["promotedFrom"]["promotedTo"] == {"label": "final"}
    assert version["model"]["latestFinalVersion"] == {"label": "final"}


async def test_benchmarks_and_programmes(api: Api) -> None:
    query = """
    { benchmarks { totalCount nodes { slug isIndex isIndependent scaleMax
        versions { label effectiveOn benchmark { slug } } } }
      program(slug: "korea-sovereign-ai") {
        sponsor country { code name }
        participants { lab { slug } status before: status(asOf: "2026-01-01") } }
      benchmark(slug: "aa-intelligence-index") { slug isIndex } }
    """
    data = await api.data(query)
    assert data["benchmark"] == {"slug": "aa-intelligence-index", "isIndex": True}
    [index] = data["benchmarks"]["nodes"]
    assert (index["slug"], index["isIndex"], index["isIndependent"]) == (
        "aa-intelligence-index",
        True,
        True,
    )
    statuses = {
        p["lab"]["slug"]: (p["before"], p["status"]) for p in data["program"]["participants"]
    }
    assert statuses == {
        "naver-cloud": ("SELECTED", "ELIMINATED"),
        "lg-ai-research": ("SELECTED", "ACTIVE"),
        "sk-telecom": ("SELECTED", "ACTIVE"),
        "nc-ai": ("SELECTED", "ELIMINATED"),
        "upstage": ("SELECTED", "ACTIVE"),
    }
    assert data["program"]["country"] == {"code": "KR", "name": "South Korea"}


async def test_node_finds_any_object_by_its_id_and_ids_survive_renames(
    api: Api, database_url: str
) -> None:
    ids = await api.data(
        '{ lab(slug: "upstage") { id } model(slug: "solar-pro-3") { id versions { id } } }'
    )
    lab_id, model_id = ids["lab"]["id"], ids["model"]["id"]
    version_id = ids["model"]["versions"][0]["id"]

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE lab SET slug = 'upstage-ai', name = 'Upstage AI' WHERE slug = 'upstage'"
        )
    finally:
        await conn.close()

    query = """
    query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id
        ... on Lab { slug } ... on Model { slug } ... on Version { label } } }
    """
    data = await api.data(query, ids=[lab_id, model_id, version_id, "bm9wZTox", "garbage"])
    assert data["nodes"] == [
        {"__typename": "Lab", "id": lab_id, "slug": "upstage-ai"},
        {"__typename": "Model", "id": model_id, "slug": "solar-pro-3"},
        {"__typename": "Version", "id": version_id, "label": "release"},
        None,
        None,
    ]


async def test_another_registry_s_id_resolves_to_ours(api: Api) -> None:
    query = """
    { hf: resolveExternalId(system: HUGGING_FACE, id: "upstage/SOLAR-10.7B-v1.0") {
        __typename ... on Model { slug externalIds { system externalKey } } }
      unknown: resolveExternalId(system: OPENROUTER, id: "upstage/solar") { id } }
    """
    data = await api.data(query)
    assert data["hf"]["slug"] == "solar-10.7b"
    assert data["hf"]["externalIds"] == [
        {"system": "HUGGING_FACE", "externalKey": "upstage/SOLAR-10.7B-v1.0"}
    ]
    assert data["unknown"] is None


async def test_a_models_page_costs_the_same_statements_for_10_or_1000_models(
    api: Api, database_url: str
) -> None:
    # Nested lists name their page sizes, as the cost budget asks (service.graphql.limits).
    query = """
    { models(first: 100) { totalCount nodes { slug lab { slug country { code } }
        family { slug } parents { relation parent { slug } }
        versions(first: 5) { label scores(first: 5) { value } hardwareTargets { accelerator } }
    } } }
    """
    await api.data(query)
    api.queries.clear()
    await api.data(query)
    few = len(api.queries.statements)

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            WITH lab_row AS (SELECT id FROM lab WHERE slug = 'cohere'),
            new_model AS (
                INSERT INTO model (slug, name, lab_id)
                SELECT 'zz-bulk-' || n, 'Bulk ' || n, lab_row.id
                FROM generate_series(1, 1000) AS n, lab_row
                RETURNING id
            )
            INSERT INTO model_version (model_id, label, stage)
            SELECT id, 'release', 'FINAL' FROM new_model
            """
        )
    finally:
        await conn.close()
    await api.data(query)
    api.queries.clear()
    data = await api.data(query)
    assert data["models"]["totalCount"] == 1013
    assert len(api.queries.statements) == few
    # models, labs, families, parent links, link parents, versions, scores, hardware
    assert few <= 8
