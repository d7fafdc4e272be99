"""The export's SQL: one statement per table, read through a server-side cursor in one snapshot.

Each statement returns a table's rows in id order with their output columns already named
(camelCase) and their ids global (service.ids, built in SQL), so service.export only formats
values. Nested lists (a lab's external ids, a version's hardware targets, a benchmark's
method versions) are JSON built in order, with exact decimals as strings; `json`, not
`jsonb`, so their keys keep the order written here.

`$1` is `asOf` (NULL: no bound), the valid date of the dated facts, as the read API's
rankings use it: a score counts from its measured date, a correction replaces it from its
own; a version exists from the day it was announced or released (an undated one always); a
participant's status change from its effective date; a target from the day it was stated.

The rows are what the registry holds now; revisions and write times are bookkeeping the
change feed carries, not facts, and are left out (so an import reproduces the same files).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from service import ids
from service.db import Conn, feed


def _id(type_name: str, column: str) -> str:
    return ids.sql(type_name, column)


_EXTERNAL_IDS = """
(SELECT coalesce(json_agg(json_build_object('system', external.system,
                                            'key', external.external_key)
                          ORDER BY external.system, external.external_key), '[]'::json)
 FROM external_id AS external WHERE external.{column} = {table}.id) AS "externalIds"
"""

SOURCES = f"""
SELECT {_id("Source", "source.id")} AS id, url, title, publisher,
       published_on AS "publishedOn", kind::text AS kind
FROM source ORDER BY id
"""

LABS = f"""
SELECT {_id("Lab", "lab.id")} AS id, slug, name, country_code::text AS country,
       founded_year AS "foundedYear", headquarters, website, description,
       archived_at IS NOT NULL AS archived,
       {_EXTERNAL_IDS.format(column="lab_id", table="lab")}
FROM lab ORDER BY lab.id
"""

FAMILIES = f"""
SELECT {_id("ModelFamily", "family.id")} AS id, family.slug, family.name,
       {_id("Lab", "family.lab_id")} AS "labId", lab.slug AS lab, family.description
FROM model_family AS family LEFT JOIN lab ON lab.id = family.lab_id
ORDER BY family.id
"""

MODELS = f"""
SELECT {_id("Model", "model.id")} AS id, model.slug, model.name,
       {_id("Lab", "model.lab_id")} AS "labId", lab.slug AS lab,
       {_id("ModelFamily", "model.family_id")} AS "familyId", family.slug AS family,
       model.modality::text AS modality, model.open_weights AS "openWeights", model.license,
       model.training_origin::text AS "trainingOrigin", model.description,
       model.archived_at IS NOT NULL AS archived,
       {_EXTERNAL_IDS.format(column="model_id", table="model")}
FROM model
JOIN lab ON lab.id = model.lab_id
LEFT JOIN model_family AS family ON family.id = model.family_id
ORDER BY model.id
"""

_HARDWARE = f"""
(SELECT coalesce(json_agg(json_build_object(
            'accelerator', target.accelerator, 'acceleratorCount', target.accelerator_count,
            'memoryGb', target.memory_gb::text, 'precision', target.precision,
            'note', target.note, 'sourceId', {_id("Source", "target.source_id")})
        ORDER BY target.id), '[]'::json)
 FROM hardware_target AS target WHERE target.version_id = version.id) AS "hardwareTargets"
"""

VERSIONS = f"""
SELECT {_id("Version", "version.id")} AS id,
       {_id("Model", "version.model_id")} AS "modelId", model.slug AS model, version.label,
       version.stage::text AS stage,
       {_id("Version", "version.promoted_from_id")} AS "promotedFromId",
       preview.label AS "promotedFrom",
       version.announced_on AS "announcedOn", version.released_on AS "releasedOn",
       version.released_precision::text AS "releasedPrecision",
       version.planned_on AS "plannedOn", version.planned_precision::text AS "plannedPrecision",
       version.total_parameters AS "totalParameters",
       version.active_parameters AS "activeParameters",
       version.context_window AS "contextWindow",
       {_id("Source", "version.source_id")} AS "sourceId",
       {_HARDWARE}
FROM model_version AS version
JOIN model ON model.id = version.model_id
LEFT JOIN model_version AS preview ON preview.id = version.promoted_from_id
WHERE $1::date IS NULL OR coalesce(version.announced_on, version.released_on) IS NULL
   OR coalesce(version.announced_on, version.released_on) <= $1
ORDER BY version.id
"""

BENCHMARKS = f"""
SELECT {_id("Benchmark", "benchmark.id")} AS id, slug, name, publisher, url,
       scale_min AS "scaleMin", scale_max AS "scaleMax", higher_is_better AS "higherIsBetter",
       is_independent AS "isIndependent", is_index AS "isIndex", methodology,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', {_id("BenchmarkVersion", "bv.id")}, 'label', bv.label,
                   'effectiveOn', bv.effective_on, 'notes', bv.notes,
                   'sourceId', {_id("Source", "bv.source_id")},
                   'components', (
                       SELECT coalesce(json_agg(json_build_object(
                                  'benchmark', part.slug, 'weight', component.weight::text)
                              ORDER BY part.slug), '[]'::json)
                       FROM benchmark_component AS component
                       JOIN benchmark AS part ON part.id = component.component_benchmark_id
                       WHERE component.benchmark_version_id = bv.id))
               ORDER BY bv.id), '[]'::json)
        FROM benchmark_version AS bv WHERE bv.benchmark_id = benchmark.id) AS versions
