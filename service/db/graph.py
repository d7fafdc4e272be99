"""Lineage traversals: the graph around a model and the path between two models."""

from __future__ import annotations

import asyncpg

from service.db import Conn

# Ancestors walk child -> parent, descendants parent -> child, each up to {depth} links away;
# BOTH walks both ways from the root (not zig-zag through siblings). The walk follows every
# link; `relations` only chooses which of the walked links are returned, so asking for the
# weight-reusing steps around Solar Pro still reaches Mistral 7B through a SUCCESSOR link.
# One statement. The
# placeholders are filled by `neighbourhood_sql`, so the resolver and the compiled path
# share one definition.
_NEIGHBOURHOOD = """
WITH RECURSIVE
ancestors (link_id, model_id, depth) AS (
    SELECT link.id, link.parent_model_id, 1 FROM lineage_link AS link
    WHERE link.child_model_id = {root} AND {direction} IN ('ANCESTORS', 'BOTH')
  UNION
    SELECT link.id, link.parent_model_id, ancestors.depth + 1
    FROM ancestors JOIN lineage_link AS link ON link.child_model_id = ancestors.model_id
    WHERE ancestors.depth < {depth}
),
descendants (link_id, model_id, depth) AS (
    SELECT link.id, link.child_model_id, 1 FROM lineage_link AS link
    WHERE link.parent_model_id = {root} AND {direction} IN ('DESCENDANTS', 'BOTH')
  UNION
    SELECT link.id, link.child_model_id, descendants.depth + 1
    FROM descendants JOIN lineage_link AS link ON link.parent_model_id = descendants.model_id
    WHERE descendants.depth < {depth}
),
walked AS (
    SELECT link_id, depth FROM ancestors UNION ALL SELECT link_id, depth FROM descendants
)
-- A primary-key lookup per walked link: OFFSET 0 keeps the planner from hashing the
-- whole lineage_link table for the few links a walk finds.
SELECT link.*, nearest.depth
FROM (SELECT link_id, min(depth) AS depth FROM walked GROUP BY link_id) AS nearest
CROSS JOIN LATERAL (
    SELECT * FROM lineage_link WHERE lineage_link.id = nearest.link_id OFFSET 0
) AS link
WHERE {relations}::lineage_relation[] IS NULL OR link.relation = ANY({relations})
ORDER BY nearest.depth, link.id
"""


def neighbourhood_sql(ph: dict[str, str]) -> str:
    """The links around `root` (a model id), nearest first: every lineage_link column plus
    `depth`, the fewest links from the root. `direction` is ANCESTORS, DESCENDANTS or BOTH;
    `relations` a lineage_relation[] (NULL for any)."""
    return _NEIGHBOURHOOD.format(**ph)


NEIGHBOURHOOD = neighbourhood_sql(
    {"root": "$1", "direction": "$2", "depth": "$3", "relations": "$4"}
)

# The shortest chain of parent -> child links from $1 down to $2 (a DAG, so no cycles; the
# visited list still guards the walk).
PATH = """
WITH RECURSIVE walk (model_id, links, visited) AS (
    SELECT $1::bigint, ARRAY[]::bigint[], ARRAY[$1::bigint]
  UNION ALL
    SELECT link.child_model_id, walk.links || link.id, walk.visited || link.child_model_id
    FROM walk JOIN lineage_link AS link ON link.parent_model_id = walk.model_id
    WHERE NOT link.child_model_id = ANY(walk.visited) AND cardinality(walk.links) < 64
)
SELECT links FROM walk WHERE model_id = $2 ORDER BY cardinality(links) LIMIT 1
"""
LINKS_BY_IDS = "SELECT * FROM lineage_link WHERE id = ANY($1::bigint[])"


async def neighbourhood(
    conn: Conn, model_id: int, direction: str, depth: int, relations: list[str] | None
) -> list[asyncpg.Record]:
    return await conn.fetch(NEIGHBOURHOOD, model_id, direction, depth, relations)


async def path(conn: Conn, from_id: int, to_id: int) -> list[asyncpg.Record] | None:
    """The links of the shortest downward chain, in order, or None when there is none."""
    link_ids: list[int] | None = await conn.fetchval(PATH, from_id, to_id)
    if link_ids is None:
        return None
    rows = {row["id"]: row for row in await conn.fetch(LINKS_BY_IDS, link_ids)}
    return [rows[link_id] for link_id in link_ids]
