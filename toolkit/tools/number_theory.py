"""Number theory: divisibility, primes, modular arithmetic and bases of integers."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

import pydantic
import sympy as sp

from toolkit import parse as P
from toolkit.errors import ToolError, tool_error
from toolkit.registry import tool

MAX_INPUT_DIGITS = 1000  # a single integer argument
MAX_RESULT_DIGITS = 4000  # an integer answer (Python refuses to print more than 4300 digits)
MAX_FACTOR_DIGITS = 200  # numbers that are factored (divisors, totient, ...)
HARD_COFACTOR = 10**28  # a part with no small prime factor above this may take too long to factor
MAX_LISTED = 1000  # divisors or solutions written out in one answer
MAX_LIST_LENGTH = 100  # numbers in one list argument
MAX_NTH_PRIME = 10**7
MAX_BASE_DIGITS = 4000

_PLAIN_INTEGER = re.compile(r"[+-]?\d+")


def _to_integer(value: Any) -> Any:
    """Accept 12, "12", 12.0 and integer expressions such as "2**31 - 1" or "10!"."""
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not an integer")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", text):  # thousands separators: "1,000,000"
            text = text.replace(",", "")
        if _PLAIN_INTEGER.fullmatch(text):
            return int(text)
        try:
            parsed = P.parse_expression(text, what="integer")
        except ToolError as exc:
            raise ValueError(f"cannot read {value!r} as an integer: {exc.message}") from None
        if parsed.is_Integer:
            return int(parsed)
        if parsed.free_symbols:
            raise ValueError(f"{value!r} contains variables; pass a number")
        raise ValueError(f"{value!r} = {parsed} is not an integer")
    return value


def list_from_text(value: Any) -> Any:
    """Accept a JSON list or one string holding a list: "[12, 18]" or "12, 18"."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[(" and text[-1:] in "])":
            text = text[1:-1]
        return [part for part in text.split(",") if part.strip()]
    return value


# Integers as the model may write them: 12, "12", or an integer expression "2**10 - 1".
Int = Annotated[int, pydantic.BeforeValidator(_to_integer)]
NonNegativeInt = Annotated[int, pydantic.Field(ge=0), pydantic.BeforeValidator(_to_integer)]
PositiveInt = Annotated[int, pydantic.Field(ge=1), pydantic.BeforeValidator(_to_integer)]
Base = Annotated[int, pydantic.Field(ge=2, le=36), pydantic.BeforeValidator(_to_integer)]
IntList = Annotated[
    list[Int],
    pydantic.Field(min_length=2, max_length=MAX_LIST_LENGTH),
    pydantic.BeforeValidator(list_from_text),
]
PositiveIntList = Annotated[
    list[PositiveInt],
    pydantic.Field(min_length=1, max_length=MAX_LIST_LENGTH),
    pydantic.BeforeValidator(list_from_text),
]
ResidueList = Annotated[
    list[Int],
    pydantic.Field(min_length=1, max_length=MAX_LIST_LENGTH),
    pydantic.BeforeValidator(list_from_text),
]


def digits_of(n: int) -> int:
    """Decimal digits of |n| (an upper estimate good to one digit, without printing n)."""
    return max(1, int(abs(n).bit_length() * 0.30103) + 1)


def check_size(n: int, name: str, max_digits: int = MAX_INPUT_DIGITS) -> None:
    if digits_of(n) > max_digits:
        raise tool_error(
            f"{name} has about {digits_of(n)} digits (limit {max_digits})",
            "Use a smaller number; this tool is meant for numbers of moderate size.",
        )


def check_result_size(n: int, what: str) -> int:
    if digits_of(n) > MAX_RESULT_DIGITS:
        raise tool_error(
            f"{what} has about {digits_of(n)} digits (limit {MAX_RESULT_DIGITS})",
            "Ask for something smaller: the value modulo a number, or a smaller input.",
        )
    return n


def factorize(n: int, name: str = "n") -> dict[int, int]:
    """Prime factorization of a positive integer, refusing inputs too hard to factor quickly."""
    if n < 1:
        raise ValueError("factorize needs a positive integer")
    check_size(n, name, MAX_FACTOR_DIGITS)
    if n <= HARD_COFACTOR:
        return {int(p): int(e) for p, e in sp.factorint(n).items()}
    factors: dict[int, int] = {}
    for part, exp in sp.factorint(n, limit=10**5).items():
        part = int(part)
        if sp.isprime(part):
            factors[part] = factors.get(part, 0) + exp
            continue
        if part > HARD_COFACTOR:
            raise tool_error(
                f"{name} has a composite factor of {digits_of(part)} digits without small prime "
                "factors; it is too large to factor within the time limit",
                "Check whether that is really needed: is_prime, gcd or modular arithmetic may answer "
                "the question without a full factorization.",
            )
        for p, e in sp.factorint(part).items():
            factors[int(p)] = factors.get(int(p), 0) + e * exp
    return dict(sorted(factors.items()))


