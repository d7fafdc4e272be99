"""The Idempotency-Key header: one execution per key, replayed responses, refused reuse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.enums import Role
from tests.conftest import Api
from tests.writing import Writer, fetchval, issue_token, mutation

CREATE = mutation("createVersion", "CreateVersionInput", "version { id label } revision")
VERSION = {"model": "solar-next", "label": "2.0", "stage": "FINAL"}
COUNT = "SELECT count(*) FROM model_version WHERE label = $1"


@pytest.fixture
async def editor(api: Api, database_url: str) -> AsyncIterator[Writer]:
    yield Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def test_a_retry_with_the_same_key_returns_the_first_response_and_writes_once(
    editor: Writer, database_url: str
) -> None:
    first = await editor.post(CREATE, {"input": VERSION}, _key("retry-1"))
    second = await editor.post(CREATE, {"input": VERSION}, _key("retry-1"))
    assert first.json()["data"]["createVersion"]["userErrors"] == []
    assert second.content == first.content
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert await fetchval(database_url, COUNT, "2.0") == 1
    audited = "SELECT count(*) FROM audit_event WHERE actor = 'editor-bot'"
    assert await fetchval(database_url, audited) == 1


async def test_without_a_key_a_retry_runs_again(editor: Writer) -> None:
    await editor.post(CREATE, {"input": VERSION})
    again = (await editor.post(CREATE, {"input": VERSION})).json()
    assert again["data"]["createVersion"]["userErrors"][0]["code"] == "ALREADY_EXISTS"


async def test_the_same_key_with_another_input_is_refused(
    editor: Writer, database_url: str
) -> None:
    await editor.post(CREATE, {"input": VERSION}, _key("reused"))
    other = {**VERSION, "label": "3.0"}
    body = (await editor.post(CREATE, {"input": other}, _key("reused"))).json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await fetchval(database_url, COUNT, "3.0") == 0


async def test_keys_belong_to_their_actor(editor: Writer, api: Api, database_url: str) -> None:
    other = Writer(api, await issue_token(database_url, "other-bot", Role.EDITOR))
    await editor.post(CREATE, {"input": VERSION}, _key("shared"))
    body = (await other.post(CREATE, {"input": VERSION}, _key("shared"))).json()
    # Not a replay of someone else's response: it ran, and the label was taken.
    assert body["data"]["createVersion"]["userErrors"][0]["code"] == "ALREADY_EXISTS"


async def test_user_errors_are_replayed_and_graphql_errors_are_not_stored(
    editor: Writer, api: Api, database_url: str
) -> None:
    bad = {**VERSION, "model": "nope"}
    first = await editor.post(CREATE, {"input": bad}, _key("bad"))
    again = await editor.post(CREATE, {"input": bad}, _key("bad"))
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    reader = Writer(api, await issue_token(database_url, "reader", Role.READER))
    await reader.post(CREATE, {"input": VERSION}, _key("forbidden"))
    stored = "SELECT count(*) FROM idempotency_key WHERE key = 'forbidden'"
    assert await fetchval(database_url, stored) == 0


async def test_expired_keys_are_purged_and_the_key_runs_again(
    editor: Writer, database_url: str
) -> None:
    await editor.post(CREATE, {"input": VERSION}, _key("old"))
    await fetchval(
        database_url,
        "UPDATE idempotency_key SET expires_at = now() - interval '1 second' RETURNING key",
    )
    body = (await editor.post(CREATE, {"input": VERSION}, _key("old"))).json()
    assert body["data"]["createVersion"]["userErrors"][0]["code"] == "ALREADY_EXISTS"
    expiry = "SELECT expires_at - created_at FROM idempotency_key WHERE key = 'old'"
    assert str(await fetchval(database_url, expiry)) == "1 day, 0:00:00"


async def test_two_identical_requests_in_flight_run_once(editor: Writer, database_url: str) -> None:
    responses = await asyncio.gather(
        *(editor.post(CREATE, {"input": VERSION}, _key("racing")) for _ in range(5))
    )
    bodies: list[dict[str, Any]] = [response.json() for response in responses]
    succeeded = [body for body in bodies if "errors" not in body]
    in_progress = [body for body in bodies if "errors" in body]
    # The first runs; the others either replay it or, while it runs, get CONFLICT.
    assert all(body == succeeded[0] for body in succeeded)
    assert succeeded[0]["data"]["createVersion"]["userErrors"] == []
    assert all(body["errors"][0]["extensions"]["code"] == "CONFLICT" for body in in_progress)
    assert await fetchval(database_url, COUNT, "2.0") == 1


async def test_queries_ignore_the_key(editor: Writer) -> None:
    body = await editor.run("{ labs(first: 1) { edges { node { slug } } } }", {}, _key("q"))
    assert "errors" not in body


async def test_an_overlong_key_is_refused(editor: Writer) -> None:
    body = (await editor.post(CREATE, {"input": VERSION}, _key("k" * 256))).json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID"
