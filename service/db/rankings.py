"""Leaderboards and country rankings as of any date, as known at any time.

Two times decide what counts: the valid date D (`asOf`) and the transaction time T
(`knownAt`). A score counts on D as known at T when it was recorded by T and measured on or
before D, no correction recorded by T and measured on or before D superseded it, its model and
lab were not archived at T, and its status on D, as recorded by T, is not RETRACTED (a
verification filter reads the same status). A row's transaction time is NULL only inside the
transaction that writes it: the write's own derived standings see it (T = infinity), nobody
else does. An answer for T is final once the registry's clock (migration 0007) has passed T:
a resolver asks for T no later than the clock it read, so the answer never changes.

A ranking never mixes method versions: without an explicit one it uses the version in effect
on D. An AT_LEAST score ranks at its bound. Each model (or country) is represented by its
best eligible score, and ties share a rank. A lab whose country is not known ranks on
leaderboards but is left out of country rankings and crossings by country, which count how
many labs they left out. To-one relations (version, model, lab, country) come back in the
same statement as composite rows, so a page of entries costs one round trip. (The score
itself stays flat: asyncpg cannot decode a composite holding jsonb once jsonb has a text
codec.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import asyncpg

from service.db import Conn
from service.db.pages import Key, Ordering, beyond

BENCHMARK_VERSION = """
SELECT benchmark_version.*, benchmark.higher_is_better,
       benchmark.slug AS benchmark_slug, benchmark.name AS benchmark_name,
       clock.last_at AS known_until
FROM transaction_clock AS clock, benchmark_version
JOIN benchmark ON benchmark.id = benchmark_version.benchmark_id
WHERE benchmark.slug = $1
  AND (CASE WHEN $2::text IS NULL THEN benchmark_version.effective_on <= $3
            ELSE benchmark_version.label = $2 END)
  AND (benchmark_version.recorded_at IS NULL
       OR benchmark_version.recorded_at <= least(coalesce($4::timestamptz, 'infinity'),
                                                 clock.last_at))
ORDER BY benchmark_version.effective_on DESC
LIMIT 1
"""

# A row `{r}` that a transaction wrote, as known at {known_at}: committed by then.
KNOWN = "coalesce({r}.recorded_at, 'infinity') <= {known_at}"
# The status of the score `{s}` on {as_of}, as recorded by {known_at}: its latest change
# (by valid date, then by order written) dated on or before the day. A score whose status
# never changed has it on its row, which saves the lookup.
_LATEST_CHANGE = """
    SELECT change.{column} FROM verification_change AS change
    WHERE change.score_id = {s}.id
      AND coalesce(change.changed_on, {s}.measured_on) <= {as_of}
      AND coalesce(change.recorded_at, 'infinity') <= {known_at}
    ORDER BY change.changed_on DESC NULLS LAST, change.id DESC LIMIT 1"""


def status_test_sql(s: str, as_of: str, known_at: str, test: str) -> str:
    """Whether the status of `{s}` on {as_of} as recorded by {known_at} passes `test` (SQL
    after the value: `<> 'RETRACTED'`). Spelled as two cases so the planner estimates the
    common one (a status that never changed, on the row) as it estimates a column. A changed
    score has its history (migration 0007); one loaded without it, its row."""
    latest = _LATEST_CHANGE.format(column="verification", s=s, as_of=as_of, known_at=known_at)
    return (
        f"(({s}.verification_changed_on IS NULL AND {s}.verification {test}) OR "
        f"({s}.verification_changed_on IS NOT NULL "
        f"AND coalesce(({latest}), {s}.verification) {test}))"
    )


def known_change_sql(s: str, known_at: str) -> str:
    """The latest verification change of the score `{s}` recorded by {known_at}, whatever its
    date, as a composite row: what the score's verification fields said then. NULL for a score
    whose status never changed: its row says."""
    latest = _LATEST_CHANGE.format(column="id", s=s, as_of="'infinity'::date", known_at=known_at)
    return f"(SELECT latest FROM verification_change AS latest WHERE latest.id = ({latest}))"


# Whether the model or lab `{r}` was archived at {known_at}: its latest archiving or restoring
# recorded by then says so (one written with plain SQL, without an event, by its column).
ARCHIVAL_OPERATIONS = ("archiveLab", "restoreLab", "archiveModel", "restoreModel")
_ARCHIVAL = "(" + ", ".join(f"'{operation}'" for operation in ARCHIVAL_OPERATIONS) + ")"
ARCHIVED = f"""coalesce(
    (SELECT event.operation LIKE 'archive%' FROM audit_event AS event
     WHERE event.entity_type = '{{entity}}' AND event.entity_id = {{r}}.id
       AND event.operation IN {_ARCHIVAL}
       AND coalesce(event.recorded_at, 'infinity') <= {{known_at}}
     ORDER BY event.id DESC LIMIT 1),
    {{r}}.archived_at IS NOT NULL AND {{r}}.archived_at <= {{known_at}} AND NOT EXISTS (
        SELECT 1 FROM audit_event AS event
        WHERE event.entity_type = '{{entity}}' AND event.entity_id = {{r}}.id
          AND event.operation IN {_ARCHIVAL}))"""

# Whether the score row `s` (with its version `v`, model `m`, lab `l`) counts: placeholders
# are filled by `counts_sql` so the resolver and the compiled path share one definition.
_COUNTS = """
      s.benchmark_version_id = {bv}
  AND s.measured_on <= {as_of}
  AND {known}
  AND {not_retracted}
  AND NOT EXISTS (SELECT 1 FROM score AS correction
                  WHERE correction.supersedes_id = s.id AND correction.measured_on <= {as_of}
                    AND {correction_known})
  AND NOT {model_archived} AND NOT {lab_archived}
  AND ({provenances}::score_provenance[] IS NULL OR s.provenance = ANY({provenances}))
  AND ({verifications}::score_verification[] IS NULL OR {verified_as_asked})
  AND ({stages}::version_stage[] IS NULL OR v.stage = ANY({stages}))
  AND ({countries}::text[] IS NULL OR l.country_code = ANY({countries}))
