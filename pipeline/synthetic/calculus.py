"""Calculus families: derivatives, definite integrals, limits, closed-form sums.

- `derivative`: f'(a) for a cubic, `c x^n e^{kx}`, `sin(kx) + a x^2`, `x^n ln x`, a quotient or
  a square root; the answer is the derivative's formula evaluated by hand.
- `definite_integral`: polynomials, exponentials, sin/cos over [0, pi] or [0, pi/2], `a/x` on
  [1, e^k], `c x e^x`; the value or the average value over the interval.
- `limit`: indeterminate forms with known limits (sin(ax)/(bx), a removable factor,
  (1 + a/x)^(bx), a root difference, a ratio at infinity, (e^{ax} - 1)/(bx)).
- `summation`: power sums, arithmetic and geometric series (finite and infinite), a
  telescoping sum, each with its closed form.
"""

from __future__ import annotations

import random
from typing import Any

import sympy as sp

from pipeline.latex import ReadError, code, from_tex, tex, value
from pipeline.synthetic.base import Answer, Call, Draft, Family, Policy, SolvingPlan
from pipeline.synthetic.common import K, X, answer, arith


def _function_of(variable: sp.Symbol, f: dict[str, str], expression: str, *numbers: str) -> list[sp.Expr]:
    """The field `expression` read as a function of `variable` alone, then the numeric fields `numbers`."""
    expr, *values = (from_tex(f[name]) for name in (expression, *numbers))
    if not isinstance(expr, sp.Expr) or expr.free_symbols != {variable} or any(v.free_symbols for v in values):
        raise ReadError(f"not a function of {variable} with numeric {', '.join(numbers)}")
    return [expr, *values]


# --------------------------------------------------------------------------- derivatives


def _derivative_make(rng: random.Random, ask: str) -> Draft:
    kind = rng.choice(["poly", "exp", "trig", "log", "quotient", "sqrt"])
    if kind == "poly":
        a, b, c, d = (rng.randint(-5, 5) for _ in range(4))
        a = a or 1
        p = sp.Integer(rng.randint(-3, 3))
        f = a * X**3 + b * X**2 + c * X + d
        answer = 3 * a * p**2 + 2 * b * p + c
    elif kind == "exp":
        c, n, k = rng.randint(1, 4), rng.choice([1, 2]), rng.choice([1, 2, -1, 3])
        p = sp.Integer(rng.choice([0, 1]))
        f = c * X**n * sp.exp(k * X)
        answer = c * (n * p ** (n - 1) + k * p**n) * sp.exp(k * p)
    elif kind == "trig":
        k, a = rng.randint(1, 4), rng.randint(1, 5)
        p = rng.choice([sp.Integer(0), sp.pi])
        f = sp.sin(k * X) + a * X**2
        answer = k * sp.cos(k * p) + 2 * a * p
    elif kind == "log":
        n = rng.randint(1, 3)
        p = rng.choice([sp.Integer(1), sp.Integer(2), sp.E])
        f = X**n * sp.log(X)
        answer = n * p ** (n - 1) * sp.log(p) + p ** (n - 1)
    elif kind == "quotient":
        a, b, c = rng.choice([1, 2, 3, -1]), rng.randint(-5, 5), rng.randint(1, 5)
        p = sp.Integer(rng.randint(-2, 3))
        f = (a * X + b) / (X**2 + c)
        answer = sp.Rational(a * (p**2 + c) - (a * p + b) * 2 * p, (p**2 + c) ** 2)
    else:
        a, s = rng.randint(1, 6), rng.randint(1, 6)
        p = sp.Integer(rng.randint(0, 4))
        b = s * s - a * p
        f = sp.sqrt(a * X + b)
        answer = sp.Rational(a, 2 * s)
    answer = sp.simplify(answer)
    return Draft({"f": tex(f), "a": tex(p)}, {"kind": kind, "f": code(f), "point": code(p)}, answer)


def _derivative_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    expr, point = _function_of(X, f, "f", "a")
    given = {"f": code(expr), "point": code(point), "f_tex": f["f"], "point_tex": f["a"]}
    steps = [f"Differentiate ${f['f']}$ with respect to $x$ with `differentiate`.",
             f"Substitute $x = {f['a']}$ into the derivative with `substitute_values`."]
    return given, steps


def _derivative_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    derivative = yield Call("differentiate", {"expression": g["f"], "variable": "x"}, say=plan.pick("d0", [
        "First I compute the derivative.",
        f"Let me differentiate ${g['f_tex']}$.",
        "I find $f'(x)$ symbolically before plugging in the point.",
    ]))
    if not isinstance(derivative, str | int):
        raise ReadError(f"unexpected derivative {derivative!r}")
    slope = yield Call("substitute_values", {"expression": str(derivative), "values": {"x": g["point"]}},
                       say=f"The derivative is ${tex(value(derivative))}$. Now I evaluate it at $x = {g['point_tex']}$.")
    v = value(slope)
    return Answer(tex(v), say=plan.pick("d2", [
        f"At $x = {g['point_tex']}$ the derivative equals ${tex(v)}$.",
        f"So the slope at $x = {g['point_tex']}$ is ${tex(v)}$.",
    ]))


