"""Derivatives by the rules (sum, constant multiple, power, product, quotient, chain),
integrals through SymPy's manualintegrate step tree, limits, and finite/infinite sums."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.integrals import manualintegrate as mi

from pipeline.derivations.base import (
    Builder,
    Derivation,
    DerivationError,
    expr,
    spelled_sum,
    symbol,
    tex,
    worked,
)

_MAX_DEPTH = 4


# --------------------------------------------------------------------------- derivatives


def _d(b: Builder, f: sp.Expr, x: sp.Symbol, depth: int) -> sp.Expr:
    """f' with the rule written down (only the non-trivial pieces are shown)."""
    if not f.has(x):
        return sp.Integer(0)
    if f == x:
        return sp.Integer(1)
    derivative = sp.diff(f, x)
    if depth > _MAX_DEPTH:
        b.say(f"A standard derivative: {b.eq(sp.Derivative(f, x), derivative)}.")
        return derivative
    if isinstance(f, sp.Add):
        terms = [t for t in f.args if t.has(x)]
        parts = [_d(b, t, x, depth + 1) for t in terms]
        total = sp.Add(*parts)
        shown = " + ".join(f"({tex(p)})" for p in parts)
        b.say("Differentiating term by term: " + b.eq(sp.Derivative(f, x), total, rhs_tex=shown) + ".")
        return total
    numerator, denominator = sp.fraction(sp.together(f)) if isinstance(f, sp.Mul | sp.Pow) else (f, sp.Integer(1))
    if denominator.has(x) and numerator != 1 and not (isinstance(f, sp.Pow)):
        u, v = numerator, denominator
        du, dv = _d(b, u, x, depth + 1), _d(b, v, x, depth + 1)
        result = (du * v - u * dv) / v**2
        b.say(f"By the quotient rule with $u = {tex(u)}$ and $v = {tex(v)}$: "
              + b.eq(sp.Derivative(f, x), result, rhs_tex=f"\\frac{{({tex(du)})({tex(v)}) - ({tex(u)})({tex(dv)})}}{{({tex(v)})^{{2}}}}") + ".")
        return result
    if isinstance(f, sp.Mul):
        constant, rest = f.as_independent(x, as_Add=False)
        if constant != 1:
            inner = _d(b, rest, x, depth + 1)
            result = constant * inner
            shown = f"{tex(constant)} \\cdot ({tex(inner)})"
            b.say("Constant multiple: " + b.eq(sp.Derivative(f, x), result, rhs_tex=shown) + ".")
            return result
        u, v = rest.args[0], sp.Mul(*rest.args[1:])
        du, dv = _d(b, u, x, depth + 1), _d(b, v, x, depth + 1)
        result = du * v + u * dv
        b.say(f"By the product rule with $u = {tex(u)}$ and $v = {tex(v)}$: "
              + b.eq(sp.Derivative(f, x), result, rhs_tex=f"({tex(du)})({tex(v)}) + ({tex(u)})({tex(dv)})") + ".")
        return result
    if isinstance(f, sp.Pow) and not f.exp.has(x):
        base, n = f.base, f.exp
        if base == x:
            result = n * x ** (n - 1)
            b.say(f"By the power rule: {b.eq(sp.Derivative(f, x), result)}.")
            return result
        inner = _d(b, base, x, depth + 1)
        result = n * base ** (n - 1) * inner
        b.say(f"By the chain rule (outer power, inner ${tex(base)}$): "
              + b.eq(sp.Derivative(f, x), result, rhs_tex=f"{tex(n)} \\left({tex(base)}\\right)^{{{tex(n - 1)}}} \\cdot ({tex(inner)})") + ".")
        return result
    if isinstance(f, sp.Function) and len(f.args) == 1:
        (arg,) = f.args
        outer = sp.diff(f.func(x), x)
        if arg == x:
            b.say(f"A standard derivative: {b.eq(sp.Derivative(f, x), outer)}.")
            return outer
        inner = _d(b, arg, x, depth + 1)
        result = outer.subs(x, arg) * inner
        b.say(f"By the chain rule (outer ${tex(f.func(x))}$, inner ${tex(arg)}$): "
              + b.eq(sp.Derivative(f, x), result, rhs_tex=f"{tex(outer.subs(x, arg))} \\cdot ({tex(inner)})") + ".")
        return result
    b.say(f"Differentiating directly: {b.eq(sp.Derivative(f, x), derivative)}.")
    return derivative


