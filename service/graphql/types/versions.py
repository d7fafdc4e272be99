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
    fits: bool
    basis: enums.FitBasis = strawberry.field(
        description="STATED by a hardware target of the version, or DERIVED from its "
        "parameter count (weights only: a lower bound of what serving needs)."
    )
    required_gb: float


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
    accelerator: str
    accelerator_count: int
    memory_gb: float | None
    precision: enums.NumericPrecision | None
    note: str | None

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
    id: strawberry.ID
    label: str
    stage: enums.VersionStage
    announced_on: dt.date | None
    released: PreciseDate | None
    planned: PreciseDate | None = strawberry.field(
        description="When a not-yet-released version is planned, with its precision."
    )
    total_parameters: BigInt | None
    active_parameters: BigInt | None
    context_window: int | None
    revision: int = strawberry.field(description="Pass as expectedRevision to update.")
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

    @strawberry.field
    async def model(self, info: Info) -> Model:
        return await load_model(info, self.model_id)

    @strawberry.field(description="The PREVIEW this FINAL was promoted from.")
    async def promoted_from(self, info: Info) -> Version | None:
        if self.promoted_from_id is None:
            return None
        row = await info.context.loaders.version.load(self.promoted_from_id)
        return None if row is None else Version.from_record(row)

    @strawberry.field(description="The FINAL this PREVIEW was promoted to.")
    async def promoted_to(self, info: Info) -> Version | None:
        rows = await info.context.loaders.promoted_to.load(self.row_id)
        return Version.from_record(rows[0]) if rows else None

    @strawberry.field(
        description="Whether the weights fit in the given memory at a precision: STATED when "
        "a hardware target says so, DERIVED from the parameter count otherwise."
    )
    async def memory_fit(
        self,
        info: Info,
        memory_gb: float,
        precision: enums.NumericPrecision = enums.NumericPrecision.BF16,
    ) -> MemoryFit | None:
        rows = await info.context.loaders.hardware_by_version.load(self.row_id)
        targets = [HardwareTarget.from_record(row) for row in rows]
        return memory_fit(targets, self.total_parameters, memory_gb, precision)

    @strawberry.field
    def is_preview(self) -> bool:
        return self.stage is enums.VersionStage.PREVIEW

    @strawberry.field
    async def source(self, info: Info) -> Source | None:
        return await load_source(info, self.source_id)

    @strawberry.field
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
