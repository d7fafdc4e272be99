"""Commands on targets a lab states."""

from __future__ import annotations

import asyncpg

from service.commands.transaction import Citing, created, live_lab, live_model, require
from service.db import Conn, keys, targets
from service.db.constraints import translated
from service.inputs import TargetInput


async def state_target(conn: Conn, actor: str, data: TargetInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        lab_id = await live_lab(conn, data.lab, "lab")
        benchmark_id = await require(
            keys.benchmark_id(conn, data.benchmark), "benchmark", "benchmark"
        )
        model_id = None
        if data.model is not None:
            model_id = await live_model(conn, data.model, "model")
        source_id = await Citing(conn, actor, "stateTarget").required(data.source, "source")
        fields = data.model_dump(exclude={"lab", "benchmark", "model", "source"})
        with translated("dueOn"):
            return await targets.insert(
                conn,
                lab_id=lab_id,
                benchmark_id=benchmark_id,
                model_id=model_id,
                source_id=source_id,
                **fields,
            )

    return await created(conn, actor, "stateTarget", "Target", write)
