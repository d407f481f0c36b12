"""A fixed-latency OpenAI-compatible endpoint for the orchestration benchmark.

Not a model: every reply takes exactly `latency_s` and says the same thing (a plan, then
`\\boxed{42}`), so that what the benchmark measures is the pipeline around the teacher —
how many requests it keeps in flight and how much time it adds — not a model's speed.
The server integrates the number of requests in flight over time.

Two ways to run it: `LatencyServer(...).start()` serves from a thread of the calling
process; `LatencyServerProcess(...)` serves from a process of its own (`python -m
bench.latency_server`), so that a client in the calling process does not share its
interpreter lock with the server, and reads the counters over `GET /stats` (`POST
/reset` clears them between clients).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web


class LatencyServer:
    def __init__(self, latency_s: float = 0.2, port: int = 0) -> None:
        self.latency_s = latency_s
        self.port = port
        self.reset()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def reset(self) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self.request_bytes = 0
        self._area = 0.0  # integral of in_flight dt
        self._last = None
        self.first_request = None
        self.last_response = None

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
        self.request_bytes += len(raw)
        self.first_request = self.first_request or time.perf_counter()
        self._tick(+1)
        await asyncio.sleep(self.latency_s)
        self._tick(-1)
        self.last_response = time.perf_counter()
        # The plan turn is the one request sent without tools (see pipeline/agents/prompts.py).
        text = "Plan: compute it directly." if b'"tools"' not in raw else "The result is \\boxed{42}."
        return web.json_response(self._completion(text))

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({})

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

    def stats(self) -> dict[str, Any]:
        """The counters since the last reset; `serving_s` runs from the first request in to the last reply out."""
        serving = (self.last_response - self.first_request) if self.first_request and self.last_response else 0.0
        return {
            "latency_s": self.latency_s,
            "requests": self.requests,
            "request_bytes": self.request_bytes,
            "serving_s": serving,
            "mean_in_flight": self.mean_in_flight(),
            "max_in_flight": self.max_in_flight,
            "in_flight": self.in_flight,
        }

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_get("/stats", self._stats)
        app.router.add_post("/reset", self._reset)
        return app

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=4096)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def start(self) -> LatencyServer:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve())
            ready.set()
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


class LatencyServerProcess:
    """The same server in a child process; its counters come back over HTTP."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        root = Path(__file__).resolve().parents[1]
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.latency_server", "--latency", str(latency_s)],
            cwd=root, stdout=subprocess.PIPE, text=True,
        )
        line = self._process.stdout.readline() if self._process.stdout else ""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"the latency server did not start (it printed {line!r})")
        self.port = int(line)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _call(self, method: str, path: str) -> dict[str, Any]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def reset(self) -> None:
        self._call("POST", "/reset")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> LatencyServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="serve the fixed-latency endpoint; prints its port, then serves until killed")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--port", type=int, default=0)
    opts = parser.parse_args()
    server = LatencyServer(opts.latency, opts.port)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(server._serve())
    print(server.port, flush=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