"""


def counts_sql(ph: dict[str, str]) -> str:
    known_at = ph["known_at"]
    return _COUNTS.format(
        **ph,
        known=KNOWN.format(r="s", known_at=known_at),
        not_retracted=status_test_sql("s", ph["as_of"], known_at, "<> 'RETRACTED'"),
        verified_as_asked=status_test_sql(
            "s", ph["as_of"], known_at, f"= ANY({ph['verifications']})"
        ),
        correction_known=KNOWN.format(r="correction", known_at=known_at),
        model_archived=ARCHIVED.format(entity="Model", r="m", known_at=known_at),
        lab_archived=ARCHIVED.format(entity="Lab", r="l", known_at=known_at),
    )


_SCORED = """
    FROM score AS s
    JOIN model_version AS v ON v.id = s.version_id
    JOIN model AS m ON m.id = v.model_id
    JOIN lab AS l ON l.id = m.lab_id
"""
# One entry per model, or per country. The model id is on the score row itself (migration
# 0003), so passing over a placed model's other scores happens on the index scan, before
# any join.
_KEYS = {False: "s.model_id", True: "l.country_code::text"}


def walk_sql(ph: dict[str, str], *, descending: bool = True, by_country: bool = False) -> str:
    """The best counted score of each model (or country), best first, `limit` of them.

    Rather than ranking every counted score to keep one per model (a sort of all of them),
    the walk follows the ranking index from the top and, at each step, takes the first
    counted score of a model not yet seen: a page of 20 costs about 20 short index probes.
    The walk is complete from the top, so rank() over it is the global rank.
    """
    direction = "DESC" if descending else "ASC"
    order = f"s.value {direction}, s.measured_on, s.id"
    # Every later pick ranks at or below the previous one: an index bound, so each step
    # resumes near where the last one stopped instead of at the top.
    resume = "s.value <= walk.value" if descending else "s.value >= walk.value"
    counts = counts_sql(ph)
    if by_country:
        counts += "  AND l.country_code IS NOT NULL\n"
    key = _KEYS[by_country]
    pick = (
        f"SELECT s.id, s.value, s.measured_on, s.version_id, s.model_id, "
        f"l.id AS lab_id, l.country_code, {key} AS key {_SCORED} WHERE {counts}"
    )
    return f"""
