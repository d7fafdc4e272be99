"""Probable duplicates of a lab or a model: the rows a catalog import would merge into.

Two signals, at most one warning per recorded row (the stronger one):
  KNOWN_EXTERNAL_ID  the new slug or name is, letters and digits only, another registry's
                     key already mapped to another row (Hugging Face org "Qwen", repo
                     "upstage/SOLAR-10.7B-v1.0" by its last segment)
  SIMILAR_NAME       labs: trigram likeness of the slugs or of the names, a name inside
                     another included ("Qwen" in "Alibaba (Qwen)", "Mistral" in "Mistral
                     AI"). Models: only the same name or slug spelled otherwise ("GPT 5.5"
                     and "gpt-5.5"), since model names nest and differ by a digit by design
                     ("Solar Pro", "Solar Pro 3", "Solar Pro 4" are three models).
Both exclude the row itself ($1); archived rows count (a duplicate of a hidden row is still
a duplicate).
"""

from __future__ import annotations

import asyncpg

from service.db import Conn


def _normalised(expression: str) -> str:
    return f"regexp_replace(lower({expression}), '[^a-z0-9]', '', 'g')"


def _same_spelling(given: str) -> str:
    # The row's slug or name, letters and digits only, equal to the given value's.
    value = _normalised(given)
    return f"({_normalised('slug')} = {value} OR {_normalised('name')} = {value})::int"


# How alike a recorded row's slug ($2) and name ($3) are, and the likeness that warns.
_LAB_LIKENESS = (
    "similarity(slug, $2)",
    "GREATEST(similarity(name, $3), word_similarity($3, name), word_similarity(name, $3))",
    0.6,
)
_MODEL_LIKENESS = (_same_spelling("$2"), _same_spelling("$3"), 1)


def _duplicates_sql(table: str, foreign_key: str, likeness: tuple[str, str, float]) -> str:
    # $1 the new row's id, $2 its slug, $3 its name; constant table and column names only.
    key = _normalised("regexp_replace(external.external_key, '^.*/', '')")
    by_slug, by_name, threshold = likeness
    return f"""
WITH candidate AS (
    SELECT id, slug, name, {by_slug} AS by_slug, {by_name} AS by_name
    FROM {table} WHERE id <> $1
), found AS (
    SELECT 2 AS strength, 'SIMILAR_NAME' AS code,
           CASE WHEN by_slug > by_name THEN 'slug' ELSE 'name' END AS field,
           id, slug, name, NULL::text AS system, NULL::text AS external_key,
           GREATEST(by_slug, by_name) AS likeness
    FROM candidate WHERE GREATEST(by_slug, by_name) >= {threshold}
  UNION ALL
    SELECT 1, 'KNOWN_EXTERNAL_ID',
           CASE WHEN {key} = {_normalised("$2")} THEN 'slug' ELSE 'name' END,
           row_.id, row_.slug, row_.name, external.system::text, external.external_key, 1
    FROM external_id AS external JOIN {table} AS row_ ON row_.id = external.{foreign_key}
    WHERE row_.id <> $1 AND {key} IN ({_normalised("$2")}, {_normalised("$3")})
), strongest AS (
    SELECT DISTINCT ON (id) * FROM found ORDER BY id, strength, external_key
)
SELECT * FROM strongest ORDER BY strength, likeness DESC, slug LIMIT 10
"""


LABS = _duplicates_sql("lab", "lab_id", _LAB_LIKENESS)
MODELS = _duplicates_sql("model", "model_id", _MODEL_LIKENESS)


async def similar_labs(conn: Conn, lab_id: int, slug: str, name: str) -> list[asyncpg.Record]:
    return await conn.fetch(LABS, lab_id, slug, name)


async def similar_models(conn: Conn, model_id: int, slug: str, name: str) -> list[asyncpg.Record]:
    return await conn.fetch(MODELS, model_id, slug, name)