def _nonzero(n: int, name: str = "n") -> int:
    if n == 0:
        raise tool_error(f"{name} = 0 is divisible by every integer", "Pass a non-zero integer.")
    check_size(n, name, MAX_FACTOR_DIGITS)
    return abs(n)


def _product_string(factors: dict[int, int], negative: bool = False) -> str:
    body = "*".join(f"{p}**{e}" if e > 1 else str(p) for p, e in factors.items()) or "1"
    return f"-{body}" if negative else body


@tool("number_theory")
def gcd(numbers: IntList) -> int:
    """The greatest common divisor of two or more integers (always >= 0; gcd(0, 0) = 0).

    Args:
        numbers: Two or more integers, e.g. [84, 126] or [12, 18, 30].
    """
    for i, x in enumerate(numbers):
        check_size(x, f"numbers[{i}]")
    return math.gcd(*numbers)


@tool("number_theory")
def lcm(numbers: IntList) -> int:
    """The least common multiple of two or more integers (always >= 0; 0 if any number is 0).

    Args:
        numbers: Two or more integers, e.g. [4, 6] or [3, 5, 7].
    """
    for i, x in enumerate(numbers):
        check_size(x, f"numbers[{i}]")
    return check_result_size(math.lcm(*numbers), "the least common multiple")


@tool("number_theory")
def prime_factorization(n: Int) -> dict:
    """The prime factorization of an integer: each prime with its exponent, and the product written out.

    Returns {"factors": {prime: exponent}, "product": "2**2*3**2"}. For a negative n the factors
    are those of |n| and the product starts with "-"; 1 has no prime factors (product "1").

    Args:
        n: A non-zero integer, e.g. 360 or "2**32 + 1" (at most 200 digits).
    """
    factors = factorize(_nonzero(n))
    return {"factors": factors, "product": _product_string(factors, negative=n < 0)}


def _divisors(n: int) -> list[int]:
    factors = factorize(n)
    if math.prod(e + 1 for e in factors.values()) > MAX_LISTED:
        count = math.prod(e + 1 for e in factors.values())
        raise tool_error(
            f"{n} has {count} divisors, too many to list (limit {MAX_LISTED})",
            "Use count_divisors or sum_divisors, or prime_factorization to describe them.",
        )
    divisors = [1]
    for p, e in factors.items():
        divisors = [d * p**i for d in divisors for i in range(e + 1)]
    return sorted(divisors)


@tool("number_theory")
def list_divisors(n: Int) -> list:
    """All positive divisors of an integer, in increasing order (the divisors of |n| for negative n).

    Args:
        n: A non-zero integer, e.g. 36.
    """
    return _divisors(_nonzero(n))


@tool("number_theory")
def count_divisors(n: Int) -> int:
    """The number of positive divisors of an integer, d(n) (tau(n)); for negative n, of |n|.

    Args:
        n: A non-zero integer, e.g. 36 (which has 9 divisors).
    """
    return math.prod(e + 1 for e in factorize(_nonzero(n)).values())


@tool("number_theory")
def sum_divisors(n: Int, k: NonNegativeInt = 1) -> int:
    """The sum of the k-th powers of the positive divisors of n, sigma_k(n); by default (k=1) the sum of the divisors.

    For negative n the divisors of |n| are used. k=0 counts the divisors.

    Args:
        n: A non-zero integer, e.g. 12 (sigma(12) = 28).
        k: The power each divisor is raised to, 0 to 100 (default 1).
    """
    if k > 100:
        raise tool_error(f"k = {k} is too large (limit 100)", "Use a smaller power k.")
    total = 1
    for p, e in factorize(_nonzero(n)).items():
        total *= e + 1 if k == 0 else (p ** (k * (e + 1)) - 1) // (p**k - 1)
        check_result_size(total, "sigma_k(n)")
    return total


@tool("number_theory")
def is_prime(n: Int) -> bool:
    """Whether an integer is prime (negative numbers, 0 and 1 are not prime).

    Args:
        n: The integer to test, e.g. 97 or "2**61 - 1" (at most 1000 digits).
    """
    check_size(n, "n")
    return bool(sp.isprime(n))


