"""Substitution written out, plain arithmetic, and the honest one-step explanation for the rest."""

from __future__ import annotations

import json
from typing import Any

import sympy as sp

from pipeline.derivations.answers import Expected
from pipeline.derivations.base import Builder, Derivation, DerivationError, expr, tex
from toolkit.parse import parse as parse_math


def substitute_values(args: dict[str, Any], result: Any) -> Derivation:
    f = expr(args["expression"])
    values = args.get("values")
    if not isinstance(values, dict) or not isinstance(f, sp.Expr):
        raise DerivationError("expected an expression and a {name: value} mapping")
    subs = {sp.Symbol(k): expr(v) for k, v in values.items()}
    b = Builder("substitute_values")
    listing = ", ".join(f"${k} = {tex(v)}$" for k, v in subs.items())
    plugged = f.subs(subs, simultaneous=True)
    shown = f.xreplace({k: sp.UnevaluatedExpr(v) for k, v in subs.items()})
    b.say(f"We evaluate ${tex(f)}$ at {listing}.")
    value = sp.simplify(plugged)
    b.say("Substituting: " + b.eq(f, value, lhs_tex=tex(shown), at={str(k): v for k, v in subs.items()}) + ".")
    if sp.simplify(value - expr(result)) != 0:
        raise DerivationError("the derivation does not reproduce the tool's value")
    return b.done(tex(value))


def simplify_expression(args: dict[str, Any], result: Any) -> Derivation:
    f = expr(args["expression"])
    if not isinstance(f, sp.Expr) or f.free_symbols:
        raise DerivationError("only arithmetic on numbers is written out here")
    value = expr(result)
    b = Builder("simplify_expression")
    shown = _unevaluated_tex(args["expression"], f)
    b.say("Carrying out the arithmetic: " + b.eq(f, value, lhs_tex=shown) + ".")
    return b.done(tex(value), one_step=True)


def _unevaluated_tex(text: Any, evaluated: sp.Expr) -> str:
    """The arithmetic as written (the toolkit's safe parser with evaluation off), else its value's LaTeX."""
    try:
        with sp.evaluate(False):
            return tex(parse_math(str(text)))
    except Exception:
        return tex(evaluated)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_describe(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    try:
        return f"${tex(expr(value))}$"
    except DerivationError:
        return str(value)


def one_step(tool: str, args: dict[str, Any], expected: Expected, description: str) -> Derivation:
    """No computable steps: say what was computed and what came out, without pretending more."""
    b = Builder(tool)
    what = description.rstrip(".").split(";")[0]
    what = what[0].lower() + what[1:] if what else "the requested computation"
    inputs = "; ".join(f"{k.replace('_', ' ')} {_describe(v)}" for k, v in args.items())
    b.say(f"We need {what}, for {inputs}.")
    b.say(f"Carrying out this computation directly (a single step, not broken down further) gives ${expected.latex()}$.")
    return b.done(expected.latex(), one_step=True)


def fallback_text(tool: str, arguments: str, result: str) -> str:
    """The paper's behaviour when no translation was verified: the original call, clearly marked."""
    try:
        shown_args = json.dumps(json.loads(arguments), ensure_ascii=False)
    except (TypeError, json.JSONDecodeError):
        shown_args = arguments
    try:
        shown_result = json.dumps(json.loads(result).get("result"), ensure_ascii=False)
    except (TypeError, AttributeError, json.JSONDecodeError):
        shown_result = str(result)
    return f"[UNVERIFIED STEP: computed {tool} with {shown_args}, which returned {shown_result}]"
