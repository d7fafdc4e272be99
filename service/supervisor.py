"""Keep the embedded PostgreSQL running for as long as the service runs.

A watch task looks at the postmaster every `POLL_SECONDS`. When it has died (`kill -9`, the
OOM killer, or the other `registry serve` whose server this one had attached to has stopped),
the supervisor reaps it and starts it again, or attaches to the server another process started
meanwhile; both go through `EmbeddedPostgres.start()`, under the data dir's lock. A restart
keeps the port when it is free, so the pool's DSN stays valid; the restart hooks still run on
every restart (the pool drops its old connections, and follows the DSN if the port moved).

When the server cannot be started again (`ATTEMPTS` tries, or it died `CRASH_LIMIT` times in
`CRASH_WINDOW_SECONDS`), the supervisor gives up: `failure` says why, /healthz turns 503, and
`on_fatal` asks the process to exit non-zero so that whatever runs it can start it afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from service.errors import EmbeddedPostgresError

if TYPE_CHECKING:  # the embedded server is an optional extra, imported only when used
    from service.embedded import EmbeddedPostgres

POLL_SECONDS = 0.1
ATTEMPTS = 3
BACKOFF_SECONDS = 0.25  # doubled after each failed attempt
CRASH_LIMIT = 10  # deaths within the window: a crash loop, for the orchestrator to back off
CRASH_WINDOW_SECONDS = 60.0

logger = logging.getLogger("service.supervisor")

RestartHook = Callable[[str], Awaitable[None]]
FatalHook = Callable[[str], None]


class Supervisor:
    """Watches `server`, already answering on `dsn`: built by `start`, which starts it."""

    def __init__(
        self, server: EmbeddedPostgres, dsn: str, *, on_fatal: FatalHook | None = None
    ) -> None:
        self._server = server
        self._on_fatal = on_fatal
        self._hooks: list[RestartHook] = []
        self._deaths: deque[float] = deque(maxlen=CRASH_LIMIT)
        self.dsn = dsn  # the server's DSN (the last one known while it is down)
        self.up = True  # False from a death seen until the restart's hooks have run
        self.failure: str | None = None
        self._task = asyncio.create_task(self._watch(), name="embedded-postgres-supervisor")

    @classmethod
    async def start(
        cls, server: EmbeddedPostgres, *, on_fatal: FatalHook | None = None
    ) -> Supervisor:
        """Start `server` (or attach to it) and watch it from now on."""
        dsn = await asyncio.to_thread(server.start)
        return cls(server, dsn, on_fatal=on_fatal)

    def on_restart(self, hook: RestartHook) -> None:
        self._hooks.append(hook)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        # In a thread: a restart still running in one finishes first (the server's lock).
        await asyncio.to_thread(self._server.stop)

    async def _watch(self) -> None:
        while self.failure is None:
            await asyncio.sleep(POLL_SECONDS)
            if self._server.is_running():  # also reaps a server of ours that died
                continue
            self.up = False
            await self._restart()

    async def _restart(self) -> None:
        now = time.monotonic()
        self._deaths.append(now)
        if len(self._deaths) == CRASH_LIMIT and now - self._deaths[0] < CRASH_WINDOW_SECONDS:
            self._give_up(f"it died {CRASH_LIMIT} times within {CRASH_WINDOW_SECONDS:.0f} s")
            return
        if not self._server.has_cluster():
            # Starting would initialise a new, empty cluster: better no registry than a blank one.
            self._give_up("its data directory no longer holds a cluster")
            return
        logger.warning("the embedded PostgreSQL has stopped; starting it again")
        error: Exception | None = None
        for attempt in range(ATTEMPTS):
            if attempt:
                delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
                logger.warning("starting the embedded PostgreSQL again in %.2f s", delay)
                await asyncio.sleep(delay)
            try:
                self.dsn = await asyncio.to_thread(self._server.start)
            except (EmbeddedPostgresError, OSError) as exc:
                error = exc
                logger.warning("starting the embedded PostgreSQL failed: %s", exc)
                continue
            break
        else:
            self._give_up(str(error))
            return
        for hook in self._hooks:
            await hook(self.dsn)
        self.up = True
        logger.warning(
            "the embedded PostgreSQL is back (pid %s, %.2f s after it stopped)",
            self._server.pid,
            time.monotonic() - now,
        )

    def _give_up(self, reason: str) -> None:
        self.failure = f"the embedded PostgreSQL stopped and could not be started again: {reason}"
        logger.error("%s", self.failure)
        if self._on_fatal is not None:
            self._on_fatal(self.failure)
