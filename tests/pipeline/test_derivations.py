"""Symbolic derivations: for each supported tool, real tool results, every stated equation re-checked with SymPy."""

from __future__ import annotations

import json

import pytest
import sympy as sp

from pipeline.agents.judge import find_leak
from pipeline.derivations import STEPWISE, derive, expected_answer
from pipeline.derivations.base import Claim
from toolkit.grading import answers_equal, extract_boxed
from toolkit.registry import execute

# (tool, arguments, a rule the text must name) — the arguments are the kinds the synthetic families use, plus harder ones
CASES = [
    ("differentiate", {"expression": "(x - 2)/(x**2 + 3)", "variable": "x"}, "quotient rule"),
    ("differentiate", {"expression": "4*x*exp(3*x)", "variable": "x"}, "product rule"),
    ("differentiate", {"expression": "sqrt(5*x - 4)", "variable": "x"}, "chain rule"),
    ("differentiate", {"expression": "sin(3*x) + 2*x**2", "variable": "x"}, "chain rule"),
    ("differentiate", {"expression": "x**2*log(x)", "variable": "x"}, "product rule"),
    ("definite_integral", {"expression": "2*x*exp(x)", "variable": "x", "lower": "0", "upper": "1"}, "integration by parts"),
    ("definite_integral", {"expression": "3*x**2 + 6*x - 2", "variable": "x", "lower": "1", "upper": "2"}, "power rule"),
    ("definite_integral", {"expression": "x*cos(x**2)", "variable": "x", "lower": "0", "upper": "1"}, "substitution"),
    ("integrate", {"expression": "x*sin(x)", "variable": "x"}, "integration by parts"),
    ("compute_limit", {"expression": "(x**2 - 9*x + 20)/(x - 4)", "variable": "x", "point": "4"}, "cancelling"),
    ("compute_limit", {"expression": "sin(8*x)/(8*x)", "variable": "x", "point": "0"}, "L'Hôpital"),
    ("compute_limit", {"expression": "(sqrt(x + 9) - 3)/x", "variable": "x", "point": "0"}, "L'Hôpital"),
    ("compute_limit", {"expression": "(5*x**2 - x + 6)/(x**2 + 9)", "variable": "x", "point": "oo"}, "leading coefficients"),
    ("compute_limit", {"expression": "(1 + 5/x)**(3*x)", "variable": "x", "point": "oo"}, "1^\\infty"),
    ("summation", {"expression": "3*k + 2", "variable": "k", "lower": "1", "upper": "20"}, "\\sum_{k=1}^{n} k^{1}"),
    ("summation", {"expression": "k**3", "variable": "k", "lower": "1", "upper": "14"}, "\\sum_{k=1}^{n} k^{3}"),
    ("summation", {"expression": "3*2**k", "variable": "k", "lower": "0", "upper": "7"}, "geometric"),
    ("summation", {"expression": "5/3**k", "variable": "k", "lower": "1", "upper": "oo"}, "geometric"),
    ("summation", {"expression": "1/(k*(k + 1))", "variable": "k", "lower": "1", "upper": "30"}, "telescopes"),
    ("solve_equation", {"equation": "4*x + 6 = 3*(x + 6)", "variable": "x", "domain": "real"}, "Isolating"),
    ("solve_equation", {"equation": "x**2 - 5*x + 6 = 0", "variable": "x", "domain": "real"}, "factors"),
    ("solve_equation", {"equation": "x**2 - 2*x - 1 = 0", "variable": "x", "domain": "real"}, "quadratic formula"),
    ("solve_equation", {"equation": "x + 63/(x + 1) = 15", "variable": "x", "domain": "real"}, "multiplying"),
    ("solve_equation", {"equation": "t/11 + t/12 = 1", "variable": "t", "domain": "real"}, "Isolating"),
    ("solve_equation", {"equation": "(x**2 - 1)/(x - 1) = 3", "variable": "x", "domain": "real"}, "discard"),
    ("solve_linear_system", {"equations": ["-5*x + 2*y = 5", "-3*x + 5*y = -16"], "variables": ["x", "y"]}, "eliminates"),
    ("solve_linear_system", {"equations": ["x + y + z = 6", "2*x - y + z = 3", "x + 2*y - z = 2"], "variables": ["x", "y", "z"]}, "eliminates"),
    ("line_intersection", {"line1": "y = 2*x - 13", "line2": "4*x + y = 11"}, "eliminates"),
    ("solve_univariate_inequality", {"inequality": "Abs(x + 7) < 3", "variable": "x"}, "absolute value"),
    ("solve_univariate_inequality", {"inequality": "Abs(2*x - 2) <= 1", "variable": "x"}, "absolute value"),
    ("solve_univariate_inequality", {"inequality": "2*x**2 - 22*x + 56 < 0", "variable": "x"}, "parabola"),
    ("solve_univariate_inequality", {"inequality": "Abs(4*x) <= 2", "variable": "x"}, "Dividing by $4$"),
    ("vieta_sums", {"expression": "2*x**2 - 12*x + 10", "variable": "x"}, "Vieta"),
    ("compute_determinant", {"matrix": [["9", "t"], ["-3", "5"]]}, "ad - bc"),
    ("compute_determinant", {"matrix": [["8", "0", "-4"], ["0", "6", "-5"], ["7", "-2", "-1"]]}, "cofactor expansion"),
    ("compute_determinant", {"matrix": [["0", "7", "9"], ["0", "t", "-4"], ["8", "8", "-1"]]}, "cofactor expansion"),
    ("compute_eigenvalues", {"matrix": [["3", "-8", "4"], ["0", "7", "0"], ["0", "6", "1"]]}, "characteristic polynomial"),
    ("compute_eigenvalues", {"matrix": [["2", "1"], ["1", "2"]]}, "characteristic polynomial"),
    ("modular_inverse", {"a": 127, "m": 131}, "Euclid"),
    ("solve_linear_congruence", {"a": 141, "b": 102, "m": 146}, "Euclid"),
    ("chinese_remainder", {"remainders": [6, 3, 0], "moduli": [13, 4, 5]}, "Write $x ="),
    ("modular_power", {"base": 16, "exponent": 3119, "modulus": 143}, "repeated squaring"),
    ("binomial_coefficient", {"n": 27, "k": 4}, "\\binom{27}{4}"),
    ("binomial_coefficient", {"n": 2, "k": 4}, "cannot be chosen"),
    ("permutations_count", {"n": 12, "k": 3}, "P(12, 3)"),
    ("derangements_count", {"n": 6}, "inclusion-exclusion"),
    ("distance", {"point1": ["-8", "4"], "point2": ["2", "0"]}, "squared coordinate differences"),
    ("triangle_area_from_sides", {"a": "13", "b": "14", "c": "15"}, "Heron"),
    ("triangle_area_from_vertices", {"vertex1": ["8", "1"], "vertex2": ["4", "2"], "vertex3": ["8", "-6"]}, "shoelace"),
    ("circumradius", {"a": "12", "b": "13", "c": "14"}, "Heron"),
    ("inradius", {"a": "5", "b": "13", "c": "11"}, "Heron"),
    ("substitute_values", {"expression": "x*y", "values": {"x": "-3", "y": "-5"}}, "Substituting"),
]


