"""Pages through /graphql: cursors stay put while rows are written, and belong to one list.

A cursor names its row's key in the list's order, so rows written before it between two
requests neither repeat nor push a row out of the next page; `last`/`before` walk back the
same way; a cursor of another connection or order is a clear INVALID.
"""

from __future__ import annotations

import base64
from typing import Any

import asyncpg
import pytest

from tests.conftest import Api

LABS = """
query Labs($first: Int, $after: String, $last: Int, $before: String, $order: LabOrder) {
  labs(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    totalCount nodes { id slug }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
MODELS = """
query Models($first: Int, $after: String, $last: Int, $before: String, $order: ModelOrder) {
  models(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    totalCount nodes { id slug }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
SOURCES = """
query Sources($first: Int, $after: String, $last: Int, $before: String) {
  sources(first: $first, after: $after, last: $last, before: $before) {
    totalCount nodes { id title publishedOn }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
BOARD = """
query Board($first: Int, $after: String, $last: Int, $before: String) {
  leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-06-30", first: $first,
              after: $after, last: $last, before: $before) {
    totalCount
    nodes { rank model { id slug } }
    edges { cursor }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
COUNTRIES = """
query Countries($first: Int, $after: String, $before: String) {
  countryRanking(benchmark: "aa-intelligence-index", asOf: "2026-06-30", first: $first,
                 after: $after, before: $before) {
    nodes { rank country { code } }
    pageInfo { endCursor }
  }
}
"""
FEED = """
query Feed($after: String, $last: Int, $before: String) {
  changes(after: $after, last: $last, before: $before) {
    edges { cursor node { entityId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def _slugs(connection: dict[str, Any], key: str = "slug") -> list[str]:
    return [node[key] for node in connection["nodes"]]


async def _sql(database_url: str, statement: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def test_labs_written_before_the_cursor_neither_repeat_nor_push_a_lab_out(
    api: Api, database_url: str
) -> None:
    every = _slugs((await api.data(LABS, first=100))["labs"])
    first = (await api.data(LABS, first=4))["labs"]
    assert _slugs(first) == every[:4]
    # Two labs that sort before the cursor, one after it, written between the two requests.
    await _sql(
        database_url,
        "INSERT INTO lab (slug, name) VALUES ('aaa-lab', 'AAA'), ('ab-lab', 'AB'), "
        "('zzz-lab', 'ZZZ')",
    )
    second = (await api.data(LABS, first=4, after=first["pageInfo"]["endCursor"]))["labs"]
    assert _slugs(second) == every[4:8]
    assert second["totalCount"] == len(every) + 3
    assert second["pageInfo"]["hasPreviousPage"] is True
    # ... and back from the second page: the same first page, the new labs before it.
    back = (await api.data(LABS, last=4, before=second["pageInfo"]["startCursor"]))["labs"]
    assert _slugs(back) == every[:4]
    assert back["pageInfo"]["hasPreviousPage"] is True
    assert back["pageInfo"]["hasNextPage"] is True


async def test_a_deleted_cursor_row_still_marks_its_place(api: Api, database_url: str) -> None:
    every = _slugs((await api.data(LABS, first=100))["labs"])
    first = (await api.data(LABS, first=3))["labs"]
    await _sql(database_url, f"UPDATE lab SET archived_at = now() WHERE slug = '{every[2]}'")
    second = (await api.data(LABS, first=3, after=first["pageInfo"]["endCursor"]))["labs"]
    assert _slugs(second) == every[3:6]


@pytest.mark.parametrize(
    "order",
    [
        {"field": field, "direction": direction}
        for field in ("SLUG", "NAME", "PARAMETERS", "LATEST_RELEASE")
        for direction in ("ASC", "DESC")
    ],
)
async def test_every_model_order_walks_forward_and_back_to_the_same_list(
    api: Api, order: dict[str, str]
) -> None:
    # PARAMETERS and LATEST_RELEASE hold NULLs (unpublished counts): they sort last both ways.
    every = _slugs((await api.data(MODELS, first=100, order=order))["models"])
    forward: list[str] = []
    after = None
    while True:
        page = (await api.data(MODELS, first=3, after=after, order=order))["models"]
        forward += _slugs(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    backward: list[str] = []
    before = None
    while True:
        page = (await api.data(MODELS, last=3, before=before, order=order))["models"]
        backward = _slugs(page) + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert forward == every
    assert backward == every
    assert len(every) > 10


async def test_sources_without_a_date_page_after_the_dated_ones(
    api: Api, database_url: str
) -> None:
    await _sql(
        database_url,
        "INSERT INTO source (kind, title, publisher) VALUES "
        "('NEWS', 'Undated A', 'P'), ('NEWS', 'Undated B', 'P')",
    )
    listed = (await api.data(SOURCES, first=100))["sources"]["nodes"]
    dates = [node["publishedOn"] for node in listed]
    undated = dates.index(None)
    assert sorted(dates[:undated], reverse=True) == dates[:undated]
    assert set(dates[undated:]) == {None}
    every = [node["title"] for node in listed]
    assert {"Undated A", "Undated B"} <= set(every[undated:])
    walked: list[str] = []
    after = None
    while True:
        page = (await api.data(SOURCES, first=2, after=after))["sources"]
        walked += _slugs(page, "title")
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == every


def _ranked(board: dict[str, Any]) -> list[tuple[int, str]]:
    return [(node["rank"], node["model"]["slug"]) for node in board["nodes"]]


async def test_a_model_ranked_above_the_cursor_meanwhile_does_not_repeat_the_next_page(
    api: Api, database_url: str
) -> None:
    every = _ranked((await api.data(BOARD, first=100))["leaderboard"])
    first = (await api.data(BOARD, first=3))["leaderboard"]
    assert _ranked(first) == every[:3]
    # A new model takes the lead between the two requests: every rank below moves down one.
    await _sql(
        database_url,
        """
        WITH new_model AS (
            INSERT INTO model (slug, name, lab_id)
            SELECT 'new-leader', 'New Leader', id FROM lab WHERE slug = 'cohere' RETURNING id
        ), new_version AS (
            INSERT INTO model_version (model_id, label, stage)
            SELECT id, 'release', 'FINAL' FROM new_model RETURNING id
        )
        INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
                           source_id)
        SELECT new_version.id, bv.id, 99, '2026-06-01', 'INDEPENDENT', s.id
        FROM new_version, benchmark_version bv, source s WHERE s.kind = 'LEADERBOARD'
        """,
    )
    second = (await api.data(BOARD, first=3, after=first["pageInfo"]["endCursor"]))["leaderboard"]
    assert [slug for _, slug in _ranked(second)] == [slug for _, slug in every[3:6]]
    assert [rank for rank, _ in _ranked(second)] == [rank + 1 for rank, _ in every[3:6]]
    assert second["totalCount"] == len(every) + 1
    assert second["pageInfo"]["hasPreviousPage"] is True


async def test_a_leaderboard_pages_back_from_its_end(api: Api) -> None:
    every = _ranked((await api.data(BOARD, first=100))["leaderboard"])
    last = (await api.data(BOARD, last=3))["leaderboard"]
    assert _ranked(last) == every[-3:]
    assert (last["pageInfo"]["hasNextPage"], last["pageInfo"]["hasPreviousPage"]) == (False, True)
    before = (await api.data(BOARD, last=3, before=last["pageInfo"]["startCursor"]))["leaderboard"]
    assert _ranked(before) == every[-6:-3]
    assert before["pageInfo"]["hasNextPage"] is True
    # The cursors of the edges are the page's start and end.
    assert before["edges"][0]["cursor"] == before["pageInfo"]["startCursor"]
    assert before["edges"][-1]["cursor"] == before["pageInfo"]["endCursor"]
    # Forward from the first of them: the rest, ties (two entries at 50) kept in order.
    rest = (await api.data(BOARD, first=100, after=before["edges"][0]["cursor"]))["leaderboard"]
    assert _ranked(rest) == every[-5:]


async def test_the_feed_pages_back_from_its_end(api: Api) -> None:
    every: list[str] = []
    after = None
    while True:
        page = (await api.data(FEED, after=after))["changes"]
        # Nothing lies before the first page; something before each later one.
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        every += [edge["cursor"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    last = (await api.data(FEED, last=3))["changes"]
    assert [edge["cursor"] for edge in last["edges"]] == every[-3:]
    earlier = (await api.data(FEED, last=2, before=last["pageInfo"]["startCursor"]))["changes"]
    assert [edge["cursor"] for edge in earlier["edges"]] == every[-5:-3]
    assert earlier["pageInfo"]["hasNextPage"] is True


async def _cursor(api: Api, query: str, field: str, **variables: Any) -> str:
    data = await api.data(query, first=2, **variables)
    cursor: str = data[field]["pageInfo"]["endCursor"]
    return cursor


@pytest.mark.parametrize(
    ("query", "field", "variables", "name"),
    [
        (LABS, "labs", {}, "Labs.SLUG.ASC"),
        (MODELS, "models", {}, "Models.SLUG.ASC"),
        (MODELS, "models", {"order": {"field": "PARAMETERS", "direction": "DESC"}},
         "Models.PARAMETERS.DESC"),
    ],
)  # fmt: skip
async def test_a_cursor_names_its_list_and_order_as_stored_cursors_do(
    api: Api, query: str, field: str, variables: dict[str, Any], name: str
) -> None:
    # Clients keep cursors (a sync job resumes from the one it stored): one written before an
    # upgrade must still name the same list and order after it, or it would be refused.
    cursor = await _cursor(api, query, field, **variables)
    text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    assert text.partition(":")[0] == name


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ((LABS, "labs", {}), (MODELS, "models", {})),
        ((LABS, "labs", {}), (LABS, "labs", {"order": {"field": "NAME"}})),
        ((LABS, "labs", {"order": {"direction": "DESC"}}), (LABS, "labs", {})),
        ((BOARD, "leaderboard", {}), (COUNTRIES, "countryRanking", {})),
        ((COUNTRIES, "countryRanking", {}), (BOARD, "leaderboard", {})),
        ((MODELS, "models", {}), (BOARD, "leaderboard", {})),
        ((BOARD, "leaderboard", {}), (SOURCES, "sources", {})),
    ],
)
async def test_a_cursor_of_another_list_or_order_is_refused(
    api: Api,
    source: tuple[str, str, dict[str, Any]],
    target: tuple[str, str, dict[str, Any]],
) -> None:
    cursor = await _cursor(api, source[0], source[1], **source[2])
    for argument in ("after", "before"):
        body = await api.graphql(target[0], **{argument: cursor, **target[2]})
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "INVALID", "field": argument}
        assert "another list" in error["message"]


@pytest.mark.parametrize(
    ("query", "cursor"),
    [
        (LABS, "not-a-cursor"),
        (LABS, "UG9zaXRpb246Mw"),  # Position:3, the cursors of before keyset pages
        # Labs.SLUG.ASC with a key of the wrong shape, type or size.
        (LABS, "TGFicy5TTFVHLkFTQzpbIngiXQ"),  # ["x"]
        (LABS, "TGFicy5TTFVHLkFTQzpbIngiLCAieCJd"),  # ["x", "x"]
        (LABS, "TGFicy5TTFVHLkFTQzpbbnVsbCwgMV0"),  # [null, 1]
        (LABS, "TGFicy5TTFVHLkFTQzpbIngiLCA5OTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ"),  # id past bigint
        (LABS, "TGFicy5TTFVHLkFTQzp7fQ"),  # {}
        (LABS, "TGFicy5TTFVHLkFTQzpbIlx1ZDgwMCIsIDFd"),  # ["\ud800", 1]: no UTF-8
        # Leaderboard keys (value, date, score id) PostgreSQL could not cast.
        (BOARD, "TGVhZGVyYm9hcmQ6WyIxZTIwMDAwMCIsICIyMDI2LTAxLTAxIiwgMV0"),  # 1e200000
        (BOARD, "TGVhZGVyYm9hcmQ6WyJOYU4iLCAiMjAyNi0wMS0wMSIsIDFd"),  # NaN
        (BOARD, "TGVhZGVyYm9hcmQ6WyI2MS40IiwgIjIwMjYtMTMtMDEiLCAxXQ"),  # month 13
    ],
)
async def test_a_malformed_cursor_is_invalid(api: Api, query: str, cursor: str) -> None:
    for argument in ("after", "before"):
        body = await api.graphql(query, **{argument: cursor})
        [error] = body["errors"]
        assert error["extensions"] == {"code": "INVALID", "field": argument}
