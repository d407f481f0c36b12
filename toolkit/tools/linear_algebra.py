"""Linear algebra: determinants, inverses, eigenvalues, null spaces, products and linear systems."""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic
import sympy as sp
from sympy.core.sorting import default_sort_key
from sympy.matrices.exceptions import MatrixError

from toolkit.errors import tool_error
from toolkit.registry import Matrix, Vector, tool

Exponent = Annotated[int, pydantic.Field(ge=-10_000, le=10_000)]

_SIMPLIFY_MAX_OPS = 200


def _tidy(value: sp.Basic) -> sp.Basic:
    """Simplify a symbolic entry when that is cheap; numbers are already exact and canonical."""
    if not isinstance(value, sp.Expr) or not value.free_symbols or sp.count_ops(value) > _SIMPLIFY_MAX_OPS:
        return value
    return sp.simplify(value)


def _tidy_matrix(matrix: sp.MatrixBase) -> sp.Matrix:
    return matrix.applyfunc(_tidy) if matrix.free_symbols else sp.Matrix(matrix)


def _flat(vector: sp.MatrixBase) -> list[sp.Basic]:
    return [_tidy(x) for x in vector]


def _shape(matrix: sp.MatrixBase) -> str:
    return f"{matrix.rows}x{matrix.cols}"


def _require_square(matrix: sp.MatrixBase, what: str) -> None:
    if matrix.rows != matrix.cols:
        raise tool_error(
            f"{what} needs a square matrix, but this one is {_shape(matrix)}",
            "Pass an n x n matrix as a list of n rows of n entries each, e.g. [[1, 2], [3, 4]]. "
            "For a non-square matrix use compute_rank, row_reduce or compute_nullspace.",
        )


def _require_invertible(matrix: sp.MatrixBase, what: str) -> None:
    if _tidy(matrix.det()) == 0:
        raise tool_error(
            f"the matrix is singular (its determinant is 0), so {what}",
            "Check the entries; compute_nullspace shows the dependency between columns, "
            "and solve_matrix_equation handles A x = b without an inverse.",
        )


def _sort_key(value: sp.Basic) -> tuple:
    if value.free_symbols:
        return (1, 0.0, 0.0, default_sort_key(value))
    try:
        number = complex(sp.N(value))
    except (TypeError, ValueError):
        return (1, 0.0, 0.0, default_sort_key(value))
    return (0, number.real, number.imag, default_sort_key(value))


def _no_closed_form(matrix: sp.MatrixBase) -> Exception:
    polynomial = matrix.charpoly(sp.Symbol("lambda"))
    approx = ""
    if not matrix.free_symbols:
        approx = "; numerically they are " + ", ".join(str(r) for r in polynomial.nroots(n=12))
    return tool_error(
        f"the eigenvalues have no closed form (characteristic polynomial {polynomial.as_expr()}){approx}",
        "Use the numerical values, or look for structure (block-triangular form) in the matrix.",
    )


@tool("linear_algebra")
def compute_determinant(matrix: Matrix) -> sp.Basic:
    """Determinant of a square matrix.

    Args:
        matrix: A square matrix as a list of rows, e.g. [["1", "2"], ["3", "4"]].
    """
    _require_square(matrix, "the determinant")
    return _tidy(matrix.det())


@tool("linear_algebra")
def compute_inverse(matrix: Matrix) -> sp.Matrix:
    """Inverse of a square, non-singular matrix, with exact entries.

    Args:
        matrix: A square matrix as a list of rows, e.g. [["2", "1"], ["1", "1"]].
    """
    _require_square(matrix, "the inverse")
    _require_invertible(matrix, "it has no inverse")
    return _tidy_matrix(matrix.inv())


