"""The GraphQL schema: root fields, the checked-document gate, and the error policy."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import asyncpg
import orjson
import strawberry
from graphql import GraphQLError, located_error
from graphql import OperationType as DocumentOperation
from starlette.requests import Request
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import StreamResult
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from service.cache import ResponseCache
from service.db import notify
from service.db.reads import READS, Reads
from service.dependencies import EVERYTHING, Scope
from service.graphql import errors
from service.graphql.audit import AdminQuery
from service.graphql.catalog import NODE_TYPES, CatalogQuery
from service.graphql.context import Context
from service.graphql.documents import PERSISTED_BYTES, PERSISTED_ENTRIES, Documents
from service.graphql.fastpath import FastPath
from service.graphql.feed import FeedQuery
from service.graphql.limits import Limits, check_variables
from service.graphql.lineage import LineageQuery
from service.graphql.mutations import Mutation
from service.graphql.rankings import RankingQuery
from service.graphql.scalars import SCALAR_MAP
from service.graphql.search import SearchQuery
from service.graphql.subscriptions import Subscription

if TYPE_CHECKING:
    from service.db.routing import Router

# How long a mutation waits to hear its own notifications before dropping every answer.
HEAR_SECONDS = 2.0


# The root Query is assembled from one class per concern; each module owns its fields.
@strawberry.type(
    description="Every read: the catalog (labs, models, benchmarks, programmes, sources), "
    "rankings as of any date, lineage, search, claims and the change feed."
)
class Query(CatalogQuery, RankingQuery, LineageQuery, SearchQuery, FeedQuery, AdminQuery):
    pass


class CheckedDocument(SchemaExtension):
    """Hands graphql-core execution the document RegistrySchema.execute already checked."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        schema = context.schema
        if isinstance(schema, RegistrySchema) and context.query:
            context.graphql_document = schema.documents.check(context.query).document
        yield

    def on_validate(self) -> Iterator[None]:
        # Only documents without errors get this far: nothing is left to validate.
        self.execution_context.pre_execution_errors = []
        yield


