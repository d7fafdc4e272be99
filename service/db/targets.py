"""Targets a lab stated; their status is derived from scores when read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg

from service.db import Conn

INSERT = """
INSERT INTO target (lab_id, benchmark_id, model_id, value, due_on, due_precision, stated_on,
                    source_id, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *
"""
FIND = "SELECT * FROM target WHERE lab_id = $1 AND benchmark_id = $2 AND value = $3 AND due_on = $4"


async def find(
    conn: Conn, lab_id: int, benchmark_id: int, value: Decimal, due_on: dt.date
) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND, lab_id, benchmark_id, value, due_on)


async def insert(
    conn: Conn,
    *,
    lab_id: int,
    benchmark_id: int,
    model_id: int | None,
    value: Decimal,
    due_on: dt.date,
    due_precision: str,
    stated_on: dt.date,
    source_id: int,
    note: str | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        INSERT,
        lab_id,
        benchmark_id,
        model_id,
        value,
        due_on,
        due_precision,
        stated_on,
        source_id,
        note,
    )
    assert row is not None
    return row
