"""Models, their versions and the hardware each version targets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg

from service.db import Conn

# The orders of a lab's models, a model's versions and a version's hardware targets, over a
# table alias {t}: the loaders below and the compiled path (graphql/compiler/rules.py) both
# use them.
MODEL_ORDER = "{t}.slug"
# Versions in release order: dated ones by their first known date, then undated by id.
VERSION_ORDER = "COALESCE({t}.released_on, {t}.announced_on, {t}.planned_on) NULLS LAST, {t}.id"
HARDWARE_ORDER = "{t}.id"

INSERT = """
INSERT INTO model (slug, name, lab_id, family_id, modality, open_weights, license,
                   training_origin, description)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *
"""
INSERT_VERSION = """
INSERT INTO model_version (model_id, label, stage, promoted_from_id, announced_on, released_on,
                           released_precision, planned_on, planned_precision, total_parameters,
                           active_parameters, context_window, source_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING *
"""
INSERT_HARDWARE = """
INSERT INTO hardware_target (version_id, accelerator, accelerator_count, memory_gb, precision,
                             note, source_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *
"""
BY_SLUG = "SELECT * FROM model WHERE slug = $1"
BY_IDS = "SELECT * FROM model WHERE id = ANY($1::bigint[])"
VERSION_STAGE = "SELECT stage FROM model_version WHERE id = $1"
BY_LABS = f"""
SELECT * FROM model
WHERE lab_id = ANY($1::bigint[]) AND archived_at IS NULL
ORDER BY lab_id, {MODEL_ORDER.format(t="model")}
"""
VERSIONS_BY_MODELS = f"""
SELECT * FROM model_version
WHERE model_id = ANY($1::bigint[])
ORDER BY model_id, {VERSION_ORDER.format(t="model_version")}
"""
HARDWARE_BY_VERSIONS = f"""
SELECT * FROM hardware_target WHERE version_id = ANY($1::bigint[])
ORDER BY version_id, {HARDWARE_ORDER.format(t="hardware_target")}
"""
# Updates: read under a lock, write guarded by the revision the client read (see labs.py).
LOCK = "SELECT * FROM model WHERE slug = $1 FOR UPDATE"
UPDATE = """
UPDATE model
SET name = $3, family_id = $4, modality = $5, open_weights = $6, license = $7,
    training_origin = $8, description = $9, revision = revision + 1, updated_at = now()
WHERE id = $1 AND revision = $2
RETURNING *
"""
SET_ARCHIVED = """
UPDATE model
SET archived_at = CASE WHEN $3 THEN now() END, revision = revision + 1, updated_at = now()
WHERE id = $1 AND revision = $2
RETURNING *
"""
LOCK_VERSION = "SELECT * FROM model_version WHERE model_id = $1 AND label = $2 FOR UPDATE"
UPDATE_VERSION = """
UPDATE model_version
SET label = $3, announced_on = $4, released_on = $5, released_precision = $6, planned_on = $7,
    planned_precision = $8, total_parameters = $9, active_parameters = $10,
    context_window = $11, source_id = $12, revision = revision + 1, updated_at = now()
WHERE id = $1 AND revision = $2
RETURNING *
"""
BUMP_VERSION = """
UPDATE model_version SET revision = revision + 1, updated_at = now()
WHERE id = $1 AND revision = $2
RETURNING *
"""
DELETE_HARDWARE = "DELETE FROM hardware_target WHERE version_id = $1 RETURNING *"
# The preview to promote, locked so two promotions of it run one after the other.
LOCK_PREVIEW = """
SELECT version.id, version.stage,
       EXISTS (SELECT 1 FROM model_version AS final WHERE final.promoted_from_id = version.id)
           AS promoted
FROM model_version AS version
WHERE version.model_id = $1 AND version.label = $2
FOR UPDATE
"""


async def insert(
    conn: Conn,
    *,
    slug: str,
    name: str,
    lab_id: int,
    family_id: int | None,
    modality: str,
    open_weights: bool,
    license: str | None,
    training_origin: str,
    description: str | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        INSERT,
        slug,
        name,
        lab_id,
        family_id,
        modality,
        open_weights,
        license,
        training_origin,
        description,
    )
    assert row is not None
    return row


async def insert_version(
    conn: Conn,
    *,
    model_id: int,
    label: str,
    stage: str,
    promoted_from_id: int | None,
    announced_on: dt.date | None,
    released_on: dt.date | None,
    released_precision: str | None,
    planned_on: dt.date | None,
    planned_precision: str | None,
    total_parameters: int | None,
    active_parameters: int | None,
    context_window: int | None,
    source_id: int | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        INSERT_VERSION,
        model_id,
        label,
        stage,
        promoted_from_id,
        announced_on,
        released_on,
        released_precision,
        planned_on,
        planned_precision,
        total_parameters,
        active_parameters,
        context_window,
        source_id,
    )
    assert row is not None
    return row


async def insert_hardware(
    conn: Conn,
    *,
    version_id: int,
    accelerator: str,
    accelerator_count: int,
    memory_gb: Decimal | None,
    precision: str | None,
    note: str | None,
    source_id: int | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        INSERT_HARDWARE,
        version_id,
        accelerator,
        accelerator_count,
        memory_gb,
        precision,
        note,
        source_id,
    )
    assert row is not None
    return row


async def by_slug(conn: Conn, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(BY_SLUG, slug)


async def by_labs(conn: Conn, lab_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(BY_LABS, lab_ids)


async def versions_by_models(conn: Conn, model_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(VERSIONS_BY_MODELS, model_ids)


async def hardware_by_versions(conn: Conn, version_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(HARDWARE_BY_VERSIONS, version_ids)


async def version_stage(conn: Conn, version_id: int) -> str | None:
    return await conn.fetchval(VERSION_STAGE, version_id)  # type: ignore[no-any-return]


async def by_ids(conn: Conn, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(BY_IDS, ids)


async def lock(conn: Conn, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK, slug)


async def update(
    conn: Conn,
    model_id: int,
    revision: int,
    *,
    name: str,
    family_id: int | None,
    modality: str,
    open_weights: bool,
    license: str | None,
    training_origin: str | None,
    description: str | None,
) -> asyncpg.Record | None:
    """The updated row, or None when the revision is no longer `revision`."""
    return await conn.fetchrow(
        UPDATE,
        model_id,
        revision,
        name,
        family_id,
        modality,
        open_weights,
        license,
        training_origin,
        description,
    )


async def set_archived(
    conn: Conn, model_id: int, revision: int, archived: bool
) -> asyncpg.Record | None:
    return await conn.fetchrow(SET_ARCHIVED, model_id, revision, archived)


async def lock_version(conn: Conn, model_id: int, label: str) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK_VERSION, model_id, label)


async def update_version(
    conn: Conn,
    version_id: int,
    revision: int,
    *,
    label: str,
    announced_on: dt.date | None,
    released_on: dt.date | None,
    released_precision: str | None,
    planned_on: dt.date | None,
    planned_precision: str | None,
    total_parameters: int | None,
    active_parameters: int | None,
    context_window: int | None,
    source_id: int | None,
) -> asyncpg.Record | None:
    """The updated row, or None when the revision is no longer `revision`."""
    return await conn.fetchrow(
        UPDATE_VERSION,
        version_id,
        revision,
        label,
        announced_on,
        released_on,
        released_precision,
        planned_on,
        planned_precision,
        total_parameters,
        active_parameters,
        context_window,
        source_id,
    )


async def bump_version(conn: Conn, version_id: int, revision: int) -> asyncpg.Record | None:
    return await conn.fetchrow(BUMP_VERSION, version_id, revision)


async def delete_hardware(conn: Conn, version_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(DELETE_HARDWARE, version_id)


async def lock_preview(conn: Conn, model_id: int, label: str) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK_PREVIEW, model_id, label)
