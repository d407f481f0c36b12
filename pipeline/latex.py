"""LaTeX <-> SymPy, the one layer the synthetic families and the derivations share.

Writing: `tex` renders SymPy the way a problem set (and a derivation's prose) writes it;
`code` and `equation_code` give the SymPy-syntax text the tools take as arguments.

Reading: `tex_to_code` / `from_tex` read back the LaTeX that `tex` writes — fractions,
roots, powers, `\\left|...\\right|`, trigonometric and logarithmic functions, relations —
not LaTeX in general; `json_value` reads a tool's JSON value (number or SymPy-syntax
string). Everything is parsed by the toolkit's strict parser, so a text means to the
families exactly what it means to the tools.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sympy as sp

from toolkit.parse import parse as parse_math


class ReadError(ValueError):
    """A problem text (or a tool result) does not have the form a family expects."""


# --------------------------------------------------------------------------- writing


def tex(value: Any) -> str:
    """LaTeX as a problem set writes it; natural logarithms as \\ln (\\log is ambiguous to graders).

    A string is taken to be LaTeX already (SymPy would typeset it as verbatim text).
    """
    if isinstance(value, str):
        return value
    return sp.latex(value, ln_notation=True)


def code(value: Any) -> str:
    return sp.sstr(value)


def equation_code(eq: sp.Basic) -> str:
    if isinstance(eq, sp.Equality):
        return f"{code(eq.lhs)} = {code(eq.rhs)}"
    return f"{code(eq)} = 0"


# --------------------------------------------------------------------------- reading

_TEX_WORDS = {
    r"\sin": "sin", r"\cos": "cos", r"\tan": "tan", r"\log": "log", r"\ln": "log", r"\exp": "exp",
    r"\pi": "pi", r"\infty": "oo", r"\cdot": "*", r"\times": "*", r"\leq": "<=", r"\le": "<=",
    r"\geq": ">=", r"\ge": ">=", r"\lt": "<", r"\gt": ">", r"\,": " ", r"\;": " ", r"\!": "",
    r"\displaystyle": "", r"\ ": " ",
}


def _group(tex: str, i: int) -> tuple[str, int]:
    """The `{...}` group starting at tex[i] (after spaces) and the index after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex) or tex[i] != "{":
        raise ReadError(f"expected '{{' at {i} in {tex!r}")
    depth = 0
    for j in range(i, len(tex)):
        depth += tex[j] == "{"
        depth -= tex[j] == "}"
        if depth == 0:
            return tex[i + 1 : j], j + 1
    raise ReadError(f"unbalanced braces in {tex!r}")


def tex_to_code(tex: str) -> str:
    """SymPy-syntax text for the LaTeX `tex` writes (fractions, roots, powers, |.|, trig)."""
    out, i = [], 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            assert m is not None
            command = m.group(0)
            i += len(command)
            if command in (r"\frac", r"\dfrac", r"\tfrac"):
                numerator, i = _group(tex, i)
                denominator, i = _group(tex, i)
                out.append(f"(({tex_to_code(numerator)})/({tex_to_code(denominator)}))")
            elif command == r"\sqrt":
                radicand, i = _group(tex, i)
                out.append(f"sqrt({tex_to_code(radicand)})")
            elif command in (r"\left", r"\right"):
                delimiter = tex[i : i + 1]
                i += 1
                if delimiter == "|":
                    out.append("Abs(" if command == r"\left" else ")")
                elif delimiter in "([":
                    out.append("(")
                elif delimiter in ")]":
                    out.append(")")
                elif delimiter != ".":
                    raise ReadError(f"unsupported delimiter {command}{delimiter}")
            elif command in _TEX_WORDS:
                out.append(f" {_TEX_WORDS[command]} ")
            else:
                raise ReadError(f"unsupported LaTeX command {command}")
        elif ch == "{":
            out.append("(")
            i += 1
        elif ch == "}":
            out.append(")")
            i += 1
        elif ch == "^":
            out.append("**")
            i += 1
        else:
            out.append(ch)
            i += 1
    return " ".join("".join(out).split())


def from_tex(tex: str) -> Any:
    """Parse the LaTeX `tex` writes into SymPy (through the toolkit's strict parser)."""
    try:
        return parse_math(tex_to_code(tex.strip()))
    except ReadError:
        raise
    except Exception as exc:
        raise ReadError(f"cannot read {tex!r}: {exc}") from None


def json_value(result: Any, error: type[ValueError], parse: Callable[[Any], Any] = parse_math) -> Any:
    """A JSON scalar as SymPy: an int exactly, a float through `nsimplify`, anything else by `parse`.

    JSON's true/false/null are not values; `error` is the caller's error class, so the
    families and the derivations each report a bad value in their own terms.
    """
    if isinstance(result, bool) or result is None:
        raise error(f"expected a value, got {result!r}")
    if isinstance(result, int):
        return sp.Integer(result)
    if isinstance(result, float):
        return sp.nsimplify(result)
    return parse(result)


def value(result: Any) -> sp.Expr:
    """A tool's JSON result (an int, a float or a SymPy-syntax string) as a SymPy number."""
    if not (result is None or isinstance(result, int | float | str)):
        raise ReadError(f"expected a value, got {type(result).__name__}")
    parsed = json_value(result, ReadError)
    if not isinstance(parsed, sp.Expr):
        raise ReadError(f"expected an expression, got {result!r}")
    return parsed
