"""Search: labs, models and benchmarks by name, tolerant of typos ("solr pro")."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry

from service.db import search
from service.graphql.context import Info
from service.graphql.errors import ClientError, Code
from service.graphql.types import Benchmark, Lab, Model

SearchResult = Annotated[
    Lab | Model | Benchmark,
    strawberry.union("SearchResult", description="A lab, a model or a benchmark found by name."),
]
MAX_RESULTS = 100
# Trigram similarity costs PostgreSQL time in proportion to the text: names are short.
MAX_TEXT = 200


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description="Labs, models and benchmarks whose name or slug resembles the text, "
        "best match first (trigram similarity)."
    )
    async def search(
        self,
        info: Info,
        text: Annotated[
            str,
            strawberry.argument(
                description=f"What to look for: a name or part of one, typos tolerated "
                f"('solr pro'); 1 to {MAX_TEXT} characters."
            ),
        ],
        first: Annotated[
            int, strawberry.argument(description=f"At most this many results (0 to {MAX_RESULTS}).")
        ] = 10,
    ) -> list[SearchResult]:
        if not 0 <= first <= MAX_RESULTS:
            raise ClientError(
                f"first must be between 0 and {MAX_RESULTS}", "OUT_OF_RANGE", field="first"
            )
        if not text.strip():
            raise ClientError("text must not be empty", "INVALID", field="text")
        if len(text) > MAX_TEXT:
            raise ClientError(
                f"text has {len(text)} characters; at most {MAX_TEXT}",
                Code.BAD_USER_INPUT,
                field="text",
            )
        async with info.context.pool.acquire() as conn:
            hits = await search.search(conn, text.strip(), first)
        loaders = info.context.loaders
        by_kind = {"Lab": loaders.lab, "Model": loaders.model, "Benchmark": loaders.benchmark}
        rows = await asyncio.gather(*(by_kind[hit["kind"]].load(hit["id"]) for hit in hits))
        build = {"Lab": Lab, "Model": Model, "Benchmark": Benchmark}
        return [
            build[hit["kind"]].from_record(row)  # type: ignore[attr-defined]
            for hit, row in zip(hits, rows, strict=True)
            if row is not None
        ]
