"""What a derivation is: prose steps, the equations they state (as checkable claims), and a boxed answer.

Every equation a derivation writes goes through `Builder.eq`, which renders it into the
text *and* records it as a `Claim` in SymPy syntax, so a test (or a sceptical reader) can
re-check each intermediate step with SymPy instead of trusting the prose.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from pipeline.latex import json_value, tex
from toolkit.parse import parse as parse_math


class DerivationError(ValueError):
    """The arguments or the result do not fit the derivation (the caller falls back)."""


@dataclass(frozen=True)
class Claim:
    """`lhs == rhs` in SymPy syntax, where the unknowns take the values in `at` (empty: an identity)."""

    lhs: str  # srepr form: unambiguous (a symbol named lambda or Q stays a symbol)
    rhs: str
    latex: str
    at: tuple[tuple[str, str], ...] = ()

    def holds(self) -> bool:
        lhs, rhs = sp.sympify(self.lhs).doit(), sp.sympify(self.rhs).doit()
        values = {sp.Symbol(k): sp.sympify(v) for k, v in self.at}
        lhs = lhs.subs(values) if values else lhs
        rhs = rhs.subs(values) if values else rhs
        difference = sp.simplify(sp.expand(lhs - rhs))
        return difference == 0


@dataclass
class Derivation:
    tool: str
    steps: list[str]
    claims: list[Claim]
    answer: str  # LaTeX, the content of the final \boxed{}
    one_step: bool = False

    def text(self) -> str:
        body = "\n".join(self.steps)
        return f"{body}\n\nSo the result is $\\boxed{{{self.answer}}}$."


@dataclass
class Builder:
    tool: str
    steps: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)

    def say(self, text: str) -> Builder:
        self.steps.append(text)
        return self

    def eq(self, lhs: Any, rhs: Any, *, lhs_tex: str | None = None, rhs_tex: str | None = None,
           at: dict[str, Any] | None = None, relation: str = "=") -> str:
        """`$lhs = rhs$` for the text, recorded as a claim (`at`: values of the unknowns where it holds)."""
        lt = lhs_tex if lhs_tex is not None else tex(lhs)
        rt = rhs_tex if rhs_tex is not None else tex(rhs)
        latex = f"{lt} {relation} {rt}"
        pairs = tuple(sorted((str(k), sp.srepr(sp.sympify(v))) for k, v in (at or {}).items()))
        self.claims.append(Claim(sp.srepr(sp.sympify(lhs)), sp.srepr(sp.sympify(rhs)), latex, pairs))
        return f"${latex}$"

    def done(self, answer: str, one_step: bool = False) -> Derivation:
        return Derivation(self.tool, self.steps, self.claims, answer, one_step)


# Whether derivations write the evaluated parts of a multi-operation step (`= 64 - 28 - 8`)
# before its value. On by default; off reproduces the terse derivations, for ablations.
_INTERMEDIATE_VALUES: ContextVar[bool] = ContextVar("intermediate_values", default=True)


@contextmanager
def intermediate_values(enabled: bool) -> Iterator[None]:
    token = _INTERMEDIATE_VALUES.set(enabled)
    try:
        yield
    finally:
        _INTERMEDIATE_VALUES.reset(token)


def worked(substituted: str, *intermediate: str) -> str:
    """`substituted = intermediate = ...`, or `substituted` alone when intermediate values are off."""
    return " = ".join((substituted, *intermediate)) if _INTERMEDIATE_VALUES.get() else substituted


def spelled_sum(terms: list[Any]) -> str:
    """`64 - 28 - 8`: the evaluated parts of a sum, in order, signs folded in.

    The middle step a careful teacher writes between `8(2 - (-6)) + 4(-6 - 1) + 8(1 - 2)` and
    `28`, so a reader (or a small student) never has to do several operations in its head.
    Terms that are sums themselves are flattened into their parts.
    """
    parts = [part for term in terms for part in sp.Add.make_args(sp.expand(term))]
    out = []
    for index, part in enumerate(parts):
        text = tex(part)
        if index == 0:
            out.append(text)
        elif text.startswith("-"):
            out.append(f"- {text[1:].lstrip()}")
        else:
            out.append(f"+ {text}")
    return " ".join(out) if out else "0"


def expr(text: Any) -> Any:
    """A tool argument or result (JSON number, SymPy-syntax string, list) as SymPy."""
    if isinstance(text, list):
        return [expr(t) for t in text]
    return json_value(text, DerivationError, parse=_parse)


def _parse(text: Any) -> Any:
    # Derivations take whatever a tool returned (a dict, a set's text, ...): anything
    # unreadable is a DerivationError, which `derive` turns into a one-step explanation.
    try:
        return parse_math(str(text))
    except Exception as exc:
        raise DerivationError(f"cannot read {text!r}: {exc}") from None


def symbol(name: Any, default: str = "x") -> sp.Symbol:
    return sp.Symbol(str(name or default))


def load_arguments(arguments: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        loaded = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        raise DerivationError(f"arguments are not JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise DerivationError("arguments must be a JSON object")
    return loaded


def load_result(result: str | dict[str, Any] | None) -> Any:
    """The `result` value of a tool's JSON payload."""
    payload = json.loads(result) if isinstance(result, str) else result
    if not isinstance(payload, dict) or "result" not in payload:
        raise DerivationError("the tool call has no result")
    return payload["result"]
