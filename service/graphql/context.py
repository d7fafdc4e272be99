"""The typed per-request context every resolver receives through `Info[Context]`."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from service.auth import ANONYMOUS, Principal
from service.db.routing import Router
from service.fanout import Fanout
from service.graphql.errors import ClientError
from service.graphql.loaders import BatchSpan, Loaders, untraced


@dataclass
class Context:
    # Over HTTP, one request; over a WebSocket, the connection and all its operations.
    request: Request | WebSocket
    response: Response | WebSocket
    pool: asyncpg.Pool
    request_id: str
    principal: Principal = ANONYMOUS
    # Set when the request's credentials were refused (or a required token is missing): the
    # view answers with this error instead of executing anything.
    refusal: ClientError | None = None
    # With a read replica: where queries go, and the WAL position (X-Registry-Lsn) the
    # client's reads must include (service.db.routing). `pool` is the primary until a query
    # is routed.
    router: Router | None = None
    lsn: int | None = None
    batch_span: BatchSpan = untraced  # service.tracing's, when traces are on
    # The WebSocket view's: what wakes subscriptions, and the connection_init payload.
    fanout: Fanout | None = None
    connection_params: dict[str, object] | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.renew_loaders()

    def renew_loaders(self) -> None:
        """Fresh loaders: their caches must never outlive one response, nor a write."""
        self.loaders = Loaders(self.pool, self.batch_span)

    def use(self, pool: asyncpg.Pool) -> None:
        """Read from `pool` from now on (the router's choice for a query)."""
        if pool is not self.pool:
            self.pool = pool
            self.renew_loaders()


Info = StrawberryInfo[Context, None]
