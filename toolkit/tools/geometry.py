"""Geometry: points, lines, circles, triangles, polygons and vectors in the plane and in space.

Points and vectors are lists of coordinates ([1, 2] or [1, 2, 3]); a line given to a tool is
an equation in x and y ("y = 2*x + 1", "3*x + 4*y - 5 = 0", "x = 3"); a circle is a center
and a radius. Results are exact (radicals, rationals, pi); angles come in radians and degrees.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sympy as sp

from toolkit.errors import tool_error
from toolkit.registry import Equation, Expression, Matrix, Vector, tool

X, Y = sp.Symbol("x"), sp.Symbol("y")

_POINT_HINT = 'Give a point as a list of 2 or 3 coordinates, e.g. ["1", "2"] or [0, 0, 1].'
_LINE_HINT = 'Write the line as an equation in x and y, e.g. "y = 2*x + 1", "3*x + 4*y - 5 = 0" or "x = 3".'
_SIMPLIFY_OPS = 12  # symbolic results with more operations get a cheaper tidy-up than simplify
_SIDES_HINT = "Check the side lengths: each must be positive and each less than the sum of the other two."


# ------------------------------------------------------------------------------- helpers


def _free_symbols(value: Any) -> set[sp.Symbol]:
    if isinstance(value, list | tuple):
        return set().union(*(_free_symbols(v) for v in value))
    return {s for s in getattr(value, "free_symbols", ()) if isinstance(s, sp.Symbol)}


def _replace(value: Any, mapping: dict[sp.Symbol, sp.Symbol]) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, mapping) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace(v, mapping) for v in value]
    return value.xreplace(mapping) if hasattr(value, "xreplace") else value


def _assuming(**assumptions: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run a tool with the symbols in its arguments taken as real (coordinates) or positive
    (lengths), so that sqrt(a**2) is Abs(a) or a; the result gets the caller's symbols back.
    x and y are left alone where a line equation is given: there they are its variables."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def run(**arguments: Any) -> Any:
            symbols = _free_symbols(list(arguments.values()))
            if any(isinstance(v, sp.Equality) for v in arguments.values()):
                symbols -= {X, Y}
            if not symbols:
                return func(**arguments)
            forward = {s: sp.Symbol(s.name, **assumptions) for s in symbols}
            back = {v: k for k, v in forward.items()}
            return _replace(func(**_replace(arguments, forward)), back)

        return run

    return decorate


def _tidy(expr: Any) -> Any:
    """A canonical, readable form: simplified, with rationalised denominators for numbers."""
    if isinstance(expr, list | tuple):
        return [_tidy(e) for e in expr]
    expr = sp.sympify(expr)
    if expr.is_Rational:
        return expr
    if expr.free_symbols:  # symbolic input: full simplify is slow, so only for small expressions
        if sp.count_ops(expr) <= _SIMPLIFY_OPS:
            return sp.simplify(expr)
        return sp.factor_terms(sp.cancel(expr)) if expr.is_rational_function() else expr
    return sp.radsimp(sp.sqrtdenest(sp.simplify(expr)))


def _sign(expr: sp.Expr) -> int | None:
    """-1, 0 or 1 when the sign of `expr` can be decided, None for undecidable (symbolic) input."""
    expr = sp.sympify(expr)
    if not expr.is_Rational:
        expr = sp.cancel(sp.expand(expr)) if expr.free_symbols else sp.simplify(expr)
    if expr.is_zero:
        return 0
    if expr.is_positive:
        return 1
    if expr.is_negative:
        return -1
    if not expr.free_symbols and expr.is_real is not False:
        value = expr.evalf(50)
        if value.is_comparable:
            if abs(value) < sp.Float("1e-40"):
                return 0 if expr.equals(0) else None
            return 1 if value > 0 else -1
    return None


def _is_zero(expr: sp.Expr) -> bool:
    return _sign(expr) == 0


def _coordinates(value: list, what: str) -> list[sp.Expr]:
    for v in value:
        if not isinstance(v, sp.Expr):
            raise tool_error(f"{what} has a coordinate that is not a number or expression: {v}", _POINT_HINT)
        if v.is_real is False or v.is_finite is False:
            raise tool_error(f"{what} has a coordinate that is not a finite real number: {v}", _POINT_HINT)
    return list(value)


def _point(value: list, what: str, dims: tuple[int, ...] = (2, 3)) -> list[sp.Expr]:
    point = _coordinates(value, what)
    if len(point) not in dims:
        allowed = " or ".join(f"{d}-D" for d in dims)
        raise tool_error(
            f"{what} has {len(point)} coordinates; this tool takes {allowed} points",
            _POINT_HINT if 3 in dims else 'Give a 2-D point such as ["1", "2"].',
        )
    return point


def _same_dimension(*points: list, names: tuple[str, ...]) -> None:
    dims = {len(p) for p in points}
    if len(dims) > 1:
        listed = ", ".join(f"{n} is {len(p)}-D" for n, p in zip(names, points, strict=True))
        raise tool_error(f"the points have different dimensions ({listed})", "Give all points in 2-D or all in 3-D.")


def _coincide(p: list, q: list) -> bool:
    return all(_is_zero(a - b) for a, b in zip(p, q, strict=True))


def _dot(u: list, v: list) -> sp.Expr:
    return sp.expand(sum((a * b for a, b in zip(u, v, strict=True)), sp.Integer(0)))


def _norm(u: list) -> sp.Expr:
    return sp.sqrt(_dot(u, u))


def _cross(u: list, v: list) -> list[sp.Expr]:
    return [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]


def _vectors(u: list, v: list) -> tuple[list[sp.Expr], list[sp.Expr]]:
    u, v = _coordinates(u, "u"), _coordinates(v, "v")
    if len(u) != len(v):
        raise tool_error(
            f"u has {len(u)} components but v has {len(v)}", "Give both vectors with the same number of components."
        )
    if len(u) < 2:
        raise tool_error("the vectors need at least 2 components", 'Example: u = [1, 2], v = [3, 4].')
    return u, v


def _line(equation: sp.Basic, what: str) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """The coefficients (a, b, c) of a line a*x + b*y + c = 0 given as an equation in x and y."""
    expr = sp.expand(equation.lhs - equation.rhs)
    a, b = sp.expand(sp.diff(expr, X)), sp.expand(sp.diff(expr, Y))
    if a.has(X, Y) or b.has(X, Y):
        raise tool_error(
            f"{what} is not a straight line: {equation.lhs} = {equation.rhs} is not linear in x and y",
            _LINE_HINT + " For circles use line_circle_intersection.",
        )
    if _is_zero(a) and _is_zero(b):
        raise tool_error(f"{what} does not contain x or y: {equation.lhs} = {equation.rhs}", _LINE_HINT)
    c = sp.expand(expr - a * X - b * Y)
    return a, b, c


def _normalise_line(a: sp.Expr, b: sp.Expr, c: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """Scale a*x + b*y + c = 0 to coprime integers where possible, with a (or b) positive."""
    coeffs = [sp.nsimplify(k) if k.is_Float else k for k in (a, b, c)]
    if all(k.is_Rational for k in coeffs):
        denominator = sp.ilcm(*(k.q for k in coeffs))
        ints = [int(k * denominator) for k in coeffs]
        divisor = sp.igcd(*ints) or 1
        coeffs = [sp.Integer(k // divisor) for k in ints]
    else:
        coeffs = [_tidy(k) for k in coeffs]
    lead = coeffs[0] if not _is_zero(coeffs[0]) else coeffs[1]
    if _sign(lead) == -1 or (_sign(lead) is None and lead.could_extract_minus_sign()):
        coeffs = [-k for k in coeffs]
    return coeffs[0], coeffs[1], coeffs[2]


def _angle(radians: sp.Expr) -> dict[str, Any]:
    """An angle as {"radians", "degrees"}, plus a decimal when the degrees are irrational."""
    if radians.free_symbols:  # symbolic: simplifying acos(...) rarely helps and is slow
        return {"radians": radians, "degrees": radians * 180 / sp.pi}
    radians = _tidy(radians)
    degrees = _tidy(radians * 180 / sp.pi)
    result: dict[str, Any] = {"radians": radians, "degrees": degrees}
    if not degrees.is_Rational and not degrees.free_symbols:
        result["degrees_approx"] = round(float(degrees.evalf(20)), 6)
    return result


def _acos(cosine: sp.Expr) -> sp.Expr:
    return sp.acos(_tidy(cosine))


def _check_sides(a: sp.Expr, b: sp.Expr, c: sp.Expr) -> None:
    for name, side in (("a", a), ("b", b), ("c", c)):
        if side.is_real is False or side.is_finite is False:
            raise tool_error(f"side {name} = {side} is not a finite real number", _SIDES_HINT)
        if _sign(side) in (-1, 0):
            raise tool_error(f"side {name} = {side} is not positive", _SIDES_HINT)
    for name, side, others in (("a", a, b + c), ("b", b, a + c), ("c", c, a + b)):
        gap = _sign(others - side)
        if gap == -1:
            raise tool_error(
                f"no triangle has sides {a}, {b}, {c}: {name} = {side} is longer than the other two together",
                _SIDES_HINT,
            )
        if gap == 0:
            raise tool_error(
                f"sides {a}, {b}, {c} give a degenerate (flat) triangle: {name} equals the sum of the other two",
                "A triangle needs each side strictly less than the sum of the other two (its area would be 0).",
            )


def _sixteen_area_squared(a: sp.Expr, b: sp.Expr, c: sp.Expr) -> sp.Expr:
    """16 * area**2 by Heron's formula, written in the squares of the sides (exact for radicals)."""
    a2, b2, c2 = sp.expand(a**2), sp.expand(b**2), sp.expand(c**2)
    product = sp.expand(2 * (a2 * b2 + b2 * c2 + c2 * a2) - a2**2 - b2**2 - c2**2)
    if not product.free_symbols:
        return product
    return (a + b + c) * (-a + b + c) * (a - b + c) * (a + b - c)


