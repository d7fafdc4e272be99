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
# A version's scores, newest observation first; whether each was superseded is derived.
BY_VERSIONS = """
SELECT score.*,
       EXISTS (SELECT 1 FROM score AS later WHERE later.supersedes_id = score.id) AS superseded
FROM score
WHERE score.version_id = ANY($1::bigint[])
ORDER BY score.version_id, score.measured_on DESC, score.id DESC
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
