"""Number-theory families: modular arithmetic and the Chinese remainder theorem.

- `modular`: a modular inverse (coprime by construction), a large modular power, or the least
  nonnegative solution of a linear congruence (found by brute force).
- `crt`: two or three congruences with pairwise coprime moduli, stated as congruences, as
  remainders, or as eggs counted in groups; the smallest positive solution by brute force.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

import sympy as sp

from pipeline.latex import ReadError, tex, value
from pipeline.synthetic.base import Answer, Call, Draft, Family, Policy, SolvingPlan
from pipeline.synthetic.common import and_list, answer, int_fields

# --------------------------------------------------------------------------- modular arithmetic


def _modular_make(rng: random.Random, ask: str) -> Draft:
    if ask == "power":
        a, e, m = rng.randint(2, 60), rng.randint(20, 5000), rng.randint(5, 150)
        return Draft({"a": str(a), "e": str(e), "m": str(m)}, {"a": a, "e": e, "m": m}, sp.Integer(pow(a, e, m)))
    while True:
        m = rng.randint(7, 200)
        a = rng.randint(2, m - 1)
        if math.gcd(a, m) == 1:
            break
    if ask == "inverse":
        return Draft({"a": str(a), "m": str(m)}, {"a": a, "m": m}, sp.Integer(pow(a, -1, m)))
    b = rng.randint(1, m - 1)
    x = next(x for x in range(m) if (a * x - b) % m == 0)  # brute force
    return Draft({"a": str(a), "b": str(b), "m": str(m)}, {"a": a, "b": b, "m": m}, sp.Integer(x))


def _modular_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    given = int_fields(f)
    steps = {
        "inverse": [f"Compute the inverse of ${given['a']}$ modulo ${given['m']}$ with `modular_inverse`."],
        "power": [f"Compute ${given['a']}^{{{given.get('e')}}} \\bmod {given['m']}$ by fast exponentiation with `modular_power`."],
        "congruence": ["Solve the linear congruence with `solve_linear_congruence`.",
                       "Take the least nonnegative solution."],
    }[ask]
    return given, steps


def _modular_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    if plan.ask == "inverse":
        inverse = yield Call("modular_inverse", {"a": g["a"], "m": g["m"]}, say=plan.pick("o0", [
            f"Since $\\gcd({g['a']}, {g['m']}) = 1$ the inverse exists; I compute it.",
            "I use the extended Euclidean algorithm through the modular-inverse tool.",
        ]))
        v = value(inverse)
        return Answer(tex(v), say=f"The inverse is ${tex(v)}$, since ${g['a']} \\cdot {tex(v)} \\equiv 1 \\pmod{{{g['m']}}}$.")
    if plan.ask == "power":
        remainder = yield Call("modular_power", {"base": g["a"], "exponent": g["e"], "modulus": g["m"]}, say=plan.pick("o0", [
            "The power is far too large to write out, so I reduce it by fast modular exponentiation.",
            "I compute the power modulo the modulus directly.",
        ]))
        return answer(remainder, "The remainder is")
    result = yield Call("solve_linear_congruence", {"a": g["a"], "b": g["b"], "m": g["m"]}, say=plan.pick("o0", [
        "I solve the congruence directly.",
        "Let me find all residues $x$ satisfying the congruence.",
    ]))
    if not isinstance(result, dict) or not result.get("solutions"):
        raise ReadError(f"no solutions in {result!r}")
    smallest = min(int(value(s)) for s in result["solutions"])
    return Answer(str(smallest), say=f"The solutions modulo ${g['m']}$ are {result['solutions']}; the least nonnegative one is ${smallest}$.")


MODULAR = Family("modular", "modular inverse, modular power, a linear congruence",
                 tools=("modular_inverse", "modular_power", "solve_linear_congruence"), make=_modular_make, read=_modular_read, policy=_modular_policy)


# --------------------------------------------------------------------------- Chinese remainder theorem


def _crt_make(rng: random.Random, ask: str) -> Draft:
    count = rng.choice([2, 3, 3])
    while True:
        moduli = rng.sample(range(3, 14), count)
        if all(math.gcd(a, b) == 1 for i, a in enumerate(moduli) for b in moduli[i + 1 :]):
            break
    big = math.prod(moduli)
    x = rng.randint(1, big - 1)
    remainders = [x % m for m in moduli]
    answer = next(n for n in range(1, big + 1) if all(n % m == r for m, r in zip(moduli, remainders, strict=True)))
    pairs = list(zip(remainders, moduli, strict=True))
    fields = {
        "congruences_text": and_list([f"$x \\equiv {r} \\pmod{{{m}}}$" for r, m in pairs]),
        "remainders_text": and_list([f"${r}$ when divided by ${m}$" for r, m in pairs]),
        "groups_text": "; ".join(f"in groups of ${m}$, ${r}$ {'is' if r == 1 else 'are'} left over" for r, m in pairs),
    }
    return Draft(fields, {"remainders": remainders, "moduli": moduli}, sp.Integer(answer))


_CRT_PATTERNS = {
    "congruences_text": (re.compile(r"\\equiv\s*(\d+)\s*\\pmod\{(\d+)\}"), False),
    "remainders_text": (re.compile(r"\$(\d+)\$ when divided by \$(\d+)\$"), False),
    "groups_text": (re.compile(r"groups of \$(\d+)\$, \$(\d+)\$ (?:is|are) left over"), True),
}


def _crt_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    ((name, text),) = f.items()
    pattern, modulus_first = _CRT_PATTERNS[name]
    pairs = [(int(b), int(a)) if modulus_first else (int(a), int(b)) for a, b in pattern.findall(text)]
    if len(pairs) < 2:
        raise ReadError("fewer than two congruences")
    remainders, moduli = [r for r, _ in pairs], [m for _, m in pairs]
    steps = ["Combine the congruences with the Chinese remainder theorem using `chinese_remainder`.",
             "Report the smallest positive representative of the solution class."]
    return {"remainders": remainders, "moduli": moduli}, steps


def _crt_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    result = yield Call("chinese_remainder", {"remainders": g["remainders"], "moduli": g["moduli"]}, say=plan.pick("c0", [
        "The moduli are pairwise coprime, so the Chinese remainder theorem gives one class; I compute it.",
        "I combine the congruences with the Chinese remainder theorem.",
        "Let me solve the system of congruences.",
    ]))
    if not isinstance(result, dict) or "solution" not in result:
        raise ReadError(f"unexpected result {result!r}")
    solution, modulus = value(result["solution"]), value(result["modulus"])
    smallest = solution % modulus or modulus
    return Answer(tex(smallest), say=f"All solutions are $x \\equiv {tex(solution)} \\pmod{{{tex(modulus)}}}$, so the smallest positive one is ${tex(smallest)}$.")


CRT = Family("crt", "the smallest positive solution of two or three congruences (pairwise coprime moduli)",
             tools=("chinese_remainder",), make=_crt_make, read=_crt_read, policy=_crt_policy)
