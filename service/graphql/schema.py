"""The GraphQL schema: root fields, extensions and error masking."""

from __future__ import annotations

import logging
from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from service.db import labs, models
from service.graphql import rankings
from service.graphql.context import Info
from service.graphql.errors import ClientError
from service.graphql.rankings import CountryRanking, Leaderboard
from service.graphql.scalars import SCALAR_MAP
from service.graphql.types import Lab, Model

logger = logging.getLogger("service.graphql")

MAX_LIST = 100
MASKED_MESSAGE = "Internal server error."


@strawberry.type
class Query:
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

    leaderboard: Leaderboard = strawberry.field(
        resolver=rankings.leaderboard,
        description="Models ranked by their best eligible score on one benchmark version, as "
        "of a date (default today). Without benchmarkVersion, the version in effect then.",
    )
    country_ranking: CountryRanking = strawberry.field(
        resolver=rankings.country_ranking,
        description="One standing per country: its best eligible entry, as of a date.",
    )

    @strawberry.field(description="A model by its slug, archived or not.")
    async def model(self, info: Info, slug: str) -> Model | None:
        async with info.context.pool.acquire() as conn:
            row = await models.by_slug(conn, slug)
        return None if row is None else Model.from_record(row)


def _should_mask(error: GraphQLError) -> bool:
    # Parse and validation errors carry no original error and are safe to show; errors we
    # raise for clients are meant to be read; anything else is an unexpected failure.
    original = error.original_error
    return original is not None and not isinstance(original, ClientError)


class RegistrySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", "-")
        for error in errors:
            if _should_mask(error):
                logger.error(
                    "unexpected error in request %s at %s",
                    request_id,
                    error.path,
                    exc_info=error.original_error,
                )


def build_schema() -> RegistrySchema:
    return RegistrySchema(
        query=Query,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=[
            partial(ParserCache, maxsize=1024),
            partial(ValidationCache, maxsize=1024),
            partial(QueryDepthLimiter, max_depth=12),
            partial(MaxTokensLimiter, max_token_count=5000),
            partial(MaskErrors, should_mask_error=_should_mask, error_message=MASKED_MESSAGE),
        ],
    )
