"""The ASGI application: routes, and a lifespan that owns the database and its pool.

The embedded PostgreSQL is imported only when DATABASE_URL is unset (`service.database`), so a
deployment that sets it never loads the embedded server, nor needs the `[embedded]` extra.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TypedDict

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError, SubscriptionExecutionResult

from service import changes, database, idempotency, migrate, seed
from service.auth import ANONYMOUS, UNAUTHENTICATED, Principal, Unauthenticated, authenticate
from service.cache import ResponseCache
from service.config import Settings
from service.database import Database
from service.db import labs
from service.db.pool import QueryHook, create_pool, reconnect
from service.graphql.context import Context
from service.graphql.errors import ClientError
from service.graphql.schema import build_schema

if TYPE_CHECKING:
    # strawberry's own HTTP adapter layer, named here only to type the override below.
    from cross_web import AsyncHTTPRequestAdapter

    from service.supervisor import FatalHook

logger = logging.getLogger("service")


class State(TypedDict):
    pool: asyncpg.Pool
    settings: Settings
    database: Database


class RegistryGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        assert isinstance(request, Request), "the registry serves no websockets"
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        principal, refusal = await _principal(request)
        return Context(
            request=request,
            response=response,
            pool=request.state.pool,
            request_id=request_id,
            principal=principal,
            refusal=refusal,
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        # Refused credentials end the request here, as a GraphQL error (HTTP 200) that nothing
        # masks, before any resolver runs; GraphiQL itself is served before this point.
        if context.refusal is not None:
            refused = _refused(context.refusal)
            return [refused for _ in request_data] if isinstance(request_data, list) else refused

        async def execute() -> Any:
            return await super(RegistryGraphQL, self).execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )

        key = request.headers.get(idempotency.HEADER)
        if (
            key is None
            or isinstance(request_data, list)
            or not context.principal.is_authenticated
            or not idempotency.is_mutation(request_data)
        ):
            return await execute()  # type: ignore[no-any-return]

        async def encode(result: ExecutionResult) -> str:
            return self.encode_json(await self.process_result(request, result)).decode()

        try:
            result, replayed = await idempotency.run_once(
                context.pool, key, context.principal.name, request_data, execute, encode
            )
        except idempotency.KeyRefused as exc:
            return PreExecutionError(data=None, errors=[ClientError(str(exc), exc.code)])
        if replayed:
            sub_response.headers[idempotency.REPLAYED_HEADER] = "true"
        return result

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


async def _principal(request: Request) -> tuple[Principal, Unauthenticated | None]:
    header = request.headers.get("authorization")
    settings: Settings = request.state.settings
    if header is None:
        # Anonymous requests cost no database round trip.
        if settings.require_reader_token:
            return ANONYMOUS, Unauthenticated("this registry needs an API token")
        return ANONYMOUS, None
    try:
        async with request.state.pool.acquire() as conn:
            principal = await authenticate(conn, header)
    except Unauthenticated as exc:
        # A wrong token is refused even for public reads: its sender should learn it is wrong.
        return ANONYMOUS, exc
    return principal, None


def _refused(error: Unauthenticated) -> ExecutionResult:
    return PreExecutionError(data=None, errors=[ClientError(str(error), UNAUTHENTICATED)])


async def healthz(request: Request) -> Response:
    # Liveness: the process can go on. It cannot once its embedded PostgreSQL died and could
    # not be started again; an orchestrator should then restart it. A database that is merely
    # unreachable is for readiness to report: restarting us would not bring it back.
    if request.state.database.failure is not None:
        return JSONResponse({"status": "failed"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    if request.state.database.down:  # the embedded server is restarting: no need to ask it
        return JSONResponse({"status": "unavailable"}, status_code=503)
    try:
        async with request.state.pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})


async def _load_demo_data(settings: Settings, pool: asyncpg.Pool) -> None:
    if not settings.seed_demo:
        return
    async with pool.acquire() as conn:
        # Demo data goes into an empty registry only; a registry with labs keeps what it has.
        if await labs.list_visible(conn, 1):
            return
        written = await seed.seed(conn)
    logger.info("loaded %d demo entries", written)


def create_app(
    settings: Settings, *, on_query: QueryHook | None = None, on_fatal: FatalHook | None = None
) -> Starlette:
    """The service; `on_fatal` hears when it cannot go on (the CLI then exits non-zero)."""
    cache = (
        ResponseCache(settings.response_cache_mb * 1024 * 1024) if settings.response_cache else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        async with contextlib.AsyncExitStack() as stack:
            db = await stack.enter_async_context(database.opened(settings, on_fatal=on_fatal))
            logger.info("database: %s", db.description)
            if settings.migrate_on_start:
                await migrate.upgrade_async(db.dsn)
            pool = await create_pool(
                db.dsn,
                min_size=settings.pool_min_size,
                max_size=settings.pool_max_size,
                on_query=on_query,
            )
            stack.push_async_callback(pool.close)
            if db.supervisor is not None:
                db.supervisor.on_restart(lambda dsn: reconnect(pool, dsn))
            await _load_demo_data(settings, pool)
            if cache is not None:
                await stack.enter_async_context(changes.listening(lambda: db.dsn, cache))
            # Everything built so far lives as long as the process: keep it out of the cyclic
            # collector's way, so its full passes stay short under load (tail latency).
            gc.collect()
            gc.freeze()
            yield {"pool": pool, "settings": settings, "database": db}

    graphql_app = RegistryGraphQL(
        build_schema(compiled=settings.compiled_queries, cache=cache),
        graphql_ide="graphiql" if settings.graphiql else None,
    )
    routes = [
        Route("/", lambda request: RedirectResponse("/graphql")),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.response_cache = cache  # for operators and tests: hits, misses, generation
    return app


def _with_state(app: ASGIApp, state: dict[str, Any]) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = dict(state)
        await app(scope, receive, send)

    return wrapped


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[ASGIApp]:
    """Run the app's lifespan here and yield the app, its state handed to every request.

    This is what a server does with the lifespan protocol, run by us instead: a start-up
    failure then reaches the caller as the exception itself (one line from the CLI) rather
    than as a traceback the server logs. The tests serve the app the same way.
    """
    async with app.router.lifespan_context(app) as state:
        yield _with_state(app, dict(state or {}))
