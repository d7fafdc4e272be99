"""The process's WebSocket connections: graphql-transport-ws as strawberry speaks it, bounded.

strawberry's handler implements the protocol and its close codes: 4400 for a malformed
message, 4401 for a subscribe before the connection is acknowledged, 4403 when
connection_init's credentials are refused, 4408 when connection_init does not come in time,
4409 for a reused operation id, 4429 for a second connection_init. This module adds what a
process needs around it:

- at most `limit` connections: one more is accepted and closed at once with 1013 (try again
  later), which clients such as graphql-ws retry with back-off;
- when the server shuts down (SIGTERM), every connection is closed with 1001 (going away)
  before the server stops, so clients reconnect to another replica and resume from their
  last cursor; connections that arrive meanwhile get 1001 too;
- the number of open connections, for /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any, cast

import orjson
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from service.graphql.context import Context

TRY_AGAIN_LATER = 1013
GOING_AWAY = 1001

logger = logging.getLogger("service.sockets")


Handler = BaseGraphQLTransportWSHandler[Context, None]


class Sockets:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.closing = False
        self._open: set[Handler] = set()
        self._empty = asyncio.Event()
        self._empty.set()

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, handler: Handler) -> tuple[int, str] | None:
        """Hold the connection; or the close code and reason it gets instead."""
        if self.closing:
            return GOING_AWAY, "the server is shutting down"
        if len(self._open) >= self.limit:
            return TRY_AGAIN_LATER, "too many connections; retry later"
        self._open.add(handler)
        self._empty.clear()
        return None

    def release(self, handler: Handler) -> None:
        self._open.discard(handler)
        if not self._open:
            self._empty.set()

    async def close_all(self, timeout: float = 5.0) -> None:
        """Close every connection with 1001 and wait (up to `timeout`) until they have ended."""
        self.closing = True
        for handler in list(self._open):
            with contextlib.suppress(Exception):  # a peer that is already gone
                await handler.websocket.close(GOING_AWAY, "the server is shutting down")
        try:
            await asyncio.wait_for(self._empty.wait(), timeout)
        except TimeoutError:
            logger.warning("%d WebSocket connections did not end in time", len(self._open))


class TextWebSocket(ASGIWebSocketAdapter):
    """Messages as text frames, as the protocol says: strawberry sends bytes as a binary frame,
    which graphql-ws clients refuse, and the view encodes JSON to bytes (orjson)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class TransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """strawberry's graphql-transport-ws handler, counted and bounded by the view's Sockets."""

    async def handle(self) -> None:
        sockets: Sockets = cast(Any, self.view).sockets
        refused = sockets.admit(self)
        if refused is not None:
            await self.websocket.close(*refused)
            return
        try:
            await super().handle()
        finally:
            sockets.release(self)