def _heron_root(a: sp.Expr, b: sp.Expr, c: sp.Expr) -> sp.Expr:
    """sqrt(16 * area**2), with symbolic factors under one square root (SymPy splits the root of
    a product of positive factors into several; over plain symbols it stays whole, and _assuming
    maps the positive symbols back to plain ones anyway)."""
    root = sp.sqrt(_sixteen_area_squared(a, b, c))
    outside, inside = [], []
    for factor in sp.Mul.make_args(root):
        is_root = factor.is_Pow and factor.exp == sp.S.Half and factor.free_symbols
        (inside if is_root else outside).append(factor.base if is_root else factor)
    if len(inside) <= 1:
        return root
    under = sp.Mul(*inside)
    return sp.Mul(*outside) * sp.sqrt(under.xreplace({s: sp.Symbol(s.name) for s in under.free_symbols}))


def _tidy_sides(value: sp.Expr) -> sp.Expr:
    """Tidy a result from side lengths; symbolic ones stay in Heron's factored form."""
    return value if value.free_symbols else _tidy(value)


def _equation_text(lhs: sp.Expr, rhs: sp.Expr) -> str:
    return f"{sp.sstr(lhs)} = {sp.sstr(rhs)}"


def _slope_intercept_text(m: sp.Expr, intercept: sp.Expr) -> str:
    """ "y = m*x + b" with the x term first (SymPy would print "y = 3 - 2*x")."""
    if _is_zero(m):
        return f"y = {sp.sstr(intercept)}"
    if _is_zero(intercept):
        return f"y = {sp.sstr(m * X)}"
    if intercept.could_extract_minus_sign():
        return f"y = {sp.sstr(m * X)} - {sp.sstr(-intercept)}"
    return f"y = {sp.sstr(m * X)} + {sp.sstr(intercept)}"


