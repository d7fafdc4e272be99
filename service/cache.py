"""A response cache for queries, each answer dropped when a write may have changed it.

Entries are keyed by (document, operation, variables, role, today's UTC date): the two times
an answer depends on are in the key. The valid time `asOf` is in the document or its
variables when given, and defaults to today: answers that default to "today" (rankings,
crossings, targets) change at midnight UTC with no write, so yesterday's entries are simply
never read again. The transaction time `knownAt` is in the document or its variables when
given, and defaults to the registry's latest write: an answer that shows it read
`transaction_clock`, which every writing transaction moves.

Each entry keeps the scope it read (service.dependencies: tables, and for some the keys of
the rows read, from the statements the request ran, service.db.reads). A write is known by
its scope, from this replica's own mutations and from every change notification from
PostgreSQL (service.changes); it drops the entries whose scope it meets, and only those.

Every known write also moves the `generation` on, and the last WRITES_KEPT writes are kept
with theirs. A query records the generation it started in; its answer is stored only if no
write known since then meets what it read (or if too many writes came to tell): an answer
computed while a relevant write landed is never stored as if it were current.

With a read replica (service.db.routing) an answer computed after a write was heard may
still be older than the write: the replica may not have replayed it yet. So each generation
is `settled` by the primary's WAL position taken after it began (None until known), and only
answers known to include that position are kept: the primary's, computed once it was known,
and the replica's, once it had replayed that far. Each entry keeps the position it includes
(`included`); a read that must see a write past it (its client's own) skips that entry.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import Any, NamedTuple

import orjson

from service import clock
from service.dependencies import EVERYTHING, Scope, meets

MAX_ENTRY_BYTES = 256 * 1024
# Writes remembered for queries in flight; one that started further back is not stored.
WRITES_KEPT = 256


def _texts(key: Hashable) -> list[str | bytes]:
    parts = key if isinstance(key, tuple) else (key,)
    return [part for part in parts if isinstance(part, str | bytes)]


class Entry(NamedTuple):
    data: str | bytes  # the answer's `data` as JSON text
    size: int
    scope: Scope | None
    included: int | None  # the primary's WAL position the answer includes; None: not known


class ResponseCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.generation = 0
        # Off until the change listener runs: without it, other replicas' writes go unseen.
        self.enabled = False
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._bytes = 0
        self._writes: deque[Scope | None] = deque(maxlen=WRITES_KEPT)
        self.hits = 0
        self.misses = 0
        self.settled: int | None = None
        # Set on every invalidation, for service.db.routing to settle the new generation.
        self.changed = asyncio.Event()
        # Mutations waiting to hear their own notifications (service.changes).
        self._waiting: dict[str, asyncio.Future[None]] = {}

    @staticmethod
    def key(
        query: str, operation: str | None, variables: dict[str, Any] | None, role: str
    ) -> Hashable:
        encoded = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
        return (query, operation, encoded, role, clock.today())

    def get(self, key: Hashable, lsn: int | None = None) -> str | bytes | None:
        """The answer's `data` kept for `key` as JSON text, if it includes the WAL position
        `lsn` (a client's own write; None: no such demand)."""
        if not self.enabled:
            return None
        found = self._entries.get(key)
        if found is None or (lsn is not None and (found.included or 0) < lsn):
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found.data

    def put(
        self,
        generation: int,
        key: Hashable,
        data: str | bytes,
        scope: Scope | None = EVERYTHING,
        included: int | None = None,
    ) -> None:
        """Keep an answer computed from `generation` on, which read `scope`; `data` is the
        answer's `data` as JSON text, which a hit's response copies in."""
        if not self.enabled or not self._unchanged(generation, scope):
            return
        # The key holds the document text: it counts as much as the answer does.
        size = len(data) + sum(len(part) for part in _texts(key))
        if size > MAX_ENTRY_BYTES:
            return
        self._drop(key)
        self._entries[key] = Entry(data, size, scope, included)
        self._bytes += size
        while self._bytes > self.max_bytes and self._entries:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size

    def _unchanged(self, generation: int, scope: Scope | None) -> bool:
        """Whether no write known since `generation` began meets `scope`."""
        missed = self.generation - generation
        if missed > len(self._writes):
            return False
        recent = itertools.islice(reversed(self._writes), missed)
        return not any(meets(scope, written) for written in recent)

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def invalidate(self, written: Scope | None = EVERYTHING) -> None:
        """A write of `written` (EVERYTHING: not known) is known: drop what it may change."""
        self.generation += 1
        self.settled = None
        self._writes.append(written)
        if written is EVERYTHING:
            self._entries.clear()
            self._bytes = 0
        else:
            stale = [key for key, entry in self._entries.items() if meets(entry.scope, written)]
            for key in stale:
                self._drop(key)
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

    def expect(self, token: str) -> asyncio.Future[None]:
        """A future done when the notification `token` is heard (`heard`)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        return future

    def heard(self, token: str) -> None:
        future = self._waiting.pop(token, None)
        if future is not None and not future.done():
            future.set_result(None)

    def forget(self, token: str) -> None:
        self._waiting.pop(token, None)
