"""The leak filter (`pipeline.agents.judge.find_leak`): tools, code and JSON are caught; ordinary mathematics is not.

`LEAKS` and `ORDINARY` are also the fixed sets of `bench/leak_filter_bench.py`, which measures the
false-positive rate on the real MATH train problems and solutions.
"""

from __future__ import annotations

import pytest

from pipeline.agents.judge import find_leak, reason_kind
from pipeline.agents.rephrase import plan_text, scrub
from toolkit.registry import select_tools

TOOL_NAMES = sorted(t.name for t in select_tools())
ONE_WORD = [n for n in TOOL_NAMES if "_" not in n]  # English words too: only a call or an identifier is a leak

# texts that must be caught
LEAKS: list[str] = [
    # tool names: multi-word ones anywhere, one-word ones called or backticked
    "I call solve_equation and get $x = 2$.",
    "Next we use solve_equation on the quadratic.",
    "Then differentiate(x**3, x) gives $3x^2$.",
    "So `differentiate` gives $3x^2$.",
    "Apply `factor` to the numerator.",
    "Apply `simplify` to the quotient.",
    "We compute simplify(expr) to get $1$.",
    "Then factor(x**2 - 1) is $(x-1)(x+1)$.",
    "So integrate(sin(x), x) is $-\\cos x$.",
    "The value product(k, (k, 1, 5)) is $120$.",
    "Here gcd(a=12, b=18) is $6$.",
    "Here lcm(a=4, b=6) is $12$.",
    "Then `gcd` gives $6$.",
    "Then solve_equation(equation='x**2 - 4', variable='x') gives $\\pm 2$.",
    "We solve Eq(x**2, 4) for $x$.",
    # code
    "```python\nprint(comb(6, 2))\n```",
    "def f(x):\n    return x**2 + 1",
    "We write def f(x): return x**2 and evaluate it.",
    "import sympy\nx = sympy.Symbol('x')",
    "import sympy as sp",
    "from sympy import symbols, solve",
    "We first import sympy and define the symbol.",
    "print(15)",
    "Then print(binomial(6, 2)) shows $15$.",
    "    return x**2",
    "and return x**2 + 1 at the end",
    "Define g = lambda x: x**2 + 1.",
    "for k in range(10): total += k",
    "Then sp.solve(x**2 - 4, x) gives $\\pm 2$.",
    "We substitute with expr.subs(x, 2) and get $5$.",
    "x = symbols('x')",
    ">>> factor(x**2 - 1)",
    # JSON
    'The output {"result": 15} gives the answer.',
    'We pass {"expression": "x**2 - 4", "variable": "x"}.',
    "It printed {'result': 15}.",
    '{"status": "error", "message": "cannot parse"}',
    'and "result": [2, 3] is the list of roots.',
    # talk about tools and their results
    "Using the tool, $x = 2$.",
    "Let me call the solver tool.",
    "The tool returned $[2, 3]$.",
    "The tool output is $15$.",
    "According to the tool, the roots are $2$ and $3$.",
    "A function call gives the determinant $-2$.",
    "I called the solver and it gave $x = 2$.",
    "I invoked the integrator on the expression.",
    "The solver returned $x = 2$.",
    "The function returned $[2, 3]$, the two roots.",
    "According to the solver, $x = 2$.",
    "The code returned $42$.",
    "Running the code gives $42$.",
    "After running the Python code we get $42$.",
    "Let me check this with code: it agrees.",
    "The program outputs $7$.",
    "The SymPy computation gives $7$.",
    "The JSON reply holds the value.",
    "First, [UNVERIFIED STEP: computed solve_equation with {\"equation\": \"x = 2\"}, which returned [2]]. So $2$.",
]
LEAKS += [f"Now {name} gives the value." for name in TOOL_NAMES if "_" in name]
LEAKS += [f"Now `{name}` gives the value." for name in ONE_WORD]
LEAKS += [f"Then {name}(x**2, x) gives the value." for name in ONE_WORD if name not in ("gcd", "lcm")]

