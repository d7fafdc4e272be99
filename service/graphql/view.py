"""The GraphQL view: strawberry's ASGI view with the registry's request path.

Per HTTP request it authenticates the caller, answers a persisted document or a compiled one,
and sets the status and media type the GraphQL over HTTP spec gives. A WebSocket at the same
path speaks graphql-transport-ws (subscriptions, service.graphql.subscriptions), bounded by
service.sockets, its caller authenticated by connection_init; service.app mounts it.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson
from cross_web import HTTPException
from graphql import OperationType
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, GraphQLRequestProtocol
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError, SubscriptionExecutionResult
from strawberry.types.graphql import OperationType as StrawberryOperationType

from service import idempotency, negotiation
from service.auth import ANONYMOUS, Principal, Unauthenticated, authenticate
from service.config import Settings
from service.db import routing
from service.db.routing import Router
from service.graphql.context import Context
from service.graphql.errors import HTTP_STATUS, ClientError, Code, code_of, database_error
from service.graphql.limits import check_variables
from service.graphql.loaders import untraced
from service.graphql.persisted import Malformed, Mode, PersistedQueries
from service.graphql.schema import RegistrySchema
from service.observability import header, note_params, note_token
from service.sockets import Sockets, TextWebSocket, TransportWS
from service.throttle import AuthThrottle
from service.tracing import Tracing
from service.transport import PayloadTooLarge, error_response

if TYPE_CHECKING:
    # strawberry's own HTTP adapter layer, named here only to type the overrides below.
    from cross_web import AsyncHTTPRequestAdapter
    from strawberry.http.base import BaseRequestProtocol

# The service's own logger, as before the view left service.app.
logger = logging.getLogger("service")


def _request_id(request: Request) -> str:
    state = request.scope.setdefault("state", {})  # what request.state reads and writes
    found: str | None = state.get("request_id")
    if found is None:
        found = state["request_id"] = header(request.scope, "x-request-id") or uuid.uuid4().hex
    return found


# The view's HTTP refusals (strawberry raises HTTPException) and their codes.
_HTTP_CODES = {
    404: Code.NOT_FOUND,
    405: Code.BAD_REQUEST,
    406: Code.NOT_ACCEPTABLE,
    413: Code.PAYLOAD_TOO_LARGE,
}
_NOT_ACCEPTABLE = (
    f"the Accept header allows neither {negotiation.GRAPHQL_RESPONSE} nor {negotiation.JSON}"
)


class _BadVariables(HTTPException):
    code = Code.BAD_USER_INPUT

    def __init__(self, reason: str) -> None:
        super().__init__(400, reason)


class _BadLsn(HTTPException):
    code = Code.BAD_REQUEST

    def __init__(self) -> None:
        super().__init__(400, "X-Registry-Lsn must be a WAL position as a mutation returned it")


class _MutationOverGet(HTTPException):
    # The spec: 405 and halt; a GET is safe and may be replayed by anything on the way.
    code = Code.BAD_REQUEST
    headers = {"allow": "POST"}

    def __init__(self, reason: str) -> None:
        super().__init__(405, reason)


class RegistryGraphQL(GraphQL[Context, None]):
    schema: RegistrySchema
    graphql_transport_ws_handler_class = TransportWS
    websocket_adapter_class = TextWebSocket

    def __init__(
        self,
        schema: RegistrySchema,
        *,
        throttle: AuthThrottle,
        persisted: PersistedQueries,
        tracing: Tracing | None = None,
        sockets: Sockets | None = None,
        **kwargs: Any,
    ) -> None:
        # graphql-transport-ws only: the older subscriptions-transport-ws is unmaintained.
        super().__init__(schema, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,), **kwargs)
        self.throttle = throttle
        self.persisted = persisted
        self.batch_span = untraced if tracing is None else tracing.batch
        self.sockets = sockets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if self.sockets is None:
                # Subscriptions are off: refuse the handshake (HTTP 403).
                await WebSocket(scope, receive, send).close()
                return
            await self.run(WebSocket(scope, receive, send))
            return
        request = Request(scope, receive)
        accepted = negotiation.response_type(request.headers.get("accept"))
        media = request.state.media = accepted or negotiation.JSON
        try:
            if accepted is None and not self._renders_ide(request):
                raise HTTPException(406, _NOT_ACCEPTABLE)
            response = None
            if request.method == "POST":
                response = await self._plain_query(request)
            if response is None:
                response = await self.run(request)
            if response.headers.get("content-type") == negotiation.JSON:
                response.headers["content-type"] = negotiation.CONTENT_TYPE[media]
        except HTTPException as exc:
            # Every refusal is GraphQL JSON with a code, never strawberry's plain text.
            code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code, Code.BAD_REQUEST)
            logger.debug("request %s: %s: %s", _request_id(request), code, exc.reason)
            headers = getattr(exc, "headers", None)
            response = error_response(exc.status_code, exc.reason, code, headers, media)
        except PayloadTooLarge:
            raise  # service.transport answers it
        except Exception:
            # A fault outside GraphQL execution: logged once, masked, and still JSON.
            request_id = _request_id(request)
            logger.exception("request %s: unexpected error", request_id)
            response = error_response(500, "Internal server error.", Code.INTERNAL, media=media)
            response.headers["x-request-id"] = request_id
        await response(scope, receive, send)

    async def on_ws_connect(self, context: Context) -> None:
        """connection_init: the same tokens and rules as HTTP; a refusal closes with 4403."""
        websocket = context.request
        params = context.connection_params or {}
        # The payload's `authorization` (what a browser can send), else the handshake's header.
        header = params.get("authorization", params.get("Authorization"))
        if header is None:
            header = websocket.headers.get("authorization")
        if not isinstance(header, str | None):
            raise ConnectionRejectionError({"code": Code.UNAUTHENTICATED})
        address = websocket.client.host if websocket.client else "unknown"
        principal, refusal = await _authenticated(
            header, address, websocket.state.settings, context.pool, self.throttle
        )
        if refusal is not None:
            logger.debug("websocket %s: %s: %s", context.request_id, code_of(refusal), refusal)
            raise ConnectionRejectionError({"code": code_of(refusal)})
        context.principal = principal
        logger.debug("websocket %s: connected as %s", context.request_id, principal.name)
        return None

    def _renders_ide(self, request: Request) -> bool:
        # A browser's `text/html` asks for GraphiQL (or NOT_FOUND where it is off), not JSON.
        return self.should_render_graphql_ide(self.request_adapter_class(request))

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses what is not JSON (invalid UTF-8, NaN, nesting past 1024) with a
        # JSONDecodeError, which strawberry answers with 400.
        return orjson.loads(data)

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        try:
            found = await self._parse_body(request)
        except (AttributeError, TypeError) as exc:
            # A JSON body that is not an object (`42`, `"x"`, `null`).
            raise HTTPException(400, "the body must be a JSON object") from exc
        for data in found if isinstance(found, list) else [found]:
            if not isinstance(data.operation_name, str | None):
                raise HTTPException(400, "operationName must be a string or null")
            if data.operation_name == "" and request.method == "GET":
                data.operation_name = None  # the spec: an empty one is an absent one
            problem = check_variables(data.variables, self.schema.limits)
            if problem is not None:
                raise _BadVariables(problem)
        return found

    async def _parse_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """strawberry's parse_http_body, step for step and with its helpers, except that the
        Content-Type is read by negotiation.media_type: strawberry builds an email.Message per
        request to parse it (~4% of a compiled request's instructions)."""
        content_type = negotiation.media_type(request.content_type or "")
        transport = self._get_stream_transport_from_headers(request.headers)
        protocol: GraphQLRequestProtocol = transport.protocol if transport else "http"
        if request.method == "GET":
            data = self.parse_query_params(request.query_params)
        elif "application/json" in content_type:
            data = self.parse_json(await request.get_body())
        elif self.multipart_uploads_enabled and content_type == "multipart/form-data":
            data = await self.parse_multipart(request)
        else:
            raise HTTPException(400, "Unsupported content type")
        if isinstance(data, list):
            self._validate_batch_request(data, protocol=protocol)
            return [_request_data(item, protocol) for item in data]
        for name, kind, wording in _MEMBERS:
            if not isinstance(data.get(name), kind | None):
                raise HTTPException(
                    400, f"The GraphQL operation's `{name}` must be {wording} or null, if provided."
                )
        return _request_data(data, protocol)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        if isinstance(request, WebSocket):
            # Anonymous until connection_init names a token (on_ws_connect). No router: a
            # connection reads from the primary, whose NOTIFY wakes its subscriptions and
            # which holds every event they are told of (a replica may lag behind it).
            return Context(
                request=request,
                response=request,
                pool=request.state.pool,
                request_id=request.headers.get("x-request-id") or uuid.uuid4().hex,
                batch_span=self.batch_span,
                fanout=request.state.fanout,
            )
        request_id = _request_id(request)
        principal, refusal = await principal_of(request, self.throttle)
        note_token(request, principal.name if principal.is_authenticated else None)
        router: Router | None = request.state.router
        lsn = None
        header = None if router is None else request.headers.get(routing.HEADER)
        if header is not None:
            lsn = routing.parse_lsn(header)
            if lsn is None:
                raise _BadLsn
        return Context(
            request=request,
            response=response,
            pool=request.state.pool,
            request_id=request_id,
            principal=principal,
            refusal=refusal,
            router=router,
            lsn=lsn,
            batch_span=self.batch_span,
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
        result = await self._execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )
        _set_status(result, sub_response, request.state.media)
        if (
            context.router is not None
            and isinstance(result, ExecutionResult)
            and not isinstance(request_data, list)
            and self._is_mutation(request_data)
        ):
            await _mark_written(context.router, result, sub_response)
        return result

    async def _execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        # Refused credentials end the request here, as a GraphQL error that nothing masks,
        # before any resolver runs; GraphiQL itself is served before this point. So does a
        # persisted document that is unknown or not allowed; a known one becomes the text.
        if request.method == "POST" and not isinstance(request_data, list):
            # As sent (before a persisted one is looked up): the access line need not parse it.
            note_params(request, request_data.query, request_data.operation_name)
        refusal = context.refusal
        if refusal is None:
            refusal = await self._resolve_persisted(request, request_data, context)
        if refusal is not None:
            logger.debug("request %s: %s: %s", context.request_id, code_of(refusal), refusal)
            refused = PreExecutionError(data=None, errors=[refusal])
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
            or not self._is_mutation(request_data)
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
        except Exception as exc:
            unavailable = database_error(exc)
            if unavailable is None:
                raise
            return PreExecutionError(data=None, errors=[unavailable])
        if replayed:
            sub_response.headers[idempotency.REPLAYED_HEADER] = "true"
        return result

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as exc:
            if request_adapter.method == "GET" and isinstance(
                exc.__cause__, InvalidOperationTypeError
            ):
                raise _MutationOverGet(exc.reason) from exc.__cause__
            raise

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        body = await super().process_result(request, result)
        media = getattr(request.state, "media", negotiation.JSON)
        if media == negotiation.GRAPHQL_RESPONSE and negotiation.is_request_error(result):
            del body["data"]  # the spec: nothing executed, so no `data` entry at all
        return body

    async def _plain_query(self, request: Request) -> Response | None:
        """What nearly every frontend sends, answered without strawberry's HTTP layers: an
        anonymous POST of one JSON object (`query`, `variables`, `operationName`) whose
        document checks clean and selects a query. The same context and RegistrySchema.execute
        (cache, compiled path, resolvers, error policy), the same status, headers and body as
        strawberry's path (tests/test_plain_queries.py holds the two equal); the layers skipped
        cost a compiled model page about a sixth of its server CPU.

        Anything else returns None, for strawberry's path to answer and word its refusals: a
        GET, a batch, extensions (persisted queries), an upload, a mutation or subscription, a
        body or a document it would refuse. So does every request where that path may refuse
        the caller before it reads the document, which here is read first: a token (checked,
        perhaps refused and throttled), a registry that requires one, an allow-list of
        documents (an unregistered one is never parsed)."""
        settings: Settings = request.state.settings
        if header(request.scope, "authorization") is not None or settings.require_reader_token:
            return None
        if self.persisted.mode is Mode.ALLOWLIST:
            return None
        if negotiation.media_type(request.headers.get("content-type", "")) != negotiation.JSON:
            return None
        try:
            body = self.decode_json(await request.body())
        except orjson.JSONDecodeError:
            return None
        data = _plain_request(body)
        if data is None or check_variables(data.variables, self.schema.limits) is not None:
            return None
        checked = self.schema.documents.check(data.query or "")
        operation = None if checked.errors else checked.operation(data.operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return None
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, response=sub_response)
        note_params(request, data.query, data.operation_name)
        result = await self.schema.execute(
            data.query,
            variable_values=data.variables,
            context_value=context,
            operation_name=data.operation_name,
            allowed_operation_types=_POST_OPERATIONS,
        )
        _set_status(result, sub_response, request.state.media)
        return self.create_response(await self.process_result(request, result), sub_response)

    async def _resolve_persisted(
        self,
        request: Request,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
    ) -> ClientError | None:
        if isinstance(request_data, list):
            return None  # batches are refused while parsing
        try:
            document_id = await _document_id(request, request_data)
            return await self.persisted.resolve(context.pool, request_data, document_id)
        except Malformed as exc:
            raise HTTPException(400, str(exc)) from exc
        except Exception as exc:
            unavailable = database_error(exc)
            if unavailable is None:
                raise
            return unavailable

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET naming a persisted document (Apollo's, with Accept: */*) is no page request.
        if not super().should_render_graphql_ide(request):
            return False  # every POST: no query string to parse
        params = request.query_params
        return not ("extensions" in params or "documentId" in params)

    def _is_mutation(self, data: GraphQLRequestData) -> bool:
        # The same checked document every path uses: limits apply before anything is stored,
        # and a refused document takes the normal path, which reports why.
        checked = self.schema.documents.check(data.query or "")
        operation = None if checked.errors else checked.operation(data.operation_name)
        return operation is not None and operation.operation is OperationType.MUTATION

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


# strawberry's checks of a request's members, in its order and words.
_MEMBERS = (
    ("query", str, "a string"),
    ("variables", dict, "an object"),
    ("extensions", dict, "an object"),
)


# What a POST may run (strawberry's OperationType.from_http("POST")).
_POST_OPERATIONS = frozenset(StrawberryOperationType.from_http("POST"))
_PLAIN_MEMBERS = frozenset(("query", "variables", "operationName"))


def _plain_request(body: object) -> GraphQLRequestData | None:
    """A body of the plain shape (service.graphql.view.RegistryGraphQL._plain_query), else None."""
    if not isinstance(body, dict) or not body.keys() <= _PLAIN_MEMBERS:
        return None
    query, variables, name = body.get("query"), body.get("variables"), body.get("operationName")
    if not (isinstance(query, str) and query) or not isinstance(variables, dict | None):
        return None
    if not isinstance(name, str | None):
        return None
    return GraphQLRequestData(
        query=query, variables=variables, operation_name=name, extensions=None, protocol="http"
    )


def _request_data(data: Any, protocol: GraphQLRequestProtocol) -> GraphQLRequestData:
    return GraphQLRequestData(
        query=data.get("query"),
        variables=data.get("variables"),
        operation_name=data.get("operationName"),
        extensions=data.get("extensions"),
        protocol=protocol,
    )


async def _mark_written(router: Router, result: ExecutionResult, sub_response: Response) -> None:
    """The primary's WAL position after a mutation, for the client's next reads to send back
    (service.db.routing); none when the primary cannot say, and the reads then may lag."""
    try:
        lsn = routing.format_lsn(await router.written())
    except Exception as exc:
        if database_error(exc) is None:
            raise
        logger.warning("no WAL position for a mutation's answer (%s)", exc)
        return
    sub_response.headers[routing.HEADER] = lsn
    result.extensions = {**(result.extensions or {}), "lsn": lsn}


async def _document_id(request: Request, data: GraphQLRequestData) -> object | None:
    """The spec's `documentId`, which strawberry does not read: sent instead of a query."""
    if data.query is not None or (data.extensions or {}).get("persistedQuery") is not None:
        return None
    if request.method == "GET":
        return request.query_params.get("documentId")
    body = orjson.loads(await request.body())  # parsed once already: it is JSON
    return body.get("documentId") if isinstance(body, dict) else None


def _set_status(
    result: ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult,
    sub_response: Response,
    media: str,
) -> None:
    """The status service.negotiation gives; Retry-After with a 503 or a 429."""
    results = result if isinstance(result, list) else [result]
    for single in results:
        if not isinstance(single, ExecutionResult):
            continue
        status = negotiation.status(single, media)
        if status == 200:
            continue
        sub_response.status_code = status
        for error in single.errors or ():
            if code_of(error) in HTTP_STATUS:
                retry_after = (error.extensions or {}).get("retryAfter", 1)
                sub_response.headers["retry-after"] = str(retry_after)
        return


async def principal_of(
    request: Request, throttle: AuthThrottle
) -> tuple[Principal, ClientError | None]:
    """Who sent the request, or why they are refused; GraphQL and exports alike."""
    client = request.client
    return await _authenticated(
        header(request.scope, "authorization"),
        client.host if client else "unknown",
        request.state.settings,
        request.state.pool,
        throttle,
    )


async def _authenticated(
    header: str | None,
    address: str,
    settings: Settings,
    pool: asyncpg.Pool,
    throttle: AuthThrottle,
) -> tuple[Principal, ClientError | None]:
    """Who an Authorization value names, over HTTP and WebSocket alike; or why not."""
    if header is None:
        # Anonymous requests cost no database round trip.
        if settings.require_reader_token:
            return ANONYMOUS, ClientError("this registry needs an API token", Code.UNAUTHENTICATED)
        return ANONYMOUS, None
    wait = throttle.retry_after(address)
    if wait is not None:
        # Checked before the lookup: a guesser past the limit costs no database round trip.
        message = f"too many failed authentications; retry in {wait} s"
        return ANONYMOUS, ClientError(message, Code.RATE_LIMITED, retryAfter=wait)
    try:
        async with pool.acquire() as conn:
            principal = await authenticate(conn, header)
    except Unauthenticated as exc:
        # A wrong token is refused even for public reads: its sender should learn it is wrong.
        throttle.failed(address)
        return ANONYMOUS, ClientError(str(exc), Code.UNAUTHENTICATED)
    except Exception as exc:
        unavailable = database_error(exc)
        if unavailable is None:
            raise
        return ANONYMOUS, unavailable
    return principal, None
