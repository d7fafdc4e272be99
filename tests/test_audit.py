"""One audit row per successful write, none for a failed one; the log is for admins only."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from service.db.pool import connect
from service.enums import Role
from tests.conftest import Api
from tests.writing import Writer, demo_source, issue_token

SOURCE = demo_source("aa-leaderboard")
INDEX = "aa-intelligence-index"
LOG = """
query Log($entity: ID, $entityType: String, $slug: String, $actor: String,
          $since: DateTime, $after: String, $first: Int! = 50) {
  auditLog(entity: $entity, entityType: $entityType, slug: $slug, actor: $actor,
           since: $since, after: $after, first: $first) {
    edges { cursor node { id occurredAt actor operation entityType entityId before after } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}
"""


async def _events(database_url: str) -> list[asyncpg.Record]:
    conn = await connect(database_url)  # with the jsonb codec
    try:
        # Writes only: what the registry derives from them (a threshold crossed) is the feed's.
        return await conn.fetch(
            "SELECT * FROM audit_event WHERE actor <> 'demo-seed' AND cause_id IS NULL ORDER BY id"
        )
    finally:
        await conn.close()


# The release flow of the README, and refusals between its steps: (mutation, input type,
# selection, input, refused?)
STEPS: list[tuple[str, str, str, dict[str, Any], bool]] = [
    (
        "createModel",
        "CreateModelInput",
        "model { id }",
        {"slug": "solar-open", "name": "Solar Open", "lab": "upstage"},
        False,
    ),
    (
        "createVersion",
        "CreateVersionInput",
        "version { id }",
        {
            "model": "solar-open",
            "label": "preview",
            "stage": "PREVIEW",
            "announcedOn": "2026-06-01",
        },
        False,
    ),
    (
        "createVersion",
        "CreateVersionInput",
        "version { id }",
        {"model": "solar-open", "label": "preview", "stage": "PREVIEW"},
        True,
    ),
    (
        "recordScore",
        "RecordScoreInput",
        "score { id }",
        {
            "model": "solar-open",
            "version": "preview",
            "benchmark": INDEX,
            "value": 45,
            "qualifier": "AT_LEAST",
            "measuredOn": "2026-06-01",
            "provenance": "LAB_CLAIM",
            "source": SOURCE,
        },
        False,
    ),
    (
        "promoteVersion",
        "PromoteVersionInput",
        "version { id }",
        {
            "model": "solar-open",
            "preview": "preview",
            "label": "final",
            "releasedOn": "2026-07-01",
            "releasedPrecision": "DAY",
        },
        False,
    ),
    (
        "promoteVersion",
        "PromoteVersionInput",
        "version { id }",
        {"model": "solar-open", "preview": "preview", "label": "final-2"},
        True,
    ),
    (
        "recordScore",
        "RecordScoreInput",
        "score { id }",
        {
            "model": "solar-open",
            "version": "final",
            "benchmark": INDEX,
            "value": 46.2,
            "measuredOn": "2026-07-03",
            "provenance": "INDEPENDENT",
            "source": SOURCE,
        },
        False,
    ),
    (
        "updateModel",
        "UpdateModelInput",
        "model { id }",
        {"slug": "solar-open", "expectedRevision": 1, "openWeights": True},
        False,
    ),
    (
        "updateModel",
        "UpdateModelInput",
        "model { id }",
        {"slug": "solar-open", "expectedRevision": 1, "openWeights": False},
        True,
    ),
]


async def test_one_audit_row_per_successful_mutation_and_none_per_failed_one(
    api: Api, database_url: str
) -> None:
    editor = Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))
    expected = 0
    for name, input_type, selection, data, refused in STEPS:
        payload = await editor.write(name, input_type, selection, data)
        assert bool(payload["userErrors"]) == refused, (name, payload)
        expected += 0 if refused else 1
        events = await _events(database_url)
        assert len(events) == expected, name
        if not refused:
            assert (events[-1]["actor"], events[-1]["operation"]) == ("editor-bot", name)
    update = (await _events(database_url))[-1]
    assert update["entity_type"] == "Model"
    assert update["before"]["open_weights"] is False and update["before"]["revision"] == 1
    assert update["after"]["open_weights"] is True and update["after"]["revision"] == 2
    created = (await _events(database_url))[0]
    assert created["before"] is None and created["after"]["slug"] == "solar-open"


@pytest.mark.parametrize(
    ("role", "code"),
    [(None, "UNAUTHENTICATED"), (Role.READER, "FORBIDDEN"), (Role.EDITOR, "FORBIDDEN")],
)
async def test_only_admins_read_the_audit_log(
    api: Api, database_url: str, role: Role | None, code: str
) -> None:
    token = None if role is None else await issue_token(database_url, "someone", role)
    body = await Writer(api, token).run(LOG, {})
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]


async def test_the_audit_log_filters_and_pages(api: Api, database_url: str) -> None:
    editor = Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))
    admin = Writer(api, await issue_token(database_url, "admin", Role.ADMIN))
    lab = await editor.ok(
        "updateLab",
        "UpdateLabInput",
        "lab { id }",
        {"slug": "upstage", "expectedRevision": 1, "headquarters": "Yongin"},
    )
    await editor.ok(
        "updateLab",
        "UpdateLabInput",
        "lab { id }",
        {"slug": "upstage", "expectedRevision": 2, "headquarters": "Seoul"},
    )
    by_slug = (await admin.run(LOG, {"entityType": "Lab", "slug": "upstage"}))["data"]
    operations = [edge["node"]["operation"] for edge in by_slug["auditLog"]["edges"]]
    assert operations == ["createLab", "updateLab", "updateLab"]
    by_id = (await admin.run(LOG, {"entity": lab["lab"]["id"]}))["data"]
    assert by_id == by_slug
    last = by_slug["auditLog"]["edges"][-1]["node"]
    assert last["entityId"] == lab["lab"]["id"]
    assert (last["before"]["headquarters"], last["after"]["headquarters"]) == ("Yongin", "Seoul")

    assert by_slug["auditLog"]["totalCount"] == 3
    mine = (await admin.run(LOG, {"actor": "editor-bot", "first": 1}))["data"]["auditLog"]
    assert [edge["node"]["actor"] for edge in mine["edges"]] == ["editor-bot"]
    # The count is of every matching event, not of the page.
    assert mine["totalCount"] == 2
    assert mine["pageInfo"]["hasNextPage"] is True
    rest = await admin.run(LOG, {"actor": "editor-bot", "after": mine["pageInfo"]["endCursor"]})
    assert len(rest["data"]["auditLog"]["edges"]) == 1
    assert rest["data"]["auditLog"]["totalCount"] == 2
    assert rest["data"]["auditLog"]["pageInfo"]["hasNextPage"] is False

    since = last["occurredAt"]
    later = (await admin.run(LOG, {"since": since}))["data"]["auditLog"]["edges"]
    assert later == []
    bad = await admin.run(LOG, {"first": 101})
    assert bad["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"


async def test_a_lab_and_a_models_whole_lives_are_in_their_audit_logs(
    api: Api, database_url: str
) -> None:
    editor = Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))
    admin = Writer(api, await issue_token(database_url, "admin", Role.ADMIN))
    lives = {
        "Lab": ("sakana-ai", {"name": "Sakana AI", "country": "JP"}, {"headquarters": "Tokyo"}),
        "Model": ("solar-mini", {"name": "Solar Mini", "lab": "upstage"}, {"license": "MIT"}),
    }
    for entity_type, (slug, fields, change) in lives.items():
        answers = [
            await editor.ok(
                f"create{entity_type}",
                f"Create{entity_type}Input",
                "revision",
                {"slug": slug, **fields},
            ),
            await editor.ok(
                f"update{entity_type}",
                f"Update{entity_type}Input",
                "revision",
                {"slug": slug, "expectedRevision": 1, **change},
            ),
            await editor.ok(f"archive{entity_type}", "ArchiveInput", "revision", {"slug": slug}),
            await editor.ok(f"restore{entity_type}", "ArchiveInput", "revision", {"slug": slug}),
        ]
        # Each write answers with the revision it made, and its audit row records it.
        assert [answer["revision"] for answer in answers] == [1, 2, 3, 4]
        log = (await admin.run(LOG, {"entityType": entity_type, "slug": slug}))["data"]
        nodes = [edge["node"] for edge in log["auditLog"]["edges"]]
        assert [(node["operation"], node["entityType"]) for node in nodes] == [
            (f"{operation}{entity_type}", entity_type)
            for operation in ("create", "update", "archive", "restore")
        ]
        assert [node["after"]["revision"] for node in nodes] == [1, 2, 3, 4]


async def test_a_cursor_of_another_list_is_refused_naming_the_log(
    api: Api, database_url: str
) -> None:
    admin = Writer(api, await issue_token(database_url, "admin", Role.ADMIN))
    labs = await api.data("{ labs(first: 1) { edges { cursor } } }")
    cursor = labs["labs"]["edges"][0]["cursor"]
    body = await admin.run(LOG, {"after": cursor})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID"
    assert "not of this one (AuditEvent)" in error["message"]
    # An event's id is a cursor of the log's own: the log pages on from it.
    first = (await admin.run(LOG, {"first": 1}))["data"]["auditLog"]
    [edge] = first["edges"]
    assert edge["node"]["id"] == edge["cursor"]
    rest = (await admin.run(LOG, {"after": edge["node"]["id"], "first": 1}))["data"]["auditLog"]
    assert rest["edges"][0]["node"]["id"] != edge["node"]["id"]


async def test_the_log_is_counted_only_when_its_total_is_asked_for(
    api: Api, database_url: str
) -> None:
    # The log only grows: a page that counts every matching event costs more the longer it is.
    admin = Writer(api, await issue_token(database_url, "admin", Role.ADMIN))
    page = "query { auditLog(first: 2) { edges { node { operation } } %s } }"
    api.queries.clear()
    plain = await admin.run(page % "", {})
    assert len(plain["data"]["auditLog"]["edges"]) == 2
    assert not [sql for sql in api.queries.statements if "count(*)" in sql]
    api.queries.clear()
    counted = await admin.run(page % "totalCount", {})
    assert counted["data"]["auditLog"]["totalCount"] > 2
    assert len([sql for sql in api.queries.statements if "count(*)" in sql]) == 1
