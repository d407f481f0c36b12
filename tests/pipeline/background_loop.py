"""Run an aiohttp test server on its own event loop in a daemon thread.

The servers then work the same whichever event loop (or none) the test itself uses.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable


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