WITH RECURSIVE walk AS (
    SELECT first.*, ARRAY[first.key] AS seen, 1::bigint AS position
    FROM ({pick} ORDER BY {order} LIMIT 1) AS first
  UNION ALL
    SELECT next.*, walk.seen || next.key, walk.position + 1
    FROM walk, LATERAL (
        {pick} AND {resume} AND {key} <> ALL(walk.seen) ORDER BY {order} LIMIT 1
    ) AS next
    WHERE walk.position < {ph["limit"]}
)
SELECT walk.*, rank() OVER (ORDER BY walk.value {direction}) AS rank,
       {known_change_sql("walk", ph["known_at"])} AS known_change
FROM walk
"""


# The same entries from leaderboard_best (migration 0009), for a leaderboard that asks
# nothing the table does not hold: one range scan of its index, in the walk's order. The
# countries filter is a model's own (its lab's), so it filters entries, not scores.
_BEST_ROWS = """
    FROM leaderboard_best AS best
    WHERE best.benchmark_version_id = {bv}
      AND best.valid_from <= {as_of}
      AND (best.valid_until IS NULL OR {as_of} < best.valid_until)
      AND ({countries}::text[] IS NULL
           OR (SELECT l.country_code FROM lab AS l WHERE l.id = best.lab_id) = ANY({countries}))
"""
# The country of an entry's lab (the table keeps the lab, not its country, which a lab's
# update may change): looked up per entry (LATERAL), since a page's size is a parameter the
# planner cannot see and would otherwise plan for many rows. The LIMIT keeps the subquery
# from being pulled up into a join, which a generic plan made a hash of every lab.
_OWNER = """LATERAL (
    SELECT l.country_code FROM lab AS l WHERE l.id = {r}.lab_id LIMIT 1) AS owner"""
# The columns of an entry, as both the walk and the table give them.
ENTRY_COLUMNS = (
    "id, value, measured_on, version_id, model_id, lab_id, country_code, position, rank, "
    "known_change"
)


def best_sql(ph: dict[str, str]) -> str:
    """walk_sql's first `limit` entries of a leaderboard, read from leaderboard_best: the
    index alone picks them and holds their columns but the lab's country (the countries
    filter, when given, probes each one's lab too)."""
    picked = f"""
        SELECT best.score_id AS id, best.value, best.rank_value, best.measured_on,
               best.version_id, best.model_id, best.lab_id
        {_BEST_ROWS.format(**ph)}
        ORDER BY best.rank_value DESC, best.measured_on, best.score_id
        LIMIT {ph["limit"]}"""
    return f"""
SELECT picked.id, picked.value, picked.measured_on, picked.version_id, picked.model_id,
       picked.lab_id, owner.country_code,
       row_number() OVER (ORDER BY picked.rank_value DESC, picked.measured_on, picked.id)
           AS position,
       rank() OVER (ORDER BY picked.rank_value DESC) AS rank,
       {known_change_sql("picked", ph["known_at"])} AS known_change
FROM ({picked}) AS picked,
{_OWNER.format(r="picked")}
"""


def best_position_sql(ph: dict[str, str], key: str, *, inclusive: bool, descending: bool) -> str:
    """position_sql from the table: entries whose best score lies before the key."""
    # The table's columns under the names of the walk's order (value, measured_on, id).
    value = "best.rank_value" if descending else "-best.rank_value"
    entries = (
        f"SELECT {value} AS value, best.measured_on, best.score_id AS id {_BEST_ROWS.format(**ph)}"
    )
    placed = beyond(ordering(descending=descending), key, later=inclusive, row="entry")
    condition = f"NOT {placed}" if inclusive else placed
    return f"SELECT count(*) FROM ({entries}) AS entry WHERE {condition}"


def best_total_sql(ph: dict[str, str]) -> str:
    return f"SELECT count(*) {_BEST_ROWS.format(**ph)}"


def ordering(*, descending: bool = True, by_country: bool = False) -> Ordering:
    """The walk's order as a cursor's key: an entry is its best score's (value, date, id)."""
    return Ordering(
        "CountryRanking" if by_country else "Leaderboard",
        (
            Key("value", "numeric", descending=descending),
            Key("measured_on", "date"),
            Key("id", "bigint"),
        ),
    )


