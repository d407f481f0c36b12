"""A teacher behind any OpenAI-compatible `/v1/chat/completions` endpoint, over aiohttp.

OpenAI itself, vLLM's and SGLang's servers, Together, a local test server: one client.
Per attempt the request passes, in order, the concurrency semaphore, the request and
token rate limiters (token buckets), then the HTTP call; back-off sleeps happen outside
the semaphore so a waiting retry never holds a connection slot.

Retried: 429, 5xx, connection errors, timeouts and 200 bodies that are not a chat
completion (not JSON, or no `choices`), with full-jitter exponential back-off, or the
server's `Retry-After` / `retry-after-ms` when it sends one. Not retried: every other
4xx, raised at once as `TeacherError` with the server's message. When the retries run
out, `TeacherError` too — the solver turns it into a reject row.

Tool-call arguments are returned as the raw text the server sent, malformed JSON
included (the agent reports it back to the model); a server that sends arguments as a
JSON object instead of a string has them serialised.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import os
import random
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
from pydantic import Field

from pipeline.config_rules import StrictModel
from pipeline.teachers.base import Reply, TeacherError, ToolCallRequest, Usage, new_call_id

logger = logging.getLogger(__name__)

# Sampling options of the config that go into every request unless a call overrides them.
_SAMPLING_DEFAULTS = ("temperature", "top_p", "max_tokens", "seed")


class OpenAITeacherConfig(StrictModel):
    """Where the endpoint is, how hard to push it, and how to sample from it."""

    base_url: str = Field(
        default="https://api.openai.com/v1",
        description="the API root including `/v1` (e.g. `http://127.0.0.1:8000/v1` for vLLM); "
        "`/chat/completions` is appended unless the URL already ends with it",
    )
    model: str = Field(description="the `model` field of each request (the served model name for vLLM/SGLang)")
    api_key_env: str | None = Field(
        default="OPENAI_API_KEY",
        description="environment variable holding the API key; the key is never read from config "
        "files. A missing variable means no Authorization header (fine for local servers)",
    )
    max_concurrency: int = Field(
        default=64,
        ge=1,
        description="requests in flight at once (semaphore and connection-pool size). Higher hides "
        "latency; past the server's batch capacity it only adds queueing and 429s",
    )
    requests_per_minute: float | None = Field(
        default=None, gt=0, description="request rate limit (token bucket); None = unlimited"
    )
    tokens_per_minute: float | None = Field(
        default=None,
        gt=0,
        description="token rate limit; each request is charged its estimate (request bytes / 4 + "
        "max_tokens) before it is sent and corrected with the reply's usage. None = unlimited",
    )
    rate_limit_burst_s: float = Field(
        default=0.0,
        ge=0,
        description="how many seconds' worth of the rate limits may be spent at once. 0 paces "
        "requests evenly (60/rpm apart), safest against providers that enforce limits per second; "
        "larger values let a fresh client start with a burst",
    )
    timeout_s: float = Field(
        default=300.0, gt=0, description="total time for one attempt (connect, send, generate, read)"
    )
    connect_timeout_s: float = Field(default=10.0, gt=0, description="time to open the TCP connection")
    max_retries: int = Field(
        default=6, ge=0, description="retries after the first attempt; the (max_retries+1)-th failure raises"
    )
    backoff_base_s: float = Field(
        default=1.0, gt=0, description="back-off before retry k is uniform in [0, min(max, base * 2**k)]"
    )
    backoff_max_s: float = Field(default=60.0, gt=0, description="upper bound of one back-off sleep")
    max_retry_after_s: float = Field(
        default=300.0,
        gt=0,
        description="a server's Retry-After is honoured up to this many seconds (guards against a "
        "misconfigured proxy asking for hours)",
    )
    temperature: float | None = Field(default=None, description="default sampling; None = the server's default")
    top_p: float | None = Field(default=None, description="default nucleus mass; None = the server's default")
    max_tokens: int | None = Field(
        default=None, ge=1, description="default reply budget; None = the server's default (often the whole context)"
    )
    seed: int | None = Field(default=None, description="default seed (servers that honour it reproduce sampled replies)")
    extra_body: dict[str, Any] = Field(
        default_factory=dict,
        description="extra request fields (e.g. vLLM's `top_k`, `repetition_penalty`); call-level "
        "sampling arguments override them",
    )
    name: str | None = Field(default=None, description="the teacher's name in traces; default `openai:<model>`")


class TokenBucket:
    """An async token bucket: `per_minute` units refill continuously up to `capacity`.

    `acquire(n)` waits until `n` units are there (an `n` above the capacity waits for a full
    bucket and leaves it in debt, so the average rate still holds); waiters are served in
    order. `adjust(delta)` charges (or refunds) units after the fact — the level may go
    negative, which later acquirers pay off.
    """

    def __init__(self, per_minute: float, capacity: float = 1.0) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, capacity)
        self.level = self.capacity
        self._updated = time.monotonic()
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self, amount: float = 1.0) -> None:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        async with self._lock:
            self._refill()
            need = min(amount, self.capacity)
            while self.level < need:
                await asyncio.sleep((need - self.level) / self.rate)
                self._refill()
            self.level -= amount

    def adjust(self, delta: float) -> None:
        self._refill()
        self.level = min(self.capacity, self.level - delta)


class _Retry(Exception):
    """One failed attempt that may be retried."""

    def __init__(self, cause: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        self.retry_after_s = retry_after_s


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The delay a server asks for: `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("Retry-After") or headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _error_message(raw: bytes) -> str:
    """The server's own error message, from the usual JSON shapes, else the body's text."""
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:500]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        for key in ("error", "message", "detail"):
            if isinstance(data.get(key), str):
                return data[key][:500]
    return text.strip()[:500]


def _text_content(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content)


def parse_chat_completion(data: Any) -> Reply:
    """A chat-completion response body → `Reply`. Raises ValueError if it is not one."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        detail = _error_message(json.dumps(data).encode()) if "error" in data else "no choices"
        raise ValueError(f"not a chat completion ({detail})")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ValueError("choices[0] has no message")
    calls = []
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict):
            raise ValueError(f"a tool call is not an object: {call!r:.80}")
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        arguments = function.get("arguments")
        if arguments is None:
            arguments = "{}"
        elif not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        calls.append(
            ToolCallRequest(
                id=str(call.get("id") or new_call_id()), name=str(function.get("name") or ""), arguments=arguments
            )
        )
    usage = data.get("usage") or {}
    return Reply(
        text=_text_content(message.get("content")),
        tool_calls=calls,
        usage=Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
        finish_reason=choice.get("finish_reason"),
    )


