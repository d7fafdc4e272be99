"""The audit log: one row per successful write, written in the write's transaction.

Events the registry derives from a write (service.derived) are rows here too, numbered in
the same commit-ordered history, with `cause_id` naming the write; the log shows only writes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

import asyncpg

from service.db import Conn
from service.db.pages import Key, Ordering, Page, args, numbered, statements
from service.enums import ChangeKind

INSERT = """
INSERT INTO audit_event (actor, operation, entity_type, entity_id, before, after, request_id,
                         cause_id, kind)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id
"""
# The log filtered by whatever is given (a NULL filter matches every row).
_MATCHING = """
WHERE cause_id IS NULL
  AND ($entity_type::text IS NULL OR entity_type = $entity_type)
  AND ($entity_id::bigint IS NULL OR entity_id = $entity_id)
  AND ($actor::text IS NULL OR actor = $actor)
  AND ($since::timestamptz IS NULL OR occurred_at > $since)
"""
_FILTERS = ("entity_type", "entity_id", "actor", "since")
ORDERING = Ordering("AuditEvent", (Key("id", "bigint"),))
EVENTS = statements(f"SELECT * FROM audit_event {_MATCHING}", ORDERING, _FILTERS, counted=False)
COUNT = numbered(f"SELECT count(*) FROM audit_event {_MATCHING}", _FILTERS)


class Filters(TypedDict):
    entity_type: str | None
    entity_id: int | None
    actor: str | None
    since: dt.datetime | None


async def record(
    conn: Conn,
    *,
    actor: str,
    operation: str,
    entity_type: str,
    entity_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    request_id: str | None = None,
    cause_id: int | None = None,
) -> int:
    # The feed's kind, derived here once; an operation without one is a bug to find before
    # anything is written, not an event the feed cannot show.
    kind = ChangeKind.of(operation, entity_type)
    event_id: int = await conn.fetchval(
        INSERT,
        actor,
        operation,
        entity_type,
        entity_id,
        before,
        after,
        request_id,
        cause_id,
        kind.value,
    )
    return event_id


async def events(
    conn: Conn,
    *,
    entity_type: str | None,
    entity_id: int | None,
    actor: str | None,
    since: dt.datetime | None,
    page: Page,
) -> list[asyncpg.Record]:
    """A page of the log, keyed by event id (a page of service.db.pages)."""
    return await conn.fetch(EVENTS(page), entity_type, entity_id, actor, since, *args(page))


async def count(
    conn: Conn,
    *,
    entity_type: str | None,
    entity_id: int | None,
    actor: str | None,
    since: dt.datetime | None,
) -> int:
    """How many events match the filters, whatever page is being read."""
    total: int = await conn.fetchval(COUNT, entity_type, entity_id, actor, since)
    return total