class RegistrySchema(strawberry.Schema):
    """The schema: limits and validation first, then the compiled path or execution."""

    def __init__(
        self,
        *args: Any,
        compiled: bool = True,
        cache: ResponseCache | None = None,
        limits: Limits | None = None,
        production: bool = False,
        introspection: bool = True,
        persisted_entries: int = PERSISTED_ENTRIES,
        persisted_bytes: int = PERSISTED_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits or Limits()
        self.production = production
        self.documents = Documents(
            self._schema,
            self.limits,
            introspection=introspection,
            suggestions=not production,
            persisted_entries=persisted_entries,
            persisted_bytes=persisted_bytes,
        )
        self.fast_path = FastPath(self.documents, keyed=cache is not None) if compiled else None
        self.response_cache = cache

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # strawberry would log every error with a traceback; execute() logs each error once,
        # as the error policy says (service.graphql.errors.log).
        return None

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        # graphql-core words "Did you mean ...?" into coercion errors; not in production.
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        return {**kwargs, "hide_suggestions": self.production}

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
        request_id = str(getattr(context_value, "request_id", "-"))
        checked = self.documents.check(query) if query else None
        if checked is not None and checked.errors:
            result = ExecutionResult(data=None, errors=list(checked.errors))
        else:
            try:
                result = await self._cached(
                    query,
                    variable_values,
                    context_value,
                    root_value,
                    operation_name,
                    allowed_operation_types,
                    operation_extensions,
                )
            except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
                raise  # the view answers these with HTTP 400
            except Exception as exc:  # noqa: BLE001 - the policy below decides what is shown
                result = ExecutionResult(data=None, errors=[located_error(exc)])
        if result.errors:
            result.errors = self._shown(result.errors, request_id)
        if checked is not None and checked.cost is not None:
            # What the request was charged, as GitHub's rateLimit.cost: frontends can see it.
            cost = {"requested": checked.cost, "budget": self.limits.max_cost}
            result.extensions = {**(result.extensions or {}), "cost": cost}
        return result

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> StreamResult:
        """What the WebSocket view runs: the checked document, the limits and the error policy
        of `execute`; a query or a mutation is answered by `execute` itself, once."""
        request_id = str(getattr(context_value, "request_id", "-"))
        checked = self.documents.check(query) if query else None
        if checked is not None and checked.errors:
            return _once(
                PreExecutionError(data=None, errors=self._shown(checked.errors, request_id))
            )
        problem = check_variables(variable_values, self.limits)
        if problem is not None:
            refused = errors.ClientError(problem, errors.Code.BAD_USER_INPUT)
            return _once(PreExecutionError(data=None, errors=[refused]))
        operation = checked.operation(operation_name) if checked is not None else None
        if operation is not None and operation.operation is not DocumentOperation.SUBSCRIPTION:
            result = await self.execute(
                query, variable_values, context_value, root_value, operation_name
            )
            return _once(result)
        source = await super().stream(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types,
        )
        return self._masked(source, request_id)

    async def _masked(self, source: StreamResult, request_id: str) -> StreamResult:
        async with contextlib.aclosing(source):
            async for result in source:
                if isinstance(result, ExecutionResult) and result.errors:
                    result.errors = self._shown(result.errors, request_id)
                yield result

    def _shown(self, found: list[GraphQLError], request_id: str) -> list[GraphQLError]:
        shown = [errors.for_client(error, request_id) for error in found]
        for original, client in zip(found, shown, strict=True):
            errors.log(original, client, request_id)
        return shown

    async def _cached(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None,
        context_value: Any | None,
        root_value: Any | None,
        operation_name: str | None,
        allowed_operation_types: Iterable[OperationType] | None,
        operation_extensions: dict[str, Any] | None,
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
        operation = self.documents.check(query).operation(operation_name) if query else None
        if operation is None or not query:
            return await answer()
        context = context_value if isinstance(context_value, Context) else None
        if operation.operation is DocumentOperation.MUTATION:
            result = await answer()
            if cache is not None:
                await _heard_own_writes(cache, context)
            return result
        router = None if context is None else context.router
        if cache is None:
            if context is not None and context.router is not None:
                context.use((await context.router.read(context.lsn)).pool)
            return await answer()
        principal = getattr(context_value, "principal", None)
        key = cache.key(
            query, operation_name, variable_values, str(getattr(principal, "role", None))
        )
        if context is not None and router is not None:
            return await self._routed(cache, key, router, context, answer)
        generation = cache.generation
        hit = cache.get(key)
        if hit is not None:
            return _raw(hit)
        result, scope = await _reading(context, answer)
        if not result.errors and result.data is not None:
            cache.put(generation, key, _text(result), scope)
        return result

    async def _routed(
        self,
        cache: ResponseCache,
        key: Hashable,
        router: Router,
        context: Context,
        answer: Callable[[], Awaitable[ExecutionResult]],
    ) -> ExecutionResult:
        """A query with a read replica (service.db.routing): on the replica unless the client's
        token (its own last write) is not replayed there in time; kept in the cache only when
        known to include the cache's last invalidation (service.cache)."""
        generation, settled = cache.generation, cache.settled
        # An entry that may not include the client's own write is not served to it.
        hit = cache.get(key, context.lsn)
        if hit is not None:
            return _raw(hit)
        read = await router.read(context.lsn, settled)
        context.use(read.pool)
        result, scope = await _reading(context, answer)
        if not result.errors and result.data is not None and cache.includes(settled, read.replayed):
            cache.put(generation, key, _text(result), scope, settled)
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
                return _raw(data)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )


async def _reading(
    context: Context | None, answer: Callable[[], Awaitable[ExecutionResult]]
) -> tuple[ExecutionResult, Scope | None]:
    """The answer, and the scope it read (service.db.reads)."""
    reads = Reads()
    token = READS.set(reads)
    try:
        result = await answer()
    finally:
        READS.reset(token)
    if context is None or not isinstance(context.request, Request):
        # Over a WebSocket, the operations of one connection share its DataLoaders: one may
        # be answered from rows another's statements read.
        return result, EVERYTHING
    return result, reads.scope()


async def _heard_own_writes(cache: ResponseCache, context: Context | None) -> None:
    """Before a mutation answers, this replica hears what it wrote, as another would (its
    notifications: service.changes), so that no read after it is answered from before it.
    Without the listener, or when the notifications do not come in time, all is dropped."""
    router = None if context is None else context.router
    pool = router.primary if router is not None else None if context is None else context.pool
    if not cache.enabled or pool is None:
        cache.invalidate()
        return
    token = secrets.token_hex(8)
    heard = cache.expect(token)
    try:
        async with pool.acquire() as conn:
            await notify.sync(conn, token)
        await asyncio.wait_for(heard, HEAR_SECONDS)
        # A change of nothing, so that the cache is settled again (service.db.routing) past
        # the sync's own commit too, which the client's token (X-Registry-Lsn) includes.
        cache.invalidate({})
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        cache.invalidate()
    finally:
        cache.forget(token)


@dataclasses.dataclass
class RawResult(ExecutionResult):
    """An answer whose `data` is JSON text (compiled or cached), as an orjson.Fragment: the
    response copies it in as it is, so it is neither parsed nor encoded again on its way out.
    `text` is that text, for the cache to keep."""

    text: str | bytes = b"null"


def _raw(text: str | bytes) -> RawResult:
    return RawResult(data=cast(dict[str, Any], orjson.Fragment(text)), errors=None, text=text)


def _text(result: ExecutionResult) -> str | bytes:
    # A compiled answer is text already; a resolved one is encoded once, when it is cached.
    return result.text if isinstance(result, RawResult) else orjson.dumps(result.data)


async def _once(result: ExecutionResult) -> AsyncGenerator[ExecutionResult, None]:
    yield result


def build_schema(
    *,
    compiled: bool = True,
    cache: ResponseCache | None = None,
    limits: Limits | None = None,
    production: bool = False,
    introspection: bool = True,
    persisted_entries: int = PERSISTED_ENTRIES,
    persisted_bytes: int = PERSISTED_BYTES,
) -> RegistrySchema:
    return RegistrySchema(
        compiled=compiled,
        cache=cache,
        limits=limits,
        production=production,
        introspection=introspection,
        persisted_entries=persisted_entries,
        persisted_bytes=persisted_bytes,
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Every Node type, also those a query reaches only through node(id:).
        types=list(NODE_TYPES.values()),
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        # Parsing, limits and validation happen once per document in Documents, for every
        # path; the error policy is applied in RegistrySchema.execute, also for every path.
        extensions=[CheckedDocument],
    )
