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

import time
import uuid
from typing import Any

from aiohttp import web

from pipeline.teachers.base import Reply, Teacher, TeacherError
from tests.pipeline.background_loop import LocalHTTPServer

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


class ChatCompletionsServer(LocalHTTPServer):
    """OpenAI-compatible HTTP front for a `Teacher` (e.g. a local HF model); stopping it closes the teacher."""

    thread_name = "chat-completions-server"
    timeout_s = 60.0
    shutdown_timeout_s = 5.0
    client_max_size = 16 * 1024 * 1024

    def __init__(self, teacher: Teacher, *, model_name: str | None = None) -> None:
        super().__init__()
        self.teacher = teacher
        self.model_name = model_name or teacher.name
        self.request_count = 0

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

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)

    async def stopped(self) -> None:
        await self.teacher.close()  # on the server's loop, where the teacher ran
