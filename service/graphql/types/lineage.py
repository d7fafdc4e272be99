"""LineageLink: a typed link from a parent model to a child model."""

from __future__ import annotations

import strawberry

from service import enums, ids
from service.graphql.context import Info
from service.graphql.types.shared import Node, Row
from service.graphql.types.sources import Source, load_source


@strawberry.type(description="A typed link from a parent model to a child model.")
class LineageLink(Node):
    relation: enums.LineageRelation = strawberry.field(
        description="How the child comes from the parent; every relation but SUCCESSOR reuses "
        "the parent's weights."
    )
    note: str | None = strawberry.field(
        description="Anything else, for a person to read; null when nothing."
    )
    parent_id: strawberry.Private[int]
    child_id: strawberry.Private[int]
    source_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, row: Row) -> LineageLink:
        return cls(
            id=strawberry.ID(ids.encode("LineageLink", row["id"])),
            relation=enums.LineageRelation(row["relation"]),
            note=row["note"],
            parent_id=row["parent_model_id"],
            child_id=row["child_model_id"],
            source_id=row["source_id"],
        )

    @strawberry.field(description="The model the child comes from.")
    async def parent(self, info: Info) -> Model:
        return await load_model(info, self.parent_id)

    @strawberry.field(description="The model that comes from the parent.")
    async def child(self, info: Info) -> Model:
        return await load_model(info, self.child_id)

    @strawberry.field(description="Where the link is stated; null when no source is cited.")
    async def source(self, info: Info) -> Source | None:
        return await load_source(info, self.source_id)


# Types of aggregates that refer back to this module's: imported last so that either
# module can be imported first (strawberry resolves the annotations when the schema is built).
from service.graphql.types.models import Model, load_model  # noqa: E402
