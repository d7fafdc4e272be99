"""API tokens: only a SHA-256 digest and a display prefix are stored, never the token."""

from __future__ import annotations

import asyncpg

from service.db import Conn
from service.errors import AlreadyExists

INSERT = """
INSERT INTO api_token (name, role, token_prefix, token_hash)
VALUES ($1, $2, $3, $4)
"""
LIST = """
SELECT id, name, role, token_prefix, created_at, last_used_at, revoked_at
FROM api_token
ORDER BY name
"""
# `touch_due` is decided by the database clock, the same one that writes last_used_at.
BY_HASH = """
SELECT id, name, role, token_hash, revoked_at,
       (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') AS touch_due
FROM api_token
WHERE token_hash = $1
"""
# The guard repeats the once-a-minute rule so concurrent requests cannot both write.
TOUCH = """
UPDATE api_token SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
"""
# COALESCE keeps the first revocation time: revoking twice changes nothing.
REVOKE = """
UPDATE api_token SET revoked_at = COALESCE(revoked_at, now())
WHERE name = $1
RETURNING id, name, role, token_prefix, created_at, last_used_at, revoked_at
"""


async def insert(conn: Conn, *, name: str, role: str, token_prefix: str, token_hash: bytes) -> None:
    try:
        await conn.execute(INSERT, name, role, token_prefix, token_hash)
    except asyncpg.UniqueViolationError as exc:
        # A digest collision of two fresh 256-bit secrets is not a real case; the name is.
        raise AlreadyExists("name", f"a token named {name!r} already exists") from exc


async def list_all(conn: Conn) -> list[asyncpg.Record]:
    return await conn.fetch(LIST)


async def by_hash(conn: Conn, token_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(BY_HASH, token_hash)


async def touch(conn: Conn, token_id: int) -> None:
    await conn.execute(TOUCH, token_id)


async def revoke(conn: Conn, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow(REVOKE, name)
