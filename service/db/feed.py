"""The change feed: every committed audit event, in commit order, from any position on.

The problem. Each write records its audit event in its own transaction, with an id drawn from
a sequence when the row is inserted. Transactions commit in another order than they draw ids:
a reader that saw ids up to 7 and asks for "id > 7" never sees id 6 if 6 committed after the
read. A feed keyed by insert-time ids skips events.

Two commit-safe designs were on the table:

(a) Number at commit, one transaction at a time. A deferred constraint trigger
    (migration 0005) runs at COMMIT, takes a transaction-level advisory lock and gives each
    of the transaction's events `position` (a sequence) and `recorded_at` (the transaction's
    time from transaction_time(), migration 0007: clock_timestamp() then, later than any
    time given before, one time for all the transaction's events and facts). PostgreSQL
    releases the lock only after the commit is visible, so the next transaction numbers its
    events only once this one is seen by every new snapshot: a snapshot that sees position p
    sees every committed event below p, and an event below p that it does not see never
    committed. A reader pages with `position > after` and can never skip. A rolled-back
    transaction leaves a hole in the numbers, never an event that appears later.
(b) Hand out only events whose transaction id (xid8) is below the oldest transaction still
    running (pg_snapshot_xmin(pg_current_snapshot())), ordered by (xid, id). No lock, but the
    order is the order transactions started writing, not the order they committed, and any
    long transaction in the cluster (a backup, an idle session, another database's job)
    holds the whole feed back while it runs.

This module relies on (a), for two reasons beyond the feed. Each event gets a transaction
time fixed at commit that grows with the position, so "what the registry knew at T" is a
prefix of the positions: the events with recorded_at <= T. Only a transaction that held the
lock at T can still add to that prefix, so taking the lock in shared mode after T (it waits
for exactly that transaction) makes the prefix final, and an answer computed for a past T
never changes afterwards: what knownAt needs. And the order consumers see is the order in
which facts became true in the registry. The price is that committing writers wait for each
other during the last step of their commit (the trigger and the WAL flush); writes here are
admin actions, and every writing transaction already queues on PostgreSQL's NOTIFY lock at
that point (migration 0002), so commits were serialised there before.

Readers need no lock: `position > $after ORDER BY position` on a unique index (a page of
service.db.pages, keyed by position).
"""

from __future__ import annotations

from typing import TypedDict

import asyncpg

from service.db import Conn
from service.db.pages import Key, Ordering, Page, args, statements

# The events matching every given filter (a NULL filter matches all): $1 kinds (their
# values), $2 entity types, $3 lab ids, $4 country codes (the labs of those countries when
# the event is read, so a lab founded after a subscriber asked is followed too). An event
# not yet numbered has not committed.
_MATCHING = """
WHERE position IS NOT NULL
  AND ($1::text[] IS NULL OR kind = ANY($1))
  AND ($2::text[] IS NULL OR entity_type = ANY($2))
  AND ($3::bigint[] IS NULL OR lab_ids && $3)
  AND ($4::text[] IS NULL
       OR lab_ids && ARRAY(SELECT id FROM lab WHERE country_code::text = ANY($4)))
"""
ORDERING = Ordering("Change", (Key("position", "bigint"),))
EVENTS = statements(
    f"""
SELECT position, recorded_at, actor, kind, entity_type, entity_id, after
FROM audit_event {_MATCHING}""",
    ORDERING,
    ("kinds", "entity_types", "lab_ids", "countries"),
    counted=False,
)
# What a subscription reads on each wake-up: only the index range past its cursor, without
# the neighbour probes of a page (which could scan the whole feed for a rare filter).
FOLLOWING = f"""
SELECT position, recorded_at, actor, kind, entity_type, entity_id, after
FROM audit_event {_MATCHING} AND position > $5
ORDER BY position
LIMIT $6
"""
COUNT = f"SELECT count(*) FROM audit_event {_MATCHING}"
# The last position handed out and committed (numbering is serialised at commit: every
# event numbered later gets a greater position).
HEAD = "SELECT coalesce(max(position), 0) FROM audit_event"
LAB_IDS = "SELECT slug, id FROM lab WHERE slug = ANY($1)"