def _sort_points(points: list[list[sp.Expr]]) -> list[list[sp.Expr]]:
    if all(not c.free_symbols for p in points for c in p):
        return sorted(points, key=lambda p: tuple(float(c.evalf(20)) for c in p))
    return points


# --------------------------------------------------------------------------------- points


@tool("geometry")
@_assuming(real=True)
def distance(point1: Vector, point2: Vector) -> sp.Expr:
    """The Euclidean distance between two points in the plane or in space.

    Args:
        point1: The first point, 2-D or 3-D, e.g. ["1", "2"] or [0, 0, 0].
        point2: The second point, with the same number of coordinates, e.g. ["4", "6"].
    """
    p, q = _point(point1, "point1"), _point(point2, "point2")
    _same_dimension(p, q, names=("point1", "point2"))
    return _tidy(sp.sqrt(sum(((a - b) ** 2 for a, b in zip(p, q, strict=True)), sp.Integer(0))))


@tool("geometry")
@_assuming(real=True)
def midpoint(point1: Vector, point2: Vector) -> list:
    """The midpoint of the segment between two points, 2-D or 3-D.

    Args:
        point1: One endpoint, e.g. ["1", "2"] or [0, 0, 0].
        point2: The other endpoint, with the same number of coordinates.
    """
    p, q = _point(point1, "point1"), _point(point2, "point2")
    _same_dimension(p, q, names=("point1", "point2"))
    return [_tidy((a + b) / 2) for a, b in zip(p, q, strict=True)]


