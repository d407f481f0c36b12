"""Shared checks for tool tests: call as a model would, compare mathematically."""

from __future__ import annotations

from typing import Any

import sympy as sp

from toolkit.parse import parse
from toolkit.registry import execute


def result_of(name: str, args: dict[str, Any]) -> Any:
    payload = execute(name, args)
    assert "error" not in payload, payload
    return payload["result"]


def error_of(name: str, args: dict[str, Any]) -> dict[str, str]:
    payload = execute(name, args)
    assert "error" in payload, payload
    return payload["error"]


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
