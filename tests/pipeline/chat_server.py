"""A real local OpenAI-compatible chat-completions server over any `Teacher`.

Serves `POST /v1/chat/completions` (and `GET /v1/models`) on 127.0.0.1 at a free port by
calling `await teacher.chat(messages, tools, **sampling)` and turning the `Reply` into
the OpenAI response JSON. With `pipeline.teachers.hf.HFTeacher` behind it this is a real
model (SmolLM2-135M on CPU) behind a real HTTP endpoint, so `OpenAITeacher` can be tested
end to end without a network or an API key.

The server runs in a background thread with its own event loop; the teacher's `chat` runs
on that loop.

    with ChatCompletionsServer(HFTeacher(), model_name="smollm2-135m") as server:
        client = OpenAITeacher(base_url=server.base_url, model="smollm2-135m")
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

from aiohttp import web

from pipeline.teachers.base import Reply, Teacher, TeacherError
from tests.pipeline.background_loop import start_loop_thread

# Request fields passed on to `teacher.chat` as sampling arguments.
SAMPLING_FIELDS = ("temperature", "top_p", "max_tokens", "seed", "stop")


def reply_to_completion(reply: Reply, model: str) -> dict[str, Any]:
    """A `Reply` as an OpenAI chat-completion response body."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ]
    finish_reason = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
    usage = reply.usage
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        },
    }


def _error(status: int, message: str, kind: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind}}, status=status)


class ChatCompletionsServer:
    """OpenAI-compatible HTTP front for a `Teacher` (e.g. a local HF model)."""

    def __init__(self, teacher: Teacher, *, model_name: str | None = None) -> None:
        self.teacher = teacher
        self.model_name = model_name or teacher.name
        self.request_count = 0
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": self.model_name, "object": "model", "owned_by": "local"}]}
        )

    async def _chat(self, request: web.Request) -> web.Response:
        self.request_count += 1
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the request body is not JSON", "invalid_request_error")
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            return _error(400, "`messages` must be a non-empty list", "invalid_request_error")
        tools = body.get("tools") or None
        if body.get("tool_choice") == "none":
            tools = None
        sampling = {k: body[k] for k in SAMPLING_FIELDS if body.get(k) is not None}
        if body.get("max_completion_tokens") is not None and "max_tokens" not in sampling:
            sampling["max_tokens"] = body["max_completion_tokens"]
        try:
            reply = await self.teacher.chat(messages, tools, **sampling)
        except TeacherError as exc:
            return _error(500, f"the model failed: {exc}", "server_error")
        except (TypeError, ValueError) as exc:  # bad sampling options or messages
            return _error(400, f"{type(exc).__name__}: {exc}", "invalid_request_error")
        return web.json_response(reply_to_completion(reply, body.get("model") or self.model_name))

    # --------------------------------------------------------------- lifecycle

    def start(self) -> ChatCompletionsServer:
        self._loop, self._thread = start_loop_thread(self._serve, "chat-completions-server", timeout_s=60)
        return self

    async def _serve(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self, *, close_teacher: bool = True) -> None:
        """Stop serving; also closes the teacher (on the server's loop) unless told not to."""
        if self._loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            assert self._runner is not None
            await self._runner.cleanup()
            if close_teacher:
                await self.teacher.close()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop = self._thread = None

    def __enter__(self) -> ChatCompletionsServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
