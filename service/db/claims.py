"""Claims and the evidence that decides them.

A claim is a LAB_CLAIM score that no correction had superseded by the as-of date. Its
evidence is the measurement an editor linked to it (setScoreVerification's `evidence`), as it
stood on that date: the linked score, or its latest correction measured by then. Evidence
counts only when it is independent of the lab (not itself a LAB_CLAIM), was measured by the
date and was not retracted by then.

Each value stands for an interval of the true value: AT_LEAST v is [v, +inf), AT_MOST v is
(-inf, v], EXACT and APPROXIMATE v are v +/- its uncertainty (none given: v itself). A claim is
CONFIRMED when the evidence's interval lies inside the claim's (AT_LEAST 40 by 41), REFUTED
when the two do not meet (AT_LEAST 40 by 38), and PENDING otherwise: no counted evidence yet,
or evidence that can tell neither (AT_LEAST 40 by "at least 35").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from service.db import Conn
from service.db.pages import Key, Ordering, Page, args, statements
from service.db.scores import SUPERSEDED


def _low(score: str) -> str:
    """The interval's lower end; NULL for minus infinity."""
    return (
        f"CASE {score}.qualifier WHEN 'AT_MOST' THEN NULL WHEN 'AT_LEAST' THEN {score}.value "
        f"ELSE {score}.value - COALESCE({score}.uncertainty, 0) END"
    )


def _high(score: str) -> str:
    """The interval's upper end; NULL for plus infinity."""
    return (
        f"CASE {score}.qualifier WHEN 'AT_LEAST' THEN NULL WHEN 'AT_MOST' THEN {score}.value "
        f"ELSE {score}.value + COALESCE({score}.uncertainty, 0) END"
    )


_INSIDE = f"""
    ({_low("claim")} IS NULL OR {_low("evidence")} >= {_low("claim")})
AND ({_high("claim")} IS NULL OR {_high("evidence")} <= {_high("claim")})
"""
_APART = f"""
    {_high("evidence")} < {_low("claim")} OR {_low("evidence")} > {_high("claim")}
"""

# $as_of the date; $lab, $benchmark slugs; $statuses; $min_value: claims asserting at least it.
# Every claim is judged (the status filter and the total need it) on narrow rows; only the
# page's rows are joined back to their whole score.
_JUDGED = f"""
WITH RECURSIVE claim AS (
    SELECT score.id, score.measured_on, score.value, score.qualifier, score.uncertainty,
           score.evidence_score_id
    FROM score
    JOIN model ON model.id = score.model_id
    JOIN lab ON lab.id = model.lab_id
    JOIN benchmark_version ON benchmark_version.id = score.benchmark_version_id
    JOIN benchmark ON benchmark.id = benchmark_version.benchmark_id
    WHERE score.provenance = 'LAB_CLAIM'
      AND score.measured_on <= $as_of
      AND NOT EXISTS (SELECT 1 FROM score AS correction
                      WHERE correction.supersedes_id = score.id
                        AND correction.measured_on <= $as_of)
      AND ($lab::text IS NULL OR lab.slug = $lab)
      AND ($benchmark::text IS NULL OR benchmark.slug = $benchmark)
      AND ($min_value::numeric IS NULL
           OR (score.value >= $min_value AND score.qualifier <> 'AT_MOST'))
), chain AS (
    -- The linked evidence and the corrections of it measured by the date, nearest first:
    -- a primary-key (or supersedes) probe per link, however many scores there are (OFFSET 0
    -- keeps the planner from hashing every score for the few claims that have evidence).
    SELECT claim.id AS claim_id, linked.id, 0 AS depth
    FROM claim CROSS JOIN LATERAL (
        SELECT id FROM score
        WHERE score.id = claim.evidence_score_id AND score.measured_on <= $as_of OFFSET 0
    ) AS linked
    WHERE claim.evidence_score_id IS NOT NULL
  UNION ALL
    SELECT chain.claim_id, correction.id, chain.depth + 1
    FROM chain CROSS JOIN LATERAL (
        SELECT id FROM score
        WHERE score.supersedes_id = chain.id AND score.measured_on <= $as_of OFFSET 0
    ) AS correction
), standing AS (
    SELECT DISTINCT ON (claim_id) claim_id, id FROM chain ORDER BY claim_id, depth DESC
), judged AS (
    SELECT claim.id, claim.measured_on,
           evidence.id AS evidence_id,
           (evidence.value - claim.value)::float8 AS gap,
           evidence.measured_on - claim.measured_on AS days_to_evidence,
           CASE WHEN evidence.id IS NULL THEN 'PENDING'
                WHEN {_INSIDE} THEN 'CONFIRMED'
                WHEN {_APART} THEN 'REFUTED'
                ELSE 'PENDING' END AS status
    FROM claim
    LEFT JOIN standing ON standing.claim_id = claim.id
    LEFT JOIN score AS evidence
           ON evidence.id = standing.id
          AND evidence.provenance <> 'LAB_CLAIM'
          AND NOT (evidence.verification = 'RETRACTED'
                   AND COALESCE(evidence.verification_changed_on, evidence.measured_on)
                       <= $as_of)
)
SELECT * FROM judged WHERE $statuses::text[] IS NULL OR status = ANY($statuses)
"""
# Newest claim first; the page's claims with their whole score, its lab and whether a later
# correction (recorded since) superseded it.
ORDERING = Ordering(
    "Claims", (Key("measured_on", "date", descending=True), Key("id", "bigint", descending=True))
)
CLAIMS = statements(
    _JUDGED, ORDERING, ("as_of", "lab", "benchmark", "statuses", "min_value")
).wrapped(
    lambda paged, backward: (
        f"""
SELECT judged.cursor_key, judged.total, judged.before_start, judged.past_end, judged.status,
       judged.evidence_id, judged.gap, judged.days_to_evidence, score.*, model.lab_id,
       {SUPERSEDED.format(score="score")} AS superseded
FROM ({paged}) AS judged
LEFT JOIN score ON score.id = judged.id
LEFT JOIN model ON model.id = score.model_id
ORDER BY {ORDERING.order_by("judged", reverse=backward)}
"""
    )
)


@dataclass(frozen=True)
class ClaimFilter:
    as_of: dt.date
    lab: str | None = None
    benchmark: str | None = None
    statuses: list[str] | None = None
    min_value: Decimal | None = None


async def claims(conn: Conn, where: ClaimFilter, page: Page) -> list[asyncpg.Record]:
    """A page of claims with the total, as service.db.catalog's lists return them."""
    return await conn.fetch(
        CLAIMS(page),
        where.as_of,
        where.lab,
        where.benchmark,
        where.statuses,
        where.min_value,
        *args(page),
    )
