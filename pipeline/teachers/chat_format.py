"""Hermes-style tool calling for chat-template models (Qwen2.5, SmolLM2, ...).

Models served through their own chat template (not through an API that parses tool
calls for us) see the tools as a block of the system prompt and answer with

    <tool_call>
    {"name": "solve_equation", "arguments": {"equation": "x**2 = 4"}}
    </tool_call>

the convention of Hermes and Qwen2.5 (whose template writes the same block). Three pure
functions cover it:

- `render_tools_prompt(tools)`: the system-prompt block listing the function schemas;
- `parse_tool_calls(text)`: the model's reply → (remaining text, tool calls), tolerant
  of several calls, single-quoted JSON, code fences, trailing text and unclosed blocks;
  a block that cannot be parsed still becomes a call (name "" unless recoverable, raw
  text as `arguments`) so the agent can report the malformed call back to the model;
- `to_template_messages(messages, chat_template)`: OpenAI-format messages (assistant
  `tool_calls`, `tool` results) → plain role/content messages any chat template accepts.
  Tool results go in a `tool` message when the template knows that role, else in a
  `user` message; they are wrapped in `<tool_response>` unless the template does that.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
from collections.abc import Collection, Iterable
from typing import Any

from pipeline.teachers.base import ToolCallRequest, new_call_id

TOOLS_PROMPT = """# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{tools}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{{"name": <function-name>, "arguments": <args-json-object>}}
</tool_call>"""

TOOL_CALL_OPEN, TOOL_CALL_CLOSE = "<tool_call>", "</tool_call>"
TOOL_RESPONSE_OPEN, TOOL_RESPONSE_CLOSE = "<tool_response>", "</tool_response>"

# A complete block, or an unclosed one running to the end of the text (the model stopped
# or ran out of tokens before closing it).
_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|\Z)", re.DOTALL)
_BLOCK_AND_SPACES = re.compile(r"[ \t]*" + _BLOCK.pattern + r"[ \t]*", re.DOTALL)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.DOTALL)
_NAME = re.compile(r"""["']?name["']?\s*:\s*["']([A-Za-z_][\w.\-]*)["']""")
_TOOL_ROLE = re.compile(r"""==\s*["']tool["']|["']tool["']\s*==""")


# --------------------------------------------------------------------------- rendering


def _function_schema(tool: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI tool (`{"type": "function", "function": {...}}`) or a bare function schema."""
    if "function" in tool:
        return {"type": "function", "function": tool["function"]}
    return {"type": "function", "function": tool}


def tool_name(tool: dict[str, Any]) -> str:
    return _function_schema(tool)["function"]["name"]


def render_tools_prompt(tools: Iterable[dict[str, Any]]) -> str:
    """The system-prompt block that offers `tools` (OpenAI format) to the model."""
    lines = "\n".join(json.dumps(_function_schema(t), ensure_ascii=False) for t in tools)
    return TOOLS_PROMPT.format(tools=lines)


def add_tools_to_system(messages: list[dict[str, Any]], tools: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """`messages` with the tools block appended to the system message (one is added if missing).

    Note that with SmolLM2 adding a system message replaces the template's default one.
    """
    tools = list(tools or [])
    if not tools:
        return list(messages)
    block = render_tools_prompt(tools)
    if messages and messages[0].get("role") == "system":
        system = _text(messages[0].get("content"))
        first = {**messages[0], "content": f"{system}\n\n{block}" if system else block}
        return [first, *messages[1:]]
    return [{"role": "system", "content": block}, *messages]


def render_tool_call(name: str, arguments: str) -> str:
    """One `<tool_call>` block; malformed `arguments` are written back verbatim."""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except (json.JSONDecodeError, AttributeError):
        parsed = None
    if isinstance(parsed, dict):
        body = json.dumps({"name": name, "arguments": parsed}, ensure_ascii=False)
    elif not name or name in arguments:
        # What `parse_tool_calls` keeps of a malformed block is the block itself.
        body = arguments.strip()
    else:
        body = f'{{"name": {json.dumps(name)}, "arguments": {arguments}}}'
    return f"{TOOL_CALL_OPEN}\n{body}\n{TOOL_CALL_CLOSE}"


def template_supports_tool_role(chat_template: str | None) -> bool:
    """Whether a chat template has a branch for `tool` messages (Qwen2.5 does; SmolLM2 does not)."""
    return bool(chat_template) and bool(_TOOL_ROLE.search(chat_template))


def _text(content: Any) -> str:
    """Message content as text: None → "", a list of OpenAI content parts → their text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content)


def _wrap_response(content: str) -> str:
    return f"{TOOL_RESPONSE_OPEN}\n{content}\n{TOOL_RESPONSE_CLOSE}"


