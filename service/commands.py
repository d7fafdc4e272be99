"""The write side of the registry: one function per command, one transaction per call.

Each command takes a validated input (service.inputs), resolves the human keys it names,
writes through the SQL layer and records exactly one audit event in the same transaction.
The admin mutations and the demo-data loader both call these, so every rule applies to both.

`actor` is who writes: a token's name for the mutations, "demo-seed" for the demo data. The
audit row holds the entity's state before and after the write (None when it did not exist or
no longer does), so it serves as the audit log and as the change event at once.

Updates lock the row, check the revision the client read, and write guarded by it
(`WHERE id = $1 AND revision = $2`): a stale revision is a CONFLICT and writes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
from pydantic.alias_generators import to_camel

from service import derived
from service.db import (
    Conn,
    audit,
    benchmarks,
    external_ids,
    keys,
    labs,
    lineage,
    models,
    programs,
    scores,
    sources,
    targets,
)
from service.db.constraints import translated
from service.errors import (
    AlreadyExists,
    Archived,
    Conflict,
    CycleDetected,
    ErrorCode,
    NotFound,
    ValidationFailed,
)
from service.inputs import (
    ArchiveInput,
    BenchmarkInput,
    BenchmarkVersionInput,
    ExternalIdInput,
    HardwareTargetInput,
    HardwareTargetsInput,
    LabInput,
    LabPatch,
    LineageLinkInput,
    ModelFamilyInput,
    ModelInput,
    ModelPatch,
    ParticipantStatusInput,
    ProgramInput,
    PromoteVersionInput,
    ScoreInput,
    ScoreVerificationInput,
    SourceInput,
    SourceRef,
    SupersedeScoreInput,
    TargetInput,
    UnlinkInput,
    VersionInput,
    VersionPatch,
    version_rules,
)
from service.validation import FieldError


async def _require(lookup: Awaitable[int | None], field: str, what: str) -> int:
    found = await lookup
    if found is None:
        raise NotFound(field, f"no {what} with this key")
    return found


@dataclass(frozen=True)
class _Citing:
    """Resolves the sources one write cites: a recorded one by id, or one given by details.

    Details identical to a recorded source name that source; new ones are recorded in the
    write's transaction with an audit row of their own (the write's operation, a Source).
    Details that share a recorded source's identity (its URL, or kind, title, publisher and
    date without one) but differ otherwise are refused: the client must cite it by id.
    """

    conn: Conn
    actor: str
    operation: str

    async def optional(self, ref: SourceRef | None, field: str) -> int | None:
        return None if ref is None else await self.required(ref, field)

    async def required(self, ref: SourceRef, field: str) -> int:
        if ref.id is not None:
            return await _require(sources.exists(self.conn, ref.id), f"{field}.id", "source")
        assert ref.new is not None, "SourceRef holds exactly one of id and new"
        return await self._recorded(ref.new, f"{field}.new")

    async def _recorded(self, data: SourceInput, field: str) -> int:
        details = data.model_dump()
        key = f"{field}.url" if data.url is not None else f"{field}.title"
        found = await sources.with_identity(self.conn, **details)
        if found is not None:
            if all(found[column] == details[column] for column in sources.DETAILS):
                return int(found["id"])
            raise AlreadyExists(
                key, "a source with this identity is recorded with other details; cite it by id"
            )
        with translated(key):
            row = await sources.insert(self.conn, **details)
        await audit.record(
            self.conn,
            actor=self.actor,
            operation=self.operation,
            entity_type="Source",
            entity_id=row["id"],
            before=None,
            after=dict(row),
        )
        return int(row["id"])


async def _live_lab(conn: Conn, slug: str, field: str) -> int:
    state = await keys.lab_state(conn, slug)
    if state is None:
        raise NotFound(field, "no lab with this key")
    if state["archived"]:
        raise Archived(field, f"lab {slug!r} is archived; restore it first")
    return int(state["id"])


async def _live_model(conn: Conn, slug: str, field: str) -> int:
    state = await keys.model_state(conn, slug)
    if state is None:
        raise NotFound(field, "no model with this key")
    if state["archived"]:
        raise Archived(field, f"model {slug!r} or its lab is archived; restore it first")
    return int(state["id"])


@dataclass(frozen=True)
class Written:
    """What a write returns (`row`) and the entity's states the audit row records."""

    row: asyncpg.Record
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _updated(before: asyncpg.Record, after: asyncpg.Record | None) -> Written:
    if after is None:
        # The row was locked and its revision checked; only a writer that bypassed the lock
        # could get here, and the guard still refuses to overwrite its change.
        raise Conflict("expectedRevision", "changed concurrently; read it again")
    # A locked read may carry derived columns; the audit keeps the table's own.
    state = dict(after)
    return Written(after, {key: before[key] for key in state}, state)


