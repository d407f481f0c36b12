"""Strict parsing of model-written mathematics into SymPy objects: the API the tools call.

No Python is evaluated. The reader (`toolkit.reader`: text, token and AST stages) interprets
a vetted AST against a whitelist of SymPy names and rejects anything that is not
mathematics with a hint the model can act on; LaTeX goes through latex2sympy2_extended,
which evaluates nothing either. How each stage works is told there.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

import sympy as sp
from sympy.core.relational import Relational

from toolkit.errors import ToolError, parse_error
from toolkit.reader import (
    _LONE_EQUALS,
    CONSTANTS,
    DANGEROUS_NAMES,
    FUNCTIONS,
    MAX_AST_NODES,
    MAX_RESULT_DIGITS,
    MAX_TEXT_CHARS,
    SYNTAX_HINT,
    _check_text,
    _insert_products,
    _Interpreter,
    _normalise,
    _tokens,
    _vet_token,
    _wrap_factorials,
)

__all__ = [
    "CONSTANTS",
    "DANGEROUS_NAMES",
    "FUNCTIONS",
    "MAX_AST_NODES",
    "MAX_RESULT_DIGITS",
    "MAX_TEXT_CHARS",
    "SYNTAX_HINT",
    "parse",
    "parse_element",
    "parse_equation",
    "parse_error",
    "parse_expression",
    "parse_list",
    "parse_matrix",
    "parse_relation",
    "parse_substitutions",
    "parse_symbol",
    "parse_vector",
    "tool_error_for_trivial",
]


# --------------------------------------------------------------------------- public API


def _parse_latex(text: str) -> Any:
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig, latex2sympy

    try:
        value = latex2sympy(text, conversion_config=ConversionConfig(lowercase_symbols=False))
    except Exception as exc:  # the LaTeX grammar raises many exception types
        raise parse_error(f"cannot read the LaTeX {text!r}: {exc}", SYNTAX_HINT) from None
    if not isinstance(value, sp.Basic):
        raise parse_error(f"the LaTeX {text!r} is not a single expression", SYNTAX_HINT)
    # Same conventions as plain text: exact decimals, evaluated (canonical) form.
    value = value.xreplace({f: sp.Rational(str(f)) for f in value.atoms(sp.Float)})
    return _reevaluate(value)


def _reevaluate(value: sp.Basic) -> sp.Basic:
    if not value.args or isinstance(value, sp.MatrixBase):
        return value
    return value.func(*(_reevaluate(a) for a in value.args))


def parse(text: Any, *, functions: Iterable[str] = (), what: str = "expression") -> Any:
    """Parse text into a SymPy object, a relational, or (for `[...]`) a nested list."""
    text = _check_text(text, what)
    if "\\" in text:
        return _parse_latex(text)
    text = _normalise(text)
    sides = _LONE_EQUALS.split(text)
    if len(sides) == 2:
        lhs = _parse_plain(sides[0], functions, what)
        rhs = _parse_plain(sides[1], functions, what)
        if isinstance(lhs, list) or isinstance(rhs, list):
            raise parse_error("an equation must have expressions on both sides", SYNTAX_HINT)
        return sp.Eq(lhs, rhs)
    if len(sides) > 2:
        raise parse_error(f"{what} has more than one '='", "Pass one equation at a time, or use a list.")
    return _parse_plain(text, functions, what)


def _parse_plain(text: str, functions: Iterable[str], what: str) -> Any:
    if not text.strip():
        raise parse_error(f"{what} has an empty side", SYNTAX_HINT)
    tokens = _tokens(text)
    for tok in tokens:
        _vet_token(tok)
    strings = _insert_products(_wrap_factorials([t.string for t in tokens]), functions)
    source = " ".join(strings)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise parse_error(f"cannot parse {text!r}: {exc.msg}", SYNTAX_HINT) from None
    except (RecursionError, MemoryError):
        raise parse_error("expression nested too deeply", "Simplify the input.") from None
    try:
        return _Interpreter(functions).run(tree)
    except RecursionError:
        raise parse_error("expression nested too deeply", "Simplify the input.") from None
    except ZeroDivisionError:
        raise parse_error("division by zero", "Check the denominators.") from None


def parse_expression(text: Any, *, functions: Iterable[str] = (), what: str = "expression") -> sp.Expr:
    value = parse(text, functions=functions, what=what)
    if isinstance(value, list):
        raise parse_error(f"{what} must be a single expression, not a list", SYNTAX_HINT)
    if isinstance(value, Relational | sp.And | sp.Or):
        raise parse_error(
            f"{what} must be an expression, not an equation or inequality",
            "Pass only the expression; use the equation or inequality tools for relations.",
        )
    if not isinstance(value, sp.Basic):
        raise parse_error(f"{what} did not parse to an expression", SYNTAX_HINT)
    return value


def parse_equation(text: Any, *, functions: Iterable[str] = (), what: str = "equation") -> sp.Basic:
    """An equation as `lhs = rhs`, `Eq(lhs, rhs)` or a bare expression meaning `expr = 0`."""
    value = parse(text, functions=functions, what=what)
    if isinstance(value, sp.Equality):
        return value
    if isinstance(value, Relational | sp.And | sp.Or):
        raise parse_error(f"{what} is an inequality, not an equation", "Use the inequality tools for <, <=, >, >=.")
    if isinstance(value, list) or not isinstance(value, sp.Basic):
        raise parse_error(f"{what} must be one equation", SYNTAX_HINT)
    if value in (sp.true, sp.false):
        raise tool_error_for_trivial(value, what)
    return sp.Eq(value, 0)


def tool_error_for_trivial(value: Any, what: str) -> ToolError:
    return parse_error(
        f"{what} simplifies to {value} before solving",
        "The equation holds for all values (True) or none (False); check it.",
    )


def parse_relation(text: Any, *, what: str = "inequality") -> sp.Basic:
    value = parse(text, what=what)
    if not isinstance(value, Relational | sp.And | sp.Or) or isinstance(value, sp.Equality):
        if value in (sp.true, sp.false):
            raise tool_error_for_trivial(value, what)
        raise parse_error(f"{what} must use <, <=, > or >=", "Example: x**2 - 4 < 0.")
    return value


def parse_symbol(text: Any, *, what: str = "variable") -> sp.Symbol:
    value = parse(text, what=what)
    if not isinstance(value, sp.Symbol):
        raise parse_error(f"{what} must be a single variable name, got {text!r}", "Example: x")
    return value


def parse_list(value: Any, *, what: str = "list") -> list[Any]:
    """A JSON list, or a string holding one (`"[1, 2]"`): elements parsed as expressions."""
    if isinstance(value, str):
        parsed = parse(value, what=what)
        if isinstance(parsed, sp.Matrix):
            parsed = parsed.tolist() if parsed.cols > 1 else list(parsed)
        if not isinstance(parsed, list):
            raise parse_error(f"{what} must be a list such as [1, 2, 3]", SYNTAX_HINT)
        return parsed
    if isinstance(value, list | tuple):
        return [parse_list(v, what=what) if isinstance(v, list | tuple) else parse_element(v, what) for v in value]
    raise parse_error(f"{what} must be a list, got {type(value).__name__}", SYNTAX_HINT)


def parse_element(value: Any, what: str) -> sp.Basic:
    parsed = parse(value, what=f"element of {what}")
    if isinstance(parsed, list):
        return parsed  # nested list inside a string element
    return parsed


def parse_matrix(value: Any, *, what: str = "matrix") -> sp.Matrix:
    rows = parse_list(value, what=what)
    if not rows:
        raise parse_error(f"{what} is empty", "Example: [[1, 2], [3, 4]]")
    if not all(isinstance(r, list) for r in rows):
        rows = [[r] for r in rows]  # a flat list is a column vector
    width = len(rows[0])
    if width == 0 or any(len(r) != width for r in rows):
        raise parse_error(f"{what} rows must all have the same, non-zero length", "Example: [[1, 2], [3, 4]]")
    for row in rows:
        for entry in row:
            if isinstance(entry, list) or not isinstance(entry, sp.Expr):
                raise parse_error(f"{what} entries must be numbers or expressions", "Example: [[1, 2], [3, 4]]")
    return sp.Matrix(rows)


def parse_vector(value: Any, *, what: str = "vector", size: int | None = None) -> list[sp.Expr]:
    items = parse_list(value, what=what)
    if any(isinstance(v, list) for v in items):
        raise parse_error(f"{what} must be a flat list of numbers or expressions", "Example: [1, 2]")
    if size is not None and len(items) != size:
        raise parse_error(f"{what} must have {size} coordinates, got {len(items)}", f"Example: [{', '.join(['0'] * size)}]")
    if not items:
        raise parse_error(f"{what} is empty", "Example: [1, 2]")
    return items


def parse_substitutions(value: Any, *, what: str = "values") -> dict[sp.Symbol, sp.Expr]:
    """`{"x": 2, "y": "1/2"}` or `"x=2, y=1/2"`."""
    if isinstance(value, str):
        pairs: list[tuple[str, str]] = []
        for part in value.split(","):
            if "=" not in part:
                raise parse_error(f"{what} must look like 'x=2, y=3'", 'Or pass a mapping {"x": 2}.')
            name, _, expr = part.partition("=")
            pairs.append((name, expr))
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise parse_error(f"{what} must be a mapping such as {{'x': 2}}", 'Example: {"x": 2, "y": "1/2"}')
    return {parse_symbol(k, what=f"name in {what}"): parse_expression(v, what=f"value of {k}") for k, v in pairs}
