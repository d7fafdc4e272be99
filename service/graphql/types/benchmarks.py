"""Benchmark, its method versions and an index's components."""

from __future__ import annotations

import datetime as dt

import strawberry

from service import ids
from service.graphql.context import Info
from service.graphql.types.shared import Node, Row


@strawberry.type(
    description="A version of a benchmark's method; scores of two never rank together."
)
class BenchmarkVersion(Node):
    label: str = strawberry.field(
        description="The method version's label, unique within its benchmark ('v4')."
    )
    effective_on: dt.date = strawberry.field(
        description="The day it took effect: rankings as of that day on use it."
    )
    benchmark_slug: str = strawberry.field(
        description="Its benchmark's slug (the same as benchmark.slug, without a lookup)."
    )
    benchmark_name: str = strawberry.field(
        description="Its benchmark's name (the same as benchmark.name, without a lookup)."
    )
    row_id: strawberry.Private[int]
    benchmark_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, row: Row) -> BenchmarkVersion:
        return cls(
            id=strawberry.ID(ids.encode("BenchmarkVersion", row["id"])),
            label=row["label"],
            effective_on=row["effective_on"],
            benchmark_slug=row["benchmark_slug"],
            benchmark_name=row["benchmark_name"],
            row_id=row["id"],
            benchmark_id=row["benchmark_id"],
        )

    @strawberry.field(description="The benchmark it is a version of.")
    async def benchmark(self, info: Info) -> Benchmark:
        row = await info.context.loaders.benchmark.load(self.benchmark_id)
        assert row is not None, "benchmark_version.benchmark_id is a foreign key"
        return Benchmark.from_record(row)

    @strawberry.field(description="For an index: the component benchmarks and their weights.")
    async def components(self, info: Info) -> list[BenchmarkComponent]:
        rows = await info.context.loaders.components_by_version.load(self.row_id)
        return [
            BenchmarkComponent(
                weight=float(row["weight"]), benchmark_id=row["component_benchmark_id"]
            )
            for row in rows
        ]


@strawberry.type(description="A benchmark's weight in an index version.")
class BenchmarkComponent:
    weight: float = strawberry.field(
        description="Its weight in the index, above 0 and at most 1; an index version's weights "
        "sum to 1."
    )
    benchmark_id: strawberry.Private[int]

    @strawberry.field(description="The component benchmark.")
    async def benchmark(self, info: Info) -> Benchmark:
        row = await info.context.loaders.benchmark.load(self.benchmark_id)
        assert row is not None, "benchmark_component refers to benchmarks by foreign key"
        return Benchmark.from_record(row)


@strawberry.type(description="An evaluation or an index (a weighted average of benchmarks).")
class Benchmark(Node):
    slug: str = strawberry.field(
        description="The benchmark's key, used by every reference to it ('aa-intelligence-index')."
    )
    name: str = strawberry.field(description="The benchmark's name.")
    publisher: str | None = strawberry.field(description="Who runs it; null when not known.")
    url: str | None = strawberry.field(description="Its page; null when not known.")
    scale_min: float = strawberry.field(
        description="The lowest score possible (0 for a 0-100 index)."
    )
    scale_max: float = strawberry.field(
        description="The highest score possible (100 for a 0-100 index)."
    )
    higher_is_better: bool = strawberry.field(description="Whether a higher score ranks better.")
    is_independent: bool = strawberry.field(description="Independent of the labs it measures.")
    is_index: bool = strawberry.field(
        description="Whether it is an index: a weighted average of component benchmarks (see "
        "versions.components)."
    )
    methodology: str | None = strawberry.field(
        description="How it is measured, for a person to read; null when not known."
    )
    row_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, row: Row) -> Benchmark:
        return cls(
            id=strawberry.ID(ids.encode("Benchmark", row["id"])),
            slug=row["slug"],
            name=row["name"],
            publisher=row["publisher"],
            url=row["url"],
            scale_min=float(row["scale_min"]),
            scale_max=float(row["scale_max"]),
            higher_is_better=row["higher_is_better"],
            is_independent=row["is_independent"],
            is_index=row["is_index"],
            methodology=row["methodology"],
            row_id=row["id"],
        )

    @strawberry.field(
        description="Method versions, oldest first; scores of two never rank together."
    )
    async def versions(self, info: Info) -> list[BenchmarkVersion]:
        rows = await info.context.loaders.versions_by_benchmark.load(self.row_id)
        return [BenchmarkVersion.from_record(row) for row in rows]
