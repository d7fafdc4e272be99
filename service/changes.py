"""Listen for the database's change notifications: drop cached responses, wake subscribers.

One dedicated connection LISTENs on `registry_changes` (sent by triggers on every data table
when a writing transaction commits, with what the write touched: migration 0008); each drops
the cached answers that read what it names (service.dependencies). A payload `sync:TOKEN` is
no change: a mutation of this process sends it after its commit, and once it is heard, every
notification of that commit has been too (PostgreSQL delivers them in commit order).

While the connection is down, nobody would hear of other replicas' writes, so the cache is
switched off until it is back; subscribers wait, and are woken once it listens again, to
read what was committed meanwhile from the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from service.cache import ResponseCache
from service.dependencies import parse_payload
from service.fanout import Fanout

CHANNEL = "registry_changes"
SYNC = "sync:"
RETRY_SECONDS = 1.0

logger = logging.getLogger("service.changes")


class ChangeListener:
    # `dsn` is asked again on every reconnect: a restarted embedded server may have moved.
    def __init__(self, dsn: Callable[[], str], cache: ResponseCache | None, fanout: Fanout) -> None:
        self._dsn = dsn
        self._cache = cache
        self._fanout = fanout
        self._lost = asyncio.Event()

    def _on_change(self, connection: Any, pid: int, channel: str, payload: object) -> None:
        text = str(payload)
        if text.startswith(SYNC):
            if self._cache is not None:
                self._cache.heard(text[len(SYNC) :])
            return
        if self._cache is not None:
            self._cache.invalidate(parse_payload(text))
        self._fanout.advance()

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(self._dsn())
        try:
            self._lost.clear()
            conn.add_termination_listener(lambda _: self._lost.set())
            await conn.add_listener(CHANNEL, self._on_change)
            # Anything written before LISTEN took effect is unknown: start afresh, and let
            # subscribers read what they may have missed from the feed.
            if self._cache is not None:
                self._cache.invalidate()
                self._cache.enabled = True
            self._fanout.advance()
            await self._lost.wait()
        finally:
            # Lost (or stopped): writes from now on go unheard, so nothing kept may be served;
            # what was kept is dropped above once it listens again.
            if self._cache is not None:
                self._cache.enabled = False
            with contextlib.suppress(Exception):
                await conn.close()

    async def run(self) -> None:
        while True:
            try:
                await self._listen_once()
            except (
                OSError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,  # a connection lost mid-protocol
            ) as exc:
                logger.warning("change listener lost its connection (%s); retrying", exc)
            await asyncio.sleep(RETRY_SECONDS)


@contextlib.asynccontextmanager
async def listening(
    dsn: Callable[[], str], cache: ResponseCache | None, fanout: Fanout
) -> AsyncIterator[ChangeListener]:
    listener = ChangeListener(dsn, cache, fanout)
    task = asyncio.create_task(listener.run(), name="change-listener")
    try:
        yield listener
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
