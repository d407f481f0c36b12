"""Binomial coefficients, permutation counts and derangements from their formulas."""

from __future__ import annotations

from math import comb, factorial, perm
from typing import Any

import sympy as sp

from pipeline.derivations.base import Builder, Derivation, DerivationError

_MAX_N = 200


def _n(value: Any) -> int:
    number = int(str(value))
    if not 0 <= number <= _MAX_N:
        raise DerivationError("counts are written out for 0 <= n <= 200")
    return number


def _product(start: int, stop: int) -> str:
    """`start · (start-1) ··· stop` written out (shortened in the middle when long)."""
    terms = list(range(start, stop - 1, -1))
    if len(terms) > 6:
        return f"{terms[0]} \\cdot {terms[1]} \\cdots {terms[-1]}"
    return " \\cdot ".join(map(str, terms)) or "1"


def binomial_coefficient(args: dict[str, Any], result: Any) -> Derivation:
    n, k = _n(args["n"]), _n(args["k"])
    if k > n:
        b = Builder("binomial_coefficient")
        b.say(f"There are only ${n}$ items, so ${k}$ of them cannot be chosen: " + b.eq(sp.binomial(n, k), 0, lhs_tex=f"\\binom{{{n}}}{{{k}}}") + ".")
        if int(result) != 0:
            raise DerivationError("the derivation does not reproduce the tool's count")
        return b.done("0")
    k_small = min(k, n - k)
    b = Builder("binomial_coefficient")
    top, bottom = perm(n, k_small), factorial(k_small)
    b.say(f"The number of ways to choose ${k}$ of ${n}$ is $\\binom{{{n}}}{{{k}}} = \\frac{{{n}!}}{{{k}!\\,{n - k}!}}$.")
    b.say("Cancelling the larger factorial: "
          + b.eq(sp.binomial(n, k), sp.Rational(top, bottom), lhs_tex=f"\\binom{{{n}}}{{{k}}}",
                 rhs_tex=f"\\frac{{{_product(n, n - k_small + 1)}}}{{{_product(k_small, 1)}}} = \\frac{{{top}}}{{{bottom}}}") + ".")
    value = comb(n, k)
    b.say(f"Dividing: {b.eq(sp.Rational(top, bottom), value)}.")
    if value != int(result):
        raise DerivationError("the derivation does not reproduce the tool's count")
    return b.done(str(value))


def permutations_count(args: dict[str, Any], result: Any) -> Derivation:
    n = _n(args["n"])
    k = _n(args.get("k", n) if args.get("k") is not None else n)
    b = Builder("permutations_count")
    value = perm(n, k)
    b.say(f"Arranging ${k}$ of ${n}$ distinct items in order: ${n}$ choices for the first place, ${n - 1}$ for the next, and so on.")
    b.say("So " + b.eq(sp.factorial(n) / sp.factorial(n - k), sp.Mul(*range(n, n - k, -1), evaluate=False),
                       lhs_tex=f"P({n}, {k}) = \\frac{{{n}!}}{{{n - k}!}}", rhs_tex=_product(n, n - k + 1))
          + ", and " + b.eq(sp.Mul(*range(n, n - k, -1), evaluate=False), value, lhs_tex=_product(n, n - k + 1)) + ".")
    if value != int(result):
        raise DerivationError("the derivation does not reproduce the tool's count")
    return b.done(str(value))


def derangements_count(args: dict[str, Any], result: Any) -> Derivation:
    n = _n(args["n"])
    b = Builder("derangements_count")
    b.say(f"By inclusion-exclusion, the number of permutations of ${n}$ items with no fixed point is "
          f"$D_{{{n}}} = {n}! \\sum_{{i=0}}^{{{n}}} \\frac{{(-1)^i}}{{i!}}$.")
    value = sum((-1) ** i * factorial(n) // factorial(i) for i in range(n + 1))
    i = sp.Symbol("i")
    b.say("Evaluating the sum: " + b.eq(sp.factorial(n) * sp.Sum((-1) ** i / sp.factorial(i), (i, 0, n)), value, lhs_tex=f"D_{{{n}}}") + ".")
    if n >= 2:
        previous = [1, 0]
        for j in range(2, n + 1):
            previous.append((j - 1) * (previous[-1] + previous[-2]))
        b.say("As a check, the recurrence $D_n = (n-1)(D_{n-1} + D_{n-2})$ gives "
              + b.eq((n - 1) * (previous[n - 1] + previous[n - 2]), value, lhs_tex=f"{n - 1} \\cdot ({previous[n - 1]} + {previous[n - 2]})") + ".")
    if value != int(result):
        raise DerivationError("the derivation does not reproduce the tool's count")
    return b.done(str(value))
