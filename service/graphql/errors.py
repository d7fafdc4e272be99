"""The error policy: every error a client sees carries a stable `extensions.code`.

    shown as they are   ClientError (raised on purpose, with its code); parse, validation and
                        variable errors graphql-core words (GRAPHQL_PARSE_FAILED,
                        GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT)
    shown, translated   the database gone or too slow (DATABASE_UNAVAILABLE, TIMEOUT: HTTP 503)
    masked              anything else: INTERNAL, "Internal server error." and the request id,
                        logged once with its traceback

Client errors are logged at INFO in one line, never with a traceback (see `log`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import asyncpg
from graphql import GraphQLError, Node, VariableDefinitionNode
from strawberry.exceptions import StrawberryInputCoercionError

logger = logging.getLogger("service.graphql")

MASKED_MESSAGE = "Internal server error."


class Code(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"  # the HTTP request is not a GraphQL request
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"  # the Accept header allows no type the registry answers in
    NOT_FOUND = "NOT_FOUND"  # no such page (GraphiQL where it is off)
    BAD_USER_INPUT = "BAD_USER_INPUT"  # a value the registry cannot take (NUL, too long ...)
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"  # over a limit of service.graphql.limits
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"  # an unknown hash: send the text
    PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"  # allow-list: not registered
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"  # persisted queries are off
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    HEADERS_TOO_LARGE = "HEADERS_TOO_LARGE"
    RATE_LIMITED = "RATE_LIMITED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    INTERNAL = "INTERNAL"


# The HTTP status of a response carrying one of these codes (any other GraphQL error: 200).
HTTP_STATUS: dict[str, int] = {
    Code.DATABASE_UNAVAILABLE: 503,
    Code.TIMEOUT: 503,
    Code.RATE_LIMITED: 429,
}


class ClientError(GraphQLError):
    """Shown to the client as it is, with `extensions.code`; every other exception is masked."""

    def __init__(
        self, message: str, code: str, *, nodes: Sequence[Node] | None = None, **extensions: Any
    ) -> None:
        super().__init__(message, nodes=nodes, extensions={"code": str(code), **extensions})


# Connection-level failures: the server is down, restarting, or the connection broke; class
# 57 (operator intervention: shutdown, crash, "starting up") but for a cancelled statement.
_UNAVAILABLE = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.TooManyConnectionsError,
    asyncpg.OperatorInterventionError,
)


def database_error(exc: BaseException) -> ClientError | None:
    """The client's view of a database failure; None for anything else."""
    if isinstance(exc, asyncpg.QueryCanceledError | TimeoutError | asyncio.TimeoutError):
        return ClientError("the database did not answer in time; retry later", Code.TIMEOUT)
    if isinstance(exc, _UNAVAILABLE):
        return ClientError("the database is unavailable; retry later", Code.DATABASE_UNAVAILABLE)
    return None


def _request_error_code(error: GraphQLError) -> str | None:
    """The code of an error graphql-core raised before execution, None for anything else."""
    nodes = error.nodes or ()
    if any(isinstance(node, VariableDefinitionNode) for node in nodes):
        return Code.BAD_USER_INPUT  # a variable's value does not coerce; the message names it
    if isinstance(error, StrawberryInputCoercionError):
        return Code.BAD_USER_INPUT  # a variable strawberry refused: a @oneOf input not one of
    if error.original_error is not None or error.path is not None:
        return None
    if error.message.startswith("Syntax Error") or "tokens. Parsing aborted" in error.message:
        return Code.GRAPHQL_PARSE_FAILED
    return Code.GRAPHQL_VALIDATION_FAILED


def for_client(error: GraphQLError, request_id: str) -> GraphQLError:
    """The error as the client sees it, always with `extensions.code`."""
    original = error.original_error
    if isinstance(error, ClientError) or isinstance(original, ClientError):
        return error  # a wrapped ClientError keeps its extensions (graphql-core copies them)
    code = _request_error_code(error)
    if code is not None:
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            extensions={**(error.extensions or {}), "code": code},
        )
    translated = database_error(original) if original is not None else None
    if translated is not None:
        return GraphQLError(
            translated.message, nodes=error.nodes, path=error.path, extensions=translated.extensions
        )
    return GraphQLError(
        MASKED_MESSAGE,
        nodes=error.nodes,
        path=error.path,
        extensions={"code": Code.INTERNAL, "requestId": request_id},
    )


def code_of(error: GraphQLError) -> str:
    return str((error.extensions or {}).get("code", Code.INTERNAL))


def log(original: GraphQLError, shown: GraphQLError, request_id: str) -> None:
    """Once per error: faults with their traceback; client errors at DEBUG, since the request's
    access line (INFO, service.observability) already carries their codes."""
    code = code_of(shown)
    if code == Code.INTERNAL:
        cause = original.original_error or original
        logger.error(
            "request %s: unexpected error: %s",
            request_id,
            original.message,
            exc_info=(type(cause), cause, cause.__traceback__),
        )
    elif code in HTTP_STATUS:
        logger.warning("request %s: %s: %s", request_id, code, original.message)
    else:
        logger.debug("request %s: %s: %s", request_id, code, shown.message)
