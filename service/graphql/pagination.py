"""Relay cursor connections: the one pagination module of the API.

Every connection takes the same four arguments (`First`, `After`, `Last`, `Before` below,
`first`/`last` a nullable Int with DEFAULT_PAGE applied here) and answers the same fields
(`edges`, `nodes`, `pageInfo`, `totalCount`). A cursor is the key of its row in the list's
ordering (service.db.pages), in URL-safe base64 like the registry's ids: "Labs.NAME.ASC:
["Cohere", "cohere", 7]", or for a one-key ordering the bare key ("Change:42", which is
what the change feed's cursors always were). A page asked for with a cursor therefore
starts right after (or ends right before) that row, however many rows were written
elsewhere in the list meanwhile: it neither repeats nor skips one. A cursor of another
list or ordering is refused with INVALID, naming the argument.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from service.db.pages import MAX_BIGINT, Key, Ordering, Page
from service.graphql.errors import ClientError

MAX_PAGE = 100
DEFAULT_PAGE = 20

NodeT = TypeVar("NodeT")

First = Annotated[
    int | None,
    strawberry.argument(
        description=f"At most this many from the start (0 to {MAX_PAGE}); without first "
        f"or last, the first {DEFAULT_PAGE}."
    ),
]
After = Annotated[str | None, strawberry.argument(description="Only what comes after this cursor.")]
Last = Annotated[
    int | None,
    strawberry.argument(description=f"At most this many from the end (0 to {MAX_PAGE})."),
]
Before = Annotated[
    str | None, strawberry.argument(description="Only what comes before this cursor.")
]


@strawberry.type(description="Where a page stands in its list (Relay's PageInfo).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Something follows this page.")
    has_previous_page: bool = strawberry.field(description="Something precedes this page.")
    start_cursor: str | None = strawberry.field(description="The first edge's; null when empty.")
    end_cursor: str | None = strawberry.field(description="The last edge's; null when empty.")


@strawberry.type(description="One item of a page and its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Where this edge stands: after/before take it.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list (a Relay connection).")
class Paged(Generic[NodeT]):
    """A connection's page; each connection adds `totalCount` (counted with the page, or on
    request for long lists)."""

    edges: list[Edge[NodeT]] = strawberry.field(
        description="The page's rows in list order, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether more lies before or after the page, and its first and last cursor."
    )

    @strawberry.field(description="The nodes of the edges, for clients that need no cursors.")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="A page of a list (a Relay connection) and the list's size.")
class Connection(Paged[NodeT]):
    total_count: int = strawberry.field(description="How many the whole list holds.")


def _json(key: Key, text: str | None) -> Any:
    return int(text) if text is not None and key.type == "bigint" else text


def cursor(ordering: Ordering, key: Sequence[str | None]) -> str:
    """The cursor of the row whose `cursor_key` (its key columns as text) is `key`."""
    values = [_json(k, text) for k, text in zip(ordering.keys, key, strict=True)]
    payload = json.dumps(values[0] if len(values) == 1 else values, ensure_ascii=False)
    encoded = base64.urlsafe_b64encode(f"{ordering.name}:{payload}".encode())
    return encoded.decode().rstrip("=")


def cursor_sql(ordering: Ordering, row: str) -> str:
    """The SQL expression computing `cursor` for the row aliased `row` (the compiled path):
    json_build_array writes what json.dumps writes for these values."""
    values = [f"{row}.{k.column}" if k.type == "bigint" else f"{row}.{k.column}::text"
              for k in ordering.keys]  # fmt: skip
    payload = values[0] if len(values) == 1 else f"json_build_array({', '.join(values)})"
    text = f"'{ordering.name}:' || ({payload})::text"
    return f"rtrim(translate(encode(convert_to({text}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"


def _checked(key: Key, value: Any) -> str | None:
    """A key value from a client's cursor as text for SQL; ValueError when it cannot be one."""
    if value is None:
        if not key.nullable:
            raise ValueError("null key")
        return None
    if key.type == "bigint":
        if type(value) is not int or not -MAX_BIGINT - 1 <= value <= MAX_BIGINT:
            raise ValueError("not a bigint")
        return str(value)
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("not text")
    value.encode()  # a lone surrogate from JSON is no text PostgreSQL can take
    if key.type == "date":
        dt.date.fromisoformat(value)
    elif key.type == "numeric":
        try:
            number = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError("not a number") from exc
        if not number.is_finite() or abs(number.adjusted()) > 1000:
            raise ValueError("not a number a key holds")
    return value


