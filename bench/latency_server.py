"""A fixed-latency OpenAI-compatible endpoint for the orchestration benchmark.

Not a model: every reply takes exactly `latency_s` and says the same thing (a plan, then
`\\boxed{42}`), so that what the benchmark measures is the pipeline around the teacher —
how many requests it keeps in flight and how much time it adds — not a model's speed.
The server integrates the number of requests in flight over time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from aiohttp import web


class LatencyServer:
    def __init__(self, latency_s: float = 0.2) -> None:
        self.latency_s = latency_s
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self._area = 0.0  # integral of in_flight dt
        self._last = None
        self.first_request = None
        self.last_response = None
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def _tick(self, delta: int) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self._area += self.in_flight * (now - self._last)
        self._last = now
        self.in_flight += delta
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    async def _handle(self, request: web.Request) -> web.Response:
        # The body is not parsed: a remote endpoint's CPU is not the pipeline's, and parsing
        # tens of KB of tool schemas here would charge it to the same two cores.
        raw = await request.read()
        self.requests += 1
        self.first_request = self.first_request or time.perf_counter()
        self._tick(+1)
        await asyncio.sleep(self.latency_s)
        self._tick(-1)
        self.last_response = time.perf_counter()
        # The plan turn is the one request sent without tools (see pipeline/agents/prompts.py).
        text = "Plan: compute it directly." if b'"tools"' not in raw else "The result is \\boxed{42}."
        return web.json_response(self._completion(text))

    @staticmethod
    def _completion(text: str) -> dict[str, Any]:
        return {
            "id": "bench",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "latency",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    def mean_in_flight(self) -> float:
        if self.first_request is None or self.last_response is None or self.last_response <= self.first_request:
            return 0.0
        return self._area / (self.last_response - self.first_request)

    def start(self) -> LatencyServer:
        ready = threading.Event()

        async def serve() -> None:
            app = web.Application()
            app.router.add_post("/v1/chat/completions", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=2048)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(30)
        return self

    def stop(self) -> None:
        if self._loop and self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

