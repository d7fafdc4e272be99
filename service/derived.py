"""Events the registry derives from a write: a threshold crossed, a leaderboard entered.

Consumers care about meaning, not rows: "France is the fourth country past 40" rather than
"a score was recorded". A write that can move a ranking (WATCHED) records, in its own
transaction, one event for each of these it caused on an index:

- THRESHOLD_CROSSED: a country or a lab reaches a multiple of 10 within the index's scale for
  the first time (on that method version): its score and its order in `thresholdCrossings`
  (4 for the fourth to get there). A country that drops out (its only score retracted) and
  comes back does not cross again.
- LEADERBOARD_ENTERED: a model enters the first TOP places of `leaderboard`, with its rank;
  each time it does.

Both read the answers of those two fields with their default arguments (as of today, the
method version in effect, every provenance and verification), through the same queries
(service.db.rankings), so the feed and the read API never disagree. Only the countries and
labs the write concerns can cross, so a write probes their best values (one index probe each)
instead of recomputing every crossing, and asks `thresholdCrossings` only when one crossed.

Writes that move rankings take one lock for their whole transaction, so what they compare
and count is never mixed with another such write and the orders are exact; other writes do
not wait for it.

A batch of writes in one transaction (`registry import`, service.importer) can ask for its
events once, at its end (`batched`): no reader sees the standings between two writes of one
transaction, only before and after its commit, so the events are what changed between those
two (a model that entered the top places and left them again within the batch entered
nothing anyone saw), computed as for one write with the labs of every write in the batch;
each names as its cause the write of the score it tells, else the batch's last watched
write. The lock is taken once, at the batch's start.

"Never before" is read from the crossings already recorded. Scores written before the feed
existed (migration 0005) have none, and SQL alone cannot compute them there: the first
watched write concerning such a country or lab records the crossings it had already made,
then never again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from service import clock
from service.db import Conn, audit, benchmarks, feed, rankings
from service.enums import ChangeKind

WATCHED = frozenset(
    {
        ChangeKind.SCORE_RECORDED,
        ChangeKind.SCORE_SUPERSEDED,
        ChangeKind.SCORE_VERIFIED,
        ChangeKind.LAB_UPDATED,
        ChangeKind.LAB_ARCHIVED,
        ChangeKind.LAB_RESTORED,
        ChangeKind.MODEL_ARCHIVED,
        ChangeKind.MODEL_RESTORED,
    }
)
TOP = 10
THRESHOLD_STEP = 10
LOCK = "SELECT pg_advisory_xact_lock(hashtext('rankings'))"
GROUPS = ("COUNTRY", "LAB")


@dataclass(frozen=True)
class Board:
    """An index's ranking as of today: its method version and its top places by model id."""

    index: asyncpg.Record
    version: asyncpg.Record
    top: dict[int, asyncpg.Record]


@dataclass
class Batch:
    """The boards before a batch of writes, and the watched writes' events so far."""

    earlier: list[Board]
    causes: list[int] = field(default_factory=list)


# The batch the current task's writes belong to (`batched`), if any.
_BATCH: ContextVar[Batch | None] = ContextVar("derived_batch", default=None)