DERIVATIVE = Family("derivative", "the derivative of a polynomial / product / quotient / root function at a point",
                    tools=("differentiate", "substitute_values"), make=_derivative_make, read=_derivative_read, policy=_derivative_policy)


# --------------------------------------------------------------------------- definite integrals


def _integral_make(rng: random.Random, ask: str) -> Draft:
    kind = rng.choice(["poly", "poly", "exp", "trig", "reciprocal", "xexp"])
    if kind == "poly":
        degree = rng.randint(1, 3)
        coefficients = [rng.randint(-4, 6) for _ in range(degree + 1)]
        coefficients[-1] = coefficients[-1] or 1
        f = sp.Add(*(c * X**i for i, c in enumerate(coefficients)))
        lo = rng.randint(-2, 2)
        hi = lo + rng.randint(1, 3)
        lo, hi = sp.Integer(lo), sp.Integer(hi)
        # the antiderivative term by term: c x^(i+1) / (i+1)
        prim = lambda v: sum(sp.Rational(c, i + 1) * v ** (i + 1) for i, c in enumerate(coefficients))  # noqa: E731
        answer = prim(hi) - prim(lo)
    elif kind == "exp":
        c, k = rng.randint(1, 4), rng.randint(1, 3)
        f, lo, hi = c * sp.exp(k * X), sp.Integer(0), sp.Integer(1)
        answer = sp.Rational(c, k) * (sp.exp(k) - 1)
    elif kind == "trig":
        a = rng.randint(1, 6)
        if rng.random() < 0.5:
            f, lo, hi, answer = a * sp.sin(X), sp.Integer(0), sp.pi, sp.Integer(2 * a)
        else:
            f, lo, hi, answer = a * sp.cos(X), sp.Integer(0), sp.pi / 2, sp.Integer(a)
    elif kind == "reciprocal":
        a, k = rng.randint(1, 5), rng.randint(1, 3)
        f, lo, hi, answer = a / X, sp.Integer(1), sp.exp(k), sp.Integer(a * k)
    else:
        c = rng.randint(1, 4)
        f, lo, hi, answer = c * X * sp.exp(X), sp.Integer(0), sp.Integer(1), sp.Integer(c)
    if ask == "average":
        answer = answer / (hi - lo)
    answer = sp.simplify(answer)
    return Draft({"f": tex(f), "lo": tex(lo), "hi": tex(hi)},
                 {"kind": kind, "f": code(f), "lower": code(lo), "upper": code(hi)}, answer)


def _integral_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    expr, lo, hi = _function_of(X, f, "f", "lo", "hi")
    given = {"f": code(expr), "lower": code(lo), "upper": code(hi), "f_tex": f["f"], "lo_tex": f["lo"], "hi_tex": f["hi"]}
    steps = [f"Integrate ${f['f']}$ from ${f['lo']}$ to ${f['hi']}$ with `definite_integral`."]
    if ask == "average":
        steps.append("Divide the integral by the length of the interval with `simplify_expression`.")
    return given, steps


def _integral_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    result = yield Call("definite_integral", {"expression": g["f"], "variable": "x", "lower": g["lower"], "upper": g["upper"]},
                        say=plan.pick("n0", [
                            "I evaluate the definite integral exactly.",
                            f"First, $\\int_{{{g['lo_tex']}}}^{{{g['hi_tex']}}} {g['f_tex']} \\, dx$.",
                            "Let me compute the integral over the interval.",
                        ]))
    if plan.ask == "value":
        return answer(result, "The integral equals")
    integral = value(result)
    average = yield arith(f"({code(integral)})/(({g['upper']}) - ({g['lower']}))",
                          say=f"The integral is ${tex(integral)}$; the average value divides it by the interval's length.")
    return answer(average, "The average value is")


INTEGRAL = Family("definite_integral", "a definite integral of a polynomial / exponential / trigonometric function, or an average value",
                  tools=("definite_integral", "simplify_expression"), make=_integral_make, read=_integral_read, policy=_integral_policy)


# --------------------------------------------------------------------------- limits