@tool("geometry")
@_assuming(real=True)
def slope(point1: Vector, point2: Vector) -> sp.Expr:
    """The slope (rise over run) of the line through two points in the plane.

    Args:
        point1: A 2-D point on the line, e.g. ["1", "2"].
        point2: Another 2-D point on the line, e.g. ["3", "8"].
    """
    (x1, y1), (x2, y2) = _point(point1, "point1", (2,)), _point(point2, "point2", (2,))
    if _is_zero(x2 - x1):
        if _is_zero(y2 - y1):
            raise tool_error("the two points coincide, so they do not determine a line", "Give two different points.")
        raise tool_error(
            f"the line through the points is vertical (x = {_tidy(x1)}): its slope is undefined",
            f"The line is x = {_tidy(x1)}; use line_through_points for its equation.",
        )
    return _tidy((y2 - y1) / (x2 - x1))


# ---------------------------------------------------------------------------------- lines


@tool("geometry")
@_assuming(real=True)
def line_through_points(point1: Vector, point2: Vector) -> dict:
    """The line through two points in the plane: "y = m*x + b" (or "x = c" when vertical), its slope and y-intercept, and the general form a*x + b*y + c = 0 with its coefficients.

    Args:
        point1: A 2-D point on the line, e.g. ["1", "3"].
        point2: Another, different 2-D point on the line, e.g. ["2", "5"].
    """
    p, q = _point(point1, "point1", (2,)), _point(point2, "point2", (2,))
    if _coincide(p, q):
        raise tool_error("the two points coincide, so they do not determine a line", "Give two different points.")
    (x1, y1), (x2, y2) = p, q
    a, b, c = _normalise_line(y2 - y1, x1 - x2, x2 * y1 - x1 * y2)
    general = f"{sp.sstr(a * X + b * Y + c)} = 0"
    coefficients = {"a": a, "b": b, "c": c}
    if _is_zero(x2 - x1):
        xc = _tidy(x1)
        return {
            "equation": _equation_text(X, xc),
            "slope": "undefined (vertical line)",
            "x_intercept": xc,
            "general_form": general,
            "coefficients": coefficients,
        }
    m = _tidy((y2 - y1) / (x2 - x1))
    intercept = _tidy(y1 - m * x1)
    return {
        "equation": _slope_intercept_text(m, intercept),
        "slope": m,
        "y_intercept": intercept,
        "general_form": general,
        "coefficients": coefficients,
    }


