"""Leaderboards and country rankings as of a date, on the demo data."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import asyncpg
import pytest

from service.enums import Role
from tests.conftest import Api
from tests.writing import Writer, demo_source, issue_token

LEADERBOARD = """
query ($asOf: Date, $provenance: [Provenance!], $first: Int! = 20, $after: String) {
  leaderboard(benchmark: "aa-intelligence-index", asOf: $asOf, provenance: $provenance,
              first: $first, after: $after) {
    asOf totalCount
    benchmarkVersion { label benchmarkSlug }
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node {
      rank country { code }
      model { slug } lab { slug }
      version { label stage }
      score { value qualifier provenance source { kind } }
    } }
  }
}
"""

COUNTRIES = """
query ($provenance: [Provenance!]) {
  countryRanking(benchmark: "aa-intelligence-index", asOf: "2026-05-30",
                 provenance: $provenance) {
    edges { node { rank country { code } entry { model { slug } score { value } } } }
  }
}
"""


def _ranks(board: dict[str, Any]) -> list[tuple[int, str, float]]:
    return [
        (edge["node"]["rank"], edge["node"]["model"]["slug"], edge["node"]["score"]["value"])
        for edge in board["edges"]
    ]


async def test_leaderboard_as_reported_on_2026_05_30(api: Api) -> None:
    data = await api.data(LEADERBOARD, asOf="2026-05-30")
    board = data["leaderboard"]
    assert board["totalCount"] == 8
    assert _ranks(board) == [
        (1, "claude-opus-4.8", 61.4),
        (2, "gpt-5.5", 60.2),
        (3, "gemini-3.1-pro", 57.2),
        (4, "qwen-flagship", 50),
        (4, "kimi-flagship", 50),
        (6, "solar-next", 40),
        (7, "mistral-medium-3.5", 39.2),
        (8, "command-a-plus", 37.2),
    ]
    solar = board["edges"][5]["node"]
    assert solar["version"] == {"label": "preview", "stage": "PREVIEW"}
    assert solar["score"]["qualifier"] == "AT_LEAST"
    assert solar["score"]["provenance"] == "LAB_CLAIM"
    assert solar["country"]["code"] == "KR"


async def test_country_ranking_counts_lab_claims_only_when_asked(api: Api) -> None:
    everything = await api.data(COUNTRIES)
    standings = [e["node"] for e in everything["countryRanking"]["edges"]]
    assert [s["country"]["code"] for s in standings[:3]] == ["US", "CN", "KR"]

    independent = await api.data(COUNTRIES, provenance=["INDEPENDENT"])
    past_40 = [
        e["node"]["country"]["code"]
        for e in independent["countryRanking"]["edges"]
        if e["node"]["entry"]["score"]["value"] >= 40
    ]
    assert past_40 == ["US", "CN"]


async def test_pages_follow_their_cursors(api: Api) -> None:
    first = (await api.data(LEADERBOARD, asOf="2026-05-30", first=3))["leaderboard"]
    assert [slug for _, slug, _ in _ranks(first)] == [
        "claude-opus-4.8",
        "gpt-5.5",
        "gemini-3.1-pro",
    ]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False

    rest = await api.data(
        LEADERBOARD, asOf="2026-05-30", first=10, after=first["pageInfo"]["endCursor"]
    )
    board = rest["leaderboard"]
    assert len(board["edges"]) == 5
    assert board["pageInfo"]["hasNextPage"] is False
    assert board["pageInfo"]["hasPreviousPage"] is True

    past_the_end = await api.data(
        LEADERBOARD, asOf="2026-05-30", after=board["pageInfo"]["endCursor"]
    )
    assert past_the_end["leaderboard"]["edges"] == []
    assert past_the_end["leaderboard"]["totalCount"] == 8


COUNTRY_PAGE = """
query ($first: Int, $after: String, $last: Int, $before: String) {
  countryRanking(benchmark: "aa-intelligence-index", asOf: "2026-05-30",
                 first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { rank country { code } } }
  }
}
"""


def _codes(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["country"]["code"] for edge in page["edges"]]


async def test_country_ranking_pages_follow_their_cursors(api: Api) -> None:
    whole = (await api.data(COUNTRY_PAGE, first=20))["countryRanking"]
    everyone = _codes(whole)
    assert everyone[:3] == ["US", "CN", "KR"] and len(everyone) == whole["totalCount"] > 4

    first = (await api.data(COUNTRY_PAGE, first=2))["countryRanking"]
    assert _codes(first) == everyone[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    second = (await api.data(COUNTRY_PAGE, first=2, after=first["pageInfo"]["endCursor"]))[
        "countryRanking"
    ]
    assert _codes(second) == everyone[2:4]
    assert [e["node"]["rank"] for e in second["edges"]] == [3, 4]
    assert second["pageInfo"]["hasPreviousPage"] is True

    back = (await api.data(COUNTRY_PAGE, last=2, before=second["pageInfo"]["startCursor"]))[
        "countryRanking"
    ]
    assert _codes(back) == everyone[:2]
    assert back["pageInfo"]["hasPreviousPage"] is False


async def test_a_page_over_the_cap_is_refused(api: Api) -> None:
    body = await api.graphql(LEADERBOARD, asOf="2026-05-30", first=101)
    assert body["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"


async def test_before_any_method_version_took_effect_there_is_no_ranking(api: Api) -> None:
    body = await api.graphql(LEADERBOARD, asOf="2026-05-01")
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_as_of_sees_a_score_only_after_it_appears_and_until_it_is_retracted(
    api: Api, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
                               verification, verification_changed_on, source_id)
            SELECT v.id, bv.id, 70, '2026-06-15', 'INDEPENDENT', 'RETRACTED', '2026-07-01', s.id
            FROM model_version v JOIN model m ON m.id = v.model_id,
                 benchmark_version bv, source s
            WHERE m.slug = 'command-a-plus' AND s.kind = 'LEADERBOARD'
            """
        )
    finally:
        await conn.close()

    def leader(data: dict[str, Any]) -> str:
        slug: str = data["leaderboard"]["edges"][0]["node"]["model"]["slug"]
        return slug

    assert leader(await api.data(LEADERBOARD, asOf="2026-06-14")) == "claude-opus-4.8"
    assert leader(await api.data(LEADERBOARD, asOf="2026-06-20")) == "command-a-plus"
    assert leader(await api.data(LEADERBOARD, asOf="2026-07-01")) == "claude-opus-4.8"


