"""Catalog reads: filtered, ordered, paginated lists of labs, models, benchmarks, programmes.

Every list statement returns one page plus the total in one round trip, cut by key
(service.db.pages): each ordering a client may ask for is its own static statement, and a
page is the rows past a cursor's key, so it stays put while rows are written before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from service.db import Conn
from service.db.pages import Key, Ordering, Page, args, statements
from service.db.scores import SUPERSEDED

_ID = Key("id", "bigint")
_SLUG = Key("slug", "text")


def _orderings(list_name: str, columns: dict[str, Key | None]) -> dict[tuple[str, str], Ordering]:
    """(field, direction) -> the ordering: the field's column (None: slug alone) in that
    direction, then slug and id ascending as tie-breaks."""
    found = {}
    for field, key in columns.items():
        for direction in ("ASC", "DESC"):
            first = _SLUG if key is None else key
            first = Key(first.column, first.type, direction == "DESC", first.nullable)
            keys = (first, _ID) if key is None else (first, _SLUG, _ID)
            found[field, direction] = Ordering(f"{list_name}.{field}.{direction}", keys)
    return found


# word_similarity is real: compared as real, a match of exactly 0.4 (2 trigrams of 5) is at the
# threshold and kept, as it always was (against the numeric 0.4, resolved to float8, the real
# 0.4 widened to 0.4000000059 and passed `> 0.4`); the boundary is now exact and tested.
_LAB_FILTER = """
SELECT lab.*, country.name AS country_name
FROM lab LEFT JOIN country ON country.code = lab.country_code
WHERE lab.archived_at IS NULL
  AND ($country::text IS NULL OR lab.country_code = $country)
  AND ($search::text IS NULL OR lab.name ILIKE '%' || $search || '%'
       OR word_similarity($search, lab.name) >= 0.4::real)
"""
LAB_ORDERINGS = _orderings(
    "Labs",
    {
        "SLUG": None,
        "NAME": Key("name", "text"),
        "FOUNDED_YEAR": Key("founded_year", "bigint", nullable=True),
    },
)
LABS = {
    order: statements(_LAB_FILTER, ordering, ("country", "search"))
    for order, ordering in LAB_ORDERINGS.items()
}
_MODEL_FILTER = """
SELECT model.*, stats.max_parameters, stats.latest_release
FROM model
JOIN lab ON lab.id = model.lab_id
LEFT JOIN model_family AS family ON family.id = model.family_id
LEFT JOIN LATERAL (
    SELECT max(v.total_parameters) AS max_parameters,
           max(COALESCE(v.released_on, v.announced_on)) AS latest_release
    FROM model_version AS v WHERE v.model_id = model.id
) AS stats ON true
WHERE model.archived_at IS NULL AND lab.archived_at IS NULL
  AND ($lab::text IS NULL OR lab.slug = $lab)
  AND ($country::text IS NULL OR lab.country_code = $country)
  AND ($family::text IS NULL OR family.slug = $family)
  AND ($open_weights::boolean IS NULL OR model.open_weights = $open_weights)
  AND (($stage::version_stage IS NULL AND $min_parameters::bigint IS NULL
        AND $max_parameters::bigint IS NULL AND $hardware::text IS NULL
        AND $fits_gb::numeric IS NULL)
       OR EXISTS (
    -- All version conditions hold on one and the same version.
    SELECT 1 FROM model_version AS v
    WHERE v.model_id = model.id
      AND ($stage::version_stage IS NULL OR v.stage = $stage)
      AND ($min_parameters::bigint IS NULL OR v.total_parameters >= $min_parameters)
      AND ($max_parameters::bigint IS NULL OR v.total_parameters <= $max_parameters)
      AND ($hardware::text IS NULL OR EXISTS (
          SELECT 1 FROM hardware_target AS h
          WHERE h.version_id = v.id AND h.accelerator ILIKE '%' || $hardware || '%'))
      AND ($fits_gb::numeric IS NULL
           -- stated: a hardware target within the memory; derived: bf16 weights fit.
           OR EXISTS (SELECT 1 FROM hardware_target AS h
                      WHERE h.version_id = v.id
                        AND h.memory_gb * h.accelerator_count <= $fits_gb)
           OR v.total_parameters * 2 <= $fits_gb * 1000000000)))
