"""The inequality family: a bounded solution interval, read by its integers or its length.

`inequality` draws `a(x - r1)(x - r2) < 0` (integer roots) or `|ax - b| < c`, strict or not.
The answer (number or sum of the integer solutions, the interval's length) comes from the
chosen roots and from brute force over [-200, 200]; the policy instead reads the interval
that `solve_univariate_inequality` returns and counts or adds (`summation`) its integers.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import sympy as sp

from pipeline.latex import ReadError, code, from_tex, tex, value
from pipeline.synthetic.base import Answer, Call, Draft, Family, Policy, SolvingPlan
from pipeline.synthetic.common import X, answer

# --------------------------------------------------------------------------- inequalities


def _integer_solutions(holds: Callable[[int], bool]) -> list[int]:
    return [n for n in range(-200, 201) if holds(n)]


def _inequality_make(rng: random.Random, ask: str) -> Draft:
    while True:
        strict = rng.random() < 0.5
        relation = sp.StrictLessThan if strict else sp.LessThan
        if rng.random() < 0.5:  # a (x - r1)(x - r2) < 0 with integer roots
            r1, r2 = sorted(rng.sample(range(-9, 10), 2))
            a = rng.choice([1, 1, 2, 3])
            poly = sp.expand(a * (X - r1) * (X - r2))
            ineq = relation(poly, 0)
            lo, hi = sp.Integer(r1), sp.Integer(r2)

            def holds(n: int, a: int = a, r1: int = r1, r2: int = r2, strict: bool = strict) -> bool:
                v = a * (n - r1) * (n - r2)
                return v < 0 if strict else v <= 0

            params = {"form": "quadratic", "a": a, "roots": [r1, r2], "strict": strict}
        else:  # |a x - b| < c
            a = rng.choice([1, 1, 2, 3])
            b = rng.randint(-9, 9)
            c = rng.randint(1, 9)
            ineq = relation(sp.Abs(a * X - b), c)
            lo, hi = sp.Rational(b - c, a), sp.Rational(b + c, a)

            def holds(n: int, a: int = a, b: int = b, c: int = c, strict: bool = strict) -> bool:
                v = abs(a * n - b)
                return v < c if strict else v <= c

            params = {"form": "absolute", "a": a, "b": b, "c": c, "strict": strict}
        ints = _integer_solutions(holds)
        if ints:
            break
    answer = {"count": sp.Integer(len(ints)), "sum_int": sp.Integer(sum(ints)), "length": hi - lo}[ask]
    return Draft({"ineq": tex(ineq)}, params, answer)


def _inequality_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    relation = from_tex(f["ineq"])
    if not isinstance(relation, sp.core.relational.Relational) or relation.free_symbols != {X}:
        raise ReadError("not an inequality in x")
    given = {"inequality": f"{code(relation.lhs)} {relation.rel_op} {code(relation.rhs)}", "ineq_tex": f["ineq"]}
    steps = [f"Solve ${f['ineq']}$ with `solve_univariate_inequality` to get the solution interval."]
    steps.append({
        "count": "Find the smallest and largest integers in the interval and count the integers between them.",
        "sum_int": "Find the integers at the ends of the interval and add all integers in between with `summation`.",
        "length": "Subtract the left endpoint from the right endpoint.",
    }[ask])
    return given, steps


_INTERVAL = re.compile(r"Interval(?:\.(open|Lopen|Ropen))?\((.+), (.+)\)")


def _interval(result: Any) -> tuple[sp.Expr, sp.Expr, bool, bool]:
    text = result.get("solution_set") if isinstance(result, dict) else None
    m = _INTERVAL.fullmatch(text or "")
    if not m:
        raise ReadError(f"the solution set is not one bounded interval: {text!r}")
    kind = m.group(1) or ""
    return value(m.group(2)), value(m.group(3)), kind in ("open", "Lopen"), kind in ("open", "Ropen")


def _inequality_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    interval = yield Call("solve_univariate_inequality", {"inequality": g["inequality"], "variable": "x"},
                          say=plan.pick("i0", [
                              f"I solve ${g['ineq_tex']}$ over the reals first.",
                              "First I find the set of real $x$ satisfying the inequality.",
                              "Let me get the solution set as an interval.",
                          ]))
    lo, hi, left_open, right_open = _interval(interval)
    shown = ("(" if left_open else "[") + f"{tex(lo)}, {tex(hi)}" + (")" if right_open else "]")
    if plan.ask == "length":
        return Answer(tex(hi - lo), say=f"The solution set is ${shown}$, of length ${tex(hi)} - ({tex(lo)}) = {tex(hi - lo)}$.")
    first = sp.floor(lo) + 1 if (left_open and lo.is_integer) else sp.ceiling(lo)
    last = sp.ceiling(hi) - 1 if (right_open and hi.is_integer) else sp.floor(hi)
    if last < first:
        raise ReadError("no integers in the interval")
    found = f"The solution set is ${shown}$, so the integer solutions run from ${first}$ to ${last}$"
    if plan.ask == "count":
        return Answer(tex(last - first + 1), say=f"{found}: that is ${last} - ({first}) + 1 = {last - first + 1}$ integers.")
    total = yield Call("summation", {"expression": "k", "variable": "k", "lower": code(first), "upper": code(last)},
                       say=f"{found}. I add them up.")
    return answer(total, f"The integers from ${first}$ to ${last}$ add up to")


INEQUALITY = Family("inequality", "a quadratic or absolute-value inequality: number or sum of integer solutions, interval length",
                    tools=("solve_univariate_inequality", "summation"), make=_inequality_make, read=_inequality_read, policy=_inequality_policy)
