"""Export: a table of the registry as NDJSON or CSV, streamed, in one snapshot with a feed cursor.

`GET /export/{table}.{ndjson|csv}` and `registry export` share `encode`: rows come from a
server-side cursor (service.db.export) a batch at a time and leave as bytes at once, so
memory holds one batch whatever the table's size.

Every export names the change-feed position its snapshot corresponds to (the
`Registry-Feed-Cursor` header; an NDJSON file's first line too). `changes(after:)` with it
returns exactly the changes the export does not hold: export once, then follow.

NDJSON: a first line `{"export": table, "cursor": ..., "asOf": ...}`, then one object per row,
with global ids and exact decimals as strings, as the change feed shows them. CSV (RFC 4180,
UTF-8 with a byte-order mark so spreadsheets read it as UTF-8): a header row, then one line
per row; nested lists and objects as JSON text; a text cell starting with = + - @ is prefixed
with `'`, so a spreadsheet shows it rather than running it as a formula, and so is one
starting with `'`, so that `csv_value` can take the mark off again. An empty cell is null
(CSV cannot tell an empty text from none; NDJSON can).

How a cell is written, and read back, follows its column's PostgreSQL type (`columns`), so
the import reads the CSV the export wrote without a second list of columns.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import asyncpg
import orjson
from asyncpg.prepared_stmt import PreparedStatement
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from service import logs
from service.auth import Principal
from service.db import Conn, export, feed
from service.errors import RegistryError
from service.graphql import pagination
from service.graphql.errors import (
    HTTP_STATUS,
    MASKED_MESSAGE,
    ClientError,
    Code,
    code_of,
    database_error,
)
from service.observability import note_late_error, note_token
from service.transport import error_response

logger = logging.getLogger("service.export")

CURSOR_HEADER = "registry-feed-cursor"
TABLES = tuple(export.TABLES)
_MARKED_START = ("=", "+", "-", "@", "\t", "\r", "'")
_BOM = "\ufeff"
GONE_WITHIN = 0.5
# PostgreSQL types of the exported columns, by how their values are written.
_JSON = "json"  # JSON text the database built (lists in order): written as it is
_JSONB = "jsonb"  # decoded by the pool's codec: encoded again
_TEXT = frozenset({"text", "varchar", "bpchar"})
_INTEGER = frozenset({"int2", "int4", "int8"})


class Format(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


MEDIA_TYPES = {
    Format.NDJSON: "application/x-ndjson",
    Format.CSV: "text/csv; charset=utf-8; header=present",
}


def cursor(position: int) -> str:
    """The change feed's cursor of a position: `changes(after:)` takes it."""
    return pagination.cursor(feed.ORDERING, [str(position)])


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # its PostgreSQL type's name


async def columns(conn: Conn, table: str) -> tuple[PreparedStatement[asyncpg.Record], list[Column]]:
    """The table's export statement, prepared, and its columns."""
    statement = await conn.prepare(export.TABLES[table])
    found = [Column(a.name, a.type.name) for a in statement.get_attributes()]
    return statement, found


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def _json_value(column: Column, value: Any) -> Any:
    if column.type == _JSON and isinstance(value, str):
        return orjson.Fragment(value)
    return value


