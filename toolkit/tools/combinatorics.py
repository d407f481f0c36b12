"""Combinatorics: counting (binomials, permutations, partitions, ...) and linear recurrences."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

import pydantic
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.functions.combinatorial.numbers import partition, stirling

from toolkit import parse as P
from toolkit.errors import ToolError, tool_error
from toolkit.registry import Symbol, tool
from toolkit.tools.number_theory import (
    MAX_RESULT_DIGITS,
    NonNegativeInt,
    check_result_size,
    list_from_text,
)

MAX_N = 10**18  # for counts computed from a few factors (binomial, permutations)
MAX_STIRLING_N = 1000
MAX_PARTITION_N = 10**6
MAX_DERANGEMENTS_N = 1400  # !n has about log10(n!) digits: 1400! has 3799
MAX_RECURRENCE_CHARS = 500


def _log10_factorial(n: int) -> float:
    return math.lgamma(n + 1) / math.log(10)


def _check_digits(log10_value: float, what: str, hint: str) -> None:
    """Refuse an answer whose estimated size is beyond what can be returned."""
    if log10_value > MAX_RESULT_DIGITS - 1:
        raise tool_error(
            f"{what} has about {int(log10_value) + 1} digits (limit {MAX_RESULT_DIGITS})", hint
        )


def _check_n(n: int, name: str, limit: int) -> None:
    if n > limit:
        raise tool_error(f"{name} = {n} is too large (limit {limit})", f"Use {name} <= {limit}.")


def _to_kind(value: Any) -> Any:
    """Accept 1, 2 and the strings "1", "2" for Stirling's kind."""
    if isinstance(value, str) and value.strip() in {"1", "2"}:
        return int(value.strip())
    return value


@tool("combinatorics")
def binomial_coefficient(n: NonNegativeInt, k: NonNegativeInt) -> int:
    """The binomial coefficient C(n, k) = n! / (k! (n-k)!): the number of ways to choose k of n items (0 when k > n).

    Args:
        n: The number of items, a non-negative integer, e.g. 10.
        k: How many are chosen, a non-negative integer, e.g. 3 (C(10, 3) = 120).
    """
    _check_n(n, "n", MAX_N)
    if k > n:
        return 0
    j = min(k, n - k)
    _check_digits(
        (math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1)) / math.log(10),
        f"C({n}, {k})",
        "Ask for a smaller coefficient, or for it modulo a number.",
    )
    return math.comb(n, j)


@tool("combinatorics")
def permutations_count(n: NonNegativeInt, k: NonNegativeInt | None = None) -> int:
    """The number of ordered arrangements of k of n distinct items, n!/(n-k)! (0 when k > n); n! when k is omitted.

    Args:
        n: The number of distinct items, a non-negative integer, e.g. 5.
        k: How many are arranged in order, e.g. 2 (5*4 = 20); omit it to arrange all n (n!).
    """
    _check_n(n, "n", MAX_N)
    k = n if k is None else k
    if k > n:
        return 0
    _check_digits(
        (math.lgamma(n + 1) - math.lgamma(n - k + 1)) / math.log(10),
        f"P({n}, {k})",
        "Ask for a smaller count, or keep it symbolic as factorial(n)/factorial(n - k).",
    )
    return math.perm(n, k)


@tool("combinatorics")
def multinomial_coefficient(
    counts: Annotated[
        list[NonNegativeInt],
        pydantic.Field(min_length=1, max_length=100),
        pydantic.BeforeValidator(list_from_text),
    ],
) -> int:
    """The multinomial coefficient (k1 + k2 + ...)! / (k1! k2! ...): arrangements of a multiset, e.g. the letters of a word.

    Args:
        counts: How many items of each type, non-negative integers, e.g. [2, 1, 1] (arrangements of "AABC": 12).
    """
    total = sum(counts)
    _check_n(total, "the sum of the counts", MAX_N)
    _check_digits(
        (math.lgamma(total + 1) - sum(math.lgamma(c + 1) for c in counts)) / math.log(10),
        "the multinomial coefficient",
        "Use smaller counts.",
    )
    result, running = 1, 0
    for c in counts:
        running += c
        result *= math.comb(running, c)
    return result


