"""What `registry import` asks the database beyond the commands: is the registry empty, which
rows it already holds, and where the next row's id and the feed's next position fall."""

from __future__ import annotations

import datetime as dt

from service.db import Conn

# Empty: nothing was ever written (no change in the feed) and no data row exists; the
# countries the migrations load are reference data.
IS_EMPTY = """
SELECT NOT EXISTS (SELECT 1 FROM audit_event) AND NOT EXISTS (SELECT 1 FROM source)
   AND NOT EXISTS (SELECT 1 FROM lab) AND NOT EXISTS (SELECT 1 FROM benchmark)
"""
# The tables whose ids an export shows; constant names only.
ID_TABLES = frozenset(
    {
        "source",
        "lab",
        "model_family",
        "model",
        "model_version",
        "benchmark",
        "benchmark_version",
        "score",
        "lineage_link",
        "program",
        "participant_status_change",
        "target",
    }
)
NEXT_ID = "SELECT setval(pg_get_serial_sequence($1, 'id'), $2, false)"
# The events this transaction wrote and has not committed (numbered at commit); the last
# committed position is feed.head.
PENDING_EVENTS = "SELECT count(*) FROM audit_event WHERE position IS NULL"
NEXT_POSITION = "SELECT setval('audit_event_position_seq', $1, false)"
EXTERNAL_ID = "SELECT lab_id, model_id FROM external_id WHERE system = $1 AND external_key = $2"
LINK_ID = """
SELECT link.id FROM lineage_link AS link
JOIN model AS parent ON parent.id = link.parent_model_id
JOIN model AS child ON child.id = link.child_model_id
WHERE parent.slug = $1 AND child.slug = $2 AND link.relation = $3
"""
# A score identical in every fact to the one imported (the same observation recorded twice).
SAME_SCORE = """
SELECT score.id FROM score
JOIN model_version AS version ON version.id = score.version_id
JOIN model ON model.id = version.model_id
JOIN benchmark_version AS bv ON bv.id = score.benchmark_version_id
JOIN benchmark ON benchmark.id = bv.benchmark_id
WHERE model.slug = $1 AND version.label = $2 AND benchmark.slug = $3 AND bv.label = $4
  AND score.value = $5::numeric AND score.measured_on = $6 AND score.provenance = $7
  AND score.source_id = $8 AND score.supersedes_id IS NOT DISTINCT FROM $9
ORDER BY score.id LIMIT 1
"""
LAB_SLUG = "SELECT slug FROM lab WHERE id = $1"
MODEL_SLUG = "SELECT slug FROM model WHERE id = $1"


async def is_empty(conn: Conn) -> bool:
    return bool(await conn.fetchval(IS_EMPTY))


async def place_next_id(conn: Conn, table: str, row_id: int) -> None:
    """The table's next generated id is `row_id` (an import keeping the exported ids)."""
    assert table in ID_TABLES, table
    await conn.fetchval(NEXT_ID, table, row_id)


async def pending_events(conn: Conn) -> int:
    return int(await conn.fetchval(PENDING_EVENTS))


async def place_next_position(conn: Conn, position: int) -> None:
    await conn.fetchval(NEXT_POSITION, position)


async def external_id_owner(conn: Conn, system: str, key: str) -> tuple[int | None, int | None]:
    row = await conn.fetchrow(EXTERNAL_ID, system, key)
    return (None, None) if row is None else (row["lab_id"], row["model_id"])


async def link_id(conn: Conn, parent: str, child: str, relation: str) -> int | None:
    return await conn.fetchval(LINK_ID, parent, child, relation)  # type: ignore[no-any-return]


async def same_score(
    conn: Conn,
    *,
    model: str,
    version: str,
    benchmark: str,
    benchmark_version: str,
    value: str,
    measured_on: dt.date,
    provenance: str,
    source_id: int,
    supersedes_id: int | None,
) -> int | None:
    return await conn.fetchval(  # type: ignore[no-any-return]
        SAME_SCORE,
        model,
        version,
        benchmark,
        benchmark_version,
        value,
        measured_on,
        provenance,
        source_id,
        supersedes_id,
    )


async def lab_slug(conn: Conn, lab_id: int) -> str:
    return await conn.fetchval(LAB_SLUG, lab_id)  # type: ignore[no-any-return]


async def model_slug(conn: Conn, model_id: int) -> str:
    return await conn.fetchval(MODEL_SLUG, model_id)  # type: ignore[no-any-return]
