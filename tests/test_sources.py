"""Sources that exist: no invented URL, found by title and publisher, cited by id or details."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from service import migrate, seed
from service.db.pool import connect
from service.enums import Role
from tests.conftest import Api
from tests.writing import Writer, checksum, demo_source, fetchval, issue_token

SOURCES = """
query Sources($search: String, $publisher: String, $kind: SourceKind, $url: String) {
  sources(filter: {search: $search, publisher: $publisher, kind: $kind, url: $url}) {
    totalCount nodes { id url title publisher publishedOn kind }
  }
}
"""
SCORE = {
    "model": "solar-next",
    "version": "preview",
    "benchmark": "aa-intelligence-index",
    "value": 41,
    "measuredOn": "2026-06-02",
    "provenance": "LAB_CLAIM",
}
# The pages the demo data really cited; anything else would be a guess.
CITED_PAGES = {
    "https://artificialanalysis.ai/",
    "https://mistral.ai/news/announcing-mistral-7b",
    "https://arxiv.org/abs/2312.15166",
}


@pytest.fixture
async def editor(api: Api, database_url: str) -> AsyncIterator[Writer]:
    yield Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_the_demo_data_cites_no_guessed_page() -> None:
    raw = tomllib.loads(seed.DEMO_DATA.read_text(encoding="utf-8"))
    assert {entry["url"] for entry in raw["sources"] if "url" in entry} == CITED_PAGES
    addresses = [text for text in _strings(raw) if "://" in text]
    assert addresses and not [url for url in addresses if "#" in url]


async def test_the_announcement_is_the_ceos_post_without_a_url(api: Api) -> None:
    data = await api.data(
        """{ model(slug: "solar-next") { id versions { id label
             source { id url title publisher publishedOn kind }
             scores { id provenance source { id url title publisher publishedOn kind } } } } }"""
    )
    preview, final = data["model"]["versions"]
    claim = preview["scores"][0]
    assert claim["provenance"] == "LAB_CLAIM"
    post = claim["source"]
    assert post["url"] is None
    assert (post["publisher"], post["publishedOn"], post["kind"]) == (
        "Upstage CEO",
        "2026-05-30",
        "ANNOUNCEMENT",
    )
    assert post["title"].startswith("[Facebook post")
    assert preview["source"]["title"] == "South Korea Breaks Into US-China AI Top Tier"
    assert preview["source"]["kind"] == "NEWS"
    # Its publisher is not known: none was invented.
    assert preview["source"]["url"] is None and preview["source"]["publisher"] is None
    assert final["source"] == post


async def test_sources_are_found_by_title_and_by_publisher(api: Api) -> None:
    by_title = (await api.data(SOURCES, search="us-china top tier"))["sources"]
    by_title_titles = [s["title"] for s in by_title["nodes"]]
    assert by_title_titles == ["South Korea Breaks Into US-China AI Top Tier"]
    by_typo = (await api.data(SOURCES, search="Depth Up-Scalling"))["sources"]
    assert [s["publisher"] for s in by_typo["nodes"]] == ["arXiv"]
    # 2 of 5 trigrams shared with a word of the title: a similarity of exactly 0.4, still kept.
    at_threshold = (await api.data(SOURCES, search="h korezzz"))["sources"]
    assert [s["title"] for s in at_threshold["nodes"]] == by_title_titles
    yonhap = (await api.data(SOURCES, publisher="yonhap", kind="NEWS"))["sources"]
    assert yonhap["totalCount"] == 2
    assert all(s["url"] is None for s in yonhap["nodes"])
    by_url = (await api.data(SOURCES, url="https://arxiv.org/abs/2312.15166"))["sources"]
    assert [s["kind"] for s in by_url["nodes"]] == ["PAPER"]
    every = (await api.data(SOURCES))["sources"]
    assert every["totalCount"] == 8


async def test_a_write_cites_a_recorded_source_by_id(editor: Writer, database_url: str) -> None:
    found = await editor.api.data(SOURCES, publisher="Upstage CEO")
    post = found["sources"]["nodes"][0]
    score = await editor.ok(
        "recordScore",
        "RecordScoreInput",
        "score { id source { id title } }",
        {**SCORE, "source": {"id": post["id"]}},
    )
    assert score["score"]["source"] == {"id": post["id"], "title": post["title"]}


async def test_identical_details_find_the_recorded_source(
    editor: Writer, database_url: str
) -> None:
    before = await fetchval(database_url, "SELECT count(*) FROM source")
    score = await editor.ok(
        "recordScore",
        "RecordScoreInput",
        "score { id source { id url } }",
        {**SCORE, "source": demo_source("aa-leaderboard")},
    )
    assert score["score"]["source"]["url"] == "https://artificialanalysis.ai/"
    assert await fetchval(database_url, "SELECT count(*) FROM source") == before


async def test_new_details_record_a_source_with_its_own_audit_row(
    editor: Writer, database_url: str
) -> None:
    article = {
        "title": "Upstage previews its next Solar model",
        "kind": "NEWS",
        "publisher": "Example Daily",
        "publishedOn": "2026-06-02",
    }
    first = await editor.ok(
        "recordScore",
        "RecordScoreInput",
        "score { id source { id url title publisher } }",
        {**SCORE, "source": {"new": article}},
    )
    assert first["score"]["source"]["url"] is None
    again = await editor.ok(
        "supersedeScore",
        "SupersedeScoreInput",
        "score { id source { id } }",
        {
            "score": first["score"]["id"],
            "value": 41.5,
            "measuredOn": "2026-06-03",
            "source": {"new": article},
        },
    )
    assert again["score"]["source"]["id"] == first["score"]["source"]["id"]
    conn = await connect(database_url)
    try:
        events = await conn.fetch(
            "SELECT operation, entity_type FROM audit_event WHERE actor = 'editor-bot' ORDER BY id"
        )
    finally:
        await conn.close()
    assert [(e["operation"], e["entity_type"]) for e in events] == [
        ("recordScore", "Source"),
        ("recordScore", "Score"),
        ("supersedeScore", "Score"),
    ]


async def test_add_source_without_a_url_and_cite_it(editor: Writer) -> None:
    added = await editor.ok(
        "addSource",
        "AddSourceInput",
        "source { id url title kind }",
        {"title": "[Interview with Upstage's CEO]", "kind": "NEWS", "publisher": "Example TV"},
    )
    assert added["source"]["url"] is None
    link = await editor.ok(
        "linkModels",
        "LinkModelsInput",
        "link { id source { id title } }",
        {
            "parent": "mistral-7b",
            "child": "solar-pro",
            "relation": "DISTILLED",
            "source": {"id": added["source"]["id"]},
        },
    )
    assert link["link"]["source"]["id"] == added["source"]["id"]


async def test_an_update_clears_or_changes_a_versions_source(editor: Writer) -> None:
    version = await editor.api.data(
        '{ version(model: "solar-pro-3", label: "release") { id revision source { id } } }'
    )
    assert version["version"]["source"] is not None
    cleared = await editor.ok(
        "updateVersion",
        "UpdateVersionInput",
        "version { id source { id } } revision",
        {
            "model": "solar-pro-3",
            "label": "release",
            "expectedRevision": version["version"]["revision"],
            "source": None,
        },
    )
    assert cleared["version"]["source"] is None
    cited = await editor.ok(
        "updateVersion",
        "UpdateVersionInput",
        "version { id source { id kind } }",
        {
            "model": "solar-pro-3",
            "label": "release",
            "expectedRevision": cleared["revision"],
            "source": demo_source("solar-paper"),
        },
    )
    assert cited["version"]["source"]["kind"] == "PAPER"


async def test_a_citation_refused_writes_nothing(editor: Writer, database_url: str) -> None:
    before = await checksum(database_url)
    payload = await editor.write(
        "recordScore",
        "RecordScoreInput",
        "score { id }",
        {**SCORE, "source": {"new": {**demo_source("aa-leaderboard")["new"], "title": "Other"}}},
    )
    assert payload["score"] is None
    # Told to cite the recorded source by id, not the bare unique violation's "already exists".
    assert payload["userErrors"] == [
        {
            "field": "source.new.url",
            "code": "ALREADY_EXISTS",
            "message": "a source with this identity is recorded with other details; cite it by id",
        }
    ]
    assert await checksum(database_url) == before


OLD_DEMO_SOURCES = [
    (
        "https://www.upstage.ai/news#next-solar-foundation-model-preview-2026-05-30",
        "Upstage CEO announces the preview of the next Solar foundation model",
        "Upstage",
        "2026-05-30",
        "ANNOUNCEMENT",
    ),
    (
        "https://artificialanalysis.ai/leaderboards/models",
        "Artificial Analysis Intelligence Index leaderboard",
        "Artificial Analysis",
        "2026-05-30",
        "LEADERBOARD",
    ),
    (
        "https://en.yna.co.kr/#sovereign-ai-five-consortia-selected-2025-08",
        "Science ministry selects five consortia for Korea's sovereign AI foundation model project",
        "Yonhap News Agency",
        None,
        "NEWS",
    ),
    (
        "https://en.yna.co.kr/#sovereign-ai-project-narrowed-to-three-2026-01",
        "Naver Cloud and NC AI eliminated from the sovereign AI foundation model project",
        "Yonhap News Agency",
        None,
        "NEWS",
    ),
    (
        "https://www.upstage.ai/news#solar-pro-3",
        "Upstage announces Solar Pro 3",
        "Upstage",
        None,
        "ANNOUNCEMENT",
    ),
]


async def test_upgrading_a_database_seeded_with_guessed_urls_keeps_no_guess(
    empty_database_url: str,
) -> None:
    await migrate.upgrade_async(empty_database_url, "0003_score_model")
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.executemany(
            "INSERT INTO source (url, title, publisher, published_on, kind) "
            "VALUES ($1, $2, $3, $4::text::date, $5)",
            OLD_DEMO_SOURCES,
        )
        ids_before = await conn.fetchval("SELECT array_agg(id ORDER BY id) FROM source")
    finally:
        await conn.close()
    await migrate.upgrade_async(empty_database_url)
    conn = await connect(empty_database_url)
    try:
        urls = {row["url"] for row in await conn.fetch("SELECT url FROM source")}
        assert urls == {None, "https://artificialanalysis.ai/"}
        # The next seed finds the rewritten rows: it adds only the three sources they lacked.
        await seed.seed(conn)
        assert await conn.fetchval("SELECT count(*) FROM source") == 8
        kept = await conn.fetchval(
            "SELECT array_agg(id ORDER BY id) FROM source WHERE id = ANY($1::bigint[])",
            ids_before,
        )
        assert kept == ids_before
    finally:
        await conn.close()


async def test_a_database_holding_unknowns_refuses_to_downgrade(
    empty_database_url: str,
) -> None:
    await migrate.upgrade_async(empty_database_url)
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute("INSERT INTO source (title, kind) VALUES ('[A post]', 'ANNOUNCEMENT')")
    finally:
        await conn.close()
    with pytest.raises(RuntimeError, match="cannot store them"):
        await asyncio.to_thread(migrate.downgrade, empty_database_url, "0003_score_model")
