"""The counting family: binomial coefficients, derangements, ordered selections, complements.

`counting` asks for a committee (binomial coefficient), hats returned to nobody's owner
(derangements), podium places or ordered arrangements (permutations), or committees with at
least one woman: all committees minus the men-only ones, the one multi-step ask.
"""

from __future__ import annotations

import math
import random
from typing import Any

import sympy as sp

from pipeline.latex import tex, value
from pipeline.synthetic.base import Answer, Call, Draft, Family, Policy, SolvingPlan
from pipeline.synthetic.common import answer, arith, int_fields

# --------------------------------------------------------------------------- counting


def _derangements(n: int) -> int:
    d = [1, 0]
    for i in range(2, n + 1):
        d.append((i - 1) * (d[-1] + d[-2]))
    return d[n]


def _counting_make(rng: random.Random, ask: str) -> Draft:
    if ask == "choose":
        n = rng.randint(5, 30)
        k = rng.randint(2, min(8, n - 1))
        return Draft({"n": str(n), "k": str(k)}, {"n": n, "k": k}, sp.Integer(math.comb(n, k)))
    if ask == "derangement":
        n = rng.randint(3, 12)
        return Draft({"n": str(n)}, {"n": n}, sp.Integer(_derangements(n)))
    if ask == "at_least_one":
        w, m, k = rng.randint(2, 9), rng.randint(2, 9), rng.randint(2, 5)
        return Draft({"w": str(w), "m": str(m), "k": str(k)}, {"w": w, "m": m, "k": k},
                     sp.Integer(math.comb(w + m, k) - math.comb(m, k)))
    if ask == "podium":
        n = rng.randint(4, 25)
        return Draft({"n": str(n)}, {"n": n, "k": 3}, sp.Integer(math.perm(n, 3)))
    n = rng.randint(4, 15)
    k = rng.randint(2, min(6, n))
    return Draft({"n": str(n), "k": str(k)}, {"n": n, "k": k}, sp.Integer(math.perm(n, k)))


def _counting_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    given = int_fields(f)
    if ask == "podium":
        given["k"] = 3
    steps = {
        "choose": [f"Order does not matter: count $\\binom{{{given.get('n')}}}{{{given.get('k')}}}$ with `binomial_coefficient`."],
        "derangement": [f"Count the permutations of ${given.get('n')}$ items with no fixed point with `derangements_count`."],
        "at_least_one": ["Count all committees with `binomial_coefficient`.",
                         "Count the committees with no woman (men only) with `binomial_coefficient`.",
                         "Subtract with `simplify_expression`: all minus men-only."],
        "podium": ["Order matters and nobody repeats: count the arrangements with `permutations_count`."],
        "arrange": ["Order matters: count the ordered selections with `permutations_count`."],
    }[ask]
    return given, steps


def _counting_policy(plan: SolvingPlan) -> Policy:
    g, ask = plan.given, plan.ask
    if ask == "choose":
        count = yield Call("binomial_coefficient", {"n": g["n"], "k": g["k"]}, say=plan.pick("k0", [
            "The order of selection does not matter, so this is a binomial coefficient.",
            f"I compute $\\binom{{{g['n']}}}{{{g['k']}}}$.",
        ]))
        return Answer(tex(value(count)), say=f"$\\binom{{{g['n']}}}{{{g['k']}}} = {count}$.")
    if ask == "derangement":
        count = yield Call("derangements_count", {"n": g["n"]}, say=plan.pick("k0", [
            "Nobody may get their own item back: these are derangements.",
            f"I count the derangements of ${g['n']}$ objects.",
        ]))
        return Answer(tex(value(count)), say=f"There are ${count}$ derangements of ${g['n']}$ objects.")
    if ask in ("podium", "arrange"):
        count = yield Call("permutations_count", {"n": g["n"], "k": g["k"]}, say=plan.pick("k0", [
            "Order matters here, so I count ordered selections.",
            f"I count the ways to pick ${g['k']}$ of ${g['n']}$ in order.",
        ]))
        return Answer(tex(value(count)), say=f"There are ${count}$ ordered selections.")
    total_people = g["w"] + g["m"]
    everyone = yield Call("binomial_coefficient", {"n": total_people, "k": g["k"]},
                          say=f"I count the complement: first all committees of ${g['k']}$ from ${total_people}$ people.")
    men_only = yield Call("binomial_coefficient", {"n": g["m"], "k": g["k"]},
                          say=f"There are ${everyone}$ committees in all. Next, those with men only.")
    rest = yield arith(f"{value(everyone)} - {value(men_only)}",
                       say=f"Committees with men only: ${men_only}$. I subtract them from the total.")
    return answer(rest, "So", " committees include at least one woman.")


COUNTING = Family("counting", "binomial coefficients, derangements, ordered selections, complementary counting",
                  tools=("binomial_coefficient", "derangements_count", "permutations_count", "simplify_expression"), make=_counting_make, read=_counting_read, policy=_counting_policy)
