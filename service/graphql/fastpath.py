"""The compiled path: documents the compiler covers skip per-field execution.

The same parse limits and validation rules as the normal path apply (so an invalid or
too-deep document always reaches graphql-core, which reports it); plans are cached by
document and operation name. A compiled answer is the `data` PostgreSQL built; when
there is none (not compilable, a variable that does not coerce, a root field that would
fail), None sends the request down the normal path.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asyncpg
import orjson
from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values
from strawberry.extensions.query_depth_limiter import create_validator

from service.graphql.compiler import NotCompilable, Plan, compile_operation

logger = logging.getLogger("service.graphql.fastpath")

MAX_TOKENS = 5000
MAX_DEPTH = 12
PLAN_CACHE_SIZE = 512


@dataclass(frozen=True)
class Compiled:
    plan: Plan
    operation: OperationDefinitionNode


class FastPath:
    def __init__(self, schema: GraphQLSchema) -> None:
        self._schema = schema
        self._rules = (*specified_rules, create_validator(MAX_DEPTH, None))
        self._plans: OrderedDict[tuple[str, str | None], Compiled | None] = OrderedDict()

    def compiled(self, query: str, operation_name: str | None) -> Compiled | None:
        key = (query, operation_name)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        found = self._compile(query, operation_name)
        self._plans[key] = found
        if len(self._plans) > PLAN_CACHE_SIZE:
            self._plans.popitem(last=False)
        return found

    def _compile(self, query: str, operation_name: str | None) -> Compiled | None:
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError:
            return None
        if validate(self._schema, document, self._rules):
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None:
            operations = [o for o in operations if o.name and o.name.value == operation_name]
        if len(operations) != 1:
            return None
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        try:
            plan = compile_operation(self._schema, operations[0], fragments)
        except NotCompilable:
            return None
        return Compiled(plan=plan, operation=operations[0])

    async def data(
        self,
        pool: asyncpg.Pool,
        query: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
    ) -> dict[str, Any] | None:
        compiled = self.compiled(query, operation_name)
        if compiled is None:
            return None
        coerced = get_variable_values(
            self._schema, compiled.operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            return None  # variable errors: graphql-core words them
        try:
            params = compiled.plan.bind(coerced.coerced)
        except NotCompilable:
            return None
        try:
            async with pool.acquire() as conn:
                text: str | None = await conn.fetchval(compiled.plan.sql, *params)
        except asyncpg.DataError:
            return None  # a value PostgreSQL refuses (a date out of range): the resolvers say so
        except asyncpg.PostgresError:
            # A compiler bug must not cost the user an answer: log it, take the normal path.
            logger.exception("compiled statement failed; falling back")
            return None
        if text is None:
            return None
        data: dict[str, Any] = orjson.loads(text)["data"]
        return data


@lru_cache(maxsize=PLAN_CACHE_SIZE)
def operation_kind(query: str, operation_name: str | None) -> OperationType | None:
    """Query or mutation, for the response cache; None when the document does not parse."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return operations[0].operation if len(operations) == 1 else None
