"""The compiled path: documents the compiler covers skip per-field execution.

Documents come from service.graphql.documents, checked once with the same limits and
validation rules as the normal path (an invalid or too costly document always takes the
normal path, which reports it); plans are kept beside the checked document, per operation
name. A compiled answer is the `data` PostgreSQL built, as the compact JSON text it wrote,
which the response carries without parsing and encoding it again (RegistrySchema wraps it in
an orjson.Fragment, which every orjson.dumps of a response copies in as it is). When there
is none (not compilable, a variable that does not coerce, a root field that would fail), None
sends the request down the normal path. A database that cannot be reached raises, as on
every other path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NamedTuple

import asyncpg
import orjson
from graphql import DocumentNode, FragmentDefinitionNode, OperationDefinitionNode
from graphql.execution.values import get_variable_values

from service.db.reads import READS
from service.graphql.compiler import Plan, compile_operation
from service.graphql.compiler.builder import NotCompilable
from service.graphql.compiler.rules import MARK, Reencode
from service.graphql.documents import Documents

logger = logging.getLogger(__name__)


def _narrow(plan: Plan, row: asyncpg.Record | None) -> None:
    """Tell the request's reads (service.db.reads) what the statement read, by its plan."""
    reads = READS.get()
    if reads is not None and row is not None:
        reads.narrow(plan.sql, plan.scope(orjson.loads(row[1])))


class Compiled(NamedTuple):
    plan: Plan
    operation: OperationDefinitionNode


class FastPath:
    def __init__(self, documents: Documents, *, keyed: bool) -> None:
        """`keyed`: whether a statement finds what it read row by row (compile_operation),
        which only a response cache uses."""
        self._documents = documents
        self._schema = documents.schema
        self._keyed = keyed

    def compiled(self, query: str, operation_name: str | None) -> Compiled | None:
        checked = self._documents.check(query)
        if checked.document is None or checked.errors:
            return None
        key = (FastPath, self._keyed, operation_name)
        if key not in checked.derived:
            checked.derived[key] = self._compile(checked.document, operation_name)
        found: Compiled | None = checked.derived[key]
        return found

    def _compile(self, document: DocumentNode, operation_name: str | None) -> Compiled | None:
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None:
            operations = [o for o in operations if o.name and o.name.value == operation_name]
        if len(operations) != 1:
            return None
        (operation,) = operations
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        try:
            plan = compile_operation(self._schema, operation, fragments, keyed=self._keyed)
        except NotCompilable:
            return None
        return Compiled(plan=plan, operation=operation)

    async def data(
        self,
        pool: asyncpg.Pool,
        query: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
    ) -> str | bytes | None:
        compiled = self.compiled(query, operation_name)
        if compiled is None:
            return None
        definitions = compiled.operation.variable_definitions
        values: dict[str, Any] = {}
        if definitions:  # without any, graphql-core would coerce nothing and return {}
            coerced = get_variable_values(self._schema, definitions, dict(variables or {}))
            if isinstance(coerced, list):
                return None  # variable errors: graphql-core words them
            values = coerced.coerced
        try:
            plan = compiled.plan.pick(values)
            params = plan.bind(values)
        except NotCompilable:
            return None
        try:
            async with pool.acquire() as conn:
                row = await conn.fetchrow(plan.sql, *params)
        except asyncpg.DataError:
            return None  # a value PostgreSQL refuses (a date out of range): the resolvers say so
        except (asyncpg.QueryCanceledError, asyncpg.PostgresConnectionError):
            raise  # too slow, or the server went away: the normal path would fare no better
        except asyncpg.PostgresError as exc:
            # A compiler bug must not cost the user an answer: take the normal path, which
            # logs the traceback if it fails too (one fault, one traceback).
            logger.warning("compiled statement failed, falling back: %r", exc)
            return None
        _narrow(plan, row)
        text: str | None = None if row is None else row[0]
        if text is None:
            return None
        if plan.reencode is Reencode.ALWAYS or (
            plan.reencode is Reencode.IF_MARKED and MARK in text
        ):
            # jsonb with spaces, floats as `1e-05`: written as the resolvers write them.
            return orjson.dumps(orjson.loads(text.replace(MARK, "")))
        return text