@tool("linear_algebra")
def compute_eigenvalues(matrix: Matrix) -> dict:
    """Eigenvalues of a square matrix, exact, mapped to their algebraic multiplicities.

    Args:
        matrix: A square matrix as a list of rows, e.g. [["2", "1"], ["1", "2"]].
    """
    _require_square(matrix, "eigenvalues")
    try:
        eigenvalues = matrix.eigenvals()
    except MatrixError:
        raise _no_closed_form(matrix) from None
    if any(k.has(sp.CRootOf) for k in eigenvalues):
        raise _no_closed_form(matrix)
    return {_tidy(k): v for k, v in sorted(eigenvalues.items(), key=lambda kv: _sort_key(kv[0]))}


@tool("linear_algebra")
def compute_eigenvectors(matrix: Matrix) -> list:
    """Eigenvalues of a square matrix with their algebraic multiplicities and a basis of each eigenspace.

    Args:
        matrix: A square matrix as a list of rows, e.g. [["2", "0"], ["0", "3"]].
    """
    _require_square(matrix, "eigenvectors")
    try:
        triples = matrix.eigenvects()
    except MatrixError:
        raise _no_closed_form(matrix) from None
    if any(t[0].has(sp.CRootOf) for t in triples):
        raise _no_closed_form(matrix)
    triples = sorted(triples, key=lambda t: _sort_key(t[0]))
    return [
        {"eigenvalue": _tidy(value), "multiplicity": int(mult), "vectors": [_flat(v) for v in vectors]}
        for value, mult, vectors in triples
    ]


@tool("linear_algebra")
def compute_nullspace(matrix: Matrix) -> list:
    """A basis of the null space (kernel) of a matrix: the vectors x with A x = 0. An empty list means only x = 0.

    Args:
        matrix: A matrix (any shape) as a list of rows, e.g. [["1", "2"], ["2", "4"]].
    """
    return [_flat(v) for v in matrix.nullspace()]


@tool("linear_algebra")
def compute_rank(matrix: Matrix) -> int:
    """Rank of a matrix (any shape): the number of linearly independent rows or columns.

    Args:
        matrix: A matrix as a list of rows, e.g. [["1", "2", "3"], ["2", "4", "6"]].
    """
    return int(matrix.rank())


@tool("linear_algebra")
def compute_inner_product(u: Vector, v: Vector) -> sp.Basic:
    """Dot (inner) product u . v = u1*v1 + u2*v2 + ... of two vectors of the same length (no complex conjugation).

    Args:
        u: The first vector, e.g. ["1", "2", "3"].
        v: The second vector, of the same length, e.g. ["4", "5", "6"].
    """
    if len(u) != len(v):
        raise tool_error(
            f"the vectors have different lengths ({len(u)} and {len(v)})",
            "Pass two vectors with the same number of coordinates.",
        )
    return _tidy(sp.Add(*(a * b for a, b in zip(u, v, strict=True))))


@tool("linear_algebra")
def matrix_multiplication(matrix_a: Matrix, matrix_b: Matrix) -> sp.Matrix:
    """The matrix product A B (A on the left). A flat list is read as a column vector.

    Args:
        matrix_a: The left factor A, m x n, e.g. [["1", "2"], ["3", "4"]].
        matrix_b: The right factor B, n x p (its row count must equal A's column count), e.g. [["5"], ["6"]].
    """
    if matrix_a.cols != matrix_b.rows:
        raise tool_error(
            f"cannot multiply a {_shape(matrix_a)} matrix by a {_shape(matrix_b)} matrix: "
            f"A has {matrix_a.cols} columns but B has {matrix_b.rows} rows",
            "The number of columns of A must equal the number of rows of B; check the order of the "
            "factors or transpose one of them.",
        )
    return _tidy_matrix(matrix_a * matrix_b)


@tool("linear_algebra")
def row_reduce(matrix: Matrix) -> dict:
    """Reduced row echelon form (RREF) of a matrix, with its pivot columns (numbered from 1) and its rank.

    Args:
        matrix: A matrix (any shape) as a list of rows; for a linear system pass the augmented matrix [A | b].
    """
    reduced, pivots = matrix.rref()
    return {
        "rref": _tidy_matrix(reduced),
        "pivot_columns": [p + 1 for p in pivots],
        "rank": len(pivots),
    }


