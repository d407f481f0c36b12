"""Number theory tools, called exactly as a model calls them, against answers worked out by hand."""

from __future__ import annotations

import pytest
import sympy as sp

from tests.toolkit.helpers import assert_fast, assert_registered, error_type_of, result_of
from toolkit.parse import parse_expression
from toolkit.registry import execute

NUMBER_THEORY_TOOLS = {
    "gcd",
    "lcm",
    "prime_factorization",
    "list_divisors",
    "count_divisors",
    "sum_divisors",
    "is_prime",
    "nth_prime",
    "euler_totient",
    "modular_inverse",
    "modular_power",
    "chinese_remainder",
    "solve_linear_congruence",
    "convert_base",
    "digit_sum",
}


# (tool, arguments, expected result) — every expected value computed by hand.
RESULTS = [
    # gcd
    ("gcd", {"numbers": [84, 126]}, 42),
    ("gcd", {"numbers": ["12", "18", "30"]}, 6),
    ("gcd", {"numbers": "12, 18"}, 6),
    ("gcd", {"numbers": [-4, 6]}, 2),
    ("gcd", {"numbers": [0, 0]}, 0),
    ("gcd", {"numbers": ["2**10", 96]}, 32),
    # lcm
    ("lcm", {"numbers": [4, 6]}, 12),
    ("lcm", {"numbers": ["3", "5", "7"]}, 105),
    ("lcm", {"numbers": [21, 6]}, 42),
    ("lcm", {"numbers": [0, 5]}, 0),
    # list_divisors
    ("list_divisors", {"n": 36}, [1, 2, 3, 4, 6, 9, 12, 18, 36]),
    ("list_divisors", {"n": "13"}, [1, 13]),
    ("list_divisors", {"n": 1}, [1]),
    ("list_divisors", {"n": -6}, [1, 2, 3, 6]),
    # count_divisors
    ("count_divisors", {"n": 36}, 9),
    ("count_divisors", {"n": "2**10"}, 11),
    ("count_divisors", {"n": 1}, 1),
    ("count_divisors", {"n": 735134400}, 1344),  # 2^6 3^3 5^2 7 11 13 17: 7*4*3*2*2*2*2
    # sum_divisors
    ("sum_divisors", {"n": 12}, 28),
    ("sum_divisors", {"n": 28}, 56),  # perfect number
    ("sum_divisors", {"n": 12, "k": 2}, 210),  # 1 + 4 + 9 + 16 + 36 + 144
    ("sum_divisors", {"n": 6, "k": "0"}, 4),
    ("sum_divisors", {"n": 1}, 1),
    # is_prime
    ("is_prime", {"n": 97}, True),
    ("is_prime", {"n": 2}, True),
    ("is_prime", {"n": "2**61 - 1"}, True),  # a Mersenne prime
    ("is_prime", {"n": "2^67 - 1"}, False),  # = 193707721 * 761838257287
    ("is_prime", {"n": 561}, False),  # Carmichael number 3*11*17
    ("is_prime", {"n": 1}, False),
    ("is_prime", {"n": 0}, False),
    ("is_prime", {"n": -7}, False),
    # nth_prime
    ("nth_prime", {"n": 1}, 2),
    ("nth_prime", {"n": 2}, 3),
    ("nth_prime", {"n": "100"}, 541),
    ("nth_prime", {"n": 10000}, 104729),
    # euler_totient
    ("euler_totient", {"n": 36}, 12),
    ("euler_totient", {"n": 97}, 96),
    ("euler_totient", {"n": "100"}, 40),
    ("euler_totient", {"n": 1}, 1),
    # modular_inverse
    ("modular_inverse", {"a": 3, "m": 11}, 4),
    ("modular_inverse", {"a": "10", "m": "17"}, 12),  # 10*12 = 120 = 7*17 + 1
    ("modular_inverse", {"a": -3, "m": 11}, 7),  # -21 ≡ 1 (mod 11)
    ("modular_inverse", {"a": 5, "m": 1}, 0),  # everything is 0 modulo 1
    # modular_power
    ("modular_power", {"base": 3, "exponent": 200, "modulus": 13}, 9),  # 3^3 ≡ 1, 200 = 3*66 + 2
    ("modular_power", {"base": "2", "exponent": "10", "modulus": "1000"}, 24),
    ("modular_power", {"base": 3, "exponent": -1, "modulus": 11}, 4),
    ("modular_power", {"base": 7, "exponent": 0, "modulus": 10}, 1),
    ("modular_power", {"base": 5, "exponent": 3, "modulus": 1}, 0),
    # chinese_remainder
    (
        "chinese_remainder",
        {"remainders": [2, 3, 2], "moduli": [3, 5, 7]},
        {"solution": 23, "modulus": 105},
    ),
    (
        "chinese_remainder",
        {"remainders": ["1", "3"], "moduli": ["4", "6"]},
        {"solution": 9, "modulus": 12},
    ),
    ("chinese_remainder", {"remainders": [3, 3], "moduli": [4, 8]}, {"solution": 3, "modulus": 8}),
    ("chinese_remainder", {"remainders": [10], "moduli": [7]}, {"solution": 3, "modulus": 7}),
    (
        "chinese_remainder",
        {"remainders": [-1, -1], "moduli": [5, 6]},
        {"solution": 29, "modulus": 30},
    ),
    # solve_linear_congruence
    (
        "solve_linear_congruence",
        {"a": 3, "b": 2, "m": 7},
        {"solutions": [3], "modulus": 7, "count": 1, "general": {"solution": 3, "modulus": 7}},
    ),
    (
        "solve_linear_congruence",
        {"a": 6, "b": 4, "m": 10},
        {"solutions": [4, 9], "modulus": 10, "count": 2, "general": {"solution": 4, "modulus": 5}},
    ),
    (
        "solve_linear_congruence",
        {"a": "-2", "b": "4", "m": "6"},
        {"solutions": [1, 4], "modulus": 6, "count": 2, "general": {"solution": 1, "modulus": 3}},
    ),
    (
        "solve_linear_congruence",
        {"a": 0, "b": 0, "m": 3},
        {
            "solutions": [0, 1, 2],
            "modulus": 3,
            "count": 3,
            "general": {"solution": 0, "modulus": 1},
        },
    ),
    # convert_base
    ("convert_base", {"number": "ff", "from_base": 16, "to_base": 2}, "11111111"),
    ("convert_base", {"number": 255, "from_base": 10, "to_base": 16}, "FF"),
    ("convert_base", {"number": "255", "from_base": "10", "to_base": "16"}, "FF"),
    ("convert_base", {"number": "0x1A", "from_base": 16, "to_base": 10}, "26"),
    ("convert_base", {"number": "100", "from_base": 10, "to_base": 36}, "2S"),  # 2*36 + 28
    ("convert_base", {"number": "Z", "from_base": 36, "to_base": 10}, "35"),
    ("convert_base", {"number": "-101", "from_base": 2, "to_base": 10}, "-5"),
    ("convert_base", {"number": "0", "from_base": 10, "to_base": 2}, "0"),
    # digit_sum
    ("digit_sum", {"n": 9875}, 29),
    ("digit_sum", {"n": "2**10"}, 7),  # 1024
    ("digit_sum", {"n": -123}, 6),
    ("digit_sum", {"n": 0}, 0),
    ("digit_sum", {"n": 255, "base": 16}, 30),  # FF
    ("digit_sum", {"n": 5, "base": "2"}, 2),  # 101
]


