"""Benchmarks and indexes, their method versions and index components."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg

from service.db import Conn

INSERT = """
INSERT INTO benchmark (slug, name, publisher, url, scale_min, scale_max, higher_is_better,
                       is_independent, is_index, methodology)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *
"""
INSERT_VERSION = """
INSERT INTO benchmark_version (benchmark_id, label, effective_on, notes, source_id)
VALUES ($1, $2, $3, $4, $5)
RETURNING *
"""
INSERT_COMPONENT = """
INSERT INTO benchmark_component (benchmark_version_id, component_benchmark_id, weight)
VALUES ($1, $2, $3)
"""
BY_ID = "SELECT * FROM benchmark WHERE id = $1"
INDEXES = "SELECT * FROM benchmark WHERE is_index ORDER BY slug"
VERSIONS_BY_IDS = """
SELECT benchmark_version.*, benchmark.slug AS benchmark_slug, benchmark.name AS benchmark_name
FROM benchmark_version JOIN benchmark ON benchmark.id = benchmark_version.benchmark_id
WHERE benchmark_version.id = ANY($1::bigint[])
"""


async def insert(
    conn: Conn,
    *,
    slug: str,
    name: str,
    publisher: str | None,
    url: str | None,
    scale_min: Decimal,
    scale_max: Decimal,
    higher_is_better: bool,
    is_independent: bool,
    is_index: bool,
    methodology: str | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        INSERT,
        slug,
        name,
        publisher,
        url,
        scale_min,
        scale_max,
        higher_is_better,
        is_independent,
        is_index,
        methodology,
    )
    assert row is not None
    return row


async def insert_version(
    conn: Conn,
    *,
    benchmark_id: int,
    label: str,
    effective_on: dt.date,
    notes: str | None,
    source_id: int | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(INSERT_VERSION, benchmark_id, label, effective_on, notes, source_id)
    assert row is not None
    return row


async def insert_components(
    conn: Conn, version_id: int, weights: list[tuple[int, Decimal]]
) -> None:
    await conn.executemany(
        INSERT_COMPONENT, [(version_id, component, weight) for component, weight in weights]
    )


async def by_id(conn: Conn, benchmark_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(BY_ID, benchmark_id)


async def indexes(conn: Conn) -> list[asyncpg.Record]:
    return await conn.fetch(INDEXES)


async def versions_by_ids(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(VERSIONS_BY_IDS, ids)