def position_sql(
    ph: dict[str, str],
    key: str,
    *,
    inclusive: bool,
    descending: bool = True,
    by_country: bool = False,
) -> str:
    """How many entries rank before the key (text[] `key`), or at or before it (inclusive):
    the key's place in the walk however the ranking changed since the key was handed out,
    since an entry is before it exactly when one of its counted scores is."""
    counts = counts_sql(ph)
    if by_country:
        counts += "  AND l.country_code IS NOT NULL\n"
    walk_order = ordering(descending=descending, by_country=by_country)
    placed = beyond(walk_order, key, later=inclusive, row="s")
    condition = f"NOT {placed}" if inclusive else placed
    return f"SELECT count(DISTINCT {_KEYS[by_country]}) {_SCORED} WHERE {counts} AND {condition}"


def total_sql(ph: dict[str, str], *, by_country: bool = False) -> str:
    """How many models (or countries) have a counted score."""
    return f"SELECT count(DISTINCT {_KEYS[by_country]}) {_SCORED} WHERE {counts_sql(ph)}"


def left_out_sql(ph: dict[str, str]) -> str:
    """How many labs with a counted score have no known country (a country ranking's gap)."""
    return (
        f"SELECT count(DISTINCT l.id) {_SCORED} WHERE {counts_sql(ph)} AND l.country_code IS NULL"
    )


_PLACEHOLDERS = {
    "bv": "$1",
    "as_of": "$2",
    "provenances": "$3",
    "verifications": "$4",
    "stages": "$5",
    "countries": "$6",
    "known_at": "$7",
    "limit": "$8",
}
# The page: walked rows past the offset ($9), with their version, model and lab as
# composite rows and the score's own columns flat.
_PAGE = """
SELECT score.*, walk.country_code, walk.position, walk.rank, walk.known_change,
       ARRAY[walk.value::text, walk.measured_on::text, walk.id::text] AS cursor_key,
       version, model, lab, country.name AS country_name
FROM ({walk}) AS walk
JOIN score ON score.id = walk.id
JOIN model_version AS version ON version.id = walk.version_id
JOIN model ON model.id = walk.model_id
JOIN lab ON lab.id = walk.lab_id
LEFT JOIN country ON country.code = walk.country_code
WHERE walk.position > {offset}
ORDER BY walk.position
"""
# (descending, by country) -> the page statement
RANKED = {
    (descending, by_country): _PAGE.format(
        walk=walk_sql(_PLACEHOLDERS, descending=descending, by_country=by_country), offset="$9"
    )
    for descending in (True, False)
    for by_country in (False, True)
}
# (descending, by country) -> where the page's cursors ($8 after, $9 before: text[] keys)
# stand: entries at or before `after`, entries before `before`, and ($10) the whole count.
BOUNDS = {
    (descending, by_country): f"""
SELECT CASE WHEN $8::text[] IS NULL THEN 0 ELSE ({
        position_sql(
            _PLACEHOLDERS, "$8", inclusive=True, descending=descending, by_country=by_country
        )
    }) END AS low,
       CASE WHEN $9::text[] IS NULL THEN NULL ELSE ({
        position_sql(
            _PLACEHOLDERS, "$9", inclusive=False, descending=descending, by_country=by_country
        )
    }) END AS high,
       CASE WHEN $10 THEN ({total_sql(_PLACEHOLDERS, by_country=by_country)}) END AS total
"""
    for descending in (True, False)
    for by_country in (False, True)
}
TOTAL = {
    by_country: total_sql(_PLACEHOLDERS, by_country=by_country) for by_country in (False, True)
}
# The leaderboard's page, cursor bounds and total from leaderboard_best: $1 benchmark
# version, $2 as-of date, $3 countries, then as RANKED, BOUNDS and TOTAL without the filters
# the table does not answer.
_BEST_PLACEHOLDERS = {"bv": "$1", "as_of": "$2", "countries": "$3", "known_at": "$4"}
BEST_RANKED = _PAGE.format(walk=best_sql({**_BEST_PLACEHOLDERS, "limit": "$5"}), offset="$6")
BEST_BOUNDS = {
    descending: f"""
SELECT CASE WHEN $4::text[] IS NULL THEN 0 ELSE ({
        best_position_sql(_BEST_PLACEHOLDERS, "$4", inclusive=True, descending=descending)
    }) END AS low,
       CASE WHEN $5::text[] IS NULL THEN NULL ELSE ({
        best_position_sql(_BEST_PLACEHOLDERS, "$5", inclusive=False, descending=descending)
    }) END AS high,
       CASE WHEN $6 THEN ({best_total_sql(_BEST_PLACEHOLDERS)}) END AS total
"""
    for descending in (True, False)
}
BEST_TOTAL = best_total_sql(_BEST_PLACEHOLDERS)
LEFT_OUT = left_out_sql(_PLACEHOLDERS)


