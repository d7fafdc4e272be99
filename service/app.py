"""The ASGI application: routes, and a lifespan that owns the database and its pool.

The embedded PostgreSQL is imported only when DATABASE_URL is unset (`service.database`), so a
deployment that sets it never loads the embedded server, nor needs the `[embedded]` extra.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TypedDict

import asyncpg
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from service import changes, database, export, migrate, seed
from service.cache import ResponseCache
from service.config import Settings
from service.database import Database
from service.db import imports, routing
from service.db.pool import QueryHook, create_pool, reconnect
from service.db.routing import Router
from service.fanout import Fanout
from service.graphql.limits import Limits
from service.graphql.persisted import Mode, PersistedQueries
from service.graphql.schema import build_schema
from service.graphql.view import RegistryGraphQL, principal_of
from service.metrics import Metrics
from service.observability import Observability
from service.sockets import Sockets
from service.throttle import AuthThrottle
from service.tracing import configure_tracing
from service.transport import BoundedRequests

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from service.supervisor import FatalHook

logger = logging.getLogger("service")


class State(TypedDict):
    pool: asyncpg.Pool
    settings: Settings
    database: Database
    router: Router | None
    fanout: Fanout


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
    router: Router | None = request.state.router
    pools = [request.state.pool] if router is None else [router.primary, router.replica]
    try:
        for pool in pools:
            async with pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1")
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})


async def _load_demo_data(settings: Settings, pool: asyncpg.Pool) -> None:
    if not settings.seed_demo:
        return
    async with pool.acquire() as conn:
        # Demo data goes into an empty registry only (README: `registry serve`); one with any
        # row, archived or not, keeps what it has.
        if not await imports.is_empty(conn):
            return
        written = await seed.seed(conn)
    logger.info("loaded %d demo entries", written)


def create_app(
    settings: Settings,
    *,
    on_query: QueryHook | None = None,
    on_read_query: QueryHook | None = None,
    on_fatal: FatalHook | None = None,
    span_exporter: SpanExporter | None = None,
) -> Starlette:
    """The service; `on_fatal` hears when it cannot go on (the CLI then exits non-zero).

    `on_query` sees every statement sent to the primary, `on_read_query` those sent to the
    read replica (DATABASE_READ_URL). Traces go to `span_exporter` (tests) or to the OTLP
    endpoint configured (service.tracing).
    """
    cache = (
        ResponseCache(settings.response_cache_mb * 1024 * 1024) if settings.response_cache else None
    )
    metrics = Metrics(cache)
    tracing = configure_tracing(settings, span_exporter)
    fanout = Fanout()
    sockets = Sockets(settings.websocket_max_connections) if settings.subscriptions else None
    if sockets is not None:
        metrics.watch_subscriptions(sockets, fanout)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        async with contextlib.AsyncExitStack() as stack:
            if tracing is not None:
                stack.callback(tracing.shutdown)  # last: the shutdown's own statements too
            db = await stack.enter_async_context(database.opened(settings, on_fatal=on_fatal))
            logger.info("database: %s", db.description)
            if settings.migrate_on_start:
                await migrate.upgrade_async(db.dsn)
            pool = await create_pool(
                db.dsn,
                min_size=settings.pool_min_size,
                max_size=settings.pool_max_size,
                on_query=on_query,
                statement_timeout_ms=settings.statement_timeout_ms,
                acquire_timeout=settings.pool_acquire_timeout,
                on_statement=metrics.observe_statement,
                on_record=None if tracing is None else tracing.statement("primary"),
            )
            stack.push_async_callback(pool.close)
            if db.supervisor is not None:
                db.supervisor.on_restart(lambda dsn: reconnect(pool, dsn))
            await _load_demo_data(settings, pool)
            router = None
            if settings.database_read_url is not None:
                read_url = settings.database_read_url
                await database.probe(read_url, setting="DATABASE_READ_URL")
                logger.info("read replica: %s (DATABASE_READ_URL)", database.describe_url(read_url))
                replica = await create_pool(
                    read_url,
                    min_size=settings.pool_min_size,
                    max_size=settings.pool_max_size,
                    on_query=on_read_query,
                    statement_timeout_ms=settings.statement_timeout_ms,
                    acquire_timeout=settings.pool_acquire_timeout,
                    on_statement=metrics.observe_statement,
                    on_record=None if tracing is None else tracing.statement("replica"),
                )
                stack.push_async_callback(replica.close)
                router = Router(
                    pool,
                    replica,
                    wait_seconds=settings.replica_wait_ms / 1000,
                    on_read=metrics.observe_read,
                )
                await router.check()
            if cache is not None and router is not None:
                await stack.enter_async_context(routing.settling(router, cache))
            if cache is not None or sockets is not None:
                # On the primary: its NOTIFY comes with the commit, before any replica has it.
                await stack.enter_async_context(changes.listening(lambda: db.dsn, cache, fanout))
            if sockets is not None:
                # Before the pool closes; `registry serve` closes them before uvicorn's own
                # shutdown, which would say 1012 (service restart) instead of 1001.
                stack.push_async_callback(sockets.close_all)
            # Everything built so far lives as long as the process: keep it out of the cyclic
            # collector's way, so its full passes stay short under load (tail latency).
            gc.collect()
            gc.freeze()
            yield {
                "pool": pool,
                "settings": settings,
                "database": db,
                "router": router,
                "fanout": fanout,
            }

    schema = build_schema(
        compiled=settings.compiled_queries,
        cache=cache,
        limits=Limits(max_cost=settings.max_query_cost),
        production=settings.production,
        introspection=settings.serves_introspection,
        persisted_entries=settings.persisted_queries_cache_entries,
        persisted_bytes=settings.persisted_queries_cache_mb * 1024 * 1024,
    )
    persisted = PersistedQueries(
        schema.documents,
        Mode(settings.persisted_queries),
        keep_stored=settings.persisted_queries_max_stored,
    )
    throttle = AuthThrottle(settings.auth_failures_per_minute)
    graphql_app = RegistryGraphQL(
        schema,
        throttle=throttle,
        persisted=persisted,
        tracing=tracing,
        sockets=sockets,
        graphql_ide="graphiql" if settings.serves_graphiql else None,
        connection_init_wait_timeout=dt.timedelta(seconds=settings.websocket_init_timeout),
        max_subscriptions_per_connection=settings.websocket_max_subscriptions,
        allowed_origins=settings.websocket_allowed_origins,
    )
    # The router tries its routes in order: the one nearly every request takes comes first.
    routes = [
        Route("/graphql", graphql_app, methods=sorted(_VIEWED)),
        WebSocketRoute("/graphql", graphql_app),
        Route("/", lambda request: RedirectResponse("/graphql")),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        # Tokens as for GraphQL reads; the endpoint answers other methods itself (405, JSON).
        Route(
            "/export/{name}",
            export.ExportEndpoint(
                lambda request: principal_of(request, throttle),
                concurrency=settings.export_concurrency,
            ),
        ),
    ]
    if settings.metrics:
        routes.append(Route("/metrics", metrics.endpoint))
    bounded = Middleware(
        BoundedRequests,
        max_body=settings.max_body_bytes,
        max_headers=settings.max_header_bytes,
    )
    # Outermost, so that requests the limits refuse are counted, logged and given an id too.
    observed = Middleware(Observability, metrics=metrics)
    middleware = [observed, bounded]
    if tracing is not None:
        # Outside the observation: the request's span ends after its access line is written.
        middleware.insert(0, Middleware(tracing.middleware))
    app = _Registry(
        routes=routes,
        lifespan=lifespan,
        middleware=middleware,
        graphql=_wrapped(graphql_app, middleware),
    )
    app.state.response_cache = cache  # for operators and tests: hits, misses, generation
    app.state.documents = schema.documents  # for tests: what the document cache holds
    app.state.sockets = sockets  # for `registry serve`: closed with 1001 before it stops
    return app


class _Registry(Starlette):
    """Starlette, except that GraphQL over HTTP (a GET or POST of /graphql), nearly every
    request, goes straight to `graphql`: the view in the same middleware (observation, body
    and header limits, traces), without Starlette's router and its two exception middlewares,
    which have nothing to do there (the view answers each refusal and fault itself, and
    Observability is the last line of defence). A compiled model page's server CPU: -4%."""

    def __init__(self, *, graphql: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql" and scope["method"] in _VIEWED:
            scope["app"] = self
            await self.graphql(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


# The methods the /graphql route takes; any other is Starlette's 405.
_VIEWED = frozenset(("GET", "POST"))


def _wrapped(app: ASGIApp, middleware: list[Middleware]) -> ASGIApp:
    """`app` inside `middleware`, the first outermost, as Starlette builds its stack."""
    for cls, args, kwargs in reversed(middleware):
        app = cls(app, *args, **kwargs)
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
