"""The admin mutations: thin resolvers over service.commands, EDITOR role and up.

Each resolver gets its input validated (a service.inputs model, or the Refused that names every
bad field: service.graphql.input_types), runs one command (one transaction, one audit row) and
answers with a payload. Refusals the client can fix come back as
`userErrors` data, never as GraphQL errors; nothing is written when there are any.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import strawberry

from service import commands, inputs, matching, validation
from service.db import Conn
from service.errors import UserError
from service.graphql.context import Info
from service.graphql.input_types import Given, Refused
from service.graphql.payloads import (
    BenchmarkPayload,
    BenchmarkVersionPayload,
    ExternalIdPayload,
    LabPayload,
    LineageLinkPayload,
    ModelPayload,
    ParticipantStatusPayload,
    ProgramPayload,
    ScorePayload,
    SourcePayload,
    TargetPayload,
    UserErrorType,
    VersionPayload,
    WarningType,
)
from service.graphql.permissions import IsEditor
from service.graphql.types import (
    Benchmark,
    BenchmarkVersion,
    ExternalId,
    Lab,
    LineageLink,
    Model,
    ParticipantStatusChange,
    Program,
    Row,
    Score,
    Source,
    Target,
    Version,
)

InputT = TypeVar("InputT", bound=validation.Input)
T = TypeVar("T")
Command = Callable[[Conn, str, InputT], Awaitable[asyncpg.Record]]
Duplicates = Callable[[Conn, asyncpg.Record], Awaitable[list[matching.ProbableDuplicate]]]


@dataclass(frozen=True)
class Outcome:
    row: asyncpg.Record | None = None
    errors: list[UserErrorType] = field(default_factory=list)
    warnings: list[WarningType] = field(default_factory=list)

    @property
    def revision(self) -> int | None:
        return None if self.row is None else int(self.row["revision"])


async def _write(
    info: Info,
    given: InputT | Refused,
    command: Command[InputT],
    duplicates: Duplicates | None = None,
) -> Outcome:
    if isinstance(given, Refused):
        return Outcome(errors=[UserErrorType.of(error) for error in given.errors])
    try:
        async with info.context.pool.acquire() as conn:
            row = await command(conn, info.context.principal.name, given)
            found = [] if duplicates is None else await duplicates(conn, row)
    except UserError as exc:
        return Outcome(errors=[UserErrorType.of(exc)])
    # Whatever this request loaded before the write may be stale now.
    info.context.renew_loaders()
    warnings = [
        WarningType(
            code=duplicate.code,
            field=duplicate.field,
            message=duplicate.message,
            existing_type=duplicate.type_name,
            existing_id=duplicate.row_id,
        )
        for duplicate in found
    ]
    return Outcome(row=row, warnings=warnings)


async def _node(
    info: Info, type_name: str, build: Callable[[Row], T], row: asyncpg.Record | None
) -> T | None:
    """The written object as reads see it; a removed row is shown as it was."""
    if row is None:
        return None
    loader = info.context.loaders.by_type(type_name)
    current = None if loader is None else await loader.load(row["id"])
    return build(row if current is None else current)


def _editor(description: str) -> Any:
    return strawberry.mutation(permission_classes=[IsEditor], description=description)


@strawberry.type(
    description="Every write (EDITOR role and up). Each takes one `input`, runs in one "
    "transaction with one audit row, and answers a payload: the object written, or "
    "`userErrors` and nothing written."
)
class Mutation:
    @_editor("Add a lab.")
    async def create_lab(self, info: Info, input: Given[inputs.LabInput]) -> LabPayload:
        outcome = await _write(info, input, commands.create_lab, matching.lab_duplicates)
        return await _lab(info, outcome)

    @_editor("Change a lab; a stale expectedRevision is a CONFLICT.")
    async def update_lab(self, info: Info, input: Given[inputs.LabPatch]) -> LabPayload:
        outcome = await _write(info, input, commands.update_lab)
        return await _lab(info, outcome)

    @_editor("Hide a lab from lists and refuse writes under it; still readable by slug.")
    async def archive_lab(self, info: Info, input: Given[inputs.ArchiveInput]) -> LabPayload:
        outcome = await _write(info, input, commands.archive_lab)
        return await _lab(info, outcome)

    @_editor("Undo archiveLab.")
    async def restore_lab(self, info: Info, input: Given[inputs.ArchiveInput]) -> LabPayload:
        outcome = await _write(info, input, commands.restore_lab)
        return await _lab(info, outcome)

    @_editor("Add a model under a lab that is not archived.")
    async def create_model(self, info: Info, input: Given[inputs.ModelInput]) -> ModelPayload:
        outcome = await _write(info, input, commands.create_model, matching.model_duplicates)
        return await _model(info, outcome)

    @_editor("Change a model; a stale expectedRevision is a CONFLICT.")
    async def update_model(self, info: Info, input: Given[inputs.ModelPatch]) -> ModelPayload:
        outcome = await _write(info, input, commands.update_model)
        return await _model(info, outcome)

    @_editor("Hide a model from lists and refuse writes to it; still readable by slug.")
    async def archive_model(self, info: Info, input: Given[inputs.ArchiveInput]) -> ModelPayload:
        outcome = await _write(info, input, commands.archive_model)
        return await _model(info, outcome)

    @_editor("Undo archiveModel.")
    async def restore_model(self, info: Info, input: Given[inputs.ArchiveInput]) -> ModelPayload:
        outcome = await _write(info, input, commands.restore_model)
        return await _model(info, outcome)

    @_editor("Add a PREVIEW or FINAL version of a model.")
    async def create_version(self, info: Info, input: Given[inputs.VersionInput]) -> VersionPayload:
        outcome = await _write(info, input, commands.create_version)
        return await _version(info, outcome)

    @_editor("Change a version; a stale expectedRevision is a CONFLICT.")
    async def update_version(self, info: Info, input: Given[inputs.VersionPatch]) -> VersionPayload:
        outcome = await _write(info, input, commands.update_version)
        return await _version(info, outcome)

    @_editor("Release a FINAL version from a PREVIEW; the preview and its scores stay.")
    async def promote_version(
        self, info: Info, input: Given[inputs.PromoteVersionInput]
    ) -> VersionPayload:
        outcome = await _write(info, input, commands.promote_version)
        return await _version(info, outcome)

    @_editor("Replace a version's hardware targets (its revision moves with them).")
    async def set_hardware_targets(
        self, info: Info, input: Given[inputs.HardwareTargetsInput]
    ) -> VersionPayload:
        outcome = await _write(info, input, commands.set_hardware_targets)
        return await _version(info, outcome)

    @_editor("Add a benchmark or an index.")
    async def create_benchmark(
        self, info: Info, input: Given[inputs.BenchmarkInput]
    ) -> BenchmarkPayload:
        outcome = await _write(info, input, commands.create_benchmark)
        benchmark = await _node(info, "Benchmark", Benchmark.from_record, outcome.row)
        return BenchmarkPayload(benchmark=benchmark, user_errors=outcome.errors)

    @_editor("Add a method version of a benchmark; an index's weights sum to 1.")
    async def create_benchmark_version(
        self, info: Info, input: Given[inputs.BenchmarkVersionInput]
    ) -> BenchmarkVersionPayload:
        outcome = await _write(info, input, commands.create_benchmark_version)
        version = await _node(info, "BenchmarkVersion", BenchmarkVersion.from_record, outcome.row)
        return BenchmarkVersionPayload(benchmark_version=version, user_errors=outcome.errors)

    @_editor("Record a score, inside its benchmark's scale.")
    async def record_score(self, info: Info, input: Given[inputs.ScoreInput]) -> ScorePayload:
        outcome = await _write(info, input, commands.record_score)
        return await _score(info, outcome)

    @_editor("Correct a score: a new score supersedes it; the old one stays in history.")
    async def supersede_score(
        self, info: Info, input: Given[inputs.SupersedeScoreInput]
    ) -> ScorePayload:
        outcome = await _write(info, input, commands.supersede_score)
        return await _score(info, outcome)

    @_editor("Verify, dispute or retract a score, optionally naming the evidence.")
    async def set_score_verification(
        self, info: Info, input: Given[inputs.ScoreVerificationInput]
    ) -> ScorePayload:
        outcome = await _write(info, input, commands.set_score_verification)
        return await _score(info, outcome)

    @_editor("Link a parent model to a child; a link closing a cycle is refused (CYCLE).")
    async def link_models(
        self, info: Info, input: Given[inputs.LineageLinkInput]
    ) -> LineageLinkPayload:
        outcome = await _write(info, input, commands.link_models)
        return await _link(info, outcome)

    @_editor("Remove a lineage link; the payload shows the link removed.")
    async def unlink_models(
        self, info: Info, input: Given[inputs.UnlinkInput]
    ) -> LineageLinkPayload:
        outcome = await _write(info, input, commands.unlink_models)
        return await _link(info, outcome)

    @_editor("Add a public programme that selects labs.")
    async def create_program(self, info: Info, input: Given[inputs.ProgramInput]) -> ProgramPayload:
        outcome = await _write(info, input, commands.create_program)
        program = await _node(info, "Program", Program.from_record, outcome.row)
        return ProgramPayload(program=program, user_errors=outcome.errors)

    @_editor("Record a lab's status in a programme from a date on.")
    async def set_participant_status(
        self, info: Info, input: Given[inputs.ParticipantStatusInput]
    ) -> ParticipantStatusPayload:
        outcome = await _write(info, input, commands.set_participant_status)
        change = await _node(
            info, "ParticipantStatusChange", ParticipantStatusChange.from_record, outcome.row
        )
        return ParticipantStatusPayload(status_change=change, user_errors=outcome.errors)

    @_editor("Record a target a lab stated.")
    async def state_target(self, info: Info, input: Given[inputs.TargetInput]) -> TargetPayload:
        outcome = await _write(info, input, commands.state_target)
        target = await _node(info, "Target", Target.from_record, outcome.row)
        return TargetPayload(target=target, user_errors=outcome.errors)

    @_editor(
        "Record a source: its kind, title, publisher and date, and a URL only for a page "
        "actually cited. Facts cite it by id (or by its details, which find it again)."
    )
    async def add_source(self, info: Info, input: Given[inputs.SourceInput]) -> SourcePayload:
        outcome = await _write(info, input, commands.add_source)
        source = await _node(info, "Source", Source.from_record, outcome.row)
        return SourcePayload(source=source, user_errors=outcome.errors)

    @_editor("Record another registry's key for a lab or a model.")
    async def set_external_id(
        self, info: Info, input: Given[inputs.ExternalIdInput]
    ) -> ExternalIdPayload:
        outcome = await _write(info, input, commands.set_external_id)
        external_id = await _node(info, "ExternalId", ExternalId.from_record, outcome.row)
        return ExternalIdPayload(external_id=external_id, user_errors=outcome.errors)


async def _lab(info: Info, outcome: Outcome) -> LabPayload:
    lab = await _node(info, "Lab", Lab.from_record, outcome.row)
    return LabPayload(
        lab=lab, revision=outcome.revision, user_errors=outcome.errors, warnings=outcome.warnings
    )


async def _model(info: Info, outcome: Outcome) -> ModelPayload:
    model = await _node(info, "Model", Model.from_record, outcome.row)
    return ModelPayload(
        model=model,
        revision=outcome.revision,
        user_errors=outcome.errors,
        warnings=outcome.warnings,
    )


async def _version(info: Info, outcome: Outcome) -> VersionPayload:
    version = await _node(info, "Version", Version.from_record, outcome.row)
    return VersionPayload(version=version, revision=outcome.revision, user_errors=outcome.errors)


async def _score(info: Info, outcome: Outcome) -> ScorePayload:
    score = await _node(info, "Score", Score.from_record, outcome.row)
    return ScorePayload(score=score, user_errors=outcome.errors)


async def _link(info: Info, outcome: Outcome) -> LineageLinkPayload:
    link = await _node(info, "LineageLink", LineageLink.from_record, outcome.row)
    return LineageLinkPayload(link=link, user_errors=outcome.errors)
