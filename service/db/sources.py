"""Sources: where a fact came from."""

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


async def insert(
    conn: Conn,
    *,
    url: str,
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
