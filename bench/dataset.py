"""A fresh database, our migrations, and a synthetic dataset built by set-based SQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench import fair
from bench.config import AS_OF, LEADERBOARD_BENCHMARK, Scale

DATABASE = "mrr_bench"

# Weighted toward the US and China, as the frontier is; every code is a real ISO 3166-1 one.
COUNTRIES = ["US"] * 8 + ["CN"] * 6 + [
    "KR", "FR", "CA", "GB", "DE", "JP", "IL", "IN", "AE", "SG", "CH", "SE", "NL", "ES",
    "IT", "TW", "AU", "BR", "FI", "PL", "SA", "VN", "ID", "TR",
]  # fmt: skip


# PostGraphile v4 refuses to start on our schema: a unique self-referencing foreign key gives
# the forward and the backward relation the same name. Its documented fix is a smart comment
# renaming the backward one; it changes nothing for the registry and no field the queries use.
SMART_COMMENTS = [
    """COMMENT ON CONSTRAINT model_version_promoted_from_id_fkey ON model_version
       IS E'@foreignSingleFieldName promotedTo'""",
    """COMMENT ON CONSTRAINT score_supersedes_id_fkey ON score
       IS E'@foreignSingleFieldName supersededBy'""",
]


# Per benchmark version, in id order (index v1, v2, reasoning v1, v2, coding v1, v2): an
# older method scores the same model higher, as index versions renormalise downwards.
BENCHMARK_VERSION_FACTORS = "ARRAY[1.08, 1.0, 1.25, 1.15, 0.95, 0.9]"
# Per version of a model (preview, 1.0, 1.5, 2.0): later releases score higher.
STAGE_OFFSETS = "ARRAY[-2.0, -1.0, 0.0, 1.5]"


def _statements(scale: Scale) -> list[str]:
    labs, models, versions, sources = scale.labs, scale.models, scale.versions, scale.sources
    countries = "ARRAY[" + ", ".join(f"'{code}'" for code in COUNTRIES) + "]"
    # One in a hundred base scores gets a correction, so base + corrections = the target.
    base_scores = round(scale.scores / 1.01)
    return [
        # random() below is deterministic: same seed, same session, same dataset.
        "SELECT setseed(0.42)",
        f"""
        INSERT INTO source (id, url, title, publisher, published_on, kind)
        OVERRIDING SYSTEM VALUE
        SELECT s, 'https://bench.example/source/' || s, 'Synthetic source ' || s, 'Bench Press',
               date '2023-01-01' + s % 1000, (enum_range(NULL::source_kind))[1 + s % 5]
        FROM generate_series(1, {sources}) AS s
        """,
        f"""
        INSERT INTO lab (id, slug, name, country_code, founded_year, headquarters, website,
                         description)
        OVERRIDING SYSTEM VALUE
        SELECT i, 'lab-' || i, 'Lab ' || i, ({countries})[1 + (i * 7) % {len(COUNTRIES)}],
               1990 + i % 35, 'City ' || i, 'https://lab-' || i || '.example', 'A synthetic lab'
        FROM generate_series(1, {labs}) AS i
        """,
        f"""
        INSERT INTO model_family (id, slug, name, lab_id)
        OVERRIDING SYSTEM VALUE
        SELECT f, 'family-' || f, 'Family ' || f, 1 + (f - 1) % {labs}
        FROM generate_series(1, {labs * 4}) AS f
        """,
        # Two models in three belong to one of their lab's four families.
        f"""
        INSERT INTO model (id, slug, name, lab_id, family_id, modality, open_weights, license,
                           training_origin, description)
        OVERRIDING SYSTEM VALUE
        SELECT m, 'model-' || m, 'Model ' || m, 1 + (m - 1) % {labs},
               CASE WHEN m % 3 <> 0 THEN 1 + (m - 1) % {labs} + {labs} * (((m - 1) / {labs}) % 4)
               END,
               (enum_range(NULL::modality))[1 + m % 3], m % 2 = 0,
               CASE WHEN m % 2 = 0 THEN 'apache-2.0' END,
               (CASE WHEN m % 5 = 0 THEN 'DERIVED' ELSE 'FROM_SCRATCH' END)::training_origin,
               'A synthetic model'
        FROM generate_series(1, {models}) AS m
        """,
        # Four versions per model: a preview, then three finals; two in three have a size.
        f"""
        INSERT INTO model_version (id, model_id, label, stage, announced_on, released_on,
                                   released_precision, total_parameters, active_parameters,
                                   context_window, source_id)
        OVERRIDING SYSTEM VALUE
        SELECT v, 1 + (v - 1) / 4, (ARRAY['preview', '1.0', '1.5', '2.0'])[1 + (v - 1) % 4],
               (CASE WHEN (v - 1) % 4 = 0 THEN 'PREVIEW' ELSE 'FINAL' END)::version_stage,
               date '2023-01-01' + (v * 37) % 1000,
               CASE WHEN (v - 1) % 4 <> 0 THEN date '2023-01-31' + (v * 37) % 1000 END,
               (CASE WHEN (v - 1) % 4 <> 0 THEN 'DAY' END)::date_precision,
               CASE WHEN v % 3 <> 0 THEN (1 + v % 400) * 1000000000::bigint END,
               CASE WHEN v % 6 = 1 THEN (1 + v % 400) * 100000000::bigint END,
               (ARRAY[8192, 32768, 131072, 1048576])[1 + v % 4], 1 + v % {sources}
        FROM generate_series(1, {versions}) AS v
        """,
        """
        INSERT INTO benchmark (id, slug, name, publisher, url, scale_min, scale_max,
                               higher_is_better, is_independent, is_index)
        OVERRIDING SYSTEM VALUE
        VALUES (1, 'bench-index', 'Bench Intelligence Index', 'Bench Press',
                'https://bench.example/index', 0, 100, true, true, true),
               (2, 'bench-reasoning', 'Bench Reasoning', 'Bench Press',
                'https://bench.example/reasoning', 0, 100, true, true, false),
               (3, 'bench-coding', 'Bench Coding', 'Bench Press',
                'https://bench.example/coding', 0, 100, true, false, false)
        """,
        # Two method versions per benchmark: v1 from 2024, v2 from mid-2025.
        """
        INSERT INTO benchmark_version (id, benchmark_id, label, effective_on, source_id)
        OVERRIDING SYSTEM VALUE
        SELECT (b - 1) * 2 + k, b, 'v' || k,
               CASE k WHEN 1 THEN date '2024-01-01' ELSE date '2025-06-01' END, b
        FROM generate_series(1, 3) AS b, generate_series(1, 2) AS k
        """,
        # Each model's ability, drawn once: most far below the top (a steep tail, median
        # ~14, best ~47), plus a frontier cluster, a model of each of the first eight labs, a
        # few points apart near 55-61, as on the Artificial Analysis index (61.4, 60.2, 57.2,
        # ...). A score is the ability scaled by its benchmark version (methods
        # renormalise), shifted by the version's stage (previews score lower) and by +-2 of
        # noise, to one decimal: few ties.
        f"""
        CREATE TEMP TABLE bench_ability AS
        SELECT m AS model_id,
               CASE WHEN m % {labs + 1} = 0 AND m <= {8 * (labs + 1)} THEN 54 + 7 * random()
                    ELSE 4 + 46 * (1 - power(random(), 1.0 / 3)) END AS ability
        FROM generate_series(1, {models}) AS m
        """,
        # Even scores measure v1 (2024-01 .. 2025-05), odd ones v2 (2025-06 .. 2026-01, so
        # some postdate the as-of date); 1 in 97 retracted, 1 in 5 verified. The draws sit
        # in a subquery, in a fixed order, so the same seed gives the same rows.
        f"""
        INSERT INTO score (version_id, model_id, benchmark_version_id, value, qualifier,
                           measured_on, provenance, verification, verification_changed_on,
                           source_id, run_configuration, recorded_at)
        SELECT draw.version_id, ability.model_id, bv.ids[1 + s % 6],
               round(least(100, greatest(0,
                   ability.ability * ({BENCHMARK_VERSION_FACTORS})[1 + s % 6]
                   + ({STAGE_OFFSETS})[1 + (draw.version_id - 1) % 4]
                   + 4 * draw.noise - 2))::numeric, 1),
               (CASE WHEN s % 29 = 0 THEN 'AT_LEAST' WHEN s % 31 = 0 THEN 'APPROXIMATE'
                     ELSE 'EXACT' END)::score_qualifier,
               CASE WHEN s % 2 = 0 THEN date '2024-01-01' + floor(draw.day * 500)::int
                    ELSE date '2025-06-01' + floor(draw.day * 240)::int END,
               (enum_range(NULL::score_provenance))[1 + s % 3],
               (CASE WHEN s % 97 = 0 THEN 'RETRACTED' WHEN s % 5 = 0 THEN 'VERIFIED'
                     ELSE 'UNVERIFIED' END)::score_verification,
               CASE WHEN s % 97 = 0 THEN date '2025-09-01' END,
               1 + s % {sources},
               jsonb_build_object('shots', s % 6, 'harness', 'synthetic'), now()
        FROM (SELECT s, 1 + floor(random() * {versions})::int AS version_id,
                     random() AS noise, random() AS day
              FROM generate_series(1, {base_scores}) AS s) AS draw
        JOIN bench_ability AS ability ON ability.model_id = 1 + (draw.version_id - 1) / 4,
             (SELECT array_agg(id ORDER BY benchmark_id, effective_on) AS ids
              FROM benchmark_version) AS bv
        """,
        # A correction moves its score by up to a point either way.
        """
        INSERT INTO score (version_id, model_id, benchmark_version_id, value, qualifier,
                           measured_on, provenance, verification, source_id, supersedes_id, note,
                           recorded_at)
        SELECT version_id, model_id, benchmark_version_id,
               round(least(100, greatest(0, value + 2 * random() - 1))::numeric, 1), qualifier,
               measured_on + 7, provenance, 'VERIFIED', source_id, id, 'correction', now()
        FROM score WHERE id % 100 = 0 ORDER BY id
        """,
        "DROP TABLE bench_ability",
        # What a trigger of migration 0007 writes, skipped in bulk mode: the history of a
        # score whose status changed. Scores are recorded now (the registry's clock follows).
        """
        INSERT INTO verification_change (score_id, verification, changed_on, source_id,
                                         recorded_at)
        SELECT score.id, first.verification, first.changed_on, score.source_id, now()
        FROM score, LATERAL (VALUES ('UNVERIFIED'::score_verification, NULL::date),
                                    (score.verification, score.verification_changed_on))
                    AS first (verification, changed_on)
        WHERE score.verification_changed_on IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM verification_change WHERE score_id = score.id)
        """,
        "UPDATE transaction_clock SET last_at = greatest(last_at, now())",
        # A DAG: every parent id is below its child id. Models have one to three parents.
        f"""
        INSERT INTO lineage_link (parent_model_id, child_model_id, relation, source_id)
        SELECT parent, m, relation, 1 + m % {sources}
        FROM (
            SELECT m, m - 1 - (m * 13) % 50 AS parent,
                   (enum_range(NULL::lineage_relation))[1 + m % 7] AS relation
            FROM generate_series(2, {models}) AS m
            UNION ALL
            SELECT m, m - 1 - (m * 29) % 200, 'MERGED'::lineage_relation
            FROM generate_series(2, {models}) AS m WHERE m % 2 = 0
            UNION ALL
            SELECT m, m - 1 - (m * 31) % 400, 'DISTILLED'::lineage_relation
            FROM generate_series(2, {models}) AS m WHERE m % 3 = 0
        ) AS links
        WHERE parent >= 1
        ON CONFLICT DO NOTHING
        """,
        *(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            for table in (
                "source",
                "lab",
                "model_family",
                "model",
                "model_version",
                "benchmark",
                "benchmark_version",
            )  # fmt: skip
        ),
    ]


@dataclass(frozen=True)
class Dataset:
    dsn: str
    scale: Scale
    counts: dict[str, int]
    size_bytes: int
    leaderboard_version_id: int
    load_seconds: int | float
    top_values: list[float]  # the leaderboard's top 20 values, best first

    @property
    def top_summary(self) -> str:
        top = self.top_values
        if not top:
            return "leaderboard empty"
        return (
            f"leaderboard top {len(top)}: {top[0]:g} .. {top[-1]:g}, "
            f"{len(set(top))} distinct values"
        )


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


async def recreate_database(server_dsn: str) -> str:
    """Drop and create the benchmark database on the server of `server_dsn`; return its DSN."""
    conn = await asyncpg.connect(_with_database(server_dsn, "postgres"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()
    return _with_database(server_dsn, DATABASE)


async def drop_database(server_dsn: str) -> None:
    conn = await asyncpg.connect(_with_database(server_dsn, "postgres"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    finally:
        await conn.close()


def migrate(dsn: str) -> None:
    """`registry migrate` with DATABASE_URL, as the README's deploy step runs it."""
    registry = Path(sys.executable).with_name("registry")
    env = {**os.environ, "DATABASE_URL": dsn, "REGISTRY_LOG_LEVEL": "warning"}
    subprocess.run([str(registry), "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)


async def _bulk_mode(conn: asyncpg.Connection) -> list[str]:
    """Load 10M scores in minutes, not half an hour: skip per-row triggers (foreign-key
    checks, the model_id fill, which the statements do themselves) for this transaction, and
    build the score table's plain indexes once at the end instead of row by row. Returns the
    definitions to run after the load. The generated ids are in range by construction. A
    server where we are not superuser loads the slow way."""
    try:
        async with conn.transaction():  # a savepoint: a refusal must not end the load
            await conn.execute("SET LOCAL session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        return []
    rows = await conn.fetch(
        """SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS definition
           FROM pg_index
           WHERE indrelid = 'score'::regclass
             AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)"""
    )
    for row in rows:
        await conn.execute(f"DROP INDEX {row['name']}")
    return [row["definition"] for row in rows]


async def load(dsn: str, scale: Scale) -> Dataset:
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            indexes = await _bulk_mode(conn)
            for statement in [*SMART_COMMENTS, *_statements(scale), *fair.statements()]:
                await conn.execute(statement)
            for definition in indexes:
                await conn.execute(definition)
            # Bulk mode skipped the triggers that keep each model's current best (migration
            # 0009): written once, for the whole load, on statistics of the loaded tables
            # (without them each model's probe may plan as a scan of every score).
            await conn.execute("ANALYZE score, model_version, model, lab, verification_change")
            await conn.execute("SELECT leaderboard_best_rebuild()")
        await conn.execute("VACUUM (ANALYZE)")
        counts: dict[str, int] = {}
        for table in ("lab", "model", "model_version", "score", "lineage_link", "source"):
            counts[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
        version_id = await conn.fetchval(
            """SELECT benchmark_version.id FROM benchmark_version
               JOIN benchmark ON benchmark.id = benchmark_id
               WHERE benchmark.slug = $1 AND effective_on <= $2
               ORDER BY effective_on DESC LIMIT 1""",
            LEADERBOARD_BENCHMARK,
            AS_OF,
        )
        top = await conn.fetch(
            "SELECT value FROM leaderboard($1, $2, 20)", LEADERBOARD_BENCHMARK, AS_OF
        )
    finally:
        await conn.close()
    seconds = time.monotonic() - started
    values = [float(row["value"]) for row in top]
    return Dataset(dsn, scale, counts, size, version_id, seconds, values)


def build(server_dsn: str, scale: Scale) -> Dataset:
    dsn = asyncio.run(recreate_database(server_dsn))
    migrate(dsn)
    return asyncio.run(load(dsn, scale))