class OpenAITeacher:
    """The Teacher protocol over an OpenAI-compatible chat-completions endpoint."""

    def __init__(self, config: OpenAITeacherConfig | None = None, **options: Any) -> None:
        if config is None:
            config = OpenAITeacherConfig(**options)
        elif options:
            config = OpenAITeacherConfig(**{**config.model_dump(), **options})
        self.config = config
        self.name = config.name or f"openai:{config.model}"
        base = config.base_url.rstrip("/")
        self.url = base if base.endswith("/chat/completions") else f"{base}/chat/completions"
        api_key = os.environ.get(config.api_key_env) if config.api_key_env else None
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

        burst = config.rate_limit_burst_s / 60.0
        self._request_bucket = (
            TokenBucket(config.requests_per_minute, config.requests_per_minute * burst)
            if config.requests_per_minute
            else None
        )
        self._token_bucket = (
            TokenBucket(config.tokens_per_minute, config.tokens_per_minute * burst)
            if config.tokens_per_minute
            else None
        )

        # Bound to the event loop that first uses them (see `_ensure_session`).
        self._session: aiohttp.ClientSession | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

        self._calls = 0
        self._tools_json: dict[int, tuple[list[dict[str, Any]], str]] = {}
        self._requests = 0
        self._replies = 0
        self._errors = 0
        self._retries: Counter[str] = Counter()
        self._in_flight = 0
        self._max_in_flight = 0
        self._usage = Usage()

    # ------------------------------------------------------------------ lifecycle

    def _ensure_session(self) -> tuple[aiohttp.ClientSession, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            if self._session is not None and not self._session.closed and self._loop is not loop:
                logger.warning("%s: used from a new event loop; opening a new HTTP session", self.name)
            timeout = aiohttp.ClientTimeout(total=self.config.timeout_s, sock_connect=self.config.connect_timeout_s)
            connector = aiohttp.TCPConnector(limit=self.config.max_concurrency)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self._headers)
            self._semaphore = asyncio.Semaphore(self.config.max_concurrency)
            self._loop = loop
        assert self._semaphore is not None
        return self._session, self._semaphore

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> OpenAITeacher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ----------------------------------------------------------------------- chat

    def _payload(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, sampling: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.config.model, "messages": messages}
        for key in _SAMPLING_DEFAULTS:
            value = getattr(self.config, key)
            if value is not None:
                payload[key] = value
        payload.update(self.config.extra_body)
        payload.update({k: v for k, v in sampling.items() if v is not None})
        if tools:
            payload["tools"] = tools
            payload.setdefault("tool_choice", "auto")
        else:
            payload.pop("tools", None)
            payload.pop("tool_choice", None)
        return payload

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **sampling: Any) -> Reply:
        payload = self._payload(messages, tools, sampling)
        body = self._encode(payload)
        estimate = math.ceil(len(body) / 4) + int(payload.get("max_tokens") or payload.get("max_completion_tokens") or 0)
        self._calls += 1
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            try:
                reply = await self._attempt(body, estimate)
            except _Retry as failure:
                if attempt == attempts - 1:
                    self._errors += 1
                    raise TeacherError(
                        f"{self.name}: no reply after {attempts} attempts; last: {failure.cause}: {failure}"
                    ) from None
                self._retries[failure.cause] += 1
                delay = self._backoff(attempt, failure.retry_after_s)
                logger.debug("%s: %s (%s); retry %d in %.2fs", self.name, failure.cause, failure, attempt + 1, delay)
                await asyncio.sleep(delay)
            except TeacherError:
                self._errors += 1
                raise
            else:
                self._replies += 1
                self._usage = self._usage + reply.usage
                return reply
        raise AssertionError("unreachable")

    def _encode(self, payload: dict[str, Any]) -> bytes:
        """The request body. A tool list (often tens of KB, the same on every turn) is
        serialised once per list object and spliced in, not re-encoded per request."""
        tools = payload.get("tools")
        if not tools:
            return json.dumps(payload, ensure_ascii=False).encode()
        cached = self._tools_json.get(id(tools))
        if cached is None or cached[0] is not tools:
            cached = (tools, json.dumps(tools, ensure_ascii=False))
            self._tools_json[id(tools)] = cached
        rest = json.dumps({k: v for k, v in payload.items() if k != "tools"}, ensure_ascii=False)
        return f'{rest[:-1]}, "tools": {cached[1]}}}'.encode()

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            return min(retry_after_s, self.config.max_retry_after_s)
        return random.uniform(0.0, min(self.config.backoff_max_s, self.config.backoff_base_s * 2**attempt))

    async def _attempt(self, body: bytes, estimate: int) -> Reply:
        session, semaphore = self._ensure_session()
        async with semaphore:
            if self._request_bucket is not None:
                await self._request_bucket.acquire(1)
            if self._token_bucket is not None:
                await self._token_bucket.acquire(estimate)
            self._requests += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            try:
                async with session.post(self.url, data=body) as response:
                    status, headers = response.status, response.headers
                    raw = await response.read()
            except TimeoutError:
                raise _Retry("timeout", f"no complete reply within {self.config.timeout_s}s") from None
            except aiohttp.ClientError as exc:
                raise _Retry("connection", f"{type(exc).__name__}: {exc}") from None
            finally:
                self._in_flight -= 1

        if status == 429 or status >= 500:
            raise _Retry(f"http_{status}", _error_message(raw), retry_after_seconds(headers))
        if status != 200:
            raise TeacherError(f"{self.name}: HTTP {status} from {self.url}: {_error_message(raw)}")
        try:
            reply = parse_chat_completion(json.loads(raw))
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
            raise _Retry("invalid_body", f"{exc}; body starts {raw[:120]!r}") from None
        if self._token_bucket is not None and (reply.usage.prompt_tokens or reply.usage.completion_tokens):
            used = reply.usage.prompt_tokens + reply.usage.completion_tokens
            self._token_bucket.adjust(used - estimate)
        return reply

    # --------------------------------------------------------------- observability

    def stats(self) -> dict[str, Any]:
        """Counters since construction: calls, HTTP requests, retries by cause, in-flight, tokens."""
        return {
            "calls": self._calls,
            "requests": self._requests,
            "replies": self._replies,
            "errors": self._errors,
            "retries": dict(self._retries),
            "retries_total": sum(self._retries.values()),
            "in_flight": self._in_flight,
            "max_in_flight": self._max_in_flight,
            "prompt_tokens": self._usage.prompt_tokens,
            "completion_tokens": self._usage.completion_tokens,
            "total_tokens": self._usage.prompt_tokens + self._usage.completion_tokens,
        }
