"""Real catalogs meet the registry: unknown countries, known Hugging Face orgs, duplicates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import orjson
import pytest

from service.db.pool import create_pool
from service.enums import Role
from service.graphql.context import Context
from service.graphql.schema import build_schema
from tests.conftest import Api
from tests.writing import Writer, demo_source, issue_token

RESOLVE = """
query Resolve($key: String!) {
  resolveExternalId(system: HUGGING_FACE, id: $key) { id ... on Lab { slug } }
}
"""
LAB_WARNINGS = (
    "lab { id slug country { code } } "
    "warnings { code field message existing { id ... on Lab { slug } } }"
)
MODEL_WARNINGS = (
    "model { id slug } warnings { code field message existing { id ... on Model { slug } } }"
)
RANKINGS = """
query Rankings($asOf: Date!) {
  leaderboard(benchmark: "aa-intelligence-index", asOf: $asOf, first: 3) {
    totalCount edges { node { rank model { id slug } lab { id slug } country { code } } }
  }
  countryRanking(benchmark: "aa-intelligence-index", asOf: $asOf) {
    totalCount labsLeftOut edges { node { rank country { code } } }
  }
  byCountry: thresholdCrossings(benchmark: "aa-intelligence-index", threshold: 40,
                                asOf: $asOf) {
    labsLeftOut crossings { order entry { country { code } } }
  }
  byLab: thresholdCrossings(benchmark: "aa-intelligence-index", threshold: 40, asOf: $asOf,
                            by: LAB) {
    labsLeftOut crossings { entry { lab { id slug } } }
  }
}
"""


@pytest.fixture
async def editor(api: Api, database_url: str) -> AsyncIterator[Writer]:
    yield Writer(api, await issue_token(database_url, "import-bot", Role.EDITOR))


def _found(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (warning["code"], warning["field"], warning["existing"]["slug"])
        for warning in payload["warnings"]
    ]


@pytest.mark.parametrize(
    ("org", "lab"),
    [
        ("upstage", "upstage"),
        ("Qwen", "alibaba-qwen"),
        ("moonshotai", "moonshot-ai"),
        ("mistralai", "mistral-ai"),
        ("CohereLabs", "cohere"),
        ("CohereForAI", "cohere"),
        ("google", "google"),
        ("openai", "openai"),
        ("LGAI-EXAONE", "lg-ai-research"),
    ],
)
async def test_a_demo_labs_hugging_face_org_resolves_to_it(api: Api, org: str, lab: str) -> None:
    assert (await api.data(RESOLVE, key=org))["resolveExternalId"]["slug"] == lab


async def test_anthropic_has_no_hugging_face_org_recorded(api: Api) -> None:
    data = await api.data('{ lab(slug: "anthropic") { id externalIds { id system } } }')
    assert data["lab"]["externalIds"] == []


async def test_a_lab_whose_country_is_unknown_can_be_created(editor: Writer) -> None:
    created = await editor.ok(
        "createLab", "CreateLabInput", LAB_WARNINGS, {"slug": "deepseek-ai", "name": "DeepSeek"}
    )
    assert created["lab"]["country"] is None
    assert created["warnings"] == []
    listed = await editor.api.data(
        '{ all: labs(first: 100) { totalCount } kr: labs(filter: {country: "KR"}) { totalCount } }'
    )
    assert (listed["all"]["totalCount"], listed["kr"]["totalCount"]) == (13, 5)


async def test_a_probable_duplicate_is_written_and_reported(editor: Writer) -> None:
    qwen = await editor.ok(
        "createLab", "CreateLabInput", LAB_WARNINGS, {"slug": "qwen", "name": "Qwen"}
    )
    assert qwen["lab"]["slug"] == "qwen"
    assert _found(qwen) == [("KNOWN_EXTERNAL_ID", "slug", "alibaba-qwen")]
    assert "HUGGING_FACE 'Qwen' already names lab 'alibaba-qwen'" in qwen["warnings"][0]["message"]

    await editor.ok(
        "createLab", "CreateLabInput", "lab { id }", {"slug": "deepseek-ai", "name": "DeepSeek"}
    )
    deepseek = await editor.ok(
        "createLab", "CreateLabInput", LAB_WARNINGS, {"slug": "deepseek", "name": "DeepSeek AI"}
    )
    assert _found(deepseek) == [("SIMILAR_NAME", "name", "deepseek-ai")]
    mistral = await editor.ok(
        "createLab", "CreateLabInput", LAB_WARNINGS, {"slug": "mistral", "name": "Mistral"}
    )
    assert _found(mistral) == [("SIMILAR_NAME", "name", "mistral-ai")]
    unrelated = await editor.ok(
        "createLab", "CreateLabInput", LAB_WARNINGS, {"slug": "sakana-ai", "name": "Sakana AI"}
    )
    assert unrelated["warnings"] == []


async def test_a_model_under_another_registrys_known_name_is_reported(editor: Writer) -> None:
    repo = await editor.ok(
        "createModel",
        "CreateModelInput",
        MODEL_WARNINGS,
        {"slug": "solar-10.7b-v1.0", "name": "SOLAR-10.7B-v1.0", "lab": "upstage"},
    )
    assert _found(repo) == [("KNOWN_EXTERNAL_ID", "slug", "solar-10.7b")]
    spelled = await editor.ok(
        "createModel",
        "CreateModelInput",
        MODEL_WARNINGS,
        {"slug": "mistral-medium-3-5", "name": "Mistral Medium 3.5", "lab": "mistral-ai"},
    )
    assert _found(spelled) == [("SIMILAR_NAME", "name", "mistral-medium-3.5")]
    # Model lines nest by name: the next in the line is not a duplicate of the last.
    successor = await editor.ok(
        "createModel",
        "CreateModelInput",
        MODEL_WARNINGS,
        {"slug": "solar-pro-4", "name": "Solar Pro 4", "lab": "upstage"},
    )
    assert successor["warnings"] == []


async def _zeta_leads(editor: Writer) -> None:
    """A lab with no known country, whose model leads the index from 2026-06-01."""
    await editor.ok("createLab", "CreateLabInput", "lab { id }", {"slug": "zeta", "name": "Zeta"})
    await editor.ok(
        "createModel",
        "CreateModelInput",
        "model { id }",
        {"slug": "z1", "name": "Z1", "lab": "zeta"},
    )
    await editor.ok(
        "createVersion",
        "CreateVersionInput",
        "version { id }",
        {"model": "z1", "label": "release", "stage": "FINAL"},
    )
    await editor.ok(
        "recordScore",
        "RecordScoreInput",
        "score { id }",
        {
            "model": "z1",
            "version": "release",
            "benchmark": "aa-intelligence-index",
            "value": 65,
            "measuredOn": "2026-06-01",
            "provenance": "INDEPENDENT",
            "source": demo_source("aa-leaderboard"),
        },
    )


async def test_rankings_leave_out_labs_without_a_country_and_say_how_many(
    editor: Writer,
) -> None:
    await _zeta_leads(editor)
    data = await editor.api.data(RANKINGS, asOf="2026-06-01")
    leader = data["leaderboard"]["edges"][0]["node"]
    assert (leader["model"]["slug"], leader["country"]) == ("z1", None)
    assert data["leaderboard"]["totalCount"] == 9
    ranking = data["countryRanking"]
    assert [e["node"]["country"]["code"] for e in ranking["edges"]] == [
        "US",
        "CN",
        "KR",
        "FR",
        "CA",
    ]
    assert (ranking["totalCount"], ranking["labsLeftOut"]) == (5, 1)
    by_country = data["byCountry"]
    assert [c["entry"]["country"]["code"] for c in by_country["crossings"]] == ["US", "CN", "KR"]
    assert by_country["labsLeftOut"] == 1
    assert "zeta" in {c["entry"]["lab"]["slug"] for c in data["byLab"]["crossings"]}
    assert data["byLab"]["labsLeftOut"] == 0
    before = await editor.api.data(RANKINGS, asOf="2026-05-31")
    assert before["countryRanking"]["labsLeftOut"] == 0


LEADERBOARD_PAGE = """
query Page($after: String) {
  leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-06-01", first: 2, after: $after) {
    edges { node { rank model { id slug } } }
    pageInfo { endCursor hasPreviousPage }
  }
}
"""


async def test_a_leaderboard_page_after_a_lab_without_a_country_starts_past_it(
    editor: Writer,
) -> None:
    await _zeta_leads(editor)
    first = (await editor.api.data(LEADERBOARD_PAGE))["leaderboard"]
    assert [e["node"]["rank"] for e in first["edges"]] == [1, 2]
    assert first["edges"][0]["node"]["model"]["slug"] == "z1"
    cursor = first["pageInfo"]["endCursor"]
    second = (await editor.api.data(LEADERBOARD_PAGE, after=cursor))["leaderboard"]
    assert [e["node"]["rank"] for e in second["edges"]] == [3, 4]
    seen = {e["node"]["model"]["slug"] for e in first["edges"]}
    assert seen.isdisjoint(e["node"]["model"]["slug"] for e in second["edges"])
    assert second["pageInfo"]["hasPreviousPage"] is True


async def test_a_known_country_can_be_cleared(editor: Writer) -> None:
    lab = await editor.api.data('{ lab(slug: "cohere") { id revision } }')
    cleared = await editor.ok(
        "updateLab",
        "UpdateLabInput",
        "lab { id country { code } }",
        {"slug": "cohere", "expectedRevision": lab["lab"]["revision"], "country": None},
    )
    assert cleared["lab"]["country"] is None
    data = await editor.api.data(RANKINGS, asOf="2026-05-30")
    assert "CA" not in [e["node"]["country"]["code"] for e in data["countryRanking"]["edges"]]
    assert data["countryRanking"]["labsLeftOut"] == 1


COMPILED_ROOTS = """
{
  lab(slug: "zeta") { id slug country { code name } models { id slug } }
  leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-06-01", first: 2) {
    edges { node { rank model { id slug } lab { id country { code } } country { code } } }
  }
}
"""


async def test_the_compiled_path_answers_alike_for_a_lab_without_a_country(
    editor: Writer, database_url: str
) -> None:
    await test_rankings_leave_out_labs_without_a_country_and_say_how_many(editor)
    compiled_schema, plain_schema = build_schema(compiled=True), build_schema(compiled=False)
    assert compiled_schema.fast_path is not None
    assert compiled_schema.fast_path.compiled(COMPILED_ROOTS, None) is not None, "not compiled"
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        context = Context(
            request=cast(Any, None), response=cast(Any, None), pool=pool, request_id="t"
        )
        compiled = await compiled_schema.fast_path.data(pool, COMPILED_ROOTS, None, None)
        plain = await plain_schema.execute(COMPILED_ROOTS, None, context)
    finally:
        await pool.close()
    assert plain.errors is None
    # The compiled answer is the JSON text the response carries: the same bytes.
    assert compiled is not None
    assert orjson.dumps(orjson.Fragment(compiled)) == orjson.dumps(plain.data)
    assert plain.data is not None
    assert plain.data["lab"]["country"] is None
    leader = plain.data["leaderboard"]["edges"][0]["node"]
    assert (leader["model"]["slug"], leader["country"], leader["lab"]["country"]) == (
        "z1",
        None,
        None,
    )


async def test_of_two_similar_labs_the_more_alike_is_warned_of_first(editor: Writer) -> None:
    # deepseek-x resembles "deepseek" by its name (likeness 1), deepseek-ai by its slug only
    # (0.75): the closer one first, though its slug sorts after.
    for slug, name in (("deepseek-x", "DeepSeek AI"), ("deepseek-ai", "DS")):
        await editor.ok("createLab", "CreateLabInput", "lab { id }", {"slug": slug, "name": name})
    created = await editor.ok(
        "createLab", "CreateLabInput", LAB_WARNINGS, {"slug": "deepseek", "name": "DeepSeek"}
    )
    assert _found(created) == [
        ("SIMILAR_NAME", "name", "deepseek-x"),
        ("SIMILAR_NAME", "slug", "deepseek-ai"),
    ]
