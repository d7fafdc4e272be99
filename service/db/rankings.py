"""Leaderboards and country rankings as of any date.

A score counts on date D when it was measured on or before D, no correction measured on or
before D superseded it, and it was not retracted on or before D. A ranking never mixes method
versions: without an explicit one it uses the version in effect on D. An AT_LEAST score ranks
at its bound. Each model (or country) is represented by its best eligible score, and ties
share a rank. To-one relations (version, model, lab, country) come back in the same statement
as composite rows, so a page of entries costs one round trip. (The score itself stays flat:
asyncpg cannot decode a composite holding jsonb once jsonb has a text codec.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from service.db import Conn

BENCHMARK_VERSION = """
SELECT benchmark_version.*, benchmark.higher_is_better,
       benchmark.slug AS benchmark_slug, benchmark.name AS benchmark_name
FROM benchmark_version JOIN benchmark ON benchmark.id = benchmark_version.benchmark_id
WHERE benchmark.slug = $1
  AND (CASE WHEN $2::text IS NULL THEN benchmark_version.effective_on <= $3
            ELSE benchmark_version.label = $2 END)
ORDER BY benchmark_version.effective_on DESC
LIMIT 1
"""

# The scores that count: $1 benchmark version, $2 as-of date, $4 provenances,
# $5 verifications, $6 stages, $7 countries (NULL arrays mean "any").
_ELIGIBLE = """
    SELECT score.*, version, model, lab, country.name AS country_name,
           model.id AS model_id, lab.country_code
    FROM score
    JOIN model_version AS version ON version.id = score.version_id
    JOIN model ON model.id = version.model_id
    JOIN lab ON lab.id = model.lab_id
    JOIN country ON country.code = lab.country_code
    WHERE score.benchmark_version_id = $1
      AND score.measured_on <= $2
      AND NOT (score.verification = 'RETRACTED'
               AND COALESCE(score.verification_changed_on, score.measured_on) <= $2)
      AND NOT EXISTS (
          SELECT 1 FROM score AS correction
          WHERE correction.supersedes_id = score.id AND correction.measured_on <= $2)
      AND model.archived_at IS NULL AND lab.archived_at IS NULL
      AND ($4::score_provenance[] IS NULL OR score.provenance = ANY($4))
      AND ($5::score_verification[] IS NULL OR score.verification = ANY($5))
      AND ($6::version_stage[] IS NULL OR version.stage = ANY($6))
      AND ($7::text[] IS NULL OR lab.country_code = ANY($7))
"""

# $3 higher is better, $8 one entry per 'model' or 'country', $9 limit, $10 offset.
RANKED = f"""
WITH eligible AS ({_ELIGIBLE}), best AS (
    SELECT DISTINCT ON (CASE WHEN $8 = 'country' THEN country_code ELSE model_id::text END) *
    FROM eligible
    ORDER BY CASE WHEN $8 = 'country' THEN country_code ELSE model_id::text END,
             CASE WHEN $3 THEN value ELSE -value END DESC, measured_on, id
), ranked AS (
    SELECT best.*,
           rank() OVER (ORDER BY CASE WHEN $3 THEN value ELSE -value END DESC) AS rank,
           count(*) OVER () AS total
    FROM best
)
SELECT * FROM ranked
ORDER BY rank, measured_on, id
LIMIT $9 OFFSET $10
"""


# The first eligible score at or past the threshold $9 of each country or lab ($8), in the
# order they got there; an AT_LEAST bound counts at its value, an AT_MOST one never does.
CROSSINGS = f"""
WITH eligible AS ({_ELIGIBLE}), reached AS (
    SELECT * FROM eligible
    WHERE CASE WHEN $3 THEN value >= $9 AND qualifier <> 'AT_MOST'
               ELSE value <= $9 AND qualifier <> 'AT_LEAST' END
), first_reached AS (
    SELECT DISTINCT ON (CASE WHEN $8 = 'COUNTRY' THEN country_code ELSE (lab).id::text END) *
    FROM reached
    ORDER BY CASE WHEN $8 = 'COUNTRY' THEN country_code ELSE (lab).id::text END,
             measured_on, CASE WHEN $3 THEN value ELSE -value END DESC, id
)
SELECT first_reached.*,
       row_number() OVER (ORDER BY measured_on, CASE WHEN $3 THEN value ELSE -value END DESC,
                          id) AS rank
FROM first_reached
ORDER BY rank
LIMIT 100
"""


@dataclass(frozen=True)
class RankingFilter:
    as_of: dt.date
    provenances: list[str] | None = None
    verifications: list[str] | None = None
    stages: list[str] | None = None
    countries: list[str] | None = None


async def benchmark_version(
    conn: Conn, benchmark_slug: str, label: str | None, as_of: dt.date
) -> asyncpg.Record | None:
    return await conn.fetchrow(BENCHMARK_VERSION, benchmark_slug, label, as_of)


async def ranked(
    conn: Conn,
    version: asyncpg.Record,
    where: RankingFilter,
    *,
    per: str,
    limit: int,
    offset: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        RANKED,
        version["id"],
        where.as_of,
        version["higher_is_better"],
        where.provenances,
        where.verifications,
        where.stages,
        where.countries,
        per,
        limit,
        offset,
    )


async def crossings(
    conn: Conn, version: asyncpg.Record, where: RankingFilter, *, by: str, threshold: float
) -> list[asyncpg.Record]:
    return await conn.fetch(
        CROSSINGS,
        version["id"],
        where.as_of,
        version["higher_is_better"],
        where.provenances,
        where.verifications,
        where.stages,
        where.countries,
        by,
        threshold,
    )
