from __future__ import annotations

import pytest

from tests.toolkit.helpers import error_of, result_of, same
from toolkit.registry import select_tools

CASES = [
    ("solve_equation", {"equation": "x^2 - 5x + 6 = 0"}, [2, 3]),
    ("solve_equation", {"equation": "2x + 3 = 7"}, [2]),
    ("solve_equation", {"equation": "x^2 + 1 = 0"}, ["-I", "I"]),
    ("solve_equation", {"equation": "x^2 + 1", "domain": "real"}, []),  # edge: no real roots
    ("solve_equation", {"equation": "a x + b = 0", "variable": "x"}, ["-b/a"]),
    ("find_roots", {"expression": "x^2 - 2"}, ["-1.41421356237310", "1.41421356237310"]),
    ("find_roots", {"expression": "exp(x) = 2", "digits": 6}, ["0.693147"]),
    ("polynomial_roots", {"expression": "(x - 1)^2 (x + 2)"}, {"-2": 1, "1": 2}),
    ("polynomial_roots", {"expression": "x^2 - 2x + 1"}, {"1": 2}),  # edge: one double root
    ("discriminant", {"expression": "x^2 + p x + q", "variable": "x"}, "p^2 - 4q"),
    ("discriminant", {"expression": "x^2 - 2x + 1"}, "0"),  # edge: double root
    ("vieta_sums", {"expression": "x^3 - 6x^2 + 11x - 6"}, None),
    ("solve_linear_system", {"equations": ["x + y = 3", "x - y = 1"]}, {"x": 2, "y": 1}),
    (
        "solve_linear_system",
        {"equations": ["x + y + z = 3", "x - y = 1"], "variables": ["x", "y", "z"]},
        {"x": "2 - z/2", "y": "1 - z/2", "z": "z"},
    ),
    (
        "solve_nonlinear_system",
        {"equations": ["x^2 + y^2 = 25", "x + y = 7"]},
        [{"x": 3, "y": 4}, {"x": 4, "y": 3}],
    ),
    (
        "solve_nonlinear_system",
        {"equations": ["x y = 6", "x + y = 5"]},
        [{"x": 2, "y": 3}, {"x": 3, "y": 2}],
    ),
]


@pytest.mark.parametrize(("name", "args", "expected"), [c for c in CASES if c[2] is not None])
def test_known_answers(name, args, expected):
    assert same(result_of(name, args), expected)


def test_infinite_solution_families_are_named():
    result = result_of("solve_equation", {"equation": "sin(x) = 0"})
    assert "ImageSet" in result and "_" not in result


def test_vieta_sums():
    result = result_of("vieta_sums", {"expression": "x^3 - 6x^2 + 11x - 6"})
    assert (
        result["sum_of_roots"],
        result["e2"],
        result["product_of_roots"],
        result["sum_of_squares_of_roots"],
    ) == (6, 11, 6, 14)
    result = result_of("vieta_sums", {"expression": "2x^2 + 3x - 5 = 0"})
    assert same(result["sum_of_roots"], "-3/2") and same(result["product_of_roots"], "-5/2")


def test_polynomial_roots_without_radicals_are_exact():
    result = result_of("polynomial_roots", {"expression": "x^5 - x - 1"})
    assert len(result) == 5 and all(k.startswith("CRootOf") for k in result)


@pytest.mark.parametrize(
    ("name", "args", "kind"),
    [
        (
            "solve_linear_system",
            {"equations": ["x + y = 3", "x + y = 1"]},
            "tool_error",
        ),  # inconsistent
        (
            "solve_linear_system",
            {"equations": ["x^2 + y = 3", "x - y = 1"]},
            "tool_error",
        ),  # not linear
        ("solve_equation", {"equation": "x^2 < 4"}, "parse_error"),
        ("discriminant", {"expression": "2x + 1"}, "tool_error"),
        ("polynomial_roots", {"expression": "5"}, "tool_error"),
        ("solve_nonlinear_system", {"equations": ["x + y = 1", "x + y = 2"]}, "tool_error"),
        ("find_roots", {"expression": "exp(x) + 1"}, "tool_error"),
    ],
)
def test_errors(name, args, kind):
    assert error_of(name, args)["type"] == kind


INEQUALITIES = [
    ("solve_univariate_inequality", {"inequality": "x^2 - 5x + 6 < 0"}, "Interval.open(2, 3)"),
    (
        "solve_univariate_inequality",
        {"inequality": "|x - 1| >= 2"},
        "Union(Interval(-oo, -1), Interval(3, oo))",
    ),
    ("solve_univariate_inequality", {"inequality": "1 < 2x + 1 <= 5"}, "Interval.Lopen(0, 2)"),
    ("solve_univariate_inequality", {"inequality": "x^2 >= 0"}, "Reals"),  # edge: always true
    ("solve_univariate_inequality", {"inequality": "x^2 < 0"}, "EmptySet"),  # edge: never true
    ("reduce_inequalities", {"inequalities": ["x^2 < 9", "2x + 1 > 0"]}, "Interval.open(-1/2, 3)"),
    ("reduce_inequalities", {"inequalities": "x >= 1, x <= 1"}, "{1}"),  # edge: a single point
]


@pytest.mark.parametrize(("name", "args", "expected"), INEQUALITIES)
def test_inequalities(name, args, expected):
    assert result_of(name, args)["solution_set"] == expected


def test_inequality_errors():
    assert error_of("reduce_inequalities", {"inequalities": ["x + y < 1"]})["type"] == "tool_error"
    assert error_of("solve_univariate_inequality", {"inequality": "x = 1"})["type"] == "parse_error"


def test_every_tool_is_tested():
    tested = {c[0] for c in CASES + INEQUALITIES}
    assert {t.name for t in select_tools(categories=["equations", "inequalities"])} <= tested
