"""Lineage links: a directed acyclic graph of models."""

from __future__ import annotations

import asyncpg

from service.db import Conn

INSERT = """
INSERT INTO lineage_link (parent_model_id, child_model_id, relation, source_id, note)
VALUES ($1, $2, $3, $4, $5)
RETURNING *
"""
# Serialises every writer of the graph, so two concurrent links cannot close a cycle
# that neither saw; readers are never blocked by it.
LOCK_GRAPH = "SELECT pg_advisory_xact_lock(hashtext('lineage_link'))"
# Is `$2` reachable from `$1` following parent -> child links? Then linking $2 -> $1 closes a cycle.
REACHES = """
WITH RECURSIVE reach(model_id) AS (
    SELECT $1::bigint
  UNION
    SELECT link.child_model_id
    FROM lineage_link AS link JOIN reach ON link.parent_model_id = reach.model_id
)
SELECT EXISTS (SELECT 1 FROM reach WHERE model_id = $2)
"""
DELETE = """
DELETE FROM lineage_link WHERE parent_model_id = $1 AND child_model_id = $2 AND relation = $3
RETURNING *
"""
FIND = """
SELECT * FROM lineage_link WHERE parent_model_id = $1 AND child_model_id = $2 AND relation = $3
"""


async def lock_graph(conn: Conn) -> None:
    await conn.execute(LOCK_GRAPH)


async def reaches(conn: Conn, start_id: int, goal_id: int) -> bool:
    return bool(await conn.fetchval(REACHES, start_id, goal_id))


async def find(conn: Conn, parent_id: int, child_id: int, relation: str) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND, parent_id, child_id, relation)


async def insert(
    conn: Conn,
    *,
    parent_id: int,
    child_id: int,
    relation: str,
    source_id: int | None,
    note: str | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(INSERT, parent_id, child_id, relation, source_id, note)
    assert row is not None
    return row


async def delete(conn: Conn, parent_id: int, child_id: int, relation: str) -> asyncpg.Record | None:
    return await conn.fetchrow(DELETE, parent_id, child_id, relation)
