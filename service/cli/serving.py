"""`registry serve`: the service until a signal ends it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING

from service.cli.common import EXIT_FAILED, say
from service.config import Settings

if TYPE_CHECKING:
    import socket

    import uvicorn

    from service.sockets import Sockets


def serve_command(settings: Settings, args: argparse.Namespace) -> int:
    settings = settings.model_copy(update={"host": args.host, "port": args.port})
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(_serve_async(settings))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:  # uvicorn's choice too: a C event loop where there is one
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve_async(settings: Settings) -> int:
    import uvicorn

    from service.app import create_app, serving

    server: uvicorn.Server | None = None
    failures: list[str] = []

    def on_fatal(reason: str) -> None:
        failures.append(reason)
        if server is not None:
            server.should_exit = True

    app = create_app(settings, on_fatal=on_fatal)
    async with serving(app) as served:  # start-up errors propagate: one line from main()
        config = uvicorn.Config(
            served,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            # Logging is set up once in main(): uvicorn's loggers propagate to that handler,
            # and the service writes its own access line per request (service/observability.py).
            log_config=None,
            access_log=False,
            lifespan="off",  # run by `serving` above
        )
        server = _server(config, app.state.sockets)
        with _signals_end_serving():
            if not failures:
                await server.serve()
    if failures:
        say(f"{failures[0]}; exiting so that whatever runs the registry can start it again")
        return EXIT_FAILED
    return 0


def _server(config: uvicorn.Config, websockets: Sockets | None) -> uvicorn.Server:
    """uvicorn's server, closing the WebSockets with 1001 (going away) first: its own shutdown
    would close them with 1012 (service restart). uvicorn is imported only to serve."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            if websockets is not None:
                await websockets.close_all()
            await super().shutdown(sockets)

    return Server(config)


@contextlib.contextmanager
def _signals_end_serving() -> Iterator[None]:
    """Let SIGINT and SIGTERM end `server.serve()`, and nothing more.

    uvicorn raises the signal that stopped it once more when it has finished, for the previous
    handler; that would kill us (SIGTERM) or cancel our task (SIGINT) before the lifespan has
    closed the pool and stopped the embedded server, so the previous handler ignores it.
    """

    def ignore(signum: int, frame: FrameType | None) -> None:
        return None

    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, ignore) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
