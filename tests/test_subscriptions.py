"""Subscriptions over graphql-transport-ws, against the service on a real port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from service.config import Settings
from service.enums import Role
from tests.conftest import Api, QueryLog
from tests.following import follow
from tests.websocket import Served, peer, served
from tests.writing import Writer, fetchval, issue_token

CHANGES = """
subscription Follow($after: String, $filter: ChangeFilter) {
  changes(after: $after, filter: $filter) { cursor node { kind entityType entityId actor } }
}
"""
RELEASES = """
subscription Releases($after: String, $filter: ReleaseEventFilter) {
  releaseEvents(after: $after, filter: $filter) {
    cursor kind actor version { id label stage model { id slug lab { id slug } } }
  }
}
"""
LISTENER = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()
"""


def _settings(database_url: str, **changes: Any) -> Settings:
    return Settings(database_url=database_url, migrate_on_start=False, seed_demo=False, **changes)


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Served]:
    async with served(_settings(database_url)) as found:
        yield found


@pytest.fixture
async def writer(service: Served, database_url: str) -> AsyncIterator[tuple[Api, Writer]]:
    """An editor's client of the same server, over HTTP."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.port}") as http:
        api = Api(http=http, queries=QueryLog(), app=service.app)
        yield api, Writer(api, await issue_token(database_url, "release-bot", Role.EDITOR))


async def _model(editor: Writer, slug: str, lab: str = "upstage") -> dict[str, Any]:
    data = {"slug": slug, "name": slug.title(), "lab": lab}
    model: dict[str, Any] = (
        await editor.ok("createModel", "CreateModelInput", "model { id }", data)
    )["model"]
    return model


async def _version(editor: Writer, model: str, label: str) -> dict[str, Any]:
    data = {"model": model, "label": label, "stage": "PREVIEW", "announcedOn": "2026-06-01"}
    payload = await editor.ok("createVersion", "CreateVersionInput", "version { id }", data)
    version: dict[str, Any] = payload["version"]
    return version


async def test_a_subscriber_gets_what_it_missed_then_each_change_once(
    service: Served, writer: tuple[Api, Writer]
) -> None:
    api, editor = writer
    _, cursor = await follow(api)
    missed = [await _model(editor, "solar-mini"), await _model(editor, "solar-maxi")]
    async with peer(service.url) as client:
        await client.init()
        await client.subscribe("1", CHANGES, after=cursor)
        seen = [(await client.next("1"))["changes"] for _ in missed]
        assert [edge["node"]["entityId"] for edge in seen] == [m["id"] for m in missed]
        live = await _model(editor, "solar-live")
        seen.append((await client.next("1"))["changes"])
        assert seen[-1]["node"] == {
            "kind": "MODEL_CREATED",
            "entityType": "Model",
            "entityId": live["id"],
            "actor": "release-bot",
        }
        assert await client.quiet()
    # What the subscriber saw is exactly what the feed holds after its cursor.
    edges, _ = await follow(api, cursor)
    assert [edge["cursor"] for edge in seen] == [edge["cursor"] for edge in edges]


async def test_without_a_cursor_a_subscriber_gets_only_what_commits_later(
    service: Served, writer: tuple[Api, Writer]
) -> None:
    api, editor = writer
    await _model(editor, "solar-before")
    async with peer(service.url) as client:
        await client.init()
        await client.subscribe("1", CHANGES, filter={"entityTypes": ["Model"]})
        assert await client.quiet()
        later = await _model(editor, "solar-after")
        assert (await client.next("1"))["changes"]["node"]["entityId"] == later["id"]


async def test_after_the_listen_connection_drops_nothing_is_lost(
    service: Served, writer: tuple[Api, Writer], database_url: str
) -> None:
    api, editor = writer
    async with peer(service.url) as client:
        await client.init()
        await client.subscribe("1", CHANGES, filter={"entityTypes": ["Model"]})
        assert await client.quiet()
        listener = await fetchval(database_url, LISTENER)
        assert listener is not None
        assert await fetchval(database_url, "SELECT pg_terminate_backend($1)", listener)
        # Written while nobody in this process listens: no notification reaches it.
        written = [await _model(editor, "solar-gap-1"), await _model(editor, "solar-gap-2")]
        received = [(await client.next("1"))["changes"]["node"] for _ in written]
        assert [node["entityId"] for node in received] == [m["id"] for m in written]
        assert await fetchval(database_url, LISTENER) not in (None, listener)
        after = await _model(editor, "solar-after-reconnect")
        assert (await client.next("1"))["changes"]["node"]["entityId"] == after["id"]


async def test_release_events_follow_the_labs_of_a_country(
    service: Served, writer: tuple[Api, Writer]
) -> None:
    api, editor = writer
    await _model(editor, "solar-next-gen", lab="upstage")
    await _model(editor, "mistral-next-gen", lab="mistral-ai")
    async with peer(service.url) as client:
        await client.init()
        await client.subscribe("kr", RELEASES, filter={"countries": ["KR"]})
        await client.subscribe("mistral", RELEASES, filter={"labs": ["mistral-ai"]})
        assert await client.quiet()
        await _version(editor, "mistral-next-gen", "preview")
        korean = await _version(editor, "solar-next-gen", "preview")
        found = {}
        for _ in range(2):
            message = await client.receive()
            assert message["type"] == "next", message
            found[message["id"]] = message["payload"]["data"]["releaseEvents"]
        assert found["kr"]["kind"] == "VERSION_CREATED"
        assert found["kr"]["version"]["id"] == korean["id"]
        assert found["kr"]["version"]["model"]["lab"]["slug"] == "upstage"
        assert found["mistral"]["version"]["model"]["slug"] == "mistral-next-gen"
        assert await client.quiet()


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"filter": {"labs": ["no-such-lab"]}}, "NOT_FOUND"),
        ({"filter": {"countries": ["XX"]}}, "BAD_USER_INPUT"),
        ({"after": "not-a-cursor"}, "INVALID"),
    ],
)
async def test_a_bad_filter_is_an_error_message(
    service: Served, variables: dict[str, Any], code: str
) -> None:
    async with peer(service.url) as client:
        await client.init()
        await client.subscribe("1", RELEASES, **variables)
        message = await client.receive()
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == code
        # The connection stays usable.
        await client.send({"type": "ping"})
        assert (await client.receive())["type"] == "pong"


async def test_the_cost_limit_applies_to_subscriptions(database_url: str) -> None:
    document = """
    subscription Heavy { releaseEvents { cursor version { id hardwareTargets { id } } } }
    """
    async with (
        served(_settings(database_url, max_query_cost=5)) as service,
        peer(service.url) as client,
    ):
        await client.init()
        await client.subscribe("1", document)
        message = await client.receive()
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_queries_also_run_over_the_socket(service: Served) -> None:
    async with peer(service.url) as client:
        await client.init()
        await client.subscribe("q", 'query Lab { lab(slug: "upstage") { id name } }')
        data = await client.next("q")
        assert data["lab"]["name"] == "Upstage"
        assert (await client.receive()) == {"id": "q", "type": "complete"}


async def test_the_token_goes_in_connection_init(database_url: str) -> None:
    reader = await issue_token(database_url, "newsroom-bot", Role.READER)
    settings = _settings(database_url, require_reader_token=True)
    async with served(settings) as service:
        async with peer(service.url) as client:
            await client.send({"type": "connection_init", "payload": {}})
            assert await client.closed() == (4403, "Forbidden")
        async with peer(service.url) as client:
            await client.send(
                {"type": "connection_init", "payload": {"authorization": "Bearer mrr_wrong"}}
            )
            assert await client.closed() == (4403, "Forbidden")
        async with peer(service.url) as client:
            await client.init({"authorization": f"Bearer {reader}"})
            await client.subscribe("1", CHANGES)
            assert await client.quiet()
        # A header on the handshake works too (for clients that can set one).
        headers = {"Authorization": f"Bearer {reader}"}
        async with peer(service.url, headers=headers) as client:
            await client.init()


async def test_protocol_errors_close_with_the_protocol_codes(database_url: str) -> None:
    async with served(_settings(database_url, websocket_init_timeout=0.3)) as service:
        async with peer(service.url) as client:
            await client.subscribe("1", CHANGES)
            assert await client.closed() == (4401, "Unauthorized")
        async with peer(service.url) as client:
            await client.init()
            await client.send({"type": "connection_init"})
            assert (await client.closed())[0] == 4429
        async with peer(service.url) as client:
            await client.send({"type": "no-such-type"})
            assert (await client.closed())[0] == 4400
        async with peer(service.url) as client:
            await client.ws.send("not json")
            assert (await client.closed())[0] == 4400
        async with peer(service.url) as client:
            assert (await client.closed())[0] == 4408  # no connection_init in time


async def test_subscriptions_and_connections_are_capped(database_url: str) -> None:
    settings = _settings(database_url, websocket_max_subscriptions=1, websocket_max_connections=1)
    async with served(settings) as service:
        async with peer(service.url) as client:
            await client.init()
            await client.subscribe("1", CHANGES)
            await client.subscribe("2", CHANGES)
            message = await client.receive()
            assert (message["id"], message["type"]) == ("2", "error")
            async with peer(service.url) as second:
                assert (await second.closed())[0] == 1013
            metrics = await _metrics(service)
            assert "registry_websocket_connections 1.0" in metrics
            assert "registry_subscriptions 1.0" in metrics
        # Once the first has gone, another may connect.
        await _until_no_connections(service)
        async with peer(service.url) as client:
            await client.init()


async def test_pages_of_other_origins_are_refused(database_url: str) -> None:
    settings = _settings(database_url, websocket_allowed_origins=["https://news.example"])
    async with served(settings) as service:
        with pytest.raises(InvalidStatus) as refused:
            async with peer(service.url, origin="https://evil.example"):
                pass
        assert refused.value.response.status_code == 403
        async with peer(service.url, origin="https://news.example") as client:
            await client.init()
        async with peer(service.url, origin=f"http://127.0.0.1:{service.port}") as client:
            await client.init()  # the registry's own pages


async def test_shutting_down_closes_with_going_away(database_url: str) -> None:
    async with served(_settings(database_url)) as service:
        async with peer(service.url) as client:
            await client.init()
            await client.subscribe("1", CHANGES)
            await service.app.state.sockets.close_all()
            assert (await client.closed())[0] == 1001
        with pytest.raises(Exception):  # noqa: B017 - refused or closed, either way not served
            async with peer(service.url) as client:
                await client.init()


async def test_subscriptions_can_be_switched_off(database_url: str) -> None:
    async with served(_settings(database_url, subscriptions=False)) as service:
        with pytest.raises(InvalidStatus) as refused:
            async with peer(service.url):
                pass
        assert refused.value.response.status_code == 403


async def _metrics(service: Served) -> str:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.port}") as http:
        return (await http.get("/metrics")).text


async def _until_no_connections(service: Served) -> None:
    for _ in range(100):
        if len(service.app.state.sockets) == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("connections still open")
