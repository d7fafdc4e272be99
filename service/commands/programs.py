"""Commands on programmes and their participants' status."""

from __future__ import annotations

import asyncpg

from service.commands.transaction import Citing, created, live_lab, require
from service.db import Conn, keys, programs
from service.db.constraints import translated
from service.inputs import ParticipantStatusInput, ProgramInput


async def create_program(conn: Conn, actor: str, data: ProgramInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        source_id = await Citing(conn, actor, "createProgram").optional(data.source, "source")
        fields = data.model_dump(exclude={"country", "source"})
        with translated("slug"):
            return await programs.insert(
                conn, country_code=data.country, source_id=source_id, **fields
            )

    return await created(conn, actor, "createProgram", "Program", write)


async def set_participant_status(
    conn: Conn, actor: str, data: ParticipantStatusInput
) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        program_id = await require(keys.program_id(conn, data.program), "program", "program")
        lab_id = await live_lab(conn, data.lab, "lab")
        participant_id = await programs.ensure_participant(conn, program_id, lab_id)
        cite = Citing(conn, actor, "setParticipantStatus")
        source_id = await cite.optional(data.source, "source")
        with translated("effectiveOn"):
            return await programs.insert_status(
                conn,
                participant_id=participant_id,
                status=data.status,
                effective_on=data.effective_on,
                effective_precision=data.effective_precision,
                source_id=source_id,
                note=data.note,
            )

    return await created(conn, actor, "setParticipantStatus", "ParticipantStatus", write)
