"""Source: where a fact came from."""

from __future__ import annotations

import datetime as dt

import strawberry

from service import enums, ids
from service.graphql.context import Info
from service.graphql.types.shared import Node, Row


@strawberry.type(description="Where a fact came from.")
class Source(Node):
    url: str | None = strawberry.field(
        description="The page cited; null when none was recorded (never a guessed address)."
    )
    title: str = strawberry.field(
        description="The headline or title; in [square brackets], a description of a source "
        "that has no title of its own or whose title was not recorded."
    )
    publisher: str | None = strawberry.field(
        description="Who published it ('Yonhap News Agency'); null when not known."
    )
    published_on: dt.date | None = strawberry.field(
        description="The day it was published; null when not known."
    )
    kind: enums.SourceKind = strawberry.field(description="What sort of source it is.")

    @classmethod
    def from_record(cls, row: Row) -> Source:
        return cls(
            id=strawberry.ID(ids.encode("Source", row["id"])),
            url=row["url"],
            title=row["title"],
            publisher=row["publisher"],
            published_on=row["published_on"],
            kind=enums.SourceKind(row["kind"]),
        )


async def load_source(info: Info, source_id: int | None) -> Source | None:
    if source_id is None:
        return None
    row = await info.context.loaders.source.load(source_id)
    return None if row is None else Source.from_record(row)