def _cell(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.type == _JSON:  # data, not text a person typed: no mark
        return str(value)
    if column.type == _JSONB:
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value if value.startswith(_MARKED_START) else value
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def csv_value(column: Column, cell: str) -> Any:
    """A CSV cell back as the NDJSON export shows the value (the inverse of `_cell`)."""
    if cell == "":
        return None
    if column.type == "bool":
        return cell == "true"
    if column.type in _INTEGER:
        return int(cell)
    if column.type in (_JSON, _JSONB):
        return orjson.loads(cell)
    if column.type in _TEXT and cell.startswith("'"):
        return cell[1:]
    return cell  # dates and exact decimals: the NDJSON export's strings


def header_line(table: str, position: int, as_of: dt.date | None) -> bytes:
    head = {"export": table, "cursor": cursor(position), "asOf": as_of}
    return orjson.dumps(head) + b"\n"


async def encode(
    conn: Conn,
    table: str,
    fmt: Format,
    *,
    position: int,
    as_of: dt.date | None,
) -> AsyncIterator[bytes]:
    """The table's export as chunks of bytes, a batch of rows each (inside db.export.snapshot)."""
    statement, found = await columns(conn, table)
    args = (as_of,) if table in export.DATED else ()
    if fmt is Format.NDJSON:
        yield header_line(table, position, as_of)
    else:
        yield (_BOM + _csv_line([column.name for column in found])).encode()
    batch: list[bytes] = []
    async for row in statement.cursor(*args, prefetch=export.BATCH):
        batch.append(_encode_row(fmt, found, row))
        if len(batch) >= export.BATCH:
            yield b"".join(batch)
            batch.clear()
    if batch:
        yield b"".join(batch)


def _csv_line(values: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


def _encode_row(fmt: Format, found: list[Column], row: asyncpg.Record) -> bytes:
    pairs = zip(found, row, strict=True)
    if fmt is Format.NDJSON:
        shown = {column.name: _json_value(column, value) for column, value in pairs}
        return orjson.dumps(shown, default=_plain) + b"\n"
    return _csv_line([_cell(column, value) for column, value in pairs]).encode()


# --- HTTP -------------------------------------------------------------------------------

PrincipalOf = Callable[[Request], Awaitable[tuple[Principal, ClientError | None]]]
_REFUSAL_STATUS: dict[str, int] = {
    Code.UNAUTHENTICATED: 401,
    Code.FORBIDDEN: 403,
    Code.RATE_LIMITED: 429,
    Code.DATABASE_UNAVAILABLE: 503,
    Code.TIMEOUT: 503,
}
PARAMETERS = frozenset({"asOf"})


class Refused(Exception):
    def __init__(self, status: int, message: str, code: str, **headers: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers


def _target(name: str) -> tuple[str, Format]:
    table, _, extension = name.rpartition(".")
    if table not in export.TABLES or extension not in Format.__members__.values():
        choices = ", ".join(f"{table}.{{ndjson|csv}}" for table in TABLES)
        raise Refused(404, f"no export {name!r}; there are {choices}", Code.NOT_FOUND)
    return table, Format(extension)


def parse_as_of(value: str | None, name: str = "asOf") -> dt.date | None:
    """asOf as a date (YYYY-MM-DD); None when not given. `name`: how the caller spells it."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        message = f"{name}: {value!r} is not a date (YYYY-MM-DD)"
        raise Refused(400, message, Code.BAD_USER_INPUT) from None


def _as_of(request: Request) -> dt.date | None:
    unknown = sorted(set(request.query_params) - PARAMETERS)
    if unknown:
        raise Refused(
            400, f"unknown parameter {unknown[0]!r}; an export takes asOf", Code.BAD_USER_INPUT
        )
    return parse_as_of(request.query_params.get("asOf"))


def _refused(refusal: ClientError) -> Refused:
    code = code_of(refusal)
    headers: dict[str, str] = {}
    if code in HTTP_STATUS:  # RATE_LIMITED, and the database gone or slow (503)
        headers["retry-after"] = str((refusal.extensions or {}).get("retryAfter", 1))
    if code == Code.UNAUTHENTICATED:
        headers["www-authenticate"] = "Bearer"
    return Refused(_REFUSAL_STATUS.get(code, 400), refusal.message, code, **headers)


async def stream_error(conn: Conn, exc: Exception) -> ClientError | None:
    """The client's view of a failure reading an export's rows: the database's (gone, too
    slow), or None for a fault of ours.

    A backend terminated while its connection idles between fetches can surface as asyncpg's
    InternalClientError ("cannot switch to state ...; another operation (2) is in progress",
    MagicStack/asyncpg#1069) a moment before asyncpg sees the socket close: a connection that
    closes within GONE_WITHIN seconds of the failure counts as gone.
    """
    known = database_error(exc)
    if known is not None:
        return known
    deadline = asyncio.get_running_loop().time() + GONE_WITHIN
    while not conn.is_closed():
        if asyncio.get_running_loop().time() >= deadline:
            return None
        await asyncio.sleep(0.01)
    return database_error(asyncpg.ConnectionDoesNotExistError())


class ExportCutShort(RegistryError):
    """`registry export` stopped mid-table by the database; the message names its code."""


async def write_table(
    conn: Conn, table: str, fmt: Format, write: Callable[[bytes], object], **kw: Any
) -> None:
    """Write the table's export through `write` (`registry export`): a database failure on
    the way is ExportCutShort, one line with its code, not a traceback."""
    try:
        async for chunk in encode(conn, table, fmt, **kw):
            write(chunk)
    except Exception as exc:
        known = await stream_error(conn, exc)
        if known is None:
            raise
        raise ExportCutShort(f"export of {table} cut short: {code_of(known)}: {exc}") from exc


def trailer(code: str, message: str, request_id: str | None) -> bytes:
    """An NDJSON export's last line when it was cut short: no row has an `error` key."""
    error = {"code": code, "message": message, "requestId": request_id}
    return orjson.dumps({"error": error}) + b"\n"


class _Export(StreamingResponse):
    """A streamed export that gives back its connection, however the response ends.

    A failure after the status went out (the database gone mid-stream) cannot change the
    status: the export logs one line with its code, NDJSON ends with a `trailer` line, and
    both formats stop without the body's final chunk, so an HTTP client sees an incomplete
    body (a chunked read that never ended) rather than a short file that looks whole.
    """

    def __init__(
        self,
        body: AsyncIterator[bytes],
        resources: contextlib.AsyncExitStack,
        *,
        conn: Conn,
        name: str,
        fmt: Format,
        **kw: Any,
    ):
        super().__init__(body, **kw)
        self.resources = resources
        self.conn = conn
        self.name = name
        self.fmt = fmt
        self.failure: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            try:
                await self.resources.aclose()
            except Exception:
                # Giving back a connection the database broke fails the same way again:
                # told already. Anything else is news.
                if self.failure in (None, Code.INTERNAL):
                    raise
        if self.failure is not None:
            note_late_error(scope, self.failure)
            logs.CUT_SHORT.set(True)  # in this task, where the server notices the cut

    async def stream_response(self, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        sent, rows = 0, aiter(self.body_iterator)
        while True:
            try:
                chunk = await anext(rows)
            except StopAsyncIteration:
                break
            except Exception as exc:  # reading rows; a failed send (the client gone) is not ours
                await self._cut_short(send, exc, sent)
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent += len(chunk)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _cut_short(self, send: Send, exc: Exception, sent: int) -> None:
        request_id = logs.REQUEST_ID.get()
        known = await stream_error(self.conn, exc)
        code: str
        if known is None:  # a fault: masked for the client, logged once with its traceback
            code, message = Code.INTERNAL, MASKED_MESSAGE
            logger.error(
                "request %s: export %s cut short after %d bytes: unexpected error",
                request_id, self.name, sent, exc_info=exc,
            )  # fmt: skip
        else:
            code, message = code_of(known), known.message
            logger.warning(
                "request %s: export %s cut short after %d bytes: %s: %s",
                request_id, self.name, sent, code, exc,
            )  # fmt: skip
        self.failure = code
        if self.fmt is Format.NDJSON:
            with contextlib.suppress(OSError):  # the client may be gone too
                body = trailer(code, message, request_id)
                await send({"type": "http.response.body", "body": body, "more_body": True})


class ExportEndpoint:
    """The ASGI endpoint of `/export/{table}.{format}`: the same tokens, limits and error codes
    as the GraphQL reads; at most `concurrency` exports stream at once (each holds a
    connection), more get 429 RATE_LIMITED."""

    def __init__(self, principal_of: PrincipalOf, *, concurrency: int) -> None:
        self.principal_of = principal_of
        self.running = asyncio.Semaphore(concurrency)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._export(request)
        except Refused as refused:
            logger.debug("export %s: %s: %s", request.url.path, refused.code, refused)
            response = error_response(
                refused.status, str(refused), refused.code, refused.headers or None
            )
        await response(scope, receive, send)

    async def _export(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise Refused(405, "an export is read with GET", Code.BAD_REQUEST, allow="GET")
        table, fmt = _target(request.path_params["name"])
        as_of = _as_of(request)
        principal, refusal = await self.principal_of(request)
        note_token(request, principal.name if principal.is_authenticated else None)
        if refusal is not None:
            raise _refused(refusal)
        if self.running.locked():
            raise Refused(
                429,
                "too many exports are running; retry in 1 s",
                Code.RATE_LIMITED,
                **{"retry-after": "1"},
            )
        resources = contextlib.AsyncExitStack()
        try:
            await self.running.acquire()
            resources.callback(self.running.release)
            conn = await resources.enter_async_context(request.state.pool.acquire())
            position = await resources.enter_async_context(export.snapshot(conn))
            body = encode(conn, table, fmt, position=position, as_of=as_of)
            first = await anext(body)  # the statement is prepared: its errors are ours to tell
        except BaseException as exc:
            await resources.aclose()
            unavailable = database_error(exc) if isinstance(exc, Exception) else None
            if unavailable is None:
                raise
            raise _refused(unavailable) from exc
        headers = {
            CURSOR_HEADER: cursor(position),
            "content-disposition": f'attachment; filename="{table}.{fmt}"',
            "cache-control": "no-store",
        }
        if request.method == "HEAD":  # the headers (the cursor), without reading the rows
            await resources.aclose()
            return Response(media_type=MEDIA_TYPES[fmt], headers=headers)
        return _Export(
            _chained(first, body),
            resources,
            conn=conn,
            name=f"{table}.{fmt}",
            fmt=fmt,
            media_type=MEDIA_TYPES[fmt],
            headers=headers,
        )


async def _chained(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
