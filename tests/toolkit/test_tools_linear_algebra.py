"""Linear-algebra tools, called through the registry exactly as a model would call them.

Expected answers are worked out by hand. Matrices come back as lists of rows, vectors as flat
lists; entries are JSON numbers or SymPy-syntax strings, compared by parsing them back.
"""

from __future__ import annotations

from typing import Any

import pytest
import sympy as sp

from tests.toolkit.helpers import assert_registered, assert_tool_error, result_of
from toolkit.parse import parse_expression
from toolkit.registry import execute

LINEAR_ALGEBRA_TOOLS = {
    "compute_determinant",
    "compute_inverse",
    "compute_eigenvalues",
    "compute_eigenvectors",
    "compute_nullspace",
    "compute_rank",
    "compute_inner_product",
    "matrix_multiplication",
    "row_reduce",
    "matrix_power",
    "cross_product",
    "vector_norm",
    "solve_matrix_equation",
}

A = [["1", "2"], ["3", "4"]]
SINGULAR = [["1", "2"], ["2", "4"]]
NON_SQUARE = [["1", "2", "3"], ["4", "5", "6"]]
# Companion matrix of x^5 - x - 1, whose roots have no expression in radicals.
QUINTIC = [
    ["0", "1", "0", "0", "0"],
    ["0", "0", "1", "0", "0"],
    ["0", "0", "0", "1", "0"],
    ["0", "0", "0", "0", "1"],
    ["1", "1", "0", "0", "0"],
]


def value(entry: Any) -> sp.Expr:
    return parse_expression(str(entry))


def same(got: Any, expected: Any) -> bool:
    a, b = value(got), value(expected)
    return a == b or sp.simplify(a - b) == 0


def same_vector(got: list, expected: list) -> bool:
    return len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected, strict=True))


def same_matrix(got: list, expected: list) -> bool:
    return len(got) == len(expected) and all(same_vector(g, e) for g, e in zip(got, expected, strict=True))


def same_span(got: list[list], expected: list[list]) -> bool:
    """The two lists of vectors are bases of the same subspace."""
    if not expected:
        return got == []
    g = sp.Matrix([[value(e) for e in v] for v in got])
    e = sp.Matrix([[value(x) for x in v] for v in expected])
    return len(got) == len(expected) == g.rank() == e.rank() == g.col_join(e).rank()


# ------------------------------------------------------------------------------- registry


def test_linear_algebra_tools_are_registered_with_documented_parameters() -> None:
    assert_registered("linear_algebra", LINEAR_ALGEBRA_TOOLS)


@pytest.mark.parametrize(
    "name",
    ["compute_determinant", "compute_inverse", "compute_eigenvalues", "compute_eigenvectors", "matrix_power"],
)
def test_square_only_tools_reject_non_square(name: str) -> None:
    args: dict[str, Any] = {"matrix": NON_SQUARE}
    if name == "matrix_power":
        args["n"] = 2
    error = assert_tool_error(name, args, "square", "2x3")
    assert "n x n" in error["hint"]


# ---------------------------------------------------------------------------- determinant


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        (A, "-2"),
        ([["2", "0", "0"], ["0", "3", "0"], ["0", "0", "4"]], "24"),
        ([["1", "2", "3"], ["4", "5", "6"], ["7", "8", "10"]], "-3"),  # 2 + 4 - 9
        ([["a", "b"], ["c", "d"]], "a d - b c"),
        (SINGULAR, "0"),  # edge: singular
        ([["1/2", "1/3"], ["1/4", "1/5"]], "1/10 - 1/12"),
        ([[5]], "5"),  # edge: 1 x 1, plain JSON number
    ],
)
def test_compute_determinant(matrix: list, expected: str) -> None:
    assert same(result_of("compute_determinant", {"matrix": matrix}), expected)


