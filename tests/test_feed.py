"""The change feed, as a data consumer follows it: every committed change, in commit order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from service import commands, ids, inputs, validation
from service.config import Settings
from service.db import audit
from service.db.pool import connect
from service.enums import ChangeKind, Role
from service.graphql.feed import REFERENCES
from service.graphql.schema import build_schema
from tests import readme
from tests.conftest import Api, running_api
from tests.following import FEED, follow, score_input
from tests.writing import Writer, issue_token


async def _table(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await connect(database_url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


def _lab(slug: str) -> inputs.LabInput:
    return validation.parse(inputs.LabInput, {"slug": slug, "name": slug.title(), "country": "FR"})


def _score(model: str, version: str, value: float) -> inputs.ScoreInput:
    return score_input(model, version, value, "2026-06-01")


async def test_the_feed_holds_every_committed_write_in_order(api: Api, database_url: str) -> None:
    edges, _ = await follow(api)
    rows = await _table(
        database_url,
        "SELECT position, kind, entity_type, entity_id, actor FROM audit_event ORDER BY position",
    )
    assert [edge["cursor"] for edge in edges] == [
        ids.encode("Change", row["position"]) for row in rows
    ]
    assert [
        (n["kind"], n["entityType"], n["entityId"], n["actor"])
        for n in (edge["node"] for edge in edges)
    ] == [
        (
            ChangeKind(row["kind"]).name,
            row["entity_type"],
            ids.encode(row["entity_type"], row["entity_id"]),
            row["actor"],
        )
        for row in rows
    ]
    times = [edge["node"]["recordedAt"] for edge in edges]
    assert times == sorted(times)
    upstage = next(
        edge["node"]
        for edge in edges
        if edge["node"]["kind"] == "LAB_CREATED" and edge["node"]["state"]["slug"] == "upstage"
    )
    assert upstage["state"]["id"] == upstage["entityId"]
    assert upstage["state"]["countryCode"] == "KR"


async def test_a_follower_gets_each_new_change_once_with_who_and_what(
    api: Api, database_url: str
) -> None:
    editor = Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))
    _, cursor = await follow(api)
    created = await editor.ok(
        "createModel",
        "CreateModelInput",
        "model { id lab { id } }",
        {"slug": "solar-open", "name": "Solar Open", "lab": "upstage"},
    )
    await editor.ok(
        "createVersion",
        "CreateVersionInput",
        "version { id }",
        {"model": "solar-open", "label": "final", "stage": "FINAL"},
    )
    edges, cursor = await follow(api, cursor)
    new = [edge["node"] for edge in edges]
    assert [(n["kind"], n["actor"]) for n in new] == [
        ("MODEL_CREATED", "release-bot"),
        ("VERSION_CREATED", "release-bot"),
    ]
    model = new[0]
    assert model["entityId"] == created["model"]["id"]
    assert model["state"]["slug"] == "solar-open"
    # References are global ids, as the read API gives them.
    assert model["state"]["labId"] == created["model"]["lab"]["id"]
    assert new[1]["state"]["modelId"] == created["model"]["id"]
    # Nothing new: an empty page that keeps the consumer's cursor.
    page = (await api.data(FEED, after=cursor))["changes"]
    assert page["edges"] == []
    assert page["pageInfo"]["endCursor"] is None
    assert page["pageInfo"]["hasPreviousPage"] is True


async def test_a_removal_shows_its_kind_and_no_state(api: Api, database_url: str) -> None:
    editor = Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))
    _, cursor = await follow(api)
    link = {"parent": "gpt-5.5", "child": "solar-pro-2", "relation": "DISTILLED"}
    added = await editor.ok("linkModels", "LinkModelsInput", "link { id }", link)
    await editor.ok("unlinkModels", "UnlinkModelsInput", "link { id }", link)
    edges, _ = await follow(api, cursor)
    assert [(e["node"]["kind"], e["node"]["entityId"]) for e in edges] == [
        ("LINK_ADDED", added["link"]["id"]),
        ("LINK_REMOVED", added["link"]["id"]),
    ]
    assert edges[0]["node"]["state"]["relation"] == "DISTILLED"
    assert edges[1]["node"]["state"] is None


async def test_the_feed_is_in_commit_order_not_insert_order(api: Api, database_url: str) -> None:
    _, cursor = await follow(api)
    early, late = await connect(database_url), await connect(database_url)
    try:
        slow = early.transaction()
        await slow.start()
        # Inserted first (the smaller audit id), committed last.
        # (Labs, not scores: two score writes would queue on the rankings lock.)
        await commands.create_lab(early, "slow-writer", _lab("slow-lab"))
        await commands.create_lab(late, "fast-writer", _lab("fast-lab"))
        seen, cursor = await follow(api, cursor)
        assert [edge["node"]["actor"] for edge in seen] == ["fast-writer"]
        await slow.commit()
    finally:
        await early.close()
        await late.close()
    after, _ = await follow(api, cursor)
    assert [edge["node"]["actor"] for edge in after] == ["slow-writer"]
    rows = await _table(
        database_url,
        "SELECT actor, id FROM audit_event WHERE actor LIKE '%-writer' ORDER BY position",
    )
    assert [row["actor"] for row in rows] == ["fast-writer", "slow-writer"]
    assert rows[0]["id"] > rows[1]["id"]


LAB_MODELS = """
query UpstageModels { lab(slug: "upstage") { id models { id } } }
"""


async def test_the_feed_filters_by_kind_entity_type_and_lab(api: Api) -> None:
    scores, _ = await follow(api, kinds=["SCORE_RECORDED"])
    assert scores and {e["node"]["kind"] for e in scores} == {"SCORE_RECORDED"}
    labs, _ = await follow(api, entityTypes=["Lab"])
    assert {e["node"]["entityType"] for e in labs} == {"Lab"}
    assert {e["node"]["state"]["slug"] for e in labs} >= {"upstage", "mistral-ai"}

    lab = (await api.data(LAB_MODELS))["lab"]
    models = {model["id"] for model in lab["models"]}
    upstage, _ = await follow(api, labs=["upstage"])
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for edge in upstage:
        by_kind.setdefault(edge["node"]["kind"], []).append(edge["node"]["state"])
    # The lab itself and what is its: models, their versions and scores, links, programmes.
    assert [state["id"] for state in by_kind["LAB_CREATED"]] == [lab["id"]]
    assert {state["id"] for state in by_kind["MODEL_CREATED"]} == models
    assert {state["modelId"] for state in by_kind["VERSION_CREATED"]} == models
    assert [state["value"] for state in by_kind["SCORE_RECORDED"]] == ["40"]
    assert all(
        models & {state["parentModelId"], state["childModelId"]} for state in by_kind["LINK_ADDED"]
    )
    assert "PARTICIPANT_STATUS_SET" in by_kind
    assert "SOURCE_ADDED" not in by_kind
    both, _ = await follow(api, labs=["upstage", "mistral-ai"], kinds=["SCORE_RECORDED"])
    assert [e["node"]["state"]["value"] for e in both] == ["40", "39.2"]


async def test_the_feed_counts_what_matches(api: Api) -> None:
    page = (await api.data(FEED, first=2, kinds=["SCORE_RECORDED"]))["changes"]
    every, _ = await follow(api, kinds=["SCORE_RECORDED"])
    assert len(page["edges"]) == 2
    assert page["totalCount"] == len(every)
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["hasPreviousPage"] is False


FIRST = "query First($first: Int) { changes(first: $first) { edges { cursor } } }"


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


async def test_a_feed_page_reads_its_own_rows_not_the_whole_feed(
    api: Api, database_url: str
) -> None:
    # The feed only grows, and is counted only when totalCount is asked: a page reads the
    # page (and one row past it) from the position index, and at most a row per neighbour
    # flag, however long the feed. Measured on the statement the endpoint sent, re-run
    # under EXPLAIN ANALYZE with the same arguments (no filters, no cursors, 2 rows).
    api.queries.clear()
    assert len((await api.data(FIRST, first=2))["changes"]["edges"]) == 2
    [statement] = [sql for sql in api.queries.statements if "audit_event" in sql]
    conn = await connect(database_url)
    try:
        events = await conn.fetchval("SELECT count(*) FROM audit_event")
        explained = await conn.fetchval(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", None, None, None, None, None, None, 2
        )
    finally:
        await conn.close()
    [plan] = json.loads(explained) if isinstance(explained, str) else explained
    read = sum(
        node["Actual Rows"] * node["Actual Loops"]
        for node in _plan_nodes(plan["Plan"])
        if node.get("Relation Name") == "audit_event"
    )
    assert events > 20
    assert read <= 3 + 2


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": 101}, "OUT_OF_RANGE"),
        ({"first": -1}, "OUT_OF_RANGE"),
        ({"after": "not-a-cursor"}, "INVALID"),
        ({"after": ids.encode("Position", 3)}, "INVALID"),
        ({"after": ids.encode("Change", 2**63)}, "INVALID"),
        ({"labs": ["no-such-lab"]}, "NOT_FOUND"),
    ],
)
async def test_bad_feed_arguments_get_a_clear_code(
    api: Api, variables: dict[str, Any], code: str
) -> None:
    body = await api.graphql(FEED, **variables)
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]


async def test_the_feed_is_read_like_any_read(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        response_cache=False,
        require_reader_token=True,
    )
    async with running_api(settings) as api:
        anonymous = await Writer(api, None).run(FEED, {"first": 1})
        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        reader = Writer(api, await issue_token(database_url, "warehouse", Role.READER))
        body = await reader.run(FEED, {"first": 1})
        assert len(body["data"]["changes"]["edges"]) == 1


async def test_a_cached_feed_still_shows_every_new_write(database_url: str) -> None:
    settings = Settings(database_url=database_url, migrate_on_start=False, seed_demo=False)
    async with running_api(settings) as api:
        _, cursor = await follow(api)
        assert (await follow(api, cursor))[0] == []
        # Another replica's write: only its notification tells this process.
        conn = await connect(database_url)
        try:
            await commands.record_score(conn, "other-replica", _score("gpt-5.5", "release", 59))
        finally:
            await conn.close()
        for _ in range(200):
            seen, _ = await follow(api, cursor)
            if seen:
                break
            await asyncio.sleep(0.01)
        assert [edge["node"]["actor"] for edge in seen] == ["other-replica"]
        editor = Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))
        _, cursor = await follow(api, cursor)
        await editor.ok(
            "updateLab",
            "UpdateLabInput",
            "lab { id }",
            {"slug": "upstage", "expectedRevision": 1, "headquarters": "Seoul"},
        )
        # This replica's own write: no wait.
        seen, _ = await follow(api, cursor)
        assert [edge["node"]["kind"] for edge in seen] == ["LAB_UPDATED"]


def test_every_mutation_has_a_change_kind() -> None:
    mutation_type = build_schema(compiled=False)._schema.mutation_type
    assert mutation_type is not None
    # Commands that are no mutation (createModelFamily, for the demo data) have kinds too:
    # recording an event for an operation without one fails the write.
    assert set(mutation_type.fields) <= {kind.value for kind in ChangeKind}


async def test_every_reference_of_a_state_becomes_a_global_id(database_url: str) -> None:
    rows = await _table(
        database_url,
        """
        SELECT column_usage.column_name, target.table_name AS target
        FROM information_schema.table_constraints AS tc
        JOIN information_schema.key_column_usage AS column_usage
          ON column_usage.constraint_name = tc.constraint_name
        JOIN information_schema.constraint_column_usage AS target
          ON target.constraint_name = tc.constraint_name
        WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = 'public'
          AND column_usage.table_name NOT IN ('audit_event', 'benchmark_component')
          AND column_usage.column_name <> 'country_code'
        """,
    )
    tables = {
        "lab": "Lab",
        "model_family": "ModelFamily",
        "model": "Model",
        "model_version": "Version",
        "source": "Source",
        "benchmark": "Benchmark",
        "benchmark_version": "BenchmarkVersion",
        "score": "Score",
        "program": "Program",
        "program_participant": "ProgramParticipant",
    }
    assert rows
    for row in rows:
        assert REFERENCES.get(row["column_name"]) == tables[row["target"]], row["column_name"]


async def test_the_readme_follower_reads_every_change_then_waits_for_the_next(
    api: Api, database_url: str
) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(readme.consumer_code(readme.read()), namespace)
    follow_from = namespace["follow"]
    expected, _ = await follow(api)
    changes = follow_from(api.http)
    seen = [await anext(changes) for _ in expected]
    assert [cursor for cursor, _ in seen] == [edge["cursor"] for edge in expected]
    assert [node for _, node in seen] == [edge["node"] for edge in expected]
    # Caught up, it waits; a write arrives on a later poll.
    editor = Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))
    await editor.ok(
        "createLab",
        "CreateLabInput",
        "lab { id }",
        {"slug": "new-lab", "name": "New", "country": "FR"},
    )
    cursor, change = await asyncio.wait_for(anext(changes), timeout=30)
    assert (change["kind"], change["state"]["slug"]) == ("LAB_CREATED", "new-lab")
    # A stored cursor resumes right after it.
    resumed = follow_from(api.http, seen[-1][0])
    assert await anext(resumed) == (cursor, change)
    await changes.aclose()
    await resumed.aclose()


async def test_an_operation_without_a_kind_is_never_recorded(database_url: str) -> None:
    conn = await connect(database_url)
    try:
        with pytest.raises(ValueError, match="renameEverything"):
            await audit.record(
                conn,
                actor="someone",
                operation="renameEverything",
                entity_type="Lab",
                entity_id=1,
                before=None,
                after=None,
            )
        assert await conn.fetchval("SELECT count(*) FROM audit_event WHERE actor = 'someone'") == 0
    finally:
        await conn.close()


async def test_a_source_recorded_with_the_write_citing_it_is_a_source_added(
    api: Api, database_url: str
) -> None:
    editor = Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))
    _, cursor = await follow(api)
    article = {"kind": "NEWS", "title": "Mistral's new medium model", "publisher": "Example News"}
    await editor.ok(
        "recordScore",
        "RecordScoreInput",
        "score { id }",
        {
            "model": "mistral-medium-3.5",
            "version": "release",
            "benchmark": "aa-intelligence-index",
            "value": 39.5,
            "measuredOn": "2026-06-01",
            "provenance": "THIRD_PARTY",
            "source": {"new": article},
        },
    )
    edges, _ = await follow(api, cursor)
    nodes = [edge["node"] for edge in edges]
    assert [(n["kind"], n["entityType"]) for n in nodes] == [
        ("SOURCE_ADDED", "Source"),
        ("SCORE_RECORDED", "Score"),
    ]
    assert nodes[1]["state"]["sourceId"] == nodes[0]["entityId"]
    added, _ = await follow(api, cursor, kinds=["SOURCE_ADDED"])
    assert [edge["node"]["state"]["title"] for edge in added] == [article["title"]]