def _check_revision(row: asyncpg.Record, expected: int) -> None:
    if row["revision"] != expected:
        raise Conflict(
            "expectedRevision",
            f"is stale: the current revision is {row['revision']}; read it again",
        )


def _rules(values: Mapping[str, Any]) -> None:
    try:
        version_rules(values)
    except FieldError as exc:
        raise ValidationFailed(to_camel(exc.field), str(exc)) from exc


async def _audited(
    conn: Conn,
    actor: str,
    operation: str,
    entity_type: str,
    write: Callable[[], Awaitable[Written]],
) -> asyncpg.Record:
    async with conn.transaction():
        standings = await derived.before(conn, operation)
        written = await write()
        event_id = await audit.record(
            conn,
            actor=actor,
            operation=operation,
            entity_type=entity_type,
            entity_id=written.row["id"],
            before=written.before,
            after=written.after,
        )
        await derived.record(conn, standings, actor=actor, cause_id=event_id)
    return written.row


async def _created(
    conn: Conn,
    actor: str,
    operation: str,
    entity_type: str,
    insert: Callable[[], Awaitable[asyncpg.Record]],
) -> asyncpg.Record:
    async def write() -> Written:
        row = await insert()
        return Written(row, None, dict(row))

    return await _audited(conn, actor, operation, entity_type, write)


