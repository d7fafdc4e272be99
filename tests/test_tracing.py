"""OpenTelemetry traces: a request span, resolver batch spans and SQL statement spans."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import httpx
import pytest

from service.app import create_app, serving
from service.config import Settings

pytest.importorskip("opentelemetry.sdk", reason="the [otel] extra is not installed")

from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind  # noqa: E402

LABS = """
query LabsWithModels { labs(first: 3) { edges { node { id slug models(first: 2) {
  id slug versions { id label } } } } } }
"""


@asynccontextmanager
async def _traced(
    database_url: str, **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    app = create_app(
        Settings(
            database_url=database_url,
            migrate_on_start=False,
            seed_demo=False,
            response_cache=False,
            **settings,
        ),
        span_exporter=exporter,
    )
    async with serving(app) as served:
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
            exporter.clear()  # start-up's own statements
            yield http, exporter


def _request_span(spans: Sequence[ReadableSpan]) -> ReadableSpan:
    found = [span for span in spans if span.kind is SpanKind.SERVER]
    assert len(found) == 1, [span.name for span in spans]
    return found[0]


def _ancestors(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    by_id = {item.context.span_id: item for item in spans if item.context is not None}
    chain: list[ReadableSpan] = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


async def _get(http: httpx.AsyncClient, query: str) -> None:
    response = await http.post(
        "/graphql", json={"query": query}, headers={"x-request-id": "trace-me-1"}
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()


async def test_a_request_span_holds_its_sql_statements(database_url: str) -> None:
    async with _traced(database_url) as (http, exporter):
        await _get(http, LABS)
        spans = exporter.get_finished_spans()
    request = _request_span(spans)
    attributes = dict(request.attributes or {})
    assert attributes["registry.request_id"] == "trace-me-1"
    assert attributes["graphql.operation.name"] == "LabsWithModels"
    assert attributes["graphql.operation.type"] == "query"
    assert attributes["http.response.status_code"] == 200
    statements = [span for span in spans if span.kind is SpanKind.CLIENT]
    assert statements, [span.name for span in spans]
    for statement in statements:
        assert request in _ancestors(statement, spans)
        assert (statement.attributes or {})["db.system.name"] == "postgresql"
        assert (statement.attributes or {})["registry.pool"] == "primary"


async def test_each_resolver_batch_has_a_span_over_its_statement(database_url: str) -> None:
    # The compiled path answers in one statement; resolvers batch through DataLoaders.
    async with _traced(database_url, compiled_queries=False) as (http, exporter):
        await _get(http, LABS)
        spans = exporter.get_finished_spans()
    request = _request_span(spans)
    batches = [span for span in spans if span.name.startswith("load ")]
    names = {(span.attributes or {})["registry.loader"] for span in batches}
    assert {"models.by_labs", "models.versions_by_models"} <= names, names
    for batch in batches:
        assert _ancestors(batch, spans)[-1] == request
        children = [span for span in spans if span.parent == batch.context]
        # Its statement (asyncpg may add its own type lookups on a connection's first use).
        assert children
        assert all(span.kind is SpanKind.CLIENT for span in children)
        keys = (batch.attributes or {})["registry.batch.keys"]
        assert isinstance(keys, int) and keys >= 1


async def test_a_traceparent_joins_the_caller_s_trace(database_url: str) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with _traced(database_url) as (http, exporter):
        response = await http.post(
            "/graphql",
            json={"query": "{ labs(first: 1) { edges { node { id } } } }"},
            headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        )
        assert response.status_code == 200
        spans = exporter.get_finished_spans()
    request = _request_span(spans)
    assert request.context is not None
    assert f"{request.context.trace_id:032x}" == trace_id


def test_without_an_exporter_opentelemetry_is_never_imported() -> None:
    code = (
        "import sys\n"
        "from service.app import create_app\n"
        "from service.config import Settings\n"
        "create_app(Settings(database_url='postgresql://u@localhost/db'))\n"
        "print(sorted(name for name in sys.modules if name.startswith('opentelemetry')))\n"
    )
    env = {"PATH": "/usr/bin:/bin"}
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert found.stdout.strip() == "[]"


class _Collector(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:  # noqa: N802 - the handler's protocol
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


async def test_spans_leave_over_otlp_http_for_the_configured_endpoint(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}"
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        settings = Settings(database_url=database_url, migrate_on_start=False, seed_demo=False)
        assert settings.otlp_endpoint == endpoint
        app = create_app(settings)
        async with serving(app) as served:
            transport = httpx.ASGITransport(app=served)
            async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http_:
                await _get(http_, LABS)
        # The lifespan's end flushed the batch to the collector, as OTLP/HTTP protobuf.
        paths = [path for path, _ in _Collector.received]
        assert "/v1/traces" in paths
        assert any(b"LabsWithModels" in body for _, body in _Collector.received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
