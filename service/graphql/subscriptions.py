"""Subscriptions: the change feed, and the releases of versions, pushed as they commit.

A subscription follows the feed (service/db/feed.py) from its cursor: it first reads what it
missed, then waits for this process's listener to say the feed may have advanced
(service.fanout) and reads again past its last cursor. Every event comes from the feed, so
the seam between catching up and live events has no gap and no duplicate, other replicas'
writes arrive like this one's (they all NOTIFY), and what was committed while the listener
was down is read once it listens again. Without `after`, a subscription starts at the head
of the feed: only what commits from then on.

Every read goes to the primary, even with a read replica (service.db.routing): the NOTIFY
that wakes a subscription comes from the primary at commit, and a replica may not have
replayed that commit yet; reading there would deliver the event late, or show a version
that the replica does not hold yet.

The transport (graphql-transport-ws, its limits, authentication and close codes) is the
view's: service.graphql.view and service.sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated

import asyncpg
import strawberry
from pydantic import TypeAdapter, ValidationError

from service.db import feed
from service.enums import ChangeKind, ReleaseKind
from service.graphql import pagination
from service.graphql.context import Context, Info
from service.graphql.errors import ClientError, Code, database_error
from service.graphql.feed import Change, lab_ids
from service.graphql.pagination import Edge
from service.graphql.types import Version
from service.validation import CountryCode

# Events read per statement while catching up; live, a read usually finds one or two.
BATCH = 100
# While the database does not answer, a subscription asks again this often (or on a wake-up).
RETRY_SECONDS = 1.0


_COUNTRIES = TypeAdapter(list[CountryCode])


@strawberry.input(description="Which changes to follow; every given list must match.")
class ChangeFilter:
    kinds: list[ChangeKind] | None = strawberry.field(
        default=None, description="Only changes of these kinds."
    )
    entity_types: list[str] | None = strawberry.field(
        default=None, description="Types of entityId, e.g. Score."
    )
    labs: list[str] | None = strawberry.field(
        default=None, description="Lab slugs: changes to these labs and what is theirs."
    )


@strawberry.input(description="Which releases to follow; every given list must match.")
class ReleaseEventFilter:
    labs: list[str] | None = strawberry.field(
        default=None, description="Lab slugs: releases of these labs' models."
    )
    countries: list[str] | None = strawberry.field(
        default=None,
        description="ISO 3166-1 alpha-2 codes: releases of labs in these countries (labs "
        "added later included).",
    )
    kinds: list[ReleaseKind] | None = strawberry.field(
        default=None, description="Only these kinds (all three by default)."
    )


@strawberry.type(description="A version announced, promoted or updated, as it commits.")
class ReleaseEvent:
    cursor: str = strawberry.field(
        description="Its place in the change feed: pass it as `after` to resume after it "
        "(also to the `changes` query and subscription)."
    )
    kind: ReleaseKind = strawberry.field(description="What happened.")
    recorded_at: dt.datetime = strawberry.field(description="When it was committed.")
    actor: str = strawberry.field(description="Who wrote it: the token's name.")
    version_id: strawberry.Private[int]

    @strawberry.field(description="The version as it is when the event is delivered.")
    async def version(self, info: Info) -> Version | None:
        row = await info.context.loaders.version.load(self.version_id)
        return None if row is None else Version.from_record(row)

    @classmethod
    def from_record(cls, row: asyncpg.Record) -> ReleaseEvent:
        return cls(
            cursor=_cursor(row),
            kind=ReleaseKind(row["kind"]),
            recorded_at=row["recorded_at"],
            actor=row["actor"],
            version_id=row["entity_id"],
        )


def _cursor(row: asyncpg.Record) -> str:
    """The feed's own cursor of the event (what the `changes` query hands out too)."""
    return pagination.cursor(feed.ORDERING, [str(row["position"])])


def _after(after: str | None) -> int | None:
    """The position a client's cursor names; INVALID (field `after`) when it is none."""
    key = pagination.key_of(after, feed.ORDERING, "after")
    if key is None:
        return None
    assert key[0] is not None, "positions are not nullable"
    return int(key[0])


def _primary(context: Context) -> asyncpg.Pool:
    # The WebSocket view gives its contexts no router, so their pool is the primary; this
    # says so where it matters, should that ever change.
    return context.pool if context.router is None else context.router.primary


async def _start(context: Context, after: str | None) -> int:
    position = _after(after)
    if position is not None:
        return position
    async with _primary(context).acquire() as conn:
        return await feed.head(conn)


