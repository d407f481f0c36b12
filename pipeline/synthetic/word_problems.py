"""The word-problem family: stories that reduce to one linear equation in one unknown.

`word_problem` covers ages (parent k times the child now, m times in n years), mixtures of
two concentrations, two travellers meeting, and two workers (or pipes) sharing a job. The
reader writes the equation the story states; the policy solves it and keeps the one
positive solution (and, for the parent's age, multiplies it out).
"""

from __future__ import annotations

import random
from typing import Any

import sympy as sp

from pipeline.latex import ReadError, code, tex
from pipeline.synthetic.base import Answer, Call, Draft, Family, Policy, SolvingPlan
from pipeline.synthetic.common import answer, arith, int_fields, sorted_roots

# --------------------------------------------------------------------------- word problems

_NAMES = ["Alice", "Maria", "Sofia", "Hannah", "Grace", "Emma", "Olivia", "Nora", "Leila", "Priya", "Mei", "Ana"]


def _word_make(rng: random.Random, ask: str) -> Draft:
    name = rng.choice(_NAMES)
    if ask in ("ages_child", "ages_parent"):
        while True:  # parent = k * child now; in n years parent = m * child
            child, m = rng.randint(3, 15), rng.choice([2, 2, 3])
            k = rng.randint(m + 1, m + 4)
            n, rem = divmod(child * (k - m), m - 1)
            if rem == 0 and 1 <= n <= 30:
                break
        answer = child if ask == "ages_child" else k * child
        return Draft({"name": name, "k": str(k), "n": str(n), "m": str(m)}, {"child": child, "k": k, "n": n, "m": m},
                     sp.Integer(answer))
    if ask == "mixture":
        while True:  # p1 x + p2 v = p3 (x + v)
            p2, p3, p1 = sorted(rng.sample(range(5, 96, 5), 3))
            v = rng.randint(2, 20)
            x, rem = divmod(v * (p3 - p2), p1 - p3)
            if rem == 0 and x > 0:
                break
        return Draft({"name": name, "p1": str(p1), "p2": str(p2), "p3": str(p3), "v": str(v)},
                     {"p1": p1, "p2": p2, "p3": p3, "v": v, "x": x}, sp.Integer(x))
    if ask == "meeting":
        v1, v2 = rng.randint(3, 20) * 5, rng.randint(3, 20) * 5
        hours = sp.Rational(rng.randint(2, 12), rng.choice([1, 2, 4]))
        d = hours * (v1 + v2)
        if d.q != 1:
            d, hours = d * d.q, hours * d.q
        return Draft({"d": str(d), "v1": str(v1), "v2": str(v2)}, {"d": int(d), "v1": v1, "v2": v2}, hours)
    a, b = rng.sample(range(2, 13), 2)
    return Draft({"name": name, "a": str(a), "b": str(b)}, {"a": a, "b": b}, sp.Rational(a * b, a + b))


def _word_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    n = int_fields(f, "name")
    if ask in ("ages_child", "ages_parent"):
        given = {"equation": f"{n['k']}*x + {n['n']} = {n['m']}*(x + {n['n']})", "variable": "x", "k": n["k"],
                 "setup": f"Let $x$ be the child's age now. The parent is ${n['k']}x$; in ${n['n']}$ years, "
                          f"${n['k']}x + {n['n']} = {n['m']}(x + {n['n']})$."}
        steps = [given["setup"], "Solve the equation for $x$ with `solve_equation`."]
        if ask == "ages_parent":
            steps.append(f"The parent's age is ${n['k']}x$: evaluate it with `simplify_expression`.")
        return given, steps
    if ask == "mixture":
        given = {"equation": f"{n['p1']}*x + {n['p2']}*{n['v']} = {n['p3']}*(x + {n['v']})", "variable": "x",
                 "setup": f"Let $x$ be the liters of the ${n['p1']}\\%$ solution. Counting the pure substance, "
                          f"${n['p1']}x + {n['p2']} \\cdot {n['v']} = {n['p3']}(x + {n['v']})$ (in hundredths of a liter)."}
        return given, [given["setup"], "Solve for $x$ with `solve_equation`."]
    if ask == "meeting":
        given = {"equation": f"{n['v1']}*t + {n['v2']}*t = {n['d']}", "variable": "t",
                 "setup": f"Let $t$ be the time in hours. Together they close the gap at ${n['v1']} + {n['v2']}$ km/h, "
                          f"so ${n['v1']}t + {n['v2']}t = {n['d']}$."}
        return given, [given["setup"], "Solve for $t$ with `solve_equation`."]
    given = {"equation": f"t/{n['a']} + t/{n['b']} = 1", "variable": "t",
             "setup": f"Let $t$ be the time in hours together. The rates add: $\\frac{{t}}{{{n['a']}}} + \\frac{{t}}{{{n['b']}}} = 1$."}
    return given, [given["setup"], "Solve for $t$ with `solve_equation`."]


def _word_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    solutions = yield Call("solve_equation", {"equation": g["equation"], "variable": g["variable"], "domain": "real"},
                           say=f"{g['setup']} " + plan.pick("w0", ["I solve this equation.", "Now I solve it.",
                                                                  "Let me solve for the unknown."]))
    roots = [r for r in sorted_roots(solutions) if r > 0]
    if len(roots) != 1:
        raise ReadError(f"expected one positive solution, got {solutions!r}")
    (root,) = roots
    unit = {"ages_child": "years", "ages_parent": "years", "mixture": "liters", "meeting": "hours", "work": "hours"}[plan.ask]
    if plan.ask == "ages_parent":
        age = yield arith(f"{g['k']}*({code(root)})",
                          say=f"The child is ${tex(root)}$ years old, and the parent is ${g['k']}$ times as old.")
        return answer(age, "So the parent is", " years old.")
    return Answer(tex(root), say=f"The equation gives ${g['variable']} = {tex(root)}$, i.e. ${tex(root)}$ {unit}.")


WORD = Family("word_problem", "word problems that reduce to one linear equation: ages, mixtures, meeting times, joint work",
              tools=("solve_equation", "simplify_expression"), make=_word_make, read=_word_read, policy=_word_policy)
