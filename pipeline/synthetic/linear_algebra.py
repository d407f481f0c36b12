"""Linear-algebra families: determinants and eigenvalues of small integer matrices.

- `determinant`: a 2x2 or 3x3 determinant, or the value of a parameter `t` in one entry that
  makes the matrix singular (the determinant is linear in that entry, so `t` is unique).
- `eigenvalues`: an integer matrix `P D P^-1` with distinct integer eigenvalues, `P` a
  product of integer shears (determinant 1, so `P^-1` is an integer matrix too); asks for the
  largest, the smallest or the sum of squares of the eigenvalues.

Matrices are written as `\\begin{pmatrix} ... \\end{pmatrix}` and read back cell by cell.
"""

from __future__ import annotations

import random
import re
from typing import Any

import sympy as sp

from pipeline.latex import ReadError, code, from_tex, tex, value
from pipeline.synthetic.base import Answer, Call, Draft, Family, Policy, SolvingPlan
from pipeline.synthetic.common import and_list, answer, arith, integer_det, real_key, sorted_roots
from toolkit.parse import parse as parse_math


def _pmatrix(rows: list[list[Any]]) -> str:
    body = r" \\ ".join(" & ".join(tex(sp.sympify(v)) for v in row) for row in rows)
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


def _read_pmatrix(text: str) -> list[list[str]]:
    m = re.fullmatch(r"\s*\\begin\{pmatrix\}(.*)\\end\{pmatrix\}\s*", text, re.DOTALL)
    if not m:
        raise ReadError("not a matrix")
    rows = [[code(from_tex(cell)) for cell in row.split("&")] for row in m.group(1).split(r"\\")]
    if len({len(r) for r in rows}) != 1:
        raise ReadError("ragged matrix")
    return rows


# --------------------------------------------------------------------------- determinants


def _with_entry(matrix: list[list[Any]], i: int, j: int, v: Any) -> list[list[Any]]:
    return [[v if (r, c) == (i, j) else x for c, x in enumerate(row)] for r, row in enumerate(matrix)]


def _determinant_make(rng: random.Random, ask: str) -> Draft:
    n = rng.choice([2, 3, 3])
    while True:
        matrix: list[list[Any]] = [[rng.randint(-5, 9) for _ in range(n)] for _ in range(n)]
        if ask == "value":
            answer = sp.Integer(integer_det(matrix))
            break
        i, j = rng.randrange(n), rng.randrange(n)
        d0, d1 = (integer_det(_with_entry(matrix, i, j, v)) for v in (0, 1))
        if d1 != d0:  # det(t) = d0 + (d1 - d0) t is not constant
            answer = sp.Rational(-d0, d1 - d0)
            matrix[i][j] = "t"
            break
    return Draft({"M": _pmatrix(matrix)}, {"matrix": [[str(v) for v in row] for row in matrix]}, answer)


def _determinant_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    rows = _read_pmatrix(f["M"])
    if len(rows) != len(rows[0]):
        raise ReadError("not square")
    symbolic = any(parse_math(c).free_symbols for row in rows for c in row)
    if symbolic != (ask == "singular"):
        raise ReadError("parameter mismatch")
    given = {"matrix": rows, "M_tex": f["M"]}
    steps = ["Compute the determinant with `compute_determinant`."]
    if ask == "singular":
        steps[0] = "Compute the determinant as an expression in $t$ with `compute_determinant`."
        steps.append("The matrix is singular exactly when the determinant is zero: solve for $t$ with `solve_equation`.")
    return given, steps


def _determinant_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    result = yield Call("compute_determinant", {"matrix": g["matrix"]}, say=plan.pick("m0", [
        "I compute the determinant first.",
        "Let me expand the determinant.",
        f"First, $\\det {g['M_tex']}$.",
    ]))
    if plan.ask == "value":
        return answer(result, "The determinant is")
    det = value(result)
    solutions = yield Call("solve_equation", {"equation": f"{code(det)} = 0", "variable": "t"},
                           say=f"The determinant is ${tex(det)}$; it vanishes exactly when the matrix is singular, so I solve ${tex(det)} = 0$.")
    roots = sorted_roots(solutions)
    if len(roots) != 1:
        raise ReadError(f"expected one value of t, got {len(roots)}")
    return Answer(tex(roots[0]), say=f"The determinant is zero for $t = {tex(roots[0])}$.")


