"""The Idempotency-Key header: one execution per key, replayed responses, refused reuse."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from strawberry.http import GraphQLRequestData

from service.enums import Role
from service.idempotency import request_hash
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


LAB = '{ lab(slug: "upstage") { id headquarters } }'


async def test_a_query_with_a_key_is_neither_stored_nor_replayed(
    editor: Writer, database_url: str
) -> None:
    first = await editor.post(LAB, {}, _key("read-1"))
    await fetchval(
        database_url,
        "UPDATE lab SET headquarters = 'Seongnam' WHERE slug = 'upstage' RETURNING slug",
    )
    second = await editor.post(LAB, {}, _key("read-1"))
    assert first.json()["data"]["lab"]["headquarters"] == "Seoul"
    assert second.json()["data"]["lab"]["headquarters"] == "Seongnam"
    assert "idempotent-replayed" not in second.headers
    assert await fetchval(database_url, "SELECT count(*) FROM idempotency_key") == 0


async def _plant_claim(database_url: str, key: str, age: dt.timedelta) -> None:
    """The claim of a request that died `age` ago without an answer (a crash, a lost
    connection), for the request CREATE with VERSION that the tests retry."""
    digest = request_hash(GraphQLRequestData(CREATE, {"input": VERSION}, None, None))
    await fetchval(
        database_url,
        "INSERT INTO idempotency_key (key, actor, request_hash, response, created_at, expires_at)"
        " VALUES ($1, 'editor-bot', $2, 'null'::jsonb, now() - $3::interval,"
        "         now() + interval '1 day') RETURNING key",
        key,
        digest,
        age,
    )


async def test_a_claim_abandoned_for_over_five_minutes_is_taken_over(
    editor: Writer, database_url: str
) -> None:
    await _plant_claim(database_url, "died", dt.timedelta(minutes=5, seconds=30))
    taken = await editor.post(CREATE, {"input": VERSION}, _key("died"))
    assert taken.json()["data"]["createVersion"]["userErrors"] == []
    assert "idempotent-replayed" not in taken.headers
    assert await fetchval(database_url, COUNT, "2.0") == 1
    # The retry's answer is now the key's answer.
    again = await editor.post(CREATE, {"input": VERSION}, _key("died"))
    assert again.content == taken.content
    assert again.headers["idempotent-replayed"] == "true"


async def test_an_abandoned_claim_is_taken_over_by_one_retry_only(
    editor: Writer, database_url: str
) -> None:
    await _plant_claim(database_url, "died", dt.timedelta(minutes=6))
    responses = await asyncio.gather(
        *(editor.post(CREATE, {"input": VERSION}, _key("died")) for _ in range(5))
    )
    bodies: list[dict[str, Any]] = [response.json() for response in responses]
    succeeded = [body for body in bodies if "errors" not in body]
    # One retry takes the claim over and runs; the others wait for it (CONFLICT) or replay it.
    assert all(body == succeeded[0] for body in succeeded)
    assert succeeded[0]["data"]["createVersion"]["userErrors"] == []
    others = [body["errors"][0]["extensions"]["code"] for body in bodies if "errors" in body]
    assert others == ["CONFLICT"] * len(others)


async def test_a_claim_younger_than_five_minutes_is_still_running(
    editor: Writer, database_url: str
) -> None:
    await _plant_claim(database_url, "slow", dt.timedelta(minutes=4, seconds=30))
    body = (await editor.post(CREATE, {"input": VERSION}, _key("slow"))).json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["CONFLICT"]
    assert await fetchval(database_url, COUNT, "2.0") == 0


async def test_a_key_released_between_claim_and_look_up_is_claimed_again(
    editor: Writer, database_url: str
) -> None:
    # The first request with this key fails and releases it just after our claim found it
    # taken: a statement trigger deletes the planted claim at the end of every INSERT into
    # the table, so the look-up that follows finds nothing, deterministically.
    await _plant_claim(database_url, "released", dt.timedelta(minutes=1))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            CREATE FUNCTION release_planted() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM idempotency_key
                WHERE key = 'released' AND created_at < now() - interval '30 seconds';
                RETURN NULL;
            END $$;
            CREATE TRIGGER release_planted AFTER INSERT ON idempotency_key
            FOR EACH STATEMENT EXECUTE FUNCTION release_planted();
            """
        )
    finally:
        await conn.close()
    response = await editor.post(CREATE, {"input": VERSION}, _key("released"))
    assert response.json()["data"]["createVersion"]["userErrors"] == []
    assert await fetchval(database_url, COUNT, "2.0") == 1


async def test_a_request_that_failed_frees_its_key_for_a_retry(
    editor: Writer, database_url: str
) -> None:
    # A variable of the wrong shape fails in execution: a GraphQL error, nothing written.
    broken = {"input": {**VERSION, "stage": "SOON"}}
    first = (await editor.post(CREATE, broken, _key("failed"))).json()
    again = await editor.post(CREATE, broken, _key("failed"))
    assert first["data"] is None
    assert again.json() == first  # ran again and failed alike: not CONFLICT, not a replay
    assert "idempotent-replayed" not in again.headers
    stored = "SELECT count(*) FROM idempotency_key WHERE key = 'failed'"
    assert await fetchval(database_url, stored) == 0


@pytest.mark.parametrize(("length", "accepted"), [(0, False), (1, True), (255, True), (256, False)])
async def test_a_key_has_1_to_255_characters(
    editor: Writer, database_url: str, length: int, accepted: bool
) -> None:
    body = (await editor.post(CREATE, {"input": VERSION}, _key("k" * length))).json()
    stored = await fetchval(database_url, "SELECT count(*) FROM idempotency_key")
    if accepted:
        assert body["data"]["createVersion"]["userErrors"] == []
        assert stored == 1
    else:
        assert [error["extensions"]["code"] for error in body["errors"]] == ["INVALID"]
        assert body["errors"][0]["message"] == "an Idempotency-Key has 1 to 255 characters"
        assert stored == 0
        assert await fetchval(database_url, COUNT, "2.0") == 0


async def test_each_key_of_one_actor_keeps_its_own_claim_and_answer(
    editor: Writer, database_url: str
) -> None:
    for key, age in (("died-a", 6), ("died-b", 6), ("running", 1)):
        await _plant_claim(database_url, key, dt.timedelta(minutes=age))
    taken = await editor.post(CREATE, {"input": VERSION}, _key("died-a"))
    assert taken.json()["data"]["createVersion"]["userErrors"] == []
    # A failure releases its own claim only.
    await editor.post(CREATE, {"input": {**VERSION, "stage": "SOON"}}, _key("failed"))
    running = (await editor.post(CREATE, {"input": VERSION}, _key("running"))).json()
    assert [error["extensions"]["code"] for error in running["errors"]] == ["CONFLICT"]
    # Taking died-a over left died-b abandoned, and died-a's answer is not died-b's.
    other = await editor.post(CREATE, {"input": VERSION}, _key("died-b"))
    assert "idempotent-replayed" not in other.headers
    assert other.json()["data"]["createVersion"]["userErrors"][0]["code"] == "ALREADY_EXISTS"
    again = await editor.post(CREATE, {"input": VERSION}, _key("died-a"))
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == taken.content
