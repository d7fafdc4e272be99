"""Failed authentications per client address: after N in a minute, the address waits.

A fixed one-minute window per address, in memory, per replica (each replica throttles on its
own: a guesser spread over replicas gets N per replica, still nowhere near a 256-bit secret).
The table is bounded: when full, the oldest windows go first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 10_000


class AuthThrottle:
    def __init__(
        self, failures_per_window: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures_per_window = failures_per_window
        self._clock = clock
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def retry_after(self, address: str) -> int | None:
        """Seconds this address must wait before trying again; None when it may try now."""
        found = self._windows.get(address)
        if found is None:
            return None
        started, failures = found
        left = started + WINDOW_SECONDS - self._clock()
        if left <= 0:
            del self._windows[address]
            return None
        return math.ceil(left) if failures >= self.failures_per_window else None

    def failed(self, address: str) -> None:
        now = self._clock()
        started, failures = self._windows.pop(address, (now, 0))
        if started + WINDOW_SECONDS <= now:
            started, failures = now, 0
        self._windows[address] = (started, failures + 1)
        while len(self._windows) > MAX_ADDRESSES:
            self._windows.popitem(last=False)
