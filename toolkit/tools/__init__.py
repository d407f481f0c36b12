"""Every tool category; importing this package registers all tools."""

from toolkit.tools import (  # noqa: F401
    algebra,
    calculus,
    combinatorics,
    equations,
    geometry,
    inequalities,
    linear_algebra,
    number_theory,
)
