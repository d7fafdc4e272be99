"""Persisted documents, by SHA-256 (hex) or by the id a frontend's build output gave them."""

from __future__ import annotations

import asyncpg

from service.db import Conn
from service.errors import AlreadyExists

FIND = "SELECT sha256, document, registered, cost FROM persisted_document WHERE sha256 = $1"
FIND_BY_ID = (
    "SELECT sha256, document, registered, cost FROM persisted_document WHERE document_id = $1"
)
# A document a client stored: never downgrades a registered one, which it may already be.
STORE = """
INSERT INTO persisted_document (sha256, document, registered, cost) VALUES ($1, $2, false, $3)
ON CONFLICT (sha256) DO NOTHING
"""
# The newest `$1` stored documents stay; registered ones are never trimmed.
TRIM_STORED = """
DELETE FROM persisted_document WHERE sha256 IN (
    SELECT sha256 FROM persisted_document WHERE NOT registered
    ORDER BY created_at DESC OFFSET $1)
"""
# Registering a stored document makes it registered, with the cost measured now.
REGISTER = """
INSERT INTO persisted_document (sha256, document, document_id, registered, cost)
VALUES ($1, $2, $3, true, $4)
ON CONFLICT (sha256) DO UPDATE SET
    registered = true,
    cost = EXCLUDED.cost,
    document_id = coalesce(EXCLUDED.document_id, persisted_document.document_id)
RETURNING (xmax = 0) AS inserted
"""
LIST = """
SELECT sha256, document_id, registered, cost, created_at, document FROM persisted_document
ORDER BY registered DESC, created_at, sha256
"""


async def find(conn: Conn, sha256: str) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND, sha256)


async def find_by_id(conn: Conn, document_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND_BY_ID, document_id)


async def store(conn: Conn, sha256: str, document: str, cost: int, keep: int) -> None:
    async with conn.transaction():
        await conn.execute(STORE, sha256, document, cost)
        await conn.execute(TRIM_STORED, keep)


async def register(
    conn: Conn, sha256: str, document: str, document_id: str | None, cost: int
) -> bool:
    """True when the document is new, False when it was there (stored, or registered)."""
    try:
        inserted: bool = await conn.fetchval(REGISTER, sha256, document, document_id, cost)
    except asyncpg.UniqueViolationError as exc:
        message = f"{document_id!r} already names another document"
        raise AlreadyExists("document_id", message) from exc
    return inserted


async def list_all(conn: Conn) -> list[asyncpg.Record]:
    return await conn.fetch(LIST)
