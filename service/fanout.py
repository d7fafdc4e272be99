"""Wake this process's subscribers when the change feed may have advanced.

One LISTEN connection per process (service.changes) hears every replica's commits; each
notification, and each time that connection is (re)established, calls `Fanout.advance`. What
a subscriber receives always comes from the feed itself (`position > its last cursor`), never
from the notification: a wake-up carries no data, so a lost, doubled or late one can cost a
query but never an event, and what was written while the listener was down is read as soon
as it listens again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class Fanout:
    def __init__(self) -> None:
        self._waiting: set[asyncio.Event] = set()

    def advance(self) -> None:
        """The feed may have grown: every subscriber reads past its cursor again."""
        for event in self._waiting:
            event.set()

    @contextmanager
    def subscribed(self) -> Iterator[asyncio.Event]:
        """An event set by each advance from now on; clear it before reading the feed, so an
        advance during the read is not lost."""
        event = asyncio.Event()
        self._waiting.add(event)
        try:
            yield event
        finally:
            self._waiting.discard(event)

    def __len__(self) -> int:
        return len(self._waiting)
