"""Idempotency keys: the first response to a key, replayed to retries for 24 hours.

A row is claimed before the request runs, with the JSON `null` as its response: that marks
the request as in flight, so a concurrent retry can tell "running" from "done".
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from service.db import Conn

PURGE_EXPIRED = "DELETE FROM idempotency_key WHERE expires_at < now()"
CLAIM = """
INSERT INTO idempotency_key (key, actor, request_hash, response, expires_at)
VALUES ($1, $2, $3, 'null'::jsonb, now() + $4::interval)
ON CONFLICT (actor, key) DO NOTHING
RETURNING key
"""
FIND = """
SELECT request_hash, response, response = 'null'::jsonb AS in_flight,
       created_at < now() - $3::interval AS abandoned
FROM idempotency_key
WHERE key = $1 AND actor = $2
"""
# A claim whose request died without an answer (a crash, a lost connection) is taken over;
# the guard makes sure only one retry takes it.
TAKE_OVER = """
UPDATE idempotency_key SET created_at = now()
WHERE key = $1 AND actor = $2 AND request_hash = $3 AND response = 'null'::jsonb
  AND created_at < now() - $4::interval
RETURNING key
"""
STORE = "UPDATE idempotency_key SET response = $3 WHERE key = $1 AND actor = $2"
RELEASE = "DELETE FROM idempotency_key WHERE key = $1 AND actor = $2 AND response = 'null'::jsonb"


async def purge_expired(conn: Conn) -> None:
    await conn.execute(PURGE_EXPIRED)


async def claim(
    conn: Conn, key: str, actor: str, request_hash: bytes, lifetime: dt.timedelta
) -> bool:
    return await conn.fetchval(CLAIM, key, actor, request_hash, lifetime) is not None


async def find(
    conn: Conn, key: str, actor: str, abandoned_after: dt.timedelta
) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND, key, actor, abandoned_after)


async def take_over(
    conn: Conn, key: str, actor: str, request_hash: bytes, abandoned_after: dt.timedelta
) -> bool:
    taken = await conn.fetchval(TAKE_OVER, key, actor, request_hash, abandoned_after)
    return taken is not None


async def store(conn: Conn, key: str, actor: str, response: str) -> None:
    await conn.execute(STORE, key, actor, response)


async def release(conn: Conn, key: str, actor: str) -> None:
    await conn.execute(RELEASE, key, actor)
