"""Commands on models and model families: create, update, archive, restore."""

from __future__ import annotations

import asyncpg

from service.commands.transaction import (
    Written,
    audited,
    check_revision,
    created,
    live_lab,
    locked,
    merged,
    require,
    toggle_archived,
    updated,
)
from service.db import Conn, keys, labs, models
from service.db.constraints import translated
from service.errors import Archived
from service.inputs import ArchiveInput, ModelFamilyInput, ModelInput, ModelPatch


async def create_model_family(conn: Conn, actor: str, data: ModelFamilyInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = None
        if data.lab is not None:
            lab_id = await live_lab(conn, data.lab, "lab")
        with translated("slug"):
            return await labs.insert_family(
                conn, slug=data.slug, name=data.name, lab_id=lab_id, description=data.description
            )

    return await created(conn, actor, "createModelFamily", "ModelFamily", write)


async def create_model(conn: Conn, actor: str, data: ModelInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = await live_lab(conn, data.lab, "lab")
        family_id = None
        if data.family is not None:
            family_id = await require(keys.family_id(conn, data.family), "family", "family")
        fields = data.model_dump(exclude={"lab", "family"})
        with translated("slug"):
            return await models.insert(conn, lab_id=lab_id, family_id=family_id, **fields)

    return await created(conn, actor, "createModel", "Model", write)


_MODEL_COLUMNS = (
    "name",
    "family_id",
    "modality",
    "open_weights",
    "license",
    "training_origin",
    "description",
)


async def update_model(conn: Conn, actor: str, data: ModelPatch) -> asyncpg.Record:
    async def write() -> Written:
        before = await locked(models.lock(conn, data.slug), "slug", "model")
        if before["archived_at"] is not None or await keys.lab_archived(conn, before["lab_id"]):
            raise Archived("slug", "the model or its lab is archived; restore it first")
        check_revision(before, data.expected_revision)
        changes = data.changes()
        if "family" in changes:
            family = changes.pop("family")
            changes["family_id"] = (
                None
                if family is None
                else await require(keys.family_id(conn, family), "family", "family")
            )
        fields = merged(before, _MODEL_COLUMNS, changes)
        after = await models.update(conn, before["id"], data.expected_revision, **fields)
        return updated(before, after)

    return await audited(conn, actor, "updateModel", "Model", write)


async def archive_model(conn: Conn, actor: str, data: ArchiveInput) -> asyncpg.Record:
    async def write() -> Written:
        return await toggle_archived(
            conn,
            data,
            archive=True,
            lock=models.lock,
            set_archived=models.set_archived,
            what="model",
        )

    return await audited(conn, actor, "archiveModel", "Model", write)


async def restore_model(conn: Conn, actor: str, data: ArchiveInput) -> asyncpg.Record:
    async def write() -> Written:
        return await toggle_archived(
            conn,
            data,
            archive=False,
            lock=models.lock,
            set_archived=models.set_archived,
            what="model",
        )

    return await audited(conn, actor, "restoreModel", "Model", write)