async def add_source(conn: Conn, actor: str, data: SourceInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        if await sources.with_identity(conn, **data.model_dump()) is not None:
            field = "url" if data.url is not None else "title"
            what = "URL" if data.url is not None else "kind, title, publisher and date"
            raise AlreadyExists(field, f"a source with this {what} is already recorded")
        with translated("url" if data.url is not None else "title"):
            return await sources.insert(conn, **data.model_dump())

    return await _created(conn, actor, "addSource", "Source", write)


async def create_lab(conn: Conn, actor: str, data: LabInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        fields = data.model_dump(exclude={"country"})
        with translated("slug"):
            return await labs.insert(conn, country_code=data.country, **fields)

    return await _created(conn, actor, "createLab", "Lab", write)


async def create_model_family(conn: Conn, actor: str, data: ModelFamilyInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = None
        if data.lab is not None:
            lab_id = await _live_lab(conn, data.lab, "lab")
        with translated("slug"):
            return await labs.insert_family(
                conn, slug=data.slug, name=data.name, lab_id=lab_id, description=data.description
            )

    return await _created(conn, actor, "createModelFamily", "ModelFamily", write)


async def create_model(conn: Conn, actor: str, data: ModelInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = await _live_lab(conn, data.lab, "lab")
        family_id = None
        if data.family is not None:
            family_id = await _require(keys.family_id(conn, data.family), "family", "family")
        fields = data.model_dump(exclude={"lab", "family"})
        with translated("slug"):
            return await models.insert(conn, lab_id=lab_id, family_id=family_id, **fields)

    return await _created(conn, actor, "createModel", "Model", write)


async def create_version(conn: Conn, actor: str, data: VersionInput) -> asyncpg.Record:
    async def insert() -> asyncpg.Record:
        cite = _Citing(conn, actor, "createVersion")
        return await _insert_version(conn, cite, data, preview_field="promotedFrom")

    return await _created(conn, actor, "createVersion", "Version", insert)


async def promote_version(conn: Conn, actor: str, data: PromoteVersionInput) -> asyncpg.Record:
    """A new FINAL version pointing back to its PREVIEW; the preview and its scores stay."""

    async def insert() -> asyncpg.Record:
        cite = _Citing(conn, actor, "promoteVersion")
        return await _insert_version(conn, cite, data.as_version(), preview_field="preview")

    return await _created(conn, actor, "promoteVersion", "Version", insert)


async def _insert_version(
    conn: Conn, cite: _Citing, data: VersionInput, *, preview_field: str
) -> asyncpg.Record:
    model_id = await _live_model(conn, data.model, "model")
    promoted_from_id = None
    if data.promoted_from is not None:
        promoted_from_id = await _preview_id(conn, model_id, data.promoted_from, preview_field)
    source_id = await cite.optional(data.source, "source")
    fields = data.model_dump(exclude={"model", "promoted_from", "source", "hardware_targets"})
    with translated("label"):
        row = await models.insert_version(
            conn,
            model_id=model_id,
            promoted_from_id=promoted_from_id,
            source_id=source_id,
            **fields,
        )
    await _insert_hardware(conn, cite, row["id"], data.hardware_targets, "hardwareTargets")
    return row


async def _insert_hardware(
    conn: Conn, cite: _Citing, version_id: int, targets: list[HardwareTargetInput], field: str
) -> list[asyncpg.Record]:
    rows = []
    for index, target in enumerate(targets):
        target_field = f"{field}.{index}"
        target_source = await cite.optional(target.source, f"{target_field}.source")
        with translated(target_field):
            rows.append(
                await models.insert_hardware(
                    conn,
                    version_id=version_id,
                    source_id=target_source,
                    **target.model_dump(exclude={"source"}),
                )
            )
    return rows


async def _preview_id(conn: Conn, model_id: int, label: str, field: str) -> int:
    preview = await models.lock_preview(conn, model_id, label)
    if preview is None:
        raise NotFound(field, "no version with this label")
    if preview["stage"] != "PREVIEW":
        raise ValidationFailed(field, "only a PREVIEW version can be promoted")
    if preview["promoted"]:
        raise AlreadyExists(field, "this preview has already been promoted")
    return int(preview["id"])


async def create_benchmark(conn: Conn, actor: str, data: BenchmarkInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        with translated("slug"):
            return await benchmarks.insert(conn, **data.model_dump())

    return await _created(conn, actor, "createBenchmark", "Benchmark", write)


async def create_benchmark_version(
    conn: Conn, actor: str, data: BenchmarkVersionInput
) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        benchmark_id = await _require(
            keys.benchmark_id(conn, data.benchmark), "benchmark", "benchmark"
        )
        weights = []
        for index, component in enumerate(data.components):
            field = f"components.{index}.benchmark"
            component_id = await _require(
                keys.benchmark_id(conn, component.benchmark), field, "benchmark"
            )
            if component_id == benchmark_id:
                raise ValidationFailed(field, "an index cannot be its own component")
            weights.append((component_id, component.weight))
        source_id = await _Citing(conn, actor, "createBenchmarkVersion").optional(
            data.source, "source"
        )
        with translated("label"):
            row = await benchmarks.insert_version(
                conn,
                benchmark_id=benchmark_id,
                label=data.label,
                effective_on=data.effective_on,
                notes=data.notes,
                source_id=source_id,
            )
        await benchmarks.insert_components(conn, row["id"], weights)
        return row

    return await _created(conn, actor, "createBenchmarkVersion", "BenchmarkVersion", write)


async def record_score(conn: Conn, actor: str, data: ScoreInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        version_id, benchmark_version_id = await _score_keys(conn, data)
        source_id = await _Citing(conn, actor, "recordScore").required(data.source, "source")
        fields = data.model_dump(
            exclude={"model", "version", "benchmark", "benchmark_version", "source"}
        )
        with translated("value"):
            return await scores.insert(
                conn,
                version_id=version_id,
                benchmark_version_id=benchmark_version_id,
                source_id=source_id,
                **fields,
            )

    return await _created(conn, actor, "recordScore", "Score", write)


async def _score_keys(conn: Conn, data: ScoreInput) -> tuple[int, int]:
    """Resolve a score's references and check its value against the benchmark's scale."""
    model_id = await _live_model(conn, data.model, "model")
    version_id = await _require(keys.version_id(conn, model_id, data.version), "version", "version")
    benchmark_id = await _require(keys.benchmark_id(conn, data.benchmark), "benchmark", "benchmark")
    if data.benchmark_version is None:
        # Without an explicit method version, the one in effect on the measured date applies.
        lookup = keys.benchmark_version_in_effect(conn, benchmark_id, data.measured_on)
    else:
        lookup = keys.benchmark_version_id(conn, benchmark_id, data.benchmark_version)
    benchmark_version_id = await _require(lookup, "benchmarkVersion", "benchmark version")
    await _check_scale(conn, benchmark_id, data.value)
    return version_id, benchmark_version_id


async def _check_scale(conn: Conn, benchmark_id: int, value: Decimal) -> None:
    benchmark = await benchmarks.by_id(conn, benchmark_id)
    assert benchmark is not None, "the id was just resolved"
    if not benchmark["scale_min"] <= value <= benchmark["scale_max"]:
        raise ValidationFailed(
            "value",
            f"must lie within the benchmark's scale "
            f"{benchmark['scale_min']}..{benchmark['scale_max']}",
            code=ErrorCode.OUT_OF_RANGE,
        )


async def link_models(conn: Conn, actor: str, data: LineageLinkInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        parent_id = await _live_model(conn, data.parent, "parent")
        child_id = await _live_model(conn, data.child, "child")
        if parent_id == child_id:
            raise CycleDetected("child", "a model cannot be its own parent")
        await lineage.lock_graph(conn)
        if await lineage.reaches(conn, child_id, parent_id):
            raise CycleDetected("child", f"{data.child} is already an ancestor of {data.parent}")
        source_id = await _Citing(conn, actor, "linkModels").optional(data.source, "source")
        with translated("relation"):
            return await lineage.insert(
                conn,
                parent_id=parent_id,
                child_id=child_id,
                relation=data.relation,
                source_id=source_id,
                note=data.note,
            )

    return await _created(conn, actor, "linkModels", "LineageLink", write)


async def create_program(conn: Conn, actor: str, data: ProgramInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        source_id = await _Citing(conn, actor, "createProgram").optional(data.source, "source")
        fields = data.model_dump(exclude={"country", "source"})
        with translated("slug"):
            return await programs.insert(
                conn, country_code=data.country, source_id=source_id, **fields
            )

    return await _created(conn, actor, "createProgram", "Program", write)


async def set_participant_status(
    conn: Conn, actor: str, data: ParticipantStatusInput
) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        program_id = await _require(keys.program_id(conn, data.program), "program", "program")
        lab_id = await _live_lab(conn, data.lab, "lab")
        participant_id = await programs.ensure_participant(conn, program_id, lab_id)
        cite = _Citing(conn, actor, "setParticipantStatus")
        source_id = await cite.optional(data.source, "source")
        with translated("effectiveOn"):
            return await programs.insert_status(
                conn,
                participant_id=participant_id,
                status=data.status,
                effective_on=data.effective_on,
                effective_precision=data.effective_precision,
                source_id=source_id,
                note=data.note,
            )

    return await _created(conn, actor, "setParticipantStatus", "ParticipantStatus", write)


async def state_target(conn: Conn, actor: str, data: TargetInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = await _live_lab(conn, data.lab, "lab")
        benchmark_id = await _require(
            keys.benchmark_id(conn, data.benchmark), "benchmark", "benchmark"
        )
        model_id = None
        if data.model is not None:
            model_id = await _live_model(conn, data.model, "model")
        source_id = await _Citing(conn, actor, "stateTarget").required(data.source, "source")
        fields = data.model_dump(exclude={"lab", "benchmark", "model", "source"})
        with translated("dueOn"):
            return await targets.insert(
                conn,
                lab_id=lab_id,
                benchmark_id=benchmark_id,
                model_id=model_id,
                source_id=source_id,
                **fields,
            )

    return await _created(conn, actor, "stateTarget", "Target", write)


async def set_external_id(conn: Conn, actor: str, data: ExternalIdInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = model_id = None
        if data.subject.lab is not None:
            lab_id = await _live_lab(conn, data.subject.lab, "subject.lab")
        if data.subject.model is not None:
            model_id = await _live_model(conn, data.subject.model, "subject.model")
        with translated("externalKey"):
            return await external_ids.insert(
                conn,
                system=data.system,
                external_key=data.external_key,
                lab_id=lab_id,
                model_id=model_id,
            )

    return await _created(conn, actor, "setExternalId", "ExternalId", write)


def _merged(
    row: asyncpg.Record, columns: tuple[str, ...], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The row's columns with the patch's changes laid over them."""
    return {column: changes.get(column, row[column]) for column in columns}


async def _locked(
    lookup: Awaitable[asyncpg.Record | None], field: str, what: str
) -> asyncpg.Record:
    row = await lookup
    if row is None:
        raise NotFound(field, f"no {what} with this key")
    return row


_LAB_COLUMNS = ("name", "country_code", "founded_year", "headquarters", "website", "description")


async def update_lab(conn: Conn, actor: str, data: LabPatch) -> asyncpg.Record:
    async def write() -> Written:
        before = await _locked(labs.lock(conn, data.slug), "slug", "lab")
        if before["archived_at"] is not None:
            raise Archived("slug", "the lab is archived; restore it first")
        _check_revision(before, data.expected_revision)
        changes = data.changes()
        if "country" in changes:
            changes["country_code"] = changes.pop("country")
        fields = _merged(before, _LAB_COLUMNS, changes)
        after = await labs.update(conn, before["id"], data.expected_revision, **fields)
        return _updated(before, after)

    return await _audited(conn, actor, "updateLab", "Lab", write)


_MODEL_COLUMNS = (
    "name",
    "family_id",
    "modality",
    "open_weights",
    "license",
    "training_origin",
    "description",
)


async def update_model(conn: Conn, actor: str, data: ModelPatch) -> asyncpg.Record:
    async def write() -> Written:
        before = await _locked(models.lock(conn, data.slug), "slug", "model")
        if before["archived_at"] is not None or await keys.lab_archived(conn, before["lab_id"]):
            raise Archived("slug", "the model or its lab is archived; restore it first")
        _check_revision(before, data.expected_revision)
        changes = data.changes()
        if "family" in changes:
            family = changes.pop("family")
            changes["family_id"] = (
                None
                if family is None
                else await _require(keys.family_id(conn, family), "family", "family")
            )
        fields = _merged(before, _MODEL_COLUMNS, changes)
        after = await models.update(conn, before["id"], data.expected_revision, **fields)
        return _updated(before, after)

    return await _audited(conn, actor, "updateModel", "Model", write)


_VERSION_COLUMNS = (
    "label",
    "announced_on",
    "released_on",
    "released_precision",
    "planned_on",
    "planned_precision",
    "total_parameters",
    "active_parameters",
    "context_window",
    "source_id",
)


async def update_version(conn: Conn, actor: str, data: VersionPatch) -> asyncpg.Record:
    async def write() -> Written:
        model_id = await _live_model(conn, data.model, "model")
        before = await _locked(models.lock_version(conn, model_id, data.label), "label", "version")
        _check_revision(before, data.expected_revision)
        changes = data.changes()
        if "new_label" in changes:
            changes["label"] = changes.pop("new_label")
        if "source" in changes:
            # The validated reference, not its dumped dict.
            changes.pop("source")
            cite = _Citing(conn, actor, "updateVersion")
            changes["source_id"] = await cite.optional(data.source, "source")
        fields = _merged(before, _VERSION_COLUMNS, changes)
        # The patch alone may be consistent and still break a rule with what it keeps.
        _rules(fields)
        with translated("newLabel"):
            after = await models.update_version(
                conn, before["id"], data.expected_revision, **fields
            )
        return _updated(before, after)

    return await _audited(conn, actor, "updateVersion", "Version", write)


async def set_hardware_targets(
    conn: Conn, actor: str, data: HardwareTargetsInput
) -> asyncpg.Record:
    """Replace a version's hardware targets; the version's revision moves with them."""

    async def write() -> Written:
        model_id = await _live_model(conn, data.model, "model")
        before = await _locked(
            models.lock_version(conn, model_id, data.version), "version", "version"
        )
        _check_revision(before, data.expected_revision)
        removed = await models.delete_hardware(conn, before["id"])
        cite = _Citing(conn, actor, "setHardwareTargets")
        added = await _insert_hardware(conn, cite, before["id"], data.targets, "targets")
        written = _updated(
            before, await models.bump_version(conn, before["id"], before["revision"])
        )
        assert written.before is not None and written.after is not None
        written.before["hardware_targets"] = [dict(row) for row in removed]
        written.after["hardware_targets"] = [dict(row) for row in added]
        return written

    return await _audited(conn, actor, "setHardwareTargets", "Version", write)


async def supersede_score(conn: Conn, actor: str, data: SupersedeScoreInput) -> asyncpg.Record:
    """A correction: a new score that supersedes the old one, which stays in history."""

    async def write() -> Written:
        old = await _locked(scores.with_context(conn, data.score, lock=True), "score", "score")
        if old["archived"]:
            raise Archived("score", "the score's model or lab is archived")
        if old["superseded"]:
            raise Conflict("score", "already superseded; correct the latest correction instead")
        if data.measured_on < old["measured_on"]:
            raise ValidationFailed("measuredOn", "a correction cannot precede the score it fixes")
        await _check_scale(conn, old["benchmark_id"], data.value)
        source_id = await _Citing(conn, actor, "supersedeScore").required(data.source, "source")
        fields = data.model_dump(exclude={"score", "source", "provenance"})
        with translated("score"):
            row = await scores.insert_correction(
                conn,
                supersedes=old,
                source_id=source_id,
                provenance=data.provenance or old["provenance"],
                **fields,
            )
        return Written(row, None, dict(row))

    return await _audited(conn, actor, "supersedeScore", "Score", write)


async def set_score_verification(
    conn: Conn, actor: str, data: ScoreVerificationInput
) -> asyncpg.Record:
    async def write() -> Written:
        before = await _locked(scores.with_context(conn, data.score, lock=True), "score", "score")
        if before["archived"]:
            raise Archived("score", "the score's model or lab is archived")
        if data.changed_on < before["measured_on"]:
            raise ValidationFailed("changedOn", "cannot precede the score's measuredOn")
        evidence_id = before["evidence_score_id"]
        if "evidence" in data.model_fields_set:
            evidence_id = data.evidence
        if evidence_id is not None and evidence_id != before["evidence_score_id"]:
            await _check_evidence(conn, before, evidence_id)
        after = await scores.set_verification(
            conn, before["id"], data.verification, data.changed_on, evidence_id
        )
        return _updated(before, after)

    return await _audited(conn, actor, "setScoreVerification", "Score", write)


async def _check_evidence(conn: Conn, score: asyncpg.Record, evidence_id: int) -> None:
    evidence = await _locked(
        scores.with_context(conn, evidence_id, lock=False), "evidence", "score"
    )
    # Evidence measures the same model on the same benchmark (a preview's claim is
    # confirmed by the final's measurement, perhaps under a later method version).
    if (evidence["model_id"], evidence["benchmark_id"]) != (
        score["model_id"],
        score["benchmark_id"],
    ):
        raise ValidationFailed("evidence", "must measure the same model on the same benchmark")


async def unlink_models(conn: Conn, actor: str, data: UnlinkInput) -> asyncpg.Record:
    async def write() -> Written:
        parent_id = await _live_model(conn, data.parent, "parent")
        child_id = await _live_model(conn, data.child, "child")
        row = await lineage.delete(conn, parent_id, child_id, data.relation)
        if row is None:
            raise NotFound("relation", "these models are not linked by this relation")
        return Written(row, dict(row), None)

    return await _audited(conn, actor, "unlinkModels", "LineageLink", write)


Lock = Callable[[Conn, str], Awaitable[asyncpg.Record | None]]
SetArchived = Callable[[Conn, int, int, bool], Awaitable[asyncpg.Record | None]]


async def _set_archived(
    conn: Conn,
    data: ArchiveInput,
    *,
    archive: bool,
    lock: Lock,
    set_archived: SetArchived,
    what: str,
) -> Written:
    before = await _locked(lock(conn, data.slug), "slug", what)
    if archive and before["archived_at"] is not None:
        raise Archived("slug", f"the {what} is already archived")
    if not archive and before["archived_at"] is None:
        raise ValidationFailed("slug", f"the {what} is not archived")
    revision = before["revision"] if data.expected_revision is None else data.expected_revision
    _check_revision(before, revision)
    return _updated(before, await set_archived(conn, before["id"], revision, archive))


async def archive_lab(conn: Conn, actor: str, data: ArchiveInput) -> asyncpg.Record:
    """Hide a lab from lists and refuse writes under it; it stays readable by slug."""

    async def write() -> Written:
        return await _set_archived(
            conn, data, archive=True, lock=labs.lock, set_archived=labs.set_archived, what="lab"
        )

    return await _audited(conn, actor, "archiveLab", "Lab", write)


async def restore_lab(conn: Conn, actor: str, data: ArchiveInput) -> asyncpg.Record:
    async def write() -> Written:
        return await _set_archived(
            conn, data, archive=False, lock=labs.lock, set_archived=labs.set_archived, what="lab"
        )

    return await _audited(conn, actor, "restoreLab", "Lab", write)


async def archive_model(conn: Conn, actor: str, data: ArchiveInput) -> asyncpg.Record:
    async def write() -> Written:
        return await _set_archived(
            conn,
            data,
            archive=True,
            lock=models.lock,
            set_archived=models.set_archived,
            what="model",
        )

    return await _audited(conn, actor, "archiveModel", "Model", write)


async def restore_model(conn: Conn, actor: str, data: ArchiveInput) -> asyncpg.Record:
    async def write() -> Written:
        return await _set_archived(
            conn,
            data,
            archive=False,
            lock=models.lock,
            set_archived=models.set_archived,
            what="model",
        )

    return await _audited(conn, actor, "restoreModel", "Model", write)