# -------------------------------------------------------------------------------- inverse


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        (A, [["-2", "1"], ["3/2", "-1/2"]]),  # (1/-2) [[4, -2], [-3, 1]]
        ([["2", "1"], ["1", "1"]], [["1", "-1"], ["-1", "2"]]),
        ([["0.5", "0"], ["0", "4"]], [["2", "0"], ["0", "1/4"]]),  # decimals are read exactly
        ([["a", "0"], ["0", "b"]], [["1/a", "0"], ["0", "1/b"]]),
    ],
)
def test_compute_inverse(matrix: list, expected: list) -> None:
    assert same_matrix(result_of("compute_inverse", {"matrix": matrix}), expected)


def test_compute_inverse_of_singular_matrix() -> None:
    assert_tool_error("compute_inverse", {"matrix": SINGULAR}, "singular")


# ---------------------------------------------------------------------------- eigenvalues


def same_eigenvalues(got: dict, expected: dict) -> bool:
    if len(got) != len(expected):
        return False
    remaining = dict(got)
    for eigenvalue, multiplicity in expected.items():
        match = next((k for k in remaining if same(k, eigenvalue)), None)
        if match is None or remaining.pop(match) != multiplicity:
            return False
    return True


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ([["2", "1"], ["1", "2"]], {"1": 1, "3": 1}),
        ([["1", "1"], ["0", "1"]], {"1": 2}),  # edge: repeated (defective)
        ([["0", "-1"], ["1", "0"]], {"I": 1, "-I": 1}),  # edge: complex
        ([["1", "1"], ["1", "0"]], {"(1 + sqrt(5))/2": 1, "(1 - sqrt(5))/2": 1}),
        ([["2", "0", "0"], ["0", "2", "0"], ["0", "0", "5"]], {"2": 2, "5": 1}),
    ],
)
def test_compute_eigenvalues(matrix: list, expected: dict) -> None:
    assert same_eigenvalues(result_of("compute_eigenvalues", {"matrix": matrix}), expected)


def test_compute_eigenvalues_without_closed_form() -> None:
    error = assert_tool_error("compute_eigenvalues", {"matrix": QUINTIC}, "no closed form", "1.1673")
    assert "lambda**5 - lambda - 1" in error["message"]


# --------------------------------------------------------------------------- eigenvectors


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ([["2", "0"], ["0", "3"]], [("2", 1, [["1", "0"]]), ("3", 1, [["0", "1"]])]),
        ([["2", "1"], ["1", "2"]], [("1", 1, [["1", "-1"]]), ("3", 1, [["1", "1"]])]),
        ([["1", "1"], ["0", "1"]], [("1", 2, [["1", "0"]])]),  # edge: defective, one eigenvector
        (
            [["1", "0", "0"], ["0", "1", "0"], ["0", "0", "2"]],
            [("1", 2, [["1", "0", "0"], ["0", "1", "0"]]), ("2", 1, [["0", "0", "1"]])],
        ),
    ],
)
def test_compute_eigenvectors(matrix: list, expected: list) -> None:
    got = result_of("compute_eigenvectors", {"matrix": matrix})
    assert len(got) == len(expected)
    for entry in got:
        match = [e for e in expected if same(entry["eigenvalue"], e[0])]
        assert len(match) == 1, (entry, expected)
        _, multiplicity, vectors = match[0]
        assert entry["multiplicity"] == multiplicity
        assert all(isinstance(c, int | str) for v in entry["vectors"] for c in v)  # flat lists
        assert same_span(entry["vectors"], vectors)


# ------------------------------------------------------------------------------ nullspace


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        (SINGULAR, [["-2", "1"]]),
        (NON_SQUARE, [["1", "-2", "1"]]),  # x - 2y + z = 0 fits both rows
        (A, []),  # edge: invertible, only x = 0
        ([["0", "0"], ["0", "0"]], [["1", "0"], ["0", "1"]]),  # edge: zero matrix
    ],
)
def test_compute_nullspace(matrix: list, expected: list) -> None:
    assert same_span(result_of("compute_nullspace", {"matrix": matrix}), expected)


# ----------------------------------------------------------------------------------- rank


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ([["1", "2", "3"], ["2", "4", "6"]], 1),
        (A, 2),
        ([["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"]], 2),  # row3 = 2 row2 - row1
        (NON_SQUARE, 2),
        ([[0, 0], [0, 0]], 0),  # edge: zero matrix
    ],
)
def test_compute_rank(matrix: list, expected: int) -> None:
    assert result_of("compute_rank", {"matrix": matrix}) == expected


