"""Helpers of the subscription tests: the service on a real port, a graphql-transport-ws peer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from service.app import create_app, serving
from service.config import Settings

PROTOCOL = "graphql-transport-ws"
WAIT = 5.0


@dataclass
class Served:
    """The app behind uvicorn in the test's event loop, on a port of its own."""

    app: Starlette
    server: uvicorn.Server
    port: int

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


@asynccontextmanager
async def served(settings: Settings, **options: Any) -> AsyncIterator[Served]:
    """`options` go to create_app (on_query, on_read_query ...)."""
    app = create_app(settings, **options)
    async with serving(app) as asgi:
        config = uvicorn.Config(
            asgi, host="127.0.0.1", port=0, lifespan="off", log_config=None, access_log=False
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield Served(app, server, port)
        finally:
            sockets = app.state.sockets
            if sockets is not None:
                await sockets.close_all()
            server.should_exit = True
            await task


class Peer:
    """One graphql-transport-ws connection, message by message."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, timeout: float = WAIT) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(frame, str), "graphql-transport-ws messages are text frames"
        message: dict[str, Any] = json.loads(frame)
        return message

    async def closed(self, timeout: float = WAIT) -> tuple[int | None, str]:
        """The close code and reason, once the server has closed (messages before: skipped)."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except ConnectionClosed as exc:
            return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")

    async def init(self, payload: dict[str, Any] | None = None) -> None:
        await self.send({"type": "connection_init", "payload": payload or {}})
        assert (await self.receive())["type"] == "connection_ack"

    async def subscribe(self, id_: str, query: str, **variables: Any) -> None:
        payload = {"query": query, "variables": variables}
        await self.send({"id": id_, "type": "subscribe", "payload": payload})

    async def next(self, id_: str, timeout: float = WAIT) -> dict[str, Any]:
        """The data of the next event of subscription `id_`; errors fail the test."""
        message = await self.receive(timeout)
        assert message["id"] == id_, message
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message["payload"]
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def quiet(self, timeout: float = 0.3) -> bool:
        """True when nothing arrives within `timeout`."""
        try:
            message = await self.receive(timeout)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message}")


@asynccontextmanager
async def peer(
    url: str, *, origin: str | None = None, headers: dict[str, str] | None = None
) -> AsyncIterator[Peer]:
    async with connect(
        url,
        subprotocols=[PROTOCOL],  # type: ignore[list-item]  # a Subprotocol is a str
        origin=origin,  # type: ignore[arg-type]  # an Origin is a str
        additional_headers=headers,
        open_timeout=WAIT,
    ) as ws:
        yield Peer(ws)
