"""OpenAITeacher: fault handling against the fault-injection server, limits, and a real model.

The fault-injection server (`fault_injection_server.py`) runs no model; it only scripts
HTTP failures. The end-to-end tests at the bottom go through a real OpenAI-compatible
server (`chat_server.py`) in front of SmolLM2-135M on CPU.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pydantic import ValidationError

from pipeline.teachers.base import Reply, Teacher, TeacherError
from pipeline.teachers.openai import (
    OpenAITeacher,
    OpenAITeacherConfig,
    parse_chat_completion,
    retry_after_seconds,
)
from tests.pipeline.chat_messages import function_tool
from tests.pipeline.fault_injection_server import (
    MALFORMED_ARGUMENTS,
    TOOL_ARGUMENTS,
    FaultInjectionServer,
)

MESSAGES = [{"role": "user", "content": "Solve x**2 - 4 = 0."}]
TOOLS = [
    function_tool(
        "solve_equation", "Solve an equation for a variable.", ["expression", "variable"], required=["expression", "variable"]
    )
]


def fast_teacher(server: FaultInjectionServer, **overrides) -> OpenAITeacher:
    """A client with tiny back-offs so the suite stays fast."""
    options = {
        "base_url": server.base_url,
        "model": "fault-injection",
        "api_key_env": None,
        "timeout_s": 2.0,
        "connect_timeout_s": 1.0,
        "max_retries": 3,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
    return OpenAITeacher(OpenAITeacherConfig(**{**options, **overrides}))


# ----------------------------------------------------------------- pure functions


def test_config_rejects_unknown_options_and_has_no_key_field():
    with pytest.raises(ValidationError):
        OpenAITeacherConfig(model="m", api_key="sk-do-not-put-keys-in-configs")
    config = OpenAITeacherConfig(model="m")
    assert config.api_key_env == "OPENAI_API_KEY"
    assert config.max_concurrency == 64 and config.max_retries == 6
    assert config.requests_per_minute is None and config.tokens_per_minute is None


def test_teacher_satisfies_protocol_and_url():
    teacher = OpenAITeacher(model="m", base_url="http://127.0.0.1:1/v1/")
    assert isinstance(teacher, Teacher)
    assert teacher.url == "http://127.0.0.1:1/v1/chat/completions"
    assert teacher.name == "openai:m"
    full = OpenAITeacher(model="m", base_url="http://h/v1/chat/completions")
    assert full.url == "http://h/v1/chat/completions"


def test_retry_after_seconds_and_http_date():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"Retry-After": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds({"Retry-After": date}, now=now) == pytest.approx(30.0)
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds({"Retry-After": past}, now=now) == 0.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_parse_chat_completion_keeps_arguments_raw():
    def body(arguments):
        call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        return {"choices": [{"message": message, "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}

    assert parse_chat_completion(body('{"a": 1')).tool_calls[0].arguments == '{"a": 1'
    assert parse_chat_completion(body('{"a":1}')).tool_calls[0].arguments == '{"a":1}'  # not re-serialised
    assert json.loads(parse_chat_completion(body({"a": 1})).tool_calls[0].arguments) == {"a": 1}
    assert parse_chat_completion(body(None)).tool_calls[0].arguments == "{}"
    reply = parse_chat_completion(body("{}"))
    assert reply.usage.prompt_tokens == 3 and reply.usage.completion_tokens == 4
    assert reply.finish_reason == "tool_calls" and reply.text is None
    for bad in ([], {"choices": []}, {"error": {"message": "overloaded"}}, {"choices": [{"text": "legacy"}]}):
        with pytest.raises(ValueError):
            parse_chat_completion(bad)


# ------------------------------------------------------------------ request shape


async def test_tools_and_tool_choice_only_when_tools_given(monkeypatch):
    monkeypatch.setenv("TOOLDISTILL_TEST_KEY", "sk-test-123")
    with FaultInjectionServer() as server:
        async with fast_teacher(server, api_key_env="TOOLDISTILL_TEST_KEY", temperature=0.0, max_tokens=64, extra_body={"top_k": 5}) as teacher:
            await teacher.chat(MESSAGES)
            await teacher.chat(MESSAGES, TOOLS, temperature=0.7)
    plain, with_tools = server.bodies
    assert "tools" not in plain and "tool_choice" not in plain
    assert with_tools["tools"] == TOOLS and with_tools["tool_choice"] == "auto"
    assert plain["temperature"] == 0.0 and with_tools["temperature"] == 0.7  # call overrides default
    assert plain["max_tokens"] == 64 and plain["top_k"] == 5 and plain["model"] == "fault-injection"
    assert "seed" not in plain and "top_p" not in plain  # None defaults are not sent
    assert server.headers[0]["Authorization"] == "Bearer sk-test-123"


async def test_missing_key_sends_no_authorization(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FaultInjectionServer() as server:
        async with fast_teacher(server, api_key_env="OPENAI_API_KEY") as teacher:
            reply = await teacher.chat(MESSAGES)
    assert reply.text and "Authorization" not in server.headers[0]


# ------------------------------------------------------------------ fault handling


async def test_429_waits_for_retry_after():
    with FaultInjectionServer(["429", "ok"], retry_after="1") as server:
        async with fast_teacher(server) as teacher:
            reply = await teacher.chat(MESSAGES)
            stats = teacher.stats()
    assert reply.text == "The answer is \\boxed{2}."
    assert server.request_count == 2
    assert server.timestamps[1] - server.timestamps[0] >= 1.0  # not the 0.05 s back-off
    assert stats["retries"] == {"http_429": 1}


async def test_500_and_503_are_retried():
    with FaultInjectionServer(["500", "503", "ok"], retry_after="0") as server:
        async with fast_teacher(server) as teacher:
            reply = await teacher.chat(MESSAGES)
            stats = teacher.stats()
    assert reply.text and server.request_count == 3
    assert stats["retries"] == {"http_500": 1, "http_503": 1}
    assert stats["requests"] == 3 and stats["replies"] == 1 and stats["errors"] == 0


async def test_hang_past_timeout_is_retried():
    with FaultInjectionServer(["hang", "ok"], hang_s=5.0) as server:
        async with fast_teacher(server, timeout_s=0.3) as teacher:
            start = time.monotonic()
            reply = await teacher.chat(MESSAGES)
            elapsed = time.monotonic() - start
            stats = teacher.stats()
    assert reply.text and server.request_count == 2
    assert 0.3 <= elapsed < 2.0
    assert stats["retries"] == {"timeout": 1}


async def test_non_json_and_non_completion_bodies_are_retried():
    with FaultInjectionServer(["not_json", "no_choices", "ok"]) as server:
        async with fast_teacher(server) as teacher:
            reply = await teacher.chat(MESSAGES)
            stats = teacher.stats()
    assert reply.text and server.request_count == 3
    assert stats["retries"] == {"invalid_body": 2}


async def test_400_is_not_retried():
    with FaultInjectionServer(["400", "ok"]) as server:
        async with fast_teacher(server) as teacher:
            with pytest.raises(TeacherError, match="invalid request"):
                await teacher.chat(MESSAGES)
            stats = teacher.stats()
    assert server.request_count == 1
    assert stats["retries_total"] == 0 and stats["errors"] == 1


async def test_malformed_tool_arguments_come_back_verbatim():
    with FaultInjectionServer(["malformed_args", "tool_call", "object_args"]) as server:
        async with fast_teacher(server) as teacher:
            malformed = await teacher.chat(MESSAGES, TOOLS)
            good = await teacher.chat(MESSAGES, TOOLS)
            as_object = await teacher.chat(MESSAGES, TOOLS)
    assert malformed.tool_calls[0].arguments == MALFORMED_ARGUMENTS
    assert malformed.tool_calls[0].name == "solve_equation"
    assert malformed.finish_reason == "tool_calls"
    assert good.tool_calls[0].arguments == TOOL_ARGUMENTS and good.tool_calls[0].id == "call_fault_1"
    assert json.loads(as_object.tool_calls[0].arguments) == json.loads(TOOL_ARGUMENTS)
    assert malformed.to_message()["tool_calls"][0]["function"]["arguments"] == MALFORMED_ARGUMENTS


async def test_gives_up_after_max_retries():
    with FaultInjectionServer(default="500") as server:
        async with fast_teacher(server, max_retries=4) as teacher:
            with pytest.raises(TeacherError, match="5 attempts"):
                await teacher.chat(MESSAGES)
            stats = teacher.stats()
    assert server.request_count == 5
    assert stats["retries"] == {"http_500": 4} and stats["errors"] == 1


async def test_connection_refused_is_retried_then_raises():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    teacher = OpenAITeacher(
        base_url=f"http://127.0.0.1:{port}/v1", model="m", api_key_env=None, max_retries=2, backoff_base_s=0.01, backoff_max_s=0.02
    )
    async with teacher:
        with pytest.raises(TeacherError, match="connection"):
            await teacher.chat(MESSAGES)
    assert teacher.stats()["retries"] == {"connection": 2}


async def test_cancelled_chat_leaves_nothing_in_flight():
    with FaultInjectionServer(["hang"], hang_s=5.0) as server:
        async with fast_teacher(server, timeout_s=5.0) as teacher:
            task = asyncio.create_task(teacher.chat(MESSAGES))
            await asyncio.sleep(0.2)
            assert teacher.stats()["in_flight"] == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert teacher.stats()["in_flight"] == 0
            assert (await teacher.chat(MESSAGES)).text  # the semaphore slot was given back


def test_teacher_reused_after_close_on_a_new_event_loop():
    """`close()` then use again, even from another event loop: a fresh session is opened."""
    with FaultInjectionServer() as server:
        teacher = fast_teacher(server)

        async def one() -> Reply:
            async with teacher:
                return await teacher.chat(MESSAGES)

        assert asyncio.run(one()).text
        assert asyncio.run(one()).text
    assert teacher.stats()["replies"] == 2


# --------------------------------------------------------------- batch and limits


async def test_batch_through_faults_loses_no_request():
    script = ["429", "500", "503", "hang", "not_json", "malformed_args", "400", "tool_call", "ok"]
    n = 60
    with FaultInjectionServer(script, cycle=True, retry_after="1", hang_s=1.0) as server:
        async with fast_teacher(server, timeout_s=0.3, max_retries=3, max_concurrency=16) as teacher:
            start = time.monotonic()
            results = await asyncio.gather(*(teacher.chat(MESSAGES, TOOLS) for _ in range(n)), return_exceptions=True)
            elapsed = time.monotonic() - start
            stats = teacher.stats()
    replies = sum(isinstance(r, Reply) for r in results)
    errors = sum(isinstance(r, TeacherError) for r in results)
    escaped = [r for r in results if not isinstance(r, Reply | TeacherError)]
    assert not escaped, escaped
    assert replies + errors == n
    assert errors >= 1 and replies >= 1  # every 9th attempt is a 400, 3 in 9 are replies
    assert stats["calls"] == n and stats["replies"] == replies and stats["errors"] == errors
    assert stats["in_flight"] == 0
    assert stats["requests"] == server.request_count  # every attempt reached the server once
    assert set(stats["retries"]) <= {"http_429", "http_500", "http_503", "timeout", "invalid_body"}
    assert elapsed < 20


async def test_concurrency_reaches_max_concurrency():
    with FaultInjectionServer(latency_s=0.2) as server:
        async with fast_teacher(server, max_concurrency=32) as teacher:
            start = time.monotonic()
            results = await asyncio.gather(*(teacher.chat(MESSAGES) for _ in range(128)))
            elapsed = time.monotonic() - start
            stats = teacher.stats()
    assert all(r.text for r in results)
    assert server.max_in_flight == 32 and stats["max_in_flight"] == 32
    assert 0.8 <= elapsed < 2.0, elapsed  # 128 / 32 = 4 waves of 200 ms
    assert stats["total_tokens"] == 128 * 19


async def test_requests_per_minute_spaces_requests():
    with FaultInjectionServer() as server:
        async with fast_teacher(server, requests_per_minute=600) as teacher:
            start = time.monotonic()
            await asyncio.gather(*(teacher.chat(MESSAGES) for _ in range(10)))
            elapsed = time.monotonic() - start
    gaps = [b - a for a, b in zip(server.timestamps, server.timestamps[1:], strict=False)]
    assert elapsed >= 0.88, elapsed  # 9 gaps of 60/600 = 0.1 s
    assert min(gaps) >= 0.08, gaps


async def test_tokens_per_minute_charges_estimate_then_corrects_with_usage():
    # 100 tokens/s. Each request is estimated at ~260 tokens (body + max_tokens=200) but the
    # server reports 19: with the correction, 6 sequential requests take ~5 x 0.19 s; without
    # it, ~5 x 2.6 s.
    with FaultInjectionServer() as server:
        async with fast_teacher(server, tokens_per_minute=6000, max_tokens=200) as teacher:
            start = time.monotonic()
            for _ in range(6):
                await teacher.chat(MESSAGES)
            elapsed = time.monotonic() - start
    assert 0.8 <= elapsed < 2.5, elapsed


# ---------------------------------------------------------- real model end to end


@pytest.fixture(scope="module")
def smollm_server():
    """SmolLM2-135M (CPU) behind a real OpenAI-compatible HTTP server on loopback."""
    from pipeline.teachers.hf import HFTeacher
    from tests.pipeline.chat_server import ChatCompletionsServer

    with ChatCompletionsServer(HFTeacher(), model_name="smollm2-135m") as server:
        yield server


def real_teacher(server) -> OpenAITeacher:
    # One CPU model serves requests one at a time and a timed-out generation cannot be
    # stopped, so a retry would only queue behind it: a long timeout and no retries.
    return OpenAITeacher(
        base_url=server.base_url, model="smollm2-135m", api_key_env=None, timeout_s=300, max_retries=0, temperature=0.0, max_tokens=32
    )


@pytest.mark.slow
async def test_real_model_plain_chat(smollm_server):
    async with real_teacher(smollm_server) as teacher:
        reply = await teacher.chat([{"role": "user", "content": "What is 2 + 3? Answer in one sentence."}])
        stats = teacher.stats()
    assert isinstance(reply.text, str) and reply.text.strip()
    assert reply.usage.prompt_tokens > 0 and 0 < reply.usage.completion_tokens <= 32
    assert reply.finish_reason in ("stop", "length")
    assert stats["total_tokens"] == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert stats["retries_total"] == 0


@pytest.mark.slow
async def test_real_model_with_tools_end_to_end(smollm_server):
    messages = [
        {"role": "system", "content": "You are a careful mathematician. Use the tools."},
        {"role": "user", "content": "Solve x**2 - 4 = 0 for x with the solve_equation tool."},
    ]
    async with real_teacher(smollm_server) as teacher:
        reply = await teacher.chat(messages, TOOLS)
    # A 135M model answers poorly; only the protocol is checked.
    assert isinstance(reply, Reply)
    assert reply.text is not None or reply.tool_calls
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    for call in reply.tool_calls:
        assert isinstance(call.name, str) and isinstance(call.arguments, str) and call.id
    follow_up = [*messages, reply.to_message()]
    for call in reply.tool_calls:
        follow_up.append({"role": "tool", "tool_call_id": call.id, "content": '{"result": "[-2, 2]"}'})
    if reply.tool_calls:  # the conversation continues through the server with tool results
        async with real_teacher(smollm_server) as teacher:
            again = await teacher.chat(follow_up, TOOLS)
        assert again.usage.completion_tokens > 0