def differentiate(args: dict[str, Any], result: Any) -> Derivation:
    f, x = expr(args["expression"]), symbol(args.get("variable"))
    order = int(args.get("order", 1) or 1)
    if order != 1:
        raise DerivationError("only first derivatives are derived step by step")
    b = Builder("differentiate")
    b.say(f"We need the derivative of $f({x}) = {tex(f)}$ with respect to ${x}$.")
    found = _d(b, f, x, 0)
    final = expr(result)
    b.say(f"Simplifying: {b.eq(found, final, lhs_tex=tex(found), rhs_tex=tex(final))}.")
    return b.done(tex(final))


# --------------------------------------------------------------------------- integrals

_RULE_WORDS = {
    "ConstantRule": "the integral of a constant",
    "ConstantTimesRule": "pulling out the constant factor",
    "PowerRule": "the power rule for integrals",
    "AddRule": "integrating term by term",
    "ExpRule": "the exponential rule",
    "ReciprocalRule": "$\\int \\frac{1}{u}\\,du = \\ln|u|$",
    "PartsRule": "integration by parts",
    "URule": "a substitution",
    "SinRule": "$\\int \\sin u\\,du = -\\cos u$",
    "CosRule": "$\\int \\cos u\\,du = \\sin u$",
    "RewriteRule": "rewriting the integrand",
    "AlternativeRule": "an equivalent form",
}


def _integral_steps(b: Builder, rule: Any, depth: int) -> None:
    """Walk the manualintegrate rule tree; each step's antiderivative is recorded as F' = integrand."""
    if type(rule).__name__ == "AlternativeRule" and rule.alternatives:
        return _integral_steps(b, rule.alternatives[0], depth)  # several ways: write one of them out
    for name in ("substep", "v_step", "second_step"):
        sub = getattr(rule, name, None)
        if sub is not None and depth < _MAX_DEPTH:
            _integral_steps(b, sub, depth + 1)
    for sub in getattr(rule, "substeps", None) or []:
        if depth < _MAX_DEPTH:
            _integral_steps(b, sub, depth + 1)
    kind = type(rule).__name__
    x, integrand = rule.variable, rule.integrand
    antiderivative = rule.eval()
    how = _RULE_WORDS.get(kind, "a standard antiderivative")
    extra = ""
    if kind == "PartsRule":
        extra = f" with $u = {tex(rule.u)}$ and $dv = {tex(rule.dv)}\\,d{x}$"
    elif kind == "URule":
        extra = f" $u = {tex(rule.u_func)}$, $du = {tex(sp.diff(rule.u_func, x))}\\,d{x}$"
    statement = b.eq(sp.Derivative(antiderivative, x), integrand,
                     lhs_tex=f"\\int {tex(integrand)}\\,d{x}", rhs_tex=f"{tex(antiderivative)} + C")
    b.say(f"By {how}{extra}: {statement}.")


def definite_integral(args: dict[str, Any], result: Any) -> Derivation:
    f, x = expr(args["expression"]), symbol(args.get("variable"))
    lo, hi = expr(args["lower"]), expr(args["upper"])
    rule = mi.integral_steps(f, x)
    if type(rule).__name__ == "DontKnowRule" or rule.contains_dont_know():
        raise DerivationError("no elementary step tree for this integrand")
    b = Builder("definite_integral")
    b.say(f"We evaluate $\\int_{{{tex(lo)}}}^{{{tex(hi)}}} {tex(f)}\\,d{x}$ by first finding an antiderivative.")
    _integral_steps(b, rule, 0)
    F = rule.eval()
    value = expr(result)
    upper, lower = F.subs(x, hi), F.subs(x, lo)
    b.say("By the fundamental theorem of calculus, "
          + b.eq(upper - lower, value, lhs_tex=f"F({tex(hi)}) - F({tex(lo)}) = \\left({tex(upper)}\\right) - \\left({tex(lower)}\\right)")
          + ".")
    return b.done(tex(value))


def integrate(args: dict[str, Any], result: Any) -> Derivation:
    f, x = expr(args["expression"]), symbol(args.get("variable"))
    rule = mi.integral_steps(f, x)
    if rule.contains_dont_know():
        raise DerivationError("no elementary step tree for this integrand")
    b = Builder("integrate")
    b.say(f"We look for an antiderivative of ${tex(f)}$ with respect to ${x}$.")
    _integral_steps(b, rule, 0)
    final = expr(result)
    b.say(f"Checking by differentiation: {b.eq(sp.Derivative(final, x), f)}.")
    return b.done(tex(final))