def thresholds(index: asyncpg.Record) -> list[int]:
    """The multiples of THRESHOLD_STEP strictly inside the index's scale."""
    low, high = Decimal(index["scale_min"]), Decimal(index["scale_max"])
    first = int(low // THRESHOLD_STEP + 1) * THRESHOLD_STEP
    return [value for value in range(first, int(high) + 1, THRESHOLD_STEP) if low < value < high]


def _today() -> rankings.RankingFilter:
    return rankings.RankingFilter(as_of=clock.today())


async def _boards(conn: Conn) -> list[Board]:
    where = _today()
    boards = []
    for index in await benchmarks.indexes(conn):
        version = await rankings.benchmark_version(conn, index["slug"], None, where.as_of)
        if version is None:
            continue
        rows = await rankings.ranked(conn, version, where, per="model", limit=TOP, offset=0)
        boards.append(Board(index, version, {row["model_id"]: row for row in rows}))
    return boards


async def before(conn: Conn, operation: str) -> list[Board] | Batch | None:
    """What a write that can move rankings compares with (taking the lock); None for others;
    inside `batched`, the batch, which compares once at its end."""
    if ChangeKind(operation) not in WATCHED:
        return None
    batch = _BATCH.get()
    if batch is not None:
        return batch
    await conn.execute(LOCK)
    return await _boards(conn)


def _entry(row: asyncpg.Record, version: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "benchmark_version_id": version["id"],
        "model_id": row["model_id"],
        "version_id": row["version_id"],
        "lab_id": row["lab"]["id"],
        "country_code": row["country_code"],
        "value": row["value"],
        "qualifier": row["qualifier"],
        "measured_on": row["measured_on"],
    }


def _reaches(best: Decimal | None, threshold: int, higher_is_better: bool) -> bool:
    if best is None:
        return False
    return best >= threshold if higher_is_better else best <= threshold


async def _newly_crossed(
    conn: Conn, board: Board, labs: list[asyncpg.Record]
) -> list[tuple[int, str, str]]:
    """(threshold, COUNTRY or LAB, who) reached now by the write's countries and labs, and
    never before."""
    # A lab with no known country crosses nothing by country.
    countries = sorted({lab["country_code"] for lab in labs if lab["country_code"] is not None})
    lab_ids = sorted(lab["id"] for lab in labs)
    held = {"COUNTRY": countries, "LAB": [str(lab_id) for lab_id in lab_ids]}
    done = await feed.crossed(conn, board.version["id"], countries, lab_ids)
    found = []
    for by in GROUPS:
        for group in held[by]:
            best = await rankings.best(conn, board.version, _today(), by=by, group=group)
            for threshold in thresholds(board.index):
                reached = _reaches(best, threshold, board.version["higher_is_better"])
                if reached and (threshold, by, group) not in done:
                    found.append((threshold, by, group))
    return sorted(found)


async def _crossings(conn: Conn, board: Board, labs: list[asyncpg.Record]) -> list[dict[str, Any]]:
    states = []
    # One threshold's crossings serve every group that newly reached it: a batch concerning
    # many labs (an import, the first write after a bulk load) asks each once, not per group.
    asked: dict[tuple[int, str], list[asyncpg.Record]] = {}
    for threshold, by, group in await _newly_crossed(conn, board, labs):
        rows = asked.get((threshold, by))
        if rows is None:
            # Every group, not the first 100 the field lists: one that crossed is recorded.
            rows = asked[threshold, by] = await rankings.crossings(
                conn, board.version, _today(), by=by, threshold=threshold, limit=None
            )
        for row in rows:
            held = row["country_code"] if by == "COUNTRY" else str(row["lab"]["id"])
            if held == group:
                order = {"threshold": threshold, "by": by, "order": row["rank"]}
                states.append(_entry(row, board.version) | order)
    # In the order they were reached (a batch can tell several on one threshold).
    return sorted(states, key=lambda state: (state["threshold"], state["by"], state["order"]))


def _entries(board: Board, earlier: list[Board]) -> list[dict[str, Any]]:
    was = next((b.top for b in earlier if b.version["id"] == board.version["id"]), {})
    return [
        _entry(row, board.version) | {"top": TOP, "rank": row["rank"]}
        for model_id, row in board.top.items()
        if model_id not in was
    ]


async def record(
    conn: Conn, earlier: list[Board] | Batch | None, *, actor: str, cause_id: int
) -> int:
    """The events a write caused, recorded after its own event; how many (inside `batched`:
    none yet, the write is noted for the batch's end)."""
    if earlier is None:
        return 0
    if isinstance(earlier, Batch):
        earlier.causes.append(cause_id)
        return 0
    labs = await feed.concerned_labs(conn, cause_id)
    return await _derive(conn, earlier, labs, actor, lambda score_id: cause_id)


@asynccontextmanager
async def batched(conn: Conn, *, actor: str) -> AsyncIterator[Batch]:
    """Within (inside one transaction): the watched writes record no derived events; when it
    ends without an error, the events the whole batch caused are recorded, once."""
    assert conn.is_in_transaction(), "a batch's events are its transaction's"
    await conn.execute(LOCK)
    batch = Batch(await _boards(conn))
    token = _BATCH.set(batch)
    try:
        yield batch
    finally:
        _BATCH.reset(token)
    if batch.causes:
        labs = await feed.concerned_labs_of(conn, batch.causes)
        by_score = await feed.score_events(conn, batch.causes)
        last = batch.causes[-1]
        await _derive(conn, batch.earlier, labs, actor, lambda score: by_score.get(score, last))


async def _derive(
    conn: Conn,
    earlier: list[Board],
    labs: list[asyncpg.Record],
    actor: str,
    cause_of: Callable[[int], int],
) -> int:
    events: list[tuple[ChangeKind, dict[str, Any]]] = []
    for board in await _boards(conn):
        events += [(ChangeKind.THRESHOLD_CROSSED, s) for s in await _crossings(conn, board, labs)]
        events += [(ChangeKind.LEADERBOARD_ENTERED, s) for s in _entries(board, earlier)]
    for kind, state in events:
        await audit.record(
            conn,
            actor=actor,
            operation=kind.value,
            entity_type="Score",
            entity_id=state["id"],
            before=None,
            after=state,
            cause_id=cause_of(state["id"]),
        )
    return len(events)
