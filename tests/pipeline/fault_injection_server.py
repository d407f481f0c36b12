"""A FAULT-INJECTION server for testing an HTTP chat client's fault handling.

It speaks the shape of `/v1/chat/completions` but runs no model: each request gets the
next behaviour of a script (429, 500, 503, a hang, a non-JSON body, a malformed tool
call, a 400, a canned reply...). It exists only to test retries, timeouts, error
classification and concurrency of `pipeline.teachers.openai.OpenAITeacher`; it is never
a stand-in for a model — the real-model tests use `tests.pipeline.chat_server`.

Runs an aiohttp.web app on 127.0.0.1 at a free port in a background thread with its own
event loop, so it works the same whichever event loop the test uses:

    with FaultInjectionServer(["429", "500", "ok"]) as server:
        teacher = OpenAITeacher(base_url=server.base_url, model="fault-injection")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from tests.pipeline.background_loop import LocalHTTPServer

BEHAVIOURS = (
    "ok",  # 200, a plain text reply
    "tool_call",  # 200, a well-formed tool call
    "malformed_args",  # 200, a tool call whose `arguments` is malformed JSON text
    "object_args",  # 200, a tool call whose `arguments` is a JSON object, not a string
    "429",  # 429 with `Retry-After: <retry_after>`
    "500",
    "503",
    "400",  # must not be retried
    "hang",  # no answer for `hang_s` seconds (longer than the client's timeout)
    "not_json",  # 200 with a body that is not JSON
    "no_choices",  # 200 with JSON that is not a chat completion
)

MALFORMED_ARGUMENTS = '{"expression": "x**2 - 4", "variable": x'  # unterminated, unquoted x
TOOL_ARGUMENTS = '{"expression": "x**2 - 4", "variable": "x"}'


class FaultInjectionServer(LocalHTTPServer):
    """FAULT-INJECTION server: serves a script of behaviours, one per request, and records them.

    `script` is consumed in arrival order; once it runs out every request gets `default`
    (or, with `cycle=True`, the script starts over). `latency_s` delays every answer (used
    with in-flight counting to measure a client's achieved concurrency).
    """

    thread_name = "fault-injection-server"

    def __init__(
        self,
        script: Iterable[str] = (),
        *,
        default: str = "ok",
        cycle: bool = False,
        latency_s: float = 0.0,
        hang_s: float = 10.0,
        retry_after: str = "1",
    ) -> None:
        super().__init__()
        script = list(script)
        for behaviour in [*script, default]:
            if behaviour not in BEHAVIOURS:
                raise ValueError(f"unknown behaviour {behaviour!r}; known: {BEHAVIOURS}")
        self._script = itertools.cycle(script) if cycle and script else iter(script)
        self.default = default
        self.latency_s = latency_s
        self.hang_s = hang_s
        self.retry_after = retry_after

        self._lock = threading.Lock()
        self.request_count = 0
        self.timestamps: list[float] = []  # time.monotonic() at each request's arrival
        self.served: list[str] = []  # the behaviour given to each request, in arrival order
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._stopping: asyncio.Event | None = None

    # ---------------------------------------------------------------- handling

    def _next_behaviour(self) -> str:
        return next(self._script, self.default)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        try:
            body = await request.json()
        except ValueError:
            body = {}
        with self._lock:
            behaviour = self._next_behaviour()
            self.request_count += 1
            self.timestamps.append(arrived)
            self.served.append(behaviour)
            self.bodies.append(body)
            self.headers.append(dict(request.headers))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            return await self._respond(behaviour, body)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _respond(self, behaviour: str, body: dict[str, Any]) -> web.StreamResponse:
        if behaviour == "429":
            return web.json_response(
                {"error": {"message": "rate limited (fault injection)", "type": "rate_limit"}},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        if behaviour in ("500", "503"):
            return web.json_response({"error": {"message": f"injected {behaviour}"}}, status=int(behaviour))
        if behaviour == "400":
            return web.json_response(
                {"error": {"message": "injected 400: invalid request", "type": "invalid_request_error"}},
                status=400,
            )
        if behaviour == "hang":
            assert self._stopping is not None
            with contextlib.suppress(TimeoutError):  # ends early when the server stops
                await asyncio.wait_for(self._stopping.wait(), timeout=self.hang_s)
            return web.json_response(_completion(body, content="too late"))
        if behaviour == "not_json":
            return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")
        if behaviour == "no_choices":
            return web.json_response({"object": "chat.completion", "choices": []})
        if behaviour == "tool_call":
            return web.json_response(_completion(body, arguments=TOOL_ARGUMENTS))
        if behaviour == "malformed_args":
            return web.json_response(_completion(body, arguments=MALFORMED_ARGUMENTS))
        if behaviour == "object_args":
            return web.json_response(_completion(body, arguments=json.loads(TOOL_ARGUMENTS)))
        return web.json_response(_completion(body, content="The answer is \\boxed{2}."))

    # --------------------------------------------------------------- lifecycle

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._handle)

    async def opening(self) -> None:
        self._stopping = asyncio.Event()

    async def stopping(self) -> None:
        assert self._stopping is not None
        self._stopping.set()  # ends the hanging requests


def _completion(body: dict[str, Any], *, content: str | None = None, arguments: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    finish_reason = "stop"
    if arguments is not None:
        message["tool_calls"] = [
            {"id": "call_fault_1", "type": "function", "function": {"name": "solve_equation", "arguments": arguments}}
        ]
        finish_reason = "tool_calls"
    return {
        "id": "chatcmpl-fault-injection",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fault-injection"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
    }