@tool("linear_algebra")
def matrix_power(matrix: Matrix, n: Exponent) -> sp.Matrix:
    """The integer power A**n of a square matrix; n = 0 gives the identity, a negative n a power of the inverse.

    Args:
        matrix: A square matrix as a list of rows, e.g. [["1", "1"], ["0", "1"]].
        n: The integer exponent, -10000 to 10000; negative needs an invertible matrix.
    """
    _require_square(matrix, "a matrix power")
    if n == 0:
        return sp.eye(matrix.rows)
    if n < 0:
        _require_invertible(matrix, "negative powers do not exist")
        return _tidy_matrix(matrix.inv() ** (-n))
    return _tidy_matrix(matrix**n)


@tool("linear_algebra")
def cross_product(u: Vector, v: Vector) -> list:
    """Cross product u x v of two 3-dimensional vectors.

    Args:
        u: The first vector, with 3 coordinates, e.g. ["1", "0", "0"].
        v: The second vector, with 3 coordinates, e.g. ["0", "1", "0"].
    """
    if len(u) != 3 or len(v) != 3:
        raise tool_error(
            f"the cross product needs two 3-dimensional vectors, got lengths {len(u)} and {len(v)}",
            "Pass vectors with exactly 3 coordinates; for 2-D vectors append a 0 as the third coordinate.",
        )
    return _flat(sp.Matrix(u).cross(sp.Matrix(v)))


@tool("linear_algebra")
def vector_norm(vector: Vector, ord: Literal["2", "1", "inf"] = "2") -> sp.Basic:
    """Norm of a vector: Euclidean length by default, or the 1-norm or the max-norm. Variables are taken to be real.

    Args:
        vector: The vector, e.g. ["3", "4"].
        ord: "2" for the Euclidean length sqrt(sum of squares) (default), "1" for the sum of absolute values, "inf" for the largest absolute value.
    """
    real = {s: sp.Dummy(s.name, real=True) for s in set().union(*(x.free_symbols for x in vector))}
    back = {r: s for s, r in real.items()}
    entries = [sp.Abs(x.xreplace(real)) for x in vector]
    if ord == "2":
        norm = sp.sqrt(sp.Add(*(e**2 for e in entries)))
    elif ord == "1":
        norm = sp.Add(*entries)
    else:
        norm = sp.Max(*entries)
    return _tidy(norm.xreplace(back)) if back else norm


@tool("linear_algebra")
def solve_matrix_equation(matrix: Matrix, rhs: Vector) -> dict:
    """Solve the linear system A x = b exactly. Returns the solution vector x, whether it is unique, and the free parameters of a parametric (infinitely many) solution; an inconsistent system is an error.

    Args:
        matrix: The coefficient matrix A (m x n, any shape), e.g. [["1", "1"], ["1", "-1"]].
        rhs: The right-hand side b, a flat list of m entries, e.g. ["3", "1"].
    """
    if len(rhs) != matrix.rows:
        raise tool_error(
            f"A is {_shape(matrix)} but b has {len(rhs)} entries",
            f"b needs one entry per row of A ({matrix.rows}).",
        )
    try:
        solution, params = matrix.gauss_jordan_solve(sp.Matrix(rhs))
    except ValueError as exc:
        if "no solution" not in str(exc):
            raise
        raise tool_error(
            "no solution: the system A x = b is inconsistent",
            "Row-reduce the augmented matrix [A | b] with row_reduce to see the contradictory equation 0 = c.",
        ) from None
    taken = {s.name for s in matrix.free_symbols | set().union(*(x.free_symbols for x in rhs))}
    names = (f"{letter}{i}" for letter in "tsuvw" for i in range(1, 100))
    renamed = {}
    for tau in params:
        name = next(n for n in names if n not in taken)
        renamed[tau] = sp.Symbol(name)
    solution = solution.xreplace(renamed)
    return {
        "solution": _flat(solution),
        "unique": not params,
        "free_parameters": list(renamed.values()),
    }
