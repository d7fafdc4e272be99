"""The proof that the feed never skips: many writers, some slow to commit, and a tight reader.

Writers run the command layer on their own connections (as other replicas would); a third of
their transactions write and then wait before COMMIT, so audit ids are drawn in one order and
committed in another. A reader follows `changes(after:)` through the GraphQL endpoint as fast
as it can, meanwhile a naive reader follows the audit ids. At the end the feed reader must
have seen exactly the table, in order, with no gap and no duplicate; the naive reader shows
that the run did reorder commits (it misses events).

Run with `-s` to see the figures.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from service import commands, ids, inputs, validation
from service.config import Settings
from service.db.pool import connect
from tests.conftest import Api, running_api
from tests.following import FEED, follow, score_input

WRITERS = 12
TRANSACTIONS_EACH = 12
# Scored models: some already ranked, some not yet (their first score enters the top ten),
# two from countries below 40 (France, Canada) that a score can take past it.
MODELS = [
    ("claude-opus-4.8", "release"),
    ("mistral-medium-3.5", "release"),
    ("command-a-plus", "release"),
    ("solar-pro-3", "release"),
    ("solar-pro-2", "release"),
    ("mistral-7b", "release"),
]


@dataclass
class Figures:
    transactions: int = 0
    slow: int = 0
    numbered_then_slow: int = 0
    rolled_back: int = 0
    scores: int = 0
    polls: int = 0
    nonempty_polls: int = 0
    naive_missed: int = 0
    seconds: float = 0.0


@pytest.fixture(params=[False, True], ids=["uncached", "cached"])
async def feed_api(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Api]:
    # Cached, the reader's answers live until the writers' notifications drop them.
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        response_cache=request.param,
    )
    async with running_api(settings) as api:
        yield api


def _lab(slug: str) -> inputs.LabInput:
    return validation.parse(inputs.LabInput, {"slug": slug, "name": slug.title(), "country": "FR"})


def _model(slug: str, lab: str) -> inputs.ModelInput:
    return validation.parse(inputs.ModelInput, {"slug": slug, "name": slug.title(), "lab": lab})


async def _catalog_write(conn: asyncpg.Connection, writer: int, step: int) -> None:
    """A lab and its model: two events in one transaction."""
    lab = f"lab-{writer}-{step}"
    await commands.create_lab(conn, f"writer-{writer}", _lab(lab))
    await commands.create_model(conn, f"writer-{writer}", _model(f"model-{writer}-{step}", lab))


async def _writer(database_url: str, writer: int, figures: Figures) -> None:
    rng = random.Random(writer)
    conn = await connect(database_url)
    try:
        for step in range(TRANSACTIONS_EACH):
            shape = rng.random()
            figures.transactions += 1
            # Score writes hold the rankings lock to their commit (service.derived), so the
            # transactions kept open are catalog writes, which every other writer passes.
            if shape < 0.35:
                # Written now, committed later: its audit ids are below those of writers that
                # commit meanwhile.
                figures.slow += 1
                async with conn.transaction():
                    await _catalog_write(conn, writer, step)
                    await asyncio.sleep(rng.uniform(0.02, 0.15))
            elif shape < 0.40:
                # Numbered early (the deferred step run now), committed later: everyone else
                # waits for this commit before numbering theirs.
                figures.numbered_then_slow += 1
                async with conn.transaction():
                    await _catalog_write(conn, writer, step)
                    await conn.execute("SET CONSTRAINTS audit_event_number IMMEDIATE")
                    await asyncio.sleep(0.02)
            elif shape < 0.45:
                # Numbered, then rolled back: a hole in the positions, never an event.
                figures.rolled_back += 1
                transaction = conn.transaction()
                await transaction.start()
                await _catalog_write(conn, writer, step)
                await conn.execute("SET CONSTRAINTS audit_event_number IMMEDIATE")
                await transaction.rollback()
            elif shape < 0.75:
                # A score, with the events it derives (a threshold crossed, a top ten entered).
                figures.scores += 1
                model, version = rng.choice(MODELS)
                score = score_input(model, version, round(rng.uniform(30, 45), 1), "2026-06-01")
                await commands.record_score(conn, f"writer-{writer}", score)
            else:
                await _catalog_write(conn, writer, step)
            await asyncio.sleep(rng.uniform(0, 0.01))
    finally:
        await conn.close()


async def _until(done: asyncio.Event, step: Callable[[], Awaitable[bool]]) -> None:
    """Run `step` back to back; stop after one that started once `done` was set finds nothing."""
    while True:
        finished = done.is_set()
        found = await step()
        if finished and not found:
            return
        await asyncio.sleep(0)


async def test_a_polling_reader_sees_every_change_once_in_commit_order(
    feed_api: Api, database_url: str
) -> None:
    figures = Figures()
    done = asyncio.Event()
    seen: list[dict[str, Any]] = []
    cursor: str | None = None

    async def poll() -> bool:
        nonlocal cursor
        page = (await feed_api.data(FEED, after=cursor, first=100))["changes"]
        figures.polls += 1
        figures.nonempty_polls += bool(page["edges"])
        seen.extend(page["edges"])
        cursor = page["pageInfo"]["endCursor"] or cursor
        return bool(page["edges"])

    naive_seen: set[int] = set()
    naive = await asyncpg.connect(database_url)

    async def naive_poll() -> bool:
        # What a reader paging by insert-time id sees: once past an id, never back.
        last = max(naive_seen, default=0)
        rows = await naive.fetch("SELECT id FROM audit_event WHERE id > $1 ORDER BY id", last)
        naive_seen.update(row["id"] for row in rows)
        return bool(rows)

    started = time.perf_counter()
    readers = asyncio.gather(_until(done, poll), _until(done, naive_poll))
    try:
        await asyncio.gather(*(_writer(database_url, w, figures) for w in range(WRITERS)))
    finally:
        done.set()
        await readers
        await naive.close()
    figures.seconds = time.perf_counter() - started

    conn = await connect(database_url)
    try:
        table = await conn.fetch(
            "SELECT id, position FROM audit_event WHERE position IS NOT NULL ORDER BY position"
        )
        unnumbered = await conn.fetchval("SELECT count(*) FROM audit_event WHERE position IS NULL")
        counts = await conn.fetchrow(
            "SELECT count(*) AS written, count(cause_id) AS derived FROM audit_event "
            "WHERE actor <> 'demo-seed'"
        )
        assert counts is not None
        written, derived = counts["written"], counts["derived"]
    finally:
        await conn.close()
    final, _ = await follow(feed_api)

    cursors = [edge["cursor"] for edge in seen]
    assert unnumbered == 0
    assert len(set(cursors)) == len(cursors), "a change was seen twice"
    assert cursors == [ids.encode("Change", row["position"]) for row in table], "a gap"
    assert seen == final, "the reader saw other changes, or in another order, than a full read"

    figures.naive_missed = len({row["id"] for row in table} - naive_seen)
    positions = [row["position"] for row in table]
    print(
        f"\n{WRITERS} writers, {figures.transactions} transactions "
        f"({figures.slow} slow to commit, {figures.numbered_then_slow} numbered then slow, "
        f"{figures.rolled_back} rolled back after numbering, {figures.scores} scores), "
        f"{written} events ({derived} derived) in a feed of {len(table)} "
        f"(positions 1..{positions[-1]}), {figures.polls} polls "
        f"({figures.nonempty_polls} with news), a reader by audit id missed "
        f"{figures.naive_missed}, {figures.seconds:.1f} s"
    )
    # The run did what it claims: commits came out of id order (a reader by id missed some),
    # the feed reader read while the writers wrote, and numbered rollbacks left holes.
    assert figures.naive_missed > 0
    assert figures.nonempty_polls > 1
    if figures.rolled_back:
        assert positions[-1] > len(positions)
    assert derived > 0
