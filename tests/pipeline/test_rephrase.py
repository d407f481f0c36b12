"""Rephrase: one fluent solution per verified trace, with no tool names, code or JSON, and the right boxed answer."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.agents.judge import Judge, find_leak
from pipeline.agents.rephrase import compose, plan_text, scrub, unbox, validate
from pipeline.agents.solver import solve
from pipeline.agents.translator import Translator, TranslatorConfig
from pipeline.records import RejectReason
from pipeline.synthetic import FAMILIES, generate_problems
from pipeline.teachers.symbolic import SymbolicTeacher
from toolkit.grading import Grader, extract_boxed
from toolkit.registry import openai_tools
from toolkit.sandbox import Sandbox


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def solved():
    """Real symbolic-teacher traces (two per family) with their verified translations."""
    problems = generate_problems(2 * len(FAMILIES), seed=11)
    tools = openai_tools()
    out = []
    with Sandbox(workers=1) as sandbox, Grader(workers=1, timeout_s=10) as grader:
        translator = Translator(TranslatorConfig(), Judge(grader))

        async def go():
            for problem in problems:
                trace = await solve(problem, SymbolicTeacher(), sandbox.call, tools)
                translations = [await translator.translate(trace.id, i, c) for i, c in enumerate(trace.tool_calls) if c.ok]
                out.append((trace, translations))

        run(go())
    return out


def test_composed_solutions_have_no_tool_names_and_the_right_answer(solved):
    families = set()
    with Grader(workers=1, timeout_s=10) as grader:
        for trace, translations in solved:
            assert trace.final_answer is not None, trace.problem
            assert all(t.accepted for t in translations)
            text = compose(trace, translations, trace.final_answer)
            # the raw material mentions tools (plans name them, reflections say "the linear-system tool")
            assert any(find_leak(m.get("content") or "") for m in trace.messages if m["role"] == "assistant")
            assert find_leak(text) is None, text
            for call in trace.tool_calls:  # one-word names (`differentiate`) are plain English
                assert "_" not in call.name or call.name not in text
            assert "`" not in text and '{"' not in text
            assert text.count("\\boxed{") == 1 and text.rstrip().endswith("$.")
            assert "answer:" not in text.lower()  # the teacher's own answer line is replaced, not left dangling
            assert run(validate(text, trace.answer, grader)) == (None, "")
            families.add(trace.meta.get("family"))
    assert families == set(FAMILIES)


def test_composition_varies_its_connectives(solved):
    openings = {compose(trace, ts, trace.final_answer).split("\n", 1)[0] for trace, ts in solved}
    assert len(openings) >= 3


def test_validation_rejects_leaks_wrong_and_missing_answers():
    with Grader(workers=1, timeout_s=10) as grader:
        assert run(validate("We call solve_equation: $x = 2$, so $\\boxed{2}$.", "2", grader))[0] == RejectReason.REPHRASE_LEAK
        assert run(validate("Using the tool, $x = 2$, so $\\boxed{2}$.", "2", grader))[0] == RejectReason.REPHRASE_LEAK
        assert run(validate("Hence $x = 3$, so $\\boxed{3}$.", "2", grader))[0] == RejectReason.REPHRASE_WRONG_ANSWER
        assert run(validate("Hence $x = 2$.", "2", grader))[0] == RejectReason.REPHRASE_NO_ANSWER
        assert run(validate("", "2", grader))[0] == RejectReason.REPHRASE_FAILED
        marked = "First, [UNVERIFIED STEP: computed solve_equation with {\"equation\": \"x = 2\"}, which returned [2]]. So $\\boxed{2}$."
        assert run(validate(marked, "2", grader))[0] == RejectReason.REPHRASE_LEAK
        assert run(validate(marked, "2", grader, allow_fallback=True)) == (None, "")


def test_validation_keeps_solutions_about_functions_and_figures():
    """A MATH-style solution that defines a function, quotes words and draws a figure is not a leak."""
    text = ("The function $f$ is defined by $f(x) = x^2 - 4$; we call its roots ``zeros.''\n\n"
            "[asy]\nimport graph; size(4cm);\nreal f(real x) {return x^2 - 4;}\ndraw(graph(f, -3, 3));\n[/asy]\n\n"
            "Setting $f(x) = 0$ gives $x = \\pm 2$, so the positive root is $\\boxed{2}$.")
    with Grader(workers=1, timeout_s=10) as grader:
        assert run(validate(text, "2", grader)) == (None, "")
        assert run(validate(text.replace("Setting", "The tool returned $[-2, 2]$. Setting"), "2", grader))[0] == RejectReason.REPHRASE_LEAK
    assert scrub(text).split() == text.split()  # nothing cut (scrub only rejoins sentences with spaces)
    assert plan_text("1. Write $f$ as defined in the problem.\n2. Use the function at $x = 2$.") == (
        "Write $f$ as defined in the problem; Use the function at $x = 2$")


def test_text_helpers():
    assert unbox("so $\\boxed{\\frac{1}{2}}$ and \\boxed{x = {3}}") == "so $\\frac{1}{2}$ and x = {3}"
    assert scrub("Let me call the solver tool. The roots are $2$ and $3$. I use `vieta_sums` next.") == "The roots are $2$ and $3$."
    plan = "Plan:\n1. Solve the system with `solve_linear_system`.\n2. Substitute into $xy$ using `substitute_values`.\n3. Check the result against the question and give it in \\boxed{}."
    assert plan_text(plan) == "Solve the system; Substitute into $xy$"
    assert extract_boxed("none") is None