@tool("combinatorics")
def catalan_number(n: NonNegativeInt) -> int:
    """The n-th Catalan number C(2n, n)/(n + 1): 1, 1, 2, 5, 14, 42, ... for n = 0, 1, 2, ...

    Counts balanced bracket strings with n pairs, binary trees with n internal nodes, triangulations of
    an (n+2)-gon, monotone lattice paths not crossing the diagonal, ...

    Args:
        n: The index, a non-negative integer, e.g. 5 (C_5 = 42).
    """
    _check_digits(
        n * math.log10(4) - 1.5 * math.log10(max(n, 1)),
        f"the Catalan number C_{n}",
        "Use a smaller n.",
    )
    return math.comb(2 * n, n) // (n + 1)


@tool("combinatorics")
def stirling_number(
    n: NonNegativeInt,
    k: NonNegativeInt,
    kind: Annotated[Literal[1, 2], pydantic.BeforeValidator(_to_kind)] = 2,
) -> int:
    """A Stirling number of the first or second kind.

    kind=2 (default): S(n, k), the number of ways to partition n labelled items into k non-empty
    unlabelled blocks, e.g. S(4, 2) = 7. kind=1: the unsigned Stirling number of the first kind
    c(n, k) = |s(n, k)|, the number of permutations of n items with exactly k cycles, e.g. c(4, 2) = 11
    (the signed number is (-1)**(n-k) * c(n, k)). Both are 0 when k > n, and S(0, 0) = c(0, 0) = 1.

    Args:
        n: The number of items, 0 to 1000.
        k: The number of blocks (kind 2) or cycles (kind 1), a non-negative integer.
        kind: 1 for the unsigned Stirling numbers of the first kind (cycles), 2 for the second kind (set partitions); default 2.
    """
    _check_n(n, "n", MAX_STIRLING_N)
    if k > n:
        return 0
    value = int(stirling(n, k, kind=kind, signed=False))
    return check_result_size(value, f"the Stirling number ({n}, {k})")


@tool("combinatorics")
def partition_count(n: NonNegativeInt) -> int:
    """The partition number p(n): how many ways n can be written as a sum of positive integers, ignoring order.

    p(0) = 1, p(4) = 5 (4, 3+1, 2+2, 2+1+1, 1+1+1+1), p(100) = 190569292.

    Args:
        n: A non-negative integer, 0 to 10**6.
    """
    _check_n(n, "n", MAX_PARTITION_N)
    return int(partition(n))


@tool("combinatorics")
def derangements_count(n: NonNegativeInt) -> int:
    """The number of derangements !n (subfactorial): permutations of n items with no item in its own place.

    !0 = 1, !1 = 0, !2 = 1, !3 = 2, !4 = 9, !5 = 44; !n is the integer nearest n!/e for n >= 1.

    Args:
        n: The number of items, 0 to 1400.
    """
    _check_n(n, "n", MAX_DERANGEMENTS_N)
    d = 1  # !0
    for i in range(1, n + 1):
        d = i * d + (-1) ** i
    return check_result_size(d, f"!{n}")


# ----------------------------------------------------------------------------- recurrences

_FUNCTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,29}")


def _check_function_name(name: str) -> str:
    name = name.strip()
    if (
        not _FUNCTION_NAME.fullmatch(name)
        or name in P.FUNCTIONS
        or name in P.CONSTANTS
        or name in P.DANGEROUS_NAMES
    ):
        raise tool_error(
            f"{name!r} cannot be the name of the sequence",
            'Use a short name that is not a known function or constant, e.g. "a", "f" or "u".',
        )
    return name


def _index(key: str, function: str) -> int:
    """The index of an initial condition key: "a(0)" -> 0, "0" -> 0."""
    hint = f'Write initial conditions as {{"{function}(0)": "0", "{function}(1)": "1"}} or {{"0": "0", "1": "1"}}.'
    text = str(key).strip()
    call = re.fullmatch(r"([A-Za-z]\w*)\s*\((.*)\)", text)
    if call:
        if call.group(1) != function:
            raise tool_error(
                f"the initial condition {key!r} is not about the sequence {function}", hint
            )
        text = call.group(2)
    try:
        index = P.parse_expression(text, what=f"initial condition {key!r}")
    except ToolError as exc:
        raise tool_error(
            f"cannot read the initial condition {key!r}: {exc.message}", hint
        ) from None
    if not index.is_Integer:
        raise tool_error(
            f"the initial condition {key!r} does not name a term {function}(integer)", hint
        )
    return int(index)