# -------------------------------------------------------------------------- inner product


@pytest.mark.parametrize(
    ("u", "v", "expected"),
    [
        (["1", "2", "3"], ["4", "5", "6"], "32"),
        (["1", "0"], ["0", "1"], "0"),  # edge: orthogonal
        (["1/2", "1/3"], ["2", "3"], "2"),
        (["a", "b"], ["c", "d"], "a c + b d"),
        ([1, -1], [1, 1], "0"),
    ],
)
def test_compute_inner_product(u: list, v: list, expected: str) -> None:
    assert same(result_of("compute_inner_product", {"u": u, "v": v}), expected)


def test_compute_inner_product_length_mismatch() -> None:
    assert_tool_error("compute_inner_product", {"u": [1, 2], "v": [1, 2, 3]}, "different lengths")


# ------------------------------------------------------------------- matrix_multiplication


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (A, [["5", "6"], ["7", "8"]], [["19", "22"], ["43", "50"]]),
        ([["1", "2", "3"]], [["1"], ["2"], ["3"]], [["14"]]),
        ([["1"], ["2"]], [["3", "4"]], [["3", "4"], ["6", "8"]]),  # outer product
        (A, ["5", "6"], [["17"], ["39"]]),  # a flat list is a column vector
        ([["a", "0"], ["0", "b"]], [["1", "1"], ["1", "1"]], [["a", "a"], ["b", "b"]]),
    ],
)
def test_matrix_multiplication(a: list, b: list, expected: list) -> None:
    assert same_matrix(result_of("matrix_multiplication", {"matrix_a": a, "matrix_b": b}), expected)


def test_matrix_multiplication_shape_mismatch() -> None:
    args = {"matrix_a": A, "matrix_b": [["1", "2", "3"]]}
    assert_tool_error("matrix_multiplication", args, "2x2", "1x3")


# ------------------------------------------------------------------------------ row_reduce


@pytest.mark.parametrize(
    ("matrix", "rref", "pivots"),
    [
        ([["1", "2", "3"], ["2", "4", "7"]], [["1", "2", "0"], ["0", "0", "1"]], [1, 3]),
        (A, [["1", "0"], ["0", "1"]], [1, 2]),
        ([["2", "4", "6"], ["1", "1", "1"]], [["1", "0", "-1"], ["0", "1", "2"]], [1, 2]),
        ([["0", "0"], ["0", "0"]], [["0", "0"], ["0", "0"]], []),  # edge: zero matrix
    ],
)
def test_row_reduce(matrix: list, rref: list, pivots: list) -> None:
    got = result_of("row_reduce", {"matrix": matrix})
    assert same_matrix(got["rref"], rref)
    assert got["pivot_columns"] == pivots
    assert got["rank"] == len(pivots)


# ---------------------------------------------------------------------------- matrix_power


@pytest.mark.parametrize(
    ("matrix", "n", "expected"),
    [
        ([["1", "1"], ["1", "0"]], 10, [["89", "55"], ["55", "34"]]),  # Fibonacci F11, F10, F9
        ([["1", "1"], ["0", "1"]], 100, [["1", "100"], ["0", "1"]]),
        (A, 0, [["1", "0"], ["0", "1"]]),  # edge: identity
        (A, -1, [["-2", "1"], ["3/2", "-1/2"]]),  # edge: negative power = inverse
        ([["2", "0"], ["0", "3"]], -2, [["1/4", "0"], ["0", "1/9"]]),
        ([["a", "1"], ["0", "a"]], 3, [["a^3", "3a^2"], ["0", "a^3"]]),
    ],
)
def test_matrix_power(matrix: list, n: int, expected: list) -> None:
    assert same_matrix(result_of("matrix_power", {"matrix": matrix, "n": n}), expected)


def test_matrix_power_negative_of_singular() -> None:
    assert_tool_error("matrix_power", {"matrix": SINGULAR, "n": -2}, "singular")


