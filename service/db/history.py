"""Observations over time: score histories, target outcomes, threshold crossings."""

from __future__ import annotations

import datetime as dt

import asyncpg

from service.db import Conn
from service.db.rankings import KNOWN, known_change_sql, status_test_sql

# The transaction time asked ({asked}, NULL for now) as the registry's clock settles it
# (service.clock.known_at): never past the latest write, so the answer is final.
SETTLED = "least(coalesce({asked}, 'infinity'), (SELECT last_at FROM transaction_clock))"

# A score meets a target when, by the due date (and by the as-of date), a non-retracted,
# not-superseded observation of any of the lab's models (or the named model) on the
# target's benchmark reached the value; an AT_MOST bound proves nothing upwards (and an
# AT_LEAST bound nothing downwards). All as recorded by the key's transaction time.
TARGET_OUTCOMES = f"""
SELECT key.target_id, key.as_of, key.asked, target.due_on, met.id AS met_by_id,
       met.measured_on AS met_on
FROM unnest($1::bigint[], $2::date[], $4::timestamptz[]) AS key (target_id, as_of, asked)
CROSS JOIN LATERAL (SELECT {SETTLED.format(asked="key.asked")} AS at) AS known
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
      AND {KNOWN.format(r="score", known_at="known.at")}
      AND {status_test_sql("score", "key.as_of", "known.at", "<> 'RETRACTED'")}
      AND NOT EXISTS (SELECT 1 FROM score AS correction
                      WHERE correction.supersedes_id = score.id
                        AND correction.measured_on <= key.as_of
                        AND {KNOWN.format(r="correction", known_at="known.at")})
      AND CASE WHEN benchmark.higher_is_better
               THEN score.value >= target.value AND score.qualifier <> 'AT_MOST'
               ELSE score.value <= target.value AND score.qualifier <> 'AT_LEAST' END
    ORDER BY score.measured_on, score.id
    LIMIT 1
) AS met ON true
"""

# A model's observations recorded by the transaction time $4 (NULL: now), each as it stood
# then: superseded by a correction recorded by then, its verification as recorded by then.
SCORE_HISTORY = f"""
SELECT score.*, known.at AS known_at,
       EXISTS (SELECT 1 FROM score AS later WHERE later.supersedes_id = score.id
                 AND {KNOWN.format(r="later", known_at="known.at")}) AS superseded,
       {known_change_sql("score", "known.at")} AS known_change
FROM (SELECT {SETTLED.format(asked="$4::timestamptz")} AS at) AS known, score
JOIN model_version AS version ON version.id = score.version_id
JOIN model ON model.id = version.model_id
JOIN benchmark_version ON benchmark_version.id = score.benchmark_version_id
JOIN benchmark ON benchmark.id = benchmark_version.benchmark_id
WHERE model.slug = $1
  AND ($2::text IS NULL OR version.label = $2)
  AND ($3::text IS NULL OR benchmark.slug = $3)
  AND {KNOWN.format(r="score", known_at="known.at")}
ORDER BY score.measured_on, score.id
"""

# The targets recorded by the transaction time $3 (NULL: now), with that time as settled.
TARGETS = f"""
SELECT target.*, known.at AS known_at
FROM (SELECT {SETTLED.format(asked="$3::timestamptz")} AS at) AS known, target
JOIN lab ON lab.id = target.lab_id
JOIN benchmark ON benchmark.id = target.benchmark_id
WHERE ($1::text IS NULL OR lab.slug = $1) AND ($2::text IS NULL OR benchmark.slug = $2)
  AND {KNOWN.format(r="target", known_at="known.at")}
ORDER BY target.due_on, target.id
LIMIT 100
"""


async def target_outcomes(
    conn: Conn, keys: list[tuple[int, dt.date, dt.datetime | None]], provenances: list[str]
) -> list[asyncpg.Record]:
    """Outcomes per (target, as-of date, transaction time asked or None for now)."""
    return await conn.fetch(
        TARGET_OUTCOMES,
        [key[0] for key in keys],
        [key[1] for key in keys],
        provenances,
        [key[2] for key in keys],
    )


async def score_history(
    conn: Conn,
    model: str,
    version: str | None,
    benchmark: str | None,
    known_at: dt.datetime | None,
) -> list[asyncpg.Record]:
    return await conn.fetch(SCORE_HISTORY, model, version, benchmark, known_at)


async def targets(
    conn: Conn, lab: str | None, benchmark: str | None, known_at: dt.datetime | None
) -> list[asyncpg.Record]:
    return await conn.fetch(TARGETS, lab, benchmark, known_at)
