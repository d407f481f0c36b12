"""What families in several domains share: the unknowns, reading solutions and integers, a last step.

A helper that only one domain's families use stays in that domain's module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sympy as sp

from pipeline.latex import ReadError, value
from pipeline.synthetic.base import Call

X, Y, Z, K = sp.symbols("x y z k")


def real_key(v: sp.Expr) -> float:
    """Exact real values sort by their numerical value (SymPy cannot order radicals by itself)."""
    return float(sp.N(v))


def sorted_roots(result: Any) -> list[sp.Expr]:
    """Solutions from solve_equation (a list) or polynomial_roots (a {root: multiplicity} dict)."""
    if isinstance(result, dict):
        return sorted((value(r) for r in result), key=real_key)
    if isinstance(result, list):
        return sorted((value(r) for r in result), key=real_key)
    raise ReadError(f"expected a list of solutions, got {result!r}")


def and_list(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def arith(expression: str, say: str) -> Call:
    """A last arithmetic step on earlier results, done with simplify_expression."""
    return Call("simplify_expression", {"expression": expression}, say=say, by_hand=expression)


def int_field(text: str) -> int:
    if not re.fullmatch(r"-?\d+", text.strip()):
        raise ReadError(f"not an integer: {text!r}")
    return int(text)


def integer_det(m: list[list[int]]) -> int:
    """Determinant by cofactor expansion (exact, small matrices)."""
    if len(m) == 1:
        return m[0][0]
    return sum((-1) ** j * m[0][j] * integer_det([row[:j] + row[j + 1 :] for row in m[1:]]) for j in range(len(m)))
