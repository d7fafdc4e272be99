"""The audit log, readable by admins: one event per successful write, oldest first.

Events page by their id (a keyset cursor), so a consumer that stores the last cursor it saw
resumes exactly there, however many events arrive meanwhile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated

import asyncpg
import strawberry
from strawberry.scalars import JSON

from service import ids
from service.db import Conn, audit, keys
from service.db.pages import MAX_BIGINT
from service.graphql import pagination
from service.graphql.context import Info
from service.graphql.errors import ClientError
from service.graphql.pagination import After, Before, First, Last, Paged
from service.graphql.permissions import IsAdmin

# The kinds of entity a slug names.
_SLUG_KEYS: dict[str, Callable[[Conn, str], Awaitable[int | None]]] = {
    "Lab": keys.lab_id,
    "Model": keys.model_id,
    "ModelFamily": keys.family_id,
    "Benchmark": keys.benchmark_id,
    "Program": keys.program_id,
}


@strawberry.type(description="One successful write: who, when, what, and the states around it.")
class AuditEvent:
    id: strawberry.ID = strawberry.field(description="The event's id, also its cursor.")
    occurred_at: dt.datetime = strawberry.field(
        description="When the write's transaction ran (UTC)."
    )
    actor: str = strawberry.field(description="The token's name ('demo-seed' for demo data).")
    operation: str = strawberry.field(description="The mutation, e.g. 'createVersion'.")
    entity_type: str = strawberry.field(
        description="The type of entityId: Lab, Model, Version, Score, Source ..."
    )
    entity_id: strawberry.ID = strawberry.field(description="The entity's global id.")
    before: JSON | None = strawberry.field(description="The row before; null when created.")
    after: JSON | None = strawberry.field(description="The row after; null when removed.")

    @classmethod
    def from_record(cls, row: asyncpg.Record) -> AuditEvent:
        return cls(
            # Its id is its cursor: the log's one key.
            id=strawberry.ID(pagination.cursor(audit.ORDERING, [str(row["id"])])),
            occurred_at=row["occurred_at"],
            actor=row["actor"],
            operation=row["operation"],
            entity_type=row["entity_type"],
            entity_id=strawberry.ID(ids.encode(row["entity_type"], row["entity_id"])),
            before=row["before"],
            after=row["after"],
        )


@strawberry.type(description="A page of the audit log, oldest first.")
class AuditEventConnection(Paged[AuditEvent]):
    filters: strawberry.Private[audit.Filters]

    @strawberry.field(description="How many events match the filters (counted on request).")
    async def total_count(self, info: Info) -> int:
        async with info.context.pool.acquire() as conn:
            return await audit.count(conn, **self.filters)


async def _entity(
    conn: Conn, entity: strawberry.ID | None, entity_type: str | None, slug: str | None
) -> tuple[str | None, int | None]:
    """The (type, row id) to filter on; a row id of -1 matches nothing."""
    if entity is not None:
        if entity_type is not None or slug is not None:
            raise ClientError("give entity, or entityType with slug, not both", "INVALID")
        decoded = ids.decode(entity)
        # A larger id than a bigint names no row.
        if decoded is None or not 0 <= decoded[1] <= MAX_BIGINT:
            raise ClientError("entity is not a global id", "INVALID")
        return decoded
    if slug is None:
        return entity_type, None
    lookup = _SLUG_KEYS.get(entity_type or "")
    if lookup is None:
        raise ClientError(f"slug needs entityType, one of {', '.join(_SLUG_KEYS)}", "INVALID")
    row_id = await lookup(conn, slug)
    return entity_type, -1 if row_id is None else row_id


@strawberry.type
class AdminQuery:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Audit events, oldest first, filtered by entity, actor and time (ADMIN).",
    )
    async def audit_log(
        self,
        info: Info,
        entity: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only events of this object (its global id); not with entityType "
                "or slug."
            ),
        ] = None,
        entity_type: Annotated[
            str | None,
            strawberry.argument(
                description="Only events of this type of object (Lab, Model, Score ...); with "
                f"slug, of the one object ({', '.join(_SLUG_KEYS)})."
            ),
        ] = None,
        slug: Annotated[
            str | None,
            strawberry.argument(description="With entityType: only the object of this slug."),
        ] = None,
        actor: Annotated[
            str | None, strawberry.argument(description="Only writes by this token's name.")
        ] = None,
        since: Annotated[
            dt.datetime | None,
            strawberry.argument(description="Only events after this time (exclusive)."),
        ] = None,
        after: After = None,
        first: First = None,
        last: Last = None,
        before: Before = None,
    ) -> AuditEventConnection:
        page = pagination.page(audit.ORDERING, first, after, last, before)
        async with info.context.pool.acquire() as conn:
            entity_type, entity_id = await _entity(conn, entity, entity_type, slug)
            filters = audit.Filters(
                entity_type=entity_type, entity_id=entity_id, actor=actor, since=since
            )
            rows = await audit.events(conn, **filters, page=page)
        edges, page_info = pagination.edges(rows, page, AuditEvent.from_record)
        return AuditEventConnection(filters=filters, edges=edges, page_info=page_info)
