"""Calculus: derivatives, integrals, series, limits, critical points, extrema, sums and products."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic
import sympy as sp
from sympy.calculus.util import continuous_domain
from sympy.core.sorting import default_sort_key

from toolkit.errors import tool_error
from toolkit.registry import Expression, Symbol, tool
from toolkit.tools.algebra import free_symbol

Order = Annotated[int, pydantic.Field(ge=1, le=50)]
SeriesOrder = Annotated[int, pydantic.Field(ge=1, le=30)]

_SIMPLIFY_MAX_OPS = 200  # larger results are returned as computed: simplify can take very long


def _tidy(value: sp.Basic) -> sp.Basic:
    """Simplify a result when that is cheap enough to be worth it."""
    if not isinstance(value, sp.Expr) or sp.count_ops(value) > _SIMPLIFY_MAX_OPS:
        return value
    return sp.simplify(value)


def _as_real(expression: sp.Basic, variable: sp.Symbol) -> tuple[sp.Basic, sp.Symbol]:
    """The expression in a real copy of the variable (|x|' = sign(x), not a complex derivative)."""
    real = sp.Symbol(variable.name, real=True)
    return expression.xreplace({variable: real}), real


def _back(value: Any, real: sp.Symbol, variable: sp.Symbol) -> Any:
    """Undo `_as_real` in a result."""
    if isinstance(value, sp.Basic):
        return value.xreplace({real: variable})
    return value


def _is_undefined(value: sp.Basic) -> bool:
    return value.has(sp.nan, sp.zoo) or isinstance(value, sp.AccumBounds)


def _no_variable_in(variable: sp.Symbol, **bounds: sp.Basic) -> None:
    for name, value in bounds.items():
        if variable in value.free_symbols:
            raise tool_error(
                f"'{name}' ({value}) contains the variable {variable}",
                f"'{name}' must be a number or an expression in other symbols, not in {variable}.",
            )


def _finite_real_number(value: sp.Basic, name: str) -> sp.Basic:
    if value.free_symbols or not (value.is_extended_real and value.is_finite):
        raise tool_error(
            f"'{name}' must be a finite real number, got {value}",
            f"Pass a number such as 0, -2, 1/2 or pi for '{name}'.",
        )
    return value


@tool("calculus")
def differentiate(expression: Expression, variable: Symbol | None = None, order: Order = 1) -> sp.Basic:
    """Differentiate an expression with respect to a variable (the variable is treated as real).

    Args:
        expression: The expression to differentiate, e.g. "x**2*sin(x)".
        variable: The variable to differentiate with respect to (needed only with several symbols).
        order: How many times to differentiate: 1 for f', 2 for f'', ... (default 1).
    """
    x = free_symbol(expression, variable)
    f, xr = _as_real(expression, x)
    return _back(_tidy(sp.diff(f, xr, order)), xr, x)


@tool("calculus")
def integrate(expression: Expression, variable: Symbol | None = None) -> sp.Basic:
    """Indefinite integral (antiderivative) of an expression; the constant of integration (+C) is omitted.

    Args:
        expression: The integrand, e.g. "x*exp(x)" or "1/(x**2 + 1)".
        variable: The variable of integration (needed only with several symbols).
    """
    x = free_symbol(expression, variable)
    f, xr = _as_real(expression, x)
    result = sp.integrate(f, xr)
    if result.has(sp.Integral):
        raise tool_error(
            f"no closed-form antiderivative of {expression} was found",
            "The antiderivative may not be elementary; for a number use definite_integral with bounds.",
        )
    return _back(_tidy(result), xr, x)


@tool("calculus")
def definite_integral(expression: Expression, variable: Symbol, lower: Expression, upper: Expression) -> sp.Basic:
    """Definite integral of an expression between two bounds; improper integrals (bounds oo or -oo, or singular integrands) are allowed. A divergent integral gives oo or -oo, or an error when it has no value.

    Args:
        expression: The integrand, e.g. "x**2" or "exp(-x)".
        variable: The variable of integration, e.g. "x".
        lower: The lower bound, e.g. "0", "-1" or "-oo".
        upper: The upper bound, e.g. "1", "pi" or "oo".
    """
    _no_variable_in(variable, lower=lower, upper=upper)
    f, xr = _as_real(expression, variable)
    result = sp.integrate(f, (xr, lower, upper))
    if isinstance(result, sp.AccumBounds):
        raise tool_error(
            f"the integral of {expression} from {lower} to {upper} does not converge "
            f"(it oscillates between {result.min} and {result.max})",
            "The improper integral has no value; check the bounds or the integrand.",
        )
    if result.has(sp.nan, sp.zoo):
        raise tool_error(
            f"the integral of {expression} from {lower} to {upper} diverges",
            "The integrand has a non-integrable singularity in the interval (or at an infinite bound); "
            "split the interval at the singularity to see each part.",
        )
    if isinstance(result, sp.Piecewise) and result.args[-1].expr.has(sp.Integral):
        cases = "; ".join(
            f"{_back(c.expr, xr, variable)} when {c.cond}" for c in result.args if not c.expr.has(sp.Integral)
        )
        names = ", ".join(sorted(s.name for s in result.free_symbols - {xr}))
        raise tool_error(
            f"the integral of {expression} from {lower} to {upper} converges only under conditions "
            f"on the parameters ({names}): {cases}",
            "Use the case that applies, or substitute numbers for the parameters and integrate again.",
        )
    if result.has(sp.Integral):
        approx = ""
        if not result.free_symbols - {xr}:
            try:
                approx = f"; numerically it is about {sp.N(sp.Integral(f, (xr, lower, upper)), 15)}"
            except (ValueError, TypeError, ArithmeticError):
                approx = ""
        raise tool_error(
            f"no closed form was found for the integral of {expression} from {lower} to {upper}{approx}",
            "The integral may have no elementary closed form; use the numerical value if one is given.",
        )
    return _back(_tidy(result), xr, variable)


@tool("calculus")
def series_expansion(
    expression: Expression,
    variable: Symbol | None = None,
    point: Expression | None = None,
    order: SeriesOrder = 6,
) -> sp.Basic:
    """Taylor (or Laurent/Puiseux) series of an expression about a point, as a finite sum: the terms of order below (x - point)**order, with the O() remainder term left out.

    Args:
        expression: The expression to expand, e.g. "exp(x)" or "sin(x)/x".
        variable: The expansion variable (needed only with several symbols).
        point: The point to expand about (default 0); may be oo for an expansion in powers of 1/x.
        order: Terms up to but not including (x - point)**order are kept (default 6).
    """
    x = free_symbol(expression, variable)
    x0 = sp.Integer(0) if point is None else point
    _no_variable_in(x, point=x0)
    f, xr = _as_real(expression, x)
    result = sp.series(f, xr, x0, order)
    if result.has(sp.Order):
        result = result.removeO()
    return _back(result, xr, x)


def _limit(f: sp.Basic, x: sp.Symbol, point: sp.Basic, direction: str) -> sp.Basic:
    return sp.limit(f, x, point, dir=direction)


def _describe_limit(value: sp.Basic) -> sp.Basic | str:
    """A limit, or a sentence when it does not exist."""
    if isinstance(value, sp.AccumBounds):
        return f"does not exist (oscillates between {value.min} and {value.max})"
    if value.has(sp.Limit):
        return "could not be determined"
    if value.has(sp.nan, sp.zoo):
        return "does not exist"
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return False
    if not (a.is_finite and b.is_finite):
        return a == b
    return sp.simplify(a - b) == 0


@tool("calculus")
def compute_limit(
    expression: Expression,
    variable: Symbol,
    point: Expression,
    direction: Literal["+-", "+", "-"] = "+-",
) -> sp.Basic:
    """Limit of an expression as a variable approaches a point (a number, oo or -oo), two-sided or one-sided.

    Args:
        expression: The expression, e.g. "sin(x)/x" or "(1 + 1/n)**n".
        variable: The variable that approaches the point, e.g. "x".
        point: The point approached, e.g. "0", "1/2", "oo" or "-oo".
        direction: "+-" for the two-sided limit (default), "+" from the right (above), "-" from the left (below). Ignored at oo and -oo.
    """
    _no_variable_in(variable, point=point)
    f, xr = _as_real(expression, variable)
    if point in (sp.oo, -sp.oo):
        direction = "-" if point == sp.oo else "+"
    if direction == "+-":
        left, right = _limit(f, xr, point, "-"), _limit(f, xr, point, "+")
        left_d, right_d = _describe_limit(left), _describe_limit(right)
        one_side_exists = not (isinstance(left_d, str) and isinstance(right_d, str))
        if one_side_exists and not _same(left_d, right_d):
            raise tool_error(
                f"the two-sided limit at {point} does not exist: "
                f"left-hand limit = {left_d}, right-hand limit = {right_d}",
                "Pass direction '+' or '-' for a one-sided limit.",
            )
        result = right
    else:
        result = _limit(f, xr, point, direction)
    described = _describe_limit(result)
    if isinstance(described, str):
        raise tool_error(
            f"the limit of {expression} as {variable} -> {point} {described}",
            "Check the expression and the point; a one-sided limit (direction '+' or '-') may exist.",
        )
    return _back(_tidy(result), xr, variable)


def _derivative_for_roots(f: sp.Basic, x: sp.Symbol) -> sp.Basic:
    """f' with sign(u) written u/|u|, so that the kink of |u| shows as a point where f' is undefined."""
    return sp.diff(f, x).replace(sp.sign, lambda u: u / sp.Abs(u))


def _is_finite_set(points: sp.Set) -> bool:
    return points is sp.S.EmptySet or isinstance(points, sp.FiniteSet)


def _critical_points(f: sp.Basic, x: sp.Symbol, domain: sp.Set) -> list[sp.Basic]:
    """Points of `domain` (where f is continuous) where f' = 0 or f' is undefined, sorted."""
    fprime = _derivative_for_roots(f, x)
    if fprime.is_zero:
        raise tool_error(
            f"{f} is constant in {x}, so every point is a critical point",
            f"A constant function has no isolated critical points; its maximum and minimum both equal {f}.",
        )
    zeros = sp.solveset(fprime, x, domain)
    kinks = sp.Complement(domain, continuous_domain(fprime, x, domain))
    parameters = f.free_symbols - {x}
    if parameters and not (_is_finite_set(zeros) and _is_finite_set(kinks)):
        names = ", ".join(sorted(s.name for s in parameters))
        raise tool_error(
            f"the critical points depend on the parameters ({names}) in a way that could not be resolved "
            f"(f'(x) = 0 for x in {zeros})",
            "Give the parameters numeric values, or solve f'(x) = 0 with the equation tools.",
        )
    if not _is_finite_set(zeros):
        if isinstance(zeros, sp.ConditionSet):
            raise tool_error(
                f"could not solve f'(x) = 0 exactly (f'(x) = {sp.diff(f, x)})",
                "Simplify the function first, or restrict to a closed interval with extrema_on_interval.",
            )
        if not zeros.has(sp.ImageSet):
            raise tool_error(
                f"could not determine where f'(x) = {sp.diff(f, x)} vanishes ({zeros})",
                "Simplify the function first, or restrict to a closed interval with extrema_on_interval.",
            )
        raise tool_error(
            f"f'(x) = {sp.diff(f, x)} vanishes at infinitely many points ({zeros})",
            "Restrict the search to a closed interval with extrema_on_interval.",
        )
    if not _is_finite_set(kinks):
        raise tool_error(
            f"f' is undefined on a whole set of points ({kinks})",
            "The function is not differentiable on an interval; try a simpler piece of it.",
        )
    points = set(zeros) | set(kinks)
    if any(p.free_symbols for p in points):
        return sorted(points, key=default_sort_key)
    return sorted(points, key=lambda p: (float(sp.N(p)), default_sort_key(p)))


@tool("calculus")
def find_critical_points(expression: Expression, variable: Symbol | None = None) -> list:
    """Real critical points of a function of one variable: points of its domain where f'(x) = 0 or f'(x) is undefined (e.g. the corner of |x|), sorted increasingly.

    Args:
        expression: The function f(x), e.g. "x**3 - 3*x" or "Abs(x - 2)".
        variable: The variable (needed only with several symbols).
    """
    x = free_symbol(expression, variable)
    real = {s: sp.Symbol(s.name, real=True) for s in expression.free_symbols | {x}}
    back = {r: s for s, r in real.items()}
    f, xr = expression.xreplace(real), real[x]
    domain = continuous_domain(f, xr, sp.S.Reals)
    return [p.xreplace(back) for p in _critical_points(f, xr, domain)]


def _real_limit(f: sp.Basic, x: sp.Symbol, point: sp.Basic, direction: str) -> sp.Basic | str:
    """A one-sided limit of a real function, or a sentence saying why there is none."""
    value = _describe_limit(_limit(f, x, point, direction))
    if isinstance(value, str):
        return value
    if value.is_extended_real is False:
        return "does not exist (f is not real there)"
    return _tidy(value)


@tool("calculus")
def check_continuity(expression: Expression, point: Expression, variable: Symbol | None = None) -> dict:
    """Check whether a function is continuous at a point: compares f(point) with the left- and right-hand limits there.

    Args:
        expression: The function f(x), e.g. "(x**2 - 1)/(x - 1)" or "Abs(x)/x".
        point: The finite point to check, e.g. "1".
        variable: The variable (needed only with several symbols).
    """
    x = free_symbol(expression, variable)
    _no_variable_in(x, point=point)
    if point.is_finite is False:
        raise tool_error("continuity is checked at a finite point", "Use compute_limit for the behaviour at oo.")
    f, xr = _as_real(expression, x)
    value = f.subs(xr, point)
    if _is_undefined(value) or value.is_finite is False or value.is_extended_real is False:
        value_d: sp.Basic | str = "undefined"
    else:
        value_d = _tidy(value)
    left = _real_limit(f, xr, point, "-")
    right = _real_limit(f, xr, point, "+")
    continuous = False
    if value_d == "undefined":
        reason = f"f({point}) is undefined"
    elif isinstance(left, str) or isinstance(right, str):
        reason = f"the limit at {point} does not exist"
    elif not _same(left, right):
        reason = "the left-hand and right-hand limits differ"
    elif not left.is_finite:
        reason = "the limit is infinite"
    elif not _same(left, value_d):
        reason = f"the limit {left} differs from f({point}) = {value_d}"
    else:
        reason = f"both one-sided limits equal f({point})"
        continuous = True
    return {
        "continuous": continuous,
        "value": value_d,
        "left_limit": left,
        "right_limit": right,
        "reason": reason,
    }


@tool("calculus")
def extrema_on_interval(
    expression: Expression, lower: Expression, upper: Expression, variable: Symbol | None = None
) -> dict:
    """Global (absolute) maximum and minimum of a continuous function on a closed interval [lower, upper], found by comparing f at the critical points inside and at both endpoints.

    Args:
        expression: The function f(x), e.g. "x**3 - 3*x".
        lower: The left endpoint a of [a, b], a finite number, e.g. "-2".
        upper: The right endpoint b of [a, b], a finite number greater than a, e.g. "3".
        variable: The variable (needed only with several symbols).
    """
    x = free_symbol(expression, variable)
    others = expression.free_symbols - {x}
    if others:
        names = ", ".join(sorted(s.name for s in others))
        raise tool_error(f"the function has other symbols ({names})", "Give them numeric values first.")
    a = _finite_real_number(lower, "lower")
    b = _finite_real_number(upper, "upper")
    if not bool(a < b):
        raise tool_error(f"the interval [{a}, {b}] is empty or a point", "Pass lower < upper.")
    f, xr = _as_real(expression, x)
    interval = sp.Interval(a, b)
    domain = continuous_domain(f, xr, interval)
    if domain != interval:
        bad = sp.Complement(interval, domain)
        raise tool_error(
            f"{expression} is not continuous on [{a}, {b}] (it is undefined or jumps at {bad})",
            "A global maximum or minimum need not exist there; choose an interval where f is continuous.",
        )
    candidates = [a, *_critical_points(f, xr, sp.Interval.open(a, b)), b]
    values = [_tidy(f.subs(xr, c)) for c in candidates]
    numeric = [float(sp.N(v, 30)) for v in values]
    top, bottom = max(numeric), min(numeric)
    tol = 1e-12 * max(1.0, abs(top), abs(bottom))
    argmax = [c for c, n in zip(candidates, numeric, strict=True) if abs(n - top) <= tol]
    argmin = [c for c, n in zip(candidates, numeric, strict=True) if abs(n - bottom) <= tol]
    return {
        "maximum": values[numeric.index(top)],
        "argmax": argmax,
        "minimum": values[numeric.index(bottom)],
        "argmin": argmin,
    }


def _integer_index(expression: sp.Basic, variable: sp.Symbol) -> tuple[sp.Basic, sp.Symbol]:
    index = sp.Symbol(variable.name, integer=True)
    return expression.xreplace({variable: index}), index


@tool("calculus")
def summation(expression: Expression, variable: Symbol, lower: Expression, upper: Expression) -> sp.Basic:
    """Closed form of the sum of an expression over an integer index from lower to upper (inclusive); upper may be oo for an infinite series. A series that diverges to infinity gives oo (or -oo); one that has no value gives an error.

    Args:
        expression: The summand, e.g. "k**2" or "1/2**k".
        variable: The summation index, e.g. "k".
        lower: The first index value, e.g. "1".
        upper: The last index value, e.g. "n" or "oo".
    """
    _no_variable_in(variable, lower=lower, upper=upper)
    term, k = _integer_index(expression, variable)
    result = sp.summation(term, (k, lower, upper))
    if result.has(sp.Sum) or _is_undefined(result):
        diverges = False
        if upper == sp.oo or lower == -sp.oo:
            try:
                diverges = sp.Sum(term, (k, lower, upper)).is_convergent() is sp.false
            except (NotImplementedError, ValueError, TypeError):
                diverges = False
        if diverges:
            raise tool_error(
                f"the series of {expression} from {lower} to {upper} diverges (it has no sum)",
                "Check the summand; for a partial sum pass a finite upper bound such as n.",
            )
        raise tool_error(
            f"no closed form was found for the sum of {expression} for {variable} from {lower} to {upper}",
            "The sum may have no closed form: try a finite upper bound, split or rewrite the summand, "
            "or evaluate a few terms numerically.",
        )
    return _back(_tidy(result), k, variable)


@tool("calculus")
def product(expression: Expression, variable: Symbol, lower: Expression, upper: Expression) -> sp.Basic:
    """Closed form of the product of an expression over an integer index from lower to upper (inclusive); upper may be oo for an infinite product (one that grows without bound gives oo).

    Args:
        expression: The factor, e.g. "k" (giving n!) or "1 - 1/k**2".
        variable: The product index, e.g. "k".
        lower: The first index value, e.g. "1".
        upper: The last index value, e.g. "n" or "oo".
    """
    _no_variable_in(variable, lower=lower, upper=upper)
    term, k = _integer_index(expression, variable)
    result = sp.product(term, (k, lower, upper))
    if result.has(sp.Product) and upper == sp.oo:
        # An infinite product: the limit of its partial products, when those have a closed form.
        n = sp.Dummy("n", integer=True, positive=True)
        partial = sp.product(term, (k, lower, n))
        if not partial.has(sp.Product):
            result = sp.limit(sp.gammasimp(partial), n, sp.oo)
    if result.has(sp.Product, sp.Limit) or _is_undefined(result):
        raise tool_error(
            f"no closed form was found for the product of {expression} for {variable} from {lower} to {upper}",
            "Try a finite upper bound, or take logarithms and use summation.",
        )
    return _back(_tidy(result), k, variable)
