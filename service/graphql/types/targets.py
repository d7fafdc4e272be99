"""Target: a goal a lab stated on a benchmark, and whether scores met it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service import clock, enums, ids
from service.graphql.arguments import AsOf, TargetProvenances
from service.graphql.context import Info
from service.graphql.types.benchmarks import Benchmark
from service.graphql.types.labs import Lab
from service.graphql.types.scores import Score, load_score
from service.graphql.types.shared import Node, PreciseDate, Row, precise
from service.graphql.types.sources import Source, load_source

_KNOWN_AT_ARGUMENT = (
    "Answer from what the registry had recorded by this time (default: the target's knownAt, "
    "else now), whatever was written since. A time without an offset is UTC."
)


@strawberry.type(description="A goal a lab stated on a benchmark.")
class Target(Node):
    value: float = strawberry.field(
        description="The value the lab aims for, on the benchmark's scale (at most it, when "
        "lower is better)."
    )
    due: PreciseDate = strawberry.field(
        description="When it is due, with how exact that is: a YEAR target is due on December 31."
    )
    stated_on: dt.date = strawberry.field(description="The day the lab stated it.")
    note: str | None = strawberry.field(
        description="Anything else, for a person to read; null when nothing."
    )
    recorded_at: dt.datetime | None = strawberry.field(
        description="When the registry recorded it (null only inside its own write)."
    )
    known_at: dt.datetime | None = strawberry.field(
        description="The transaction time `targets(knownAt)` listed it for, as settled (the "
        "time asked, or the registry's latest write when that is earlier); status and metBy "
        "answer for it unless given their own. Null when reached otherwise: they answer for now."
    )
    row_id: strawberry.Private[int]
    lab_id: strawberry.Private[int]
    benchmark_id: strawberry.Private[int]
    source_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, row: Row) -> Target:
        due = precise(row["due_on"], row["due_precision"])
        assert due is not None, "due_on and its precision are NOT NULL"
        return cls(
            id=strawberry.ID(ids.encode("Target", row["id"])),
            value=float(row["value"]),
            due=due,
            stated_on=row["stated_on"],
            note=row["note"],
            recorded_at=row["recorded_at"],
            known_at=row.get("known_at"),
            row_id=row["id"],
            lab_id=row["lab_id"],
            benchmark_id=row["benchmark_id"],
            source_id=row["source_id"],
        )

    @strawberry.field(description="The lab that stated it.")
    async def lab(self, info: Info) -> Lab:
        row = await info.context.loaders.lab.load(self.lab_id)
        assert row is not None, "target.lab_id is a foreign key"
        return Lab.from_record(row)

    @strawberry.field(description="Where the lab stated it.")
    async def source(self, info: Info) -> Source:
        source = await load_source(info, self.source_id)
        assert source is not None, "target.source_id is a non-null foreign key"
        return source

    @strawberry.field(description="The benchmark it is on.")
    async def benchmark(self, info: Info) -> Benchmark:
        row = await info.context.loaders.benchmark.load(self.benchmark_id)
        assert row is not None, "target.benchmark_id is a foreign key"
        return Benchmark.from_record(row)

    @strawberry.field(
        description="Derived from scores, never stored: MET when a counted score reached the "
        "value by the due date, MISSED when the due date passed without one, else OPEN. "
        "Counts INDEPENDENT and THIRD_PARTY scores unless told otherwise."
    )
    async def status(
        self,
        info: Info,
        as_of: AsOf = None,
        provenance: TargetProvenances = None,
        known_at: Annotated[
            dt.datetime | None, strawberry.argument(description=_KNOWN_AT_ARGUMENT)
        ] = None,
    ) -> enums.TargetStatus:
        outcome = await self._outcome(info, as_of, provenance, known_at)
        if outcome["met_by_id"] is not None:
            return enums.TargetStatus.MET
        if outcome["due_on"] < outcome["as_of"]:
            return enums.TargetStatus.MISSED
        return enums.TargetStatus.OPEN

    @strawberry.field(description="The first counted score that reached the target.")
    async def met_by(
        self,
        info: Info,
        as_of: AsOf = None,
        provenance: TargetProvenances = None,
        known_at: Annotated[
            dt.datetime | None, strawberry.argument(description=_KNOWN_AT_ARGUMENT)
        ] = None,
    ) -> Score | None:
        outcome = await self._outcome(info, as_of, provenance, known_at)
        return await load_score(info, outcome["met_by_id"])

    async def _outcome(
        self,
        info: Info,
        as_of: dt.date | None,
        provenance: list[enums.Provenance] | None,
        known_at: dt.datetime | None,
    ) -> Row:
        counted = provenance or [enums.Provenance.INDEPENDENT, enums.Provenance.THIRD_PARTY]
        key = (
            self.row_id,
            as_of or clock.today(),
            tuple(sorted(p.value for p in counted)),
            clock.utc(known_at or self.known_at),
        )
        return await info.context.loaders.target_outcome.load(key)
