"""Scores: append-only observations of a version on a benchmark version."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import asyncpg

from service.db import Conn

INSERT = """
INSERT INTO score (version_id, benchmark_version_id, value, qualifier, uncertainty,
                   run_configuration, measured_on, provenance, verification, source_id, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING *
"""
FIND_SAME = """
SELECT * FROM score
WHERE version_id = $1 AND benchmark_version_id = $2 AND measured_on = $3
  AND provenance = $4 AND source_id = $5
"""
# A score with what a correction or a verification must check: the model (archived or not),
# the benchmark (its scale) and whether a correction already replaced it. `FOR UPDATE OF
# score` serialises two corrections of the same score, so the second sees the first.
# Whether a later correction replaced the score `{score}` (history keeps both rows). Shared by
# every statement that returns scores, and by the compiled path.
SUPERSEDED = "EXISTS (SELECT 1 FROM score AS later WHERE later.supersedes_id = {score}.id)"
_SUPERSEDED = SUPERSEDED.format(score="score")

WITH_CONTEXT = f"""
SELECT score.*, version.model_id, benchmark_version.benchmark_id,
       (model.archived_at IS NOT NULL OR lab.archived_at IS NOT NULL) AS archived,
       {_SUPERSEDED} AS superseded
FROM score
JOIN model_version AS version ON version.id = score.version_id
JOIN model ON model.id = version.model_id
JOIN lab ON lab.id = model.lab_id
JOIN benchmark_version ON benchmark_version.id = score.benchmark_version_id
WHERE score.id = $1
"""
LOCK_WITH_CONTEXT = WITH_CONTEXT + "FOR UPDATE OF score"
INSERT_CORRECTION = """
INSERT INTO score (version_id, benchmark_version_id, value, qualifier, uncertainty,
                   run_configuration, measured_on, provenance, source_id, note, supersedes_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING *
"""
# The score's current status; a trigger (migration 0007) adds the change to its history.
SET_VERIFICATION = """
UPDATE score SET verification = $2, verification_changed_on = $3, evidence_score_id = $4
WHERE id = $1
RETURNING *
"""
# Scores' verification histories, in the order they were written.
VERIFICATION_CHANGES = """
SELECT * FROM verification_change WHERE score_id = ANY($1::bigint[]) ORDER BY score_id, id
"""
# A version's scores, newest observation first, over a table alias {t} (the compiled path
# orders by the same); whether each was superseded is derived.
ORDER = "{t}.measured_on DESC, {t}.id DESC"
BY_VERSIONS = f"""
SELECT score.*,
       {_SUPERSEDED} AS superseded
FROM score
WHERE score.version_id = ANY($1::bigint[])
ORDER BY score.version_id, {ORDER.format(t="score")}
"""


async def insert(
    conn: Conn,
    *,
    version_id: int,
    benchmark_version_id: int,
    value: Decimal,
    qualifier: str,
    uncertainty: Decimal | None,
    run_configuration: dict[str, Any],
    measured_on: dt.date,
    provenance: str,
    verification: str,
    source_id: int,
    note: str | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        INSERT,
        version_id,
        benchmark_version_id,
        value,
        qualifier,
        uncertainty,
        run_configuration,
        measured_on,
        provenance,
        verification,
        source_id,
        note,
    )
    assert row is not None
    return row


async def find_same(
    conn: Conn,
    *,
    version_id: int,
    benchmark_version_id: int,
    measured_on: dt.date,
    provenance: str,
    source_id: int,
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        FIND_SAME, version_id, benchmark_version_id, measured_on, provenance, source_id
    )


async def by_versions(conn: Conn, version_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(BY_VERSIONS, version_ids)


async def verification_changes(conn: Conn, score_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(VERIFICATION_CHANGES, score_ids)


async def with_context(conn: Conn, score_id: int, *, lock: bool) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK_WITH_CONTEXT if lock else WITH_CONTEXT, score_id)


async def insert_correction(
    conn: Conn,
    *,
    supersedes: asyncpg.Record,
    value: Decimal,
    qualifier: str,
    uncertainty: Decimal | None,
    run_configuration: dict[str, Any],
    measured_on: dt.date,
    provenance: str,
    source_id: int,
    note: str | None,
) -> asyncpg.Record:
    """A new observation of the same version on the same benchmark version."""
    row = await conn.fetchrow(
        INSERT_CORRECTION,
        supersedes["version_id"],
        supersedes["benchmark_version_id"],
        value,
        qualifier,
        uncertainty,
        run_configuration,
        measured_on,
        provenance,
        source_id,
        note,
        supersedes["id"],
    )
    assert row is not None
    return row


async def set_verification(
    conn: Conn, score_id: int, verification: str, changed_on: dt.date, evidence_id: int | None
) -> asyncpg.Record:
    row = await conn.fetchrow(SET_VERIFICATION, score_id, verification, changed_on, evidence_id)
    assert row is not None
    return row
