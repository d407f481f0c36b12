"""Turning tool return values into JSON: SymPy syntax a model can reuse, plus LaTeX."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import sympy as sp
from sympy.core.sorting import default_sort_key

DEFAULT_OUTPUT_LIMIT = 4096  # characters of JSON per call
_JSON_SAFE_INT = 2**53


def to_jsonable(value: Any) -> Any:
    """JSON-native where lossless (bools, small integers), SymPy syntax strings otherwise."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, sp.logic.boolalg.BooleanAtom):
        return bool(value)
    if isinstance(value, int | sp.Integer):
        n = int(value)
        return n if abs(n) < _JSON_SAFE_INT else str(n)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, sp.MatrixBase):
        return [[to_jsonable(x) for x in row] for row in value.tolist()]
    if isinstance(value, sp.Basic):
        return sp.sstr(value)
    if isinstance(value, Mapping):
        return {_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return [to_jsonable(v) for v in sorted(value, key=default_sort_key)]
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return str(value)


def _key(key: Any) -> str:
    return key if isinstance(key, str) else sp.sstr(key)


def to_latex(value: Any) -> str | None:
    """LaTeX for anything holding SymPy objects; None where LaTeX adds nothing."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int | float):
        return None
    if isinstance(value, sp.logic.boolalg.BooleanAtom):
        return None
    if isinstance(value, sp.Basic | sp.MatrixBase):
        return sp.latex(value)
    if isinstance(value, Mapping):
        parts = [f"{_latex_key(k)} = {_nested_latex(v)}" for k, v in value.items()]
        return ", ".join(parts)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=default_sort_key) if isinstance(value, set | frozenset) else value
        return ", ".join(_nested_latex(v) for v in items)
    return None


def _nested_latex(value: Any) -> str:
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_latex_key(k)}: {_nested_latex(v)}" for k, v in value.items())
        return rf"\left\{{{inner}\right\}}"
    if isinstance(value, list | tuple):
        return r"\left(" + ", ".join(_nested_latex(v) for v in value) + r"\right)"
    return str(to_latex(value) or to_jsonable(value))


def _latex_key(key: Any) -> str:
    if isinstance(key, str):
        return key if len(key) == 1 else r"\text{" + key.replace("_", r"\_") + "}"
    return sp.latex(key)


def make_result(value: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"result": to_jsonable(value)}
    latex = to_latex(value)
    if latex is not None and latex != str(payload["result"]):
        payload["latex"] = latex
    return payload


def dump_capped(payload: dict[str, Any], limit: int = DEFAULT_OUTPUT_LIMIT) -> str:
    """JSON text of at most `limit` characters; a larger result is cut with a note saying so."""
    text = json.dumps(payload, ensure_ascii=False)
    if len(text) <= limit:
        return text
    if "error" in payload:
        err = dict(payload["error"])
        err["message"] = err.get("message", "")[: limit // 2]
        err["hint"] = err.get("hint", "")[: limit // 4]
        return json.dumps({"error": err}, ensure_ascii=False)
    result = payload.get("result")
    body = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
    keep = max(0, limit - 300)
    capped = {
        "result": body[:keep],
        "truncated": True,
        "note": f"output truncated from {len(text)} to about {limit} characters; "
        "ask for a smaller piece (e.g. fewer terms, a specific entry) to see all of it",
    }
    return json.dumps(capped, ensure_ascii=False)
