"""Run an aiohttp test server on its own event loop in a daemon thread.

The servers then work the same whichever event loop (or none) the test itself uses.
`LocalHTTPServer` is the lifecycle the test servers share (start, a free port, stop).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Self

from aiohttp import web


def start_loop_thread(
    setup: Callable[[], Awaitable[None]], name: str, timeout_s: float = 60
) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    """Start a loop in a thread, run `setup()` on it, and keep it running; raise if setup fails."""
    started = threading.Event()
    failure: list[BaseException] = []
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(setup())
        except BaseException as exc:
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    started.wait(timeout=timeout_s)
    if failure:
        raise RuntimeError(f"{name} failed to start") from failure[0]
    return loop, thread


class LocalHTTPServer:
    """An aiohttp app on 127.0.0.1 at a free port, served from its own loop thread; a context manager.

    A subclass adds its routes in `routes`; `opening` runs on the server's loop before it
    serves, `stopping` before the runner shuts down (to end what would hold it open) and
    `stopped` after (to release what the requests used).
    """

    thread_name = "local-http-server"
    timeout_s = 30.0  # to start, and to stop
    shutdown_timeout_s = 1.0  # how long the runner lets open requests finish
    client_max_size = 1024**2  # aiohttp's default request size limit

    def __init__(self) -> None:
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def opening(self) -> None:
        pass

    async def stopping(self) -> None:
        pass

    async def stopped(self) -> None:
        pass

    def start(self) -> Self:
        self._loop, self._thread = start_loop_thread(self._serve, self.thread_name, timeout_s=self.timeout_s)
        return self

    async def _serve(self) -> None:
        await self.opening()
        app = web.Application(client_max_size=self.client_max_size)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=self.shutdown_timeout_s)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            assert self._runner is not None
            await self.stopping()
            await self._runner.cleanup()
            await self.stopped()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=self.timeout_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
