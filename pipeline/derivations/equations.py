"""Equations: linear and quadratic (isolation, factoring, the quadratic formula), rational
equations cleared of denominators, linear systems and line intersections by elimination,
one-variable inequalities (quadratic sign analysis, absolute values), Vieta's formulas."""

from __future__ import annotations

import re
from typing import Any

import sympy as sp

from pipeline.derivations.answers import key_words
from pipeline.derivations.base import (
    Builder,
    Derivation,
    DerivationError,
    expr,
    spelled_sum,
    symbol,
    tex,
    worked,
)

# --------------------------------------------------------------------------- one equation


def _paren(value: Any) -> str:
    """A factor as written in a product: negative numbers and sums in parentheses."""
    text = tex(value)
    return f"({text})" if text.startswith("-") or isinstance(value, sp.Add) else text


def _equation(value: Any) -> sp.Expr:
    """`lhs = rhs` as lhs - rhs."""
    if isinstance(value, sp.Equality):
        return value.lhs - value.rhs
    if isinstance(value, sp.Expr):
        return value
    raise DerivationError("not an equation")


def _sorted(values: list[sp.Expr]) -> list[sp.Expr]:
    return sorted(values, key=lambda v: float(sp.re(sp.N(v))))


def _polynomial_roots(b: Builder, poly: sp.Expr, x: sp.Symbol, roots: list[sp.Expr]) -> None:
    """Solve poly = 0 (degree 1 or 2) in words; `roots` are the tool's solutions (to check against)."""
    p = sp.Poly(poly, x)
    at = {x: roots[0]} if roots else {}
    if p.degree() == 1:
        a, c = p.all_coeffs()
        b.say(f"Isolating ${x}$: {b.eq(a * x, -c, at=at)}, so {b.eq(x, -c / a, at=at)}.")
        return
    if p.degree() != 2:
        raise DerivationError("only degree 1 and 2 are solved step by step")
    a, bb, c = p.all_coeffs()
    disc = bb**2 - 4 * a * c
    b.say(f"This is a quadratic with $a = {tex(a)}$, $b = {tex(bb)}$, $c = {tex(c)}$; its discriminant is "
          + b.eq(sp.Symbol("b") ** 2 - 4 * sp.Symbol("a") * sp.Symbol("c"), disc, at={"a": a, "b": bb, "c": c},
                 lhs_tex=worked(f"b^{{2}} - 4 a c = ({tex(bb)})^{{2}} - 4 \\cdot {_paren(a)} \\cdot {_paren(c)}",
                                spelled_sum([bb**2, -4 * a * c]))) + ".")
    if disc < 0:
        b.say("The discriminant is negative, so there are no real solutions.")
        return
    factored = sp.factor(poly)
    if disc.is_Rational and sp.sqrt(disc).is_Rational and factored != poly:
        b.say(f"It factors: {b.eq(poly, factored)}.")
        for root in _sorted(list(set(sp.solve(poly, x)))):
            b.say(f"Setting each factor to zero gives {b.eq(x, root, at={x: root})}.")
        return
    for sign in (-1, 1):
        root = (-bb + sign * sp.sqrt(disc)) / (2 * a)
        shown = f"\\frac{{-({tex(bb)}) {'-' if sign < 0 else '+'} \\sqrt{{{tex(disc)}}}}}{{2 \\cdot {tex(a)}}}"
        b.say(f"By the quadratic formula, {b.eq(x, sp.radsimp(root), lhs_tex=str(x), rhs_tex=shown + ' = ' + tex(sp.radsimp(root)), at={x: root})}.")


def solve_equation(args: dict[str, Any], result: Any) -> Derivation:
    x = symbol(args.get("variable"))
    g = _equation(expr(args["equation"]))
    if not isinstance(result, list):
        raise DerivationError("solution sets other than a finite list are not derived")
    roots = _sorted([expr(r) for r in result])
    b = Builder("solve_equation")
    original = expr(args["equation"])
    b.say(f"We solve ${tex(original)}$ for ${x}$.")
    numerator, denominator = sp.fraction(sp.together(g))
    numerator = sp.expand(numerator)
    cleared = b.eq(numerator, 0, at={x: roots[0]}) if roots else f"${tex(numerator)} = 0$"
    if denominator.has(x):
        b.say(f"Moving everything to one side and multiplying by ${tex(denominator)}$ (which must not be zero): {cleared}.")
    else:
        b.say(f"Moving everything to one side and clearing constant denominators: {cleared}.")
    if not numerator.is_polynomial(x) or sp.degree(numerator, x) not in (1, 2) or numerator.free_symbols - {x}:
        raise DerivationError("not a linear or quadratic equation")
    _polynomial_roots(b, numerator, x, roots)
    candidates = _sorted([r for r in set(sp.solve(numerator, x)) if r.is_real])
    kept = [r for r in candidates if sp.simplify(denominator.subs(x, r)) != 0]
    if len(kept) < len(candidates):
        dropped = [r for r in candidates if r not in kept]
        b.say("We discard " + ", ".join(f"${tex(r)}$" for r in dropped) + ", which makes a denominator zero.")
    elif denominator.has(x):
        b.say("None of these makes a denominator zero.")
    if len(kept) != len(roots) or any(sp.simplify(a - c) != 0 for a, c in zip(kept, roots, strict=False)):
        raise DerivationError("the derivation does not reproduce the tool's solutions")
    if not kept:
        return b.done("\\emptyset")
    return b.done(", ".join(tex(r) for r in kept))


