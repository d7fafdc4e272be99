"""Probable duplicates of a lab or a model: the rows a catalog import would merge into.

Two signals, one statement per entity:
  SIMILAR_NAME       trigram likeness of the slugs, or of the names either way round
                     ("Qwen" lies inside "Alibaba (Qwen)"), at or above LIKENESS
  KNOWN_EXTERNAL_ID  the new slug or name is, letters and digits only, another registry's
                     key already mapped to another row (Hugging Face org "Qwen", repo
                     "upstage/SOLAR-10.7B-v1.0" by its last segment)
Both exclude the row itself ($1); archived rows count (a duplicate of a hidden row is still
a duplicate).
"""

from __future__ import annotations

import asyncpg

from service.db import Conn

LIKENESS = 0.6


def _normalised(expression: str) -> str:
    return f"regexp_replace(lower({expression}), '[^a-z0-9]', '', 'g')"


def _duplicates_sql(table: str, foreign_key: str) -> str:
    # $1 the new row's id, $2 its slug, $3 its name; constant table and column names only.
    key = _normalised("regexp_replace(external.external_key, '^.*/', '')")
    return f"""
WITH candidate AS (
    SELECT id, slug, name,
           similarity(slug, $2) AS by_slug,
           GREATEST(similarity(name, $3), word_similarity($3, name),
                    word_similarity(name, $3)) AS by_name
    FROM {table} WHERE id <> $1
)
SELECT 'SIMILAR_NAME' AS code,
       CASE WHEN by_name >= by_slug THEN 'name' ELSE 'slug' END AS field,
       id, slug, name, NULL::text AS system, NULL::text AS external_key,
       GREATEST(by_slug, by_name) AS likeness
FROM candidate
WHERE GREATEST(by_slug, by_name) >= {LIKENESS}
UNION ALL
SELECT 'KNOWN_EXTERNAL_ID',
       CASE WHEN {key} = {_normalised("$2")} THEN 'slug' ELSE 'name' END,
       found.id, found.slug, found.name, external.system::text, external.external_key, 1
FROM external_id AS external JOIN {table} AS found ON found.id = external.{foreign_key}
WHERE found.id <> $1 AND {key} IN ({_normalised("$2")}, {_normalised("$3")})
ORDER BY likeness DESC, code, slug
LIMIT 10
"""


LABS = _duplicates_sql("lab", "lab_id")
MODELS = _duplicates_sql("model", "model_id")


async def similar_labs(conn: Conn, lab_id: int, slug: str, name: str) -> list[asyncpg.Record]:
    return await conn.fetch(LABS, lab_id, slug, name)


async def similar_models(conn: Conn, model_id: int, slug: str, name: str) -> list[asyncpg.Record]:
    return await conn.fetch(MODELS, model_id, slug, name)