class Filters(TypedDict):
    kinds: list[str] | None
    entity_types: list[str] | None
    lab_ids: list[int] | None
    countries: list[str] | None


def _arguments(filters: Filters) -> tuple[object, ...]:
    return (filters["kinds"], filters["entity_types"], filters["lab_ids"], filters["countries"])


async def events(conn: Conn, filters: Filters, page: Page) -> list[asyncpg.Record]:
    """A page of committed events, keyed by position (a page of service.db.pages)."""
    return await conn.fetch(EVENTS(page), *_arguments(filters), *args(page))


async def following(
    conn: Conn, filters: Filters, *, after: int, limit: int
) -> list[asyncpg.Record]:
    """Committed events past position `after`, oldest first: at most `limit` of them."""
    return await conn.fetch(FOLLOWING, *_arguments(filters), after, limit)


async def count(conn: Conn, filters: Filters) -> int:
    total: int = await conn.fetchval(COUNT, *_arguments(filters))
    return total


async def head(conn: Conn) -> int:
    """The position a follower starts from to see only what commits from now on."""
    position: int = await conn.fetchval(HEAD)
    return position


async def lab_ids(conn: Conn, slugs: list[str]) -> dict[str, int]:
    return {row["slug"]: row["id"] for row in await conn.fetch(LAB_IDS, slugs)}


# The labs an event concerns, with their countries.
CONCERNED = """
SELECT lab.id, lab.country_code::text AS country_code
FROM audit_event JOIN lab ON lab.id = ANY(audit_event.lab_ids)
WHERE audit_event.id = $1
"""
# What countries ($2) and labs ($3) have crossed on a benchmark version ($1): the
# THRESHOLD_CROSSED events already recorded (a small partial index holds derived events).
CROSSED = """
SELECT (after ->> 'threshold')::int AS threshold, after ->> 'by' AS by,
       CASE after ->> 'by' WHEN 'COUNTRY' THEN after ->> 'country_code'
                           ELSE after ->> 'lab_id' END AS held_by
FROM audit_event
WHERE cause_id IS NOT NULL AND kind = 'thresholdCrossed'
  AND (after ->> 'benchmark_version_id')::bigint = $1
  AND ((after ->> 'by' = 'COUNTRY' AND after ->> 'country_code' = ANY($2::text[]))
       OR (after ->> 'by' = 'LAB' AND (after ->> 'lab_id')::bigint = ANY($3::bigint[])))
"""


# The same for several events, each lab once.
CONCERNED_BY_ANY = """
SELECT DISTINCT lab.id, lab.country_code::text AS country_code
FROM audit_event JOIN lab ON lab.id = ANY(audit_event.lab_ids)
WHERE audit_event.id = ANY($1::bigint[])
ORDER BY lab.id
"""
# Of these events, the last that wrote each score.
SCORE_EVENTS = """
SELECT entity_id AS score_id, max(id) AS event_id FROM audit_event
WHERE id = ANY($1::bigint[]) AND entity_type = 'Score'
GROUP BY entity_id
"""


async def concerned_labs(conn: Conn, event_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(CONCERNED, event_id)


async def concerned_labs_of(conn: Conn, event_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(CONCERNED_BY_ANY, event_ids)


async def score_events(conn: Conn, event_ids: list[int]) -> dict[int, int]:
    """Score id -> the last of these events that wrote it."""
    rows = await conn.fetch(SCORE_EVENTS, event_ids)
    return {row["score_id"]: row["event_id"] for row in rows}


async def crossed(
    conn: Conn, version_id: int, countries: list[str], lab_ids: list[int]
) -> set[tuple[int, str, str]]:
    """(threshold, COUNTRY or LAB, country code or lab id) already crossed on the version."""
    rows = await conn.fetch(CROSSED, version_id, countries, lab_ids)
    return {(row["threshold"], row["by"], row["held_by"]) for row in rows}
