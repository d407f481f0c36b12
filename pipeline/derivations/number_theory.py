"""Modular inverses by the extended Euclidean algorithm, linear congruences, the Chinese
remainder theorem by successive substitution, and modular powers by repeated squaring."""

from __future__ import annotations

from math import gcd
from typing import Any

import sympy as sp

from pipeline.derivations.base import Builder, Derivation, DerivationError

_MAX_BITS = 64


def _int(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise DerivationError(f"expected an integer, got {value!r}") from None
    if abs(number).bit_length() > _MAX_BITS:
        raise DerivationError("numbers this large are not written out step by step")
    return number


def _mod(b: Builder, lhs: str, value: int, m: int, shown: str) -> str:
    """`shown ≡ value (mod m)` recorded as Mod(lhs, m) = value."""
    return b.eq(sp.Mod(sp.sympify(lhs), m), value, lhs_tex=shown, rhs_tex=f"{value} \\pmod{{{m}}}", relation="\\equiv")


def inverse_steps(b: Builder, a: int, m: int) -> int:
    """The extended Euclidean algorithm written out; returns a^{-1} mod m."""
    a %= m
    if gcd(a, m) != 1:
        raise DerivationError("no inverse: not coprime")
    r0, r1 = m, a
    lines = []
    while r1:
        q = r0 // r1
        lines.append(b.eq(r0, q * sp.Symbol("Q") + r0 - q * r1, lhs_tex=str(r0), rhs_tex=f"{q} \\cdot {r1} + {r0 - q * r1}", at={"Q": r1}))
        r0, r1 = r1, r0 - q * r1
    b.say("Euclid's algorithm on $" + f"{m}" + "$ and $" + f"{a}" + "$: " + ", ".join(lines) + ".")
    s0, s1, t0, t1 = 1, 0, 0, 1
    x, y = m, a
    while y:
        q = x // y
        x, y = y, x - q * y
        s0, s1 = s1, s0 - q * s1
        t0, t1 = t1, t0 - q * t1
    # s0*m + t0*a = 1
    b.say("Working backwards gives a combination equal to the gcd: "
          + b.eq(s0 * sp.Symbol("M") + t0 * sp.Symbol("A"), 1, lhs_tex=f"({s0}) \\cdot {m} + ({t0}) \\cdot {a}", at={"M": m, "A": a}) + ".")
    inverse = t0 % m
    b.say(f"So ${a}^{{-1}} \\equiv {t0} \\equiv {inverse} \\pmod{{{m}}}$; check: " + _mod(b, f"{a}*{inverse}", 1, m, f"{a} \\cdot {inverse}") + ".")
    return inverse


def modular_inverse(args: dict[str, Any], result: Any) -> Derivation:
    a, m = _int(args["a"]), _int(args["m"])
    b = Builder("modular_inverse")
    b.say(f"We need the $x$ with ${a} x \\equiv 1 \\pmod{{{m}}}$.")
    inverse = inverse_steps(b, a, m)
    if inverse != _int(result):
        raise DerivationError("the derivation does not reproduce the tool's inverse")
    return b.done(str(inverse))


def solve_linear_congruence(args: dict[str, Any], result: Any) -> Derivation:
    a, c, m = _int(args["a"]), _int(args["b"]), _int(args["m"])
    if gcd(a, m) != 1 or not isinstance(result, dict):
        raise DerivationError("only congruences with a unique solution are derived")
    b = Builder("solve_linear_congruence")
    b.say(f"We solve ${a} x \\equiv {c} \\pmod{{{m}}}$. Since $\\gcd({a}, {m}) = 1$, there is exactly one solution modulo ${m}$, found with the inverse of ${a}$.")
    inverse = inverse_steps(b, a, m)
    x = (c * inverse) % m
    b.say(f"Multiplying both sides by ${inverse}$: " + _mod(b, f"{c}*{inverse}", x, m, f"x \\equiv {c} \\cdot {inverse}") + "; check: "
          + _mod(b, f"{a}*{x}", c % m, m, f"{a} \\cdot {x}") + ".")
    if [x] != [_int(v) for v in result["solutions"]]:
        raise DerivationError("the derivation does not reproduce the tool's solutions")
    return b.done(str(x))


def chinese_remainder(args: dict[str, Any], result: Any) -> Derivation:
    remainders = [_int(r) for r in args["remainders"]]
    moduli = [_int(m) for m in args["moduli"]]
    if len(remainders) != len(moduli) or any(gcd(p, q) != 1 for i, p in enumerate(moduli) for q in moduli[i + 1 :]):
        raise DerivationError("pairwise coprime moduli are required for this derivation")
    b = Builder("chinese_remainder")
    b.say("We need $x$ with " + ", ".join(f"$x \\equiv {r} \\pmod{{{m}}}$" for r, m in zip(remainders, moduli, strict=True)) + ".")
    x, modulus = remainders[0] % moduli[0], moduli[0]
    for r, m in zip(remainders[1:], moduli[1:], strict=True):
        b.say(f"Write $x = {x} + {modulus} t$ and require ${x} + {modulus} t \\equiv {r} \\pmod{{{m}}}$, "
              f"that is ${modulus} t \\equiv {(r - x) % m} \\pmod{{{m}}}$.")
        inverse = inverse_steps(b, modulus, m)
        t = ((r - x) * inverse) % m
        b.say("Then " + _mod(b, f"{(r - x) % m}*{inverse}", t, m, f"t \\equiv {(r - x) % m} \\cdot {inverse}") + ", so "
              + b.eq(sp.Symbol("X"), x + modulus * t, lhs_tex="x", rhs_tex=f"{x} + {modulus} \\cdot {t} = {x + modulus * t}", at={"X": x + modulus * t}) + ".")
        x, modulus = x + modulus * t, modulus * m
        x %= modulus
    checks = [_mod(b, str(x), r % m, m, str(x)) for r, m in zip(remainders, moduli, strict=True)]
    b.say(f"So $x \\equiv {x} \\pmod{{{modulus}}}$; check: " + ", ".join(checks) + ".")
    if not isinstance(result, dict) or _int(result["solution"]) != x:
        raise DerivationError("the derivation does not reproduce the tool's solution")
    return b.done(str(x))


def modular_power(args: dict[str, Any], result: Any) -> Derivation:
    base, exponent, m = _int(args["base"]), _int(args["exponent"]), _int(args["modulus"])
    if exponent < 0 or m <= 1:
        raise DerivationError("non-negative exponents and moduli above 1 only")
    b = Builder("modular_power")
    bits = bin(exponent)[2:]
    b.say(f"We compute ${base}^{{{exponent}}} \\bmod {m}$ by repeated squaring; in binary ${exponent} = {bits}_2$.")
    powers, value, squares = {}, base % m, []
    for i in range(len(bits)):
        powers[1 << i] = value
        squares.append(_mod(b, f"{base}**{1 << i}", value, m, f"{base}^{{{1 << i}}}"))
        value = value * value % m
    b.say("Successive squares: " + ", ".join(squares) + ".")
    used = [1 << i for i, bit in enumerate(reversed(bits)) if bit == "1"]
    total = 1
    for p in used:
        total = total * powers[p] % m
    b.say("Multiplying the squares for the binary digits of the exponent: "
          + _mod(b, f"{base}**{exponent}", total, m, " \\cdot ".join(f"{base}^{{{p}}}" for p in used)) + ".")
    if total != _int(result):
        raise DerivationError("the derivation does not reproduce the tool's result")
    return b.done(str(total))
