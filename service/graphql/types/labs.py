"""Lab: an organisation that builds models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service import ids
from service.graphql.context import Info
from service.graphql.limits import NESTED_LIST_CAP
from service.graphql.types.external_ids import ExternalId
from service.graphql.types.shared import FIRST, Country, Node, Row, capped


@strawberry.type(description="An organisation that builds models.")
class Lab(Node):
    slug: str = strawberry.field(
        description="The lab's key, used by every reference to it: lowercase letters, digits, "
        "hyphens ('upstage')."
    )
    name: str = strawberry.field(description="The lab's name ('Upstage').")
    country: Country | None = strawberry.field(
        description="Null when not known; such a lab is left out of country rankings."
    )
    founded_year: int | None = strawberry.field(
        description="The year it was founded; null when not known."
    )
    headquarters: str | None = strawberry.field(
        description="The city of its headquarters ('Seoul'); null when not known."
    )
    website: str | None = strawberry.field(description="Its website's URL; null when not known.")
    description: str | None = strawberry.field(
        description="What it is, for a person to read; null when none was written."
    )
    revision: int = strawberry.field(
        description="1 when created, one more with every update: send it as an update's "
        "expectedRevision."
    )
    archived_at: dt.datetime | None = strawberry.field(
        description="When archived (hidden from lists, still found by slug and id)."
    )
    row_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, row: Row) -> Lab:
        return cls(
            id=strawberry.ID(ids.encode("Lab", row["id"])),
            slug=row["slug"],
            name=row["name"],
            country=None
            if row["country_code"] is None
            else Country(code=row["country_code"], name=row["country_name"]),
            founded_year=row["founded_year"],
            headquarters=row["headquarters"],
            website=row["website"],
            description=row["description"],
            revision=row["revision"],
            archived_at=row["archived_at"],
            row_id=row["id"],
        )

    @strawberry.field(description="The lab's models that are not archived, by slug.")
    async def models(
        self, info: Info, first: Annotated[int | None, FIRST] = NESTED_LIST_CAP
    ) -> list[Model]:
        shown = capped(first)
        rows = await info.context.loaders.models_by_lab.load(self.row_id)
        return [Model.from_record(row) for row in rows[:shown]]

    @strawberry.field(description="Programmes the lab has taken part in.")
    async def programs(self, info: Info) -> list[Program]:
        rows = await info.context.loaders.programs_by_lab.load(self.row_id)
        return [Program.from_record(row) for row in rows]

    @strawberry.field(description="The lab under other registries' names.")
    async def external_ids(self, info: Info) -> list[ExternalId]:
        rows = await info.context.loaders.external_ids_by_lab.load(self.row_id)
        return [ExternalId.from_record(row) for row in rows]


# Types of aggregates that refer back to this module's: imported last so that either
# module can be imported first (strawberry resolves the annotations when the schema is built).
from service.graphql.types.models import Model  # noqa: E402
from service.graphql.types.programs import Program  # noqa: E402