# Real-looking MATH problems and solutions (written for this test in the style of the MATH train set)
ORDINARY: list[str] = [
    "Let $f(x)$ be defined as $f(x) = 3x + 2$. Find $f(4)$.",
    "The function $f$ is defined by $f(n) = n^2 + 1$ for positive integers $n$.",
    "The function $f(x) = \\frac{1}{x-2}$ is undefined at $x = 2$, so the domain excludes $2$.",
    "Let $g$ be the function defined by $g(x) = 2x - 5$. What is the default value of $g(0)$?",
    "We define the sequence by $a_1 = 1$ and $a_{n+1} = 2a_n$.",
    "In triangle $DEF$, $DE = 6$ and $EF = 8$. By the definition of sine, $\\sin D = \\frac{4}{5}$.",
    "Since $f$ is defined for all real numbers, the domain of the function is $(-\\infty, \\infty)$.",
    "My three-digit code is 023. How many codes can Reckha choose?",
    "In Morse code, each symbol is a sequence of dashes and dots.",
    "Sami's new three-digit area code contains a 9, 8 and 7.",
    "A student must choose a program of four courses. In how many ways can this program be chosen?",
    "Compute $1003^2 - 997^2$ without using a calculator.",
    "Dean passes the calculators around the circle; each calculator shows $1$ at the end.",
    "How many minutes will it take to print 200 pages if the printer prints 17 pages per minute?",
    "Let $f(n)$ return the smallest positive integer $k$ such that $\\frac{1}{k}$ has $n$ digits.",
    "Now we return to the original problem. Higher values of $b$ return lower values of $a$.",
    "The speed on the return trip is $r$ miles per hour.",
    "So $gcd(91, 72) = 1$, and $\\text{lcm}(4, 6) = 12$.",
    "Since $\\gcd(b, d, f) = 1$, the system has one solution.",
    "Let GCF(a, b) be the greatest common factor. What is GCF(LCM(8, 14), LCM(7, 12))?",
    "The eigenvalue $\\lambda x$: we have $A\\mathbf{v} = \\lambda \\mathbf{v}$.",
    "List the prime factor(s) of $91$.",
    "The statement ``Ted's age is 15 years less than twice Sally's age.'' gives $t = 2s - 15$.",
    "The Gnollish language consists of 3 words, ``splargh,'' ``glumph,'' and ``amr.''",
    "Choose 3 of our 7 steps to be `up' (and the other 4 steps will thus be `right').",
    "Think of a downward move as the letter ``D\" and a move to the right as the letter ``R\".",
    "What is the average headcount for the spring terms of the `02-`03, `03-`04 and `04-`05 years?",
    "The inequality holds on $[-1, \\infty)$ with three \"holes\": at $-\\frac12$, $0$ and $1$.",
    "We differentiate both sides and factor the result: $f'(x) = 3(x-1)(x+1)$.",
    "Simplify $\\frac{x^2 - 1}{x - 1}$ and integrate by parts; the product of the roots is $6$.",
    "The distance between the points, the slope of the line, the midpoint and the discriminant are all integers.",
    "The inradius and circumradius satisfy Euler's inequality; the summation runs over $k$.",
    "According to the graph, what is the average monthly balance?",
    "According to the table below, what is the median value?",
    "I have 5 marbles and I call the red one $R$. We call such a number good.",
    "The graph of $y = f(x)$ is shown below.\n\n[asy]\nimport graph; size(5cm);\nreal f(real x) {return x^2 - 4;}\n"
    "rr_cartesian_axes(-5, 5, -5, 5);\ndraw(graph(f, -3, 3), red);\nlabel(\"Vertex: $(0,-4)$\", (0, -4), S);\n[/asy]\n\n"
    "Find $f(2)$.",
    "[asy]\nimport three;\nreal trig_axes(real x) { return sin(x); }\nrm_trig_labels(-5, 5, 2);\n[/asy]",
    "The answer is $\\boxed{15}$.",
]


@pytest.mark.parametrize("text", LEAKS)
def test_leaks_are_caught(text):
    why = find_leak(text)
    assert why is not None, text
    assert reason_kind(why) == "mentions_tool_or_code", why  # the judge counts them under one kind


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_mathematics_is_not_a_leak(text):
    assert find_leak(text) is None, (text, find_leak(text))


def test_every_tool_is_in_the_leak_set():
    for name in TOOL_NAMES:
        assert any(name in text for text in LEAKS), name


def test_one_word_tool_names_in_prose_are_english():
    for name in ONE_WORD:
        assert find_leak(f"We {name} the expression; the {name} of the two is $2$.") is None, name


def test_asymptote_code_outside_a_figure_is_code():
    assert find_leak("import graph;\nreal f(real x) {return x^2;}") is not None  # no [asy] around it
    assert find_leak("[asy]draw((0,0)--(1,1));[/asy] Then solve_equation gives $2$.") is not None


def test_scrub_keeps_mathematics_and_figures_whole():
    figure = "[asy]\nsize(3cm);\nlabel(\"Vertex: $(2,-4)$\", (2,-4), S);\ndraw((0,0)--(1,1));\n[/asy]"
    text = (f"The function $f$ is defined by $f(x) = x^2$. It is graphed below: {figure} "
            "The tool returned $4$. So $f(2) = 4$.")
    assert scrub(text) == f"The function $f$ is defined by $f(x) = x^2$. It is graphed below: {figure} So $f(2) = 4$."


def test_plan_keeps_lines_about_functions():
    plan = "Plan:\n1. Note that $f$ is defined piecewise.\n2. Evaluate the function at $x = 2$ with `substitute_values`.\n3. Print the code output."
    assert plan_text(plan) == "Note that $f$ is defined piecewise; Evaluate the function at $x = 2$"
