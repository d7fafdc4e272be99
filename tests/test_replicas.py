"""Read replicas: queries read the replica, writes the primary, and a client its own writes.

Against a real streaming replica (tests/replica.py): its replay is paused to make it lag.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from service.app import create_app, serving
from service.cache import ResponseCache
from service.config import Settings
from service.db.routing import HEADER, Router, format_lsn, parse_lsn
from service.embedded import postgres_bin_dir
from service.enums import Role
from service.errors import EmbeddedPostgresError
from tests.conftest import QueryLog
from tests.database import build_template, with_database
from tests.replica import primary_and_replica, wait_connectable
from tests.websocket import peer, served
from tests.writing import issue_token

LAB = '{ lab(slug: "upstage") { id headquarters } }'
UPDATE = """
mutation Move($input: UpdateLabInput!) {
  updateLab(input: $input) { lab { id headquarters } userErrors { field code } } }
"""


def _embedded_installed() -> bool:
    try:
        postgres_bin_dir()
    except EmbeddedPostgresError:
        return False
    return True


# The replica is made from an embedded primary of its own, also where TEST_DATABASE_URL names
# the suite's server: only the embedded binaries are needed.
pytestmark = pytest.mark.skipif(
    not _embedded_installed(), reason="needs the embedded PostgreSQL's pg_basebackup"
)


@dataclass
class Cluster:
    primary: str
    replica: str


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with primary_and_replica(tmp_path_factory.mktemp("replication")) as found:
        yield found


@pytest.fixture(scope="module")
async def cluster(servers: tuple[str, str]) -> Cluster:
    primary_server, replica_server = servers
    await wait_connectable(replica_server)
    name = "registry_replicated"
    primary = await build_template(primary_server, name)
    conn = await asyncpg.connect(primary_server)
    try:
        # The embedded test server commits asynchronously, which delays what a replica is
        # sent by up to wal_writer_delay; the registry's deployments commit synchronously.
        await conn.execute(f"ALTER DATABASE {name} SET synchronous_commit = on")
    finally:
        await conn.close()
    replica = with_database(replica_server, name)
    await _until_replayed(replica, await _written(primary))
    return Cluster(primary, replica)


async def _written(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        found = parse_lsn(await conn.fetchval("SELECT pg_current_wal_insert_lsn()::text"))
    finally:
        await conn.close()
    assert found is not None
    return found


async def _replayed(replica: str) -> int:
    conn = await asyncpg.connect(replica)
    try:
        text = await conn.fetchval("SELECT pg_last_wal_replay_lsn()::text")
    finally:
        await conn.close()
    return parse_lsn(text) or 0


async def _until_replayed(replica: str, lsn: int, timeout: float = 30.0) -> None:
    await _until_async(lambda: _replayed(replica), lambda found: found >= lsn, timeout)


async def _until_async(
    probe: Callable[[], Any], condition: Callable[[Any], bool], timeout: float = 10.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition(await probe()):
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def probe() -> bool:
        return condition()

    await _until_async(probe, bool, timeout)


@asynccontextmanager
async def _paused(replica: str) -> AsyncIterator[asyncpg.Connection]:
    """The replica stops replaying WAL (it still receives it) until the block ends."""
    conn = await asyncpg.connect(replica)
    try:
        await conn.execute("SELECT pg_wal_replay_pause()")
        await _until_async(
            lambda: conn.fetchval("SELECT pg_get_wal_replay_pause_state()"),
            lambda state: state == "paused",
        )
        yield conn
    finally:
        await conn.execute("SELECT pg_wal_replay_resume()")
        await conn.close()


@dataclass
class Client:
    http: httpx.AsyncClient
    primary: QueryLog
    replica: QueryLog
    cache: ResponseCache | None
    token: str

    def clear(self) -> None:
        self.primary.clear()
        self.replica.clear()

    async def read(self, query: str, lsn: str | None = None) -> dict[str, Any]:
        headers = {} if lsn is None else {HEADER: lsn}
        response = await self.http.post("/graphql", json={"query": query}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def move(self, cluster: Cluster, headquarters: str) -> tuple[dict[str, Any], str]:
        """Move Upstage's headquarters; the payload and the write's token."""
        conn = await asyncpg.connect(cluster.primary)
        try:
            revision = await conn.fetchval("SELECT revision FROM lab WHERE slug = 'upstage'")
        finally:
            await conn.close()
        data = {"slug": "upstage", "expectedRevision": revision, "headquarters": headquarters}
        response = await self.http.post(
            "/graphql",
            json={"query": UPDATE, "variables": {"input": data}},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["updateLab"]
        assert payload["userErrors"] == []
        token = response.headers["X-Registry-Lsn"]  # the name README documents
        assert body["extensions"]["lsn"] == token
        return payload, token


@asynccontextmanager
async def _client(cluster: Cluster, *, cache: bool, wait_ms: int = 100) -> AsyncIterator[Client]:
    settings = Settings(
        database_url=cluster.primary,
        database_read_url=cluster.replica,
        replica_wait_ms=wait_ms,
        migrate_on_start=False,
        seed_demo=False,
        response_cache=cache,
    )
    primary, replica = QueryLog(), QueryLog()
    app = create_app(settings, on_query=primary, on_read_query=replica)
    token = await issue_token(cluster.primary, f"editor-{uuid.uuid4().hex[:8]}", Role.EDITOR)
    async with serving(app) as served:
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
            found = app.state.response_cache
            client = Client(http, primary, replica, found, token)
            if found is not None:
                # Listening, and settled on the primary's position (service.db.routing).
                await _until(lambda: found.enabled and found.settled is not None)
            await _until_replayed(cluster.replica, await _written(cluster.primary))
            yield client


async def test_the_replica_is_a_streaming_standby(cluster: Cluster) -> None:
    conn = await asyncpg.connect(cluster.replica)
    try:
        assert await conn.fetchval("SELECT pg_is_in_recovery()") is True
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await conn.execute("UPDATE lab SET name = name")
    finally:
        await conn.close()


async def test_queries_read_the_replica(cluster: Cluster) -> None:
    async with _client(cluster, cache=False) as client:
        client.clear()
        assert (await client.read(LAB))["lab"]["id"]
        assert client.replica.statements
        assert client.primary.statements == []


async def test_a_mutation_writes_and_answers_on_the_primary(cluster: Cluster) -> None:
    async with _client(cluster, cache=False) as client:
        client.clear()
        payload, token = await client.move(cluster, "Pangyo")
        assert payload["lab"]["headquarters"] == "Pangyo"
        assert parse_lsn(token) is not None
        assert client.replica.statements == []
        assert any("pg_current_wal_insert_lsn" in sql for sql in client.primary.statements)


async def test_a_read_with_the_token_sees_the_write(cluster: Cluster) -> None:
    # A generous wait: the replica catches up within it, and the read is served there.
    async with _client(cluster, cache=False, wait_ms=10_000) as client:
        _, token = await client.move(cluster, "Gangnam")
        client.clear()
        assert (await client.read(LAB, token))["lab"]["headquarters"] == "Gangnam"
        assert client.primary.statements == []
        assert client.replica.statements


async def test_a_lagging_replica_never_answers_a_tokened_read_stale(cluster: Cluster) -> None:
    async with _client(cluster, cache=False) as client:
        await client.move(cluster, "Seoul")
        await _until_replayed(cluster.replica, await _written(cluster.primary))
        async with _paused(cluster.replica):
            _, token = await client.move(cluster, "Busan")
            # Without the token the replica answers, from before the write: it really lags.
            assert (await client.read(LAB))["lab"]["headquarters"] == "Seoul"
            client.clear()
            assert (await client.read(LAB, token))["lab"]["headquarters"] == "Busan"
            # It asked the replica how far it got, then read from the primary.
            assert client.primary.statements
            assert all("pg_last_wal_replay_lsn" in sql for sql in client.replica.statements)
        metrics = (await client.http.get("/metrics")).text
        assert 'registry_db_reads_total{server="primary"} 1.0' in metrics
        assert 'registry_db_reads_total{server="replica"} 1.0' in metrics


async def test_a_tokened_read_waits_for_the_replica_to_catch_up(cluster: Cluster) -> None:
    async with _client(cluster, cache=False, wait_ms=10_000) as client:
        async with _paused(cluster.replica) as replica:
            _, token = await client.move(cluster, "Daejeon")
            client.clear()
            read = asyncio.create_task(client.read(LAB, token))
            await asyncio.sleep(0.3)
            assert not read.done()  # waiting: the replica has not replayed the write
            await replica.execute("SELECT pg_wal_replay_resume()")
            assert (await read)["lab"]["headquarters"] == "Daejeon"
        assert client.primary.statements == []


async def test_a_malformed_token_is_refused(cluster: Cluster) -> None:
    async with _client(cluster, cache=False) as client:
        # Not a position; one half empty; a half longer than PostgreSQL's 8 hex digits.
        for token in ("not-an-lsn", "0/", "/1A", "1A", "123456789/0", "0/123456789", "G/0"):
            response = await client.http.post(
                "/graphql", json={"query": LAB}, headers={"X-Registry-Lsn": token}
            )
            assert response.status_code == 400, token
            assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        # The longest a position can be written is a position.
        response = await client.http.post(
            "/graphql", json={"query": LAB}, headers={HEADER: "FFFFFFFF/FFFFFFFF"}
        )
        assert response.status_code == 200


async def test_the_cache_keeps_no_replica_answer_older_than_its_invalidation(
    cluster: Cluster,
) -> None:
    async with _client(cluster, cache=True) as client:
        cache = client.cache
        assert cache is not None
        await client.move(cluster, "Incheon")
        await _until_replayed(cluster.replica, await _written(cluster.primary))
        async with _paused(cluster.replica):
            before = cache.generation
            _, token = await client.move(cluster, "Ulsan")
            # Invalidated by the mutation and by its notifications, then settled.
            await _until(lambda: cache.generation >= before + 2)
            await asyncio.sleep(0.2)
            await _until(lambda: cache.settled is not None)
            generation = cache.generation
            assert (cache.settled or 0) >= (parse_lsn(token) or 0)
            # The replica's answer after the write is stale: served, but not kept.
            assert (await client.read(LAB))["lab"]["headquarters"] == "Incheon"
            # A read with the token would have found a kept stale answer; it reads the primary.
            assert (await client.read(LAB, token))["lab"]["headquarters"] == "Ulsan"
        await _until_replayed(cluster.replica, parse_lsn(token) or 0)
        assert cache.generation == generation  # no invalidation has hidden anything
        assert (await client.read(LAB))["lab"]["headquarters"] == "Ulsan"
        # Once the replica has caught up, its answers are kept again.
        other = '{ lab(slug: "upstage") { id name headquarters } }'
        client.clear()
        assert (await client.read(other))["lab"]["headquarters"] == "Ulsan"
        assert client.replica.statements
        client.clear()
        hits = cache.hits
        assert (await client.read(other))["lab"]["headquarters"] == "Ulsan"
        assert cache.hits == hits + 1
        assert client.replica.statements == client.primary.statements == []


async def test_readiness_asks_the_replica_too(cluster: Cluster) -> None:
    async with _client(cluster, cache=False) as client:
        assert (await client.http.get("/readyz")).status_code == 200
        client.clear()
        await client.http.get("/readyz")
        assert client.replica.statements == ["SELECT 1"]


FOLLOW_UPSTAGE = """
subscription FollowUpstage {
  changes(filter: {labs: ["upstage"]}) { cursor node { kind entityType state } }
}
"""


async def test_a_subscriber_reads_the_primary_while_the_replica_lags(cluster: Cluster) -> None:
    # The NOTIFY comes from the primary at commit: a subscription woken by it must read the
    # feed there, where the event already is, not on a replica that may not have it yet.
    settings = Settings(
        database_url=cluster.primary,
        database_read_url=cluster.replica,
        migrate_on_start=False,
        seed_demo=False,
        response_cache=False,
    )
    replica = QueryLog()
    token = await issue_token(cluster.primary, f"editor-{uuid.uuid4().hex[:8]}", Role.EDITOR)
    async with (
        served(settings, on_read_query=replica) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http,
        peer(server.url) as subscriber,
    ):
        client = Client(http, QueryLog(), replica, None, token)
        await subscriber.init()
        await subscriber.subscribe("1", FOLLOW_UPSTAGE)
        assert await subscriber.quiet()  # started: at the head of the feed
        async with _paused(cluster.replica):
            await client.move(cluster, "Suwon")
            # Delivered while the replica still lags: it cannot have come from there.
            change = (await subscriber.next("1"))["changes"]["node"]
            assert change["kind"] == "LAB_UPDATED"
            assert change["state"]["headquarters"] == "Suwon"
            assert (await client.read(LAB))["lab"]["headquarters"] != "Suwon"
        assert not any("audit_event" in sql for sql in replica.statements)


def test_a_position_is_written_back_as_postgresql_writes_it() -> None:
    for text in ("0/0", "16/B374D848", "1/0", "FFFFFFFF/FFFFFFFF"):
        assert format_lsn(parse_lsn(text) or 0) == text
    assert parse_lsn("16/B374D848") == 0x16_B374D848


async def test_a_read_url_that_is_no_standby_is_named_at_start(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="service.routing")
    standby = "is not a standby"
    async with _client(cluster, cache=False):
        pass
    assert not [r for r in caplog.records if standby in r.getMessage()]
    settings = Settings(
        database_url=cluster.primary,
        database_read_url=cluster.primary,
        migrate_on_start=False,
        seed_demo=False,
        response_cache=False,
    )
    async with serving(create_app(settings)):
        pass
    assert len([r for r in caplog.records if standby in r.getMessage()]) == 1


async def test_a_replica_that_cannot_be_asked_is_not_caught_up_and_said_once(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="service.routing")
    primary = await asyncpg.create_pool(cluster.primary, min_size=1, max_size=1)
    unreachable = await asyncpg.create_pool(cluster.replica, min_size=1, max_size=1)
    await unreachable.close()  # every acquire now fails, as on a replica that went away
    try:
        router = Router(primary, unreachable, wait_seconds=0.2)
        assert await router.reached(1, wait_seconds=0.2) is False
        read = await router.read(1)
        assert read.pool is primary and read.replayed is None
    finally:
        await primary.close()
    said = [r.getMessage() for r in caplog.records if r.name == "service.routing"]
    assert len(said) == 2 and all("cannot read the replica" in m for m in said)
