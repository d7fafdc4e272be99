"""Commands on sources."""

from __future__ import annotations

import asyncpg

from service.commands.transaction import created
from service.db import Conn, sources
from service.db.constraints import translated
from service.errors import AlreadyExists
from service.inputs import SourceInput


async def add_source(conn: Conn, actor: str, data: SourceInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        if await sources.with_identity(conn, **data.model_dump()) is not None:
            field = "url" if data.url is not None else "title"
            what = "URL" if data.url is not None else "kind, title, publisher and date"
            raise AlreadyExists(field, f"a source with this {what} is already recorded")
        with translated("url" if data.url is not None else "title"):
            return await sources.insert(conn, **data.model_dump())

    return await created(conn, actor, "addSource", "Source", write)