@tool("number_theory")
def nth_prime(n: PositiveInt) -> int:
    """The n-th prime number, counting from nth_prime(1) = 2, nth_prime(2) = 3, nth_prime(3) = 5.

    Args:
        n: The position of the prime, 1 to 10**7, e.g. 100 (the 100th prime is 541).
    """
    if n > MAX_NTH_PRIME:
        raise tool_error(
            f"n = {n} is too large (limit {MAX_NTH_PRIME})",
            "Ask for a prime at a position up to 10**7, or test a candidate with is_prime.",
        )
    return int(sp.prime(n))


@tool("number_theory")
def euler_totient(n: PositiveInt) -> int:
    """Euler's totient phi(n): how many of 1..n are coprime to n (phi(1) = 1).

    Args:
        n: A positive integer, e.g. 36 (phi(36) = 12).
    """
    result = 1
    for p, e in factorize(n).items():
        result *= (p - 1) * p ** (e - 1)
    return result


@tool("number_theory")
def modular_inverse(a: Int, m: PositiveInt) -> int:
    """The inverse of a modulo m: the x in 0..m-1 with a*x ≡ 1 (mod m); it exists only when gcd(a, m) = 1.

    Args:
        a: The integer to invert, e.g. 3.
        m: The modulus, a positive integer, e.g. 11 (3*4 = 12 ≡ 1, so the inverse is 4).
    """
    check_size(a, "a")
    check_size(m, "m")
    g = math.gcd(a, m)
    if g != 1:
        raise tool_error(
            f"{a} has no inverse modulo {m}: gcd({a}, {m}) = {g}, not 1",
            "An inverse exists only when a and m are coprime; for a*x ≡ b (mod m) with a common "
            "factor use solve_linear_congruence.",
        )
    return pow(a, -1, m)


@tool("number_theory")
def modular_power(base: Int, exponent: Int, modulus: PositiveInt) -> int:
    """base**exponent modulo modulus, as a number in 0..modulus-1 (fast even for huge exponents).

    A negative exponent means a power of the modular inverse of base, which needs gcd(base, modulus) = 1.

    Args:
        base: The base, e.g. 3.
        exponent: The exponent, e.g. 200; may be negative when base is invertible modulo modulus.
        modulus: The modulus, a positive integer, e.g. 13.
    """
    for value, name in ((base, "base"), (exponent, "exponent"), (modulus, "modulus")):
        check_size(value, name)
    if exponent < 0 and math.gcd(base, modulus) != 1:
        g = math.gcd(base, modulus)
        raise tool_error(
            f"a negative exponent needs the inverse of {base} modulo {modulus}, but gcd({base}, {modulus}) = {g}",
            "Use a non-negative exponent, or a base coprime to the modulus.",
        )
    return pow(base, exponent, modulus)


def _conflict(remainders: list[int], moduli: list[int]) -> str:
    """Two congruences of the system that contradict each other (one pair always does)."""
    for j in range(len(moduli)):
        for i in range(j):
            g = math.gcd(moduli[i], moduli[j])
            if (remainders[j] - remainders[i]) % g:
                return (
                    f"x ≡ {remainders[i]} (mod {moduli[i]}) and x ≡ {remainders[j]} (mod {moduli[j]}) "
                    f"contradict each other: gcd({moduli[i]}, {moduli[j]}) = {g} does not divide "
                    f"{remainders[j]} - {remainders[i]}"
                )
    return "the congruences are inconsistent"


@tool("number_theory")
def chinese_remainder(remainders: ResidueList, moduli: PositiveIntList) -> dict:
    """Solve the system x ≡ remainders[i] (mod moduli[i]) (Chinese remainder theorem).

    The moduli need not be coprime. Returns {"solution": x, "modulus": M}: the solutions are exactly
    the x + k*M, where M is the least common multiple of the moduli and 0 <= x < M.

    Args:
        remainders: The remainders, e.g. [2, 3, 2].
        moduli: The moduli, positive integers in the same order, e.g. [3, 5, 7] (answer 23 mod 105).
    """
    if len(remainders) != len(moduli):
        raise tool_error(
            f"{len(remainders)} remainders but {len(moduli)} moduli",
            "Pass one remainder for each modulus, in the same order.",
        )
    x, big_m = 0, 1
    for r, m in zip(remainders, moduli, strict=True):
        check_size(r, "a remainder")
        check_size(m, "a modulus")
        g = math.gcd(big_m, m)
        if (r - x) % g:
            raise tool_error(
                f"the system has no solution: {_conflict(remainders, moduli)}",
                "Check the remainders and moduli; with non-coprime moduli the remainders must agree "
                "modulo the gcd of the moduli.",
            )
        step = m // g
        t = (r - x) // g * pow(big_m // g, -1, step) % step if step > 1 else 0
        x += big_m * t
        big_m *= step
        x %= big_m
        check_result_size(big_m, "the combined modulus")
    return {"solution": x, "modulus": big_m}


