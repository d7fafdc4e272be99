"""Commands on external ids."""

from __future__ import annotations

import asyncpg

from service.commands.transaction import created, live_lab, live_model
from service.db import Conn, external_ids
from service.db.constraints import translated
from service.inputs import ExternalIdInput


async def set_external_id(conn: Conn, actor: str, data: ExternalIdInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = model_id = None
        if data.subject.lab is not None:
            lab_id = await live_lab(conn, data.subject.lab, "subject.lab")
        if data.subject.model is not None:
            model_id = await live_model(conn, data.subject.model, "subject.model")
        with translated("externalKey"):
            return await external_ids.insert(
                conn,
                system=data.system,
                external_key=data.external_key,
                lab_id=lab_id,
                model_id=model_id,
            )

    return await created(conn, actor, "setExternalId", "ExternalId", write)
