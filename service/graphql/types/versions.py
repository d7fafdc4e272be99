"""Version, its hardware targets and whether its weights fit in memory."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service import enums, ids, memory
from service.graphql.context import Info
from service.graphql.limits import NESTED_LIST_CAP
from service.graphql.scalars import BigInt
from service.graphql.types.shared import FIRST, Node, PreciseDate, Row, capped, precise
from service.graphql.types.sources import Source, load_source


@strawberry.type(description="Whether a version's weights fit in a memory size.")
class MemoryFit:
    fits: bool = strawberry.field(description="Whether the weights fit in the memory asked about.")
    basis: enums.FitBasis = strawberry.field(
        description="STATED by a hardware target of the version, or DERIVED from its "
        "parameter count (weights only: a lower bound of what serving needs)."
    )
    required_gb: float = strawberry.field(
        description="The memory needed in GB: the smallest stated target's (accelerator memory "
        "x count), or the weights' size (parameters x bytes per parameter / 10^9)."
    )


def memory_fit(
    targets: list[HardwareTarget],
    total_parameters: int | None,
    memory_gb: float,
    precision: enums.NumericPrecision,
) -> MemoryFit | None:
    stated = [memory.StatedTarget(t.memory_gb, t.accelerator_count, t.precision) for t in targets]
    found = memory.fit(stated, total_parameters, memory_gb, precision)
    if found is None:
        return None
    return MemoryFit(fits=found.fits, basis=found.basis, required_gb=found.required_gb)


@strawberry.type(description="What a version is built to run on.")
class HardwareTarget:
    accelerator: str = strawberry.field(
        description="The accelerator, as the lab names it ('H100 80GB', or just 'GPU')."
    )
    accelerator_count: int = strawberry.field(description="How many of them (1 or more).")
    memory_gb: float | None = strawberry.field(
        description="Memory of each accelerator, in GB (10^9 bytes); null when not stated."
    )
    precision: enums.NumericPrecision | None = strawberry.field(
        description="The precision the weights run at on it; null when not stated (then it "
        "holds at any)."
    )
    note: str | None = strawberry.field(
        description="Anything else, for a person to read ('Optimised to run on a single GPU.')."
    )

    @classmethod
    def from_record(cls, row: Row) -> HardwareTarget:
        memory, precision = row["memory_gb"], row["precision"]
        return cls(
            accelerator=row["accelerator"],
            accelerator_count=row["accelerator_count"],
            memory_gb=None if memory is None else float(memory),
            precision=None if precision is None else enums.NumericPrecision(precision),
            note=row["note"],
        )


@strawberry.type(description="One release of a model: a PREVIEW or a FINAL.")
class Version(Node):
    label: str = strawberry.field(
        description="The version's label, unique within its model ('preview', 'release')."
    )
    stage: enums.VersionStage = strawberry.field(description="PREVIEW or FINAL.")
    announced_on: dt.date | None = strawberry.field(
        description="The day it was announced; null when not known."
    )
    released: PreciseDate | None = strawberry.field(
        description="When it was released, with how exact that is; null when not released (or "
        "not known)."
    )
    planned: PreciseDate | None = strawberry.field(
        description="When a not-yet-released version is planned, with its precision."
    )
    total_parameters: BigInt | None = strawberry.field(
        description="How many parameters it has in all; null when not published."
    )
    active_parameters: BigInt | None = strawberry.field(
        description="How many parameters are active for each token (mixture of experts); null "
        "when not published or not a mixture."
    )
    context_window: int | None = strawberry.field(
        description="How many tokens it takes in at once; null when not known."
    )
    revision: int = strawberry.field(
        description="1 when created, one more with every update: send it as an update's "
        "expectedRevision."
    )
    row_id: strawberry.Private[int]
    model_id: strawberry.Private[int]
    promoted_from_id: strawberry.Private[int | None]
    source_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, row: Row) -> Version:
        return cls(
            id=strawberry.ID(ids.encode("Version", row["id"])),
            label=row["label"],
            stage=enums.VersionStage(row["stage"]),
            announced_on=row["announced_on"],
            released=precise(row["released_on"], row["released_precision"]),
            planned=precise(row["planned_on"], row["planned_precision"]),
            total_parameters=row["total_parameters"],
            active_parameters=row["active_parameters"],
            context_window=row["context_window"],
            revision=row["revision"],
            row_id=row["id"],
            model_id=row["model_id"],
            promoted_from_id=row["promoted_from_id"],
            source_id=row["source_id"],
        )

    @strawberry.field(description="The model it is a version of.")
    async def model(self, info: Info) -> Model:
        return await load_model(info, self.model_id)

    @strawberry.field(description="The PREVIEW this FINAL was promoted from; null for none.")
    async def promoted_from(self, info: Info) -> Version | None:
        if self.promoted_from_id is None:
            return None
        row = await info.context.loaders.version.load(self.promoted_from_id)
        return None if row is None else Version.from_record(row)

    @strawberry.field(description="The FINAL this PREVIEW was promoted to; null until it is.")
    async def promoted_to(self, info: Info) -> Version | None:
        rows = await info.context.loaders.promoted_to.load(self.row_id)
        return Version.from_record(rows[0]) if rows else None

    @strawberry.field(
        description="Whether the weights fit in the given memory at a precision: STATED when "
        "a hardware target says so, DERIVED from the parameter count otherwise; null when "
        "neither is known."
    )
    async def memory_fit(
        self,
        info: Info,
        memory_gb: Annotated[
            float, strawberry.argument(description="The memory to fit in, in GB (10^9 bytes).")
        ],
        precision: Annotated[
            enums.NumericPrecision,
            strawberry.argument(description="The precision the weights would run at."),
        ] = enums.NumericPrecision.BF16,
    ) -> MemoryFit | None:
        rows = await info.context.loaders.hardware_by_version.load(self.row_id)
        targets = [HardwareTarget.from_record(row) for row in rows]
        return memory_fit(targets, self.total_parameters, memory_gb, precision)

    @strawberry.field(description="Whether it is a PREVIEW (stage == PREVIEW).")
    def is_preview(self) -> bool:
        return self.stage is enums.VersionStage.PREVIEW

    @strawberry.field(description="Where its facts come from; null when no source is cited.")
    async def source(self, info: Info) -> Source | None:
        return await load_source(info, self.source_id)

    @strawberry.field(
        description="What the lab says it is built to run on; empty when nothing was stated."
    )
    async def hardware_targets(self, info: Info) -> list[HardwareTarget]:
        rows = await info.context.loaders.hardware_by_version.load(self.row_id)
        return [HardwareTarget.from_record(row) for row in rows]

    @strawberry.field(description="Every observation of this version, newest first.")
    async def scores(
        self, info: Info, first: Annotated[int | None, FIRST] = NESTED_LIST_CAP
    ) -> list[Score]:
        shown = capped(first)
        rows = await info.context.loaders.scores_by_version.load(self.row_id)
        return [Score.from_record(row) for row in rows[:shown]]


# Types of aggregates that refer back to this module's: imported last so that either
# module can be imported first (strawberry resolves the annotations when the schema is built).
from service.graphql.types.models import Model, load_model  # noqa: E402
from service.graphql.types.scores import Score  # noqa: E402
