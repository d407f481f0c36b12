"""Equations: single equations, polynomial roots, linear and nonlinear systems."""

from __future__ import annotations

from typing import Literal

import sympy as sp

from toolkit.errors import tool_error
from toolkit.registry import Equation, Equations, Symbol, Symbols, tool
from toolkit.tools.algebra import free_symbol

Domain = Literal["real", "complex"]


def _as_expression(equation: sp.Basic) -> sp.Expr:
    return equation.lhs - equation.rhs if isinstance(equation, sp.Equality) else equation


def _system_symbols(equations: list[sp.Basic], variables: list[sp.Symbol] | None) -> list[sp.Symbol]:
    if variables:
        return list(variables)
    symbols = set().union(*(e.free_symbols for e in equations))
    if not symbols:
        raise tool_error("the equations have no variables", "Pass equations in variables such as x and y.")
    return sorted(symbols, key=lambda s: s.name)


def _finite_solutions(solution_set: sp.Set, variable: sp.Symbol) -> list[sp.Expr]:
    if isinstance(solution_set, sp.FiniteSet):
        return sorted(solution_set, key=sp.default_sort_key)
    if solution_set == sp.EmptySet:
        return []
    raise tool_error(
        f"the solutions are not a finite set: {solution_set}",
        f"Use reduce_inequalities / solve_univariate_inequality for intervals, or solve for {variable} on a restricted domain.",
    )


@tool("equations")
def solve_equation(equation: Equation, variable: Symbol | None = None, domain: Domain = "complex") -> list | sp.Basic:
    """Solve one equation for one variable. Returns the list of solutions, or a solution set
    (e.g. an infinite family for trigonometric equations).

    Args:
        equation: The equation, e.g. "x**2 - 5*x + 6 = 0" (a bare expression means "= 0").
        variable: The unknown (needed only with several symbols).
        domain: "complex" (default) or "real" to keep only real solutions.
    """
    variable = free_symbol(equation, variable)
    sympy_domain = sp.S.Reals if domain == "real" else sp.S.Complexes
    solutions = sp.solveset(equation, variable, domain=sympy_domain)
    if isinstance(solutions, sp.FiniteSet):
        return sorted(solutions, key=sp.default_sort_key)
    if solutions == sp.EmptySet:
        return []
    if isinstance(solutions, sp.ConditionSet):
        found = sp.solve(equation, variable)
        if found:
            return found
        raise tool_error(
            "no closed-form solution found",
            "Try find_roots for numerical roots, or rewrite the equation.",
        )
    # Name the integer parameters of infinite families n, m, ... instead of SymPy's dummies.
    dummies = sorted(solutions.atoms(sp.Dummy), key=sp.default_sort_key)
    names = iter(["n", "m", "k", "j"] + [f"n_{i}" for i in range(len(dummies))])
    return solutions.xreplace({d: sp.Symbol(next(names), integer=True) for d in dummies})


@tool("equations")
def find_roots(expression: Equation, variable: Symbol | None = None, digits: int = 15) -> list:
    """All roots of a univariate polynomial, or real roots of another function, as decimal numbers.

    Args:
        expression: A polynomial or function of one variable, e.g. "x**5 - x - 1" (its roots are where it is 0).
            An equation "lhs = rhs" is also accepted.
        variable: The variable (needed only with several symbols).
        digits: Significant digits of the numerical roots (default 15).
    """
    expression = _as_expression(expression)
    variable = free_symbol(expression, variable)
    if expression.is_polynomial(variable):
        return sorted(sp.Poly(expression, variable).nroots(n=digits), key=sp.default_sort_key)
    real = sp.solveset(expression, variable, sp.S.Reals)
    if isinstance(real, sp.FiniteSet) and real and all(r.is_number for r in real):
        return sorted((sp.N(r, digits) for r in real), key=sp.default_sort_key)
    raise tool_error(
        "no roots found in closed form",
        "Use solve_equation for exact solutions, or give a polynomial.",
    )


