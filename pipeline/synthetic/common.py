"""What families in several domains share: the unknowns, reading solutions and integers, the last steps.

A helper that only one domain's families use stays in that domain's module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sympy as sp

from pipeline.latex import ReadError, tex, value
from pipeline.synthetic.base import Answer, Call

X, Y, Z, K = sp.symbols("x y z k")


def real_key(v: sp.Expr) -> float:
    """Exact real values sort by their numerical value (SymPy cannot order radicals by itself)."""
    return float(sp.N(v))


def sorted_roots(result: Any) -> list[sp.Expr]:
    """Solutions from solve_equation (a list) or polynomial_roots (a {root: multiplicity} dict)."""
    if isinstance(result, dict | list):  # a dict iterates over its roots
        return sorted((value(r) for r in result), key=real_key)
    raise ReadError(f"expected a list of solutions, got {result!r}")


def and_list(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def arith(expression: str, say: str) -> Call:
    """A last arithmetic step on earlier results, done with simplify_expression."""
    return Call("simplify_expression", {"expression": expression}, say=say, by_hand=expression)


def answer(result: Any, lead: str, end: str = ".") -> Answer:
    """The final answer: a tool's result read as a value, said as `{lead} $value${end}`."""
    v = value(result)
    return Answer(tex(v), say=f"{lead} ${tex(v)}${end}")


def int_field(text: str) -> int:
    if not re.fullmatch(r"-?\d+", text.strip()):
        raise ReadError(f"not an integer: {text!r}")
    return int(text)


def int_fields(f: dict[str, str], *other: str) -> dict[str, int]:
    """The integers a template's fields state, by field name (all fields but `other`)."""
    return {k: int_field(v) for k, v in f.items() if k not in other}


def integer_det(m: list[list[int]]) -> int:
    """Determinant by cofactor expansion (exact, small matrices)."""
    if len(m) == 1:
        return m[0][0]
    return sum((-1) ** j * m[0][j] * integer_det([row[:j] + row[j + 1 :] for row in m[1:]]) for j in range(len(m)))
