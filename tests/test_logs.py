"""Request ids and logs: one JSON line per request, from the app and from `registry serve`."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from service.enums import Role
from service.logs import JsonFormatter, TextFormatter
from service.metrics import Metrics
from service.observability import Observability
from tests.conftest import Api
from tests.writing import issue_token

ADD_SOURCE = """
mutation AddSource($input: AddSourceInput!) { addSource(input: $input) {
    source { url } userErrors { code } } }
"""
SECRET_TITLE = "variable-value-that-must-not-be-logged"


def _access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "service.access"]


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = record.fields  # type: ignore[attr-defined]
    return fields


@pytest.mark.parametrize("path", ["/graphql?query={__typename}", "/healthz", "/metrics", "/nope"])
async def test_every_response_carries_a_request_id(api: Api, path: str) -> None:
    made_up = await api.http.get(path)
    assert re.fullmatch(r"[0-9a-f]{32}", made_up.headers["x-request-id"])
    honoured = await api.http.get(path, headers={"X-Request-Id": "edge-7f3a:42"})
    assert honoured.headers["x-request-id"] == "edge-7f3a:42"


async def test_a_request_id_is_cleaned_and_bounded(api: Api) -> None:
    cleaned = await api.http.get("/healthz", headers={"X-Request-Id": 'a b"<c>\t{d}'})
    assert cleaned.headers["x-request-id"] == "abcd"
    long = await api.http.get("/healthz", headers={"X-Request-Id": "x" * 1000})
    assert long.headers["x-request-id"] == "x" * 128
    unusable = await api.http.get("/healthz", headers={"X-Request-Id": "<>"})
    assert re.fullmatch(r"[0-9a-f]{32}", unusable.headers["x-request-id"])


async def test_one_log_line_per_request_names_the_token_but_never_shows_it(
    api: Api, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = await issue_token(database_url, "release-bot", Role.EDITOR)
    caplog.set_level(logging.INFO, logger="service.access")
    response = await api.http.post(
        "/graphql",
        json={
            "query": ADD_SOURCE,
            "variables": {
                "input": {"url": "https://example.org/l", "title": SECRET_TITLE, "kind": "NEWS"}
            },
        },
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": "req-1"},
    )
    assert response.json()["data"]["addSource"]["userErrors"] == []

    [record] = _access_records(caplog)
    fields = _fields(record)
    assert fields["request_id"] == "req-1"
    assert fields["method"] == "POST" and fields["path"] == "/graphql"
    assert fields["status"] == 200
    assert fields["operation"] == "AddSource" and fields["kind"] == "mutation"
    assert fields["error_codes"] == []
    assert fields["token"] == "release-bot"
    assert fields["duration_ms"] > 0
    line = JsonFormatter().format(record)
    assert json.loads(line)["request_id"] == "req-1"
    assert token not in line and token[4:12] not in line
    assert SECRET_TITLE not in line and "example.org" not in line


async def test_the_log_line_of_a_refused_request_carries_its_codes(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.access")
    await api.http.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Authorization": "Bearer mrr_wrong-token"},
    )
    [record] = _access_records(caplog)
    assert _fields(record)["error_codes"] == ["UNAUTHENTICATED"]
    assert _fields(record)["token"] is None
    assert "mrr_wrong-token" not in JsonFormatter().format(record)


async def test_probes_log_only_at_debug(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="service.access")
    await api.http.get("/healthz")
    await api.http.get("/readyz")
    assert _access_records(caplog) == []


def test_text_logs_keep_the_fields_readable() -> None:
    record = logging.LogRecord("service.access", logging.INFO, __file__, 1, "GET /x 200", (), None)
    record.fields = {"request_id": "r1", "status": 200}
    line = TextFormatter().format(record)
    assert line == 'INFO service.access GET /x 200 request_id="r1" status=200'


async def test_an_escaped_exception_is_one_logged_500_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        logging.getLogger("tests.app").warning("about to fail")
        raise RuntimeError("a bug")

    app = Observability(broken, metrics=Metrics())
    caplog.set_level(logging.INFO)
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("tests.app").addHandler(handler)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://r") as http:
            response = await http.post(
                "/graphql", json={"query": "{ __typename }"}, headers={"X-Request-Id": "boom"}
            )
    finally:
        logging.getLogger("tests.app").removeHandler(handler)

    # A line logged while the request ran carries its id without being told.
    assert json.loads(written.getvalue())["request_id"] == "boom"

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "boom"
    assert response.json() == {"errors": [{"message": "Internal server error."}]}
    assert "a bug" not in response.text
    [failure] = [r for r in caplog.records if r.name == "service.observability"]
    line = json.loads(JsonFormatter().format(failure))
    assert line["request_id"] == "boom" and "RuntimeError: a bug" in line["exception"]
    [access] = _access_records(caplog)
    assert access.levelno == logging.INFO and _fields(access)["status"] == 500


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_registry_serve_writes_one_json_line_per_request(database_url: str) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REGISTRY_MIGRATE_ON_START": "false",
        "REGISTRY_SEED_DEMO": "false",
        "REGISTRY_LOG_LEVEL": "info",
        "REGISTRY_LOG_FORMAT": "json",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "registry serve did not become ready"
            time.sleep(0.1)
        answer = httpx.post(
            f"{base}/graphql",
            json={"query": "query Ping { __typename }"},
            headers={"X-Request-Id": "cli-1"},
        )
        assert answer.headers["x-request-id"] == "cli-1"
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)

    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert stdout == ""
    access = [line for line in lines if line.get("request_id") == "cli-1"]
    assert len(access) == 1, access
    assert access[0]["logger"] == "service.access"
    assert access[0]["operation"] == "Ping" and access[0]["status"] == 200
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # startup, as JSON