@tool("geometry")
@_assuming(real=True)
def line_intersection(line1: Equation, line2: Equation) -> list:
    """The point [x, y] where two lines in the plane meet.

    Args:
        line1: The first line as an equation in x and y, e.g. "y = 2*x + 1" or "x + y = 4".
        line2: The second line as an equation in x and y, e.g. "3*x - y = 2" or "x = 3".
    """
    a1, b1, c1 = _line(line1, "line1")
    a2, b2, c2 = _line(line2, "line2")
    det = sp.expand(a1 * b2 - a2 * b1)
    if _is_zero(det):
        if _is_zero(a1 * c2 - a2 * c1) and _is_zero(b1 * c2 - b2 * c1):
            raise tool_error(
                "the two equations describe the same line, so every point of it is common",
                "The lines coincide: there is no single intersection point.",
            )
        raise tool_error(
            "the lines are parallel (same slope, different intercepts) and never meet",
            "Parallel lines have no intersection; check the equations.",
        )
    return [_tidy((b1 * c2 - b2 * c1) / det), _tidy((a2 * c1 - a1 * c2) / det)]


@tool("geometry")
@_assuming(real=True)
def point_line_distance(point: Vector, line: Equation) -> dict:
    """The perpendicular distance from a point to a line in the plane, and the foot of the perpendicular (the closest point of the line).

    Args:
        point: A 2-D point, e.g. ["1", "2"].
        line: The line as an equation in x and y, e.g. "3*x + 4*y - 5 = 0" or "y = 2*x + 1".
    """
    x0, y0 = _point(point, "point", (2,))
    a, b, c = _line(line, "line")
    value = a * x0 + b * y0 + c
    norm2 = sp.expand(a**2 + b**2)
    return {
        "distance": _tidy(sp.Abs(value) / sp.sqrt(norm2)),
        "foot_of_perpendicular": [_tidy(x0 - a * value / norm2), _tidy(y0 - b * value / norm2)],
    }


# -------------------------------------------------------------------------------- circles


@tool("geometry")
@_assuming(real=True)
def line_circle_intersection(line: Equation, center: Vector, radius: Expression) -> dict:
    """Where a line meets a circle: the relation ("secant": 2 points, "tangent": 1 point, "none": 0 points), the intersection points and the distance from the center to the line.

    Args:
        line: The line as an equation in x and y, e.g. "y = x + 1" or "x = 2".
        center: The circle's center, a 2-D point, e.g. ["0", "0"].
        radius: The circle's radius, a positive number, e.g. "5" or "sqrt(2)".
    """
    h, k = _point(center, "center", (2,))
    if radius.is_real is False or radius.is_finite is False or _sign(radius) in (-1, 0):
        raise tool_error(f"the radius {radius} is not a positive real number", "Give a positive radius, e.g. 5.")
    a, b, c = _line(line, "line")
    value = a * h + b * k + c
    norm2 = sp.expand(a**2 + b**2)
    excess = sp.expand(radius**2 * norm2 - value**2)  # (r**2 - d**2) * (a**2 + b**2)
    relation = _sign(excess)
    if relation is None:
        raise tool_error(
            "cannot decide whether the line meets the circle for symbolic values",
            "Give numeric values for the line's coefficients, the center and the radius.",
        )
    d = _tidy(sp.Abs(value) / sp.sqrt(norm2))
    if relation == -1:
        return {"relation": "none", "points": [], "distance_from_center": d}
    foot = [h - a * value / norm2, k - b * value / norm2]
    if relation == 0:
        return {"relation": "tangent", "points": [_tidy(foot)], "distance_from_center": d}
    step = sp.sqrt(excess) / norm2  # half-chord length divided by |(a, b)|
    points = [_tidy([foot[0] - s * b * step, foot[1] + s * a * step]) for s in (1, -1)]
    return {"relation": "secant", "points": _sort_points(points), "distance_from_center": d}


