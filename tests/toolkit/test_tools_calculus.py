"""Calculus tools, called through the registry exactly as a model would call them.

Expected answers are worked out by hand; results come back as SymPy-syntax strings (or JSON
numbers) and are compared by parsing them back and simplifying the difference.
"""

from __future__ import annotations

from typing import Any

import pytest
import sympy as sp

from tests.toolkit.helpers import assert_registered, assert_tool_error, result_of
from toolkit.parse import parse_expression
from toolkit.registry import execute

CALCULUS_TOOLS = {
    "differentiate",
    "integrate",
    "definite_integral",
    "series_expansion",
    "compute_limit",
    "find_critical_points",
    "check_continuity",
    "extrema_on_interval",
    "summation",
    "product",
}

x = sp.Symbol("x")


def same(got: Any, expected: Any) -> bool:
    """Equal as mathematics: `got` is a tool's JSON value, `expected` a string or number."""
    a, b = parse_expression(str(got)), parse_expression(str(expected))
    if a == b:
        return True
    if not (a.is_finite is not False and b.is_finite is not False):
        return False  # oo, -oo, zoo compare structurally only
    return sp.simplify(a - b) == 0


def same_list(got: list, expected: list) -> bool:
    return len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected, strict=True))


# ------------------------------------------------------------------------------- registry


def test_calculus_tools_are_registered_with_documented_parameters() -> None:
    assert_registered("calculus", CALCULUS_TOOLS)


# -------------------------------------------------------------------------- differentiate


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"expression": "x^3 + 3x"}, "3x^2 + 3"),
        ({"expression": "x^2 sin(x)"}, "2x sin(x) + x^2 cos(x)"),
        ({"expression": "x^4", "order": 2}, "12x^2"),
        ({"expression": "x^2 y^3", "variable": "y"}, "3x^2 y^2"),
        ({"expression": "7", "variable": "x"}, "0"),  # edge: a constant
        ({"expression": "|x|"}, "sign(x)"),  # edge: a kink, the variable is real
        ({"expression": "e^(2x)", "order": 3}, "8 e^(2x)"),
    ],
)
def test_differentiate(args: dict, expected: str) -> None:
    assert same(result_of("differentiate", args), expected)


def test_differentiate_needs_variable_with_several_symbols() -> None:
    assert_tool_error("differentiate", {"expression": "x*y"}, "several variables")


# ------------------------------------------------------------------------------ integrate


@pytest.mark.parametrize(
    ("expression", "antiderivative"),
    [
        ("2x", "x^2"),
        ("x e^x", "(x - 1) e^x"),
        ("1/(1 + x^2)", "atan(x)"),
        ("cos(x)", "sin(x)"),
        ("1/x", "log(x)"),  # edge: the log case of the power rule
    ],
)
def test_integrate_up_to_a_constant(expression: str, antiderivative: str) -> None:
    got = parse_expression(str(result_of("integrate", {"expression": expression})))
    difference = sp.simplify(got - parse_expression(antiderivative))
    assert sp.diff(difference, x) == 0, (got, antiderivative)


def test_integrate_reports_non_elementary_antiderivative() -> None:
    assert_tool_error("integrate", {"expression": "sin(sin(x))"}, "antiderivative")


# ---------------------------------------------------------------------- definite_integral


@pytest.mark.parametrize(
    ("expression", "lower", "upper", "expected"),
    [
        ("x^2", "0", "3", "9"),
        ("sin(x)", "0", "pi", "2"),
        ("exp(-x)", "0", "oo", "1"),  # edge: improper, infinite bound
        ("1/x^2", "1", "oo", "1"),
        ("1/sqrt(x)", "0", "1", "2"),  # edge: integrable singularity at a bound
        ("1/(1 + x^2)", "-oo", "oo", "pi"),
        ("1/x", "1", "oo", "oo"),  # edge: diverges to infinity
        ("a x", "0", "2", "2a"),  # a parameter in the integrand
    ],
)
def test_definite_integral(expression: str, lower: str, upper: str, expected: str) -> None:
    args = {"expression": expression, "variable": "x", "lower": lower, "upper": upper}
    assert same(result_of("definite_integral", args), expected)


@pytest.mark.parametrize(
    ("expression", "lower", "upper", "word"),
    [
        ("1/x", "-1", "1", "diverges"),  # non-integrable singularity inside the interval
        ("sin(x)", "0", "oo", "does not converge"),  # oscillates
        ("x", "0", "x", "contains the variable"),
        ("exp(-a x)", "0", "oo", "1/a when"),  # edge: converges only for Re(a) > 0
    ],
)
def test_definite_integral_errors(expression: str, lower: str, upper: str, word: str) -> None:
    args = {"expression": expression, "variable": "x", "lower": lower, "upper": upper}
    assert_tool_error("definite_integral", args, word)


