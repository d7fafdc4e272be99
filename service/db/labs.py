"""Labs and the model families they own."""

from __future__ import annotations

import asyncpg

from service.db import Conn

INSERT = """
INSERT INTO lab (slug, name, country_code, founded_year, headquarters, website, description)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *
"""
INSERT_FAMILY = """
INSERT INTO model_family (slug, name, lab_id, description)
VALUES ($1, $2, $3, $4)
RETURNING *
"""
# Reads join in the country's name.
BY_SLUG = """
SELECT lab.*, country.name AS country_name
FROM lab LEFT JOIN country ON country.code = lab.country_code
WHERE lab.slug = $1
"""
BY_IDS = """
SELECT lab.*, country.name AS country_name
FROM lab LEFT JOIN country ON country.code = lab.country_code
WHERE lab.id = ANY($1::bigint[])
"""
FAMILIES_BY_IDS = "SELECT * FROM model_family WHERE id = ANY($1::bigint[])"
# Updates read the row under a lock (the audit's "before"), then write every column guarded
# by the revision the client read, bumping it.
LOCK = "SELECT * FROM lab WHERE slug = $1 FOR UPDATE"
UPDATE = """
UPDATE lab
SET name = $3, country_code = $4, founded_year = $5, headquarters = $6, website = $7,
    description = $8, revision = revision + 1, updated_at = now()
WHERE id = $1 AND revision = $2
RETURNING *
"""
SET_ARCHIVED = """
UPDATE lab
SET archived_at = CASE WHEN $3 THEN now() END, revision = revision + 1, updated_at = now()
WHERE id = $1 AND revision = $2
RETURNING *
"""


async def insert(
    conn: Conn,
    *,
    slug: str,
    name: str,
    country_code: str | None,
    founded_year: int | None,
    headquarters: str | None,
    website: str | None,
    description: str | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        INSERT, slug, name, country_code, founded_year, headquarters, website, description
    )
    assert row is not None
    return row


async def insert_family(
    conn: Conn, *, slug: str, name: str, lab_id: int | None, description: str | None
) -> asyncpg.Record:
    row = await conn.fetchrow(INSERT_FAMILY, slug, name, lab_id, description)
    assert row is not None
    return row


async def by_slug(conn: Conn, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(BY_SLUG, slug)


async def by_ids(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(BY_IDS, ids)


async def families_by_ids(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(FAMILIES_BY_IDS, ids)


async def lock(conn: Conn, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK, slug)


async def update(
    conn: Conn,
    lab_id: int,
    revision: int,
    *,
    name: str,
    country_code: str | None,
    founded_year: int | None,
    headquarters: str | None,
    website: str | None,
    description: str | None,
) -> asyncpg.Record | None:
    """The updated row, or None when the revision is no longer `revision`."""
    return await conn.fetchrow(
        UPDATE,
        lab_id,
        revision,
        name,
        country_code,
        founded_year,
        headquarters,
        website,
        description,
    )


async def set_archived(
    conn: Conn, lab_id: int, revision: int, archived: bool
) -> asyncpg.Record | None:
    return await conn.fetchrow(SET_ARCHIVED, lab_id, revision, archived)
