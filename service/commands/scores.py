"""Commands on scores: record, correct (supersede), verify."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from service.commands.transaction import (
    Citing,
    Written,
    audited,
    created,
    live_model,
    locked,
    require,
    updated,
)
from service.db import Conn, benchmarks, keys, scores
from service.db.constraints import translated
from service.errors import Archived, Conflict, ErrorCode, ValidationFailed
from service.inputs import ScoreInput, ScoreVerificationInput, SupersedeScoreInput


async def record_score(conn: Conn, actor: str, data: ScoreInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        version_id, benchmark_version_id = await _score_keys(conn, data)
        source_id = await Citing(conn, actor, "recordScore").required(data.source, "source")
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

    return await created(conn, actor, "recordScore", "Score", write)


async def _score_keys(conn: Conn, data: ScoreInput) -> tuple[int, int]:
    """Resolve a score's references and check its value against the benchmark's scale."""
    model_id = await live_model(conn, data.model, "model")
    version_id = await require(keys.version_id(conn, model_id, data.version), "version", "version")
    benchmark_id = await require(keys.benchmark_id(conn, data.benchmark), "benchmark", "benchmark")
    if data.benchmark_version is None:
        # Without an explicit method version, the one in effect on the measured date applies.
        lookup = keys.benchmark_version_in_effect(conn, benchmark_id, data.measured_on)
    else:
        lookup = keys.benchmark_version_id(conn, benchmark_id, data.benchmark_version)
    benchmark_version_id = await require(lookup, "benchmarkVersion", "benchmark version")
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


async def supersede_score(conn: Conn, actor: str, data: SupersedeScoreInput) -> asyncpg.Record:
    """A correction: a new score that supersedes the old one, which stays in history."""

    async def write() -> Written:
        old = await locked(scores.with_context(conn, data.score, lock=True), "score", "score")
        if old["archived"]:
            raise Archived("score", "the score's model or lab is archived")
        if old["superseded"]:
            raise Conflict("score", "already superseded; correct the latest correction instead")
        if data.measured_on < old["measured_on"]:
            raise ValidationFailed("measuredOn", "a correction cannot precede the score it fixes")
        await _check_scale(conn, old["benchmark_id"], data.value)
        source_id = await Citing(conn, actor, "supersedeScore").required(data.source, "source")
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

    return await audited(conn, actor, "supersedeScore", "Score", write)


async def set_score_verification(
    conn: Conn, actor: str, data: ScoreVerificationInput
) -> asyncpg.Record:
    async def write() -> Written:
        before = await locked(scores.with_context(conn, data.score, lock=True), "score", "score")
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
        return updated(before, after)

    return await audited(conn, actor, "setScoreVerification", "Score", write)


async def _check_evidence(conn: Conn, score: asyncpg.Record, evidence_id: int) -> None:
    evidence = await locked(scores.with_context(conn, evidence_id, lock=False), "evidence", "score")
    # Evidence measures the same model on the same benchmark (a preview's claim is
    # confirmed by the final's measurement, perhaps under a later method version).
    if (evidence["model_id"], evidence["benchmark_id"]) != (
        score["model_id"],
        score["benchmark_id"],
    ):
        raise ValidationFailed("evidence", "must measure the same model on the same benchmark")
