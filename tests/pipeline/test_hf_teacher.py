"""Hermes-style tool calling for chat templates, and the in-process HF teacher on SmolLM2."""

from __future__ import annotations

import asyncio
import json

import pytest
import torch

from pipeline.teachers.base import Reply, Teacher, TeacherError, ToolCallRequest
from pipeline.teachers.chat_format import (
    add_tools_to_system,
    parse_tool_calls,
    render_tool_call,
    render_tools_prompt,
    template_supports_tool_role,
    to_template_messages,
)
from pipeline.teachers.hf import HFTeacher
from tests.pipeline.chat_messages import calling, function_tool

SOLVE = function_tool("solve_equation", "Solve an equation for a variable.", ["equation", "variable"], required=["equation"])
DIFF = {"name": "differentiate", "description": "Differentiate.", "parameters": {"type": "object", "properties": {}}}

CONVERSATION = [
    {"role": "system", "content": "You solve problems with tools."},
    {"role": "user", "content": "Solve x**2 = 4, then differentiate x**3."},
    calling(("a", "solve_equation", '{"equation": "x**2 = 4"}'), ("b", "differentiate", '{"expression": "x**3"}')),
    {"role": "tool", "tool_call_id": "a", "content": '{"result": ["-2", "2"]}'},
    {"role": "tool", "tool_call_id": "b", "content": '{"result": "3*x**2"}'},
    {"role": "assistant", "content": "So x = -2 or 2, and the derivative is 3x^2. \\boxed{2}"},
]

QWEN_LIKE = (
    '{%- for message in messages %}{%- if message.role == "tool" %}'
    "{{- '<|im_start|>user\\n<tool_response>\\n' + message.content + '\\n</tool_response><|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endif %}{%- endfor %}"
)


# ------------------------------------------------------------------------- chat_format


def test_render_tools_prompt_lists_schemas_and_the_call_format():
    block = render_tools_prompt([SOLVE, DIFF])
    inside = block.split("<tools>\n")[1].split("\n</tools>")[0].splitlines()
    assert [json.loads(line)["function"]["name"] for line in inside] == ["solve_equation", "differentiate"]
    assert all(json.loads(line)["type"] == "function" for line in inside)  # bare schemas are wrapped
    assert '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>' in block


def test_add_tools_to_system():
    with_system = add_tools_to_system([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}], [SOLVE])
    assert with_system[0]["content"].startswith("Be brief.\n\n# Tools") and len(with_system) == 2
    without = add_tools_to_system([{"role": "user", "content": "hi"}], [SOLVE])
    assert without[0]["role"] == "system" and "<tools>" in without[0]["content"]
    assert add_tools_to_system([{"role": "user", "content": "hi"}], None) == [{"role": "user", "content": "hi"}]


def test_parse_one_well_formed_call():
    text, calls = parse_tool_calls(
        'I will solve it.\n<tool_call>\n{"name": "solve_equation", "arguments": {"equation": "x**2 = 4"}}\n</tool_call>'
    )
    assert text == "I will solve it."
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("solve_equation", {"equation": "x**2 = 4"})]
    assert calls[0].id.startswith("call_")


def test_parse_several_calls_in_order():
    reply = (
        "First <tool_call>{\"name\": \"a\", \"arguments\": {\"x\": 1}}</tool_call> then "
        "<tool_call>{'name': 'b', 'arguments': {'y': True, 'z': None}}</tool_call>\n"
        "<tool_call>\n```json\n{\"name\": \"c\", \"arguments\": {}}\n```\n</tool_call> done"
    )
    text, calls = parse_tool_calls(reply)
    assert [c.name for c in calls] == ["a", "b", "c"]
    assert [json.loads(c.arguments) for c in calls] == [{"x": 1}, {"y": True, "z": None}, {}]
    assert len({c.id for c in calls}) == 3
    assert text == "First\nthen\n\ndone"


