"""Inequalities in one real variable: single, chained, and systems."""

from __future__ import annotations

import sympy as sp

from toolkit.errors import tool_error
from toolkit.registry import Relation, Relations, Symbol, tool
from toolkit.tools.algebra import free_symbol


def _solve_on_reals(relation: sp.Basic, variable: sp.Symbol) -> sp.Set:
    """Solution set of a relation (And = all hold, Or = any holds) over the reals."""
    if isinstance(relation, sp.And):
        return sp.Intersection(*(_solve_on_reals(r, variable) for r in relation.args))
    if isinstance(relation, sp.Or):
        return sp.Union(*(_solve_on_reals(r, variable) for r in relation.args))
    try:
        solution = sp.solveset(relation, variable, sp.S.Reals)
    except NotImplementedError:
        solution = None
    if solution is None or isinstance(solution, sp.ConditionSet):
        raise tool_error(f"no closed-form solution for {relation}", "Try simplifying it, or split it into cases.")
    return solution


def _solve(relations: list[sp.Basic], variable: sp.Symbol) -> dict:
    # Solving over the reals needs a real symbol; answers are reported in the caller's symbol.
    real = sp.Symbol(variable.name, real=True)
    solution = sp.Intersection(*(_solve_on_reals(r.subs(variable, real), real) for r in relations))
    solution = solution.subs(real, variable)
    return {"solution_set": solution, "condition": solution.as_relational(variable)}


@tool("inequalities")
def solve_univariate_inequality(inequality: Relation, variable: Symbol | None = None) -> dict:
    """Solve an inequality in one real variable; returns the solution as a set of intervals and as a condition.

    Args:
        inequality: The inequality, e.g. "x**2 - 5*x + 6 < 0", "Abs(x - 1) >= 2" or chained "1 < 2*x + 1 <= 5".
        variable: The variable (needed only with several symbols).
    """
    return _solve([inequality], free_symbol(inequality, variable))


@tool("inequalities")
def reduce_inequalities(inequalities: Relations, variable: Symbol | None = None) -> dict:
    """Solve a system of inequalities in one real variable (all must hold); returns intervals and a condition.

    Args:
        inequalities: The inequalities, e.g. ["x**2 < 9", "2*x + 1 > 0"].
        variable: The variable (needed only when the inequalities have several symbols).
    """
    if variable is None:
        symbols = set().union(*(r.free_symbols for r in inequalities))
        if len(symbols) != 1:
            raise tool_error(
                f"the inequalities must have exactly one variable, found {sorted(s.name for s in symbols)}",
                "Pass 'variable' and keep the other symbols as parameters.",
            )
        (variable,) = symbols
    return _solve(inequalities, variable)
