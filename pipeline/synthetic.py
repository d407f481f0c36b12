"""Synthetic problem families: seeded generators with independent ground truth, and their readers.

A *family* is a kind of textbook exercise (quadratic equations, determinants, CRT, age
problems, ...). It has several phrasings (templates with `[[field]]` slots; the mathematics
sits in `$...$` LaTeX as in a real problem set), a sampler that draws parameters from a
`random.Random` and computes the answer *by construction* (roots chosen before expanding,
closed-form formulas, brute force) — never through the toolkit — and a reader that parses a
problem text back into what it states.

`generate_problems` makes reproducible problem sets. `recognise` is the reading half: it
turns a problem text into a `SolvingPlan` (what is given, the plan in words, and a policy
that maps the tool results obtained so far to the next tool call or to the final answer).
The symbolic teacher (`pipeline.teachers.symbolic`) drives that policy against the real
toolkit, so its traces are only as right as the tools' results; it never sees the ground
truth.

Every question asks for one well-defined value ("the sum of the solutions", "the larger
root", "the smallest positive integer ..."), so `Problem.answer` is a single LaTeX value.
"""

from __future__ import annotations

import functools
import logging
import math
import random
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from pipeline.records import Problem
from toolkit.parse import parse as parse_math

log = logging.getLogger(__name__)

X, Y, Z, K, T = sp.symbols("x y z k t")
_LETTERS = {"x": X, "y": Y, "z": Z}


class ReadError(ValueError):
    """A problem text (or a tool result) does not have the form a family expects."""


# --------------------------------------------------------------------------- plans and steps


@dataclass(frozen=True)
class Call:
    """The next tool call of a plan. `by_hand` is set on a final arithmetic step that the
    teacher may evaluate itself (e.g. when it has to answer without tools)."""

    tool: str
    arguments: dict[str, Any]
    say: str = ""
    fallback: Call | None = None
    by_hand: str | None = None


@dataclass(frozen=True)
class Answer:
    latex: str
    say: str = ""


Step = Call | Answer


@dataclass(frozen=True)
class SolvingPlan:
    """What a problem text states, read back by a family, and how to solve it with tools."""

    family: str
    ask: str
    given: dict[str, Any]  # what the text states, in SymPy syntax (and its LaTeX, for prose)
    steps: tuple[str, ...]  # the plan in words, naming the tools
    seed: int = 0  # from the text: picks among phrasings, deterministically

    @property
    def tools(self) -> tuple[str, ...]:
        return FAMILIES[self.family].tools

    def next_step(self, results: Sequence[Any]) -> Step:
        """The next call, or the answer, given the `result` values of the successful calls so far."""
        return FAMILIES[self.family].policy(self, list(results))

    def pick(self, key: str, options: Sequence[str]) -> str:
        return options[zlib.crc32(f"{self.seed}:{key}".encode()) % len(options)]


# --------------------------------------------------------------------------- templates and families

_FIELD = re.compile(r"\[\[(\w+)\]\]")


@dataclass(frozen=True)
class Template:
    text: str
    ask: str

    def fill(self, fields: dict[str, str]) -> str:
        return _FIELD.sub(lambda m: fields[m.group(1)], self.text)

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        parts, seen, pos = [], set(), 0
        for m in _FIELD.finditer(self.text):
            parts.append(_literal(self.text[pos : m.start()]))
            name = m.group(1)
            if name in seen:
                parts.append(f"(?P={name})")
            else:
                seen.add(name)
                if name.endswith("_text"):
                    body = r".+?"
                elif name == "name":
                    body = r"[A-Z][a-z]+"
                else:
                    body = r"[^$]+?"
                parts.append(f"(?P<{name}>{body})")
            pos = m.end()
        parts.append(_literal(self.text[pos:]))
        return re.compile("".join(parts), re.DOTALL)


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(word) for word in text.split(" "))


@dataclass
class Draft:
    """One sampled instance: the template's fields, the construction, and the exact answer."""

    fields: dict[str, str]
    params: dict[str, Any]
    answer: sp.Basic


@dataclass(frozen=True)
class Family:
    name: str
    summary: str
    tools: tuple[str, ...]  # every tool the policy may call
    templates: tuple[Template, ...]
    make: Callable[[random.Random, str], Draft]  # (rng, ask) -> instance
    read: Callable[[dict[str, str], str], tuple[dict[str, Any], list[str]]]  # -> (given, steps)
    policy: Callable[[SolvingPlan, list[Any]], Step]

    def draw(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        index = rng.randrange(len(self.templates))
        template = self.templates[index]
        draft = self.make(rng, template.ask)
        params = {"ask": template.ask, "template": index, **draft.params}
        return template.fill(draft.fields), tex(draft.answer), params


# --------------------------------------------------------------------------- LaTeX <-> SymPy

_TEX_WORDS = {
    r"\sin": "sin", r"\cos": "cos", r"\tan": "tan", r"\log": "log", r"\ln": "log", r"\exp": "exp",
    r"\pi": "pi", r"\infty": "oo", r"\cdot": "*", r"\times": "*", r"\leq": "<=", r"\le": "<=",
    r"\geq": ">=", r"\ge": ">=", r"\lt": "<", r"\gt": ">", r"\,": " ", r"\;": " ", r"\!": "",
    r"\displaystyle": "", r"\ ": " ",
}


def _group(tex: str, i: int) -> tuple[str, int]:
    """The `{...}` group starting at tex[i] (after spaces) and the index after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex) or tex[i] != "{":
        raise ReadError(f"expected '{{' at {i} in {tex!r}")
    depth = 0
    for j in range(i, len(tex)):
        depth += tex[j] == "{"
        depth -= tex[j] == "}"
        if depth == 0:
            return tex[i + 1 : j], j + 1
    raise ReadError(f"unbalanced braces in {tex!r}")


def tex_to_code(tex: str) -> str:
    """SymPy-syntax text for the LaTeX this module writes (fractions, roots, powers, |.|, trig)."""
    out, i = [], 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            assert m is not None
            command = m.group(0)
            i += len(command)
            if command in (r"\frac", r"\dfrac", r"\tfrac"):
                numerator, i = _group(tex, i)
                denominator, i = _group(tex, i)
                out.append(f"(({tex_to_code(numerator)})/({tex_to_code(denominator)}))")
            elif command == r"\sqrt":
                radicand, i = _group(tex, i)
                out.append(f"sqrt({tex_to_code(radicand)})")
            elif command in (r"\left", r"\right"):
                delimiter = tex[i : i + 1]
                i += 1
                if delimiter == "|":
                    out.append("Abs(" if command == r"\left" else ")")
                elif delimiter in "([":
                    out.append("(")
                elif delimiter in ")]":
                    out.append(")")
                elif delimiter != ".":
                    raise ReadError(f"unsupported delimiter {command}{delimiter}")
            elif command in _TEX_WORDS:
                out.append(f" {_TEX_WORDS[command]} ")
            else:
                raise ReadError(f"unsupported LaTeX command {command}")
        elif ch == "{":
            out.append("(")
            i += 1
        elif ch == "}":
            out.append(")")
            i += 1
        elif ch == "^":
            out.append("**")
            i += 1
        else:
            out.append(ch)
            i += 1
    return " ".join("".join(out).split())


def from_tex(tex: str) -> Any:
    """Parse this module's LaTeX into SymPy (through the toolkit's strict parser)."""
    try:
        return parse_math(tex_to_code(tex.strip()))
    except ReadError:
        raise
    except Exception as exc:
        raise ReadError(f"cannot read {tex!r}: {exc}") from None


def tex(value: Any) -> str:
    """LaTeX as a problem set writes it; natural logarithms as \\ln (\\log is ambiguous to graders)."""
    return sp.latex(value, ln_notation=True)


def code(value: Any) -> str:
    return sp.sstr(value)


def equation_code(eq: sp.Basic) -> str:
    if isinstance(eq, sp.Equality):
        return f"{code(eq.lhs)} = {code(eq.rhs)}"
    return f"{code(eq)} = 0"


def value(result: Any) -> sp.Expr:
    """A tool's JSON result (an int, a float or a SymPy-syntax string) as a SymPy number."""
    if isinstance(result, bool) or result is None:
        raise ReadError(f"expected a value, got {result!r}")
    if isinstance(result, int):
        return sp.Integer(result)
    if isinstance(result, float):
        return sp.nsimplify(result)
    if isinstance(result, str):
        parsed = parse_math(result)
        if not isinstance(parsed, sp.Expr):
            raise ReadError(f"expected an expression, got {result!r}")
        return parsed
    raise ReadError(f"expected a value, got {type(result).__name__}")


