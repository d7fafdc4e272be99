"""Commands on labs: create, update, archive, restore."""

from __future__ import annotations

import asyncpg

from service.commands.transaction import (
    Written,
    audited,
    check_revision,
    created,
    locked,
    merged,
    toggle_archived,
    updated,
)
from service.db import Conn, labs
from service.db.constraints import translated
from service.errors import Archived
from service.inputs import ArchiveInput, LabInput, LabPatch


async def create_lab(conn: Conn, actor: str, data: LabInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        fields = data.model_dump(exclude={"country"})
        with translated("slug"):
            return await labs.insert(conn, country_code=data.country, **fields)

    return await created(conn, actor, "createLab", "Lab", write)


_LAB_COLUMNS = ("name", "country_code", "founded_year", "headquarters", "website", "description")


async def update_lab(conn: Conn, actor: str, data: LabPatch) -> asyncpg.Record:
    async def write() -> Written:
        before = await locked(labs.lock(conn, data.slug), "slug", "lab")
        if before["archived_at"] is not None:
            raise Archived("slug", "the lab is archived; restore it first")
        check_revision(before, data.expected_revision)
        changes = data.changes()
        if "country" in changes:
            changes["country_code"] = changes.pop("country")
        fields = merged(before, _LAB_COLUMNS, changes)
        after = await labs.update(conn, before["id"], data.expected_revision, **fields)
        return updated(before, after)

    return await audited(conn, actor, "updateLab", "Lab", write)


async def archive_lab(conn: Conn, actor: str, data: ArchiveInput) -> asyncpg.Record:
    """Hide a lab from lists and refuse writes under it; it stays readable by slug."""

    async def write() -> Written:
        return await toggle_archived(
            conn, data, archive=True, lock=labs.lock, set_archived=labs.set_archived, what="lab"
        )

    return await audited(conn, actor, "archiveLab", "Lab", write)


async def restore_lab(conn: Conn, actor: str, data: ArchiveInput) -> asyncpg.Record:
    async def write() -> Written:
        return await toggle_archived(
            conn, data, archive=False, lock=labs.lock, set_archived=labs.set_archived, what="lab"
        )

    return await audited(conn, actor, "restoreLab", "Lab", write)
