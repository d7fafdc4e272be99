"""The Idempotency-Key header on mutations, as Stripe defines it.

The first request with a key runs and its response is stored for 24 hours under (actor, key)
with a hash of the request (query, variables, operation name). A retry with the same key and
the same request gets the stored response, byte for byte, without running again, and the
header `Idempotent-Replayed: true`; the same key with another request is refused with
IDEMPOTENCY_KEY_REUSED. A retry that arrives while the first request still runs is refused
with CONFLICT, as Stripe does, rather than waiting: the client retries a moment later.

Only mutations whose document passed every limit and validation rule take this path (the
caller asks service.graphql.documents, the same check every path uses), so a document is
never parsed or stored here before the limits ran. Only responses without GraphQL errors
are stored (a refused token or role, a malformed document, an internal error): those wrote
nothing, so a retry runs again. `userErrors` are
data, so a refused input is stored and replayed like a success. Expired keys are purged
lazily, whenever a key is used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable

import asyncpg
import orjson
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from service.db import idempotency
from service.errors import RegistryError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
LIFETIME = dt.timedelta(hours=24)
# A claim this old without a response belongs to a request that died; a retry takes it over.
ABANDONED_AFTER = dt.timedelta(minutes=5)
MAX_KEY_LENGTH = 255
REUSED = "IDEMPOTENCY_KEY_REUSED"
IN_PROGRESS = "CONFLICT"
INVALID = "INVALID"


class KeyRefused(RegistryError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def request_hash(data: GraphQLRequestData) -> bytes:
    canonical = {
        "query": data.query,
        "variables": data.variables or {},
        "operationName": data.operation_name,
    }
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).digest()


async def _claim_or_replay(pool: asyncpg.Pool, key: str, actor: str, digest: bytes) -> str | None:
    """None when this request may run; otherwise the stored response to replay."""
    async with pool.acquire() as conn:
        await idempotency.purge_expired(conn)
        # A key released between our claim and our look-up is claimable again: try twice.
        for _ in range(2):
            if await idempotency.claim(conn, key, actor, digest, LIFETIME):
                return None
            found = await idempotency.find(conn, key, actor, ABANDONED_AFTER)
            if found is None:
                continue
            if bytes(found["request_hash"]) != digest:
                raise KeyRefused("this Idempotency-Key was used with another request", REUSED)
            if not found["in_flight"]:
                response: str = found["response"]
                return response
            if found["abandoned"] and await idempotency.take_over(
                conn, key, actor, digest, ABANDONED_AFTER
            ):
                return None
            break
    raise KeyRefused("a request with this Idempotency-Key is still running; retry", IN_PROGRESS)


async def run_once(
    pool: asyncpg.Pool,
    key: str,
    actor: str,
    data: GraphQLRequestData,
    execute: Callable[[], Awaitable[ExecutionResult]],
    encode: Callable[[ExecutionResult], Awaitable[str]],
) -> tuple[ExecutionResult, bool]:
    """The result of `execute`, run at most once per key; True when it is a replay."""
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise KeyRefused(f"an Idempotency-Key has 1 to {MAX_KEY_LENGTH} characters", INVALID)
    stored = await _claim_or_replay(pool, key, actor, request_hash(data))
    if stored is not None:
        body = orjson.loads(stored)
        replay = ExecutionResult(
            data=body.get("data"), errors=None, extensions=body.get("extensions")
        )
        return replay, True
    try:
        result = await execute()
    except BaseException:
        async with pool.acquire() as conn:
            await idempotency.release(conn, key, actor)
        raise
    async with pool.acquire() as conn:
        if result.errors:
            await idempotency.release(conn, key, actor)
        else:
            # Kept as JSON text (a jsonb string): a jsonb object would reorder the fields,
            # and a replay must be the first response exactly.
            await idempotency.store(conn, key, actor, await encode(result))
    return result, False
