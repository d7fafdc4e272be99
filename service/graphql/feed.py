"""The change feed: every committed change, in commit order, for data consumers.

Readable by whoever may read (open unless REGISTRY_REQUIRE_READER_TOKEN). A change shows its
kind, the entity's global id, when it was committed, the token name that wrote it and the
entity's state after it, with global ids in place of row ids. Cursors are commit positions
(service/db/feed.py): a consumer that keeps its last cursor resumes exactly after it and
never misses or repeats a change, whatever commits meanwhile.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import asyncpg
import strawberry
from pydantic.alias_generators import to_camel
from strawberry.scalars import JSON

from service import ids
from service.db import Conn, feed
from service.enums import ChangeKind
from service.graphql import pagination
from service.graphql.context import Info
from service.graphql.errors import ClientError
from service.graphql.pagination import After, Before, First, Last, Paged

# The reference columns of the registry's rows and the type each names: the feed shows the
# global ids the read API takes (node(id:)), never row ids. A test checks this against the
# database's foreign keys.
REFERENCES = {
    "lab_id": "Lab",
    "family_id": "ModelFamily",
    "model_id": "Model",
    "parent_model_id": "Model",
    "child_model_id": "Model",
    "version_id": "Version",
    "promoted_from_id": "Version",
    "source_id": "Source",
    "benchmark_id": "Benchmark",
    "benchmark_version_id": "BenchmarkVersion",
    "score_id": "Score",
    "supersedes_id": "Score",
    "evidence_score_id": "Score",
    "program_id": "Program",
    "participant_id": "ProgramParticipant",
}
# Rows nested in a state (a version's hardware targets) and their type.
NESTED = {"hardware_targets": "HardwareTarget"}


def public_state(type_name: str, state: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored row as the API speaks: camelCase keys, global ids for the row and references."""
    if state is None:
        return None
    shown: dict[str, Any] = {}
    for key, value in state.items():
        if key == "id" and isinstance(value, int):
            value = ids.encode(type_name, value)
        elif key in REFERENCES and isinstance(value, int):
            value = ids.encode(REFERENCES[key], value)
        elif key in NESTED and isinstance(value, list):
            value = [public_state(NESTED[key], row) for row in value]
        shown[to_camel(key)] = value
    return shown


@strawberry.type(description="One committed change to the registry, in commit order.")
class Change:
    kind: ChangeKind = strawberry.field(description="What the change did.")
    entity_type: str = strawberry.field(
        description="The type of entityId: Lab, Model, Version, Score, LineageLink ..."
    )
    entity_id: strawberry.ID = strawberry.field(
        description="The global id of the entity changed (node(id:) finds it, unless removed)."
    )
    recorded_at: dt.datetime = strawberry.field(
        description="When the change was committed; it never decreases along the feed."
    )
    actor: str = strawberry.field(
        description="Who wrote it: the token's name ('demo-seed' for the demo data)."
    )
    state: JSON | None = strawberry.field(
        description="The entity after the change, camelCase, references as global ids "
        "(exact decimals as strings); null when it was removed. For a derived change, what "
        "was reached."
    )

    @classmethod
    def from_record(cls, row: asyncpg.Record) -> Change:
        return cls(
            kind=ChangeKind(row["kind"]),
            entity_type=row["entity_type"],
            entity_id=strawberry.ID(ids.encode(row["entity_type"], row["entity_id"])),
            recorded_at=row["recorded_at"],
            actor=row["actor"],
            state=JSON(public_state(row["entity_type"], row["after"])),
        )


@strawberry.type(
    description="A page of the change feed, in commit order; on an empty page endCursor is "
    "null: keep the cursor you had."
)
class ChangeConnection(Paged[Change]):
    filters: strawberry.Private[feed.Filters]

    @strawberry.field(description="How many committed changes match the filters, in all.")
    async def total_count(self, info: Info) -> int:
        async with info.context.pool.acquire() as conn:
            return await feed.count(conn, self.filters)


async def lab_ids(conn: Conn, slugs: list[str] | None, *, field: str) -> list[int] | None:
    """The ids of the labs a filter names; an unknown slug is refused, naming `field`."""
    if slugs is None:
        return None
    found = await feed.lab_ids(conn, slugs)
    unknown = [slug for slug in slugs if slug not in found]
    if unknown:
        raise ClientError(f"no lab with slug {', '.join(unknown)}", "NOT_FOUND", field=field)
    return list(found.values())


async def changes(
    info: Info,
    after: After = None,
    first: First = None,
    kinds: Annotated[
        list[ChangeKind] | None, strawberry.argument(description="Only changes of these kinds.")
    ] = None,
    entity_types: Annotated[
        list[str] | None, strawberry.argument(description="Types of entityId, e.g. Score.")
    ] = None,
    labs: Annotated[
        list[str] | None,
        strawberry.argument(description="Lab slugs: changes to these labs and what is theirs."),
    ] = None,
    last: Last = None,
    before: Before = None,
) -> ChangeConnection:
    page = pagination.page(feed.ORDERING, first, after, last, before)
    async with info.context.pool.acquire() as conn:
        filters = feed.Filters(
            kinds=None if kinds is None else [kind.value for kind in kinds],
            entity_types=entity_types,
            lab_ids=await lab_ids(conn, labs, field="labs"),
            countries=None,
        )
        rows = await feed.events(conn, filters, page)
    edges, page_info = pagination.edges(rows, page, Change.from_record)
    return ChangeConnection(edges=edges, page_info=page_info, filters=filters)


@strawberry.type
class FeedQuery:
    changes: ChangeConnection = strawberry.field(
        resolver=changes,
        description="Every committed change, oldest first, in commit order; keep the last "
        "cursor and ask again with after: it never misses or repeats a change.",
    )