@pytest.mark.parametrize(("name", "args", "expected"), RESULTS)
def test_results(name: str, args: dict, expected: object) -> None:
    assert result_of(name, args) == expected


@pytest.mark.parametrize(
    ("n", "factors"),
    [
        (360, {2: 3, 3: 2, 5: 1}),
        ("97", {97: 1}),
        ("2**32 + 1", {641: 1, 6700417: 1}),
        (-12, {2: 2, 3: 1}),
        (1, {}),
        ("2**64 - 1", {3: 1, 5: 1, 17: 1, 257: 1, 641: 1, 65537: 1, 6700417: 1}),
    ],
)
def test_prime_factorization(n: object, factors: dict) -> None:
    result = result_of("prime_factorization", {"n": n})
    assert {int(p): e for p, e in result["factors"].items()} == factors
    # The product string is SymPy syntax that multiplies back to n.
    assert parse_expression(result["product"]) == parse_expression(str(n))


# (tool, arguments, error type)
ERRORS = [
    ("gcd", {"numbers": [5]}, "invalid_arguments"),
    ("gcd", {"numbers": ["x", 2]}, "invalid_arguments"),
    ("lcm", {"numbers": [7]}, "invalid_arguments"),
    ("lcm", {"numbers": [2.5, 2]}, "invalid_arguments"),
    ("prime_factorization", {"n": 0}, "tool_error"),
    ("prime_factorization", {"n": "10**300"}, "tool_error"),
    # no small factors and over 10**28: refused rather than risking the deadline
    ("prime_factorization", {"n": "100000000000031 * 300000000000089"}, "tool_error"),
    ("list_divisors", {"n": 0}, "tool_error"),
    ("list_divisors", {"n": 735134400}, "tool_error"),  # 1344 divisors: too many to list
    ("count_divisors", {"n": 0}, "tool_error"),
    ("sum_divisors", {"n": 0}, "tool_error"),
    ("sum_divisors", {"n": 12, "k": 101}, "tool_error"),
    ("sum_divisors", {"n": 12, "k": -1}, "invalid_arguments"),
    ("is_prime", {"n": "1/2"}, "invalid_arguments"),
    ("is_prime", {"n": "10**2000 + 1"}, "tool_error"),
    ("nth_prime", {"n": 0}, "invalid_arguments"),
    ("nth_prime", {"n": 10**8}, "tool_error"),
    ("euler_totient", {"n": 0}, "invalid_arguments"),
    ("modular_inverse", {"a": 6, "m": 9}, "tool_error"),
    ("modular_inverse", {"a": 0, "m": 7}, "tool_error"),
    ("modular_inverse", {"a": 3, "m": 0}, "invalid_arguments"),
    ("modular_power", {"base": 2, "exponent": -1, "modulus": 4}, "tool_error"),
    ("modular_power", {"base": 2, "exponent": 3, "modulus": 0}, "invalid_arguments"),
    ("chinese_remainder", {"remainders": [1, 2], "moduli": [4, 6]}, "tool_error"),
    ("chinese_remainder", {"remainders": [1, 2], "moduli": [3]}, "tool_error"),
    ("chinese_remainder", {"remainders": [0, 0], "moduli": [0, 5]}, "invalid_arguments"),
    ("solve_linear_congruence", {"a": 6, "b": 5, "m": 10}, "tool_error"),
    ("solve_linear_congruence", {"a": 0, "b": 1, "m": 3}, "tool_error"),
    ("convert_base", {"number": "129", "from_base": 8, "to_base": 10}, "tool_error"),
    ("convert_base", {"number": "12.5", "from_base": 10, "to_base": 2}, "tool_error"),
    ("convert_base", {"number": "G", "from_base": 16, "to_base": 10}, "tool_error"),
    ("convert_base", {"number": "10", "from_base": 37, "to_base": 2}, "invalid_arguments"),
    ("convert_base", {"number": "10", "from_base": 10, "to_base": 1}, "invalid_arguments"),
    ("digit_sum", {"n": 2.5}, "invalid_arguments"),
    ("digit_sum", {"n": 10, "base": 1}, "invalid_arguments"),
]