@tool("geometry")
@_assuming(real=True)
def circle_through_points(point1: Vector, point2: Vector, point3: Vector) -> dict:
    """The circle through three points in the plane (the circumcircle): its center, radius, equation "(x - h)**2 + (y - k)**2 = r**2" and general form.

    Args:
        point1: A 2-D point on the circle, e.g. ["0", "0"].
        point2: A second 2-D point on the circle, e.g. ["4", "0"].
        point3: A third 2-D point on the circle, not collinear with the other two, e.g. ["0", "3"].
    """
    points = [_point(p, f"point{i}", (2,)) for i, p in enumerate((point1, point2, point3), start=1)]
    for i, j in ((0, 1), (0, 2), (1, 2)):
        if _coincide(points[i], points[j]):
            raise tool_error(
                f"point{i + 1} and point{j + 1} coincide, so the circle is not determined",
                "Give three different points, not on one line.",
            )
    (x1, y1), (x2, y2), (x3, y3) = points
    det = sp.expand(2 * (x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2)))
    if _is_zero(det):
        raise tool_error(
            "the three points are collinear, so no circle passes through them",
            "Give three points that are not on one line.",
        )
    s1, s2, s3 = x1**2 + y1**2, x2**2 + y2**2, x3**2 + y3**2
    h = _tidy((s1 * (y2 - y3) + s2 * (y3 - y1) + s3 * (y1 - y2)) / det)
    k = _tidy((s1 * (x3 - x2) + s2 * (x1 - x3) + s3 * (x2 - x1)) / det)
    r2 = _tidy((x1 - h) ** 2 + (y1 - k) ** 2)
    return {
        "center": [h, k],
        "radius": _tidy(sp.sqrt(r2)),
        "equation": _equation_text((X - h) ** 2 + (Y - k) ** 2, r2),
        "general_form": f"{sp.sstr(sp.expand((X - h) ** 2 + (Y - k) ** 2 - r2))} = 0",
    }


# ------------------------------------------------------------------------------ triangles


@tool("geometry")
@_assuming(real=True)
def triangle_area_from_vertices(vertex1: Vector, vertex2: Vector, vertex3: Vector) -> sp.Expr:
    """The area of a triangle from the coordinates of its three vertices, in the plane or in space. Collinear vertices give 0.

    Args:
        vertex1: The first vertex, 2-D or 3-D, e.g. ["0", "0"].
        vertex2: The second vertex, same dimension, e.g. ["3", "0"].
        vertex3: The third vertex, same dimension, e.g. ["0", "4"].
    """
    a, b, c = (_point(v, f"vertex{i}") for i, v in enumerate((vertex1, vertex2, vertex3), start=1))
    _same_dimension(a, b, c, names=("vertex1", "vertex2", "vertex3"))
    u = [q - p for p, q in zip(a, b, strict=True)]
    v = [q - p for p, q in zip(a, c, strict=True)]
    if len(a) == 2:
        return _tidy(sp.Abs(sp.expand(u[0] * v[1] - u[1] * v[0])) / 2)
    return _tidy(_norm(_cross(u, v)) / 2)


@tool("geometry")
@_assuming(positive=True)
def triangle_area_from_sides(a: Expression, b: Expression, c: Expression) -> sp.Expr:
    """The area of a triangle from its three side lengths (Heron's formula).

    Args:
        a: The length of the first side, e.g. "3".
        b: The length of the second side, e.g. "4".
        c: The length of the third side, e.g. "5".
    """
    _check_sides(a, b, c)
    return _tidy_sides(_heron_root(a, b, c) / 4)


@tool("geometry")
@_assuming(positive=True)
def triangle_angles_from_sides(a: Expression, b: Expression, c: Expression) -> dict:
    """The three angles of a triangle from its side lengths (law of cosines): A opposite a, B opposite b, C opposite c, each in radians and degrees, and whether the triangle is acute, right or obtuse.

    Args:
        a: The length of side a (opposite angle A), e.g. "3".
        b: The length of side b (opposite angle B), e.g. "4".
        c: The length of side c (opposite angle C), e.g. "5".
    """
    _check_sides(a, b, c)
    cosines = {
        "A": (b**2 + c**2 - a**2) / (2 * b * c),
        "B": (a**2 + c**2 - b**2) / (2 * a * c),
        "C": (a**2 + b**2 - c**2) / (2 * a * b),
    }
    result: dict[str, Any] = {name: _angle(_acos(cos)) for name, cos in cosines.items()}
    signs = [_sign(cos) for cos in cosines.values()]
    if None not in signs:
        result["classification"] = "right" if 0 in signs else "obtuse" if -1 in signs else "acute"
    return result


