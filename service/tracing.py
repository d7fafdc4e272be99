"""OpenTelemetry traces, when an exporter is configured (the optional `[otel]` extra).

`configure_tracing` returns None unless OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set
or a test hands it an exporter; only then is opentelemetry imported, so a deployment without
tracing neither loads nor needs it. The spans, each a child of the one before:

- one per HTTP request (`middleware`): method, route, status, the request id and, for
  GraphQL, the operation's name and type (service.observability works them out); a W3C
  `traceparent` header from the caller makes it part of the caller's trace;
- one per resolver batch (`batch`): a DataLoader's load, with the loader and its key count;
- one per SQL statement (`statement`, the pools' query logger): the statement's text with
  its `$n` placeholders, never the values bound to them, and the pool (primary or replica).

The provider is the app's own, not the global one: tests build several apps in a process.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from asyncpg.connection import LoggedQuery
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.errors import ConfigurationError
from service.observability import STATE_KEY, Observation

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

NOT_INSTALLED = (
    "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed: "
    "pip install 'model-release-registry[otel]', or unset it"
)
MAX_STATEMENT_CHARS = 4096


def configure_tracing(settings: Settings, exporter: SpanExporter | None = None) -> Tracing | None:
    """The app's tracing: to `exporter` (tests), to the OTLP endpoint configured, or none."""
    if exporter is None and settings.otlp_endpoint is None:
        return None
    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:
        raise ConfigurationError(
            NOT_INSTALLED.format(setting="OTEL_EXPORTER_OTLP_ENDPOINT")
        ) from exc
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.otel_service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise ConfigurationError(NOT_INSTALLED) from exc
        # The exporter reads the OTEL_EXPORTER_OTLP_* variables (endpoint, headers) itself;
        # spans leave in batches, off the request's path.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracing(provider)


class Tracing:
    def __init__(self, provider: TracerProvider) -> None:
        from opentelemetry import propagate, trace

        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("service")
        self._trace = trace
        self._propagate = propagate

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """The request span around `app` (the rest of the middleware stack included)."""
        from opentelemetry.trace import SpanKind, Status, StatusCode

        async def traced(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            status = 500
            headers = {
                key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
            }
            parent = self._propagate.extract(headers)

            async def noting(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            name = f"{scope['method']} {scope['path']}"
            attributes = {
                "http.request.method": scope["method"],
                "url.path": scope["path"],
                "http.route": scope["path"],
            }
            with self.tracer.start_as_current_span(
                name, context=parent, kind=SpanKind.SERVER, attributes=attributes
            ) as span:
                try:
                    await app(scope, receive, noting)
                finally:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                    observation = scope.get("state", {}).get(STATE_KEY)
                    if isinstance(observation, Observation):
                        _describe(span, observation)

        return traced

    def statement(self, pool: str) -> Callable[[LoggedQuery], None]:
        """A query logger for the pool named `pool`: a span per statement, after the fact."""
        from opentelemetry.trace import SpanKind, Status, StatusCode

        def logged(record: LoggedQuery) -> None:
            # Called soon after the statement, in the context of the code that sent it: the
            # current span (a batch's, or the request's) is its parent.
            end = time.time_ns()
            query = record.query
            attributes: dict[str, Any] = {
                "db.system.name": "postgresql",
                "db.query.text": query[:MAX_STATEMENT_CHARS],
                "registry.pool": pool,
            }
            if isinstance(record.conn_addr, tuple):
                attributes["server.address"] = str(record.conn_addr[0])
                attributes["server.port"] = int(record.conn_addr[1])
            operation = query.lstrip().split(None, 1)[0].upper() if query.strip() else "SQL"
            span = self.tracer.start_span(
                operation,
                kind=SpanKind.CLIENT,
                start_time=end - int(record.elapsed * 1e9),
                attributes=attributes,
            )
            if record.exception is not None:
                span.set_status(Status(StatusCode.ERROR, type(record.exception).__name__))
                span.set_attribute("error.type", type(record.exception).__name__)
            span.end(end_time=end)

        return logged

    @contextlib.contextmanager
    def batch(self, loader: str, keys: int) -> Iterator[None]:
        """The span of one DataLoader batch."""
        attributes: dict[str, str | int] = {"registry.loader": loader, "registry.batch.keys": keys}
        with self.tracer.start_as_current_span(f"load {loader}", attributes=attributes):
            yield

    def shutdown(self) -> None:
        """Send what is still queued, then stop."""
        self.provider.shutdown()


def _describe(span: Any, observation: Observation) -> None:
    span.set_attribute("registry.request_id", observation.request_id)
    if observation.kind is not None:
        span.set_attribute("graphql.operation.type", observation.kind)
    if observation.operation is not None:
        span.set_attribute("graphql.operation.name", observation.operation)
