"""Events the registry derives from score writes, as the feed and the read API both tell them."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import asyncpg
import pytest

from service import clock, commands, derived, inputs, validation
from service.db import rankings
from service.db.pool import connect
from service.enums import Role
from tests.conftest import Api
from tests.following import INDEX, SOURCE, follow, score_input
from tests.writing import Writer, issue_token

CROSSED_40 = """
query CrossedForty {
  thresholdCrossings(benchmark: "aa-intelligence-index", threshold: 40) {
    crossings { order entry { country { code } score { id } } }
  }
}
"""
CROSSED_40_BY_LAB = """
query LabsPastForty {
  thresholdCrossings(benchmark: "aa-intelligence-index", threshold: 40, by: LAB) {
    crossings { order entry { lab { id } score { id } } }
  }
}
"""
TOP = """
query TopTen {
  leaderboard(benchmark: "aa-intelligence-index", first: 10) {
    edges { node { rank model { id } score { id } } }
  }
}
"""


async def _record(editor: Writer, model: str, value: float) -> str:
    payload = await editor.ok(
        "recordScore",
        "RecordScoreInput",
        "score { id }",
        {
            "model": model,
            "version": "release",
            "benchmark": INDEX,
            "value": value,
            "measuredOn": "2026-06-01",
            "provenance": "INDEPENDENT",
            "source": SOURCE,
        },
    )
    score_id: str = payload["score"]["id"]
    return score_id


def _nodes(edges: list[dict[str, Any]], kind: str | None = None) -> list[dict[str, Any]]:
    return [e["node"] for e in edges if kind is None or e["node"]["kind"] == kind]


def _crossing(node: dict[str, Any]) -> tuple[Any, ...]:
    state = node["state"]
    return (state["threshold"], state["by"], state["countryCode"], state["order"], state["id"])


async def test_the_demo_data_tells_the_third_country_past_40(api: Api) -> None:
    edges, _ = await follow(api, kinds=["THRESHOLD_CROSSED"])
    at_40 = [
        _crossing(node)
        for node in _nodes(edges)
        if node["state"]["threshold"] == 40 and node["state"]["by"] == "COUNTRY"
    ]
    answer = (await api.data(CROSSED_40))["thresholdCrossings"]["crossings"]
    assert [(c[2], c[3]) for c in at_40] == [("US", 1), ("CN", 2), ("KR", 3)]
    # The feed told each crossing as the read API answers it.
    assert [(c[2], c[3], c[4]) for c in at_40] == [
        (c["entry"]["country"]["code"], c["order"], c["entry"]["score"]["id"]) for c in answer
    ]


async def test_a_french_45_makes_france_the_fourth_country_past_40(
    api: Api, database_url: str
) -> None:
    editor = Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))
    _, cursor = await follow(api)
    score = await _record(editor, "mistral-medium-3.5", 45)
    edges, cursor = await follow(api, cursor)
    nodes = _nodes(edges)
    assert [n["kind"] for n in nodes] == [
        "SCORE_RECORDED",
        "THRESHOLD_CROSSED",
        "THRESHOLD_CROSSED",
    ]
    assert {n["actor"] for n in nodes} == {"release-bot"}
    country, lab = nodes[1], nodes[2]
    assert _crossing(country) == (40, "COUNTRY", "FR", 4, score)
    assert country["entityId"] == score
    assert country["state"]["value"] == "45.0"

    by_country = (await api.data(CROSSED_40))["thresholdCrossings"]["crossings"]
    assert (by_country[3]["order"], by_country[3]["entry"]["country"]["code"]) == (4, "FR")
    assert by_country[3]["entry"]["score"]["id"] == score
    by_lab = (await api.data(CROSSED_40_BY_LAB))["thresholdCrossings"]["crossings"]
    mistral = next(c for c in by_lab if c["entry"]["score"]["id"] == score)
    assert (lab["state"]["by"], lab["state"]["order"]) == ("LAB", mistral["order"])
    assert lab["state"]["labId"] == mistral["entry"]["lab"]["id"]

    # Only the first time: another French score past 40 crosses nothing.
    await _record(editor, "mistral-medium-3.5", 46)
    again, _ = await follow(api, cursor)
    assert [n["kind"] for n in _nodes(again)] == ["SCORE_RECORDED"]


async def test_a_first_score_enters_the_top_ten(api: Api, database_url: str) -> None:
    editor = Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))
    _, cursor = await follow(api)
    score = await _record(editor, "solar-pro-3", 45)
    edges, _ = await follow(api, cursor)
    entered = _nodes(edges, "LEADERBOARD_ENTERED")
    assert len(entered) == 1
    board = (await api.data(TOP))["leaderboard"]["edges"]
    place = next(e["node"] for e in board if e["node"]["score"]["id"] == score)
    state = entered[0]["state"]
    assert (state["id"], state["modelId"], state["rank"], state["top"]) == (
        score,
        place["model"]["id"],
        place["rank"],
        10,
    )
    # Upstage was past every threshold up to 40 already (its lab claim): nothing crossed.
    assert _nodes(edges, "THRESHOLD_CROSSED") == []
    # A lab follower sees it too.
    upstage, _ = await follow(api, cursor, labs=["upstage"])
    assert [n["kind"] for n in _nodes(upstage)] == ["SCORE_RECORDED", "LEADERBOARD_ENTERED"]


async def test_derived_events_are_in_the_feed_not_the_audit_log(
    api: Api, database_url: str
) -> None:
    editor = Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))
    admin = Writer(api, await issue_token(database_url, "admin", Role.ADMIN))
    await _record(editor, "mistral-medium-3.5", 45)
    log = await admin.run(
        'query Log { auditLog(actor: "release-bot") { nodes { operation } totalCount } }', {}
    )
    assert log["data"]["auditLog"] == {"nodes": [{"operation": "recordScore"}], "totalCount": 1}


async def test_a_batch_tells_what_changed_between_its_start_and_its_end(
    api: Api, database_url: str
) -> None:
    """A batch (registry import's) records its events once, at its end: a model that entered
    the top ten and left it again within the batch entered nothing a reader could see."""
    _, cursor = await follow(api)
    conn = await connect(database_url)
    try:
        async with conn.transaction(), derived.batched(conn, actor="batch"):
            solar = await commands.record_score(
                conn, "batch", score_input("solar-pro-3", "release", 45, "2026-06-01")
            )
            retraction = {"score": solar["id"], "verification": "RETRACTED",
                          "changedOn": "2026-06-01"}  # fmt: skip
            await commands.set_score_verification(
                conn, "batch", validation.parse(inputs.ScoreVerificationInput, retraction)
            )
            french = await commands.record_score(
                conn, "batch", score_input("mistral-medium-3.5", "release", 45, "2026-06-01")
            )
        causes = await conn.fetch(
            """SELECT cause.kind, cause.entity_id FROM audit_event AS derived
               JOIN audit_event AS cause ON cause.id = derived.cause_id
               WHERE derived.actor = 'batch' AND derived.cause_id IS NOT NULL"""
        )
    finally:
        await conn.close()
    edges, _ = await follow(api, cursor)
    assert [n["kind"] for n in _nodes(edges)] == [
        "SCORE_RECORDED",
        "SCORE_VERIFIED",
        "SCORE_RECORDED",
        "THRESHOLD_CROSSED",
        "THRESHOLD_CROSSED",
    ]  # and no LEADERBOARD_ENTERED for Solar Pro 3, which a write alone would have told
    country = _nodes(edges, "THRESHOLD_CROSSED")[0]
    by_country = (await api.data(CROSSED_40))["thresholdCrossings"]["crossings"]
    assert _crossing(country)[:4] == (40, "COUNTRY", "FR", 4)
    assert country["state"]["id"] == by_country[3]["entry"]["score"]["id"]
    # Each names the write of the score it tells as its cause.
    assert [tuple(row) for row in causes] == [("recordScore", french["id"])] * 2


async def test_after_a_failed_batch_writes_tell_their_own_events(database_url: str) -> None:
    conn = await connect(database_url)
    try:
        with contextlib.suppress(asyncpg.DataError):
            async with conn.transaction(), derived.batched(conn, actor="batch"):
                await commands.record_score(
                    conn, "batch", score_input("mistral-medium-3.5", "release", 45, "2026-06-01")
                )
                raise asyncpg.DataError("a later row refused")
        score = await commands.record_score(
            conn, "single", score_input("mistral-medium-3.5", "release", 45, "2026-06-01")
        )
        derived_events = await conn.fetch(
            "SELECT actor FROM audit_event WHERE cause_id IS NOT NULL AND entity_id = $1",
            score["id"],
        )
        assert [row["actor"] for row in derived_events] == ["single", "single"]
    finally:
        await conn.close()


async def _mini_index(editor: Writer) -> None:
    """A new index (no crossing recorded on it yet), in effect since 2026-01-01."""
    await editor.ok(
        "createBenchmark",
        "CreateBenchmarkInput",
        "benchmark { slug }",
        {
            "slug": "mini-index",
            "name": "Mini index",
            "scaleMin": 0,
            "scaleMax": 100,
            "isIndependent": True,
            "isIndex": True,
        },
    )
    await editor.ok(
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        "benchmarkVersion { label }",
        {"benchmark": "mini-index", "label": "v1", "effectiveOn": "2026-01-01"},
    )


async def test_a_country_past_40_on_one_index_crosses_40_on_another_too(
    api: Api, database_url: str
) -> None:
    # Crossings are per index (and version): the US past 40 on the demo index says nothing
    # about a new index, where its first score of 45 crosses 40 for the US and for OpenAI.
    editor = Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))
    await _mini_index(editor)
    _, cursor = await follow(api)
    await editor.ok(
        "recordScore",
        "RecordScoreInput",
        "score { id }",
        {
            "model": "gpt-5.5",
            "version": "release",
            "benchmark": "mini-index",
            "value": 45,
            "measuredOn": "2026-06-01",
            "provenance": "INDEPENDENT",
            "source": SOURCE,
        },
    )
    edges, _ = await follow(api, cursor, kinds=["THRESHOLD_CROSSED"])
    crossed = {(n["state"]["threshold"], n["state"]["by"]) for n in _nodes(edges)}
    assert (40, "COUNTRY") in crossed
    assert (40, "LAB") in crossed
    us = [n["state"] for n in _nodes(edges) if n["state"]["by"] == "COUNTRY"]
    assert {state["countryCode"] for state in us} == {"US"}


async def test_a_batch_asks_each_threshold_crossings_once_for_all_its_groups(
    api: Api, database_url: str
) -> None:
    """A batch whose writes take two countries and two labs past 10, 20, 30 and 40 on a new
    index tells each group's crossings, and reads each threshold's crossings (by country, by
    lab) once for all the groups that reached it, not once per group."""
    await _mini_index(Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR)))
    _, cursor = await follow(api)
    sent: list[str] = []
    conn = await connect(database_url)
    conn.add_query_logger(lambda record: sent.append(record.query))
    try:
        async with conn.transaction(), derived.batched(conn, actor="batch"):
            for model in ("gpt-5.5", "mistral-medium-3.5"):
                data = {"model": model, "version": "release", "benchmark": "mini-index",
                        "value": 45, "measuredOn": "2026-06-01", "provenance": "INDEPENDENT",
                        "source": SOURCE}  # fmt: skip
                await commands.record_score(
                    conn, "batch", validation.parse(inputs.ScoreInput, data)
                )
    finally:
        await conn.close()
    edges, _ = await follow(api, cursor, kinds=["THRESHOLD_CROSSED"])
    crossed = [(n["state"]["threshold"], n["state"]["by"]) for n in _nodes(edges)]
    assert sorted(crossed) == sorted(
        (threshold, by) for threshold in (10, 20, 30, 40) for by in ("COUNTRY", "LAB") * 2
    )
    countries = {n["state"]["countryCode"] for n in _nodes(edges) if n["state"]["by"] == "COUNTRY"}
    assert countries == {"US", "FR"}
    assert sent.count(rankings.CROSSINGS) == len(set(crossed)) == 8


async def test_a_batch_tells_no_crossing_of_a_country_it_did_not_write_to(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """France reaches 40 without a write (a score measured tomorrow counts from tomorrow on).
    A batch (registry import's) that writes only a Korean score tells no crossing of France's:
    only the labs and countries of its own writes can cross. The next write concerning France
    tells France's crossings, with the score that reached 40."""
    editor = Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))
    tomorrow = clock.today() + dt.timedelta(days=1)
    french = await editor.ok(
        "recordScore",
        "RecordScoreInput",
        "score { id }",
        {
            "model": "mistral-medium-3.5",
            "version": "release",
            "benchmark": INDEX,
            "value": 45,
            "measuredOn": tomorrow.isoformat(),
            "provenance": "INDEPENDENT",
            "source": SOURCE,
        },
    )
    monkeypatch.setattr(clock, "today", lambda: tomorrow)
    by_country = (await api.data(CROSSED_40))["thresholdCrossings"]["crossings"]
    assert [c["entry"]["country"]["code"] for c in by_country] == ["US", "CN", "KR", "FR"]
    _, cursor = await follow(api)
    conn = await connect(database_url)
    try:
        async with conn.transaction(), derived.batched(conn, actor="batch"):
            await commands.record_score(
                conn, "batch", score_input("solar-pro-3", "release", 20, "2026-06-01")
            )
    finally:
        await conn.close()
    edges, cursor = await follow(api, cursor)
    assert _nodes(edges, "THRESHOLD_CROSSED") == []

    await _record(editor, "mistral-medium-3.5", 30)
    edges, _ = await follow(api, cursor, kinds=["THRESHOLD_CROSSED"])
    crossings = [_crossing(n) for n in _nodes(edges)]
    assert [c[:3] for c in crossings] == [(40, "COUNTRY", "FR"), (40, "LAB", "FR")]
    assert crossings[0][3] == 4
    assert {c[4] for c in crossings} == {french["score"]["id"]}