def test_matrix_power_exponent_out_of_range() -> None:
    payload = execute("matrix_power", {"matrix": A, "n": 10**6})
    assert payload["error"]["type"] == "invalid_arguments"


# --------------------------------------------------------------------------- cross_product


@pytest.mark.parametrize(
    ("u", "v", "expected"),
    [
        (["1", "0", "0"], ["0", "1", "0"], ["0", "0", "1"]),  # i x j = k
        (["1", "2", "3"], ["4", "5", "6"], ["-3", "6", "-3"]),  # (12-15, 12-6, 5-8)
        (["1", "2", "3"], ["2", "4", "6"], ["0", "0", "0"]),  # edge: parallel
        (["a", "0", "0"], ["0", "b", "0"], ["0", "0", "a b"]),
    ],
)
def test_cross_product(u: list, v: list, expected: list) -> None:
    assert same_vector(result_of("cross_product", {"u": u, "v": v}), expected)


def test_cross_product_needs_three_dimensions() -> None:
    assert_tool_error("cross_product", {"u": ["1", "0"], "v": ["0", "1"]}, "3-dimensional")


# ----------------------------------------------------------------------------- vector_norm


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"vector": ["3", "4"]}, "5"),
        ({"vector": ["1", "2", "2"]}, "3"),
        ({"vector": ["1", "1"]}, "sqrt(2)"),
        ({"vector": ["3", "-4"], "ord": "1"}, "7"),
        ({"vector": ["3", "-4"], "ord": "inf"}, "4"),
        ({"vector": ["0", "0", "0"]}, "0"),  # edge: zero vector
        ({"vector": ["x", "y"]}, "sqrt(x^2 + y^2)"),  # variables are real
    ],
)
def test_vector_norm(args: dict, expected: str) -> None:
    assert same(result_of("vector_norm", args), expected)


def test_vector_norm_rejects_unknown_order() -> None:
    payload = execute("vector_norm", {"vector": ["1", "1"], "ord": "3"})
    assert payload["error"]["type"] == "invalid_arguments"


# ------------------------------------------------------------------- solve_matrix_equation


@pytest.mark.parametrize(
    ("matrix", "rhs", "expected"),
    [
        ([["1", "1"], ["1", "-1"]], ["3", "1"], ["2", "1"]),
        ([["2", "1", "-1"], ["-3", "-1", "2"], ["-2", "1", "2"]], ["8", "-11", "-3"], ["2", "3", "-1"]),
        ([["1", "0"], ["0", "1"], ["1", "1"]], ["1", "2", "3"], ["1", "2"]),  # edge: overdetermined, consistent
        ([["0.5", "0"], ["0", "2"]], ["1", "1"], ["2", "1/2"]),
    ],
)
def test_solve_matrix_equation_unique(matrix: list, rhs: list, expected: list) -> None:
    got = result_of("solve_matrix_equation", {"matrix": matrix, "rhs": rhs})
    assert got["unique"] is True
    assert got["free_parameters"] == []
    assert same_vector(got["solution"], expected)


def test_solve_matrix_equation_parametric() -> None:
    # x + 2y = 1 (twice): y = t free, x = 1 - 2t.
    got = result_of("solve_matrix_equation", {"matrix": SINGULAR, "rhs": ["1", "2"]})
    assert got["unique"] is False
    assert len(got["free_parameters"]) == 1
    t = value(got["free_parameters"][0])
    solution = [value(s) for s in got["solution"]]
    assert sp.simplify(solution[0] - (1 - 2 * solution[1])) == 0
    assert t in solution[1].free_symbols
    # Each value of the parameter solves both equations.
    for row, b in ((1, 1), (2, 2)):
        assert sp.expand(row * solution[0] + 2 * row * solution[1] - b) == 0


def test_solve_matrix_equation_inconsistent() -> None:
    assert_tool_error("solve_matrix_equation", {"matrix": SINGULAR, "rhs": ["1", "3"]}, "no solution")


def test_solve_matrix_equation_wrong_rhs_length() -> None:
    assert_tool_error("solve_matrix_equation", {"matrix": A, "rhs": ["1", "2", "3"]}, "3 entries")