def key_of(value: str | None, ordering: Ordering, field: str) -> list[str | None] | None:
    """The key a client's cursor names in this ordering; INVALID when it is not one of it."""
    if value is None:
        return None
    try:
        padded = value + "=" * (-len(value) % 4)
        name, separator, payload = base64.urlsafe_b64decode(padded).decode().partition(":")
        if not separator:
            raise ValueError("no ordering")
        if name == ordering.name:
            decoded = json.loads(payload)
            values = decoded if len(ordering.keys) > 1 else [decoded]
            if not isinstance(values, list) or len(values) != len(ordering.keys):
                raise ValueError("not a key of this ordering")
            return [_checked(k, v) for k, v in zip(ordering.keys, values, strict=True)]
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ClientError(f"{field} is not a cursor", "INVALID", field=field) from None
    raise ClientError(
        f"{field} is a cursor of another list ({name}), not of this one ({ordering.name})",
        "INVALID",
        field=field,
    )


def _size(value: int | None, field: str) -> int | None:
    if value is not None and not 0 <= value <= MAX_PAGE:
        raise ClientError(f"{field} must be between 0 and {MAX_PAGE}", "OUT_OF_RANGE", field=field)
    return value


def page(
    ordering: Ordering,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Page:
    """The page the four arguments ask for, every argument checked."""
    first, last = _size(first, "first"), _size(last, "last")
    if first is not None and last is not None:
        raise ClientError("give first or last, not both", "INVALID", field="last")
    return Page(
        ordering=ordering,
        limit=DEFAULT_PAGE if first is None and last is None else (first or last or 0),
        after=key_of(after, ordering, "after"),
        before=key_of(before, ordering, "before"),
        backward=last is not None,
    )


def edges(
    rows: Sequence[Any], page: Page, to_node: Callable[[Any], NodeT]
) -> tuple[list[Edge[NodeT]], PageInfo]:
    """Rows of a page statement (one past the page, `cursor_key`, the neighbour flags) into
    edges in list order and the page's info."""
    found = [row for row in rows if row["cursor_key"] is not None]
    shown = found[: page.limit]
    if page.backward:
        shown.reverse()
    listed = [
        Edge(cursor=cursor(page.ordering, row["cursor_key"]), node=to_node(row)) for row in shown
    ]
    more = len(found) > page.limit
    before_start = bool(rows and rows[0]["before_start"])
    past_end = bool(rows and rows[0]["past_end"])
    return listed, info(
        listed,
        has_next=past_end or (more and not page.backward),
        has_previous=before_start or (more and page.backward),
    )


def info(listed: Sequence[Edge[Any]], *, has_next: bool, has_previous: bool) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=listed[0].cursor if listed else None,
        end_cursor=listed[-1].cursor if listed else None,
    )


def connection(
    rows: Sequence[Any], page: Page, to_node: Callable[[Any], NodeT]
) -> Connection[NodeT]:
    """A counted page statement's rows (every row carries `total`) into a connection."""
    listed, page_info = edges(rows, page, to_node)
    total = int(rows[0]["total"]) if rows else 0
    return Connection(total_count=total, edges=listed, page_info=page_info)


def positions(low: int, high: int | None, page: Page) -> tuple[int, int]:
    """(offset, size) of a page of a list numbered by position (a ranking): `low` entries are
    at or before `after`, `high` before `before` (or, for `last` alone, the whole count)."""
    if page.backward:
        assert high is not None, "a page from the end needs where the end is"
        offset = max(low, high - page.limit)
        return offset, max(0, high - offset)
    if high is None:
        return low, page.limit
    return low, max(0, min(page.limit, high - low))
