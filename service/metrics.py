"""Prometheus metrics, served at /metrics.

One registry per app (tests build several apps in one process). Requests are counted and timed
by operation name and kind, errors by their `extensions.code`; the response cache and the
connection pool are read when scraped; statement times are taken by the pool's connections
(service.db.pool.PoolConnection), around each statement.

Label values a client chooses are bounded: an operation name becomes a label only when it looks
like a GraphQL name of reasonable length, and only the first MAX_OPERATIONS distinct names do;
everything else is "other". A hostile client can fill that set, but never grow it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import asyncpg
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from service.cache import ResponseCache
from service.fanout import Fanout
from service.sockets import Sockets

MAX_OPERATIONS = 200
MAX_CODES = 50
OTHER = "other"
ANONYMOUS = "anonymous"
OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
ERROR_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})

# Request latency: a cached answer takes well under a millisecond, a cold ranking tens.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
STATEMENT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class BoundedLabels:
    """The first `limit` distinct values that match `pattern`; anything else is "other"."""

    def __init__(self, limit: int, pattern: re.Pattern[str]) -> None:
        self.limit = limit
        self.pattern = pattern
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self.limit or not self.pattern.fullmatch(value):
            return OTHER
        self._seen.add(value)
        return value


class _CacheCollector(Collector):
    """The response cache's own counters, read at scrape time."""

    def __init__(self, cache: ResponseCache) -> None:
        self._cache = cache

    def collect(self) -> Iterable[Metric]:
        cache = self._cache
        yield CounterMetricFamily(
            "registry_response_cache_hits", "Queries answered from the cache.", cache.hits
        )
        yield CounterMetricFamily(
            "registry_response_cache_misses",
            "Cacheable queries not in the cache (computed, then stored).",
            cache.misses,
        )
        yield CounterMetricFamily(
            "registry_response_cache_invalidations",
            "Writes the cache heard of (notifications, and this replica's mutations); each "
            "drops the answers that read what it wrote.",
            cache.generation,
        )


class _SubscriptionCollector(Collector):
    """Open WebSocket connections and the subscriptions they run, read at scrape time."""

    def __init__(self, sockets: Sockets, fanout: Fanout) -> None:
        self._sockets = sockets
        self._fanout = fanout

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "registry_websocket_connections",
            "Open WebSocket connections (graphql-transport-ws).",
            len(self._sockets),
        )
        yield GaugeMetricFamily(
            "registry_subscriptions",
            "Subscriptions running: each follows the change feed.",
            len(self._fanout),
        )


class Metrics:
    def __init__(self, cache: ResponseCache | None = None) -> None:
        # No `*_created` series beside every counter and histogram: they double the series
        # and Prometheus reads resets from the counters themselves.
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
        self.registry = CollectorRegistry()
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        if cache is not None:
            self.registry.register(_CacheCollector(cache))
        self.requests = Counter(
            "registry_graphql_requests",
            "GraphQL requests by operation name, kind and HTTP status.",
            ["operation", "kind", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "registry_graphql_request_duration_seconds",
            "Time from a GraphQL request's arrival to the end of its answer.",
            ["operation", "kind"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "registry_graphql_errors",
            "Errors in GraphQL answers by extensions.code ('none' when an error has no code).",
            ["code"],
            registry=self.registry,
        )
        self.statements = Histogram(
            "registry_db_statement_duration_seconds",
            "Time of each SQL statement the pool's connections ran.",
            buckets=STATEMENT_BUCKETS,
            registry=self.registry,
        )
        self.pool = Gauge(
            "registry_db_pool_connections",
            "Connections of the pool by state: in_use (acquired) or idle.",
            ["state"],
            registry=self.registry,
        )
        self.pool_max = Gauge(
            "registry_db_pool_max_connections",
            "The most connections the pool opens.",
            registry=self.registry,
        )
        self.reads = Counter(
            "registry_db_reads",
            "Queries by where they read with a read replica: replica, or primary when the "
            "replica had not replayed the client's own write in time.",
            ["server"],
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self.operation_label = BoundedLabels(MAX_OPERATIONS, OPERATION_NAME)
        self.code_label = BoundedLabels(MAX_CODES, ERROR_CODE)

    def observe_request(
        self,
        name: str | None,
        kind: str,
        status: int,
        seconds: float,
        codes: Iterable[str | None],
    ) -> None:
        """One GraphQL request: `kind` is an operation type, or invalid, batch or none."""
        if kind not in OPERATION_TYPES:
            operation = OTHER
        else:
            operation = ANONYMOUS if name is None else self.operation_label(name)
        key = (operation, kind, status)
        children = self._children.get(key)
        if children is None:
            # labels() validates and looks up under a lock on every call; the bounded label
            # values make it safe to keep the children it returns.
            children = (
                self.requests.labels(operation, kind, str(status)),
                self.latency.labels(operation, kind),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        for code in codes:
            self.errors.labels("none" if code is None else self.code_label(code)).inc()

    def observe_read(self, server: str) -> None:
        self.reads.labels(server).inc()

    def watch_subscriptions(self, sockets: Sockets, fanout: Fanout) -> None:
        self.registry.register(_SubscriptionCollector(sockets, fanout))

    def observe_statement(self, seconds: float) -> None:
        self.statements.observe(seconds)

    def observe_pool(self, pool: asyncpg.Pool | None) -> None:
        if pool is None:
            return
        size, idle = pool.get_size(), pool.get_idle_size()
        self.pool.labels("in_use").set(size - idle)
        self.pool.labels("idle").set(idle)
        self.pool_max.set(pool.get_max_size())

    async def endpoint(self, request: Request) -> Response:
        self.observe_pool(getattr(request.state, "pool", None))
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(self.registry), headers={"content-type": content_type})