# ----------------------------------------------------------------------- series_expansion


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"expression": "exp(x)"}, "1 + x + x^2/2 + x^3/6 + x^4/24 + x^5/120"),
        ({"expression": "sin(x)"}, "x - x^3/6 + x^5/120"),
        ({"expression": "ln(x)", "point": "1", "order": 4}, "(x-1) - (x-1)^2/2 + (x-1)^3/3"),
        (
            {"expression": "1/(x - 1)", "point": "oo", "order": 4},
            "1/x + 1/x^2 + 1/x^3",
        ),  # edge: at infinity
        ({"expression": "1/sin(x)", "order": 4}, "1/x + x/6 + 7x^3/360"),  # edge: Laurent series
        ({"expression": "cos(x)", "order": 1}, "1"),
    ],
)
def test_series_expansion(args: dict, expected: str) -> None:
    assert same(result_of("series_expansion", args), expected)


# -------------------------------------------------------------------------- compute_limit


@pytest.mark.parametrize(
    ("expression", "point", "direction", "expected"),
    [
        ("sin(x)/x", "0", None, "1"),
        ("(x^2 - 4)/(x - 2)", "2", None, "4"),
        ("(1 + 1/x)^x", "oo", None, "E"),  # edge: limit at infinity
        ("(3x^2 + 1)/(x^2 - 5)", "-oo", None, "3"),
        ("exp(-x)", "oo", None, "0"),
        ("|x|/x", "0", "+", "1"),  # edge: one-sided limits that differ
        ("|x|/x", "0", "-", "-1"),
        ("1/x", "0", "+", "oo"),
        ("1/x", "0", "-", "-oo"),
        ("1/x^2", "0", None, "oo"),
    ],
)
def test_compute_limit(expression: str, point: str, direction: str | None, expected: str) -> None:
    args = {"expression": expression, "variable": "x", "point": point}
    if direction is not None:
        args["direction"] = direction
    assert same(result_of("compute_limit", args), expected)


@pytest.mark.parametrize(
    ("expression", "point", "word"),
    [
        ("|x|/x", "0", "left-hand limit = -1, right-hand limit = 1"),
        ("1/x", "0", "does not exist"),
        ("sin(x)", "oo", "oscillates"),
    ],
)
def test_compute_limit_that_does_not_exist(expression: str, point: str, word: str) -> None:
    assert_tool_error(
        "compute_limit", {"expression": expression, "variable": "x", "point": point}, word
    )


def test_compute_limit_rejects_unknown_direction() -> None:
    payload = execute(
        "compute_limit", {"expression": "x", "variable": "x", "point": "0", "direction": "left"}
    )
    assert payload["error"]["type"] == "invalid_arguments"


# ------------------------------------------------------------------- find_critical_points


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("x^3 - 3x", [-1, 1]),
        ("x^4/4 - x^3/3 - x^2", [-1, 0, 2]),  # f' = x(x - 2)(x + 1)
        ("x e^(-x)", [1]),
        ("|x - 2|", [2]),  # edge: f' undefined at the corner
        ("x^(2/3)", [0]),  # edge: a cusp, f' = 2/(3 x^(1/3)) undefined
        ("x + 1/x", [-1, 1]),  # edge: f' undefined at 0, but 0 is not in the domain
        ("exp(x)", []),  # edge: none
    ],
)
def test_find_critical_points(expression: str, expected: list) -> None:
    assert same_list(result_of("find_critical_points", {"expression": expression}), expected)


def test_find_critical_points_with_a_parameter() -> None:
    got = result_of("find_critical_points", {"expression": "x^2 - a x", "variable": "x"})
    assert same_list(got, ["a/2"])


def test_find_critical_points_infinitely_many() -> None:
    assert_tool_error("find_critical_points", {"expression": "sin(x)"}, "infinitely many")


def test_find_critical_points_of_a_constant() -> None:
    assert_tool_error("find_critical_points", {"expression": "5", "variable": "x"}, "constant")


# ----------------------------------------------------------------------- check_continuity


@pytest.mark.parametrize(
    ("expression", "point", "continuous", "value", "left", "right"),
    [
        ("x^2", "3", True, "9", "9", "9"),
        ("sqrt(x)", "4", True, "2", "2", "2"),
        ("(x^2 - 1)/(x - 1)", "1", False, "undefined", "2", "2"),  # edge: removable discontinuity
        ("|x|/x", "0", False, "undefined", "-1", "1"),  # edge: jump, undefined
        ("floor(x)", "1", False, "1", "0", "1"),  # edge: jump, defined
        ("1/x^2", "0", False, "undefined", "oo", "oo"),  # edge: infinite discontinuity
    ],
)
def test_check_continuity(
    expression: str, point: str, continuous: bool, value: str, left: str, right: str
) -> None:
    got = result_of("check_continuity", {"expression": expression, "point": point})
    assert got["continuous"] is continuous
    if value == "undefined":
        assert got["value"] == "undefined"
    else:
        assert same(got["value"], value)
    assert same(got["left_limit"], left)
    assert same(got["right_limit"], right)
    assert got["reason"]


