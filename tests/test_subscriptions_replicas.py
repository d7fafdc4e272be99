"""Two `registry serve` processes on one database: a write on one reaches the other's subscribers.

Real processes, each with its own LISTEN connection and pool, as two replicas behind a load
balancer; the subscriber speaks graphql-transport-ws over a real socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from service.enums import Role
from tests.conftest import Api, QueryLog
from tests.websocket import peer
from tests.writing import Writer, issue_token

START_SECONDS = 60.0  # the machine may be busy
DELIVERY_SECONDS = 1.0

FOLLOW = """
subscription Follow($filter: ChangeFilter) {
  changes(filter: $filter) { cursor node { kind entityId } }
}
"""


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    port: int
    err: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _ready(replica: Replica) -> None:
    deadline = time.monotonic() + START_SECONDS
    async with httpx.AsyncClient(base_url=replica.http) as http:
        while True:
            assert replica.process.poll() is None, replica.err.read_text(errors="replace")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            assert time.monotonic() < deadline, "the replica did not get ready"
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def _replicas(database_url: str, tmp_path: Path) -> AsyncIterator[Callable[[str], Replica]]:
    started: list[Replica] = []
    env = os.environ | {
        "DATABASE_URL": database_url,
        "REGISTRY_MIGRATE_ON_START": "false",
        "REGISTRY_SEED_DEMO": "false",
    }

    def start(name: str) -> Replica:
        port = _free_port()
        err = tmp_path / f"{name}.err"
        with open(err, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "service", "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=out,
            )
        started.append(Replica(process, port, err))
        return started[-1]

    try:
        yield start
    finally:
        for replica in started:
            replica.process.kill()
            replica.process.wait()


async def test_a_write_on_one_replica_reaches_a_subscriber_of_the_other(
    database_url: str, tmp_path: Path
) -> None:
    token = await issue_token(database_url, "release-bot", Role.EDITOR)
    async with _replicas(database_url, tmp_path) as start:
        a, b = start("a"), start("b")
        await asyncio.gather(_ready(a), _ready(b))
        async with (
            httpx.AsyncClient(base_url=a.http) as http,
            peer(b.ws) as subscriber,
        ):
            editor = Writer(Api(http=http, queries=QueryLog(), app=None), token)  # type: ignore[arg-type]
            await subscriber.init()
            await subscriber.subscribe("1", FOLLOW, filter={"entityTypes": ["Model"]})
            assert await subscriber.quiet()
            for slug in ("solar-one", "solar-two", "solar-three"):
                data = {"slug": slug, "name": slug.title(), "lab": "upstage"}
                created = await editor.ok("createModel", "CreateModelInput", "model { id }", data)
                written = time.monotonic()
                change = (await subscriber.next("1", timeout=DELIVERY_SECONDS))["changes"]
                took = time.monotonic() - written
                assert change["node"] == {
                    "kind": "MODEL_CREATED",
                    "entityId": created["model"]["id"],
                }
                assert took < DELIVERY_SECONDS
            assert await subscriber.quiet()

            # SIGTERM: B says it is going away (1001), and exits cleanly.
            b.process.send_signal(signal.SIGTERM)
            assert (await subscriber.closed())[0] == 1001
        assert b.process.wait(START_SECONDS) == 0
