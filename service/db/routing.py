"""Reads on the read replica, writes on the primary, and a client's own writes visible to it.

With DATABASE_READ_URL (one streaming replica, a hot standby of DATABASE_URL), queries read
from the replica and everything else (mutations, authentication, persisted documents, the
change listener) stays on the primary. The replica lags the primary by however much WAL it
has not replayed yet, so:

- A mutation's answer carries the primary's WAL position after its commit (`written`), as
  the `X-Registry-Lsn` header and `extensions.lsn`. Every transaction committed before it
  ends at or before that position: the insert position, not the write or flush one, which
  lag it under `synchronous_commit = off`.
- A read that sends that token back (the header) goes to the replica once the replica has
  replayed past it (`pg_last_wal_replay_lsn()`), waiting up to REGISTRY_REPLICA_WAIT_MS;
  otherwise it reads from the primary. It never answers from before the write.
- The response cache (service.cache) asks `read` how current an answer is and keeps only those
  at least as current as its last invalidation (see RegistrySchema._cached).

Replay only moves forward, so the furthest position seen (`replayed`) stays true and most
reads cost no extra statement. That holds for one server: DATABASE_READ_URL must name one
replica (a proxy spreading connections over several would mix their positions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import NamedTuple

import asyncpg

from service.cache import ResponseCache

HEADER = "x-registry-lsn"
POLL_SECONDS = 0.005
RETRY_SECONDS = 1.0

# ::text: the form clients see ("16/B374D848"); NULL on a server that is not in recovery.
WRITTEN = "SELECT pg_current_wal_insert_lsn()::text"
REPLAYED = "SELECT pg_last_wal_replay_lsn()::text"
IN_RECOVERY = "SELECT pg_is_in_recovery()"

logger = logging.getLogger("service.routing")


def parse_lsn(text: str) -> int | None:
    """A WAL position as PostgreSQL writes it (`16/B374D848`), or None if it is not one."""
    high, slash, low = text.strip().partition("/")
    # An empty half is refused by int() below; a longer one would be past 64 bits.
    if not slash or len(high) > 8 or len(low) > 8:
        return None
    try:
        return int(high, 16) << 32 | int(low, 16)
    except ValueError:
        return None


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


class Read(NamedTuple):
    """Where a query reads, and the WAL position its answer is known to include at least;
    None: it reads the primary, which is current."""

    pool: asyncpg.Pool
    replayed: int | None


class Router:
    def __init__(
        self,
        primary: asyncpg.Pool,
        replica: asyncpg.Pool,
        *,
        wait_seconds: float,
        on_read: Callable[[str], None] | None = None,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.wait_seconds = wait_seconds
        self._on_read = on_read or (lambda server: None)
        self.replayed = 0  # the furthest replay position seen on the replica
        self._asking: asyncio.Future[None] | None = None

    async def written(self) -> int:
        """The primary's WAL position now: all that committed so far ends at or before it."""
        async with self.primary.acquire() as conn:
            found = parse_lsn(await conn.fetchval(WRITTEN))
        assert found is not None, "pg_current_wal_insert_lsn() is never NULL on a primary"
        return found

    async def read(self, token: int | None, settled: int | None = None) -> Read:
        """The pool a query reads from: the replica unless it has not replayed `token` in time.

        `settled` (the response cache's, service.cache): the replica's position is looked up
        once more when it is not known to be past it, so that the answer can be kept.
        """
        if token is not None and not await self.reached(token, wait_seconds=self.wait_seconds):
            self._on_read("primary")
            return Read(self.primary, None)
        if settled is not None:
            await self.reached(settled, wait_seconds=0)
        self._on_read("replica")
        return Read(self.replica, self.replayed)

    async def reached(self, lsn: int, *, wait_seconds: float) -> bool:
        """Whether the replica has replayed up to `lsn`, waiting up to `wait_seconds` for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while self.replayed < lsn:
            try:
                await self._ask()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("cannot read the replica's replay position (%s)", exc)
                return False
            if self.replayed >= lsn or loop.time() >= deadline:
                break
            await asyncio.sleep(POLL_SECONDS)
        return self.replayed >= lsn

    async def _ask(self) -> None:
        # Concurrent readers share one statement rather than each sending their own.
        if self._asking is None or self._asking.done():
            self._asking = asyncio.ensure_future(self._replayed_now())
        await asyncio.shield(self._asking)

    async def _replayed_now(self) -> None:
        async with self.replica.acquire() as conn:
            text: str | None = await conn.fetchval(REPLAYED)
        # NULL: not a replica (promoted, or misconfigured); it never counts as caught up.
        found = None if text is None else parse_lsn(text)
        if found is not None:
            self.replayed = max(self.replayed, found)

    async def check(self) -> None:
        """Warn once at start when DATABASE_READ_URL is no standby: own reads then go to the
        primary and its answers are never cached."""
        async with self.replica.acquire() as conn:
            if not await conn.fetchval(IN_RECOVERY):
                logger.warning(
                    "DATABASE_READ_URL is not a standby (pg_is_in_recovery() is false): reads "
                    "after a write go to the primary and replica answers are never cached"
                )


async def _settle(router: Router, cache: ResponseCache) -> None:
    while True:
        await cache.changed.wait()
        cache.changed.clear()
        generation = cache.generation
        try:
            lsn = await router.written()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            logger.warning("cannot read the primary's WAL position (%s); retrying", exc)
            cache.changed.set()
            await asyncio.sleep(RETRY_SECONDS)
            continue
        cache.settle(generation, lsn)


@contextlib.asynccontextmanager
async def settling(router: Router, cache: ResponseCache) -> AsyncIterator[None]:
    """After every invalidation, tell the cache the primary's position (service.cache)."""
    task = asyncio.create_task(_settle(router, cache), name="cache-settler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