"""
MODEL_ORDERINGS = _orderings(
    "Models",
    {
        "SLUG": None,
        "NAME": Key("name", "text"),
        "PARAMETERS": Key("max_parameters", "bigint", nullable=True),
        "LATEST_RELEASE": Key("latest_release", "date", nullable=True),
    },
)
_MODEL_PARAMS = (
    "lab",
    "country",
    "family",
    "open_weights",
    "stage",
    "min_parameters",
    "max_parameters",
    "hardware",
    "fits_gb",
)
MODELS = {
    order: statements(_MODEL_FILTER, ordering, _MODEL_PARAMS)
    for order, ordering in MODEL_ORDERINGS.items()
}

BENCHMARK_ORDERING = Ordering("Benchmarks", (_SLUG, _ID))
BENCHMARKS = statements("SELECT * FROM benchmark", BENCHMARK_ORDERING, ())
PROGRAM_ORDERING = Ordering("Programs", (_SLUG, _ID))
PROGRAMS = statements("SELECT * FROM program", PROGRAM_ORDERING, ())

# Sources by title (typos tolerated, as lab names), publisher, kind or URL; newest first.
_SOURCE_FILTER = """
SELECT * FROM source
WHERE ($search::text IS NULL OR title ILIKE '%' || $search || '%'
       OR word_similarity($search, title) >= 0.4::real)
  AND ($publisher::text IS NULL OR publisher ILIKE '%' || $publisher || '%')
  AND ($kind::source_kind IS NULL OR kind = $kind)
  AND ($url::text IS NULL OR url = $url)