@pytest.mark.parametrize(("name", "args", "error"), ERRORS)
def test_errors(name: str, args: dict, error: str) -> None:
    assert error_type_of(name, args) == error


def test_error_messages_explain_the_mathematics() -> None:
    inverse = execute("modular_inverse", {"a": 6, "m": 9})["error"]
    assert "gcd(6, 9) = 3" in inverse["message"]
    crt = execute("chinese_remainder", {"remainders": [1, 2], "moduli": [4, 6]})["error"]
    assert "gcd(4, 6) = 2" in crt["message"]
    digit = execute("convert_base", {"number": "129", "from_base": 8, "to_base": 10})["error"]
    assert "'9'" in digit["message"] and "base 8" in digit["message"]


def test_results_check_out_against_sympy() -> None:
    crt = result_of("chinese_remainder", {"remainders": [2, 3, 2], "moduli": [3, 5, 7]})
    assert [crt["solution"] % m for m in (3, 5, 7)] == [2, 3, 2]
    assert result_of("convert_base", {"number": "2S", "from_base": 36, "to_base": 10}) == "100"
    assert result_of("euler_totient", {"n": 5040}) == sp.totient(5040)
    assert result_of("sum_divisors", {"n": 5040, "k": 3}) == sp.divisor_sigma(5040, 3)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("nth_prime", {"n": 10**7}),
        ("is_prime", {"n": "10**999 + 7"}),
        ("prime_factorization", {"n": "10000000000037 * 7000000000009"}),  # two 14-digit primes
        ("prime_factorization", {"n": "2**128 - 1"}),
        ("convert_base", {"number": "Z" * 700, "from_base": 36, "to_base": 2}),
    ],
)
def test_calls_at_the_size_limits_stay_fast(name: str, args: dict) -> None:
    assert_fast(name, args)


def test_tools_are_registered_with_described_parameters() -> None:
    assert_registered("number_theory", NUMBER_THEORY_TOOLS)
