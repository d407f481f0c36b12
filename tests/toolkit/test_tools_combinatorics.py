"""Combinatorics tools, called exactly as a model calls them, against answers worked out by hand."""

from __future__ import annotations

import pytest
import sympy as sp

from tests.toolkit.helpers import assert_fast, assert_registered, error_type_of, result_of
from toolkit.parse import parse_expression

COMBINATORICS_TOOLS = {
    "binomial_coefficient",
    "permutations_count",
    "multinomial_coefficient",
    "catalan_number",
    "stirling_number",
    "partition_count",
    "derangements_count",
    "solve_recurrence",
}


# (tool, arguments, expected result) — every expected value computed by hand.
RESULTS = [
    # binomial_coefficient
    ("binomial_coefficient", {"n": 10, "k": 3}, 120),
    ("binomial_coefficient", {"n": "52", "k": "5"}, 2598960),
    ("binomial_coefficient", {"n": 5, "k": 0}, 1),
    ("binomial_coefficient", {"n": 0, "k": 0}, 1),
    ("binomial_coefficient", {"n": "3", "k": "5"}, 0),  # k > n
    # beyond 2**53 an integer comes back as a string of digits: 10**18 (10**18 - 1) / 2
    ("binomial_coefficient", {"n": 10**18, "k": 2}, "499999999999999999500000000000000000"),
    # permutations_count
    ("permutations_count", {"n": 5, "k": 2}, 20),
    ("permutations_count", {"n": "10", "k": "3"}, 720),
    ("permutations_count", {"n": 5}, 120),
    ("permutations_count", {"n": 0}, 1),
    ("permutations_count", {"n": 5, "k": 0}, 1),
    ("permutations_count", {"n": 3, "k": 5}, 0),
    # multinomial_coefficient
    ("multinomial_coefficient", {"counts": [2, 1, 1]}, 12),  # AABC
    ("multinomial_coefficient", {"counts": ["1", "4", "4", "2"]}, 34650),  # MISSISSIPPI
    ("multinomial_coefficient", {"counts": [4, 4, 2]}, 3150),  # 10!/(4! 4! 2!)
    ("multinomial_coefficient", {"counts": "[2, 2]"}, 6),
    ("multinomial_coefficient", {"counts": [0, 0]}, 1),
    ("multinomial_coefficient", {"counts": [7]}, 1),
    # catalan_number
    ("catalan_number", {"n": 0}, 1),
    ("catalan_number", {"n": 1}, 1),
    ("catalan_number", {"n": 5}, 42),
    ("catalan_number", {"n": "10"}, 16796),
    # stirling_number
    ("stirling_number", {"n": 4, "k": 2}, 7),
    ("stirling_number", {"n": 5, "k": 3, "kind": 2}, 25),
    ("stirling_number", {"n": 4, "k": 2, "kind": 1}, 11),
    ("stirling_number", {"n": "5", "k": "3", "kind": "1"}, 35),
    ("stirling_number", {"n": 0, "k": 0}, 1),
    ("stirling_number", {"n": 0, "k": 0, "kind": 1}, 1),
    ("stirling_number", {"n": 4, "k": 0}, 0),
    ("stirling_number", {"n": 3, "k": 5}, 0),
    ("stirling_number", {"n": 3, "k": 5, "kind": 1}, 0),
    # partition_count
    ("partition_count", {"n": 0}, 1),
    ("partition_count", {"n": 1}, 1),
    ("partition_count", {"n": 4}, 5),
    ("partition_count", {"n": "5"}, 7),
    ("partition_count", {"n": 100}, 190569292),
    # derangements_count
    ("derangements_count", {"n": 0}, 1),
    ("derangements_count", {"n": 1}, 0),
    ("derangements_count", {"n": 4}, 9),
    ("derangements_count", {"n": "5"}, 44),
    ("derangements_count", {"n": 10}, 1334961),
]


@pytest.mark.parametrize(("name", "args", "expected"), RESULTS)
def test_results(name: str, args: dict, expected: object) -> None:
    assert result_of(name, args) == expected


# (tool, arguments, error type)
ERRORS = [
    ("binomial_coefficient", {"n": -1, "k": 2}, "invalid_arguments"),
    ("binomial_coefficient", {"n": 10, "k": "x"}, "invalid_arguments"),
    ("binomial_coefficient", {"n": 10**6, "k": 5 * 10**5}, "tool_error"),
    ("permutations_count", {"n": 10**6}, "tool_error"),
    ("permutations_count", {"n": 5, "k": -1}, "invalid_arguments"),
    ("multinomial_coefficient", {"counts": []}, "invalid_arguments"),
    ("multinomial_coefficient", {"counts": [1, -2]}, "invalid_arguments"),
    ("multinomial_coefficient", {"counts": [10**5, 10**5]}, "tool_error"),
    ("catalan_number", {"n": -1}, "invalid_arguments"),
    ("catalan_number", {"n": 10**4}, "tool_error"),
    ("stirling_number", {"n": 4, "k": 2, "kind": 3}, "invalid_arguments"),
    ("stirling_number", {"n": 5000, "k": 2}, "tool_error"),
    ("partition_count", {"n": -1}, "invalid_arguments"),
    ("partition_count", {"n": 10**7}, "tool_error"),
    ("derangements_count", {"n": -1}, "invalid_arguments"),
    ("derangements_count", {"n": 1401}, "tool_error"),
]


@pytest.mark.parametrize(("name", "args", "error"), ERRORS)
def test_errors(name: str, args: dict, error: str) -> None:
    assert error_type_of(name, args) == error


# ----------------------------------------------------------------------------- recurrences