def test_check_continuity_oscillating_limit() -> None:
    got = result_of("check_continuity", {"expression": "sin(1/x)", "point": "0"})
    assert got["continuous"] is False
    assert "does not exist" in got["left_limit"]


def test_check_continuity_needs_finite_point() -> None:
    assert_tool_error("check_continuity", {"expression": "x^2", "point": "oo"}, "finite")


# -------------------------------------------------------------------- extrema_on_interval


@pytest.mark.parametrize(
    ("expression", "lower", "upper", "maximum", "argmax", "minimum", "argmin"),
    [
        # f(-2) = -2, f(-1) = 2, f(1) = -2, f(3) = 18: the minimum is attained twice (edge).
        ("x^3 - 3x", "-2", "3", "18", ["3"], "-2", ["-2", "1"]),
        ("sin(x)", "0", "2pi", "1", ["pi/2"], "-1", ["3pi/2"]),
        ("|x - 1|", "0", "3", "2", ["3"], "0", ["1"]),  # edge: minimum at a corner
        ("x^2", "-2", "2", "4", ["-2", "2"], "0", ["0"]),  # edge: maximum at both endpoints
        ("x e^(-x)", "0", "2", "1/e", ["1"], "0", ["0"]),  # f(2) = 2/e^2 < 1/e
    ],
)
def test_extrema_on_interval(
    expression: str, lower: str, upper: str, maximum: str, argmax: list, minimum: str, argmin: list
) -> None:
    got = result_of(
        "extrema_on_interval", {"expression": expression, "lower": lower, "upper": upper}
    )
    assert same(got["maximum"], maximum)
    assert same_list(got["argmax"], argmax)
    assert same(got["minimum"], minimum)
    assert same_list(got["argmin"], argmin)


@pytest.mark.parametrize(
    ("expression", "lower", "upper", "word"),
    [
        ("1/x", "-1", "1", "not continuous"),  # edge: a pole inside the interval
        ("x^2", "1", "0", "empty"),
        ("x e^(-x)", "0", "oo", "finite"),
    ],
)
def test_extrema_on_interval_errors(expression: str, lower: str, upper: str, word: str) -> None:
    assert_tool_error(
        "extrema_on_interval", {"expression": expression, "lower": lower, "upper": upper}, word
    )


def test_extrema_on_interval_of_a_constant() -> None:
    # Every point is both a maximum and a minimum: no finite list of arguments.
    args = {"expression": "3", "lower": "0", "upper": "1", "variable": "x"}
    assert_tool_error("extrema_on_interval", args, "constant")


# ------------------------------------------------------------------------------ summation


@pytest.mark.parametrize(
    ("expression", "lower", "upper", "expected"),
    [
        ("k", "1", "100", "5050"),
        ("k^2", "1", "n", "n(n + 1)(2n + 1)/6"),
        ("1/2^k", "0", "oo", "2"),
        ("1/k^2", "1", "oo", "pi^2/6"),
        ("1/(k(k + 1))", "1", "oo", "1"),  # telescoping
        ("k", "1", "0", "0"),  # edge: empty sum
        ("1/k", "1", "oo", "oo"),  # edge: harmonic series diverges to infinity
    ],
)
def test_summation(expression: str, lower: str, upper: str, expected: str) -> None:
    args = {"expression": expression, "variable": "k", "lower": lower, "upper": upper}
    assert same(result_of("summation", args), expected)


@pytest.mark.parametrize(
    ("expression", "upper", "word"),
    [
        ("(-1)^k", "oo", "diverges"),  # edge: oscillating divergent series
        ("k^k", "n", "no closed form"),
    ],
)
def test_summation_errors(expression: str, upper: str, word: str) -> None:
    args = {"expression": expression, "variable": "k", "lower": "1", "upper": upper}
    assert_tool_error("summation", args, word)


# -------------------------------------------------------------------------------- product


@pytest.mark.parametrize(
    ("expression", "lower", "upper", "expected"),
    [
        ("k", "1", "5", "120"),
        ("k", "1", "n", "n!"),
        ("1 + 1/k", "1", "n", "n + 1"),  # telescoping
        ("1 - 1/k^2", "2", "oo", "1/2"),  # edge: infinite product
        ("k", "1", "0", "1"),  # edge: empty product
        ("k", "1", "oo", "oo"),  # edge: diverges to infinity
    ],
)
def test_product(expression: str, lower: str, upper: str, expected: str) -> None:
    args = {"expression": expression, "variable": "k", "lower": lower, "upper": upper}
    assert same(result_of("product", args), expected)


def test_product_without_closed_form() -> None:
    args = {"expression": "k^k", "variable": "k", "lower": "1", "upper": "n"}
    assert_tool_error("product", args, "no closed form")