async def _read(context: Context, filters: feed.Filters, after: int) -> list[asyncpg.Record]:
    async with _primary(context).acquire() as conn:
        return await feed.following(conn, filters, after=after, limit=BATCH)


async def follow(
    context: Context, filters: feed.Filters, after: str | None
) -> AsyncGenerator[asyncpg.Record, None]:
    """Every committed event matching `filters` past the cursor `after`, then as they commit."""
    fanout = context.fanout
    assert fanout is not None, "subscriptions are served over the WebSocket view only"
    # Subscribed before the first read: an advance from here on is seen by the loop below.
    with fanout.subscribed() as advanced:
        position = await _start(context, after)
        while True:
            advanced.clear()  # before reading: an advance during the read wakes the next wait
            try:
                rows = await _read(context, filters, position)
            except Exception as exc:
                if database_error(exc) is None:
                    raise
                rows = None  # the database is away: try again on the next advance, or soon
            for row in rows or ():
                # Each event is resolved with fresh loaders: a connection lives for hours,
                # and what an event shows must be the registry as of its delivery.
                context.use(_primary(context))
                context.renew_loaders()
                yield row
                position = row["position"]
            if rows is not None and len(rows) == BATCH:
                continue
            timeout = None if rows is not None else RETRY_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(advanced.wait(), timeout)


def _countries(codes: list[str] | None) -> list[str] | None:
    if codes is None:
        return None
    try:
        return [code.upper() for code in _COUNTRIES.validate_python(codes)]
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ClientError(reason, Code.BAD_USER_INPUT, field="filter.countries") from exc


async def _filters(
    context: Context,
    *,
    kinds: list[str] | None,
    entity_types: list[str] | None = None,
    labs: list[str] | None = None,
    countries: list[str] | None = None,
) -> feed.Filters:
    # Checked when the subscription starts, so a wrong slug is an `error` message, not a
    # stream that never delivers.
    async with _primary(context).acquire() as conn:
        found = await lab_ids(conn, labs, field="filter.labs")
    return feed.Filters(
        kinds=kinds, entity_types=entity_types, lab_ids=found, countries=_countries(countries)
    )


async def _changes(
    context: Context, filters: feed.Filters, after: str | None
) -> AsyncGenerator[Edge[Change], None]:
    async for row in follow(context, filters, after):
        yield Edge(cursor=_cursor(row), node=Change.from_record(row))


async def _releases(
    context: Context, filters: feed.Filters, after: str | None
) -> AsyncGenerator[ReleaseEvent, None]:
    async for row in follow(context, filters, after):
        yield ReleaseEvent.from_record(row)


_AFTER = strawberry.argument(
    description="The last cursor handled: what came after it is sent first. None: from now on."
)


@strawberry.type(
    description="Changes pushed as they commit, over graphql-transport-ws at /graphql; each "
    "carries a cursor to resume from after a reconnect."
)
class Subscription:
    @strawberry.subscription(
        description="Every committed change matching the filter, in commit order: first those "
        "after `after`, then each as it commits, never missed or repeated."
    )
    async def changes(
        self,
        info: Info,
        after: Annotated[str | None, _AFTER] = None,
        filter: Annotated[  # noqa: A002 - the argument's GraphQL name
            ChangeFilter | None,
            strawberry.argument(description="Which changes to follow; all of them without it."),
        ] = None,
    ) -> AsyncIterator[Edge[Change]]:
        given = filter or ChangeFilter()
        _after(after)  # a bad cursor is refused before anything streams
        filters = await _filters(
            info.context,
            kinds=None if given.kinds is None else [kind.value for kind in given.kinds],
            entity_types=given.entity_types,
            labs=given.labs,
        )
        return _changes(info.context, filters, after)

    @strawberry.subscription(
        description="Versions announced, promoted or updated, in commit order: first those "
        "after `after`, then each as it commits."
    )
    async def release_events(
        self,
        info: Info,
        after: Annotated[str | None, _AFTER] = None,
        filter: Annotated[  # noqa: A002 - the argument's GraphQL name
            ReleaseEventFilter | None,
            strawberry.argument(description="Which releases to follow; all of them without it."),
        ] = None,
    ) -> AsyncIterator[ReleaseEvent]:
        given = filter or ReleaseEventFilter()
        _after(after)
        kinds = list(ReleaseKind) if given.kinds is None else given.kinds
        filters = await _filters(
            info.context,
            kinds=[kind.value for kind in kinds],
            entity_types=["Version"],
            labs=given.labs,
            countries=given.countries,
        )
        return _releases(info.context, filters, after)
