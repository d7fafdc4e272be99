"""Sources: where a fact came from.

A source is identified by its URL when it has one (a page actually cited), otherwise by its
kind, title, publisher and date; the database enforces both (migration 0004).
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from service.db import Conn

INSERT = """
INSERT INTO source (url, title, publisher, published_on, kind)
VALUES ($1, $2, $3, $4, $5)
RETURNING *
"""
BY_IDS = "SELECT * FROM source WHERE id = ANY($1::bigint[])"
ID = "SELECT id FROM source WHERE id = $1"
BY_URL = "SELECT * FROM source WHERE url = $1"
BY_DETAILS = """
SELECT * FROM source
WHERE url IS NULL AND kind = $1 AND title = $2
  AND publisher IS NOT DISTINCT FROM $3 AND published_on IS NOT DISTINCT FROM $4
"""
# The columns that make two records the same source, as the input spells them.
DETAILS = ("url", "title", "publisher", "published_on", "kind")


async def insert(
    conn: Conn,
    *,
    url: str | None,
    title: str,
    publisher: str | None,
    published_on: dt.date | None,
    kind: str,
) -> asyncpg.Record:
    row = await conn.fetchrow(INSERT, url, title, publisher, published_on, kind)
    assert row is not None
    return row


async def by_ids(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(BY_IDS, ids)


async def exists(conn: Conn, source_id: int) -> int | None:
    return await conn.fetchval(ID, source_id)  # type: ignore[no-any-return]


async def with_identity(
    conn: Conn,
    *,
    url: str | None,
    title: str,
    publisher: str | None,
    published_on: dt.date | None,
    kind: str,
) -> asyncpg.Record | None:
    """The recorded source these details identify (by URL, or by the rest without one)."""
    if url is not None:
        return await conn.fetchrow(BY_URL, url)
    return await conn.fetchrow(BY_DETAILS, kind, title, publisher, published_on)
