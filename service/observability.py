"""Per-request observation: a request id, one access log line and the request metrics.

A pure ASGI middleware (it never buffers what the app reads or writes, it only looks):
- `X-Request-Id` is honoured when it carries a usable id (kept characters, bounded length)
  and made up otherwise; the request's header is rewritten to that value, so everything
  downstream (the GraphQL context, error logs) sees the same id, and every response carries it.
- For GraphQL requests it notes the body the app read and the answer it wrote, and after the
  answer has gone out works out the operation name and kind, and the error codes
  (`errors[].extensions.code`) of the answer.
- One log line per request (service.access): request id, method, path, status, duration,
  operation, kind, error codes and the token's name; never the token, the document or the
  variables. It is the request's one line at INFO (client errors' reasons are at DEBUG, a
  fault adds its traceback at ERROR); probes and scrapes log at DEBUG. Exports (/export/...)
  log their refusals' codes and the token's name as GraphQL requests do, and the code of a
  failure that cut one short after its status was sent (`note_late_error`).
"""

from __future__ import annotations

import logging
import random
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

import orjson
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import logs
from service.metrics import OPERATION_NAME, Metrics

HEADER = "x-request-id"
MAX_REQUEST_ID = 128
# Characters of the ids proxies and tracing systems send (UUIDs, AWS X-Ray's Root=1-..., W3C
# trace ids); anything else is dropped, so the id is safe in a header, a log and a database.
_UNSAFE = re.compile(r"[^A-Za-z0-9._:;=+/@-]")
STATE_KEY = "observation"
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
EXPORT_PREFIX = "/export/"
# The same token limit as the schema's parser, so describing a document costs no more than
# the parse that executes it; documents longer than this are described but not remembered.
MAX_TOKENS = 5000
MAX_CACHED_DOCUMENT = 16 * 1024
# Bodies larger than this are not kept to be described: their requests count as kind "none".
MAX_NOTED_BODY = 1024 * 1024

access_log = logging.getLogger("service.access")
logger = logging.getLogger("service.observability")


def request_id(header: str | None) -> str:
    """The client's id, cleaned and bounded, or a new one when nothing usable is left."""
    if header:
        cleaned = _UNSAFE.sub("", header)[:MAX_REQUEST_ID]
        if cleaned:
            return cleaned
    # Unique, not secret: the process's seeded generator, without a system call per request.
    return f"{random.getrandbits(128):032x}"


@dataclass
class Observation:
    """What is known about one request; the GraphQL context adds the token's name."""

    request_id: str
    token: str | None = None
    status: int = 500
    json: bool = False
    body: list[bytes] = field(default_factory=list)
    body_size: int = 0
    answer: list[bytes] = field(default_factory=list)
    # GraphQL: the operation's name (when a well-formed one) and kind, once answered.
    operation: str | None = None
    kind: str | None = None
    # The document and operation name of a POST body, as the view parsed it: not parsed again.
    params: tuple[object, object] | None = None
    # Codes of failures after the status went out (an export cut short), for the access line.
    late_codes: list[str] = field(default_factory=list)

    def note_body(self, chunk: bytes) -> None:
        self.body_size += len(chunk)
        if self.body_size > MAX_NOTED_BODY:
            self.body.clear()
        else:
            self.body.append(chunk)


def note_token(request: Request, name: str | None) -> None:
    """Record which token (by name) made the request, for its access line."""
    observation = request.scope.get("state", {}).get(STATE_KEY)
    if isinstance(observation, Observation):
        observation.token = name


def note_params(request: Request, document: object, operation_name: object) -> None:
    """Record the document and operation name the view read from a POST body (not a batch)."""
    observation = request.scope.get("state", {}).get(STATE_KEY)
    if isinstance(observation, Observation):
        observation.params = (document, operation_name)


def note_late_error(scope: Scope, code: str) -> None:
    """Record the code of a failure that ended a response already under way (its status sent),
    for its access line."""
    observation = scope.get("state", {}).get(STATE_KEY)
    if isinstance(observation, Observation):
        observation.late_codes.append(code)


