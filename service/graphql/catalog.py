"""Catalog reads: labs, models and their versions."""

from __future__ import annotations

import strawberry

from service.db import labs, models
from service.graphql.context import Info
from service.graphql.errors import ClientError
from service.graphql.types import Lab, Model

MAX_LIST = 100


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Labs that are not archived, by slug (at most 100).")
    async def labs(self, info: Info, first: int = MAX_LIST) -> list[Lab]:
        if not 0 <= first <= MAX_LIST:
            raise ClientError(f"first must be between 0 and {MAX_LIST}", "OUT_OF_RANGE")
        async with info.context.pool.acquire() as conn:
            rows = await labs.list_visible(conn, first)
        return [Lab.from_record(row) for row in rows]

    @strawberry.field(description="A lab by its slug, archived or not.")
    async def lab(self, info: Info, slug: str) -> Lab | None:
        async with info.context.pool.acquire() as conn:
            row = await labs.by_slug(conn, slug)
        return None if row is None else Lab.from_record(row)

    @strawberry.field(description="A model by its slug, archived or not.")
    async def model(self, info: Info, slug: str) -> Model | None:
        async with info.context.pool.acquire() as conn:
            row = await models.by_slug(conn, slug)
        return None if row is None else Model.from_record(row)