def _limit_make(rng: random.Random, ask: str) -> Draft:
    kind = rng.choice(["sine", "removable", "compound", "root", "rational_inf", "exp"])
    if kind == "sine":
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        f, p, answer = sp.sin(a * X) / (b * X), sp.Integer(0), sp.Rational(a, b)
    elif kind == "removable":
        a = rng.choice([v for v in range(-6, 7) if v != 0])
        c = rng.randint(-6, 6)
        f, p, answer = sp.expand((X - a) * (X + c)) / (X - a), sp.Integer(a), sp.Integer(a + c)
    elif kind == "compound":
        a, b = rng.randint(1, 5), rng.choice([1, 1, 2, 3])
        f, p, answer = (1 + sp.Integer(a) / X) ** (b * X), sp.oo, sp.exp(a * b)
    elif kind == "root":
        a = rng.randint(1, 6)
        f, p, answer = (sp.sqrt(X + a * a) - a) / X, sp.Integer(0), sp.Rational(1, 2 * a)
    elif kind == "rational_inf":
        a, d = rng.choice([v for v in range(-6, 7) if v != 0]), rng.randint(1, 7)
        b, c, e = rng.randint(-9, 9), rng.randint(-9, 9), rng.randint(1, 9)
        f, p, answer = (a * X**2 + b * X + c) / (d * X**2 + e), sp.oo, sp.Rational(a, d)
    else:
        a, b = rng.choice([v for v in range(-5, 6) if v != 0]), rng.randint(1, 5)
        f, p, answer = (sp.exp(a * X) - 1) / (b * X), sp.Integer(0), sp.Rational(a, b)
    return Draft({"f": tex(f), "p": tex(p)}, {"kind": kind, "f": code(f), "point": code(p)}, answer)


def _limit_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    expr, point = _function_of(X, f, "f", "p")
    given = {"f": code(expr), "point": code(point), "f_tex": f["f"], "point_tex": f["p"]}
    return given, [f"Compute the limit of ${f['f']}$ as $x \\to {f['p']}$ with `compute_limit` (direct substitution is indeterminate)."]


def _limit_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    limit = yield Call("compute_limit", {"expression": g["f"], "variable": "x", "point": g["point"]}, say=plan.pick("l0", [
        "Plugging in directly gives an indeterminate form, so I compute the limit symbolically.",
        f"I let the tool take the limit as $x \\to {g['point_tex']}$.",
        "Let me evaluate the limit exactly.",
    ]))
    return answer(limit, "The limit is")


LIMIT = Family("limit", "a limit with an indeterminate form (0/0, 1^oo, oo/oo)",
               tools=("compute_limit",), make=_limit_make, read=_limit_read, policy=_limit_policy)


# --------------------------------------------------------------------------- closed-form sums


def _sum_make(rng: random.Random, ask: str) -> Draft:
    kind = rng.choice(["squares", "cubes", "arithmetic", "geometric_infinite", "geometric", "telescoping"])
    lo = 1
    if kind == "squares":
        n = rng.randint(5, 30)
        term, hi, answer = tex(K**2), str(n), sp.Integer(n * (n + 1) * (2 * n + 1) // 6)
    elif kind == "cubes":
        n = rng.randint(3, 15)
        term, hi, answer = tex(K**3), str(n), sp.Integer((n * (n + 1) // 2) ** 2)
    elif kind == "arithmetic":
        a, b, n = rng.randint(1, 7), rng.randint(-5, 9), rng.randint(5, 40)
        term, hi, answer = tex(a * K + b), str(n), sp.Integer(a * n * (n + 1) // 2 + b * n)
    elif kind == "geometric_infinite":
        c, r = rng.randint(1, 9), rng.randint(2, 5)
        lo = rng.choice([0, 1])
        coefficient = "" if c == 1 else f"{c} "
        term = coefficient + rf"\left(\frac{{1}}{{{r}}}\right)^{{k}}"
        hi = r"\infty"
        answer = sp.Rational(c * r, r - 1) if lo == 0 else sp.Rational(c, r - 1)
    elif kind == "geometric":
        c, r, n = rng.randint(1, 5), rng.randint(2, 3), rng.randint(3, 10)
        lo = 0
        term, hi, answer = tex(c * r**K), str(n), sp.Integer(c * (r ** (n + 1) - 1) // (r - 1))
    else:
        n = rng.randint(5, 50)
        term, hi, answer = tex(1 / (K * (K + 1))), str(n), sp.Rational(n, n + 1)
    return Draft({"term": term, "lo": str(lo), "hi": hi}, {"kind": kind, "lower": lo, "upper": hi}, answer)


def _sum_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    term, lo, hi = _function_of(K, f, "term", "lo", "hi")
    given = {"term": code(term), "lower": code(lo), "upper": code(hi), "term_tex": f["term"], "lo_tex": f["lo"], "hi_tex": f["hi"]}
    return given, [f"Evaluate the sum of ${f['term']}$ for $k$ from ${f['lo']}$ to ${f['hi']}$ in closed form with `summation`."]


def _sum_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    total = yield Call("summation", {"expression": g["term"], "variable": "k", "lower": g["lower"], "upper": g["upper"]},
                       say=plan.pick("u0", [
                           "I evaluate the sum symbolically rather than term by term.",
                           "Let me get the exact value of the sum.",
                           f"The sum runs over $k = {g['lo_tex']}, \\dots, {g['hi_tex']}$; I compute it in closed form.",
                       ]))
    return answer(total, "The sum equals")


SUMMATION = Family("summation", "power sums, arithmetic and geometric series (finite and infinite), a telescoping sum",
                   tools=("summation",), make=_sum_make, read=_sum_read, policy=_sum_policy)
