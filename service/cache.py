"""A response cache for queries, dropped whenever the data may have changed.

Entries are keyed by (generation, document, operation, variables, role, today's UTC date):
the two times an answer depends on are in the key. The valid time `asOf` is in the document or
its variables when given, and defaults to today: answers that default to "today" (rankings,
crossings, targets) change at midnight UTC with no write, so yesterday's entries are simply
never read again. The transaction time `knownAt` is in the document or its variables when
given, and defaults to the registry's latest write, which is what the generation stands for:
an answer computed before a write this replica knows of is never read after it. One that a
replica serves before it hears of another's write still says which write it was computed for
(its `knownAt`), and is the registry's answer for that time. The generation moves
on every local mutation and on every change notification from PostgreSQL (service.changes),
so no entry from before a known write is ever read again. A query records the generation it
started in and stores its answer under that one: an answer computed while a write landed is
filed under a generation that is already gone, never under the new one.

With a read replica (service.db.routing) an answer computed after an invalidation may still be
older than the write that caused it: the replica may not have replayed it yet. So each
generation is `settled` by the primary's WAL position taken after it began (None until
known), and only answers known to include that position are kept: the primary's, computed
once it was known, and the replica's, once it had replayed that far. A read that must see a
write past `settled` (its client's own) skips the cache.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import orjson

from service import clock

MAX_ENTRY_BYTES = 256 * 1024


def _texts(key: Hashable) -> list[str | bytes]:
    parts = key if isinstance(key, tuple) else (key,)
    return [part for part in parts if isinstance(part, str | bytes)]


class ResponseCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.generation = 0
        # Off until the change listener runs: without it, other replicas' writes go unseen.
        self.enabled = False
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0
        self.settled: int | None = None
        # Set on every invalidation, for service.db.routing to settle the new generation.
        self.changed = asyncio.Event()

    @staticmethod
    def key(
        query: str, operation: str | None, variables: dict[str, Any] | None, role: str
    ) -> Hashable:
        encoded = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
        return (query, operation, encoded, role, clock.today())

    def get(self, generation: int, key: Hashable) -> Any | None:
        if not self.enabled:
            return None
        found = self._entries.get((generation, key))
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end((generation, key))
        self.hits += 1
        return found[0]

    def put(self, generation: int, key: Hashable, data: Any) -> None:
        if not self.enabled or generation != self.generation:
            return
        # The key holds the document text: it counts as much as the answer does.
        size = len(orjson.dumps(data)) + sum(len(part) for part in _texts(key))
        if size > MAX_ENTRY_BYTES:
            return
        self._entries[(generation, key)] = (data, size)
        self._bytes += size
        while self._bytes > self.max_bytes and self._entries:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._bytes -= evicted

    def invalidate(self) -> None:
        self.generation += 1
        self.settled = None
        self._entries.clear()
        self._bytes = 0
        self.changed.set()

    def settle(self, generation: int, lsn: int) -> None:
        """`lsn`, taken after `generation` began, is what its answers must include."""
        if generation == self.generation:
            self.settled = lsn

    @staticmethod
    def includes(settled: int | None, replayed: int | None) -> bool:
        """Whether an answer read at `replayed` (None: from the primary) may be kept in a
        generation that was `settled` when the answer's computation began."""
        return settled is not None and (replayed is None or replayed >= settled)
