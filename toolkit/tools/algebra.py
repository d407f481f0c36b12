"""Algebra: simplification, expansion, factoring and rewriting of expressions."""

from __future__ import annotations

from typing import Annotated

import pydantic
import sympy as sp

from toolkit.errors import tool_error
from toolkit.registry import Expression, Substitutions, Symbol, Symbols, tool

Digits = Annotated[int, pydantic.Field(ge=1, le=1000)]


def free_symbol(expression: sp.Basic, variable: sp.Symbol | None) -> sp.Symbol:
    """The variable to work in: the one given, or the expression's only free symbol."""
    if variable is not None:
        return variable
    symbols = sorted(expression.free_symbols, key=lambda s: s.name)
    if len(symbols) == 1:
        return symbols[0]
    if not symbols:
        raise tool_error("the expression has no variable", "Pass an expression in a variable, e.g. x**2 - 1.")
    names = ", ".join(s.name for s in symbols)
    raise tool_error(f"the expression has several variables ({names})", "Pass 'variable' to say which one to use.")


@tool("algebra")
def simplify_expression(expression: Expression) -> sp.Basic:
    """Simplify an expression to its simplest equivalent form.

    Args:
        expression: The expression to simplify, e.g. "(x**2 - 1)/(x - 1)".
    """
    return sp.simplify(expression)


@tool("algebra")
def expand_expression(expression: Expression) -> sp.Basic:
    """Expand products and integer powers of sums, e.g. (x + 1)**2 -> x**2 + 2*x + 1.

    Args:
        expression: The expression to expand.
    """
    return sp.expand(expression)


@tool("algebra")
def factor_expression(expression: Expression) -> sp.Basic:
    """Factor a polynomial or rational expression over the rationals (integers for numbers).

    Args:
        expression: The expression to factor, e.g. "x**2 - 5*x + 6". An integer is factored into primes.
    """
    if expression.is_Integer and abs(expression) > 1:
        # An unevaluated product of prime powers, e.g. 2**3*3**2*5.
        return sp.Mul(*(sp.Pow(p, e, evaluate=False) if e > 1 else p for p, e in sp.factorint(expression).items()), evaluate=False)
    return sp.factor(expression)


@tool("algebra")
def cancel_expression(expression: Expression) -> sp.Basic:
    """Cancel common factors of a rational expression's numerator and denominator.

    Args:
        expression: A rational expression, e.g. "(x**2 - 1)/(x**2 + 2*x + 1)".
    """
    return sp.cancel(expression)


@tool("algebra")
def partial_fractions(expression: Expression, variable: Symbol | None = None) -> sp.Basic:
    """Decompose a rational function into partial fractions.

    Args:
        expression: A rational function, e.g. "1/(x**2 - 1)".
        variable: The variable of the rational function (needed only with several symbols).
    """
    return sp.apart(expression, free_symbol(expression, variable))


@tool("algebra")
def collect_terms(expression: Expression, variable: Symbol) -> sp.Basic:
    """Collect the terms of an expression by powers of a variable.

    Args:
        expression: The expression, e.g. "a*x + b*x**2 + c*x".
        variable: The variable whose powers are collected, e.g. "x".
    """
    return sp.collect(sp.expand(expression), variable)


@tool("algebra")
def combine_fractions(expression: Expression) -> sp.Basic:
    """Combine a sum of fractions over a common denominator (SymPy's together).

    Args:
        expression: A sum of fractions, e.g. "1/x + 1/(x + 1)".
    """
    return sp.together(expression)


@tool("algebra")
def simplify_trigonometric(expression: Expression) -> sp.Basic:
    """Simplify a trigonometric expression with trigonometric identities.

    Args:
        expression: e.g. "sin(x)**2 + cos(x)**2" or "sin(2*x)/cos(x)".
    """
    return sp.trigsimp(sp.simplify(expression))


@tool("algebra")
def expand_trigonometric(expression: Expression) -> sp.Basic:
    """Expand trigonometric functions of sums and multiples, e.g. sin(2*x) -> 2*sin(x)*cos(x).

    Args:
        expression: A trigonometric expression, e.g. "cos(a + b)".
    """
    return sp.expand_trig(expression)


@tool("algebra")
def rationalize_denominator(expression: Expression) -> sp.Basic:
    """Remove square roots from a denominator, e.g. 1/(1 + sqrt(2)) -> -1 + sqrt(2).

    Args:
        expression: A fraction with radicals in its denominator.
    """
    return sp.radsimp(expression)


@tool("algebra")
def substitute_values(expression: Expression, values: Substitutions) -> sp.Basic:
    """Substitute values (numbers or expressions) for variables and simplify the result.

    Args:
        expression: The expression, e.g. "x**2 + y".
        values: A mapping from variable to value, e.g. {"x": "2", "y": "1/3"}.
    """
    return sp.simplify(expression.subs(values))


@tool("algebra")
def evaluate_numerically(expression: Expression, digits: Digits = 15) -> sp.Basic:
    """Evaluate an expression to a decimal number with the given number of significant digits.

    Args:
        expression: An expression without free variables, e.g. "sqrt(2) + pi".
        digits: Significant digits, 1 to 1000 (default 15).
    """
    if expression.free_symbols:
        names = ", ".join(sorted(s.name for s in expression.free_symbols))
        raise tool_error(f"the expression still has variables ({names})", "Substitute values first with substitute_values.")
    value = sp.N(expression, digits)
    if value.has(sp.zoo, sp.nan):
        raise tool_error(f"{expression} is undefined", "Check for division by zero.")
    return value


@tool("algebra")
def polynomial_representation(expression: Expression, variables: Symbols | None = None) -> dict:
    """Write an expression as a polynomial in the given variables, with its generators and domain.

    Args:
        expression: A polynomial expression, e.g. "(x + 2)*(x - 3)".
        variables: The polynomial's variables, e.g. ["x"]; by default all free symbols.
    """
    poly = sp.Poly(expression, *(variables or []))
    return {"polynomial": poly.as_expr(), "variables": list(poly.gens), "domain": str(poly.domain)}


@tool("algebra")
def polynomial_degree(expression: Expression, variable: Symbol | None = None) -> int:
    """The degree of a polynomial in a variable.

    Args:
        expression: A polynomial, e.g. "3*x**4 - x + 1".
        variable: The variable (needed only with several symbols).
    """
    return sp.degree(expression, gen=free_symbol(expression, variable))


@tool("algebra")
def polynomial_coefficients(expression: Expression, variable: Symbol | None = None) -> list:
    """The coefficients of a polynomial in a variable, from the highest power down to the constant.

    Args:
        expression: A polynomial, e.g. "2*x**3 - x + 5".
        variable: The variable (needed only with several symbols).
    """
    return sp.Poly(expression, free_symbol(expression, variable)).all_coeffs()
