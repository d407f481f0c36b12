"""Shared checks for tool tests: call as a model would, compare mathematically."""

from __future__ import annotations

from typing import Any

import sympy as sp

from toolkit.parse import parse
from toolkit.registry import execute, select_tools, timed_execute


def result_of(name: str, args: dict[str, Any]) -> Any:
    payload = execute(name, args)
    assert "error" not in payload, payload
    return payload["result"]


def error_of(name: str, args: dict[str, Any]) -> dict[str, str]:
    payload = execute(name, args)
    assert "error" in payload, payload
    return payload["error"]


def error_type_of(name: str, args: dict[str, Any]) -> str:
    """The type of the error a call returns; its message and hint must not be empty."""
    error = error_of(name, args)
    assert error["message"] and error["hint"], error
    return error["type"]


def assert_tool_error(name: str, args: dict[str, Any], *words: str) -> dict[str, Any]:
    """A `tool_error` with a hint, whose message names every one of `words`."""
    error = error_of(name, args)
    assert error["type"] == "tool_error", error
    assert error["hint"], error
    for word in words:
        assert word in error["message"], error
    return error


def assert_fast(name: str, args: dict[str, Any], seconds: float = 5) -> None:
    """The call succeeds in under `seconds` (size limits keep the worst case fast)."""
    payload, took = timed_execute(name, args)
    assert "error" not in payload, payload
    assert took < seconds


def assert_registered(category: str, names: set[str]) -> None:
    """`category` holds exactly `names`, each described, with every parameter in its schema and described."""
    tools = {t.name: t for t in select_tools(categories=[category])}
    assert set(tools) == names
    for tool in tools.values():
        assert tool.category == category
        assert tool.description, tool.name
        schema = tool.openai_schema()["function"]["parameters"]
        assert schema["properties"], tool.name
        assert set(schema["properties"]) == {p.name for p in tool.params}
        for param, prop in schema["properties"].items():
            assert prop["description"].strip(), f"{tool.name}.{param} has no description"


def same(got: Any, expected: Any) -> bool:
    """Mathematical equality of a JSON result (SymPy syntax strings, numbers, lists) and an expectation."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and got.keys() == expected.keys() and all(same(got[k], expected[k]) for k in expected)
    if isinstance(expected, list | tuple):
        return isinstance(got, list) and len(got) == len(expected) and all(map(same, got, expected))
    if isinstance(expected, bool):
        return got is expected
    a = parse(got) if isinstance(got, str) else sp.sympify(got)
    b = parse(expected) if isinstance(expected, str) else sp.sympify(expected)
    if isinstance(a, sp.Basic) and isinstance(b, sp.Basic) and a == b:
        return True
    try:
        return sp.simplify(a - b) == 0
    except TypeError:
        return bool(sp.simplify(sp.Eq(a, b)) is sp.true)