def to_template_messages(messages: list[dict[str, Any]], chat_template: str | None = None) -> list[dict[str, str]]:
    """OpenAI-format messages → plain `{"role", "content"}` messages for `chat_template`.

    - assistant `tool_calls` become `<tool_call>` blocks after the assistant's text;
    - `tool` results stay `tool` messages if the template has a `tool` branch (wrapped in
      `<tool_response>` only if the template does not wrap them itself); otherwise each
      run of consecutive results becomes one `user` message of `<tool_response>` blocks;
    - content is always a string (SmolLM2's template concatenates it and fails on None).
    """
    tool_role = template_supports_tool_role(chat_template)
    template_wraps = bool(chat_template) and TOOL_RESPONSE_OPEN in chat_template
    out: list[dict[str, str]] = []
    results_at: int | None = None  # index of the user message collecting the current run of results
    for message in messages:
        role = message["role"]
        content = _text(message.get("content"))
        if role == "assistant" and message.get("tool_calls"):
            blocks = [
                render_tool_call(call["function"]["name"], _text(call["function"].get("arguments")))
                for call in message["tool_calls"]
            ]
            content = "\n".join([content.strip(), *blocks] if content.strip() else blocks)
            out.append({"role": "assistant", "content": content})
        elif role == "tool":
            if tool_role:
                out.append({"role": "tool", "content": content if template_wraps else _wrap_response(content)})
            elif results_at is not None and results_at == len(out) - 1:
                out[-1]["content"] += "\n" + _wrap_response(content)
            else:
                out.append({"role": "user", "content": _wrap_response(content)})
                results_at = len(out) - 1
        else:
            out.append({"role": role, "content": content})
    return out


# ----------------------------------------------------------------------------- parsing


def _balanced_object(text: str, start: int) -> str | None:
    """The `{...}` starting at `text[start]`, matching braces outside '…' and "…" strings."""
    depth, quote, escaped = 0, None, False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


_LITERAL_NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


def _literal(node: ast.AST) -> Any:
    """A Python/JSON literal from a parsed expression, evaluating nothing else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool | type(None)):
        return node.value
    if isinstance(node, ast.Name) and node.id in _LITERAL_NAMES:
        return _LITERAL_NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e) for e in node.elts]
    raise ValueError(f"not a literal: {ast.dump(node)[:80]}")


def _loads_lenient(text: str) -> Any:
    """JSON, or failing that a Python-style literal (single quotes, True/None)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    if len(text) > 100_000:
        raise ValueError("too long to parse leniently")
    try:
        return _literal(ast.parse(text.strip(), mode="eval").body)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise ValueError(str(exc)) from exc


def _parse_object(body: str) -> dict[str, Any] | None:
    """The first JSON(-ish) object in `body`, ignoring fences and text around it."""
    body = body.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body)
        return value if isinstance(value, dict) else None
    except json.JSONDecodeError:
        pass
    start = body.find("{")
    while start != -1:
        candidate = _balanced_object(body, start)
        if candidate is not None:
            try:
                value = _loads_lenient(candidate)
            except ValueError:
                value = None
            if isinstance(value, dict):
                return value
        start = body.find("{", start + 1)
    return None


def _call_from_object(obj: dict[str, Any]) -> tuple[str, str] | None:
    """(name, arguments JSON) from `{"name", "arguments"}` (or "parameters", or OpenAI's nesting)."""
    if isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        return None
    arguments = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(arguments, str):
        try:  # OpenAI-style arguments as a JSON string: keep that string if it is JSON
            json.loads(arguments)
        except json.JSONDecodeError:
            with contextlib.suppress(ValueError):  # else kept verbatim for the agent to report
                arguments = json.dumps(_loads_lenient(arguments), ensure_ascii=False)
        return name, arguments
    return name, json.dumps(arguments, ensure_ascii=False)


def _malformed(body: str) -> ToolCallRequest:
    match = _NAME.search(body)
    return ToolCallRequest(id=new_call_id(), name=match.group(1) if match else "", arguments=body.strip())


def parse_tool_calls(text: str | None, tool_names: Collection[str] | None = None) -> tuple[str, list[ToolCallRequest]]:
    """Split a model reply into (remaining text, tool calls), in the order written.

    Each `<tool_call>` block (closed or left open at the end) becomes one call. A block
    whose JSON cannot be read becomes a call with the recoverable name (or "") and the
    block's raw text as `arguments`. Without any block, a reply that is nothing but a
    `{"name", "arguments"}` object naming one of `tool_names` is read as a call too.
    """
    if not text:
        return "", []
    calls: list[ToolCallRequest] = []
    for match in _BLOCK.finditer(text):
        body = match.group(1)
        obj = _parse_object(body)
        parsed = _call_from_object(obj) if obj is not None else None
        if parsed is None:
            calls.append(_malformed(body))
        else:
            calls.append(ToolCallRequest(id=new_call_id(), name=parsed[0], arguments=parsed[1]))
    if calls:
        remaining = _BLOCK_AND_SPACES.sub("\n", text)
        remaining = re.sub(r"\n{3,}", "\n\n", remaining.replace(TOOL_CALL_CLOSE, "")).strip()
        return remaining, calls

    if tool_names:
        stripped = text.strip()
        if stripped.startswith(("{", "```")):
            obj = _parse_object(stripped)
            parsed = _call_from_object(obj) if obj is not None else None
            if parsed is not None and parsed[0] in tool_names and _only_object(stripped):
                return "", [ToolCallRequest(id=new_call_id(), name=parsed[0], arguments=parsed[1])]
    return text.strip(), []


def _only_object(text: str) -> bool:
    fenced = _FENCE.match(text)
    body = fenced.group(1).strip() if fenced else text
    return body.startswith("{") and _balanced_object(body, 0) == body