@pytest.mark.parametrize(
    "block, name, arguments",
    [
        ('{"name": "f", "arguments": {"x": "1"}} and some words', "f", {"x": "1"}),  # trailing text
        ('{"name": "f", "arguments": "{\\"x\\": 2}"}', "f", {"x": 2}),  # OpenAI-style string arguments
        ('{"name": "f", "parameters": {"x": 3}}', "f", {"x": 3}),
        ('{"function": {"name": "f", "arguments": {"x": -4.5}}}', "f", {"x": -4.5}),
        ("{'name': 'f', 'arguments': {'s': \"it's\"}}", "f", {"s": "it's"}),
    ],
)
def test_parse_tolerates_common_deviations(block, name, arguments):
    _, calls = parse_tool_calls(f"<tool_call>{block}</tool_call>")
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [(name, arguments)]


def test_parse_unclosed_block_at_the_end():
    text, calls = parse_tool_calls('Let me call it. <tool_call>\n{"name": "f", "arguments": {"x": 1}}')
    assert text == "Let me call it." and [(c.name, c.arguments) for c in calls] == [("f", '{"x": 1}')]


def test_parse_malformed_calls_are_kept_for_the_agent():
    reply = (
        '<tool_call>{"name": "solve_equation", "arguments": {"equation": "x = 1"</tool_call>'
        "<tool_call>call the solver please</tool_call>"
        '<tool_call>{"arguments": {"x": 1}}</tool_call>'
    )
    text, calls = parse_tool_calls(reply)
    assert text == ""
    assert [c.name for c in calls] == ["solve_equation", "", ""]
    assert calls[0].arguments == '{"name": "solve_equation", "arguments": {"equation": "x = 1"'
    assert calls[1].arguments == "call the solver please"
    assert calls[2].arguments == '{"arguments": {"x": 1}}'


def test_parse_plain_text_and_bare_json():
    assert parse_tool_calls("The answer is \\boxed{4}.") == ("The answer is \\boxed{4}.", [])
    assert parse_tool_calls(None) == ("", [])
    bare = '{"name": "solve_equation", "arguments": {"equation": "x = 1"}}'
    assert parse_tool_calls(bare) == (bare, [])  # tool names unknown: left as text
    text, calls = parse_tool_calls(bare, tool_names={"solve_equation"})
    assert text == "" and calls[0].name == "solve_equation"
    assert parse_tool_calls(bare + " and more", tool_names={"solve_equation"})[1] == []
    assert parse_tool_calls(bare.replace("solve_equation", "other"), tool_names={"solve_equation"})[1] == []


def test_render_then_parse_round_trip():
    calls = [
        ToolCallRequest("1", "solve_equation", '{"equation": "x**2 = 4", "variable": "x"}'),
        ToolCallRequest("2", "differentiate", "{}"),
        ToolCallRequest("3", "solve_equation", '{"equation": "x = 1"'),  # malformed arguments
        ToolCallRequest("4", "", "not json at all"),  # a malformed block, as parsed
    ]
    message = Reply(text="Two steps.", tool_calls=calls).to_message()
    [plain] = to_template_messages([message])
    assert plain["role"] == "assistant" and plain["content"].startswith("Two steps.\n<tool_call>\n")
    text, parsed = parse_tool_calls(plain["content"])
    assert text == "Two steps."
    assert [c.name for c in parsed] == ["solve_equation", "differentiate", "solve_equation", ""]
    assert [json.loads(c.arguments) for c in parsed[:2]] == [json.loads(c.arguments) for c in calls[:2]]
    assert parsed[2].arguments == '{"name": "solve_equation", "arguments": {"equation": "x = 1"}'
    assert parsed[3].arguments == "not json at all"
    # a malformed block survives a second trip unchanged
    assert render_tool_call(parsed[2].name, parsed[2].arguments) == f"<tool_call>\n{parsed[2].arguments}\n</tool_call>"


