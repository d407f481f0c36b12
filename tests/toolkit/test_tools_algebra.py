from __future__ import annotations

import pytest

from tests.toolkit.helpers import error_of, result_of, same
from toolkit.registry import select_tools

CASES = [
    ("simplify_expression", {"expression": "(x^2 - 1)/(x - 1)"}, "x + 1"),
    ("simplify_expression", {"expression": "sin(x)^2 + cos(x)^2"}, "1"),
    ("simplify_expression", {"expression": "0"}, "0"),  # edge: a constant
    ("expand_expression", {"expression": "(x + 1)^3"}, "x^3 + 3x^2 + 3x + 1"),
    ("expand_expression", {"expression": "(a - b)(a + b)"}, "a^2 - b^2"),
    ("expand_expression", {"expression": "x"}, "x"),  # edge: nothing to expand
    ("factor_expression", {"expression": "x^2 - 5x + 6"}, "(x - 2)(x - 3)"),
    ("factor_expression", {"expression": "x^4 - 1"}, "(x - 1)(x + 1)(x^2 + 1)"),
    ("factor_expression", {"expression": "x^2 + 1"}, "x^2 + 1"),  # edge: irreducible over Q
    ("cancel_expression", {"expression": "(x^2 - 1)/(x^2 + 2x + 1)"}, "(x - 1)/(x + 1)"),
    (
        "cancel_expression",
        {"expression": "(x^2 + 1)/(x + 1)"},
        "(x^2 + 1)/(x + 1)",
    ),  # edge: nothing cancels
    ("partial_fractions", {"expression": "1/(x^2 - 1)"}, "1/(2(x - 1)) - 1/(2(x + 1))"),
    ("partial_fractions", {"expression": "(3x + 5)/((x + 1)(x + 2))"}, "2/(x + 1) + 1/(x + 2)"),
    (
        "partial_fractions",
        {"expression": "1/(x(x + a))", "variable": "x"},
        "1/(a x) - 1/(a(x + a))",
    ),
    ("collect_terms", {"expression": "a x + b x^2 + c x", "variable": "x"}, "b x^2 + (a + c) x"),
    ("collect_terms", {"expression": "y + 1", "variable": "x"}, "y + 1"),  # edge: variable absent
    ("combine_fractions", {"expression": "1/x + 1/(x + 1)"}, "(2x + 1)/(x(x + 1))"),
    ("combine_fractions", {"expression": "1/2 + 1/3"}, "5/6"),
    ("simplify_trigonometric", {"expression": "sin(2x)/cos(x)"}, "2 sin(x)"),
    ("simplify_trigonometric", {"expression": "tan(x) cos(x)"}, "sin(x)"),
    ("expand_trigonometric", {"expression": "sin(2x)"}, "2 sin(x) cos(x)"),
    ("expand_trigonometric", {"expression": "cos(a + b)"}, "cos(a)cos(b) - sin(a)sin(b)"),
    ("rationalize_denominator", {"expression": "1/(1 + sqrt(2))"}, "sqrt(2) - 1"),
    ("rationalize_denominator", {"expression": "1/sqrt(3)"}, "sqrt(3)/3"),
    ("substitute_values", {"expression": "x^2 + y", "values": {"x": "2", "y": "1/3"}}, "13/3"),
    (
        "substitute_values",
        {"expression": "x + y", "values": "x=a"},
        "a + y",
    ),  # edge: symbolic value, string form
    ("evaluate_numerically", {"expression": "pi", "digits": 10}, "3.141592654"),
    ("evaluate_numerically", {"expression": "sqrt(2)", "digits": "5"}, "1.4142"),
    (
        "polynomial_representation",
        {"expression": "(x + 2)(x - 3)"},
        {"polynomial": "x^2 - x - 6", "variables": ["x"], "domain": None},
    ),
    ("polynomial_degree", {"expression": "3x^4 - x + 1"}, 4),
    ("polynomial_degree", {"expression": "x y^3 + x^2", "variable": "y"}, 3),
    ("polynomial_degree", {"expression": "7"}, None),  # edge: no variable -> error (below)
    ("polynomial_coefficients", {"expression": "2x^3 - x + 5"}, [2, 0, -1, 5]),
    ("polynomial_coefficients", {"expression": "x^2"}, [1, 0, 0]),
]


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [c for c in CASES if c[2] is not None and c[0] != "polynomial_representation"],
)
def test_known_answers(name, args, expected):
    assert same(result_of(name, args), expected)


def test_polynomial_representation():
    result = result_of("polynomial_representation", {"expression": "(x + 2)(x - 3)"})
    assert (
        same(result["polynomial"], "x^2 - x - 6")
        and result["variables"] == ["x"]
        and result["domain"] == "ZZ"
    )
    result = result_of(
        "polynomial_representation", {"expression": "x y + 1/2", "variables": ["x", "y"]}
    )
    assert result["variables"] == ["x", "y"] and result["domain"] == "QQ"


@pytest.mark.parametrize(
    ("name", "args", "kind"),
    [
        ("polynomial_degree", {"expression": "7"}, "tool_error"),
        ("polynomial_degree", {"expression": "x y"}, "tool_error"),  # ambiguous variable
        ("evaluate_numerically", {"expression": "x + 1"}, "tool_error"),
        ("evaluate_numerically", {"expression": "1/0"}, "tool_error"),
        ("evaluate_numerically", {"expression": "2", "digits": 0}, "invalid_arguments"),
        ("polynomial_coefficients", {"expression": "sin(x)"}, "tool_error"),
        ("substitute_values", {"expression": "x", "values": "x"}, "parse_error"),
        ("simplify_expression", {}, "invalid_arguments"),
    ],
)
def test_errors(name, args, kind):
    assert error_of(name, args)["type"] == kind


def test_latex_form_is_given():
    from toolkit.registry import execute

    assert execute("partial_fractions", {"expression": "1/(x^2-1)"})["latex"].startswith("-")


def test_every_algebra_tool_is_tested():
    tested = {c[0] for c in CASES}
    assert {t.name for t in select_tools(categories=["algebra"])} <= tested