# --------------------------------------------------------------------------- systems by elimination


def _eliminate(b: Builder, equations: list[sp.Expr], variables: list[sp.Symbol]) -> dict[sp.Symbol, sp.Expr]:
    n = len(variables)
    rows = []
    for g in equations:
        coefficients = [g.coeff(v) for v in variables]
        constant = -(g - sum(c * v for c, v in zip(coefficients, variables, strict=True)))
        if sp.expand(constant).has(*variables) or len(equations) != n:
            raise DerivationError("not a square linear system")
        rows.append([*coefficients, sp.expand(constant)])
    solution = sp.solve([sp.Eq(sum(r[j] * variables[j] for j in range(n)), r[n]) for r in rows], variables, dict=True)
    if len(solution) != 1 or len(solution[0]) != n:
        raise DerivationError("the system has no unique solution")
    at = solution[0]

    def lhs(row: list[sp.Expr]) -> sp.Expr:
        return sum(row[j] * variables[j] for j in range(n))

    for i in range(n):
        pivot = next((r for r in range(i, n) if rows[r][i] != 0), None)
        if pivot is None:
            raise DerivationError("singular system")
        rows[i], rows[pivot] = rows[pivot], rows[i]
        for r in range(i + 1, n):
            if rows[r][i] == 0:
                continue
            factor = rows[r][i] / rows[i][i]
            rows[r] = [rows[r][j] - factor * rows[i][j] for j in range(n + 1)]
            b.say(f"Subtracting ${tex(factor)}$ times equation {i + 1} from equation {r + 1} eliminates ${variables[i]}$: "
                  + b.eq(lhs(rows[r]), rows[r][n], at=at) + ".")
    values: dict[sp.Symbol, sp.Expr] = {}
    for i in reversed(range(n)):
        rest = sum(rows[i][j] * values[variables[j]] for j in range(i + 1, n))
        value = (rows[i][n] - rest) / rows[i][i]
        known = f" (using {', '.join(f'${v} = {tex(values[v])}$' for v in variables[i + 1:])})" if i < n - 1 else ""
        b.say(f"From equation {i + 1}{known}: {b.eq(variables[i], value, at=at)}.")
        values[variables[i]] = value
    return values


def solve_linear_system(args: dict[str, Any], result: Any) -> Derivation:
    equations = [_equation(expr(e)) for e in args["equations"]]
    names = args.get("variables") or sorted({s.name for g in equations for s in g.free_symbols})
    variables = [symbol(v) for v in names]
    b = Builder("solve_linear_system")
    b.say("We solve the system " + ", ".join(f"${tex(sp.Eq(*_split(g, variables)))}$" for g in equations) + " by elimination.")
    values = _eliminate(b, equations, variables)
    if not isinstance(result, dict) or any(sp.simplify(expr(result[str(v)]) - values[v]) != 0 for v in variables):
        raise DerivationError("the derivation does not reproduce the tool's solution")
    return b.done(", ".join(f"{v} = {tex(values[v])}" for v in variables))


def _split(g: sp.Expr, variables: list[sp.Symbol]) -> tuple[sp.Expr, sp.Expr]:
    constant = g.as_independent(*variables, as_Add=True)[0]
    return g - constant, -constant


def line_intersection(args: dict[str, Any], result: Any) -> Derivation:
    x, y = sp.symbols("x y")
    lines = [_equation(expr(args["line1"])), _equation(expr(args["line2"]))]
    b = Builder("line_intersection")
    b.say("The intersection point satisfies both line equations: "
          + " and ".join(f"${tex(sp.Eq(*_split(g, [x, y])))}$" for g in lines) + ".")
    values = _eliminate(b, lines, [x, y])
    point = [expr(v) for v in result]
    if any(sp.simplify(p - values[v]) != 0 for p, v in zip(point, (x, y), strict=True)):
        raise DerivationError("the derivation does not reproduce the tool's point")
    return b.done(f"({tex(values[x])}, {tex(values[y])})")


# --------------------------------------------------------------------------- inequalities

_INTERVAL = re.compile(r"^Interval(?:\.(open|Lopen|Ropen))?\((.+), (.+)\)$")


def _interval(text: str) -> sp.Set:
    m = _INTERVAL.match(text.strip())
    if not m:
        raise DerivationError(f"cannot read the set {text!r}")
    kind, a, c = m.groups()
    return sp.Interval(expr(a), expr(c), left_open=kind in ("open", "Lopen"), right_open=kind in ("open", "Ropen"))


def _set_tex(s: sp.Set) -> str:
    if isinstance(s, sp.Interval):
        left = "(" if s.left_open else "["
        right = ")" if s.right_open else "]"
        return f"{left}{tex(s.start)}, {tex(s.end)}{right}"
    raise DerivationError("only single intervals are derived step by step")


