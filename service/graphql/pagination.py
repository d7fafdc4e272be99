"""Relay cursor connections over positions in an ordered result, or over a key.

A cursor is the opaque global id of a 1-based position ("Position:N"). `first/after` and
`last/before` become one OFFSET/LIMIT window; one row more than asked tells whether a
next page exists. Page sizes are capped at MAX_PAGE with a clear error above it.

A keyset cursor ("Change:N") names a row's key instead of its place, so it stays valid
however many rows are written before or after it: what a consumer that resumes needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry

from service import ids
from service.db.catalog import Page
from service.graphql.errors import ClientError

MAX_PAGE = 100
DEFAULT_PAGE = 20

NodeT = TypeVar("NodeT")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    total_count: int
    edges: list[Edge[NodeT]]
    page_info: PageInfo

    @strawberry.field(description="The nodes of the edges, for clients that need no cursors.")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


@dataclass(frozen=True)
class Window:
    """Rows [offset, offset + limit) of the ordered result; `needs_total` for `last` alone."""

    offset: int
    limit: int
    from_end: bool = False


def cursor(position: int) -> str:
    return ids.encode("Position", position)


def _position(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    decoded = ids.decode(value)
    if decoded is None or decoded[0] != "Position" or decoded[1] < 1:
        raise ClientError(f"{field} is not a cursor of this list", "INVALID", field=field)
    return decoded[1]


def _size(value: int | None, field: str) -> int | None:
    if value is not None and not 0 <= value <= MAX_PAGE:
        raise ClientError(f"{field} must be between 0 and {MAX_PAGE}", "OUT_OF_RANGE", field=field)
    return value


_MAX_KEY = 2**63 - 1  # bigint: a larger key decoded from a client's string names no row


def page_size(first: int | None) -> int:
    """`first` within 0..MAX_PAGE (OUT_OF_RANGE otherwise), DEFAULT_PAGE when not given."""
    size = _size(first, "first")
    return DEFAULT_PAGE if size is None else size


def keyset_cursor(kind: str, key: int) -> str:
    return ids.encode(kind, key)


def keyset_after(after: str | None, kind: str) -> int:
    """The key an `after` cursor of this list names; 0 (before every key) without one."""
    if after is None:
        return 0
    decoded = ids.decode(after)
    if decoded is None or decoded[0] != kind or not 0 <= decoded[1] <= _MAX_KEY:
        raise ClientError("after is not a cursor of this list", "INVALID", field="after")
    return decoded[1]


def keyset_page(
    rows: Sequence[Any],
    *,
    first: int,
    after: int,
    kind: str,
    key: Callable[[Any], int],
    to_node: Callable[[Any], NodeT],
) -> tuple[list[Edge[NodeT]], PageInfo]:
    """Rows past `after` in key order, fetched `first + 1` at most, into edges and page info."""
    edges = [Edge(cursor=keyset_cursor(kind, key(row)), node=to_node(row)) for row in rows[:first]]
    page_info = PageInfo(
        has_next_page=len(rows) > first,
        has_previous_page=after > 0,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return edges, page_info


def window(
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Window:
    first, last = _size(first, "first"), _size(last, "last")
    after_at, before_at = _position(after, "after"), _position(before, "before")
    if first is not None and last is not None:
        raise ClientError("give first or last, not both", "INVALID", field="last")
    start = after_at or 0
    end = before_at - 1 if before_at is not None else None
    if last is not None:
        if end is None:
            return Window(offset=0, limit=last, from_end=True)
        return Window(offset=max(start, end - last), limit=max(0, min(last, end - start)))
    size = DEFAULT_PAGE if first is None else first
    if end is not None:
        size = max(0, min(size, end - start))
    return Window(offset=start, limit=size)


def resolve_window(page: Window, total: int) -> Window:
    """Turn a `last`-only window into plain offsets once the total is known."""
    if not page.from_end:
        return page
    return Window(offset=max(0, total - page.limit), limit=min(page.limit, total))


def build(
    rows: Sequence[Any],
    page: Window,
    total: int,
    to_node: Callable[[Any], NodeT],
) -> Connection[NodeT]:
    """Rows of the window (plus possibly one extra) into a connection."""
    shown = list(rows[: page.limit])
    edges = [
        Edge(cursor=cursor(page.offset + index + 1), node=to_node(row))
        for index, row in enumerate(shown)
    ]
    return Connection(
        total_count=total,
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.offset + len(shown) < total,
            has_previous_page=page.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def catalog_page(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> Page:
    """The page arguments of a list as service.db.catalog's statements take them."""
    found = window(first, after, last, before)
    return Page(offset=found.offset, limit=found.limit, from_end=found.from_end)


def from_rows(
    rows: Sequence[Any], page: Page, to_node: Callable[[Any], NodeT]
) -> Connection[NodeT]:
    """A page from a catalog statement: its rows carry their 1-based position and the total."""
    total = int(rows[0]["total"]) if rows else 0
    page_rows = [row for row in rows if row["id"] is not None]
    if page_rows:
        offset = int(page_rows[0]["position"]) - 1
    else:
        offset = total if page.from_end else min(page.offset, total)
    return build(page_rows, Window(offset=offset, limit=len(page_rows)), total, to_node)