FROM benchmark ORDER BY benchmark.id
"""

SCORES = f"""
SELECT {_id("Score", "score.id")} AS id,
       {_id("Version", "score.version_id")} AS "versionId",
       model.slug AS model, version.label AS version,
       {_id("BenchmarkVersion", "score.benchmark_version_id")} AS "benchmarkVersionId",
       benchmark.slug AS benchmark, bv.label AS "benchmarkVersion",
       score.value, score.qualifier::text AS qualifier, score.uncertainty,
       score.run_configuration AS "runConfiguration", score.measured_on AS "measuredOn",
       score.provenance::text AS provenance, score.verification::text AS verification,
       score.verification_changed_on AS "verificationChangedOn",
       {_id("Source", "score.source_id")} AS "sourceId",
       {_id("Score", "score.supersedes_id")} AS "supersedesId",
       {_id("Score", "score.evidence_score_id")} AS "evidenceScoreId",
       score.note
FROM score
JOIN model_version AS version ON version.id = score.version_id
JOIN model ON model.id = version.model_id
JOIN benchmark_version AS bv ON bv.id = score.benchmark_version_id
JOIN benchmark ON benchmark.id = bv.benchmark_id
WHERE $1::date IS NULL OR score.measured_on <= $1
ORDER BY score.id
"""

LINEAGE = f"""
SELECT {_id("LineageLink", "link.id")} AS id,
       {_id("Model", "link.parent_model_id")} AS "parentId", parent.slug AS parent,
       {_id("Model", "link.child_model_id")} AS "childId", child.slug AS child,
       link.relation::text AS relation, {_id("Source", "link.source_id")} AS "sourceId",
       link.note
FROM lineage_link AS link
JOIN model AS parent ON parent.id = link.parent_model_id
JOIN model AS child ON child.id = link.child_model_id
ORDER BY link.id
"""

PROGRAMS = f"""
SELECT {_id("Program", "program.id")} AS id, slug, name, sponsor,
       country_code::text AS country, started_on AS "startedOn",
       started_precision::text AS "startedPrecision", description,
       {_id("Source", "program.source_id")} AS "sourceId"
FROM program ORDER BY program.id
"""

# One row per status change (a participant is a lab's place in a programme, with no facts
# of its own beyond its changes).
PARTICIPANTS = f"""
SELECT {_id("ParticipantStatusChange", "change.id")} AS id,
       {_id("Program", "participant.program_id")} AS "programId", program.slug AS program,
       {_id("Lab", "participant.lab_id")} AS "labId", lab.slug AS lab,
       change.status::text AS status, change.effective_on AS "effectiveOn",
       change.effective_precision::text AS "effectivePrecision",
       {_id("Source", "change.source_id")} AS "sourceId", change.note
FROM participant_status_change AS change
JOIN program_participant AS participant ON participant.id = change.participant_id
JOIN program ON program.id = participant.program_id
JOIN lab ON lab.id = participant.lab_id
WHERE $1::date IS NULL OR change.effective_on <= $1
ORDER BY change.id
"""

TARGETS = f"""
SELECT {_id("Target", "target.id")} AS id,
       {_id("Lab", "target.lab_id")} AS "labId", lab.slug AS lab,
       {_id("Benchmark", "target.benchmark_id")} AS "benchmarkId", benchmark.slug AS benchmark,
       {_id("Model", "target.model_id")} AS "modelId", model.slug AS model,
       target.value, target.due_on AS "dueOn", target.due_precision::text AS "duePrecision",
       target.stated_on AS "statedOn", {_id("Source", "target.source_id")} AS "sourceId",
       target.note
FROM target
JOIN lab ON lab.id = target.lab_id
JOIN benchmark ON benchmark.id = target.benchmark_id
LEFT JOIN model ON model.id = target.model_id
WHERE $1::date IS NULL OR target.stated_on <= $1
ORDER BY target.id
"""

# The tables an export offers, in the order an import writes them (references first).
TABLES: dict[str, str] = {
    "sources": SOURCES,
    "labs": LABS,
    "families": FAMILIES,
    "models": MODELS,
    "benchmarks": BENCHMARKS,
    "versions": VERSIONS,
    "lineage": LINEAGE,
    "programs": PROGRAMS,
    "participants": PARTICIPANTS,
    "targets": TARGETS,
    "scores": SCORES,
}
# The statements that take asOf ($1); the others hold no dated facts. A status change counts
# from its effective date, a target from the day it was stated.
DATED = frozenset({"versions", "participants", "targets", "scores"})

# The feed position this snapshot includes: positions become visible in increasing order
# (service/db/feed.py), so a snapshot that sees position p sees every event up to p and none
# after it. `changes(after:)` that position continues exactly where the snapshot ends.

# Rows fetched per round trip: enough to keep the round trips cheap, few enough that memory
# holds a constant, small batch whatever the table's size.
BATCH = 500


@asynccontextmanager
async def snapshot(conn: Conn) -> AsyncIterator[int]:
    """A read-only REPEATABLE READ transaction: every table read in it is one snapshot.
    Yields the feed position the snapshot corresponds to."""
    transaction = conn.transaction(isolation="repeatable_read", readonly=True)
    await transaction.start()
    try:
        position = await feed.head(conn)
        yield position
    except BaseException:
        # A connection the database closed has no transaction to end; what closed it is the
        # error to tell, not that.
        if not conn.is_closed():
            await transaction.rollback()
        raise
    await transaction.commit()
