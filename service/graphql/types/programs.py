"""Program, its participants and their status over time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service import clock, enums, ids
from service.graphql.context import Info
from service.graphql.types.shared import Country, Node, PreciseDate, Row, country, precise
from service.graphql.types.sources import Source, load_source


@strawberry.type(description="A public programme that selects labs.")
class Program(Node):
    slug: str = strawberry.field(
        description="The programme's key, used by every reference to it ('korea-sovereign-ai')."
    )
    name: str = strawberry.field(description="The programme's name.")
    sponsor: str = strawberry.field(description="Who runs it (a ministry, an agency).")
    country_code: strawberry.Private[str]
    started: PreciseDate | None = strawberry.field(
        description="When it started, with how exact that is; null when not known."
    )
    description: str | None = strawberry.field(
        description="What it is, for a person to read; null when none was written."
    )
    row_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, row: Row) -> Program:
        return cls(
            id=strawberry.ID(ids.encode("Program", row["id"])),
            slug=row["slug"],
            name=row["name"],
            sponsor=row["sponsor"],
            country_code=row["country_code"],
            started=precise(row["started_on"], row["started_precision"]),
            description=row["description"],
            row_id=row["id"],
        )

    @strawberry.field(description="The country that runs it.")
    def country(self) -> Country:
        return country(self.country_code)

    @strawberry.field(description="The labs taking part, with their status over time.")
    async def participants(self, info: Info) -> list[Participant]:
        rows = await info.context.loaders.participants_by_program.load(self.row_id)
        return [Participant(row_id=row["id"], lab_id=row["lab_id"]) for row in rows]


@strawberry.type(description="A lab in a programme.")
class Participant:
    row_id: strawberry.Private[int]
    lab_id: strawberry.Private[int]

    @strawberry.field(description="The lab taking part.")
    async def lab(self, info: Info) -> Lab:
        row = await info.context.loaders.lab.load(self.lab_id)
        assert row is not None, "program_participant.lab_id is a foreign key"
        return Lab.from_record(row)

    @strawberry.field(description="Every status change, oldest first.")
    async def history(self, info: Info) -> list[ParticipantStatusChange]:
        rows = await info.context.loaders.status_by_participant.load(self.row_id)
        return [ParticipantStatusChange.from_record(row) for row in rows]

    @strawberry.field(description="The status in effect on a date (default today).")
    async def status(
        self,
        info: Info,
        as_of: Annotated[
            dt.date | None,
            strawberry.argument(description="The date to answer for; null for today (UTC)."),
        ] = None,
    ) -> enums.ParticipantStatus | None:
        rows = await info.context.loaders.status_by_participant.load(self.row_id)
        day = as_of or clock.today()
        current = [row for row in rows if row["effective_on"] <= day]
        return enums.ParticipantStatus(current[-1]["status"]) if current else None


@strawberry.type(description="A participant's status from a date on.")
class ParticipantStatusChange(Node):
    status: enums.ParticipantStatus = strawberry.field(
        description="The lab's status from the effective date on."
    )
    effective: PreciseDate = strawberry.field(
        description="When the status took effect, with how exact that is."
    )
    note: str | None = strawberry.field(
        description="Anything else, for a person to read; null when nothing."
    )
    source_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, row: Row) -> ParticipantStatusChange:
        effective = precise(row["effective_on"], row["effective_precision"])
        assert effective is not None, "effective_on and its precision are NOT NULL"
        return cls(
            id=strawberry.ID(ids.encode("ParticipantStatusChange", row["id"])),
            status=enums.ParticipantStatus(row["status"]),
            effective=effective,
            note=row["note"],
            source_id=row["source_id"],
        )

    @strawberry.field(description="Where the change is reported; null when no source is cited.")
    async def source(self, info: Info) -> Source | None:
        return await load_source(info, self.source_id)


# Types of aggregates that refer back to this module's: imported last so that either
# module can be imported first (strawberry resolves the annotations when the schema is built).
from service.graphql.types.labs import Lab  # noqa: E402