def test_to_template_messages_without_a_tool_role():
    plain = to_template_messages(CONVERSATION, chat_template=None)
    assert [m["role"] for m in plain] == ["system", "user", "assistant", "user", "assistant"]
    assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in plain)
    assert plain[2]["content"].count("<tool_call>") == 2
    assert plain[3]["content"] == (
        '<tool_response>\n{"result": ["-2", "2"]}\n</tool_response>\n<tool_response>\n{"result": "3*x**2"}\n</tool_response>'
    )
    assert plain[4]["content"] == CONVERSATION[-1]["content"]


def test_to_template_messages_with_a_tool_role():
    assert template_supports_tool_role(QWEN_LIKE)
    plain = to_template_messages(CONVERSATION, chat_template=QWEN_LIKE)
    assert [m["role"] for m in plain] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert plain[3]["content"] == '{"result": ["-2", "2"]}'  # the template wraps it itself
    no_wrap = QWEN_LIKE.replace("<tool_response>\\n", "").replace("\\n</tool_response>", "")
    assert to_template_messages(CONVERSATION, chat_template=no_wrap)[3]["content"].startswith("<tool_response>\n")


# ------------------------------------------------------------------------- HFTeacher

PROMPTS = [
    [{"role": "user", "content": "What is 2+2? Answer with just the number."}],
    [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "Name a primary colour, then explain in one sentence why it is primary."},
    ],
]


@pytest.fixture(scope="module")
def teacher():
    # One thread: on a shared 2-core machine two OpenMP threads slow down ~10x whenever
    # another process is busy; one thread stays at ~10-15 tokens/s.
    threads = torch.get_num_threads()
    teacher = HFTeacher("smollm2", num_threads=1, max_tokens=32)
    teacher.load()  # the first run on a machine also converts the GGUF (~30 s)
    yield teacher
    asyncio.run(teacher.close())
    torch.set_num_threads(threads)


def test_smollm2_template_has_no_tool_support(teacher):
    template = teacher.tokenizer.chat_template
    assert not template_supports_tool_role(template) and "tools" not in template
    rendered = teacher.render_prompt(CONVERSATION, tools=[SOLVE])
    assert "<|im_start|>tool" not in rendered and "<tool_response>" in rendered
    assert rendered.count("<|im_start|>system") == 1 and "<tools>" in rendered
    # without a system message the template inserts its own default one
    assert "You are a helpful AI assistant named SmolLM" in teacher.render_prompt(PROMPTS[0])
    assert teacher.tokenizer.convert_tokens_to_ids("<|im_end|>") in teacher.stop_token_ids


def test_teacher_follows_the_protocol(teacher):
    assert isinstance(teacher, Teacher) and teacher.name == "hf:smollm2"


@pytest.mark.parametrize("tools", [None, [SOLVE]])
def test_prompt_is_an_exact_prefix_of_the_conversation(teacher, tools):
    tokenizer = teacher.tokenizer
    history = CONVERSATION[:-1]
    prompt = teacher.encode_prompt(history, tools)
    plain = add_tools_to_system(to_template_messages(CONVERSATION, tokenizer.chat_template), tools)
    full = tokenizer(tokenizer.apply_chat_template(plain, tokenize=False), add_special_tokens=False)["input_ids"]
    assert full[: len(prompt)] == prompt and len(full) > len(prompt)
    assert full[len(prompt) :][-2:] == tokenizer("<|im_end|>\n", add_special_tokens=False)["input_ids"]


async def test_chat_returns_text_and_real_token_counts(teacher):
    for messages in PROMPTS:
        reply = await teacher.chat(messages, max_tokens=32)
        assert reply.text and reply.tool_calls == []
        expected = teacher.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"]
        assert reply.usage.prompt_tokens == len(expected) == len(teacher.encode_prompt(messages))
        assert 0 < reply.usage.completion_tokens <= 32
        assert "<|im_end|>" not in reply.text and "<|im_start|>" not in reply.text
    # the short question ends with <|im_end|> well before the limit
    assert reply.finish_reason in {"stop", "length"}