def _conditions_from_text(value: Any) -> Any:
    """Accept "a(0)=0, a(1)=1" as well as the mapping {"a(0)": "0", "a(1)": "1"}."""
    if not isinstance(value, str):
        return value
    parts = [p for p in re.split(r"[,;]", value) if p.strip()]
    if not parts or not all("=" in p for p in parts):
        return value  # left for pydantic to refuse
    return {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in parts)}


@tool("combinatorics")
def solve_recurrence(
    recurrence: str,
    function: str = "a",
    variable: Symbol = "n",
    initial_conditions: Annotated[
        dict[str, str | int | float] | None, pydantic.BeforeValidator(_conditions_from_text)
    ] = None,
) -> sp.Basic:
    """Solve a linear recurrence relation (constant or polynomial coefficients) in closed form.

    Returns the general term as an expression in the variable, e.g. 2**n - 1. Without enough initial
    conditions the answer contains arbitrary constants C0, C1, ...

    Args:
        recurrence: The recurrence as an equation in terms of a(n), a(n+1), a(n-1), ..., e.g.
            "a(n+2) = a(n+1) + a(n)" or "a(n) - 2*a(n-1) = 1" (a bare expression means "= 0").
        function: The name of the sequence used in the recurrence (default "a").
        variable: The index variable (default "n").
        initial_conditions: Known terms, e.g. {"a(0)": "0", "a(1)": "1"} or {"0": "0", "1": "1"}.
    """
    function = _check_function_name(function)
    if isinstance(variable, str):  # the default arrives unparsed
        variable = P.parse_symbol(variable, what="variable")
    if variable.name == function:
        raise tool_error(
            "the sequence and its index have the same name",
            'Use e.g. function "a" and variable "n".',
        )
    if len(recurrence) > MAX_RECURRENCE_CHARS:
        raise tool_error(
            f"the recurrence is {len(recurrence)} characters long (limit {MAX_RECURRENCE_CHARS})",
            "Pass a single, shorter recurrence.",
        )
    equation = P.parse_equation(recurrence, functions={function}, what="recurrence")
    expr = equation.lhs - equation.rhs
    seq = sp.Function(function)
    terms = [t for t in expr.atoms(AppliedUndef) if t.func.__name__ == function]
    if not terms:
        raise tool_error(
            f"the recurrence does not mention {function}(...)",
            f'Write it with {function}({variable}), {function}({variable}+1), ..., e.g. "{function}({variable}+1) = 2*{function}({variable})", '
            "or pass the sequence's name as function.",
        )
    shifts = []
    for t in terms:
        shift = sp.simplify(t.args[0] - variable) if len(t.args) == 1 else None
        if shift is None or not shift.is_Integer:
            raise tool_error(
                f"{t} is not a term {function}({variable} + integer)",
                f"Every term must be {function}({variable}), {function}({variable}+1), {function}({variable}-1), ...; "
                "check the index variable (pass variable if it is not n).",
            )
        shifts.append(int(shift))
    order = max(shifts) - min(shifts)
    init = None
    if initial_conditions:
        if len(initial_conditions) > 20:
            raise tool_error(
                "too many initial conditions (limit 20)",
                "Give only as many as the order of the recurrence.",
            )
        init = {}
        for key, value in initial_conditions.items():
            init[seq(_index(key, function))] = P.parse_expression(value, what=f"value of {key}")
    try:
        solution = sp.rsolve(expr, seq(variable), init)
    except (ValueError, NotImplementedError, TypeError, sp.PolynomialError) as exc:
        raise tool_error(
            f"cannot solve this recurrence: {exc}",
            "Only linear recurrences (each term a(n+k) to the first power, coefficients polynomial in n) "
            "can be solved; check the equation.",
        ) from None
    if solution is None:
        raise tool_error(
            "no closed form was found" + (" that fits the initial conditions" if init else ""),
            "Check the recurrence and that the initial conditions are consistent with it and with its order.",
        )
    constants = solution.free_symbols - expr.free_symbols - {variable}
    if init is None and len(constants) < order:
        raise tool_error(
            f"only a particular solution was found ({solution}), not the general solution of this "
            f"order-{order} recurrence",
            "SymPy finds closed forms only as sums of hypergeometric terms; give the initial conditions, "
            "or compute the terms one by one.",
        )
    if solution.has(sp.RisingFactorial, sp.FallingFactorial):
        solution = solution.rewrite(sp.gamma)  # functions the parser can read back
    return solution
