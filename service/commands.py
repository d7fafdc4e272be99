"""The write side of the registry: one function per command, one transaction per call.

Each command takes a validated input (service.inputs), resolves the human keys it names,
writes through the SQL layer and records exactly one audit event in the same transaction.
The admin mutations and the demo-data loader both call these, so every rule applies to both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

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
from service.errors import CycleDetected, ErrorCode, NotFound, ValidationFailed
from service.inputs import (
    BenchmarkInput,
    BenchmarkVersionInput,
    ExternalIdInput,
    LabInput,
    LineageLinkInput,
    ModelFamilyInput,
    ModelInput,
    ParticipantStatusInput,
    ProgramInput,
    ScoreInput,
    SourceInput,
    TargetInput,
    VersionInput,
)


async def _require(lookup: Awaitable[int | None], field: str, what: str) -> int:
    found = await lookup
    if found is None:
        raise NotFound(field, f"no {what} with this key")
    return found


async def _optional_source(conn: Conn, url: str | None, field: str) -> int | None:
    if url is None:
        return None
    return await _require(keys.source_id(conn, url), field, "source (add it first)")


async def _audited(
    conn: Conn,
    actor: str,
    operation: str,
    entity_type: str,
    write: Callable[[], Awaitable[asyncpg.Record]],
) -> asyncpg.Record:
    async with conn.transaction():
        row = await write()
        await audit.record(
            conn,
            actor=actor,
            operation=operation,
            entity_type=entity_type,
            entity_id=row["id"],
            before=None,
            after=dict(row),
        )
    return row


async def add_source(conn: Conn, actor: str, data: SourceInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        with translated("url"):
            return await sources.insert(conn, **data.model_dump())

    return await _audited(conn, actor, "addSource", "Source", write)


async def create_lab(conn: Conn, actor: str, data: LabInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        fields = data.model_dump(exclude={"country"})
        with translated("slug"):
            return await labs.insert(conn, country_code=data.country, **fields)

    return await _audited(conn, actor, "createLab", "Lab", write)


async def create_model_family(conn: Conn, actor: str, data: ModelFamilyInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = None
        if data.lab is not None:
            lab_id = await _require(keys.lab_id(conn, data.lab), "lab", "lab")
        with translated("slug"):
            return await labs.insert_family(
                conn, slug=data.slug, name=data.name, lab_id=lab_id, description=data.description
            )

    return await _audited(conn, actor, "createModelFamily", "ModelFamily", write)


async def create_model(conn: Conn, actor: str, data: ModelInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = await _require(keys.lab_id(conn, data.lab), "lab", "lab")
        family_id = None
        if data.family is not None:
            family_id = await _require(keys.family_id(conn, data.family), "family", "family")
        fields = data.model_dump(exclude={"lab", "family"})
        with translated("slug"):
            return await models.insert(conn, lab_id=lab_id, family_id=family_id, **fields)

    return await _audited(conn, actor, "createModel", "Model", write)


async def create_version(conn: Conn, actor: str, data: VersionInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        model_id = await _require(keys.model_id(conn, data.model), "model", "model")
        promoted_from_id = None
        if data.promoted_from is not None:
            promoted_from_id = await _preview_id(conn, model_id, data.promoted_from)
        source_id = await _optional_source(conn, data.source, "source")
        fields = data.model_dump(exclude={"model", "promoted_from", "source", "hardware_targets"})
        with translated("label"):
            row = await models.insert_version(
                conn,
                model_id=model_id,
                promoted_from_id=promoted_from_id,
                source_id=source_id,
                **fields,
            )
        for index, target in enumerate(data.hardware_targets):
            field = f"hardwareTargets.{index}"
            target_source = await _optional_source(conn, target.source, f"{field}.source")
            with translated(field):
                await models.insert_hardware(
                    conn,
                    version_id=row["id"],
                    source_id=target_source,
                    **target.model_dump(exclude={"source"}),
                )
        return row

    return await _audited(conn, actor, "createVersion", "Version", write)


async def _preview_id(conn: Conn, model_id: int, label: str) -> int:
    preview_id = await _require(keys.version_id(conn, model_id, label), "promotedFrom", "version")
    if await models.version_stage(conn, preview_id) != "PREVIEW":
        raise ValidationFailed("promotedFrom", "only a PREVIEW version can be promoted")
    return preview_id


async def create_benchmark(conn: Conn, actor: str, data: BenchmarkInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        with translated("slug"):
            return await benchmarks.insert(conn, **data.model_dump())

    return await _audited(conn, actor, "createBenchmark", "Benchmark", write)


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
        source_id = await _optional_source(conn, data.source, "source")
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

    return await _audited(conn, actor, "createBenchmarkVersion", "BenchmarkVersion", write)


async def record_score(conn: Conn, actor: str, data: ScoreInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        version_id, benchmark_version_id, source_id = await _score_keys(conn, data)
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

    return await _audited(conn, actor, "recordScore", "Score", write)


async def _score_keys(conn: Conn, data: ScoreInput) -> tuple[int, int, int]:
    """Resolve a score's references and check its value against the benchmark's scale."""
    model_id = await _require(keys.model_id(conn, data.model), "model", "model")
    version_id = await _require(keys.version_id(conn, model_id, data.version), "version", "version")
    benchmark_id = await _require(keys.benchmark_id(conn, data.benchmark), "benchmark", "benchmark")
    if data.benchmark_version is None:
        # Without an explicit method version, the one in effect on the measured date applies.
        lookup = keys.benchmark_version_in_effect(conn, benchmark_id, data.measured_on)
    else:
        lookup = keys.benchmark_version_id(conn, benchmark_id, data.benchmark_version)
    benchmark_version_id = await _require(lookup, "benchmarkVersion", "benchmark version")
    benchmark = await benchmarks.by_id(conn, benchmark_id)
    assert benchmark is not None
    if not benchmark["scale_min"] <= data.value <= benchmark["scale_max"]:
        raise ValidationFailed(
            "value",
            f"must lie within the benchmark's scale "
            f"{benchmark['scale_min']}..{benchmark['scale_max']}",
            code=ErrorCode.OUT_OF_RANGE,
        )
    source_id = await _require(keys.source_id(conn, data.source), "source", "source")
    return version_id, benchmark_version_id, source_id


async def link_models(conn: Conn, actor: str, data: LineageLinkInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        parent_id = await _require(keys.model_id(conn, data.parent), "parent", "model")
        child_id = await _require(keys.model_id(conn, data.child), "child", "model")
        if parent_id == child_id:
            raise CycleDetected("child", "a model cannot be its own parent")
        await lineage.lock_graph(conn)
        if await lineage.reaches(conn, child_id, parent_id):
            raise CycleDetected("child", f"{data.child} is already an ancestor of {data.parent}")
        source_id = await _optional_source(conn, data.source, "source")
        with translated("relation"):
            return await lineage.insert(
                conn,
                parent_id=parent_id,
                child_id=child_id,
                relation=data.relation,
                source_id=source_id,
                note=data.note,
            )

    return await _audited(conn, actor, "linkModels", "LineageLink", write)


async def create_program(conn: Conn, actor: str, data: ProgramInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        source_id = await _optional_source(conn, data.source, "source")
        fields = data.model_dump(exclude={"country", "source"})
        with translated("slug"):
            return await programs.insert(
                conn, country_code=data.country, source_id=source_id, **fields
            )

    return await _audited(conn, actor, "createProgram", "Program", write)


async def set_participant_status(
    conn: Conn, actor: str, data: ParticipantStatusInput
) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        program_id = await _require(keys.program_id(conn, data.program), "program", "program")
        lab_id = await _require(keys.lab_id(conn, data.lab), "lab", "lab")
        participant_id = await programs.ensure_participant(conn, program_id, lab_id)
        source_id = await _optional_source(conn, data.source, "source")
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

    return await _audited(conn, actor, "setParticipantStatus", "ParticipantStatus", write)


async def state_target(conn: Conn, actor: str, data: TargetInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = await _require(keys.lab_id(conn, data.lab), "lab", "lab")
        benchmark_id = await _require(
            keys.benchmark_id(conn, data.benchmark), "benchmark", "benchmark"
        )
        model_id = None
        if data.model is not None:
            model_id = await _require(keys.model_id(conn, data.model), "model", "model")
        source_id = await _require(keys.source_id(conn, data.source), "source", "source")
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

    return await _audited(conn, actor, "stateTarget", "Target", write)


async def set_external_id(conn: Conn, actor: str, data: ExternalIdInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = model_id = None
        if data.lab is not None:
            lab_id = await _require(keys.lab_id(conn, data.lab), "lab", "lab")
        if data.model is not None:
            model_id = await _require(keys.model_id(conn, data.model), "model", "model")
        with translated("externalKey"):
            return await external_ids.insert(
                conn,
                system=data.system,
                external_key=data.external_key,
                lab_id=lab_id,
                model_id=model_id,
            )

    return await _audited(conn, actor, "setExternalId", "ExternalId", write)