async def test_generation_stops_at_im_end(teacher):
    reply = await teacher.chat(PROMPTS[0], max_tokens=48)
    assert reply.finish_reason == "stop" and reply.usage.completion_tokens < 48
    assert "4" in reply.text
    # the stop token is counted, as an API counts it
    body = teacher.tokenizer(reply.text, add_special_tokens=False)["input_ids"]
    assert reply.usage.completion_tokens == len(body) + 1


async def test_max_tokens_and_unknown_options(teacher, caplog):
    reply = await teacher.chat(PROMPTS[1], max_tokens=5, stop=["\n"])
    assert reply.usage.completion_tokens == 5 and reply.finish_reason == "length"
    assert "ignores the sampling option 'stop'" in caplog.text


async def test_sampling_is_reproducible_with_a_seed(teacher):
    a = await teacher.chat(PROMPTS[1], temperature=0.9, top_p=0.95, seed=7, max_tokens=12)
    b = await teacher.chat(PROMPTS[1], temperature=0.9, top_p=0.95, seed=7, max_tokens=12)
    assert a.text == b.text and a.usage == b.usage


async def test_chat_batch_equals_unbatched_greedy(teacher):
    prompts = [*PROMPTS, [{"role": "user", "content": "Say yes."}]]
    batch = await teacher.chat_batch(prompts, max_tokens=24)
    single = [await teacher.chat(p, max_tokens=24) for p in prompts]
    assert len(batch) == len(prompts)
    assert len({r.usage.prompt_tokens for r in batch}) == 3  # padding is exercised
    for b, s in zip(batch, single, strict=True):
        assert b.text == s.text and b.usage == s.usage and b.finish_reason == s.finish_reason
    assert await teacher.chat_batch([]) == []


async def test_generation_does_not_block_the_event_loop(teacher, monkeypatch):
    threads: list[int] = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (threads.append(n), real(n)))
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    first, second = await asyncio.gather(teacher.chat(PROMPTS[0], max_tokens=16), teacher.chat(PROMPTS[0], max_tokens=16))
    task.cancel()
    assert ticks > 10
    assert first.text == second.text  # serialised by the lock, both complete
    assert threads == [1, 1]


async def test_tool_calls_are_parsed_from_the_generation(teacher, monkeypatch):
    tokenizer = teacher.tokenizer
    written = 'Solving.\n<tool_call>\n{"name": "solve_equation", "arguments": {"equation": "x**2 = 4"}}\n</tool_call>'
    ids = tokenizer(written, add_special_tokens=False)["input_ids"] + [tokenizer.convert_tokens_to_ids("<|im_end|>")]
    monkeypatch.setattr(teacher, "_generate", lambda prompts, options: [(ids, True) for _ in prompts])
    reply = await teacher.chat(PROMPTS[0], tools=[SOLVE])
    assert reply.text == "Solving." and reply.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in reply.tool_calls] == [("solve_equation", {"equation": "x**2 = 4"})]
    assert reply.usage.completion_tokens == len(ids)
    assert reply.usage.prompt_tokens == len(teacher.encode_prompt(PROMPTS[0], [SOLVE]))
    # without tools offered, the same text is left alone
    assert (await teacher.chat(PROMPTS[0])).tool_calls == []


async def test_real_model_with_tools_offered(teacher):
    """SmolLM2-135M is too small to follow the tool format; whatever it writes must parse cleanly."""
    messages = [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Solve x**2 = 4 with a tool."}]
    reply = await teacher.chat(messages, tools=[SOLVE], max_tokens=32)
    assert reply.usage.prompt_tokens == len(teacher.encode_prompt(messages, [SOLVE])) > 150
    assert reply.text or reply.tool_calls


async def test_prompt_longer_than_the_context_is_a_teacher_error(teacher):
    with pytest.raises(TeacherError, match="context"):
        await teacher.chat([{"role": "user", "content": "word " * 9000}], max_tokens=8)
