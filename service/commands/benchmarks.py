"""Commands on benchmarks and their method versions."""

from __future__ import annotations

import asyncpg

from service.commands.transaction import Citing, created, require
from service.db import Conn, benchmarks, keys
from service.db.constraints import translated
from service.errors import ValidationFailed
from service.inputs import BenchmarkInput, BenchmarkVersionInput


async def create_benchmark(conn: Conn, actor: str, data: BenchmarkInput) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        with translated("slug"):
            return await benchmarks.insert(conn, **data.model_dump())

    return await created(conn, actor, "createBenchmark", "Benchmark", write)


async def create_benchmark_version(
    conn: Conn, actor: str, data: BenchmarkVersionInput
) -> asyncpg.Record:
    async def write() -> asyncpg.Record:
        benchmark_id = await require(
            keys.benchmark_id(conn, data.benchmark), "benchmark", "benchmark"
        )
        weights = []
        for index, component in enumerate(data.components):
            field = f"components.{index}.benchmark"
            component_id = await require(
                keys.benchmark_id(conn, component.benchmark), field, "benchmark"
            )
            if component_id == benchmark_id:
                raise ValidationFailed(field, "an index cannot be its own component")
            weights.append((component_id, component.weight))
        source_id = await Citing(conn, actor, "createBenchmarkVersion").optional(
            data.source, "source"
        )
        with translated("label"):
            row = await benchmarks.insert_version(
                conn,
                benchmark_id=benchmark_id,
                label=data.label,
                effective_on=data.effective_on,
                notes=data.notes,
                source_id=source_id,
            )
        await benchmarks.insert_components(conn, row["id"], weights)
        return row

    return await created(conn, actor, "createBenchmarkVersion", "BenchmarkVersion", write)