@tool("number_theory")
def solve_linear_congruence(a: Int, b: Int, m: PositiveInt) -> dict:
    """Solve the linear congruence a*x ≡ b (mod m) for x.

    There are solutions exactly when g = gcd(a, m) divides b, and then g of them modulo m.
    Returns {"solutions": [all x in 0..m-1], "modulus": m, "count": g,
    "general": {"solution": x0, "modulus": m/g}} (x ≡ x0 (mod m/g) describes them all);
    at most 1000 solutions are listed.

    Args:
        a: The coefficient of x, e.g. 6.
        b: The right-hand side, e.g. 4.
        m: The modulus, a positive integer, e.g. 10 (6x ≡ 4 (mod 10) has x = 4 and x = 9).
    """
    for value, name in ((a, "a"), (b, "b"), (m, "m")):
        check_size(value, name)
    g = math.gcd(a, m)
    if b % g:
        raise tool_error(
            f"{a}*x ≡ {b} (mod {m}) has no solution: gcd({a}, {m}) = {g} does not divide {b}",
            "A linear congruence is solvable only when gcd(a, m) divides b; check the coefficients.",
        )
    step = m // g
    x0 = (b // g) * pow(a // g, -1, step) % step if step > 1 else 0
    result: dict[str, Any] = {
        "solutions": [x0 + k * step for k in range(min(g, MAX_LISTED))],
        "modulus": m,
        "count": g,
        "general": {"solution": x0, "modulus": step},
    }
    if g > MAX_LISTED:
        result["note"] = f"only the first {MAX_LISTED} of {g} solutions are listed"
    return result


_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PREFIXES = {2: "0B", 8: "0O", 16: "0X"}


def _number_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    return str(value) if isinstance(value, int) else value


def in_base(n: int, base: int) -> str:
    """The digits of n in a base from 2 to 36, e.g. in_base(255, 16) == "FF"."""
    if n == 0:
        return "0"
    sign, n = ("-" if n < 0 else ""), abs(n)
    out = []
    while n:
        n, d = divmod(n, base)
        out.append(_DIGITS[d])
    return sign + "".join(reversed(out))


@tool("number_theory")
def convert_base(
    number: Annotated[str, pydantic.BeforeValidator(_number_text)],
    from_base: Base,
    to_base: Base,
) -> str:
    """Convert an integer written in one base (2 to 36) to another base; digits above 9 are letters A-Z.

    Returns the digit string in the new base, with capital letters, e.g. "FF".

    Args:
        number: The integer's digits in from_base, as a string, e.g. "11111111" or "ff"; may start with "-".
        from_base: The base the number is written in, 2 to 36.
        to_base: The base to convert to, 2 to 36.
    """
    text = number.strip().replace("_", "").upper()
    sign = ""
    if text[:1] in "+-":
        sign, text = ("-" if text[0] == "-" else ""), text[1:].strip()
    prefix = _PREFIXES.get(from_base)
    if prefix and text.startswith(prefix) and len(text) > 2:
        text = text[2:]
    if not text:
        raise tool_error("the number has no digits", 'Pass the digits as a string, e.g. "1011".')
    if len(text) > MAX_BASE_DIGITS:
        raise tool_error(
            f"the number has {len(text)} digits (limit {MAX_BASE_DIGITS})", "Use a shorter number."
        )
    allowed = _DIGITS[:from_base]
    bad = sorted({c for c in text if c not in allowed})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise tool_error(
            f"{shown} {'is not a digit' if len(bad) == 1 else 'are not digits'} in base {from_base}",
            f"Base {from_base} uses only the digits {allowed[0]}-{allowed[-1]}; check the number and from_base "
            "(fractions are not supported).",
        )
    value = int(text, from_base)
    if value.bit_length() / math.log2(to_base) > MAX_BASE_DIGITS:
        raise tool_error(
            f"the result would have more than {MAX_BASE_DIGITS} digits",
            "Use a smaller number or a larger to_base.",
        )
    return in_base(-value if sign else value, to_base)


@tool("number_theory")
def digit_sum(n: Int, base: Base = 10) -> int:
    """The sum of the digits of an integer (of |n| for negative n), in base 10 or another base.

    Args:
        n: The integer, e.g. 9875 (digit sum 29) or "2**100".
        base: The base the digits are taken in, 2 to 36 (default 10).
    """
    check_size(n, "n", MAX_RESULT_DIGITS)
    n, total = abs(n), 0
    while n:
        n, d = divmod(n, base)
        total += d
    return total