DETERMINANT = Family("determinant", "the determinant of a 2x2/3x3 matrix, or the parameter value that makes it singular",
                     tools=("compute_determinant", "solve_equation"), make=_determinant_make, read=_determinant_read, policy=_determinant_policy)


# --------------------------------------------------------------------------- eigenvalues


def _matmul(a: list[list[int]], b: list[list[int]]) -> list[list[int]]:
    return [[sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]


def _shear(n: int, i: int, j: int, c: int) -> list[list[int]]:
    m = [[int(r == s) for s in range(n)] for r in range(n)]
    m[i][j] = c
    return m


def _eigen_make(rng: random.Random, ask: str) -> Draft:
    n = rng.choice([2, 2, 3])
    eigenvalues = rng.sample(range(-5, 10), n)
    # A = P D P^-1 with P a product of integer shears (det 1), so A is an integer matrix.
    p, p_inverse = _shear(n, 0, 0, 1), _shear(n, 0, 0, 1)
    for _ in range(2 if n == 2 else 3):
        i, j = rng.sample(range(n), 2)
        c = rng.choice([-2, -1, 1, 2])
        p, p_inverse = _matmul(p, _shear(n, i, j, c)), _matmul(_shear(n, i, j, -c), p_inverse)
    d = [[eigenvalues[r] if r == s else 0 for s in range(n)] for r in range(n)]
    matrix = _matmul(_matmul(p, d), p_inverse)
    answer = {
        "largest": max(eigenvalues),
        "smallest": min(eigenvalues),
        "sum_squares": sum(v * v for v in eigenvalues),
    }[ask]
    return Draft({"M": _pmatrix(matrix)}, {"matrix": matrix, "eigenvalues": sorted(eigenvalues)}, sp.Integer(answer))


def _eigen_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    rows = _read_pmatrix(f["M"])
    if len(rows) != len(rows[0]) or any(parse_math(c).free_symbols for row in rows for c in row):
        raise ReadError("not a numeric square matrix")
    steps = ["Compute the eigenvalues with their multiplicities with `compute_eigenvalues`."]
    steps.append({
        "largest": "Take the largest eigenvalue.",
        "smallest": "Take the smallest eigenvalue.",
        "sum_squares": "Add the squares of the eigenvalues, each counted with its multiplicity, with `simplify_expression`.",
    }[ask])
    return {"matrix": rows, "M_tex": f["M"]}, steps


def _eigen_policy(plan: SolvingPlan) -> Policy:
    g = plan.given
    eigenvalues = yield Call("compute_eigenvalues", {"matrix": g["matrix"]}, say=plan.pick("e0", [
        "I compute the eigenvalues of the matrix.",
        "First, the eigenvalues and their multiplicities.",
        "Let me find the roots of the characteristic polynomial, i.e. the eigenvalues.",
    ]))
    if not isinstance(eigenvalues, dict) or not eigenvalues:
        raise ReadError(f"unexpected eigenvalues {eigenvalues!r}")
    pairs = sorted(((value(k), int(m)) for k, m in eigenvalues.items()), key=lambda kv: real_key(kv[0]))
    listing = and_list([f"${tex(v)}$" + (f" (multiplicity {m})" if m > 1 else "") for v, m in pairs])
    if plan.ask == "largest":
        return Answer(tex(pairs[-1][0]), say=f"The eigenvalues are {listing}; the largest is ${tex(pairs[-1][0])}$.")
    if plan.ask == "smallest":
        return Answer(tex(pairs[0][0]), say=f"The eigenvalues are {listing}; the smallest is ${tex(pairs[0][0])}$.")
    expression = " + ".join(f"{m}*({code(v)})**2" if m > 1 else f"({code(v)})**2" for v, m in pairs)
    total = yield arith(expression, say=f"The eigenvalues are {listing}. Now I add their squares.")
    return answer(total, "The squares of the eigenvalues add up to")


EIGEN = Family("eigenvalues", "eigenvalues of an integer 2x2/3x3 matrix: the largest, the smallest, the sum of squares",
               tools=("compute_eigenvalues", "simplify_expression"), make=_eigen_make, read=_eigen_read, policy=_eigen_policy)