# --------------------------------------------------------------------------- limits


def compute_limit(args: dict[str, Any], result: Any) -> Derivation:
    f, x, p = expr(args["expression"]), symbol(args.get("variable")), expr(args["point"])
    if args.get("direction") not in (None, "", "+-"):
        raise DerivationError("one-sided limits are not derived step by step")
    value = expr(result)
    b = Builder("compute_limit")
    if p == sp.oo:
        return _limit_at_infinity(b, f, x, value)
    numerator, denominator = sp.fraction(sp.together(f))
    if sp.simplify(denominator.subs(x, p)) != 0:
        b.say(f"The expression is continuous at ${x} = {tex(p)}$, so we substitute: {b.eq(f.subs(x, p), value)}.")
        return b.done(tex(value))
    b.say(f"Substituting ${x} = {tex(p)}$ gives $\\frac{{{tex(numerator.subs(x, p))}}}{{{tex(denominator.subs(x, p))}}}$, an indeterminate form.")
    if f.is_rational_function(x):
        reduced = sp.cancel(f)
        shown = f"\\frac{{{tex(sp.factor(numerator))}}}{{{tex(sp.factor(denominator))}}}"
        b.say("Factoring and cancelling the common factor: " + b.eq(f, reduced, lhs_tex=shown) + f" for ${x} \\ne {tex(p)}$.")
        b.say(f"Now substitute: {b.eq(reduced.subs(x, p), value)}.")
        return b.done(tex(value))
    dn, dd = sp.diff(numerator, x), sp.diff(denominator, x)
    top, bottom = sp.simplify(dn.subs(x, p)), sp.simplify(dd.subs(x, p))
    if bottom == 0 or not top.is_finite:
        raise DerivationError("one application of L'Hopital's rule does not settle this limit")
    b.say("By L'Hôpital's rule we differentiate the numerator and the denominator: "
          + b.eq(sp.Derivative(numerator, x), dn) + " and " + b.eq(sp.Derivative(denominator, x), dd) + ".")
    shown = f"\\frac{{{tex(top)}}}{{{tex(bottom)}}}"
    b.say("Substituting into their quotient: " + b.eq(top / bottom, value, lhs_tex=shown) + ".")
    return b.done(tex(value))


def _limit_at_infinity(b: Builder, f: sp.Expr, x: sp.Symbol, value: sp.Expr) -> Derivation:
    if f.is_rational_function(x):
        numerator, denominator = sp.fraction(sp.cancel(f))
        n, d = sp.degree(numerator, x), sp.degree(denominator, x)
        if n > d:
            raise DerivationError("the limit diverges")
        ratio = sp.Poly(numerator, x).LC() / sp.Poly(denominator, x).LC() if n == d else sp.Integer(0)
        top, bottom = sp.expand(numerator / x**d), sp.expand(denominator / x**d)
        divided = b.eq(f, top / bottom, rhs_tex=f"\\frac{{{tex(top)}}}{{{tex(bottom)}}}")
        b.say(f"As ${x} \\to \\infty$, divide the numerator and the denominator by ${tex(x**d)}$: {divided}; every term "
              f"with a negative power of ${x}$ tends to $0$.")
        what = "the ratio of the leading coefficients" if n == d else "$0$, since the denominator has the higher degree"
        b.say(f"So the limit is {what}: {b.eq(sp.Limit(f, x, sp.oo), ratio, rhs_tex=tex(ratio))}.")
        if sp.simplify(ratio - value) != 0:
            raise DerivationError("the derivation does not reproduce the tool's limit")
        return b.done(tex(value))
    if isinstance(f, sp.Pow) and sp.limit(f.base, x, sp.oo) == 1 and sp.limit(f.exp, x, sp.oo) == sp.oo:
        log_limit = sp.limit(f.exp * sp.log(f.base), x, sp.oo)
        b.say(f"This is a $1^\\infty$ form. Taking logarithms, we need $\\lim_{{{x} \\to \\infty}} {tex(f.exp)} \\ln\\left({tex(f.base)}\\right)$.")
        b.say("Since $\\ln(1 + u) \\approx u$ for small $u$, "
              + b.eq(sp.Limit(f.exp * sp.log(f.base), x, sp.oo), log_limit,
                     lhs_tex=f"\\lim_{{{x} \\to \\infty}} {tex(f.exp)} \\ln\\left({tex(f.base)}\\right)") + ".")
        b.say(f"Exponentiating: {b.eq(sp.exp(log_limit), value)}.")
        return b.done(tex(value))
    raise DerivationError("limit at infinity of this form is not derived step by step")