# The scores that count for crossings: $1 benchmark version, $2 as-of date, $4 provenances,
# $5 verifications, $6 stages, $7 countries (NULL arrays mean "any"), $10 known at.
_CROSSING_PLACEHOLDERS = {
    "bv": "$1",
    "as_of": "$2",
    "provenances": "$4",
    "verifications": "$5",
    "stages": "$6",
    "countries": "$7",
    "known_at": "$10",
}
ELIGIBLE = f"""
    SELECT s.*, v AS version, m AS model, l AS lab, country.name AS country_name,
           l.country_code, {known_change_sql("s", "$10")} AS known_change
    {_SCORED}
    LEFT JOIN country ON country.code = l.country_code
    WHERE {counts_sql(_CROSSING_PLACEHOLDERS)}
"""

# The eligible scores at or past the threshold $9; an AT_LEAST bound counts at its value, an
# AT_MOST one never does.
_REACHED = f"""
WITH eligible AS ({ELIGIBLE}), reached AS (
    SELECT * FROM eligible
    WHERE CASE WHEN $3 THEN value >= $9 AND qualifier <> 'AT_MOST'
               ELSE value <= $9 AND qualifier <> 'AT_LEAST' END
)"""
# The first of them for each country or lab ($8), in the order they got there, the first $11
# of them (NULL: all); a lab with no known country reaches nothing by country.
CROSSINGS = f"""{_REACHED}, first_reached AS (
    SELECT DISTINCT ON (CASE WHEN $8 = 'COUNTRY' THEN country_code ELSE (lab).id::text END) *
    FROM reached
    WHERE $8 <> 'COUNTRY' OR country_code IS NOT NULL
    ORDER BY CASE WHEN $8 = 'COUNTRY' THEN country_code ELSE (lab).id::text END,
             measured_on, CASE WHEN $3 THEN value ELSE -value END DESC, id
)
SELECT first_reached.*,
       row_number() OVER (ORDER BY measured_on, CASE WHEN $3 THEN value ELSE -value END DESC,
                          id) AS rank
FROM first_reached
ORDER BY rank
LIMIT $11
"""
# Labs that reached the threshold but have no known country: what crossings by country omit.
CROSSINGS_LEFT_OUT = f"""{_REACHED}
SELECT count(DISTINCT (lab).id) FROM reached WHERE $8 = 'COUNTRY' AND country_code IS NULL
"""


# A country's or lab's best counted value that can reach a threshold (an AT_MOST bound never
# reaches upwards, an AT_LEAST one never downwards): it is among CROSSINGS' groups for a
# threshold exactly when this value reaches it. A country is given as the countries filter,
# a lab as $7; the ranking index's own order keeps it one short probe at any size.
_BEST = """
SELECT s.value {scored} WHERE {counts} AND s.qualifier <> '{bound}' {lab}
ORDER BY s.value {direction}, s.measured_on, s.id
LIMIT 1
"""
# (higher is better, of a lab) -> the statement
BEST = {
    (higher, of_lab): _BEST.format(
        scored=_SCORED,
        counts=counts_sql(_PLACEHOLDERS),
        bound="AT_MOST" if higher else "AT_LEAST",
        lab="AND l.id = $8" if of_lab else "",
        direction="DESC" if higher else "ASC",
    )
    for higher in (True, False)
    for of_lab in (True, False)
}


# Transaction time without a bound: what the reading transaction sees, its own writes too.
NOW = dt.datetime.max.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class RankingFilter:
    as_of: dt.date
    known_at: dt.datetime = NOW
    provenances: list[str] | None = None
    verifications: list[str] | None = None
    stages: list[str] | None = None
    countries: list[str] | None = None
    # Whether known_at is the registry's clock because no time was asked (the latest write).
    latest: bool = False


def from_best(where: RankingFilter, *, per: str) -> bool:
    """Whether leaderboard_best answers this leaderboard exactly: the latest write, on any
    date (migrations 0009, 0010), and no filter on scores (countries are the model's own)."""
    return (
        per == "model"
        and where.latest
        and where.provenances is None
        and where.verifications is None
        and where.stages is None
    )