"""
SOURCE_ORDERING = Ordering(
    "Sources",
    (Key("published_on", "date", descending=True, nullable=True), Key("title", "text"), _ID),
)
SOURCES = statements(_SOURCE_FILTER, SOURCE_ORDERING, ("search", "publisher", "kind", "url"))

BENCHMARK_BY_SLUG = "SELECT * FROM benchmark WHERE slug = $1"
PROGRAM_BY_SLUG = "SELECT * FROM program WHERE slug = $1"
VERSION_BY_KEY = """
SELECT model_version.* FROM model_version JOIN model ON model.id = model_version.model_id
WHERE model.slug = $1 AND model_version.label = $2
"""


@dataclass(frozen=True)
class ModelFilter:
    lab: str | None = None
    country: str | None = None
    family: str | None = None
    open_weights: bool | None = None
    stage: str | None = None
    min_parameters: int | None = None
    max_parameters: int | None = None
    hardware: str | None = None
    fits_memory_gb: float | None = None


async def labs(
    conn: Conn,
    *,
    country: str | None,
    search: str | None,
    order: tuple[str, str],
    page: Page,
) -> list[asyncpg.Record]:
    return await conn.fetch(LABS[order](page), country, search, *args(page))


async def models(
    conn: Conn, where: ModelFilter, *, order: tuple[str, str], page: Page
) -> list[asyncpg.Record]:
    return await conn.fetch(
        MODELS[order](page),
        where.lab,
        where.country,
        where.family,
        where.open_weights,
        where.stage,
        where.min_parameters,
        where.max_parameters,
        where.hardware,
        where.fits_memory_gb,
        *args(page),
    )


@dataclass(frozen=True)
class SourceFilter:
    search: str | None = None
    publisher: str | None = None
    kind: str | None = None
    url: str | None = None


async def sources(conn: Conn, where: SourceFilter, page: Page) -> list[asyncpg.Record]:
    return await conn.fetch(
        SOURCES(page), where.search, where.publisher, where.kind, where.url, *args(page)
    )


async def benchmarks(conn: Conn, page: Page) -> list[asyncpg.Record]:
    return await conn.fetch(BENCHMARKS(page), *args(page))


async def programs(conn: Conn, page: Page) -> list[asyncpg.Record]:
    return await conn.fetch(PROGRAMS(page), *args(page))


async def benchmark_by_slug(conn: Conn, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(BENCHMARK_BY_SLUG, slug)


async def program_by_slug(conn: Conn, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(PROGRAM_BY_SLUG, slug)


async def version_by_key(conn: Conn, model_slug: str, label: str) -> asyncpg.Record | None:
    return await conn.fetchrow(VERSION_BY_KEY, model_slug, label)


# Rows by id for the types that have no loader of their own elsewhere (node(id:) and to-one
# relations); keys are GraphQL type names, values constant statements.
BY_IDS = {
    "Version": "SELECT * FROM model_version WHERE id = ANY($1::bigint[])",
    "Score": f"""
        SELECT score.*, {SUPERSEDED.format(score="score")} AS superseded
        FROM score WHERE id = ANY($1::bigint[])
    """,
    "Benchmark": "SELECT * FROM benchmark WHERE id = ANY($1::bigint[])",
    "Program": "SELECT * FROM program WHERE id = ANY($1::bigint[])",
    "Target": "SELECT * FROM target WHERE id = ANY($1::bigint[])",
    "LineageLink": "SELECT * FROM lineage_link WHERE id = ANY($1::bigint[])",
    "ExternalId": "SELECT * FROM external_id WHERE id = ANY($1::bigint[])",
}
VERSIONS_PROMOTED_FROM = """
SELECT * FROM model_version WHERE promoted_from_id = ANY($1::bigint[])
"""
BENCHMARK_VERSIONS_BY_BENCHMARKS = """
SELECT benchmark_version.*, benchmark.slug AS benchmark_slug, benchmark.name AS benchmark_name
FROM benchmark_version JOIN benchmark ON benchmark.id = benchmark_version.benchmark_id
WHERE benchmark_version.benchmark_id = ANY($1::bigint[])
ORDER BY benchmark_version.benchmark_id, benchmark_version.effective_on
"""
COMPONENTS_BY_VERSIONS = """
SELECT * FROM benchmark_component WHERE benchmark_version_id = ANY($1::bigint[])
ORDER BY benchmark_version_id, weight DESC, component_benchmark_id
"""
PARTICIPANTS_BY_PROGRAMS = """
SELECT * FROM program_participant WHERE program_id = ANY($1::bigint[]) ORDER BY program_id, id
"""
STATUS_BY_PARTICIPANTS = """
SELECT * FROM participant_status_change WHERE participant_id = ANY($1::bigint[])
ORDER BY participant_id, effective_on, id
"""
PROGRAMS_BY_LABS = """
SELECT participant.lab_id, program.*
FROM program_participant AS participant JOIN program ON program.id = participant.program_id
WHERE participant.lab_id = ANY($1::bigint[])
ORDER BY participant.lab_id, program.slug
"""
EXTERNAL_IDS_BY_MODELS = """
SELECT * FROM external_id WHERE model_id = ANY($1::bigint[]) ORDER BY model_id, system
"""
EXTERNAL_IDS_BY_LABS = """
SELECT * FROM external_id WHERE lab_id = ANY($1::bigint[]) ORDER BY lab_id, system
"""
PARENT_LINKS_BY_MODELS = """
SELECT * FROM lineage_link WHERE child_model_id = ANY($1::bigint[]) ORDER BY child_model_id, id
"""
CHILD_LINKS_BY_MODELS = """
SELECT * FROM lineage_link WHERE parent_model_id = ANY($1::bigint[])
ORDER BY parent_model_id, id
"""


async def by_ids(conn: Conn, ids: list[int], type_name: str) -> list[asyncpg.Record]:
    return await conn.fetch(BY_IDS[type_name], ids)


async def versions_promoted_from(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(VERSIONS_PROMOTED_FROM, ids)


async def benchmark_versions_by_benchmarks(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(BENCHMARK_VERSIONS_BY_BENCHMARKS, ids)


async def components_by_versions(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(COMPONENTS_BY_VERSIONS, ids)


async def participants_by_programs(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(PARTICIPANTS_BY_PROGRAMS, ids)


async def status_by_participants(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(STATUS_BY_PARTICIPANTS, ids)


async def programs_by_labs(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(PROGRAMS_BY_LABS, ids)


async def external_ids_by_models(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(EXTERNAL_IDS_BY_MODELS, ids)


async def external_ids_by_labs(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(EXTERNAL_IDS_BY_LABS, ids)


async def parent_links_by_models(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(PARENT_LINKS_BY_MODELS, ids)


async def child_links_by_models(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(CHILD_LINKS_BY_MODELS, ids)
