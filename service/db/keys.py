"""Resolve the human keys of the API (slugs and labels) to row ids."""

from __future__ import annotations

import datetime as dt

import asyncpg

from service.db import Conn

LAB_ID = "SELECT id FROM lab WHERE slug = $1"
MODEL_ID = "SELECT id FROM model WHERE slug = $1"
FAMILY_ID = "SELECT id FROM model_family WHERE slug = $1"
VERSION_ID = "SELECT id FROM model_version WHERE model_id = $1 AND label = $2"
BENCHMARK_ID = "SELECT id FROM benchmark WHERE slug = $1"
BENCHMARK_VERSION_ID = "SELECT id FROM benchmark_version WHERE benchmark_id = $1 AND label = $2"
BENCHMARK_VERSION_IN_EFFECT = """
SELECT id FROM benchmark_version
WHERE benchmark_id = $1 AND effective_on <= $2
ORDER BY effective_on DESC
LIMIT 1
"""
PROGRAM_ID = "SELECT id FROM program WHERE slug = $1"
PARTICIPANT_ID = "SELECT id FROM program_participant WHERE program_id = $1 AND lab_id = $2"
# Writers under a lab or model hold a share lock on it until they commit, so an archive
# (an UPDATE of that row) waits for them, and they see an archive committed before them.
LAB_STATE = """
SELECT id, archived_at IS NOT NULL AS archived FROM lab WHERE slug = $1 FOR SHARE
"""
LAB_ARCHIVED = "SELECT archived_at IS NOT NULL FROM lab WHERE id = $1 FOR SHARE"
MODEL_STATE = """
SELECT model.id, (model.archived_at IS NOT NULL OR lab.archived_at IS NOT NULL) AS archived
FROM model JOIN lab ON lab.id = model.lab_id
WHERE model.slug = $1
FOR SHARE OF model, lab
"""


async def lab_id(conn: Conn, slug: str) -> int | None:
    return await conn.fetchval(LAB_ID, slug)  # type: ignore[no-any-return]


async def model_id(conn: Conn, slug: str) -> int | None:
    return await conn.fetchval(MODEL_ID, slug)  # type: ignore[no-any-return]


async def family_id(conn: Conn, slug: str) -> int | None:
    return await conn.fetchval(FAMILY_ID, slug)  # type: ignore[no-any-return]


async def version_id(conn: Conn, model_id: int, label: str) -> int | None:
    return await conn.fetchval(VERSION_ID, model_id, label)  # type: ignore[no-any-return]


async def benchmark_id(conn: Conn, slug: str) -> int | None:
    return await conn.fetchval(BENCHMARK_ID, slug)  # type: ignore[no-any-return]


async def benchmark_version_id(conn: Conn, benchmark_id: int, label: str) -> int | None:
    return await conn.fetchval(BENCHMARK_VERSION_ID, benchmark_id, label)  # type: ignore[no-any-return]


async def benchmark_version_in_effect(conn: Conn, benchmark_id: int, on: dt.date) -> int | None:
    return await conn.fetchval(BENCHMARK_VERSION_IN_EFFECT, benchmark_id, on)  # type: ignore[no-any-return]


async def program_id(conn: Conn, slug: str) -> int | None:
    return await conn.fetchval(PROGRAM_ID, slug)  # type: ignore[no-any-return]


async def participant_id(conn: Conn, program_id: int, lab_id: int) -> int | None:
    return await conn.fetchval(PARTICIPANT_ID, program_id, lab_id)  # type: ignore[no-any-return]


async def lab_state(conn: Conn, slug: str) -> asyncpg.Record | None:
    """The lab's id and whether it is archived, share-locked until the transaction ends."""
    return await conn.fetchrow(LAB_STATE, slug)


async def model_state(conn: Conn, slug: str) -> asyncpg.Record | None:
    """The model's id and whether it or its lab is archived, share-locked like lab_state."""
    return await conn.fetchrow(MODEL_STATE, slug)


async def lab_archived(conn: Conn, lab_id: int) -> bool:
    return bool(await conn.fetchval(LAB_ARCHIVED, lab_id))