async def benchmark_version(
    conn: Conn,
    benchmark_slug: str,
    label: str | None,
    as_of: dt.date,
    known_at: dt.datetime | None = None,
) -> asyncpg.Record | None:
    """The method version named, or in effect on the date, among those recorded by the time
    asked (None: now) as the clock settles it (service.clock.known_at); `known_until` is the
    clock it read. A version recorded by the reading transaction itself is current for it."""
    return await conn.fetchrow(BENCHMARK_VERSION, benchmark_slug, label, as_of, known_at)


def _ranking_args(version: asyncpg.Record, where: RankingFilter) -> list[object]:
    return [
        version["id"],
        where.as_of,
        where.provenances,
        where.verifications,
        where.stages,
        where.countries,
        where.known_at,
    ]


async def ranked(
    conn: Conn,
    version: asyncpg.Record,
    where: RankingFilter,
    *,
    per: str,
    limit: int,
    offset: int,
) -> list[asyncpg.Record]:
    """Entries at positions offset+1 .. offset+limit, best first, with their cursor keys."""
    if from_best(where, per=per):
        args = [version["id"], where.as_of, where.countries, where.known_at]
        return await conn.fetch(BEST_RANKED, *args, offset + limit, offset)
    sql = RANKED[(version["higher_is_better"], per == "country")]
    return await conn.fetch(sql, *_ranking_args(version, where), offset + limit, offset)


async def bounds(
    conn: Conn,
    version: asyncpg.Record,
    where: RankingFilter,
    *,
    per: str,
    after: Sequence[str | None] | None,
    before: Sequence[str | None] | None,
    with_total: bool,
) -> asyncpg.Record:
    """`low`: entries at or before `after` (0 without); `high`: entries before `before` (NULL
    without); `total` when asked for."""
    if from_best(where, per=per):
        sql = BEST_BOUNDS[version["higher_is_better"]]
        args = [version["id"], where.as_of, where.countries]
    else:
        sql = BOUNDS[(version["higher_is_better"], per == "country")]
        args = _ranking_args(version, where)
    found = await conn.fetchrow(
        sql,
        *args,
        None if after is None else list(after),
        None if before is None else list(before),
        with_total,
    )
    assert found is not None, "one row of counts"
    return found


async def total(conn: Conn, version: asyncpg.Record, where: RankingFilter, *, per: str) -> int:
    if from_best(where, per=per):
        best_args: list[object] = [version["id"], where.as_of, where.countries]
        found: int = await conn.fetchval(BEST_TOTAL, *best_args)
        return found
    found = await conn.fetchval(TOTAL[per == "country"], *_ranking_args(version, where))
    return found


async def left_out(conn: Conn, version: asyncpg.Record, where: RankingFilter) -> int:
    found: int = await conn.fetchval(LEFT_OUT, *_ranking_args(version, where))
    return found


def _crossing_args(
    version: asyncpg.Record, where: RankingFilter, by: str, threshold: float
) -> list[object]:
    return [
        version["id"],
        where.as_of,
        version["higher_is_better"],
        where.provenances,
        where.verifications,
        where.stages,
        where.countries,
        by,
        threshold,
        where.known_at,
    ]


async def crossings_left_out(
    conn: Conn, version: asyncpg.Record, where: RankingFilter, *, by: str, threshold: float
) -> int:
    found: int = await conn.fetchval(
        CROSSINGS_LEFT_OUT, *_crossing_args(version, where, by, threshold)
    )
    return found


async def crossings(
    conn: Conn,
    version: asyncpg.Record,
    where: RankingFilter,
    *,
    by: str,
    threshold: float,
    limit: int | None = 100,
) -> list[asyncpg.Record]:
    return await conn.fetch(CROSSINGS, *_crossing_args(version, where, by, threshold), limit)


async def best(
    conn: Conn, version: asyncpg.Record, where: RankingFilter, *, by: str, group: str
) -> Decimal | None:
    """The best value of one country (by COUNTRY) or lab (by LAB, its id) towards any threshold."""
    if by == "COUNTRY":
        args = _ranking_args(version, replace(where, countries=[group]))
    else:
        args = [*_ranking_args(version, where), int(group)]
    value: Decimal | None = await conn.fetchval(
        BEST[(version["higher_is_better"], by == "LAB")], *args
    )
    return value
