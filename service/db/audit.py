"""The audit log: one row per successful write, written in the write's transaction."""

from __future__ import annotations

from typing import Any

from service.db import Conn

INSERT = """
INSERT INTO audit_event (actor, operation, entity_type, entity_id, before, after, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
"""


async def record(
    conn: Conn,
    *,
    actor: str,
    operation: str,
    entity_type: str,
    entity_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    request_id: str | None = None,
) -> int:
    event_id: int = await conn.fetchval(
        INSERT, actor, operation, entity_type, entity_id, before, after, request_id
    )
    return event_id