def solve_univariate_inequality(args: dict[str, Any], result: Any) -> Derivation:
    relation = expr(args["inequality"])
    x = symbol(args.get("variable"))
    if not isinstance(relation, sp.core.relational.Relational) or isinstance(relation, sp.Equality):
        raise DerivationError("not a single inequality")
    expected = _interval(str(result["solution_set"]))
    strict = isinstance(relation, sp.StrictLessThan | sp.StrictGreaterThan)
    less = isinstance(relation, sp.StrictLessThan | sp.LessThan)
    g = relation.lhs - relation.rhs if less else relation.rhs - relation.lhs  # g < 0 (or <= 0)
    less_sign = "<" if strict else "\\le"
    b = Builder("solve_univariate_inequality")
    b.say(f"We solve ${tex(relation)}$ for real ${x}$.")
    absolutes = list(g.atoms(sp.Abs))
    scale = sp.expand(g).coeff(absolutes[0]) if len(absolutes) == 1 else 0
    if len(absolutes) == 1 and scale.is_number and scale > 0 and (sp.expand(g) - scale * absolutes[0]).is_number:
        inner, c = absolutes[0].args[0], -(sp.expand(g) - scale * absolutes[0]) / scale
        if not inner.is_polynomial(x) or sp.degree(inner, x) != 1 or c <= 0:
            raise DerivationError("not |linear| < c")
        if scale != 1:  # SymPy writes |2x| as 2|x|: divide it out first
            b.say(f"Dividing by ${tex(scale)}$: ${tex(absolutes[0])} {less_sign} {tex(c)}$.")
        b.say(f"An absolute value below ${tex(c)}$ means ${tex(-c)} {less_sign} {tex(inner)} {less_sign} {tex(c)}$.")
        ends = _sorted([sp.solve(sp.Eq(inner, -c), x)[0], sp.solve(sp.Eq(inner, c), x)[0]])
        for end, side in zip(ends, _sorted([-c, c]) if sp.Poly(inner, x).LC() > 0 else [c, -c], strict=True):
            b.say(f"The endpoint where ${tex(inner)} = {tex(side)}$ is {b.eq(inner, side, at={x: end})} at ${x} = {tex(end)}$.")
        found = sp.Interval(ends[0], ends[1], left_open=strict, right_open=strict)
    elif g.is_polynomial(x) and sp.degree(g, x) == 2:
        p = sp.Poly(g, x)
        roots = _sorted([r for r in sp.solve(g, x) if r.is_real])
        if len(roots) != 2 or p.LC() < 0:
            raise DerivationError("only an upward parabola below zero between two roots is derived")
        b.say(f"Bringing everything to one side: ${tex(sp.expand(g))} {less_sign} 0$.")
        b.say(f"The roots of ${tex(sp.expand(g))} = 0$ are " + " and ".join(b.eq(g, 0, lhs_tex=tex(sp.expand(g)), at={x: r}) + f" at ${x} = {tex(r)}$" for r in roots) + ".")
        b.say("The parabola opens upward, so it is negative strictly between its roots"
              + ("." if strict else " and zero at them."))
        found = sp.Interval(roots[0], roots[1], left_open=strict, right_open=strict)
    else:
        raise DerivationError("inequality form not derived step by step")
    if found != expected:
        raise DerivationError("the derivation does not reproduce the tool's solution set")
    return b.done(_set_tex(found))


# --------------------------------------------------------------------------- Vieta


def vieta_sums(args: dict[str, Any], result: Any) -> Derivation:
    x = symbol(args.get("variable"))
    poly = sp.Poly(expr(args["expression"]), x)
    if poly.degree() != 2 or not isinstance(result, dict):
        raise DerivationError("Vieta's formulas are derived for quadratics")
    a, bb, c = poly.all_coeffs()
    e1, e2 = -bb / a, c / a
    b = Builder("vieta_sums")
    b.say(f"For the quadratic ${tex(poly.as_expr())}$ with $a = {tex(a)}$, $b = {tex(bb)}$, $c = {tex(c)}$, Vieta's formulas give")
    A, B, C = sp.symbols("a b c")
    b.say(f"the sum of the roots {b.eq(-B / A, e1, at={'a': a, 'b': bb})} and their product {b.eq(C / A, e2, at={'a': a, 'c': c})}.")
    squares = e1**2 - 2 * e2
    shown = f"({tex(e1)})^2 - 2 \\cdot {tex(e2)}"
    b.say(f"The sum of the squares of the roots is $(r_1 + r_2)^2 - 2 r_1 r_2$: {b.eq(e1**2 - 2 * e2, squares, lhs_tex=shown)}.")
    mine = {"degree": 2, "e1": e1, "e2": e2, "sum_of_roots": e1, "sum_of_squares_of_roots": squares, "product_of_roots": e2}
    items = []
    for key, value in result.items():
        if key not in mine or sp.simplify(expr(value) - mine[key]) != 0:
            raise DerivationError(f"unexpected entry {key!r}")
        items.append(f"{key_words(key)} = {tex(mine[key])}")
    return b.done(", ".join(items))