def _real_key(v: sp.Expr) -> float:
    return float(sp.N(v))


def _roots(result: Any) -> list[sp.Expr]:
    """Solutions from solve_equation (a list) or polynomial_roots (a {root: multiplicity} dict)."""
    if isinstance(result, dict):
        return sorted((value(r) for r in result), key=_real_key)
    if isinstance(result, list):
        return sorted((value(r) for r in result), key=_real_key)
    raise ReadError(f"expected a list of solutions, got {result!r}")


def _and_list(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _arith(expression: str, say: str) -> Call:
    """A last arithmetic step on earlier results, done with simplify_expression."""
    return Call("simplify_expression", {"expression": expression}, say=say, by_hand=expression)


# =========================================================================== families
# Each family: make (sampler + ground truth), read (text -> given + plan), policy (results -> step).


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
        steps = [f"Get the symmetric functions of the roots of ${f['eq']}$ from its coefficients with `vieta_sums`.",
                 "Read off the product of the roots and report it."]
    else:
        steps = [f"Solve ${f['eq']}$ for $x$ with `solve_equation` (or `polynomial_roots` if that fails)."]
        steps.append({
            "sum": "Add the two solutions.",
            "larger": "Compare the two solutions and keep the larger one.",
            "difference": "Subtract the smaller solution from the larger one.",
            "sum_squares": "Square both solutions and add the squares with `simplify_expression`.",
        }[ask])
    return given, steps


def _quadratic_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g, ask = plan.given, plan.ask
    if ask == "product":
        if not results:
            return Call("vieta_sums", {"expression": g["poly"], "variable": "x"}, say=plan.pick("q0", [
                "By Vieta's formulas the product of the roots comes from the coefficients, so I ask for the symmetric sums.",
                "I do not need the roots themselves: Vieta's formulas give their product directly.",
            ]))
        product = value(results[0]["product_of_roots"])
        return Answer(tex(product), say=f"Vieta gives the product of the roots as ${tex(product)}$.")
    if not results:
        return Call(
            "solve_equation", {"equation": g["equation"], "variable": "x"},
            say=plan.pick("q0", [
                f"First I solve ${g['eq_tex']}$ for $x$.",
                "I start by finding both solutions of the quadratic.",
                "Let me solve the equation exactly.",
            ]),
            fallback=Call("polynomial_roots", {"expression": g["poly"], "variable": "x"},
                          say="I will get the roots of the polynomial with `polynomial_roots` instead."),
        )
    roots = _roots(results[0])
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
    if len(results) == 1:
        return _arith(f"({code(r1)})**2 + ({code(r2)})**2", say=f"{found}. Now I add their squares.")
    total = value(results[1])
    return Answer(tex(total), say=f"The sum of the squares of the roots is ${tex(total)}$.")


QUADRATIC = Family(
    name="quadratic",
    summary="a quadratic equation with two real roots: their sum, product, larger root, ...",
    tools=("solve_equation", "polynomial_roots", "vieta_sums", "simplify_expression"),
    templates=(
        Template("Find the sum of all solutions of the equation $[[eq]]$.", "sum"),
        Template("What is the sum of the roots of $[[eq]]$?", "sum"),
        Template("Solve $[[eq]]$. What is the larger of its two solutions?", "larger"),
        Template("The equation $[[eq]]$ has two real roots. Find the greater one.", "larger"),
        Template("Let $r$ and $s$ be the solutions of $[[eq]]$. Compute $r^2 + s^2$.", "sum_squares"),
        Template("If $p$ and $q$ are the roots of $[[eq]]$, what is $pq$?", "product"),
        Template("Find the positive difference between the two solutions of $[[eq]]$.", "difference"),
    ),
    make=_quadratic_make,
    read=_quadratic_read,
    policy=_quadratic_policy,
)


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


def _rational_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if not results:
        return Call("solve_equation", {"equation": g["equation"], "variable": "x", "domain": "real"},
                    say=plan.pick("r0", [
                        "I solve the equation over the reals; values that zero a denominator are not solutions.",
                        f"First, solve ${g['eq_tex']}$ for real $x$.",
                        "Clearing denominators by hand risks extraneous roots, so I let the solver handle the domain.",
                    ]))
    roots = _roots(results[0])
    if not roots:
        raise ReadError("no real solutions")
    if plan.ask == "solve":
        if len(roots) != 1:
            raise ReadError(f"expected one solution, got {len(roots)}")
        (root,) = roots
        if len(results) == 1:
            return Call("substitute_values", {"expression": g["difference"], "values": {"x": code(root)}},
                        say=f"The only solution is $x = {tex(root)}$. Let me substitute it back to check.")
        check = value(results[1])
        verdict = "so it checks out" if check == 0 else f"which is ${tex(check)}$ rather than $0$, but it is the solver's only root"
        return Answer(tex(root), say=f"Substituting $x = {tex(root)}$ makes the two sides differ by ${tex(check)}$, {verdict}.")
    listing = _and_list([f"${tex(r)}$" for r in roots])
    if plan.ask == "sum":
        total = sp.Add(*roots)
        return Answer(tex(total), say=f"The real solutions are {listing}; their sum is ${tex(total)}$.")
    return Answer(tex(roots[-1]), say=f"The real solutions are {listing}; the largest is ${tex(roots[-1])}$.")


RATIONAL = Family(
    name="rational_equation",
    summary="an equation with x in denominators: its solution, or the sum / largest of its solutions",
    tools=("solve_equation", "substitute_values"),
    templates=(
        Template("Solve for $x$: $[[eq]]$.", "solve"),
        Template("Find the real number $x$ that satisfies $[[eq]]$.", "solve"),
        Template("What value of $x$ satisfies the equation $[[eq]]$?", "solve"),
        Template("Find the sum of all real solutions of $[[eq]]$.", "sum"),
        Template("What is the sum of the real numbers $x$ for which $[[eq]]$?", "sum"),
        Template("Find the largest real solution of $[[eq]]$.", "larger"),
    ),
    make=_rational_make,
    read=_rational_read,
    policy=_rational_policy,
)


# --------------------------------------------------------------------------- linear systems


def _det(m: list[list[int]]) -> int:
    """Determinant by cofactor expansion (exact, small matrices)."""
    if len(m) == 1:
        return m[0][0]
    return sum((-1) ** j * m[0][j] * _det([row[:j] + row[j + 1 :] for row in m[1:]]) for j in range(len(m)))


def _pmatrix(rows: list[list[Any]]) -> str:
    body = r" \\ ".join(" & ".join(tex(sp.sympify(v)) for v in row) for row in rows)
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


def _read_pmatrix(text: str) -> list[list[str]]:
    m = re.fullmatch(r"\s*\\begin\{pmatrix\}(.*)\\end\{pmatrix\}\s*", text, re.DOTALL)
    if not m:
        raise ReadError("not a matrix")
    rows = [[code(from_tex(cell)) for cell in row.split("&")] for row in m.group(1).split(r"\\")]
    if len({len(r) for r in rows}) != 1:
        raise ReadError("ragged matrix")
    return rows


def _system_make(rng: random.Random, ask: str) -> Draft:
    n = rng.choice([2, 2, 3])
    names = ["x", "y", "z"][:n]
    symbols = [_LETTERS[v] for v in names]
    solution = [rng.randint(-6, 6) for _ in range(n)]
    while True:
        matrix = [[rng.randint(-5, 5) for _ in range(n)] for _ in range(n)]
        if _det(matrix) != 0 and all(sum(c != 0 for c in row) >= 2 for row in matrix):
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


def _system_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if not results:
        return Call("solve_linear_system", {"equations": g["equations"], "variables": g["variables"]},
                    say=plan.pick("s0", [
                        "I solve the linear system exactly.",
                        "First, the system itself: I solve it for all the unknowns.",
                        "Let me solve the system with the linear-system tool.",
                    ]))
    solution = results[0]
    if not isinstance(solution, dict) or set(solution) != set(g["variables"]):
        raise ReadError(f"unexpected solution {solution!r}")
    values = {k: value(v) for k, v in solution.items()}
    listing = ", ".join(f"${k} = {tex(v)}$" for k, v in values.items())
    target = parse_math(g["target"])
    if isinstance(target, sp.Symbol):
        v = values[target.name]
        return Answer(tex(v), say=f"The solution is {listing}, so ${g['target_tex']} = {tex(v)}$.")
    if len(results) == 1:
        return Call("substitute_values", {"expression": g["target"], "values": {k: code(v) for k, v in values.items()}},
                    say=f"The solution is {listing}. Now I evaluate ${g['target_tex']}$ at these values.")
    v = value(results[1])
    return Answer(tex(v), say=f"Substituting gives ${g['target_tex']} = {tex(v)}$.")


LINEAR_SYSTEM = Family(
    name="linear_system",
    summary="a 2x2 or 3x3 linear system: one unknown, a combination, or a product of the unknowns",
    tools=("solve_linear_system", "substitute_values"),
    templates=(
        Template("Solve the system $[[system]]$ and find $[[target]]$.", "target"),
        Template("If $[[system]]$, what is the value of $[[target]]$?", "target"),
        Template("The numbers $[[unknowns]]$ satisfy $[[system]]$. Compute $[[target]]$.", "target"),
        Template("Given the linear system $[[system]]$, determine $[[target]]$.", "target"),
    ),
    make=_system_make,
    read=_system_read,
    policy=_system_policy,
)


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


def _inequality_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if not results:
        return Call("solve_univariate_inequality", {"inequality": g["inequality"], "variable": "x"},
                    say=plan.pick("i0", [
                        f"I solve ${g['ineq_tex']}$ over the reals first.",
                        "First I find the set of real $x$ satisfying the inequality.",
                        "Let me get the solution set as an interval.",
                    ]))
    lo, hi, left_open, right_open = _interval(results[0])
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
    if len(results) == 1:
        return Call("summation", {"expression": "k", "variable": "k", "lower": code(first), "upper": code(last)},
                    say=f"{found}. I add them up.")
    total = value(results[1])
    return Answer(tex(total), say=f"The integers from ${first}$ to ${last}$ add up to ${tex(total)}$.")


INEQUALITY = Family(
    name="inequality",
    summary="a quadratic or absolute-value inequality: number or sum of integer solutions, interval length",
    tools=("solve_univariate_inequality", "summation"),
    templates=(
        Template("How many integers $x$ satisfy $[[ineq]]$?", "count"),
        Template("Find the number of integer solutions of the inequality $[[ineq]]$.", "count"),
        Template("What is the sum of all integers $x$ such that $[[ineq]]$?", "sum_int"),
        Template("Compute the sum of the integer solutions of $[[ineq]]$.", "sum_int"),
        Template("The solution set of $[[ineq]]$ is an interval. What is its length?", "length"),
        Template("Solve $[[ineq]]$ and give the length of the solution interval.", "length"),
    ),
    make=_inequality_make,
    read=_inequality_read,
    policy=_inequality_policy,
)


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
    expr, point = from_tex(f["f"]), from_tex(f["a"])
    if not isinstance(expr, sp.Expr) or expr.free_symbols != {X} or point.free_symbols:
        raise ReadError("not a function of x and a point")
    given = {"f": code(expr), "point": code(point), "f_tex": f["f"], "point_tex": f["a"]}
    steps = [f"Differentiate ${f['f']}$ with respect to $x$ with `differentiate`.",
             f"Substitute $x = {f['a']}$ into the derivative with `substitute_values`."]
    return given, steps


def _derivative_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if not results:
        return Call("differentiate", {"expression": g["f"], "variable": "x"}, say=plan.pick("d0", [
            "First I compute the derivative.",
            f"Let me differentiate ${g['f_tex']}$.",
            "I find $f'(x)$ symbolically before plugging in the point.",
        ]))
    derivative = results[0]
    if not isinstance(derivative, str | int):
        raise ReadError(f"unexpected derivative {derivative!r}")
    if len(results) == 1:
        return Call("substitute_values", {"expression": str(derivative), "values": {"x": g["point"]}},
                    say=f"The derivative is ${tex(value(derivative))}$. Now I evaluate it at $x = {g['point_tex']}$.")
    v = value(results[1])
    return Answer(tex(v), say=plan.pick("d2", [
        f"At $x = {g['point_tex']}$ the derivative equals ${tex(v)}$.",
        f"So the slope at $x = {g['point_tex']}$ is ${tex(v)}$.",
    ]))


DERIVATIVE = Family(
    name="derivative",
    summary="the derivative of a polynomial / product / quotient / root function at a point",
    tools=("differentiate", "substitute_values"),
    templates=(
        Template("Let $f(x) = [[f]]$. Find $f'([[a]])$.", "value"),
        Template("Compute the derivative of $[[f]]$ with respect to $x$, evaluated at $x = [[a]]$.", "value"),
        Template("What is the slope of the tangent line to the curve $y = [[f]]$ at $x = [[a]]$?", "value"),
        Template("If $g(x) = [[f]]$, what is $g'([[a]])$?", "value"),
    ),
    make=_derivative_make,
    read=_derivative_read,
    policy=_derivative_policy,
)


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
    expr, lo, hi = from_tex(f["f"]), from_tex(f["lo"]), from_tex(f["hi"])
    if not isinstance(expr, sp.Expr) or expr.free_symbols != {X} or lo.free_symbols or hi.free_symbols:
        raise ReadError("not an integrand in x with numeric bounds")
    given = {"f": code(expr), "lower": code(lo), "upper": code(hi), "f_tex": f["f"], "lo_tex": f["lo"], "hi_tex": f["hi"]}
    steps = [f"Integrate ${f['f']}$ from ${f['lo']}$ to ${f['hi']}$ with `definite_integral`."]
    if ask == "average":
        steps.append("Divide the integral by the length of the interval with `simplify_expression`.")
    return given, steps


def _integral_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if not results:
        return Call("definite_integral", {"expression": g["f"], "variable": "x", "lower": g["lower"], "upper": g["upper"]},
                    say=plan.pick("n0", [
                        "I evaluate the definite integral exactly.",
                        f"First, $\\int_{{{g['lo_tex']}}}^{{{g['hi_tex']}}} {g['f_tex']} \\, dx$.",
                        "Let me compute the integral over the interval.",
                    ]))
    integral = value(results[0])
    if plan.ask == "value":
        return Answer(tex(integral), say=f"The integral equals ${tex(integral)}$.")
    if len(results) == 1:
        return _arith(f"({code(integral)})/(({g['upper']}) - ({g['lower']}))",
                      say=f"The integral is ${tex(integral)}$; the average value divides it by the interval's length.")
    average = value(results[1])
    return Answer(tex(average), say=f"The average value is ${tex(average)}$.")


INTEGRAL = Family(
    name="definite_integral",
    summary="a definite integral of a polynomial / exponential / trigonometric function, or an average value",
    tools=("definite_integral", "simplify_expression"),
    templates=(
        Template(r"Evaluate $\int_{[[lo]]}^{[[hi]]} \left([[f]]\right) dx$.", "value"),
        Template("Compute the definite integral of $[[f]]$ from $x = [[lo]]$ to $x = [[hi]]$.", "value"),
        Template(r"Find the exact value of $\displaystyle\int_{[[lo]]}^{[[hi]]} \left([[f]]\right) \, dx$.", "value"),
        Template("What is the average value of $f(x) = [[f]]$ on the interval $[[lo]] \\le x \\le [[hi]]$?", "average"),
        Template("Find the mean value of $[[f]]$ over $[[lo]] \\le x \\le [[hi]]$.", "average"),
    ),
    make=_integral_make,
    read=_integral_read,
    policy=_integral_policy,
)


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
    expr, point = from_tex(f["f"]), from_tex(f["p"])
    if not isinstance(expr, sp.Expr) or expr.free_symbols != {X} or point.free_symbols:
        raise ReadError("not a limit in x")
    given = {"f": code(expr), "point": code(point), "f_tex": f["f"], "point_tex": f["p"]}
    return given, [f"Compute the limit of ${f['f']}$ as $x \\to {f['p']}$ with `compute_limit` (direct substitution is indeterminate)."]


def _limit_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if not results:
        return Call("compute_limit", {"expression": g["f"], "variable": "x", "point": g["point"]},
                    say=plan.pick("l0", [
                        "Plugging in directly gives an indeterminate form, so I compute the limit symbolically.",
                        f"I let the tool take the limit as $x \\to {g['point_tex']}$.",
                        "Let me evaluate the limit exactly.",
                    ]))
    v = value(results[0])
    return Answer(tex(v), say=f"The limit is ${tex(v)}$.")


LIMIT = Family(
    name="limit",
    summary="a limit with an indeterminate form (0/0, 1^oo, oo/oo)",
    tools=("compute_limit",),
    templates=(
        Template(r"Evaluate $\lim_{x \to [[p]]} [[f]]$.", "value"),
        Template("Find the limit of $[[f]]$ as $x$ approaches $[[p]]$.", "value"),
        Template(r"Compute $\displaystyle\lim_{x\to [[p]]} \left([[f]]\right)$.", "value"),
        Template(r"What value does $[[f]]$ approach as $x \to [[p]]$?", "value"),
    ),
    make=_limit_make,
    read=_limit_read,
    policy=_limit_policy,
)


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
    term, lo, hi = from_tex(f["term"]), from_tex(f["lo"]), from_tex(f["hi"])
    if not isinstance(term, sp.Expr) or term.free_symbols != {K} or lo.free_symbols or hi.free_symbols:
        raise ReadError("not a sum over k")
    given = {"term": code(term), "lower": code(lo), "upper": code(hi), "term_tex": f["term"], "lo_tex": f["lo"], "hi_tex": f["hi"]}
    return given, [f"Evaluate the sum of ${f['term']}$ for $k$ from ${f['lo']}$ to ${f['hi']}$ in closed form with `summation`."]


def _sum_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if not results:
        return Call("summation", {"expression": g["term"], "variable": "k", "lower": g["lower"], "upper": g["upper"]},
                    say=plan.pick("u0", [
                        "I evaluate the sum symbolically rather than term by term.",
                        "Let me get the exact value of the sum.",
                        f"The sum runs over $k = {g['lo_tex']}, \\dots, {g['hi_tex']}$; I compute it in closed form.",
                    ]))
    v = value(results[0])
    return Answer(tex(v), say=f"The sum equals ${tex(v)}$.")


SUMMATION = Family(
    name="summation",
    summary="power sums, arithmetic and geometric series (finite and infinite), a telescoping sum",
    tools=("summation",),
    templates=(
        Template(r"Compute $\sum_{k=[[lo]]}^{[[hi]]} [[term]]$.", "value"),
        Template(r"Find the value of the sum $\displaystyle\sum_{k=[[lo]]}^{[[hi]]} \left([[term]]\right)$.", "value"),
        Template(r"Evaluate $\sum_{k=[[lo]]}^{[[hi]]} [[term]]$ exactly.", "value"),
        Template(r"What is $\sum\limits_{k=[[lo]]}^{[[hi]]} [[term]]$ equal to?", "value"),
    ),
    make=_sum_make,
    read=_sum_read,
    policy=_sum_policy,
)


# --------------------------------------------------------------------------- determinants


def _with_entry(matrix: list[list[Any]], i: int, j: int, v: Any) -> list[list[Any]]:
    return [[v if (r, c) == (i, j) else x for c, x in enumerate(row)] for r, row in enumerate(matrix)]


def _determinant_make(rng: random.Random, ask: str) -> Draft:
    n = rng.choice([2, 3, 3])
    while True:
        matrix: list[list[Any]] = [[rng.randint(-5, 9) for _ in range(n)] for _ in range(n)]
        if ask == "value":
            answer = sp.Integer(_det(matrix))
            break
        i, j = rng.randrange(n), rng.randrange(n)
        d0, d1 = (_det(_with_entry(matrix, i, j, v)) for v in (0, 1))
        if d1 != d0:  # det(t) = d0 + (d1 - d0) t is not constant
            answer = sp.Rational(-d0, d1 - d0)
            matrix[i][j] = "t"
            break
    return Draft({"M": _pmatrix(matrix)}, {"matrix": [[str(v) for v in row] for row in matrix]}, answer)


def _determinant_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    rows = _read_pmatrix(f["M"])
    if len(rows) != len(rows[0]):
        raise ReadError("not square")
    symbolic = any(parse_math(c).free_symbols for row in rows for c in row)
    if symbolic != (ask == "singular"):
        raise ReadError("parameter mismatch")
    given = {"matrix": rows, "M_tex": f["M"]}
    steps = ["Compute the determinant with `compute_determinant`."]
    if ask == "singular":
        steps[0] = "Compute the determinant as an expression in $t$ with `compute_determinant`."
        steps.append("The matrix is singular exactly when the determinant is zero: solve for $t$ with `solve_equation`.")
    return given, steps


def _determinant_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if not results:
        return Call("compute_determinant", {"matrix": g["matrix"]}, say=plan.pick("m0", [
            "I compute the determinant first.",
            "Let me expand the determinant.",
            f"First, $\\det {g['M_tex']}$.",
        ]))
    det = value(results[0])
    if plan.ask == "value":
        return Answer(tex(det), say=f"The determinant is ${tex(det)}$.")
    if len(results) == 1:
        return Call("solve_equation", {"equation": f"{code(det)} = 0", "variable": "t"},
                    say=f"The determinant is ${tex(det)}$; it vanishes exactly when the matrix is singular, so I solve ${tex(det)} = 0$.")
    roots = _roots(results[1])
    if len(roots) != 1:
        raise ReadError(f"expected one value of t, got {len(roots)}")
    return Answer(tex(roots[0]), say=f"The determinant is zero for $t = {tex(roots[0])}$.")


DETERMINANT = Family(
    name="determinant",
    summary="the determinant of a 2x2/3x3 matrix, or the parameter value that makes it singular",
    tools=("compute_determinant", "solve_equation"),
    templates=(
        Template("Compute the determinant of the matrix $[[M]]$.", "value"),
        Template(r"Find $\det [[M]]$.", "value"),
        Template("What is the determinant of $A = [[M]]$?", "value"),
        Template("For which value of $t$ is the matrix $[[M]]$ singular?", "singular"),
        Template("Find the value of $t$ for which $[[M]]$ is not invertible.", "singular"),
        Template(r"Determine $t$ such that $\det [[M]] = 0$.", "singular"),
    ),
    make=_determinant_make,
    read=_determinant_read,
    policy=_determinant_policy,
)


# --------------------------------------------------------------------------- eigenvalues


def _matmul(a: list[list[int]], b: list[list[int]]) -> list[list[int]]:
    return [[sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]


def _shear(n: int, i: int, j: int, c: int) -> list[list[int]]:
    m = [[int(r == s) for s in range(n)] for r in range(n)]
    m[i][j] = c
    return m


def _eigen_make(rng: random.Random, ask: str) -> Draft:
    n = rng.choice([2, 2, 3])
    eigenvalues = rng.sample(range(-5, 10), n)
    # A = P D P^-1 with P a product of integer shears (det 1), so A is an integer matrix.
    p, p_inverse = _shear(n, 0, 0, 1), _shear(n, 0, 0, 1)
    for _ in range(2 if n == 2 else 3):
        i, j = rng.sample(range(n), 2)
        c = rng.choice([-2, -1, 1, 2])
        p, p_inverse = _matmul(p, _shear(n, i, j, c)), _matmul(_shear(n, i, j, -c), p_inverse)
    d = [[eigenvalues[r] if r == s else 0 for s in range(n)] for r in range(n)]
    matrix = _matmul(_matmul(p, d), p_inverse)
    answer = {
        "largest": max(eigenvalues),
        "smallest": min(eigenvalues),
        "sum_squares": sum(v * v for v in eigenvalues),
    }[ask]
    return Draft({"M": _pmatrix(matrix)}, {"matrix": matrix, "eigenvalues": sorted(eigenvalues)}, sp.Integer(answer))


def _eigen_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    rows = _read_pmatrix(f["M"])
    if len(rows) != len(rows[0]) or any(parse_math(c).free_symbols for row in rows for c in row):
        raise ReadError("not a numeric square matrix")
    steps = ["Compute the eigenvalues with their multiplicities with `compute_eigenvalues`."]
    steps.append({
        "largest": "Take the largest eigenvalue.",
        "smallest": "Take the smallest eigenvalue.",
        "sum_squares": "Add the squares of the eigenvalues, each counted with its multiplicity, with `simplify_expression`.",
    }[ask])
    return {"matrix": rows, "M_tex": f["M"]}, steps


def _eigen_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if not results:
        return Call("compute_eigenvalues", {"matrix": g["matrix"]}, say=plan.pick("e0", [
            "I compute the eigenvalues of the matrix.",
            "First, the eigenvalues and their multiplicities.",
            "Let me find the roots of the characteristic polynomial, i.e. the eigenvalues.",
        ]))
    if not isinstance(results[0], dict) or not results[0]:
        raise ReadError(f"unexpected eigenvalues {results[0]!r}")
    pairs = sorted(((value(k), int(m)) for k, m in results[0].items()), key=lambda kv: _real_key(kv[0]))
    listing = _and_list([f"${tex(v)}$" + (f" (multiplicity {m})" if m > 1 else "") for v, m in pairs])
    if plan.ask == "largest":
        return Answer(tex(pairs[-1][0]), say=f"The eigenvalues are {listing}; the largest is ${tex(pairs[-1][0])}$.")
    if plan.ask == "smallest":
        return Answer(tex(pairs[0][0]), say=f"The eigenvalues are {listing}; the smallest is ${tex(pairs[0][0])}$.")
    if len(results) == 1:
        expression = " + ".join(f"{m}*({code(v)})**2" if m > 1 else f"({code(v)})**2" for v, m in pairs)
        return _arith(expression, say=f"The eigenvalues are {listing}. Now I add their squares.")
    total = value(results[1])
    return Answer(tex(total), say=f"The squares of the eigenvalues add up to ${tex(total)}$.")


EIGEN = Family(
    name="eigenvalues",
    summary="eigenvalues of an integer 2x2/3x3 matrix: the largest, the smallest, the sum of squares",
    tools=("compute_eigenvalues", "simplify_expression"),
    templates=(
        Template("Find the largest eigenvalue of the matrix $[[M]]$.", "largest"),
        Template("What is the greatest eigenvalue of $A = [[M]]$?", "largest"),
        Template("Find the smallest eigenvalue of $[[M]]$.", "smallest"),
        Template(r"Let $\lambda_1, \dots, \lambda_n$ be the eigenvalues of $[[M]]$, counted with multiplicity. "
                 r"Compute $\lambda_1^2 + \cdots + \lambda_n^2$.", "sum_squares"),
        Template("Compute the sum of the squares of the eigenvalues of $[[M]]$.", "sum_squares"),
    ),
    make=_eigen_make,
    read=_eigen_read,
    policy=_eigen_policy,
)


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


def _int_field(text: str) -> int:
    if not re.fullmatch(r"-?\d+", text.strip()):
        raise ReadError(f"not an integer: {text!r}")
    return int(text)


def _modular_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    given = {k: _int_field(v) for k, v in f.items()}
    steps = {
        "inverse": [f"Compute the inverse of ${given['a']}$ modulo ${given['m']}$ with `modular_inverse`."],
        "power": [f"Compute ${given['a']}^{{{given.get('e')}}} \\bmod {given['m']}$ by fast exponentiation with `modular_power`."],
        "congruence": ["Solve the linear congruence with `solve_linear_congruence`.",
                       "Take the least nonnegative solution."],
    }[ask]
    return given, steps


def _modular_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if plan.ask == "inverse":
        if not results:
            return Call("modular_inverse", {"a": g["a"], "m": g["m"]}, say=plan.pick("o0", [
                f"Since $\\gcd({g['a']}, {g['m']}) = 1$ the inverse exists; I compute it.",
                "I use the extended Euclidean algorithm through the modular-inverse tool.",
            ]))
        v = value(results[0])
        return Answer(tex(v), say=f"The inverse is ${tex(v)}$, since ${g['a']} \\cdot {tex(v)} \\equiv 1 \\pmod{{{g['m']}}}$.")
    if plan.ask == "power":
        if not results:
            return Call("modular_power", {"base": g["a"], "exponent": g["e"], "modulus": g["m"]}, say=plan.pick("o0", [
                "The power is far too large to write out, so I reduce it by fast modular exponentiation.",
                "I compute the power modulo the modulus directly.",
            ]))
        v = value(results[0])
        return Answer(tex(v), say=f"The remainder is ${tex(v)}$.")
    if not results:
        return Call("solve_linear_congruence", {"a": g["a"], "b": g["b"], "m": g["m"]}, say=plan.pick("o0", [
            "I solve the congruence directly.",
            "Let me find all residues $x$ satisfying the congruence.",
        ]))
    result = results[0]
    if not isinstance(result, dict) or not result.get("solutions"):
        raise ReadError(f"no solutions in {result!r}")
    smallest = min(int(value(s)) for s in result["solutions"])
    return Answer(str(smallest), say=f"The solutions modulo ${g['m']}$ are {result['solutions']}; the least nonnegative one is ${smallest}$.")


MODULAR = Family(
    name="modular",
    summary="modular inverse, modular power, a linear congruence",
    tools=("modular_inverse", "modular_power", "solve_linear_congruence"),
    templates=(
        Template("Find the multiplicative inverse of $[[a]]$ modulo $[[m]]$.", "inverse"),
        Template(r"Find the integer $x$ with $0 \le x < [[m]]$ such that $[[a]] x \equiv 1 \pmod{[[m]]}$.", "inverse"),
        Template("What is the remainder when $[[a]]^{[[e]]}$ is divided by $[[m]]$?", "power"),
        Template(r"Compute $[[a]]^{[[e]]} \bmod [[m]]$.", "power"),
        Template(r"Find the least nonnegative integer $x$ such that $[[a]] x \equiv [[b]] \pmod{[[m]]}$.", "congruence"),
        Template(r"Solve the congruence $[[a]] x \equiv [[b]] \pmod{[[m]]}$, giving the smallest nonnegative solution.", "congruence"),
    ),
    make=_modular_make,
    read=_modular_read,
    policy=_modular_policy,
)


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
        "congruences_text": _and_list([f"$x \\equiv {r} \\pmod{{{m}}}$" for r, m in pairs]),
        "remainders_text": _and_list([f"${r}$ when divided by ${m}$" for r, m in pairs]),
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


def _crt_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if not results:
        return Call("chinese_remainder", {"remainders": g["remainders"], "moduli": g["moduli"]}, say=plan.pick("c0", [
            "The moduli are pairwise coprime, so the Chinese remainder theorem gives one class; I compute it.",
            "I combine the congruences with the Chinese remainder theorem.",
            "Let me solve the system of congruences.",
        ]))
    result = results[0]
    if not isinstance(result, dict) or "solution" not in result:
        raise ReadError(f"unexpected result {result!r}")
    solution, modulus = value(result["solution"]), value(result["modulus"])
    smallest = solution % modulus or modulus
    return Answer(tex(smallest), say=f"All solutions are $x \\equiv {tex(solution)} \\pmod{{{tex(modulus)}}}$, so the smallest positive one is ${tex(smallest)}$.")


CRT = Family(
    name="crt",
    summary="the smallest positive solution of two or three congruences (pairwise coprime moduli)",
    tools=("chinese_remainder",),
    templates=(
        Template("Find the smallest positive integer $x$ such that [[congruences_text]].", "smallest"),
        Template("What is the least positive integer that leaves a remainder of [[remainders_text]]?", "smallest"),
        Template("When the eggs in a basket are counted [[groups_text]]. What is the smallest possible number of eggs in the basket?", "smallest"),
        Template("Determine the smallest positive $x$ satisfying [[congruences_text]] simultaneously.", "smallest"),
    ),
    make=_crt_make,
    read=_crt_read,
    policy=_crt_policy,
)


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
    given = {k: _int_field(v) for k, v in f.items()}
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


def _counting_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g, ask = plan.given, plan.ask
    if ask == "choose":
        if not results:
            return Call("binomial_coefficient", {"n": g["n"], "k": g["k"]}, say=plan.pick("k0", [
                "The order of selection does not matter, so this is a binomial coefficient.",
                f"I compute $\\binom{{{g['n']}}}{{{g['k']}}}$.",
            ]))
        return Answer(tex(value(results[0])), say=f"$\\binom{{{g['n']}}}{{{g['k']}}} = {results[0]}$.")
    if ask == "derangement":
        if not results:
            return Call("derangements_count", {"n": g["n"]}, say=plan.pick("k0", [
                "Nobody may get their own item back: these are derangements.",
                f"I count the derangements of ${g['n']}$ objects.",
            ]))
        return Answer(tex(value(results[0])), say=f"There are ${results[0]}$ derangements of ${g['n']}$ objects.")
    if ask in ("podium", "arrange"):
        if not results:
            return Call("permutations_count", {"n": g["n"], "k": g["k"]}, say=plan.pick("k0", [
                "Order matters here, so I count ordered selections.",
                f"I count the ways to pick ${g['k']}$ of ${g['n']}$ in order.",
            ]))
        return Answer(tex(value(results[0])), say=f"There are ${results[0]}$ ordered selections.")
    total_people = g["w"] + g["m"]
    if not results:
        return Call("binomial_coefficient", {"n": total_people, "k": g["k"]},
                    say=f"I count the complement: first all committees of ${g['k']}$ from ${total_people}$ people.")
    if len(results) == 1:
        return Call("binomial_coefficient", {"n": g["m"], "k": g["k"]},
                    say=f"There are ${results[0]}$ committees in all. Next, those with men only.")
    if len(results) == 2:
        return _arith(f"{value(results[0])} - {value(results[1])}",
                      say=f"Committees with men only: ${results[1]}$. I subtract them from the total.")
    v = value(results[2])
    return Answer(tex(v), say=f"So ${tex(v)}$ committees include at least one woman.")


COUNTING = Family(
    name="counting",
    summary="binomial coefficients, derangements, ordered selections, complementary counting",
    tools=("binomial_coefficient", "derangements_count", "permutations_count", "simplify_expression"),
    templates=(
        Template("In how many ways can a committee of $[[k]]$ people be chosen from a group of $[[n]]$?", "choose"),
        Template("How many $[[k]]$-element subsets does a set with $[[n]]$ elements have?", "choose"),
        Template(r"Compute $\binom{[[n]]}{[[k]]}$.", "choose"),
        Template("How many permutations of $[[n]]$ objects leave no object in its original position?", "derangement"),
        Template("$[[n]]$ people leave their hats at a party and get them back in a random order. "
                 "In how many ways can this happen so that nobody gets their own hat?", "derangement"),
        Template("A club has $[[w]]$ women and $[[m]]$ men. How many committees of $[[k]]$ members contain at least one woman?",
                 "at_least_one"),
        Template("From $[[w]]$ women and $[[m]]$ men a team of $[[k]]$ is picked. "
                 "In how many ways can it be picked if it must include at least one woman?", "at_least_one"),
        Template("In how many ways can first, second and third prizes be awarded to $[[n]]$ contestants "
                 "if nobody wins more than one prize?", "podium"),
        Template("How many ordered arrangements of $[[k]]$ books can be made from a collection of $[[n]]$ different books?",
                 "arrange"),
    ),
    make=_counting_make,
    read=_counting_read,
    policy=_counting_policy,
)


# --------------------------------------------------------------------------- triangle geometry

_HERONIAN = [(13, 14, 15), (5, 5, 6), (5, 5, 8), (3, 4, 5), (6, 8, 10), (7, 15, 20), (9, 10, 17), (10, 13, 13),
             (5, 12, 13), (8, 15, 17), (11, 13, 20), (4, 13, 15), (9, 12, 15), (12, 16, 20)]


def _triangle_make(rng: random.Random, ask: str) -> Draft:
    if rng.random() < 0.5:
        sides = list(rng.choice(_HERONIAN))
        rng.shuffle(sides)
    else:
        while True:
            sides = [rng.randint(2, 15) for _ in range(3)]
            a, b, c = sorted(sides)
            if a + b > c:
                break
    a, b, c = (sp.Integer(v) for v in sides)
    s = (a + b + c) / 2
    area = sp.sqrt(s * (s - a) * (s - b) * (s - c))
    answer = {
        "area": area,
        "circumradius": a * b * c / (4 * area),
        "inradius": area / s,
        "altitude": 2 * area / a,
    }[ask]
    answer = sp.radsimp(answer)
    return Draft({"a": str(a), "b": str(b), "c": str(c)}, {"sides": sides}, answer)


def _triangle_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    given = {k: _int_field(v) for k, v in f.items()}
    steps = {
        "area": ["Compute the area from the three sides (Heron's formula) with `triangle_area_from_sides`."],
        "circumradius": ["Compute the circumradius $R = abc/(4K)$ from the sides with `circumradius`."],
        "inradius": ["Compute the inradius $r = K/s$ from the sides with `inradius`."],
        "altitude": ["Compute the area $K$ with `triangle_area_from_sides`.",
                     f"The altitude to the side ${given['a']}$ is $2K/{given['a']}$: evaluate it with `simplify_expression`."],
    }[ask]
    return given, steps


def _triangle_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g, ask = plan.given, plan.ask
    sides = {"a": str(g["a"]), "b": str(g["b"]), "c": str(g["c"])}
    if not results:
        tool = {"area": "triangle_area_from_sides", "altitude": "triangle_area_from_sides",
                "circumradius": "circumradius", "inradius": "inradius"}[ask]
        say = {
            "area": plan.pick("g0", ["I use Heron's formula on the three sides.", "Let me compute the area from the side lengths."]),
            "altitude": "The altitude follows from the area, so I compute the area first (Heron's formula).",
            "circumradius": plan.pick("g0", ["I compute the circumradius from the three sides.",
                                             "The circumscribed circle's radius is $abc/(4K)$; the tool computes it from the sides."]),
            "inradius": plan.pick("g0", ["I compute the inradius from the three sides.",
                                         "The inscribed circle's radius is the area over the semiperimeter; I let the tool compute it."]),
        }[ask]
        return Call(tool, sides, say=say)
    v = value(results[0])
    if ask == "area":
        return Answer(tex(v), say=f"The area is ${tex(v)}$.")
    if ask == "circumradius":
        return Answer(tex(v), say=f"The circumradius is ${tex(v)}$.")
    if ask == "inradius":
        return Answer(tex(v), say=f"The inradius is ${tex(v)}$.")
    if len(results) == 1:
        return _arith(f"2*({code(v)})/{g['a']}", say=f"The area is $K = {tex(v)}$, so the altitude is $2K/{g['a']}$.")
    h = value(results[1])
    return Answer(tex(h), say=f"The altitude to the side of length ${g['a']}$ is ${tex(h)}$.")


TRIANGLE = Family(
    name="triangle",
    summary="a triangle given by its sides: area, circumradius, inradius, an altitude",
    tools=("triangle_area_from_sides", "circumradius", "inradius", "simplify_expression"),
    templates=(
        Template("A triangle has side lengths $[[a]]$, $[[b]]$ and $[[c]]$. Find its area.", "area"),
        Template("What is the area of the triangle with sides $a = [[a]]$, $b = [[b]]$, $c = [[c]]$?", "area"),
        Template("Find the circumradius of a triangle whose sides measure $[[a]]$, $[[b]]$ and $[[c]]$.", "circumradius"),
        Template("A triangle with side lengths $[[a]]$, $[[b]]$, $[[c]]$ is inscribed in a circle. What is the radius of the circle?",
                 "circumradius"),
        Template("Find the radius of the circle inscribed in a triangle with sides $[[a]]$, $[[b]]$ and $[[c]]$.", "inradius"),
        Template("A triangle has sides of length $[[a]]$, $[[b]]$ and $[[c]]$. How long is the altitude to the side of length $[[a]]$?",
                 "altitude"),
    ),
    make=_triangle_make,
    read=_triangle_read,
    policy=_triangle_policy,
)


# --------------------------------------------------------------------------- coordinate geometry


def _point(p: Sequence[int]) -> str:
    return f"({p[0]}, {p[1]})"


def _read_point(text: str) -> list[str]:
    m = re.fullmatch(r"\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)\s*", text)
    if not m:
        raise ReadError(f"not a point: {text!r}")
    return [m.group(1), m.group(2)]


def _coordinate_make(rng: random.Random, ask: str) -> Draft:
    if ask == "distance":
        while True:
            p, q = [rng.randint(-9, 9) for _ in range(2)], [rng.randint(-9, 9) for _ in range(2)]
            if p != q:
                break
        answer = sp.sqrt((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2)
        return Draft({"P": _point(p), "Q": _point(q)}, {"P": p, "Q": q}, answer)
    if ask == "triangle_area":
        while True:
            pts = [[rng.randint(-8, 8) for _ in range(2)] for _ in range(3)]
            (x1, y1), (x2, y2), (x3, y3) = pts
            twice = x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2)
            if twice != 0:
                break
        return Draft({"P": _point(pts[0]), "Q": _point(pts[1]), "R": _point(pts[2])}, {"vertices": pts},
                     sp.Rational(abs(twice), 2))
    # two lines through a chosen point (p, q)
    p, q = rng.randint(-6, 6), rng.randint(-6, 6)
    m1 = rng.choice([-3, -2, -1, 1, 2, 3, 4])
    while True:
        a, b = rng.choice([v for v in range(-5, 6) if v]), rng.choice([v for v in range(-5, 6) if v])
        if a + m1 * b != 0:  # not parallel to y = m1 x + ...
            break
    line1 = sp.Eq(Y, m1 * X + (q - m1 * p))
    line2 = sp.Eq(a * X + b * Y, a * p + b * q)
    lines = [line1, line2]
    rng.shuffle(lines)
    return Draft({"l1": tex(lines[0]), "l2": tex(lines[1])}, {"point": [p, q]}, sp.Integer(p + q))


def _coordinate_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    if ask == "intersection_sum":
        lines = [from_tex(f["l1"]), from_tex(f["l2"])]
        if not all(isinstance(line, sp.Equality) and line.free_symbols <= {X, Y} for line in lines):
            raise ReadError("not lines in x and y")
        given = {"line1": equation_code(lines[0]), "line2": equation_code(lines[1])}
        return given, ["Intersect the two lines with `line_intersection`.",
                       "Add the two coordinates of the intersection point with `simplify_expression`."]
    given = {k: _read_point(v) for k, v in f.items()}
    if ask == "distance":
        return given, ["Compute the distance between the two points with `distance`."]
    return given, ["Compute the triangle's area from its vertices (shoelace formula) with `triangle_area_from_vertices`."]


def _coordinate_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g, ask = plan.given, plan.ask
    if ask == "distance":
        if not results:
            return Call("distance", {"point1": g["P"], "point2": g["Q"]}, say=plan.pick("p0", [
                "I compute the Euclidean distance between the points.",
                "The distance formula gives the answer; let me compute it exactly.",
            ]))
        v = value(results[0])
        return Answer(tex(v), say=f"The distance is ${tex(v)}$.")
    if ask == "triangle_area":
        if not results:
            return Call("triangle_area_from_vertices", {"vertex1": g["P"], "vertex2": g["Q"], "vertex3": g["R"]},
                        say=plan.pick("p0", ["I apply the shoelace formula to the three vertices.",
                                             "Let me compute the area from the coordinates."]))
        v = value(results[0])
        return Answer(tex(v), say=f"The triangle's area is ${tex(v)}$.")
    if not results:
        return Call("line_intersection", {"line1": g["line1"], "line2": g["line2"]}, say=plan.pick("p0", [
            "First I find where the two lines meet.",
            "Let me intersect the lines.",
        ]))
    point = results[0]
    if not isinstance(point, list) or len(point) != 2:
        raise ReadError(f"unexpected intersection {point!r}")
    px, py = value(point[0]), value(point[1])
    if len(results) == 1:
        return _arith(f"({code(px)}) + ({code(py)})",
                      say=f"The lines meet at $\\left({tex(px)}, {tex(py)}\\right)$. Now I add the coordinates.")
    v = value(results[1])
    return Answer(tex(v), say=f"The coordinates add up to ${tex(v)}$.")


COORDINATE = Family(
    name="coordinate_geometry",
    summary="distance between points, intersection of two lines, area of a triangle from its vertices",
    tools=("distance", "line_intersection", "triangle_area_from_vertices", "simplify_expression"),
    templates=(
        Template("Find the distance between the points $[[P]]$ and $[[Q]]$.", "distance"),
        Template("How far apart are the points $A = [[P]]$ and $B = [[Q]]$?", "distance"),
        Template("The lines $[[l1]]$ and $[[l2]]$ intersect at the point $(a, b)$. Find $a + b$.", "intersection_sum"),
        Template("Find the sum of the coordinates of the intersection point of the lines $[[l1]]$ and $[[l2]]$.", "intersection_sum"),
        Template("Find the area of the triangle with vertices $[[P]]$, $[[Q]]$ and $[[R]]$.", "triangle_area"),
        Template("What is the area of triangle $ABC$ with $A = [[P]]$, $B = [[Q]]$, $C = [[R]]$?", "triangle_area"),
    ),
    make=_coordinate_make,
    read=_coordinate_read,
    policy=_coordinate_policy,
)


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
    n = {k: _int_field(v) for k, v in f.items() if k != "name"}
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


def _word_policy(plan: SolvingPlan, results: list[Any]) -> Step:
    g = plan.given
    if not results:
        return Call("solve_equation", {"equation": g["equation"], "variable": g["variable"], "domain": "real"},
                    say=f"{g['setup']} " + plan.pick("w0", ["I solve this equation.", "Now I solve it.",
                                                           "Let me solve for the unknown."]))
    roots = [r for r in _roots(results[0]) if r > 0]
    if len(roots) != 1:
        raise ReadError(f"expected one positive solution, got {results[0]!r}")
    (root,) = roots
    unit = {"ages_child": "years", "ages_parent": "years", "mixture": "liters", "meeting": "hours", "work": "hours"}[plan.ask]
    if plan.ask == "ages_parent":
        if len(results) == 1:
            return _arith(f"{g['k']}*({code(root)})",
                          say=f"The child is ${tex(root)}$ years old, and the parent is ${g['k']}$ times as old.")
        age = value(results[1])
        return Answer(tex(age), say=f"So the parent is ${tex(age)}$ years old.")
    return Answer(tex(root), say=f"The equation gives ${g['variable']} = {tex(root)}$, i.e. ${tex(root)}$ {unit}.")


WORD = Family(
    name="word_problem",
    summary="word problems that reduce to one linear equation: ages, mixtures, meeting times, joint work",
    tools=("solve_equation", "simplify_expression"),
    templates=(
        Template("[[name]] is $[[k]]$ times as old as her son. In $[[n]]$ years, she will be $[[m]]$ times as old as her son. "
                 "How old is her son now?", "ages_child"),
        Template("[[name]] is $[[k]]$ times as old as her daughter. After $[[n]]$ years she will be only $[[m]]$ times as old "
                 "as her daughter. How old is the daughter today?", "ages_child"),
        Template("[[name]]'s age is $[[k]]$ times her son's age. In $[[n]]$ years, her age will be $[[m]]$ times his. "
                 "How old is [[name]] now?", "ages_parent"),
        Template(r"How many liters of a $[[p1]]\%$ acid solution must [[name]] add to $[[v]]$ liters of a $[[p2]]\%$ acid "
                 r"solution to obtain a $[[p3]]\%$ acid solution?", "mixture"),
        Template(r"[[name]] has $[[v]]$ liters of a $[[p2]]\%$ saline solution. How many liters of a $[[p1]]\%$ saline "
                 r"solution should she add to make a $[[p3]]\%$ solution?", "mixture"),
        Template("Two trains start $[[d]]$ km apart and travel toward each other at $[[v1]]$ km/h and $[[v2]]$ km/h. "
                 "After how many hours do they meet?", "meeting"),
        Template("Two cyclists ride toward each other from towns $[[d]]$ km apart, one at $[[v1]]$ km/h and the other at "
                 "$[[v2]]$ km/h. How many hours pass before they meet?", "meeting"),
        Template("[[name]] can paint a fence in $[[a]]$ hours, and her friend can paint it in $[[b]]$ hours. "
                 "Working together, how many hours do they need?", "work"),
        Template("Pipe A fills a tank in $[[a]]$ hours and pipe B fills it in $[[b]]$ hours. "
                 "How many hours does it take to fill the tank with both pipes open?", "work"),
    ),
    make=_word_make,
    read=_word_read,
    policy=_word_policy,
)


# --------------------------------------------------------------------------- registry and API

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        QUADRATIC, RATIONAL, LINEAR_SYSTEM, INEQUALITY, DERIVATIVE, INTEGRAL, LIMIT, SUMMATION,
        DETERMINANT, EIGEN, MODULAR, CRT, COUNTING, TRIANGLE, COORDINATE, WORD,
    )
}