@tool("geometry")
@_assuming(positive=True)
def circumradius(a: Expression, b: Expression, c: Expression) -> sp.Expr:
    """The radius of the circumscribed circle of a triangle from its three side lengths, R = a*b*c/(4*area).

    Args:
        a: The length of the first side, e.g. "3".
        b: The length of the second side, e.g. "4".
        c: The length of the third side, e.g. "5".
    """
    _check_sides(a, b, c)
    return _tidy_sides(a * b * c / _heron_root(a, b, c))


@tool("geometry")
@_assuming(positive=True)
def inradius(a: Expression, b: Expression, c: Expression) -> sp.Expr:
    """The radius of the inscribed circle of a triangle from its three side lengths, r = area/s with s the semi-perimeter.

    Args:
        a: The length of the first side, e.g. "3".
        b: The length of the second side, e.g. "4".
        c: The length of the third side, e.g. "5".
    """
    _check_sides(a, b, c)
    return _tidy_sides(_heron_root(a, b, c) / (2 * (a + b + c)))


# ------------------------------------------------------------------------------- polygons


def _screen_sign(exact: bool) -> Any:
    """A sign function for the simplicity check: exact for rationals, a tolerance for radicals."""

    def sign(value: sp.Expr) -> int:
        if exact:
            return int(sp.sign(value))
        return 0 if abs(value) < sp.Float("1e-25") else (1 if value > 0 else -1)

    return sign


def _segments_meet(sign: Any, p1: list, p2: list, q1: list, q2: list) -> bool:
    def orient(p: list, q: list, r: list) -> int:
        return sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    def between(p: list, q: list, r: list) -> bool:  # r, collinear with pq, lies on the segment pq
        return sign((r[0] - p[0]) * (r[0] - q[0]) + (r[1] - p[1]) * (r[1] - q[1])) <= 0

    o = [orient(p1, p2, q1), orient(p1, p2, q2), orient(q1, q2, p1), orient(q1, q2, p2)]
    if o[0] * o[1] < 0 and o[2] * o[3] < 0:
        return True
    triples = ((p1, p2, q1), (p1, p2, q2), (q1, q2, p1), (q1, q2, p2))
    return any(s == 0 and between(*t) for s, t in zip(o, triples, strict=True))


def _check_simple(vertices: list[list[sp.Expr]]) -> None:
    """Refuse repeated vertices, edges that double back on themselves and crossing edges."""
    if any(c.free_symbols for v in vertices for c in v):
        return  # symbolic coordinates: the order is taken on trust
    exact = all(c.is_Rational for v in vertices for c in v)
    sign = _screen_sign(exact)
    pts = vertices if exact else [[sp.Float(c.evalf(40), 40) for c in v] for v in vertices]
    n = len(pts)
    for i in range(n):
        prev, here, nxt = pts[i - 1], pts[i], pts[(i + 1) % n]
        if sign(here[0] - nxt[0]) == 0 and sign(here[1] - nxt[1]) == 0:
            raise tool_error(
                f"vertices {i + 1} and {(i + 1) % n + 1} are the same point",
                "List each vertex once, in order around the boundary.",
            )
        u = (prev[0] - here[0], prev[1] - here[1])
        w = (nxt[0] - here[0], nxt[1] - here[1])
        if sign(u[0] * w[1] - u[1] * w[0]) == 0 and sign(u[0] * w[0] + u[1] * w[1]) == 1:
            raise tool_error(
                f"the boundary doubles back on itself at vertex {i + 1} (its two edges overlap)",
                "Give the vertices of a simple polygon, at least 3 not on one line, in order around its boundary.",
            )
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            if _segments_meet(sign, pts[i], pts[i + 1], pts[j], pts[(j + 1) % n]):
                raise tool_error(
                    f"edges {i + 1} and {j + 1} of the polygon cross or touch, so it is not simple",
                    "List the vertices in order around the boundary (clockwise or counterclockwise).",
                )