def closed_form(args: dict, variable: str = "n") -> tuple[sp.Expr, sp.Symbol]:
    return parse_expression(result_of("solve_recurrence", args)), sp.Symbol(variable)


def value_at(expr: sp.Expr, var: sp.Symbol, n: int) -> sp.Expr:
    return sp.simplify(sp.expand(expr.subs(var, n)))


@pytest.mark.parametrize(
    "initial_conditions",
    [{"a(0)": "0", "a(1)": "1"}, {"0": "0", "1": "1"}, {"a(0)": 0, "a(1)": 1}, "a(0)=0, a(1)=1"],
)
def test_fibonacci(initial_conditions: dict) -> None:
    expr, n = closed_form(
        {"recurrence": "a(n+2) = a(n+1) + a(n)", "initial_conditions": initial_conditions}
    )
    assert value_at(expr, n, 10) == 55
    assert [value_at(expr, n, i) for i in range(8)] == [0, 1, 1, 2, 3, 5, 8, 13]


@pytest.mark.parametrize(
    ("args", "variable", "expected"),
    [
        (
            {"recurrence": "a(n) - 2*a(n-1) = 1", "initial_conditions": {"a(0)": "0"}},
            "n",
            "2**n - 1",
        ),
        ({"recurrence": "a(n) - 2*a(n-1) = 0", "initial_conditions": {"0": "3"}}, "n", "3*2**n"),
        ({"recurrence": "a(n+1) - 3*a(n)", "initial_conditions": {"a(0)": 1}}, "n", "3**n"),
        (
            {
                "recurrence": "f(k+1) = f(k) + k",
                "function": "f",
                "variable": "k",
                "initial_conditions": {"f(0)": "0"},
            },
            "k",
            "k*(k - 1)/2",
        ),
        ({"recurrence": "a(n+1) = (n+1)*a(n)", "initial_conditions": {"a(0)": "1"}}, "n", "n!"),
        # a(n) = a(n-1) + a(n-2) started at a(1) = a(2) = 1 is Fibonacci again
        (
            {"recurrence": "a(n) = a(n-1) + a(n-2)", "initial_conditions": {"a(1)": 1, "a(2)": 1}},
            "n",
            None,
        ),
    ],
)
def test_closed_forms(args: dict, variable: str, expected: str | None) -> None:
    expr, var = closed_form(args, variable)
    if expected is not None:
        assert sp.simplify(expr - parse_expression(expected)) == 0
    else:
        assert value_at(expr, var, 10) == 55


def test_recurrence_without_initial_conditions_has_constants() -> None:
    expr, n = closed_form({"recurrence": "a(n+1) = 2*a(n)"})
    constants = expr.free_symbols - {n}
    assert len(constants) == 1
    (c,) = constants
    assert sp.simplify(expr - c * 2**n) == 0


def test_recurrence_answers_use_functions_the_parser_reads() -> None:
    # (n+1) a(n+1) = (4n+2) a(n), a(0) = 1: the central binomial coefficients C(2n, n).
    # SymPy answers with RisingFactorial, which is rewritten into gamma.
    expr, n = closed_form(
        {"recurrence": "(n+1)*a(n+1) = (4n+2)*a(n)", "initial_conditions": {"a(0)": "1"}}
    )
    assert [value_at(expr, n, i) for i in range(6)] == [1, 2, 6, 20, 70, 252]


@pytest.mark.parametrize(
    "args",
    [
        {"recurrence": "a(n+1) = a(n)**2", "initial_conditions": {"a(0)": "2"}},  # not linear
        {
            "recurrence": "a(n+1) = a(n)",
            "initial_conditions": {"a(0)": "2", "a(1)": "3"},
        },  # inconsistent
        {"recurrence": "b(n+1) = 2*b(n)"},  # function left as "a"
        {"recurrence": "a(2*n) = a(n)"},  # not a shift of n
        {"recurrence": "a(n+2) = n*a(n+1) + a(n)"},  # SymPy finds only the solution 0
        {"recurrence": "a(n+1) = 3*a(n)", "initial_conditions": {"b(0)": "1"}},  # wrong sequence
        {"recurrence": "a(n+1) = 3*a(n)", "initial_conditions": {"a(1/2)": "1"}},
        {"recurrence": "a(n+1) = 3*a(n)", "function": "sin"},
    ],
)
def test_recurrence_tool_errors(args: dict) -> None:
    assert error_type_of("solve_recurrence", args) == "tool_error"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"recurrence": "a(n+1) = = a(n)"}, "parse_error"),
        ({"recurrence": "a(n+1) = 2*a(n)", "variable": "n+1"}, "parse_error"),
        (
            {"recurrence": "a(n+1) = 2*a(n)", "initial_conditions": ["a(0) = 1"]},
            "invalid_arguments",
        ),
        ({"initial_conditions": {"a(0)": "1"}}, "invalid_arguments"),
    ],
)
def test_recurrence_bad_arguments(args: dict, error: str) -> None:
    assert error_type_of("solve_recurrence", args) == error


# ----------------------------------------------------------------------------- limits, registry


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("partition_count", {"n": 10**6}),
        ("stirling_number", {"n": 1000, "k": 500, "kind": 1}),
        ("derangements_count", {"n": 1400}),
        ("binomial_coefficient", {"n": 13000, "k": 6500}),
        ("catalan_number", {"n": 6000}),
    ],
)
def test_calls_at_the_size_limits_stay_fast(name: str, args: dict) -> None:
    assert_fast(name, args)


def test_tools_are_registered_with_described_parameters() -> None:
    assert_registered("combinatorics", COMBINATORICS_TOOLS)
