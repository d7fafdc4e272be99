"""The GraphQL schema: root fields, extensions and error masking."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql import OperationType as DocumentOperation
from strawberry.extensions import (
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from service.cache import ResponseCache
from service.graphql.audit import AdminQuery
from service.graphql.catalog import NODE_TYPES, CatalogQuery
from service.graphql.errors import ClientError
from service.graphql.fastpath import FastPath, operation_kind
from service.graphql.lineage import LineageQuery
from service.graphql.mutations import Mutation
from service.graphql.rankings import RankingQuery
from service.graphql.scalars import SCALAR_MAP
from service.graphql.search import SearchQuery

logger = logging.getLogger("service.graphql")

MASKED_MESSAGE = "Internal server error."


# The root Query is assembled from one class per concern; each module owns its fields.
Query = merge_types("Query", (CatalogQuery, RankingQuery, LineageQuery, SearchQuery, AdminQuery))


def _should_mask(error: GraphQLError) -> bool:
    # Parse and validation errors carry no original error and are safe to show; errors we
    # raise for clients are meant to be read; anything else is an unexpected failure.
    original = error.original_error
    return original is not None and not isinstance(original, ClientError)


class RegistrySchema(strawberry.Schema):
    """The schema, with the compiled path in front of graphql-core's execution."""

    def __init__(
        self,
        *args: Any,
        compiled: bool = True,
        cache: ResponseCache | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fast_path = FastPath(self._schema) if compiled else None
        self.response_cache = cache

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        answer = partial(
            self._answer,
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )
        cache = self.response_cache
        if cache is None or not query:
            return await answer()
        kind = operation_kind(query, operation_name)
        if kind is None:
            return await answer()
        if kind is DocumentOperation.MUTATION:
            result = await answer()
            # This replica's own writes are known at once, before their notification arrives.
            cache.invalidate()
            return result
        assert query is not None
        principal = getattr(context_value, "principal", None)
        generation = cache.generation
        key = cache.key(
            query, operation_name, variable_values, str(getattr(principal, "role", None))
        )
        hit = cache.get(generation, key)
        if hit is not None:
            return ExecutionResult(data=hit, errors=None)
        result = await answer()
        if not result.errors and result.data is not None:
            cache.put(generation, key, result.data)
        return result

    async def _answer(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None,
        context_value: Any | None,
        root_value: Any | None,
        operation_name: str | None,
        allowed_operation_types: Iterable[OperationType] | None,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        pool = getattr(context_value, "pool", None)
        if self.fast_path is not None and query and pool is not None:
            data = await self.fast_path.data(pool, query, variable_values, operation_name)
            if data is not None:
                return ExecutionResult(data=data, errors=None)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )


def build_schema(*, compiled: bool = True, cache: ResponseCache | None = None) -> RegistrySchema:
    return RegistrySchema(
        compiled=compiled,
        cache=cache,
        query=Query,
        mutation=Mutation,
        # Every Node type, also those a query reaches only through node(id:).
        types=list(NODE_TYPES.values()),
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=[
            partial(ParserCache, maxsize=1024),
            partial(ValidationCache, maxsize=1024),
            partial(QueryDepthLimiter, max_depth=12),
            partial(MaxTokensLimiter, max_token_count=5000),
            partial(MaskErrors, should_mask_error=_should_mask, error_message=MASKED_MESSAGE),
        ],
    )
