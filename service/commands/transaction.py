"""What every command shares: one transaction that writes and records its audit event, the
revision check of updates, and the resolution of the keys and sources a write names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from service import derived
from service.db import Conn, audit, keys, sources
from service.db.constraints import translated
from service.errors import AlreadyExists, Archived, Conflict, NotFound, ValidationFailed
from service.inputs import ArchiveInput, SourceInput, SourceRef


async def require(lookup: Awaitable[int | None], field: str, what: str) -> int:
    found = await lookup
    if found is None:
        raise NotFound(field, f"no {what} with this key")
    return found


@dataclass(frozen=True)
class Citing:
    """Resolves the sources one write cites: a recorded one by id, or one given by details.

    Details identical to a recorded source name that source; new ones are recorded in the
    write's transaction with an audit row of their own (the write's operation, a Source).
    Details that share a recorded source's identity (its URL, or kind, title, publisher and
    date without one) but differ otherwise are refused: the client must cite it by id.
    """

    conn: Conn
    actor: str
    operation: str

    async def optional(self, ref: SourceRef | None, field: str) -> int | None:
        return None if ref is None else await self.required(ref, field)

    async def required(self, ref: SourceRef, field: str) -> int:
        if ref.id is not None:
            return await require(sources.exists(self.conn, ref.id), f"{field}.id", "source")
        assert ref.new is not None, "SourceRef holds exactly one of id and new"
        return await self._recorded(ref.new, f"{field}.new")

    async def _recorded(self, data: SourceInput, field: str) -> int:
        details = data.model_dump()
        key = f"{field}.url" if data.url is not None else f"{field}.title"
        found = await sources.with_identity(self.conn, **details)
        if found is not None:
            if all(found[column] == details[column] for column in sources.DETAILS):
                return int(found["id"])
            raise AlreadyExists(
                key, "a source with this identity is recorded with other details; cite it by id"
            )
        with translated(key):
            row = await sources.insert(self.conn, **details)
        await audit.record(
            self.conn,
            actor=self.actor,
            operation=self.operation,
            entity_type="Source",
            entity_id=row["id"],
            before=None,
            after=dict(row),
        )
        return int(row["id"])


async def live_lab(conn: Conn, slug: str, field: str) -> int:
    state = await keys.lab_state(conn, slug)
    if state is None:
        raise NotFound(field, "no lab with this key")
    if state["archived"]:
        raise Archived(field, f"lab {slug!r} is archived; restore it first")
    return int(state["id"])


async def live_model(conn: Conn, slug: str, field: str) -> int:
    state = await keys.model_state(conn, slug)
    if state is None:
        raise NotFound(field, "no model with this key")
    if state["archived"]:
        raise Archived(field, f"model {slug!r} or its lab is archived; restore it first")
    return int(state["id"])


@dataclass(frozen=True)
class Written:
    """What a write returns (`row`) and the entity's states the audit row records."""

    row: asyncpg.Record
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def updated(before: asyncpg.Record, after: asyncpg.Record | None) -> Written:
    if after is None:
        # The row was locked and its revision checked; only a writer that bypassed the lock
        # could get here, and the guard still refuses to overwrite its change.
        raise Conflict("expectedRevision", "changed concurrently; read it again")
    # A locked read may carry derived columns; the audit keeps the table's own.
    state = dict(after)
    return Written(after, {key: before[key] for key in state}, state)


def check_revision(row: asyncpg.Record, expected: int) -> None:
    if row["revision"] != expected:
        raise Conflict(
            "expectedRevision",
            f"is stale: the current revision is {row['revision']}; read it again",
        )


async def audited(
    conn: Conn,
    actor: str,
    operation: str,
    entity_type: str,
    write: Callable[[], Awaitable[Written]],
) -> asyncpg.Record:
    async with conn.transaction():
        standings = await derived.before(conn, operation)
        written = await write()
        event_id = await audit.record(
            conn,
            actor=actor,
            operation=operation,
            entity_type=entity_type,
            entity_id=written.row["id"],
            before=written.before,
            after=written.after,
        )
        await derived.record(conn, standings, actor=actor, cause_id=event_id)
    return written.row


async def created(
    conn: Conn,
    actor: str,
    operation: str,
    entity_type: str,
    insert: Callable[[], Awaitable[asyncpg.Record]],
) -> asyncpg.Record:
    async def write() -> Written:
        row = await insert()
        return Written(row, None, dict(row))

    return await audited(conn, actor, operation, entity_type, write)


def merged(
    row: asyncpg.Record, columns: tuple[str, ...], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The row's columns with the patch's changes laid over them."""
    return {column: changes.get(column, row[column]) for column in columns}


async def locked(lookup: Awaitable[asyncpg.Record | None], field: str, what: str) -> asyncpg.Record:
    row = await lookup
    if row is None:
        raise NotFound(field, f"no {what} with this key")
    return row


Lock = Callable[[Conn, str], Awaitable[asyncpg.Record | None]]


SetArchived = Callable[[Conn, int, int, bool], Awaitable[asyncpg.Record | None]]


async def toggle_archived(
    conn: Conn,
    data: ArchiveInput,
    *,
    archive: bool,
    lock: Lock,
    set_archived: SetArchived,
    what: str,
) -> Written:
    before = await locked(lock(conn, data.slug), "slug", what)
    if archive and before["archived_at"] is not None:
        raise Archived("slug", f"the {what} is already archived")
    if not archive and before["archived_at"] is None:
        raise ValidationFailed("slug", f"the {what} is not archived")
    revision = before["revision"] if data.expected_revision is None else data.expected_revision
    check_revision(before, revision)
    return updated(before, await set_archived(conn, before["id"], revision, archive))
