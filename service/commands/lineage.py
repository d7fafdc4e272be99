"""Commands on lineage: link and unlink two models."""

from __future__ import annotations

import asyncpg

from service.commands.transaction import Citing, Written, audited, created, live_model
from service.db import Conn, lineage
from service.db.constraints import translated
from service.errors import CycleDetected, NotFound
from service.inputs import LineageLinkInput, UnlinkInput


async def link_models(conn: Conn, actor: str, data: LineageLinkInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        parent_id = await live_model(conn, data.parent, "parent")
        child_id = await live_model(conn, data.child, "child")
        if parent_id == child_id:
            raise CycleDetected("child", "a model cannot be its own parent")
        await lineage.lock_graph(conn)
        if await lineage.reaches(conn, child_id, parent_id):
            raise CycleDetected("child", f"{data.child} is already an ancestor of {data.parent}")
        source_id = await Citing(conn, actor, "linkModels").optional(data.source, "source")
        with translated("relation"):
            return await lineage.insert(
                conn,
                parent_id=parent_id,
                child_id=child_id,
                relation=data.relation,
                source_id=source_id,
                note=data.note,
            )

    return await created(conn, actor, "linkModels", "LineageLink", write)


async def unlink_models(conn: Conn, actor: str, data: UnlinkInput) -> asyncpg.Record:
    async def write() -> Written:
        parent_id = await live_model(conn, data.parent, "parent")
        child_id = await live_model(conn, data.child, "child")
        row = await lineage.delete(conn, parent_id, child_id, data.relation)
        if row is None:
            raise NotFound("relation", "these models are not linked by this relation")
        return Written(row, dict(row), None)

    return await audited(conn, actor, "unlinkModels", "LineageLink", write)
