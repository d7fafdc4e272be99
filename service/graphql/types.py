"""GraphQL object types, each built from a database record by `from_record`.

Scalar fields are plain attributes (no resolver runs for them); only relations resolve, and
they go through the request's DataLoaders so the number of SQL statements stays bounded by
the depth of the query, never by the number of rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any

import asyncpg
import pycountry
import strawberry
from strawberry.scalars import JSON

from service import clock, enums, ids, memory
from service.graphql.context import Info
from service.graphql.errors import ClientError
from service.graphql.limits import NESTED_LIST_CAP
from service.graphql.scalars import BigInt

# A database record, or a composite row joined into one (asyncpg decodes both as mappings).
Row = asyncpg.Record | Mapping[str, Any]

# The vocabularies of service.enums become GraphQL enums of the same names and values.
strawberry.enum(enums.VersionStage, description="PREVIEW or FINAL release.")
strawberry.enum(
    enums.DatePrecision, description="How exact a date is; coarser dates hold the period's end."
)
for _vocabulary in (
    enums.TrainingOrigin,
    enums.Modality,
    enums.NumericPrecision,
    enums.ScoreQualifier,
    enums.Provenance,
    enums.Verification,
    enums.SourceKind,
    enums.LineageRelation,
    enums.ParticipantStatus,
    enums.ExternalSystem,
    enums.FitBasis,
    enums.TargetStatus,
    enums.LineageDirection,
    enums.CrossingGroup,
    enums.OrderDirection,
):
    strawberry.enum(_vocabulary)


def _capped(first: int | None) -> int:
    """`first` of a nested list, which may not exceed the cap its cost is counted with."""
    if first is None:
        return NESTED_LIST_CAP
    if not 0 <= first <= NESTED_LIST_CAP:
        raise ClientError(
            f"first must be between 0 and {NESTED_LIST_CAP}", "OUT_OF_RANGE", field="first"
        )
    return first


_FIRST = strawberry.argument(description=f"At most this many (at most {NESTED_LIST_CAP}).")


def _precise(on: dt.date | None, precision: str | None) -> PreciseDate | None:
    if on is None or precision is None:
        return None
    return PreciseDate(date=on, precision=enums.DatePrecision(precision))


@strawberry.type(description="A date and how exact it is: 2026-06-30 with MONTH is 'June 2026'.")
class PreciseDate:
    date: dt.date
    precision: enums.DatePrecision


def country(code: str) -> Country:
    # The same ISO 3166-1 names the migration loaded into the country table.
    entry = pycountry.countries.get(alpha_2=code)
    name = code if entry is None else getattr(entry, "common_name", entry.name)
    return Country(code=code, name=name)


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


@strawberry.interface(description="An object with a stable, opaque global id: node(id:) finds it.")
class Node:
    id: strawberry.ID


@strawberry.type(description="An ISO 3166-1 country.")
class Country:
    code: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    name: str


@strawberry.type(description="Where a fact came from.")
class Source(Node):
    id: strawberry.ID
    url: str | None = strawberry.field(
        description="The page cited; null when none was recorded (never a guessed address)."
    )
    title: str = strawberry.field(
        description="The headline or title; in [square brackets], a description of a source "
        "that has no title of its own or whose title was not recorded."
    )
    publisher: str | None
    published_on: dt.date | None
    kind: enums.SourceKind

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


async def _source(info: Info, source_id: int | None) -> Source | None:
    if source_id is None:
        return None
    row = await info.context.loaders.source.load(source_id)
    return None if row is None else Source.from_record(row)


@strawberry.type(description="An organisation that builds models.")
class Lab(Node):
    id: strawberry.ID
    slug: str
    name: str
    country: Country | None = strawberry.field(
        description="Null when not known; such a lab is left out of country rankings."
    )
    founded_year: int | None
    headquarters: str | None
    website: str | None
    description: str | None
    revision: int = strawberry.field(description="Pass as expectedRevision to update.")
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
        self, info: Info, first: Annotated[int | None, _FIRST] = NESTED_LIST_CAP
    ) -> list[Model]:
        shown = _capped(first)
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


@strawberry.type(description="A product line grouping models.")
class ModelFamily(Node):
    id: strawberry.ID
    slug: str
    name: str
    description: str | None

    @classmethod
    def from_record(cls, row: Row) -> ModelFamily:
        return cls(
            id=strawberry.ID(ids.encode("ModelFamily", row["id"])),
            slug=row["slug"],
            name=row["name"],
            description=row["description"],
        )


@strawberry.type(description="A named model, released in one or more versions.")
class Model(Node):
    id: strawberry.ID
    slug: str
    name: str
    modality: enums.Modality
    open_weights: bool
    license: str | None
    training_origin: enums.TrainingOrigin | None = strawberry.field(
        description="FROM_SCRATCH or DERIVED; null when not known."
    )
    description: str | None
    revision: int = strawberry.field(description="Pass as expectedRevision to update.")
    archived_at: dt.datetime | None = strawberry.field(
        description="When archived (hidden from lists, still found by slug and id)."
    )
    row_id: strawberry.Private[int]
    lab_id: strawberry.Private[int]
    family_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, row: Row) -> Model:
        origin = row["training_origin"]
        return cls(
            id=strawberry.ID(ids.encode("Model", row["id"])),
            slug=row["slug"],
            name=row["name"],
            modality=enums.Modality(row["modality"]),
            open_weights=row["open_weights"],
            license=row["license"],
            training_origin=None if origin is None else enums.TrainingOrigin(origin),
            description=row["description"],
            revision=row["revision"],
            archived_at=row["archived_at"],
            row_id=row["id"],
            lab_id=row["lab_id"],
            family_id=row["family_id"],
        )

    @strawberry.field
    async def lab(self, info: Info) -> Lab:
        row = await info.context.loaders.lab.load(self.lab_id)
        assert row is not None, "model.lab_id is a foreign key"
        return Lab.from_record(row)

    @strawberry.field
    async def family(self, info: Info) -> ModelFamily | None:
        if self.family_id is None:
            return None
        row = await info.context.loaders.family.load(self.family_id)
        return None if row is None else ModelFamily.from_record(row)

    @strawberry.field(description="Versions in release order.")
    async def versions(
        self, info: Info, first: Annotated[int | None, _FIRST] = NESTED_LIST_CAP
    ) -> list[Version]:
        shown = _capped(first)
        rows = await info.context.loaders.versions_by_model.load(self.row_id)
        return [Version.from_record(row) for row in rows[:shown]]

    @strawberry.field(description="The last FINAL version in release order, if any.")
    async def latest_final_version(self, info: Info) -> Version | None:
        rows = await info.context.loaders.versions_by_model.load(self.row_id)
        finals = [row for row in rows if row["stage"] == enums.VersionStage.FINAL]
        return Version.from_record(finals[-1]) if finals else None

    @strawberry.field(description="Links to the models this one came from, typed.")
    async def parents(self, info: Info) -> list[LineageLink]:
        rows = await info.context.loaders.parents_by_model.load(self.row_id)
        return [LineageLink.from_record(row) for row in rows]

    @strawberry.field(description="Links to the models that came from this one, typed.")
    async def children(self, info: Info) -> list[LineageLink]:
        rows = await info.context.loaders.children_by_model.load(self.row_id)
        return [LineageLink.from_record(row) for row in rows]

    @strawberry.field(description="The model under other registries' names.")
    async def external_ids(self, info: Info) -> list[ExternalId]:
        rows = await info.context.loaders.external_ids_by_model.load(self.row_id)
        return [ExternalId.from_record(row) for row in rows]


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
            released=_precise(row["released_on"], row["released_precision"]),
            planned=_precise(row["planned_on"], row["planned_precision"]),
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
        return await _model(info, self.model_id)

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
        return await _source(info, self.source_id)

    @strawberry.field
    async def hardware_targets(self, info: Info) -> list[HardwareTarget]:
        rows = await info.context.loaders.hardware_by_version.load(self.row_id)
        return [HardwareTarget.from_record(row) for row in rows]

    @strawberry.field(description="Every observation of this version, newest first.")
    async def scores(
        self, info: Info, first: Annotated[int | None, _FIRST] = NESTED_LIST_CAP
    ) -> list[Score]:
        shown = _capped(first)
        rows = await info.context.loaders.scores_by_version.load(self.row_id)
        return [Score.from_record(row) for row in rows[:shown]]


@strawberry.type(
    description="A version of a benchmark's method; scores of two never rank together."
)
class BenchmarkVersion(Node):
    id: strawberry.ID
    label: str
    effective_on: dt.date
    benchmark_slug: str
    benchmark_name: str
    row_id: strawberry.Private[int]
    benchmark_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, row: Row) -> BenchmarkVersion:
        return cls(
            id=strawberry.ID(ids.encode("BenchmarkVersion", row["id"])),
            label=row["label"],
            effective_on=row["effective_on"],
            benchmark_slug=row["benchmark_slug"],
            benchmark_name=row["benchmark_name"],
            row_id=row["id"],
            benchmark_id=row["benchmark_id"],
        )

    @strawberry.field
    async def benchmark(self, info: Info) -> Benchmark:
        row = await info.context.loaders.benchmark.load(self.benchmark_id)
        assert row is not None, "benchmark_version.benchmark_id is a foreign key"
        return Benchmark.from_record(row)

    @strawberry.field(description="For an index: the component benchmarks and their weights.")
    async def components(self, info: Info) -> list[BenchmarkComponent]:
        rows = await info.context.loaders.components_by_version.load(self.row_id)
        return [
            BenchmarkComponent(
                weight=float(row["weight"]), benchmark_id=row["component_benchmark_id"]
            )
            for row in rows
        ]


@strawberry.type(description="A benchmark's weight in an index version.")
class BenchmarkComponent:
    weight: float
    benchmark_id: strawberry.Private[int]

    @strawberry.field
    async def benchmark(self, info: Info) -> Benchmark:
        row = await info.context.loaders.benchmark.load(self.benchmark_id)
        assert row is not None, "benchmark_component refers to benchmarks by foreign key"
        return Benchmark.from_record(row)


@strawberry.type(description="One observation of a version on a benchmark version.")
class Score(Node):
    id: strawberry.ID
    value: float
    qualifier: enums.ScoreQualifier
    uncertainty: float | None
    run_configuration: JSON
    measured_on: dt.date
    provenance: enums.Provenance
    verification: enums.Verification
    verification_changed_on: dt.date | None = strawberry.field(
        description="When the verification last changed (a retraction counts from then)."
    )
    superseded: bool = strawberry.field(description="A later correction replaced this one.")
    note: str | None
    source_id: strawberry.Private[int]
    benchmark_version_id: strawberry.Private[int]
    version_id: strawberry.Private[int]
    supersedes_id: strawberry.Private[int | None]
    evidence_score_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, row: Row) -> Score:
        uncertainty: Any = row["uncertainty"]
        return cls(
            id=strawberry.ID(ids.encode("Score", row["id"])),
            value=float(row["value"]),
            qualifier=enums.ScoreQualifier(row["qualifier"]),
            uncertainty=None if uncertainty is None else float(uncertainty),
            run_configuration=row["run_configuration"],
            measured_on=row["measured_on"],
            provenance=enums.Provenance(row["provenance"]),
            verification=enums.Verification(row["verification"]),
            verification_changed_on=row["verification_changed_on"],
            superseded=row["superseded"],
            note=row["note"],
            source_id=row["source_id"],
            benchmark_version_id=row["benchmark_version_id"],
            version_id=row["version_id"],
            supersedes_id=row["supersedes_id"],
            evidence_score_id=row["evidence_score_id"],
        )

    @strawberry.field
    async def version(self, info: Info) -> Version:
        row = await info.context.loaders.version.load(self.version_id)
        assert row is not None, "score.version_id is a foreign key"
        return Version.from_record(row)

    @strawberry.field(description="The observation this one corrects.")
    async def supersedes(self, info: Info) -> Score | None:
        return await _score(info, self.supersedes_id)

    @strawberry.field(description="The measurement that confirms or refutes this claim.")
    async def evidence(self, info: Info) -> Score | None:
        return await _score(info, self.evidence_score_id)

    @strawberry.field
    async def source(self, info: Info) -> Source:
        source = await _source(info, self.source_id)
        assert source is not None, "score.source_id is a non-null foreign key"
        return source

    @strawberry.field
    async def benchmark_version(self, info: Info) -> BenchmarkVersion:
        row = await info.context.loaders.benchmark_version.load(self.benchmark_version_id)
        assert row is not None, "score.benchmark_version_id is a foreign key"
        return BenchmarkVersion.from_record(row)


@strawberry.type(description="An evaluation or an index (a weighted average of benchmarks).")
class Benchmark(Node):
    id: strawberry.ID
    slug: str
    name: str
    publisher: str | None
    url: str | None
    scale_min: float
    scale_max: float
    higher_is_better: bool
    is_independent: bool = strawberry.field(description="Independent of the labs it measures.")
    is_index: bool
    methodology: str | None
    row_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, row: Row) -> Benchmark:
        return cls(
            id=strawberry.ID(ids.encode("Benchmark", row["id"])),
            slug=row["slug"],
            name=row["name"],
            publisher=row["publisher"],
            url=row["url"],
            scale_min=float(row["scale_min"]),
            scale_max=float(row["scale_max"]),
            higher_is_better=row["higher_is_better"],
            is_independent=row["is_independent"],
            is_index=row["is_index"],
            methodology=row["methodology"],
            row_id=row["id"],
        )

    @strawberry.field(
        description="Method versions, oldest first; scores of two never rank together."
    )
    async def versions(self, info: Info) -> list[BenchmarkVersion]:
        rows = await info.context.loaders.versions_by_benchmark.load(self.row_id)
        return [BenchmarkVersion.from_record(row) for row in rows]


@strawberry.type(description="A typed link from a parent model to a child model.")
class LineageLink(Node):
    id: strawberry.ID
    relation: enums.LineageRelation
    note: str | None
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

    @strawberry.field
    async def parent(self, info: Info) -> Model:
        return await _model(info, self.parent_id)

    @strawberry.field
    async def child(self, info: Info) -> Model:
        return await _model(info, self.child_id)

    @strawberry.field
    async def source(self, info: Info) -> Source | None:
        return await _source(info, self.source_id)


async def _score(info: Info, score_id: int | None) -> Score | None:
    if score_id is None:
        return None
    row = await info.context.loaders.score.load(score_id)
    return None if row is None else Score.from_record(row)


async def _model(info: Info, model_id: int) -> Model:
    row = await info.context.loaders.model.load(model_id)
    assert row is not None, "lineage links refer to models by foreign key"
    return Model.from_record(row)


@strawberry.type(description="A public programme that selects labs.")
class Program(Node):
    id: strawberry.ID
    slug: str
    name: str
    sponsor: str
    country_code: strawberry.Private[str]
    started: PreciseDate | None
    description: str | None
    row_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, row: Row) -> Program:
        return cls(
            id=strawberry.ID(ids.encode("Program", row["id"])),
            slug=row["slug"],
            name=row["name"],
            sponsor=row["sponsor"],
            country_code=row["country_code"],
            started=_precise(row["started_on"], row["started_precision"]),
            description=row["description"],
            row_id=row["id"],
        )

    @strawberry.field
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

    @strawberry.field
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
        self, info: Info, as_of: dt.date | None = None
    ) -> enums.ParticipantStatus | None:
        rows = await info.context.loaders.status_by_participant.load(self.row_id)
        day = as_of or clock.today()
        current = [row for row in rows if row["effective_on"] <= day]
        return enums.ParticipantStatus(current[-1]["status"]) if current else None


@strawberry.type(description="A participant's status from a date on.")
class ParticipantStatusChange(Node):
    id: strawberry.ID
    status: enums.ParticipantStatus
    effective: PreciseDate
    note: str | None
    source_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, row: Row) -> ParticipantStatusChange:
        effective = _precise(row["effective_on"], row["effective_precision"])
        assert effective is not None, "effective_on and its precision are NOT NULL"
        return cls(
            id=strawberry.ID(ids.encode("ParticipantStatusChange", row["id"])),
            status=enums.ParticipantStatus(row["status"]),
            effective=effective,
            note=row["note"],
            source_id=row["source_id"],
        )

    @strawberry.field
    async def source(self, info: Info) -> Source | None:
        return await _source(info, self.source_id)


@strawberry.type(description="A goal a lab stated on a benchmark.")
class Target(Node):
    id: strawberry.ID
    value: float
    due: PreciseDate
    stated_on: dt.date
    note: str | None
    row_id: strawberry.Private[int]
    lab_id: strawberry.Private[int]
    benchmark_id: strawberry.Private[int]
    source_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, row: Row) -> Target:
        due = _precise(row["due_on"], row["due_precision"])
        assert due is not None, "due_on and its precision are NOT NULL"
        return cls(
            id=strawberry.ID(ids.encode("Target", row["id"])),
            value=float(row["value"]),
            due=due,
            stated_on=row["stated_on"],
            note=row["note"],
            row_id=row["id"],
            lab_id=row["lab_id"],
            benchmark_id=row["benchmark_id"],
            source_id=row["source_id"],
        )

    @strawberry.field
    async def lab(self, info: Info) -> Lab:
        row = await info.context.loaders.lab.load(self.lab_id)
        assert row is not None, "target.lab_id is a foreign key"
        return Lab.from_record(row)

    @strawberry.field
    async def source(self, info: Info) -> Source:
        source = await _source(info, self.source_id)
        assert source is not None, "target.source_id is a non-null foreign key"
        return source

    @strawberry.field
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
        as_of: dt.date | None = None,
        provenance: list[enums.Provenance] | None = None,
    ) -> enums.TargetStatus:
        outcome = await self._outcome(info, as_of, provenance)
        if outcome["met_by_id"] is not None:
            return enums.TargetStatus.MET
        if outcome["due_on"] < outcome["as_of"]:
            return enums.TargetStatus.MISSED
        return enums.TargetStatus.OPEN

    @strawberry.field(description="The first counted score that reached the target.")
    async def met_by(
        self,
        info: Info,
        as_of: dt.date | None = None,
        provenance: list[enums.Provenance] | None = None,
    ) -> Score | None:
        outcome = await self._outcome(info, as_of, provenance)
        return await _score(info, outcome["met_by_id"])

    async def _outcome(
        self, info: Info, as_of: dt.date | None, provenance: list[enums.Provenance] | None
    ) -> Row:
        counted = provenance or [enums.Provenance.INDEPENDENT, enums.Provenance.THIRD_PARTY]
        key = (self.row_id, as_of or clock.today(), tuple(sorted(p.value for p in counted)))
        return await info.context.loaders.target_outcome.load(key)


@strawberry.type(description="The same lab or model under another registry's name.")
class ExternalId(Node):
    id: strawberry.ID
    system: enums.ExternalSystem
    external_key: str

    @classmethod
    def from_record(cls, row: Row) -> ExternalId:
        return cls(
            id=strawberry.ID(ids.encode("ExternalId", row["id"])),
            system=enums.ExternalSystem(row["system"]),
            external_key=row["external_key"],
        )
