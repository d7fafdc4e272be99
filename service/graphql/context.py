"""The typed per-request context every resolver receives through `Info[Context]`."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as StrawberryInfo

from service.auth import ANONYMOUS, Principal
from service.db.routing import Router
from service.graphql.errors import ClientError
from service.graphql.loaders import BatchSpan, Loaders, untraced


@dataclass
class Context:
    request: Request
    response: Response
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