@tool("geometry")
@_assuming(real=True)
def polygon_area(vertices: Matrix) -> dict:
    """The area of a simple polygon from its vertices listed in order around the boundary (shoelace formula), with its orientation and perimeter.

    Args:
        vertices: The 2-D vertices in order (clockwise or counterclockwise), at least 3, e.g. [["0", "0"], ["1", "0"], ["1", "1"], ["0", "1"]]. A copy of the first vertex at the end is ignored.
    """
    rows = vertices.tolist()
    if vertices.cols != 2:
        raise tool_error(
            f"each vertex must have 2 coordinates, got {vertices.cols}",
            'Pass a list of 2-D points, e.g. [["0", "0"], ["1", "0"], ["1", "1"]].',
        )
    points = [_coordinates(row, f"vertex {i}") for i, row in enumerate(rows, start=1)]
    if len(points) > 3 and _coincide(points[0], points[-1]):
        points = points[:-1]  # the first vertex repeated to close the polygon
    if len(points) < 3:
        raise tool_error(
            f"a polygon needs at least 3 vertices, got {len(points)}",
            'Pass the vertices in order, e.g. [["0", "0"], ["1", "0"], ["0", "1"]].',
        )
    _check_simple(points)
    n = len(points)
    twice = sp.expand(sum(
        (points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1] for i in range(n)),
        sp.Integer(0),
    ))
    orientation = _sign(twice)
    if orientation == 0:
        raise tool_error(
            "the polygon has zero area: all its vertices lie on one line",
            "Give the vertices of a genuine polygon, in order around its boundary.",
        )
    perimeter = sum(
        (sp.sqrt(sum(((points[(i + 1) % n][t] - points[i][t]) ** 2 for t in (0, 1)), sp.Integer(0))) for i in range(n)),
        sp.Integer(0),
    )
    area = sp.Abs(twice) / 2 if orientation is None else orientation * twice / 2
    result: dict[str, Any] = {"area": _tidy(area)}
    if orientation is not None:
        result["orientation"] = "counterclockwise" if orientation == 1 else "clockwise"
    result["perimeter"] = _tidy(perimeter)
    return result


# -------------------------------------------------------------------------------- vectors


@tool("geometry")
@_assuming(real=True)
def angle_between_vectors(u: Vector, v: Vector) -> dict:
    """The angle between two nonzero vectors, from 0 to pi, in radians and degrees, with its cosine.

    Args:
        u: The first vector, e.g. ["1", "0"] or [1, 2, 2].
        v: The second vector, with the same number of components, e.g. ["1", "1"].
    """
    u, v = _vectors(u, v)
    for name, w in (("u", u), ("v", v)):
        if all(_is_zero(c) for c in w):
            raise tool_error(f"{name} is the zero vector, which makes no angle", "Give two nonzero vectors.")
    cosine = _tidy(_dot(u, v) / (_norm(u) * _norm(v)))
    result = _angle(sp.acos(cosine))
    result["cosine"] = cosine
    return result


@tool("geometry")
@_assuming(real=True)
def vector_projection(u: Vector, v: Vector) -> dict:
    """The projection of u onto v: the vector projection (u.v/|v|**2)*v, the scalar component u.v/|v|, and the part of u orthogonal to v.

    Args:
        u: The vector to project, e.g. ["3", "4"] or [1, 2, 3].
        v: The nonzero vector to project onto, with the same number of components, e.g. ["1", "0"].
    """
    u, v = _vectors(u, v)
    vv = _dot(v, v)
    if all(_is_zero(c) for c in v):
        raise tool_error("v is the zero vector, so there is no direction to project onto", "Give a nonzero v.")
    factor = _dot(u, v) / vv
    projection = [_tidy(factor * c) for c in v]
    return {
        "projection": projection,
        "scalar_projection": _tidy(_dot(u, v) / sp.sqrt(vv)),
        "orthogonal_component": [_tidy(a - p) for a, p in zip(u, projection, strict=True)],
    }