# --------------------------------------------------------------------------- sums

_K = sp.Symbol("k")
_N = sp.Symbol("n")
_POWER_SUMS = {0: _N, 1: _N * (_N + 1) / 2, 2: _N * (_N + 1) * (2 * _N + 1) / 6, 3: (_N * (_N + 1) / 2) ** 2}


def summation(args: dict[str, Any], result: Any) -> Derivation:
    term, k = expr(args["expression"]), symbol(args.get("variable"), "k")
    lo, hi = expr(args["lower"]), expr(args["upper"])
    value = expr(result)
    b = Builder("summation")
    b.say(f"We need $\\sum_{{{k}={tex(lo)}}}^{{{tex(hi)}}} {tex(term)}$.")
    if term.is_polynomial(k) and sp.degree(term, k) <= 3 and hi.is_Integer and lo.is_Integer:
        poly = sp.Poly(term, k)
        total = sp.Integer(0)
        weighted = []
        for (power,), coefficient in poly.terms():
            formula = _POWER_SUMS[power]
            part = formula.subs(_N, hi) - formula.subs(_N, lo - 1)
            b.say(f"Using $\\sum_{{k=1}}^{{n}} k^{{{power}}} = {tex(formula)}$: "
                  + b.eq(sp.Sum(k**power, (k, lo, hi)), part, rhs_tex=f"{tex(part)}") + ".")
            total += coefficient * part
            weighted.append(coefficient * part)
        combined = worked(tex(sp.Sum(term, (k, lo, hi))), spelled_sum(weighted)) if len(weighted) > 1 else None
        b.say(f"Combining with the coefficients: {b.eq(sp.Sum(term, (k, lo, hi)), total, lhs_tex=combined)}.")
        b.say(f"Hence {b.eq(total, value)}.")
        return b.done(tex(value))
    c, rest = term.as_independent(k, as_Add=False)
    if isinstance(rest, sp.Pow) and not rest.base.has(k) and rest.exp in (k, -k):
        r = rest.base if rest.exp == k else 1 / rest.base
        if hi == sp.oo:
            if not abs(r) < 1:
                raise DerivationError("a divergent geometric series")
            ratio = b.eq(term.subs(k, k + 1) / term, r, lhs_tex="\\frac{a_{k+1}}{a_k}")
            b.say(f"This is a geometric series with first term ${tex(c * r**lo)}$ and ratio {ratio}, $|r| < 1$.")
            b.say("Its sum is first term over $1 - r$: " + b.eq(c * r**lo / (1 - r), value) + ".")
        else:
            n_terms = hi - lo + 1
            ratio = b.eq(term.subs(k, k + 1) / term, r, lhs_tex="\\frac{a_{k+1}}{a_k}")
            b.say(f"This is a geometric series with ${tex(n_terms)}$ terms, first term ${tex(c * r**lo)}$ and ratio {ratio}.")
            b.say("Its sum is $a\\frac{r^{n} - 1}{r - 1}$: " + b.eq(c * r**lo * (r**n_terms - 1) / (r - 1), value) + ".")
        return b.done(tex(value))
    parts = sp.apart(term, k)
    if isinstance(parts, sp.Add) and len(parts.args) == 2 and hi.is_Integer and lo.is_Integer:
        first, second = parts.args
        shift = sp.simplify(second.subs(k, k - 1) + first)
        if shift == 0 or sp.simplify(first.subs(k, k - 1) + second) == 0:
            g = first if sp.simplify(first.subs(k, k + 1) + second) == 0 else second
            b.say(f"By partial fractions, {b.eq(term, parts)}, so the sum telescopes.")
            b.say("Only the first and last pieces survive: "
                  + b.eq(g.subs(k, lo) - g.subs(k, hi + 1), value) + ".")
            return b.done(tex(value))
    raise DerivationError("no closed-form step pattern for this sum")