@tool("equations")
def polynomial_roots(expression: Equation, variable: Symbol | None = None) -> dict:
    """Exact roots of a polynomial with their multiplicities, e.g. (x-1)**2*(x+2) -> {1: 2, -2: 1}.

    Args:
        expression: A polynomial, e.g. "x**3 - 3*x + 2" (or an equation "lhs = rhs").
        variable: The variable (needed only with several symbols).
    """
    expression = _as_expression(expression)
    variable = free_symbol(expression, variable)
    poly = sp.Poly(expression, variable)
    if poly.degree() < 1:
        raise tool_error("a constant has no roots", "Pass a polynomial of degree at least 1.")
    roots = sp.roots(poly)
    if sum(roots.values()) < poly.degree():  # some roots have no radical form: exact CRootOf objects
        roots = {}
        for root in poly.all_roots():
            roots[root] = roots.get(root, 0) + 1
    return roots


@tool("equations")
def discriminant(expression: Equation, variable: Symbol | None = None) -> sp.Basic:
    """The discriminant of a polynomial (b**2 - 4*a*c for a quadratic a*x**2 + b*x + c).

    Args:
        expression: A polynomial of degree at least 2, e.g. "x**2 + p*x + q" (or an equation).
        variable: The variable (needed only with several symbols).
    """
    expression = _as_expression(expression)
    variable = free_symbol(expression, variable)
    if sp.degree(expression, variable) < 2:
        raise tool_error("the discriminant needs a polynomial of degree >= 2", "Check the expression's degree.")
    return sp.factor(sp.discriminant(expression, variable))


@tool("equations")
def vieta_sums(expression: Equation, variable: Symbol | None = None) -> dict:
    """Vieta's formulas: the elementary symmetric sums of a polynomial's roots, from its coefficients.

    Args:
        expression: A polynomial, e.g. "x**3 - 6*x**2 + 11*x - 6" (or an equation).
        variable: The variable (needed only with several symbols).
    """
    expression = _as_expression(expression)
    variable = free_symbol(expression, variable)
    coefficients = sp.Poly(expression, variable).all_coeffs()
    degree = len(coefficients) - 1
    if degree < 1:
        raise tool_error("a constant has no roots", "Pass a polynomial of degree at least 1.")
    leading = coefficients[0]
    sums = {f"e{k}": sp.simplify((-1) ** k * coefficients[k] / leading) for k in range(1, degree + 1)}
    result: dict = {"degree": degree, **sums, "sum_of_roots": sums["e1"]}
    if degree >= 2:
        result["sum_of_squares_of_roots"] = sp.simplify(sums["e1"] ** 2 - 2 * sums["e2"])
    result["product_of_roots"] = sums[f"e{degree}"]
    return result


@tool("equations")
def solve_linear_system(equations: Equations, variables: Symbols | None = None) -> dict:
    """Solve a system of linear equations exactly; free parameters appear for underdetermined systems.

    Args:
        equations: The equations, e.g. ["x + y = 3", "x - y = 1"].
        variables: The unknowns, e.g. ["x", "y"]; by default all symbols, in alphabetical order.
    """
    symbols = _system_symbols(equations, variables)
    try:
        solution = sp.linsolve([_as_expression(e) for e in equations], symbols)
    except (sp.polys.polyerrors.PolyNonlinearError, ValueError) as exc:
        raise tool_error(f"the system is not linear: {exc}", "Use solve_nonlinear_system.") from None
    if solution == sp.EmptySet:
        raise tool_error("the system has no solution (it is inconsistent)", "Check the equations; no values satisfy all of them.")
    (values,) = tuple(solution)
    return dict(zip(symbols, values, strict=True))


@tool("equations")
def solve_nonlinear_system(equations: Equations, variables: Symbols | None = None) -> list:
    """Solve a system of polynomial or other nonlinear equations; returns every solution found.

    Args:
        equations: The equations, e.g. ["x**2 + y**2 = 25", "x + y = 7"].
        variables: The unknowns, e.g. ["x", "y"]; by default all symbols, in alphabetical order.
    """
    symbols = _system_symbols(equations, variables)
    solutions = sp.solve(list(equations), symbols, dict=True)
    if not solutions:
        raise tool_error("no solution found", "The system may be inconsistent; check the equations.")
    return sorted(solutions, key=lambda s: sp.default_sort_key(tuple(s.get(v, v) for v in symbols)))
