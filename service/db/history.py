"""Observations over time: score histories, target outcomes, threshold crossings."""

from __future__ import annotations

import datetime as dt

import asyncpg

from service.db import Conn
from service.db.scores import SUPERSEDED

# A score meets a target when, by the due date (and by the as-of date), a non-retracted,
# not-superseded observation of any of the lab's models (or the named model) on the
# target's benchmark reached the value; an AT_MOST bound proves nothing upwards (and an
# AT_LEAST bound nothing downwards).
TARGET_OUTCOMES = """
SELECT key.target_id, key.as_of, target.due_on, met.id AS met_by_id, met.measured_on AS met_on
FROM unnest($1::bigint[], $2::date[]) AS key (target_id, as_of)
JOIN target ON target.id = key.target_id
JOIN benchmark ON benchmark.id = target.benchmark_id
LEFT JOIN LATERAL (
    SELECT score.id, score.measured_on
    FROM score
    JOIN model_version AS version ON version.id = score.version_id
    JOIN model ON model.id = version.model_id
    JOIN benchmark_version ON benchmark_version.id = score.benchmark_version_id
    WHERE benchmark_version.benchmark_id = target.benchmark_id
      AND model.lab_id = target.lab_id
      AND (target.model_id IS NULL OR model.id = target.model_id)
      AND score.measured_on <= LEAST(target.due_on, key.as_of)
      AND score.provenance = ANY($3::score_provenance[])
      AND NOT (score.verification = 'RETRACTED'
               AND COALESCE(score.verification_changed_on, score.measured_on) <= key.as_of)
      AND NOT EXISTS (SELECT 1 FROM score AS correction
                      WHERE correction.supersedes_id = score.id
                        AND correction.measured_on <= key.as_of)
      AND CASE WHEN benchmark.higher_is_better
               THEN score.value >= target.value AND score.qualifier <> 'AT_MOST'
               ELSE score.value <= target.value AND score.qualifier <> 'AT_LEAST' END
    ORDER BY score.measured_on, score.id
    LIMIT 1
) AS met ON true
"""

SCORE_HISTORY = f"""
SELECT score.*,
       {SUPERSEDED.format(score="score")} AS superseded
FROM score
JOIN model_version AS version ON version.id = score.version_id
JOIN model ON model.id = version.model_id
JOIN benchmark_version ON benchmark_version.id = score.benchmark_version_id
JOIN benchmark ON benchmark.id = benchmark_version.benchmark_id
WHERE model.slug = $1
  AND ($2::text IS NULL OR version.label = $2)
  AND ($3::text IS NULL OR benchmark.slug = $3)
ORDER BY score.measured_on, score.id
"""

TARGETS = """
SELECT target.* FROM target
JOIN lab ON lab.id = target.lab_id
JOIN benchmark ON benchmark.id = target.benchmark_id
WHERE ($1::text IS NULL OR lab.slug = $1) AND ($2::text IS NULL OR benchmark.slug = $2)
ORDER BY target.due_on, target.id
LIMIT 100
"""


async def target_outcomes(
    conn: Conn, keys: list[tuple[int, dt.date]], provenances: list[str]
) -> list[asyncpg.Record]:
    return await conn.fetch(
        TARGET_OUTCOMES, [key[0] for key in keys], [key[1] for key in keys], provenances
    )


async def score_history(
    conn: Conn, model: str, version: str | None, benchmark: str | None
) -> list[asyncpg.Record]:
    return await conn.fetch(SCORE_HISTORY, model, version, benchmark)


async def targets(conn: Conn, lab: str | None, benchmark: str | None) -> list[asyncpg.Record]:
    return await conn.fetch(TARGETS, lab, benchmark)
