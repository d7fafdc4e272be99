"""Public programmes that select labs, and each participant's status over time."""

from __future__ import annotations

import datetime as dt

import asyncpg

from service.db import Conn

INSERT = """
INSERT INTO program (slug, name, sponsor, country_code, started_on, started_precision,
                     description, source_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING *
"""
ENSURE_PARTICIPANT = """
INSERT INTO program_participant (program_id, lab_id) VALUES ($1, $2)
ON CONFLICT (program_id, lab_id) DO UPDATE SET lab_id = EXCLUDED.lab_id
RETURNING id
"""
INSERT_STATUS = """
INSERT INTO participant_status_change (participant_id, status, effective_on, effective_precision,
                                       source_id, note)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *
"""
FIND_STATUS = """
SELECT * FROM participant_status_change WHERE participant_id = $1 AND effective_on = $2
"""


async def insert(
    conn: Conn,
    *,
    slug: str,
    name: str,
    sponsor: str,
    country_code: str,
    started_on: dt.date | None,
    started_precision: str | None,
    description: str | None,
    source_id: int | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        INSERT,
        slug,
        name,
        sponsor,
        country_code,
        started_on,
        started_precision,
        description,
        source_id,
    )
    assert row is not None
    return row


async def ensure_participant(conn: Conn, program_id: int, lab_id: int) -> int:
    participant_id: int = await conn.fetchval(ENSURE_PARTICIPANT, program_id, lab_id)
    return participant_id


async def find_status(
    conn: Conn, participant_id: int, effective_on: dt.date
) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND_STATUS, participant_id, effective_on)


async def insert_status(
    conn: Conn,
    *,
    participant_id: int,
    status: str,
    effective_on: dt.date,
    effective_precision: str,
    source_id: int | None,
    note: str | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        INSERT_STATUS, participant_id, status, effective_on, effective_precision, source_id, note
    )
    assert row is not None
    return row
