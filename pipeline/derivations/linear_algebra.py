"""Determinants by cofactor expansion (2×2 and 3×3) and eigenvalues from the characteristic polynomial."""

from __future__ import annotations

from typing import Any

import sympy as sp

from pipeline.derivations.base import (
    Builder,
    Derivation,
    DerivationError,
    expr,
    spelled_sum,
    tex,
    worked,
)


def _matrix(args: dict[str, Any]) -> sp.Matrix:
    rows = expr(args["matrix"])
    if not isinstance(rows, list) or not rows or any(not isinstance(r, list) or len(r) != len(rows) for r in rows):
        raise DerivationError("expected a square matrix")
    return sp.Matrix(rows)


def _det2_tex(m: sp.Matrix) -> str:
    return f"({tex(m[0, 0])})({tex(m[1, 1])}) - ({tex(m[0, 1])})({tex(m[1, 0])})"


def compute_determinant(args: dict[str, Any], result: Any) -> Derivation:
    m = _matrix(args)
    n = m.shape[0]
    b = Builder("compute_determinant")
    b.say(f"We compute the determinant of ${tex(m)}$.")
    if n == 2:
        value = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
        b.say("The two diagonal products are "
              + b.eq(sp.Mul(m[0, 0], m[1, 1], evaluate=False), sp.expand(m[0, 0] * m[1, 1]), lhs_tex=f"({tex(m[0, 0])})({tex(m[1, 1])})")
              + " and " + b.eq(sp.Mul(m[0, 1], m[1, 0], evaluate=False), sp.expand(m[0, 1] * m[1, 0]), lhs_tex=f"({tex(m[0, 1])})({tex(m[1, 0])})")
              + ".")
        b.say("For a $2 \\times 2$ matrix, $\\det = ad - bc$: " + b.eq(sp.Symbol("D"), sp.expand(value), lhs_tex=_det2_tex(m), at={"D": m.det()}) + ".")
    elif n == 3:
        b.say("Expanding along the first row (cofactor expansion with signs $+, -, +$):")
        terms = []
        for j in range(3):
            minor = m.minor_submatrix(0, j)
            minor_value = sp.expand(minor.det())
            b.say(f"the minor of the entry ${tex(m[0, j])}$ is " + b.eq(sp.Symbol("M"), minor_value, lhs_tex=_det2_tex(minor), at={"M": minor.det()}) + ";")
            terms.append((-1) ** j * m[0, j] * minor_value)
        value = sp.expand(sum(terms))
        shown = " + ".join(f"({tex((-1) ** j * m[0, j])})({tex(m.minor_submatrix(0, j).det())})" for j in range(3))
        b.say("so " + b.eq(sp.Symbol("D"), value, lhs_tex="\\det = " + worked(shown, spelled_sum(terms)), at={"D": m.det()}) + ".")
    else:
        raise DerivationError("cofactor expansion is written out for 2×2 and 3×3 matrices")
    if sp.simplify(value - expr(result)) != 0:
        raise DerivationError("the derivation does not reproduce the tool's determinant")
    return b.done(tex(value))


def compute_eigenvalues(args: dict[str, Any], result: Any) -> Derivation:
    m = _matrix(args)
    lam = sp.Symbol("lambda")
    if m.shape[0] > 3 or not isinstance(result, dict):
        raise DerivationError("eigenvalues are derived for matrices up to 3×3")
    b = Builder("compute_eigenvalues")
    char = sp.expand((m - lam * sp.eye(m.shape[0])).det())
    b.say(f"The eigenvalues of ${tex(m)}$ are the roots of the characteristic polynomial "
          + b.eq(sp.Symbol("P"), char, lhs_tex="P(\\lambda) = \\det(A - \\lambda I)", at={"P": (m - lam * sp.eye(m.shape[0])).det()}) + ".")
    factored = sp.factor(char)
    if factored != char:
        b.say(f"Factoring: {b.eq(char, factored)}.")
    roots = sp.roots(sp.Poly(char, lam))
    if sum(roots.values()) != m.shape[0]:
        raise DerivationError("the characteristic polynomial does not split")
    ordered = sorted(roots, key=lambda r: float(sp.re(sp.N(r))))
    b.say("Its roots are " + ", ".join(b.eq(sp.Symbol("P"), 0, lhs_tex=f"P({tex(r)})", at={"P": char.subs(lam, r)}) for r in ordered) + ".")
    expected = sorted((expr(k) for k in result), key=lambda r: float(sp.re(sp.N(r))))
    if len(expected) != len(ordered) or any(sp.simplify(a - c) != 0 for a, c in zip(expected, ordered, strict=True)):
        raise DerivationError("the derivation does not reproduce the tool's eigenvalues")
    # the tool lists eigenvalues in its own order (dict keys); keep that order
    return b.done(", ".join(tex(expr(k)) for k in result))
