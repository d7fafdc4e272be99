"""Other registries' names for our labs and models."""

from __future__ import annotations

import asyncpg

from service.db import Conn

INSERT = """
INSERT INTO external_id (system, external_key, lab_id, model_id)
VALUES ($1, $2, $3, $4)
RETURNING *
"""
FIND = "SELECT * FROM external_id WHERE system = $1 AND external_key = $2"


async def find(conn: Conn, system: str, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND, system, key)


async def insert(
    conn: Conn,
    *,
    system: str,
    external_key: str,
    lab_id: int | None,
    model_id: int | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(INSERT, system, external_key, lab_id, model_id)
    assert row is not None
    return row