def generate_problems(count: int, seed: int = 0, families: list[str] | None = None) -> list[Problem]:
    """`count` problems, round-robin over `families` (all by default); the same seed gives the same set.

    Each problem's randomness comes from (seed, family, index), so a longer set extends a
    shorter one. Repeated texts are redrawn (a few families have small parameter spaces).
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    names = list(FAMILIES) if families is None else list(families)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown or not names:
        raise ValueError(f"unknown families {unknown}; choose from {sorted(FAMILIES)}")
    problems: list[Problem] = []
    seen: set[str] = set()
    for index in range(count):
        name = names[index % len(names)]
        for attempt in range(40):
            text, answer, params = FAMILIES[name].draw(random.Random(f"{seed}:{name}:{index}:{attempt}"))
            if text not in seen:
                break
        seen.add(text)
        problems.append(Problem(
            id=f"synthetic-{name}-{seed}-{index}",
            problem=text,
            answer=answer,
            source="synthetic",
            meta={"family": name, "params": params},
        ))
    return problems


def recognise(problem_text: str) -> SolvingPlan | None:
    """Read a problem text back into a plan (family, what is given, steps, policy); None if unknown."""
    return _recognise(" ".join(problem_text.split()))


@functools.lru_cache(maxsize=4096)
def _recognise(text: str) -> SolvingPlan | None:
    for family in FAMILIES.values():
        for template in family.templates:
            m = template.pattern.fullmatch(text)
            if m is None:
                continue
            try:
                given, steps = family.read(m.groupdict(), template.ask)
            except Exception as exc:  # a text that fits a template but not the family's mathematics
                log.debug("%s template %r matched but did not read: %s", family.name, template.text, exc)
                continue
            return SolvingPlan(family.name, template.ask, given, tuple(steps), seed=zlib.crc32(text.encode()))
    return None