def _call(tool: str, args: dict) -> str:
    payload = execute(tool, args)
    assert "result" in payload, payload
    return json.dumps(payload)


@pytest.mark.parametrize(("tool", "args", "rule"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_derivation_is_right_step_by_step(tool, args, rule):
    result = _call(tool, args)
    derivation = derive(tool, args, result)
    text = derivation.text()
    assert not derivation.one_step, text  # a real derivation, not the one-step explanation
    assert rule in text, text
    assert len(derivation.claims) >= 2 or tool in ("substitute_values", "binomial_coefficient"), text
    for claim in derivation.claims:  # every equation the text states is re-checked with SymPy
        assert claim.latex in text
        assert claim.holds(), (claim.latex, claim.lhs, claim.rhs, claim.at)
    # the boxed answer is the tool's result, component by component
    expected = expected_answer(tool, json.loads(result)["result"])
    boxed = extract_boxed(text)
    assert boxed == derivation.answer
    if expected.kind == "value":
        assert answers_equal(boxed, expected.items[0][1])
    assert find_leak(text) is None


def test_every_stepwise_tool_is_covered():
    assert {c[0] for c in CASES} == set(STEPWISE) - {"simplify_expression"}


def test_the_claim_checker_catches_a_wrong_step():
    x = sp.Symbol("x")
    assert not Claim(sp.srepr(sp.Derivative(x**3, x)), sp.srepr(3 * x), "").holds()
    assert not Claim(sp.srepr(x), sp.srepr(sp.Integer(2)), "", (("x", sp.srepr(sp.Integer(3))),)).holds()
    assert Claim(sp.srepr(x), sp.srepr(sp.Integer(3)), "", (("x", sp.srepr(sp.Integer(3))),)).holds()


def test_a_wrong_tool_result_gets_no_derivation_that_pretends_to_reach_it():
    # the derivation recomputes the mathematics; it never writes steps towards a result it cannot reproduce
    args = {"equations": ["x + y = 3", "x - y = 1"], "variables": ["x", "y"]}
    derivation = derive("solve_linear_system", args, {"result": {"x": 5, "y": 1}})
    assert derivation.one_step and "single step" in derivation.text()
    derivation = derive("modular_inverse", {"a": 3, "m": 7}, {"result": 4})
    assert derivation.one_step


def test_tools_without_steps_get_an_honest_one_step_explanation():
    args = {"expression": "x**3 - 6*x**2 + 11*x - 6"}
    result = _call("factor_expression", args)
    derivation = derive("factor_expression", args, result)
    assert derivation.one_step and "not broken down further" in derivation.text()
    assert answers_equal(extract_boxed(derivation.text()), "(x - 1)*(x - 2)*(x - 3)")
    arithmetic = derive("simplify_expression", {"expression": "(2)/((1) - (0))"}, {"result": 2})
    assert arithmetic.one_step and all(c.holds() for c in arithmetic.claims)


# A step that combines several operations shows its evaluated parts (a small student cannot do
# `8(8) + 4(-7) + 8(-1)` in its head); `show_intermediate=False` is the terse ablation arm.
INTERMEDIATE = [
    ("triangle_area_from_vertices", {"vertex1": ["8", "1"], "vertex2": ["4", "2"], "vertex3": ["8", "-6"]},
     "8(2 - (-6)) + 4(-6 - (1)) + 8(1 - (2))", "= 8(8) + 4(-7) + 8(-1) = 64 - 28 - 8 ="),
    ("compute_determinant", {"matrix": [[2, -1, 3], [0, 4, 1], [5, 2, -2]]}, "\\det = (2)", "= -20 - 5 - 60 ="),
    ("summation", {"expression": "2*k**2 + 3*k", "variable": "k", "lower": "1", "upper": "10"}, "Combining", "= 770 + 165 ="),
    ("solve_equation", {"equation": "2*x**2 - 12*x + 10 = 0", "variable": "x"}, "4 \\cdot 2 \\cdot 10", "= 144 - 80 ="),
]


@pytest.mark.parametrize(("tool", "args", "kept", "intermediate"), INTERMEDIATE, ids=[c[0] for c in INTERMEDIATE])
def test_intermediate_values_are_written_out_and_can_be_left_out(tool, args, kept, intermediate):
    result = _call(tool, args)
    full = derive(tool, args, result)
    terse = derive(tool, args, result, show_intermediate=False)
    assert intermediate in full.text() and kept in full.text(), full.text()
    assert intermediate not in terse.text() and kept in terse.text(), terse.text()
    # the same equations are claimed and re-checked either way; only their written form differs
    assert [(c.lhs, c.rhs, c.at) for c in full.claims] == [(c.lhs, c.rhs, c.at) for c in terse.claims]
    assert all(c.holds() for c in terse.claims) and terse.answer == full.answer
    assert derive(tool, args, result).text() == full.text()  # the switch does not leak into later calls
