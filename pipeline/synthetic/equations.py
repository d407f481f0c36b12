"""Equation families: quadratics, rational equations, linear systems.

- `quadratic`: a quadratic with two distinct rational roots, chosen first and expanded; asks
  for the sum, product, larger root, sum of squares or difference of the roots. The product
  goes through Vieta's formulas (`vieta_sums`), the others through the roots themselves.
- `rational_equation`: x in denominators (`(ax + b)/(x + c) = d`, `a/(x + c) = b/(x + e)`,
  `x + k/(x - p) = m`), built around chosen solutions that never zero a denominator; solved
  over the reals, so the solver, not the policy, rules out extraneous roots.
- `linear_system`: an invertible 2x2 or 3x3 integer system with an integer solution; asks for
  one unknown, a linear combination or the product of the unknowns.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

import sympy as sp

from pipeline.latex import ReadError, code, equation_code, from_tex, tex, value
from pipeline.synthetic.base import Answer, Call, Draft, Family, Policy, SolvingPlan
from pipeline.synthetic.common import X, Y, Z, and_list, answer, arith, integer_det, sorted_roots
from toolkit.parse import parse as parse_math

# --------------------------------------------------------------------------- quadratic equations


def _nice_root(rng: random.Random) -> sp.Rational:
    if rng.random() < 0.25:
        q = rng.choice([2, 3])
        return sp.Rational(rng.choice([p for p in range(-9, 10) if p % q]), q)
    return sp.Integer(rng.randint(-9, 9))


def _quadratic_make(rng: random.Random, ask: str) -> Draft:
    r1, r2 = _nice_root(rng), _nice_root(rng)
    while r1 == r2:
        r2 = _nice_root(rng)
    a = rng.choice([1, 1, 1, 2, -1, 3])
    poly = sp.expand(a * (r1.q * X - r1.p) * (r2.q * X - r2.p))
    const = poly.subs(X, 0)
    moved = const != 0 and rng.random() < 0.4  # "a x^2 + b x = -c" rather than "... = 0"
    eq = sp.Eq(poly - const, -const) if moved else sp.Eq(poly, 0)
    answer = {
        "sum": r1 + r2,
        "larger": max(r1, r2),
        "product": r1 * r2,
        "sum_squares": r1**2 + r2**2,
        "difference": abs(r1 - r2),
    }[ask]
    return Draft({"eq": tex(eq)}, {"roots": [str(r1), str(r2)], "leading": a}, answer)


def _quadratic_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    eq = from_tex(f["eq"])
    if not isinstance(eq, sp.Equality):
        raise ReadError("not an equation")
    poly = sp.expand(eq.lhs - eq.rhs)
    if eq.free_symbols != {X} or sp.degree(poly, X) != 2:
        raise ReadError("not a quadratic in x")
    given = {"equation": equation_code(eq), "poly": code(poly), "eq_tex": f["eq"]}
    if ask == "product":
        return given, [f"Get the symmetric functions of the roots of ${f['eq']}$ from its coefficients with `vieta_sums`.",
                       "Read off the product of the roots and report it."]
    last = {
        "sum": "Add the two solutions.",
        "larger": "Compare the two solutions and keep the larger one.",
        "difference": "Subtract the smaller solution from the larger one.",
        "sum_squares": "Square both solutions and add the squares with `simplify_expression`.",
    }[ask]
    return given, [f"Solve ${f['eq']}$ for $x$ with `solve_equation` (or `polynomial_roots` if that fails).", last]


def _quadratic_policy(plan: SolvingPlan) -> Policy:
    g, ask = plan.given, plan.ask
    if ask == "product":
        symmetric = yield Call("vieta_sums", {"expression": g["poly"], "variable": "x"}, say=plan.pick("q0", [
            "By Vieta's formulas the product of the roots comes from the coefficients, so I ask for the symmetric sums.",
            "I do not need the roots themselves: Vieta's formulas give their product directly.",
        ]))
        return answer(symmetric["product_of_roots"], "Vieta gives the product of the roots as")
    solutions = yield Call(
        "solve_equation", {"equation": g["equation"], "variable": "x"},
        say=plan.pick("q0", [
            f"First I solve ${g['eq_tex']}$ for $x$.",
            "I start by finding both solutions of the quadratic.",
            "Let me solve the equation exactly.",
        ]),
        fallback=Call("polynomial_roots", {"expression": g["poly"], "variable": "x"},
                      say="I will get the roots of the polynomial with `polynomial_roots` instead."),
    )
    roots = sorted_roots(solutions)
    if len(roots) != 2:
        raise ReadError(f"expected two solutions, got {len(roots)}")
    r1, r2 = roots
    found = f"The solutions are ${tex(r1)}$ and ${tex(r2)}$"
    if ask == "sum":
        return Answer(tex(r1 + r2), say=f"{found}, so their sum is ${tex(r1)} + {tex(r2)} = {tex(r1 + r2)}$.")
    if ask == "larger":
        return Answer(tex(r2), say=f"{found}; the larger one is ${tex(r2)}$.")
    if ask == "difference":
        return Answer(tex(r2 - r1), say=f"{found}; their positive difference is ${tex(r2 - r1)}$.")
    total = yield arith(f"({code(r1)})**2 + ({code(r2)})**2", say=f"{found}. Now I add their squares.")
    return answer(total, "The sum of the squares of the roots is")


QUADRATIC = Family("quadratic", "a quadratic equation with two real roots: their sum, product, larger root, ...",
                   tools=("solve_equation", "polynomial_roots", "vieta_sums", "simplify_expression"), make=_quadratic_make, read=_quadratic_read, policy=_quadratic_policy)


# --------------------------------------------------------------------------- rational equations


def _rational_make(rng: random.Random, ask: str) -> Draft:
    if ask == "solve":
        x0 = rng.randint(-8, 8)
        if rng.random() < 0.5:  # (a x + b) / (x + c) = d
            c = rng.choice([v for v in range(-7, 8) if v != 0 and x0 + v != 0])
            a = rng.choice([v for v in range(-5, 6) if v != 0])
            d = rng.choice([v for v in range(-5, 6) if v not in (0, a)])
            b = d * (x0 + c) - a * x0
            eq = sp.Eq((a * X + b) / (X + c), d)
            params = {"form": "linear_over_linear", "a": a, "b": b, "c": c, "d": d}
        else:  # a / (x + c) = b / (x + e), built from u = x0 + c and w = x0 + e
            u = rng.choice([v for v in range(-6, 7) if v != 0])
            w = rng.choice([v for v in range(-6, 7) if v not in (0, u)])
            s = rng.choice([1, 1, 2, -1, 3])
            a, b, c, e = s * u, s * w, u - x0, w - x0
            eq = sp.Eq(a / (X + c), b / (X + e))
            params = {"form": "two_fractions", "a": a, "b": b, "c": c, "e": e}
        return Draft({"eq": tex(eq)}, {**params, "solutions": [x0]}, sp.Integer(x0))
    # x + k / (x - p) = m, with chosen solutions s1 != s2: the quadratic x^2 - (p + m) x + (k + m p)
    while True:
        s1, s2 = rng.sample(range(-8, 9), 2)
        p = rng.choice([v for v in range(-6, 7) if v not in (s1, s2)])
        m = s1 + s2 - p
        k = s1 * s2 - m * p
        if k != 0:
            break
    eq = sp.Eq(X + k / (X - p), m)
    answer = s1 + s2 if ask == "sum" else max(s1, s2)
    return Draft({"eq": tex(eq)}, {"form": "x_plus_fraction", "k": k, "p": p, "m": m, "solutions": sorted([s1, s2])},
                 sp.Integer(answer))


def _rational_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    eq = from_tex(f["eq"])
    if not isinstance(eq, sp.Equality) or eq.free_symbols != {X}:
        raise ReadError("not an equation in x")
    given = {"equation": equation_code(eq), "difference": code(eq.lhs - eq.rhs), "eq_tex": f["eq"]}
    steps = [f"Solve ${f['eq']}$ over the reals with `solve_equation`; it excludes values that make a denominator zero."]
    steps.append({
        "solve": "Substitute the solution back into the equation with `substitute_values` to check it.",
        "sum": "Add the real solutions.",
        "larger": "Keep the largest real solution.",
    }[ask])
    return given, steps


def _rational_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    solutions = yield Call("solve_equation", {"equation": g["equation"], "variable": "x", "domain": "real"},
                           say=plan.pick("r0", [
                               "I solve the equation over the reals; values that zero a denominator are not solutions.",
                               f"First, solve ${g['eq_tex']}$ for real $x$.",
                               "Clearing denominators by hand risks extraneous roots, so I let the solver handle the domain.",
                           ]))
    roots = sorted_roots(solutions)
    if not roots:
        raise ReadError("no real solutions")
    if plan.ask == "solve":
        if len(roots) != 1:
            raise ReadError(f"expected one solution, got {len(roots)}")
        (root,) = roots
        difference = yield Call("substitute_values", {"expression": g["difference"], "values": {"x": code(root)}},
                                say=f"The only solution is $x = {tex(root)}$. Let me substitute it back to check.")
        check = value(difference)
        verdict = "so it checks out" if check == 0 else f"which is ${tex(check)}$ rather than $0$, but it is the solver's only root"
        return Answer(tex(root), say=f"Substituting $x = {tex(root)}$ makes the two sides differ by ${tex(check)}$, {verdict}.")
    listing = and_list([f"${tex(r)}$" for r in roots])
    if plan.ask == "sum":
        total = sp.Add(*roots)
        return Answer(tex(total), say=f"The real solutions are {listing}; their sum is ${tex(total)}$.")
    return Answer(tex(roots[-1]), say=f"The real solutions are {listing}; the largest is ${tex(roots[-1])}$.")


RATIONAL = Family("rational_equation", "an equation with x in denominators: its solution, or the sum / largest of its solutions",
                  tools=("solve_equation", "substitute_values"), make=_rational_make, read=_rational_read, policy=_rational_policy)


# --------------------------------------------------------------------------- linear systems

_LETTERS = {"x": X, "y": Y, "z": Z}


def _system_make(rng: random.Random, ask: str) -> Draft:
    n = rng.choice([2, 2, 3])
    names = ["x", "y", "z"][:n]
    symbols = [_LETTERS[v] for v in names]
    solution = [rng.randint(-6, 6) for _ in range(n)]
    while True:
        matrix = [[rng.randint(-5, 5) for _ in range(n)] for _ in range(n)]
        if integer_det(matrix) != 0 and all(sum(c != 0 for c in row) >= 2 for row in matrix):
            break
    rows = []
    for row in matrix:
        lhs = sp.Add(*(c * s for c, s in zip(row, symbols, strict=True)))
        rows.append(tex(sp.Eq(lhs, sum(c * v for c, v in zip(row, solution, strict=True)))))
    system = r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"
    coefficients = [rng.choice([1, 1, 2, -1, 3]) for _ in range(n)]
    kind = rng.choice(["combination", "variable", "product"])
    if kind == "variable":
        i = rng.randrange(n)
        target, answer = symbols[i], solution[i]
    elif kind == "product":
        target = sp.Mul(*symbols)
        answer = math.prod(solution)
    else:
        target = sp.Add(*(c * s for c, s in zip(coefficients, symbols, strict=True)))
        answer = sum(c * v for c, v in zip(coefficients, solution, strict=True))
    return Draft(
        {"system": system, "target": tex(target), "unknowns": ", ".join(names)},
        {"matrix": matrix, "solution": solution, "target": code(target)},
        sp.Integer(answer),
    )


def _system_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    m = re.fullmatch(r"\s*\\begin\{cases\}(.*)\\end\{cases\}\s*", f["system"], re.DOTALL)
    if not m:
        raise ReadError("not a system")
    equations = [from_tex(row) for row in m.group(1).split(r"\\")]
    if not all(isinstance(e, sp.Equality) for e in equations):
        raise ReadError("not equations")
    symbols = sorted(set().union(*(e.free_symbols for e in equations)), key=lambda s: s.name)
    target = from_tex(f["target"])
    given = {
        "equations": [equation_code(e) for e in equations],
        "variables": [s.name for s in symbols],
        "target": code(target),
        "target_tex": f["target"],
    }
    steps = [f"Solve the {len(equations)}×{len(symbols)} linear system with `solve_linear_system`."]
    if isinstance(target, sp.Symbol):
        steps.append(f"Read off ${f['target']}$ from the solution.")
    else:
        steps.append(f"Substitute the solution into ${f['target']}$ with `substitute_values`.")
    return given, steps


def _system_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    solution = yield Call("solve_linear_system", {"equations": g["equations"], "variables": g["variables"]},
                          say=plan.pick("s0", [
                              "I solve the linear system exactly.",
                              "First, the system itself: I solve it for all the unknowns.",
                              "Let me solve the system with the linear-system tool.",
                          ]))
    if not isinstance(solution, dict) or set(solution) != set(g["variables"]):
        raise ReadError(f"unexpected solution {solution!r}")
    values = {k: value(v) for k, v in solution.items()}
    listing = ", ".join(f"${k} = {tex(v)}$" for k, v in values.items())
    target = parse_math(g["target"])
    if isinstance(target, sp.Symbol):
        v = values[target.name]
        return Answer(tex(v), say=f"The solution is {listing}, so ${g['target_tex']} = {tex(v)}$.")
    substituted = yield Call("substitute_values", {"expression": g["target"], "values": {k: code(v) for k, v in values.items()}},
                             say=f"The solution is {listing}. Now I evaluate ${g['target_tex']}$ at these values.")
    v = value(substituted)
    return Answer(tex(v), say=f"Substituting gives ${g['target_tex']} = {tex(v)}$.")


LINEAR_SYSTEM = Family("linear_system", "a 2x2 or 3x3 linear system: one unknown, a combination, or a product of the unknowns",
                       tools=("solve_linear_system", "substitute_values"), make=_system_make, read=_system_read, policy=_system_policy)
