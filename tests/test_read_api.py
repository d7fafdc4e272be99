"""The first read surface, through /graphql, on the demo data."""

from __future__ import annotations

import asyncpg

from service.config import Settings
from tests.conftest import Api, running_api

MODEL_PAGE = """
query ($slug: String!) {
  model(slug: $slug) {
    slug name openWeights license trainingOrigin
    lab { slug country { code name } }
    family { slug }
    versions {
      label stage isPreview totalParameters
      released { date precision }
      planned { date precision }
      hardwareTargets { accelerator acceleratorCount }
      scores {
        value qualifier provenance verification measuredOn superseded
        benchmarkVersion { benchmarkSlug label }
        source { title kind url }
      }
    }
  }
}
"""


async def test_labs_lists_every_demo_lab_with_its_country(api: Api) -> None:
    data = await api.data("{ labs(first: 100) { totalCount nodes { slug country { code } } } }")
    assert data["labs"]["totalCount"] == 12
    countries = {lab["slug"]: lab["country"]["code"] for lab in data["labs"]["nodes"]}
    assert countries["upstage"] == "KR"
    assert countries["anthropic"] == "US"
    assert countries["mistral-ai"] == "FR"
    assert countries["cohere"] == "CA"
    assert list(countries) == sorted(countries)


async def test_labs_refuses_a_page_over_the_cap(api: Api) -> None:
    body = await api.graphql("{ labs(first: 101) { nodes { slug } } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"


async def test_lab_by_slug_has_its_models(api: Api) -> None:
    data = await api.data(
        '{ lab(slug: "upstage") { name foundedYear headquarters models { slug } } }'
    )
    lab = data["lab"]
    assert (lab["name"], lab["foundedYear"], lab["headquarters"]) == ("Upstage", 2020, "Seoul")
    assert [m["slug"] for m in lab["models"]] == [
        "solar-10.7b",
        "solar-next",
        "solar-pro",
        "solar-pro-2",
        "solar-pro-3",
    ]


async def test_unknown_slugs_answer_null(api: Api) -> None:
    data = await api.data('{ lab(slug: "nobody") { name } model(slug: "nothing") { name } }')
    assert data == {"lab": None, "model": None}


async def test_preview_keeps_the_lab_claim_and_the_final_is_planned(api: Api) -> None:
    data = await api.data(MODEL_PAGE, slug="solar-next")
    model = data["model"]
    assert model["trainingOrigin"] == "FROM_SCRATCH"
    preview, final = model["versions"]
    assert (preview["label"], preview["stage"], preview["isPreview"]) == (
        "preview",
        "PREVIEW",
        True,
    )
    [claim] = preview["scores"]
    assert claim["value"] == 40
    assert claim["qualifier"] == "AT_LEAST"
    assert (claim["provenance"], claim["verification"]) == ("LAB_CLAIM", "UNVERIFIED")
    assert claim["source"]["kind"] == "ANNOUNCEMENT"
    assert final["stage"] == "FINAL"
    assert final["scores"] == []
    assert final["released"] is None
    assert final["planned"] == {"date": "2026-06-30", "precision": "MONTH"}


async def test_unknown_facts_stay_empty(api: Api) -> None:
    data = await api.data(MODEL_PAGE, slug="qwen-flagship")
    [version] = data["model"]["versions"]
    assert version["totalParameters"] is None
    [score] = version["scores"]
    assert (score["value"], score["qualifier"]) == (50, "AT_LEAST")


async def test_solar_10_7b_has_its_parameter_count_beyond_32_bits(api: Api) -> None:
    data = await api.data(MODEL_PAGE, slug="solar-10.7b")
    model = data["model"]
    assert (model["openWeights"], model["license"]) == (True, "Apache-2.0")
    [version] = model["versions"]
    assert version["totalParameters"] == 10_700_000_000
    assert version["released"] == {"date": "2023-12-31", "precision": "MONTH"}


async def test_solar_pro_targets_a_single_gpu(api: Api) -> None:
    data = await api.data(MODEL_PAGE, slug="solar-pro")
    [version] = data["model"]["versions"]
    assert version["hardwareTargets"] == [{"accelerator": "GPU", "acceleratorCount": 1}]


async def test_sql_statements_do_not_grow_with_rows(api: Api, database_url: str) -> None:
    query = """
    { labs(first: 100) { nodes { slug models(first: 5) { slug lab { slug } family { slug }
      versions(first: 5) { label hardwareTargets { accelerator }
        scores(first: 5) { value source { title } benchmarkVersion { label } } } } } } }
    """
    await api.data(query)  # warm: asyncpg introspects enum types once per connection
    api.queries.clear()
    await api.data(query)
    before = len(api.queries.statements)

    conn = await asyncpg.connect(database_url)
    try:
        await _add_labs_with_models(conn, count=40)
    finally:
        await conn.close()
    await api.data(query)
    api.queries.clear()
    data = await api.data(query)
    assert len(data["labs"]["nodes"]) == 52
    assert len(api.queries.statements) == before
    # One statement per level and relation: labs, models, lab, family, versions,
    # hardware, scores, sources, benchmark versions.
    assert before == 9


async def _add_labs_with_models(conn: asyncpg.Connection, count: int) -> None:
    await conn.execute(
        """
        WITH new_lab AS (
            INSERT INTO lab (slug, name, country_code)
            SELECT 'bulk-lab-' || n, 'Bulk lab ' || n, 'DE' FROM generate_series(1, $1) AS n
            RETURNING id, slug
        ), new_model AS (
            INSERT INTO model (slug, name, lab_id)
            SELECT new_lab.slug || '-model', 'Bulk model', new_lab.id FROM new_lab
            RETURNING id
        )
        INSERT INTO model_version (model_id, label, stage)
        SELECT id, 'release', 'FINAL' FROM new_model
        """,
        count,
    )


async def test_an_unexpected_failure_is_masked_for_the_client(api: Api, database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("ALTER TABLE model_version RENAME TO model_version_gone")
    finally:
        await conn.close()
    body = await api.graphql('{ model(slug: "gpt-5.5") { versions { label } } }')
    [error] = body["errors"]
    assert error["message"] == "Internal server error."
    assert "model_version" not in str(body)
    assert "Traceback" not in str(body)


async def test_a_syntax_error_names_the_problem(api: Api) -> None:
    body = await api.graphql("{ labs { slug ")
    assert "Syntax Error" in body["errors"][0]["message"]


async def test_without_the_compiler_a_lab_and_a_models_lab_and_family_read_alike(
    database_url: str,
) -> None:
    # The resolvers' own path (the compiled one has its SQL): a lab by slug with its country,
    # and a model's lab and family, each the row asked for and no other.
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        response_cache=False,
        compiled_queries=False,
    )
    async with running_api(settings) as api:
        data = await api.data(
            '{ lab(slug: "upstage") { slug name country { code name } } '
            'model(slug: "solar-pro") { lab { slug country { code name } } family { slug } } }'
        )
    korea = {"code": "KR", "name": "South Korea"}
    assert data["lab"] == {"slug": "upstage", "name": "Upstage", "country": korea}
    assert data["model"] == {
        "lab": {"slug": "upstage", "country": korea},
        "family": {"slug": "solar"},
    }


async def test_without_the_compiler_a_models_scores_read_as_compiled(database_url: str) -> None:
    # The resolvers' DataLoaders (scores by version, verification histories by score) against
    # the compiled path's own SQL: the same scores, in the same order, with their histories.
    page = """versions(first: 5) { label scores(first: 10) { value measuredOn superseded
        verification verificationHistory { verification } } }"""
    # Three models in one request: one batch of versions, one of scores, one of histories.
    document = (
        "{ "
        + " ".join(
            f'{alias}: model(slug: "{slug}") {{ {page} }}'
            for alias, slug in (("a", "gpt-5.5"), ("b", "claude-opus-4.8"), ("c", "qwen-flagship"))
        )
        + " }"
    )
    answers = []
    for compiled in (True, False):
        settings = Settings(
            database_url=database_url,
            migrate_on_start=False,
            seed_demo=False,
            response_cache=False,
            compiled_queries=compiled,
        )
        async with running_api(settings) as api:
            answers.append(await api.data(document))
    assert answers[0] == answers[1]
    for alias in "abc":
        scores = [s for v in answers[1][alias]["versions"] for s in v["scores"]]
        assert len(scores) == 1 and scores[0]["verificationHistory"], alias
