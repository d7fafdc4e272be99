"""Claims: what labs said about their own models, and whether independent evidence agreed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import strawberry

from service import clock, enums
from service.db import claims
from service.graphql import pagination
from service.graphql.context import Info
from service.graphql.pagination import After, Before, Connection, First, Last
from service.graphql.types import Lab, Model, Row, Score


@strawberry.type(description="A lab's claim about its own model, and the evidence on it.")
class Claim:
    status: enums.ClaimStatus = strawberry.field(
        description="What the evidence, as it stood on the date, says of the claim."
    )
    gap: float | None = strawberry.field(
        description="Measured minus claimed value (41 against 'at least 40' is 1.0); null "
        "while there is no counted evidence."
    )
    days_to_evidence: int | None = strawberry.field(
        description="Days from the claim's date to the evidence's measurement; null without."
    )
    row: strawberry.Private[Row]

    @classmethod
    def from_record(cls, row: Row) -> Claim:
        days = row["days_to_evidence"] if row["evidence_id"] is not None else None
        return cls(
            status=enums.ClaimStatus(row["status"]),
            gap=row["gap"] if row["evidence_id"] is not None else None,
            days_to_evidence=days,
            row=row,
        )

    @strawberry.field(description="The claim itself: a LAB_CLAIM score.")
    def score(self) -> Score:
        return Score.from_record(self.row)

    @strawberry.field(
        description="The independent measurement that decides it, as it stood on the date "
        "(the linked score or its latest correction); null while there is none."
    )
    async def evidence(self, info: Info) -> Score | None:
        evidence_id = self.row["evidence_id"]
        if evidence_id is None:
            return None
        found = await info.context.loaders.score.load(evidence_id)
        return None if found is None else Score.from_record(found)

    @strawberry.field(description="The model the claim is about.")
    async def model(self, info: Info) -> Model:
        found = await info.context.loaders.model.load(self.row["model_id"])
        assert found is not None, "score.model_id is a foreign key"
        return Model.from_record(found)

    @strawberry.field(description="The lab that made the claim.")
    async def lab(self, info: Info) -> Lab:
        found = await info.context.loaders.lab.load(self.row["lab_id"])
        assert found is not None, "model.lab_id is a foreign key"
        return Lab.from_record(found)


async def list_claims(
    info: Info,
    status: Annotated[
        list[enums.ClaimStatus] | None,
        strawberry.argument(description="Only claims in these statuses (default: any)."),
    ] = None,
    lab: Annotated[str | None, strawberry.argument(description="Only this lab's (slug).")] = None,
    benchmark: Annotated[
        str | None, strawberry.argument(description="Only on this benchmark (slug).")
    ] = None,
    min_value: Annotated[
        float | None,
        strawberry.argument(
            description="Only claims asserting at least this value (an AT_MOST claim asserts "
            "nothing upwards): 'claims past 40'."
        ),
    ] = None,
    as_of: Annotated[
        dt.date | None,
        strawberry.argument(
            description="Judge the claims and evidence recorded as of this date; null for "
            "today (UTC)."
        ),
    ] = None,
    first: First = None,
    after: After = None,
    last: Last = None,
    before: Before = None,
) -> Connection[Claim]:
    page = pagination.page(claims.ORDERING, first, after, last, before)
    where = claims.ClaimFilter(
        as_of=as_of or clock.today(),
        lab=lab,
        benchmark=benchmark,
        statuses=None if status is None else [s.value for s in status],
        min_value=None if min_value is None else Decimal(str(min_value)),
    )
    async with info.context.pool.acquire() as conn:
        rows = await claims.claims(conn, where, page)
    return pagination.connection(rows, page, Claim.from_record)