async def test_a_correction_replaces_the_score_it_supersedes(api: Api, database_url: str) -> None:
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
    before = dict(
        (slug, value)
        for _, slug, value in _ranks(
            (await api.data(LEADERBOARD, asOf="2026-06-09"))["leaderboard"]
        )
    )
    after = dict(
        (slug, value)
        for _, slug, value in _ranks(
            (await api.data(LEADERBOARD, asOf="2026-06-10"))["leaderboard"]
        )
    )
    assert before["gpt-5.5"] == 60.2
    assert after["gpt-5.5"] == 30


async def test_a_leaderboard_costs_the_same_statements_for_any_number_of_rows(
    api: Api, database_url: str
) -> None:
    await api.data(LEADERBOARD, asOf="2026-05-30")
    api.queries.clear()
    await api.data(LEADERBOARD, asOf="2026-05-30")
    few = len(api.queries.statements)

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            WITH lab_row AS (SELECT id FROM lab WHERE slug = 'cohere'),
            new_model AS (
                INSERT INTO model (slug, name, lab_id)
                SELECT 'bulk-' || n, 'Bulk ' || n, lab_row.id
                FROM generate_series(1, 200) AS n, lab_row
                RETURNING id
            ), new_version AS (
                INSERT INTO model_version (model_id, label, stage)
                SELECT id, 'release', 'FINAL' FROM new_model RETURNING id
            )
            INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
                               source_id)
            SELECT new_version.id, bv.id, 20 + random() * 10, '2026-05-30', 'INDEPENDENT', s.id
            FROM new_version, benchmark_version bv, source s WHERE s.kind = 'LEADERBOARD'
            """
        )
    finally:
        await conn.close()
    await api.data(LEADERBOARD, asOf="2026-05-30", first=100)
    api.queries.clear()
    data = await api.data(LEADERBOARD, asOf="2026-05-30", first=100)
    assert data["leaderboard"]["totalCount"] == 208
    assert len(data["leaderboard"]["edges"]) == 100
    # the compiled path answers in one statement; without it, three
    assert len(api.queries.statements) == few <= 3


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])
async def test_today_is_the_date_in_utc_whatever_the_server_zone(
    api: Api, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    # UTC+14 and UTC-12: at any moment at least one of them is on another date than UTC.
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        data = await api.data(
            'query Today { leaderboard(benchmark: "aa-intelligence-index", first: 1) { asOf } }'
        )
    finally:
        monkeypatch.undo()
        time.tzset()
    assert data["leaderboard"]["asOf"] == dt.datetime.now(dt.UTC).date().isoformat()


async def test_a_model_archived_without_an_event_stays_off_the_board_beside_one_with(
    api: Api, database_url: str
) -> None:
    # A model archived by its column alone (plain SQL, no audit event), and another through
    # the API: each is judged by its own history, not by the other's events.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE model SET archived_at = now() WHERE slug = 'gemini-3.1-pro'")
    finally:
        await conn.close()
    editor = Writer(api, await issue_token(database_url, "curator", Role.EDITOR))
    await editor.ok("archiveModel", "ArchiveInput", "revision", {"slug": "gpt-5.5"})
    board = (await api.data(LEADERBOARD, asOf="2026-05-30"))["leaderboard"]
    slugs = [slug for _, slug, _ in _ranks(board)]
    assert "gpt-5.5" not in slugs
    assert "gemini-3.1-pro" not in slugs
    assert slugs[0] == "claude-opus-4.8" and board["totalCount"] == 6


LOWER_BOARD = """
query ($asOf: Date, $first: Int, $after: String, $last: Int, $before: String) {
  leaderboard(benchmark: "error-rate", asOf: $asOf, first: $first, after: $after,
              last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { rank model { slug } score { value } } }
  }
}
"""


async def test_a_lower_is_better_board_ranks_the_lowest_first_page_by_page(
    api: Api, database_url: str
) -> None:
    editor = Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))
    benchmark = {
        "slug": "error-rate",
        "name": "Error rate",
        "scaleMin": 0,
        "scaleMax": 100,
        "higherIsBetter": False,
        "isIndependent": True,
    }
    await editor.ok("createBenchmark", "CreateBenchmarkInput", "benchmark { slug }", benchmark)
    version = {"benchmark": "error-rate", "label": "v1", "effectiveOn": "2026-01-01"}
    await editor.ok(
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        "benchmarkVersion { label }",
        version,
    )
    ids: dict[str, str] = {}
    for model, value in (("gpt-5.5", 3), ("gpt-5.5", 4), ("claude-opus-4.8", 1.5),
                         ("qwen-flagship", 2), ("kimi-flagship", 2.5)):  # fmt: skip
        score = {
            "model": model,
            "version": "release",
            "benchmark": "error-rate",
            "value": value,
            "measuredOn": "2026-06-01",
            "provenance": "INDEPENDENT",
            "source": demo_source("aa-leaderboard"),
        }
        written = await editor.ok("recordScore", "RecordScoreInput", "score { id }", score)
        ids[model] = written["score"]["id"]
    best_first = ["claude-opus-4.8", "qwen-flagship", "kimi-flagship", "gpt-5.5"]
    # A past date is walked; today's board is read from leaderboard_best.
    for as_of in ("2026-06-02", None):
        whole = (await api.data(LOWER_BOARD, asOf=as_of, first=10))["leaderboard"]
        assert [
            (e["node"]["model"]["slug"], e["node"]["score"]["value"]) for e in whole["edges"]
        ] == [
            ("claude-opus-4.8", 1.5),
            ("qwen-flagship", 2),
            ("kimi-flagship", 2.5),
            ("gpt-5.5", 3),
        ]
        seen: list[str] = []
        ends: list[str] = []
        more = True
        while more:
            assert len(ends) < len(best_first), "a page repeats an entry"
            after = ends[-1] if ends else None
            page = (await api.data(LOWER_BOARD, asOf=as_of, first=1, after=after))["leaderboard"]
            seen += [e["node"]["model"]["slug"] for e in page["edges"]]
            ends.append(page["pageInfo"]["endCursor"])
            more = page["pageInfo"]["hasNextPage"]
        assert seen == best_first
        # Back from the last entry: the two before it.
        back = (await api.data(LOWER_BOARD, asOf=as_of, last=2, before=ends[-1]))["leaderboard"]
        assert [e["node"]["model"]["slug"] for e in back["edges"]] == best_first[1:3]
        assert [e["node"]["rank"] for e in back["edges"]] == [2, 3]
        assert back["totalCount"] == 4

    # The status on a day is the latest change dated by then (the last written, of one day):
    # verified on 06-02, disputed and then retracted on 06-03.
    for verification, day in (("VERIFIED", "02"), ("DISPUTED", "03"), ("RETRACTED", "03")):
        change = {
            "score": ids["claude-opus-4.8"],
            "verification": verification,
            "changedOn": f"2026-06-{day}",
        }
        await editor.ok("setScoreVerification", "SetScoreVerificationInput", "score { id }", change)
    for as_of, leader in (("2026-06-02", "claude-opus-4.8"), ("2026-06-04", "qwen-flagship")):
        board = (await api.data(LOWER_BOARD, asOf=as_of, first=1))["leaderboard"]
        assert board["edges"][0]["node"]["model"]["slug"] == leader, as_of
