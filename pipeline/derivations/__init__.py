"""Symbolic step-by-step derivations of tool calls, one small module per tool family.

`derive(tool, arguments, result)` returns a `Derivation` (prose steps, checkable claims,
the boxed answer). Tools with computable steps get a real derivation; any other tool — or
a call whose inputs a derivation cannot handle — gets an honest one-step explanation
(`one_step=True`), which the dataset card counts separately.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pipeline.derivations import (
    calculus,
    combinatorics,
    equations,
    generic,
    geometry,
    linear_algebra,
    number_theory,
)
from pipeline.derivations.answers import Expected, expected_answer
from pipeline.derivations.base import (
    Claim,
    Derivation,
    DerivationError,
    intermediate_values,
    load_arguments,
    load_result,
)

log = logging.getLogger(__name__)

STEPWISE: dict[str, Callable[[dict[str, Any], Any], Derivation]] = {
    "differentiate": calculus.differentiate,
    "definite_integral": calculus.definite_integral,
    "integrate": calculus.integrate,
    "compute_limit": calculus.compute_limit,
    "summation": calculus.summation,
    "solve_equation": equations.solve_equation,
    "solve_linear_system": equations.solve_linear_system,
    "line_intersection": equations.line_intersection,
    "solve_univariate_inequality": equations.solve_univariate_inequality,
    "vieta_sums": equations.vieta_sums,
    "compute_determinant": linear_algebra.compute_determinant,
    "compute_eigenvalues": linear_algebra.compute_eigenvalues,
    "modular_inverse": number_theory.modular_inverse,
    "solve_linear_congruence": number_theory.solve_linear_congruence,
    "chinese_remainder": number_theory.chinese_remainder,
    "modular_power": number_theory.modular_power,
    "binomial_coefficient": combinatorics.binomial_coefficient,
    "permutations_count": combinatorics.permutations_count,
    "derangements_count": combinatorics.derangements_count,
    "distance": geometry.distance,
    "triangle_area_from_sides": geometry.triangle_area_from_sides,
    "triangle_area_from_vertices": geometry.triangle_area_from_vertices,
    "circumradius": geometry.circumradius,
    "inradius": geometry.inradius,
    "substitute_values": generic.substitute_values,
    "simplify_expression": generic.simplify_expression,
}

__all__ = ["STEPWISE", "Claim", "Derivation", "DerivationError", "Expected", "derive", "expected_answer", "tool_description"]


def tool_description(tool: str) -> str:
    try:
        from toolkit.registry import get_tool

        return get_tool(tool).description
    except Exception:
        return f"the computation {tool.replace('_', ' ')}"


def derive(
    tool: str, arguments: str | dict[str, Any], result: str | dict[str, Any], *, show_intermediate: bool = True
) -> Derivation:
    """A derivation of one successful tool call; raises DerivationError only for unusable input.

    `show_intermediate=False` leaves out the evaluated parts of multi-operation steps
    (`= 64 - 28 - 8` before `= 28`): the terse derivations, kept for ablations.
    """
    args = load_arguments(arguments)
    value = load_result(result)
    expected = expected_answer(tool, value)
    stepwise = STEPWISE.get(tool)
    if stepwise is not None:
        try:
            with intermediate_values(show_intermediate):
                return stepwise(args, value)
        except DerivationError as exc:
            log.debug("%s: no step-by-step derivation (%s); one step instead", tool, exc)
        except Exception as exc:  # a derivation bug must not lose the row: explain in one step
            log.warning("%s derivation failed on %s: %r", tool, args, exc)
    return generic.one_step(tool, args, expected, tool_description(tool))
