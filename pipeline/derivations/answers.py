"""A tool result as the answer a translation must box: one value, a list, or `name = value` pairs.

Tool results are JSON (numbers, SymPy-syntax strings, lists, dicts). The judge compares a
translation's boxed answer with this normal form component by component, so a translation
of `solve_linear_system` boxes `x = -3, y = -5` and one of `solve_equation` boxes `6, 8`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.derivations.base import DerivationError, expr, tex

_INTERVAL = re.compile(r"^Interval(?:\.(open|Lopen|Ropen))?\((.+), (.+)\)$")
# results whose dict keys are the values (root -> multiplicity)
_KEYS_ARE_VALUES = {"compute_eigenvalues", "polynomial_roots"}
_POINTS = {"line_intersection", "midpoint", "circle_line_intersection"}


@dataclass(frozen=True)
class Expected:
    kind: Literal["value", "list", "mapping"]
    items: tuple[tuple[str, str], ...]  # (name, LaTeX value); names only for "mapping"

    def latex(self) -> str:
        if self.kind == "mapping":  # names in words: `sum of roots`, not the tool's snake_case key
            return ", ".join(f"{key_words(k)} = {v}" for k, v in self.items)
        return ", ".join(v for _, v in self.items)


def key_words(key: str) -> str:
    return " ".join(key.replace("_", " ").split())


def leaf_latex(value: Any) -> str:
    """One JSON leaf as LaTeX (a string that does not parse is kept as written)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        if value.startswith(("Interval", "Union", "EmptySet", "Reals")):
            return set_latex(value)
        try:
            return tex(expr(value))
        except DerivationError:
            return value
    if isinstance(value, list):
        return "(" + ", ".join(leaf_latex(v) for v in value) + ")"
    raise DerivationError(f"cannot write {type(value).__name__} as an answer")


def set_latex(text: str) -> str:
    """`Interval.open(-10, -4)` → `(-10, -4)`; unions joined with \\cup."""
    text = text.strip()
    if text == "EmptySet":
        return "\\emptyset"
    if text == "Reals":
        return "(-\\infty, \\infty)"
    if text.startswith("Union(") and text.endswith(")"):
        parts = _split_top(text[len("Union(") : -1])
        return " \\cup ".join(set_latex(p) for p in parts)
    m = _INTERVAL.match(text)
    if not m:
        raise DerivationError(f"cannot read the set {text!r}")
    kind, a, b = m.groups()
    left = "(" if kind in ("open", "Lopen") else "["
    right = ")" if kind in ("open", "Ropen") else "]"
    lo, hi = (leaf_latex(v.strip()) for v in (a, b))
    lo = "-\\infty" if a.strip() == "-oo" else lo
    hi = "\\infty" if b.strip() == "oo" else hi
    left = "(" if a.strip() == "-oo" else left
    right = ")" if b.strip() == "oo" else right
    return f"{left}{lo}, {hi}{right}"


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def expected_answer(tool: str, result: Any) -> Expected:
    if tool in _KEYS_ARE_VALUES and isinstance(result, dict):
        return Expected("list", tuple(("", leaf_latex(k)) for k in result))
    if tool == "chinese_remainder" and isinstance(result, dict):
        return Expected("value", (("", leaf_latex(result["solution"])),))
    if tool == "solve_linear_congruence" and isinstance(result, dict):
        return Expected("list", tuple(("", leaf_latex(v)) for v in result["solutions"]))
    if isinstance(result, dict) and "solution_set" in result:
        return Expected("value", (("", set_latex(str(result["solution_set"]))),))
    if tool in _POINTS and isinstance(result, list):
        return Expected("value", (("", leaf_latex(result)),))
    if isinstance(result, dict):
        items = tuple((str(k), leaf_latex(v)) for k, v in result.items() if not isinstance(v, dict | list))
        if not items:
            raise DerivationError("the result has no scalar entries to state")
        return Expected("mapping", items)
    if isinstance(result, list):
        if not result:
            return Expected("value", (("", "\\emptyset"),))
        return Expected("list", tuple(("", leaf_latex(v)) for v in result))
    return Expected("value", (("", leaf_latex(result)),))


def split_answer(text: str) -> list[str]:
    """A boxed answer's top-level comma-separated parts."""
    return _split_top(text)
