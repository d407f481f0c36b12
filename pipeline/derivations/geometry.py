"""Distance, Heron's formula, the shoelace formula, circumradius and inradius."""

from __future__ import annotations

from typing import Any

import sympy as sp

from pipeline.derivations.base import (
    Builder,
    Derivation,
    DerivationError,
    expr,
    spelled_sum,
    tex,
    worked,
)


def _point(value: Any) -> list[sp.Expr]:
    point = expr(value)
    if not isinstance(point, list) or len(point) not in (2, 3):
        raise DerivationError("expected a point [x, y]")
    return point


def _check(value: sp.Expr, result: Any) -> None:
    if sp.simplify(value - expr(result)) != 0:
        raise DerivationError("the derivation does not reproduce the tool's result")


def distance(args: dict[str, Any], result: Any) -> Derivation:
    p, q = _point(args["point1"]), _point(args["point2"])
    b = Builder("distance")
    squares = [(a - c) ** 2 for a, c in zip(q, p, strict=True)]
    inside = sum(squares)
    value = sp.sqrt(inside)
    b.say(f"The distance between $({', '.join(map(tex, p))})$ and $({', '.join(map(tex, q))})$ is the square root of the sum of the squared coordinate differences.")
    shown = " + ".join(f"({tex(a)} - ({tex(c)}))^2" for a, c in zip(q, p, strict=True))
    b.say("The sum of squares: " + b.eq(inside, sum(squares), lhs_tex=shown, rhs_tex=" + ".join(map(tex, squares)) + f" = {tex(inside)}") + ".")
    b.say("So " + b.eq(sp.sqrt(inside), value, lhs_tex=f"d = \\sqrt{{{tex(inside)}}}") + ".")
    _check(value, result)
    return b.done(tex(value))


def _heron(b: Builder, a: sp.Expr, c: sp.Expr, d: sp.Expr) -> sp.Expr:
    s = (a + c + d) / 2
    b.say("The semi-perimeter is " + b.eq(sp.Symbol("s"), s, lhs_tex="s", rhs_tex=f"\\frac{{{tex(a)} + {tex(c)} + {tex(d)}}}{{2}} = {tex(s)}", at={"s": s}) + ".")
    product = s * (s - a) * (s - c) * (s - d)
    area = sp.sqrt(product)
    b.say("By Heron's formula, " + b.eq(sp.sqrt(product), area,
          lhs_tex=f"K = \\sqrt{{s(s-a)(s-b)(s-c)}} = \\sqrt{{{tex(s)} \\cdot {tex(s - a)} \\cdot {tex(s - c)} \\cdot {tex(s - d)}}} = \\sqrt{{{tex(product)}}}") + ".")
    return area


def _sides(args: dict[str, Any]) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    a, c, d = (expr(args[k]) for k in ("a", "b", "c"))
    if not all(v.is_positive for v in (a, c, d)):
        raise DerivationError("sides must be positive numbers")
    return a, c, d


def triangle_area_from_sides(args: dict[str, Any], result: Any) -> Derivation:
    a, c, d = _sides(args)
    b = Builder("triangle_area_from_sides")
    b.say(f"We find the area of the triangle with sides ${tex(a)}$, ${tex(c)}$, ${tex(d)}$.")
    area = _heron(b, a, c, d)
    _check(area, result)
    return b.done(tex(area))


def circumradius(args: dict[str, Any], result: Any) -> Derivation:
    a, c, d = _sides(args)
    b = Builder("circumradius")
    b.say(f"The circumradius of a triangle is $R = \\frac{{abc}}{{4K}}$; first the area $K$ of the triangle with sides ${tex(a)}$, ${tex(c)}$, ${tex(d)}$.")
    area = _heron(b, a, c, d)
    value = sp.radsimp(a * c * d / (4 * area))
    b.say("Then " + b.eq(a * c * d / (4 * area), value, lhs_tex=f"R = \\frac{{{tex(a)} \\cdot {tex(c)} \\cdot {tex(d)}}}{{4 \\cdot {tex(area)}}}") + ".")
    _check(value, result)
    return b.done(tex(value))


def inradius(args: dict[str, Any], result: Any) -> Derivation:
    a, c, d = _sides(args)
    b = Builder("inradius")
    b.say(f"The inradius is $r = \\frac{{K}}{{s}}$ (area over semi-perimeter) for the triangle with sides ${tex(a)}$, ${tex(c)}$, ${tex(d)}$.")
    area = _heron(b, a, c, d)
    s = (a + c + d) / 2
    value = sp.radsimp(area / s)
    b.say("Then " + b.eq(area / s, value, lhs_tex=f"r = \\frac{{{tex(area)}}}{{{tex(s)}}}") + ".")
    _check(value, result)
    return b.done(tex(value))


def triangle_area_from_vertices(args: dict[str, Any], result: Any) -> Derivation:
    (x1, y1), (x2, y2), (x3, y3) = (_point(args[k])[:2] for k in ("vertex1", "vertex2", "vertex3"))
    b = Builder("triangle_area_from_vertices")
    inner = x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2)
    b.say("By the shoelace formula, $K = \\frac{1}{2}\\left|x_1(y_2 - y_3) + x_2(y_3 - y_1) + x_3(y_1 - y_2)\\right|$.")
    shown = f"{tex(x1)}({tex(y2)} - ({tex(y3)})) + {tex(x2)}({tex(y3)} - ({tex(y1)})) + {tex(x3)}({tex(y1)} - ({tex(y2)}))"
    differences = f"{tex(x1)}({tex(y2 - y3)}) + {tex(x2)}({tex(y3 - y1)}) + {tex(x3)}({tex(y1 - y2)})"
    products = spelled_sum([x1 * (y2 - y3), x2 * (y3 - y1), x3 * (y1 - y2)])
    b.say("The bracket is " + b.eq(inner, inner, lhs_tex=worked(shown, differences, products)) + ".")
    value = sp.Abs(inner) / 2
    b.say("So " + b.eq(sp.Abs(inner) / 2, value, lhs_tex=f"K = \\frac{{1}}{{2}}\\left|{tex(inner)}\\right|") + ".")
    _check(value, result)
    return b.done(tex(value))