@lru_cache(maxsize=512)
def _operation_of(document: str, operation_name: str | None) -> tuple[str | None, str]:
    try:
        parsed = parse(document, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None, "invalid"
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None, "invalid"
    operation = operations[0]
    return (operation.name.value if operation.name else None), operation.operation.value


def describe_operation(document: object, operation_name: object) -> tuple[str | None, str]:
    """(name, kind) of the operation a request selects; kind is "invalid" if none is."""
    if not isinstance(document, str) or not document:
        return None, "none"
    if operation_name is not None and not isinstance(operation_name, str):
        return None, "invalid"
    if len(document) > MAX_CACHED_DOCUMENT:
        return _operation_of.__wrapped__(document, operation_name)
    return _operation_of(document, operation_name)


def _graphql_params(scope: Scope, observation: Observation) -> tuple[object, object] | str:
    """The document and operation name a GraphQL request sent, or a kind when there are none."""
    if scope["method"] == "GET":
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return params.get("query", [None])[0], params.get("operationName", [None])[0]
    if observation.body_size > MAX_NOTED_BODY:
        return "none"
    if observation.params is not None:
        return observation.params
    try:
        payload = orjson.loads(b"".join(observation.body))
    except orjson.JSONDecodeError:
        return "none"
    if isinstance(payload, list):
        return "batch"
    if not isinstance(payload, dict):
        return "none"
    return payload.get("query"), payload.get("operationName")


def error_codes(answer: bytes) -> list[str | None]:
    """`extensions.code` of each error in a GraphQL JSON answer (None for an error without)."""
    if b'"errors"' not in answer:
        return []
    try:
        payload = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return []
    results = payload if isinstance(payload, list) else [payload]
    codes: list[str | None] = []
    for result in results:
        errors = result.get("errors") if isinstance(result, dict) else None
        for error in errors if isinstance(errors, list) else ():
            extensions = error.get("extensions") if isinstance(error, dict) else None
            code = extensions.get("code") if isinstance(extensions, dict) else None
            codes.append(code if isinstance(code, str) else None)
    return codes


class Observability:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, graphql_path: str = "/graphql") -> None:
        self.app = app
        self.metrics = metrics
        self.graphql_path = graphql_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        observation = Observation(request_id=request_id(header(scope, HEADER)))
        _set_header(scope, HEADER, observation.request_id)
        scope.setdefault("state", {})[STATE_KEY] = observation
        graphql = scope["path"] == self.graphql_path
        export = scope["path"].startswith(EXPORT_PREFIX)
        response_started = False

        async def receive_noting() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                observation.note_body(message.get("body", b""))
            return message

        async def send_noting(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                headers = MutableHeaders(scope=message)
                headers[HEADER] = observation.request_id
                observation.status = message["status"]
                observation.json = "json" in headers.get("content-type", "")
            elif (
                message["type"] == "http.response.body"
                and observation.json
                and (graphql or (export and observation.status >= 400))
            ):
                # Only JSON answers hold `errors`; such an answer is already whole in memory
                # (an export's refusal is; the export itself streams and is never kept).
                observation.answer.append(message.get("body", b""))
            await send(message)

        token = logs.REQUEST_ID.set(observation.request_id)
        try:
            await self.app(scope, receive_noting if graphql else receive, send_noting)
        except Exception:
            # The last line of defence: whatever escaped the app is logged once, with the
            # request id, and the client gets a bare 500 that still carries that id.
            logger.exception(
                "unhandled error", extra={"fields": {"request_id": observation.request_id}}
            )
            observation.status = 500
            if not response_started:
                await _internal_error(send, observation.request_id)
        finally:
            seconds = time.perf_counter() - started
            try:
                self._record(scope, observation, graphql, export, seconds)
            except Exception:
                logger.exception("could not record the request")
            finally:
                logs.REQUEST_ID.reset(token)

    def _record(
        self, scope: Scope, observation: Observation, graphql: bool, export: bool, seconds: float
    ) -> None:
        name: str | None = None
        kind: str | None = None
        codes: list[str | None] = []
        if graphql:
            params = _graphql_params(scope, observation)
            name, kind = (None, params) if isinstance(params, str) else describe_operation(*params)
            codes = error_codes(b"".join(observation.answer))
            observation.kind = kind
            observation.operation = name if name and OPERATION_NAME.fullmatch(name) else None
            self.metrics.observe_request(name, kind, observation.status, seconds, codes)
        status = observation.status
        # INFO whatever the status: a fault has its own ERROR line with the traceback.
        level = logging.DEBUG if scope["path"] in QUIET_PATHS and status < 500 else logging.INFO
        if not access_log.isEnabledFor(level):
            return
        fields: dict[str, Any] = {
            "request_id": observation.request_id,
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "client": scope["client"][0] if scope.get("client") else None,
        }
        if graphql:
            fields["operation"] = observation.operation
            fields["kind"] = kind
        if export:
            codes = [*error_codes(b"".join(observation.answer)), *observation.late_codes]
        if graphql or export:
            fields["error_codes"] = sorted({code or "none" for code in codes})
            fields["token"] = observation.token
        message = "%s %s %d %.1f ms"
        args = (scope["method"], scope["path"], status, seconds * 1000)
        # The record is made directly: Logger.log would walk the stack for a caller no one reads.
        record = access_log.makeRecord(
            access_log.name, level, __file__, 0, message, args, None, extra={"fields": fields}
        )
        access_log.handle(record)


def header(scope: Scope, name: str) -> str | None:
    """A request header's value, read from the scope: starlette's Headers.get raises and
    catches a KeyError for a header the request lacks, which costs more than the lookup, and
    most requests lack most of the headers the service asks for."""
    raw = name.encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key.lower() == raw:
            return bytes(value).decode("latin-1")
    return None


def _set_header(scope: Scope, name: str, value: str) -> None:
    raw = name.encode("latin-1")
    headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() != raw]
    headers.append((raw, value.encode("latin-1")))
    scope["headers"] = headers


async def _internal_error(send: Send, request_id: str) -> None:
    body = orjson.dumps({"errors": [{"message": "Internal server error."}]})
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (HEADER.encode(), request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
