"""A notification of no change, on the channel the triggers use (service.changes: `sync:`)."""

from __future__ import annotations

from service.db import Conn

SYNC = "SELECT pg_notify('registry_changes', 'sync:' || $1::text)"


async def sync(conn: Conn, token: str) -> None:
    await conn.execute(SYNC, token)
