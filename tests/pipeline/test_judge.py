"""The Judge: symbolic comparison with the real tool result first, an LLM verdict only when undecided."""

from __future__ import annotations

import asyncio
import json

import pytest

from pipeline.agents.judge import Judge, find_leak, parse_verdict
from pipeline.agents.translator import Translator, TranslatorConfig
from pipeline.derivations import derive, expected_answer
from pipeline.records import ToolCall
from toolkit.grading import Grader
from toolkit.registry import execute


@pytest.fixture(scope="module")
def grader():
    with Grader(workers=1, timeout_s=10) as g:
        yield g


def run(coro):
    return asyncio.run(coro)


def _tool(name: str, args: dict) -> tuple[str, str, object]:
    payload = execute(name, args)
    return json.dumps(args), json.dumps(payload), payload["result"]


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("\\boxed{True}", True),
        ("The translation is right. \\boxed{ true }", True),
        ("\\boxed{\\text{False}}", False),
        ("\\boxed{False}", False),
        ("False", None),  # the paper's judge read the bare string "False" as acceptance; here it is undecided
        ("True", None),
        ("\\boxed{Maybe}", None),
        ("", None),
    ],
)
def test_verdict_parsing(text, verdict):
    assert parse_verdict(text) is verdict


def test_judge_accepts_a_right_translation_and_rejects_a_wrong_one(grader):
    judge = Judge(grader)
    args, result, value = _tool("solve_linear_system", {"equations": ["x + y = 3", "x - y = 1"], "variables": ["x", "y"]})
    expected = expected_answer("solve_linear_system", value)
    right = derive("solve_linear_system", args, result).text()
    assert run(judge.judge(right, expected)).accepted
    assert run(judge.judge("Adding the equations, $2x = 4$, so \\boxed{y = 1, x = 2}.", expected)).accepted
    wrong = run(judge.judge("Adding the equations gives \\boxed{x = 2, y = 2}.", expected))
    assert not wrong.accepted and wrong.method == "symbolic" and "not the result" in wrong.reason
    assert not run(judge.judge("so $x = 2$, $y = 1$", expected)).accepted  # no boxed answer
    _, _, roots = _tool("solve_equation", {"equation": "x**2 - 5*x + 6 = 0", "variable": "x"})
    roots_expected = expected_answer("solve_equation", roots)
    assert run(judge.judge("\\boxed{3, 2}", roots_expected)).accepted  # order does not matter
    assert not run(judge.judge("\\boxed{3}", roots_expected)).accepted  # a missing root does
    assert not run(judge.judge("\\boxed{2, 3, 4}", roots_expected)).accepted
    _, _, value = _tool("compute_limit", {"expression": "(sqrt(x + 9) - 3)/x", "variable": "x", "point": "0"})
    assert run(judge.judge("\\boxed{\\frac{1}{6}}", expected_answer("compute_limit", value))).accepted
    assert run(judge.judge("\\boxed{0.1666667}", expected_answer("compute_limit", value))).accepted
    assert not run(judge.judge("\\boxed{\\frac{1}{3}}", expected_answer("compute_limit", value))).accepted


def test_judge_rejects_translations_that_mention_tools_or_code(grader):
    judge = Judge(grader)
    expected = expected_answer("binomial_coefficient", 15)
    for text in ("I call solve_equation and get \\boxed{15}.", "Using the tool, \\boxed{15}.",
                 "```python\nprint(comb(6, 2))\n```\n\\boxed{15}", 'The output {"result": 15} gives \\boxed{15}.'):
        verdict = run(judge.judge(text, expected))
        assert not verdict.accepted and verdict.method == "", text
    assert find_leak("By the product rule, $\\frac{d}{dx}(x_1(t)) = 2$.") is None


def test_judge_accepts_translations_in_ordinary_mathematical_words(grader):
    """"defined", "the function f", a three-digit code or ``quotes'' are mathematics, not tool talk."""
    judge = Judge(grader)
    expected = expected_answer("binomial_coefficient", 15)
    for text in ("Let $f$ be the function defined by $f(n) = \\binom{n}{2}$; then $f(6) = \\boxed{15}$.",
                 "The function $f(n) = \\frac{n(n-1)}{2}$ counts pairs, so a program of two of six courses "
                 "can be chosen in \\boxed{15} ways.",
                 "Each ``pair'' of the $6$ digits of the code gives one choice: \\boxed{15}."):
        assert find_leak(text) is None, text
        verdict = run(judge.judge(text, expected))
        assert verdict.accepted and verdict.method == "symbolic", (text, verdict)
    for text in ("def f(n):\n    return n * (n - 1) // 2\n\nso \\boxed{15}", "Then `differentiate` gives \\boxed{15}.",
                 "I called the solver: \\boxed{15}.", "According to the tool output, \\boxed{15}."):
        verdict = run(judge.judge(text, expected))
        assert not verdict.accepted and verdict.method == "", text


# An answer SymPy cannot compare within the tests' 0.5 s deadline (an unevaluated sum would be
# graded wrong at once now: a restated question is not an answer).
UNDECIDABLE = r"\boxed{(x+1)^{2000} - (x+1)^{1999}}"


def test_undecided_symbolic_check_without_llm_is_a_rejection():
    with Grader(workers=1, timeout_s=0.5) as quick:
        verdict = run(Judge(quick).judge(UNDECIDABLE, expected_answer("summation", 5)))
    assert not verdict.accepted and "undecided" in verdict.reason


def test_llm_judge_verdict_is_parsed_honestly():
    """SmolLM2 as the LLM judge for an undecided comparison: accepted only on a boxed True."""
    from pipeline.teachers.config import HFOptions, HFTeacherSpec
    from pipeline.teachers.registry import build_teacher

    teacher = build_teacher(HFTeacherSpec(options=HFOptions(model="smollm2", max_tokens=24)))
    with Grader(workers=1, timeout_s=0.5) as quick:
        judge = Judge(quick, teacher, max_tokens=24)
        verdict = run(judge.judge(UNDECIDABLE, expected_answer("summation", 5), task="Sum", given="expression = k**7"))
    assert verdict.method == "llm"
    assert verdict.accepted == (verdict.reason == "verified by LLM judge")
    assert verdict.reason in {"verified by LLM judge", "LLM judge: False", "LLM judge verdict unreadable"}


def test_symbolic_translator_caches_identical_calls(grader):
    translator = Translator(TranslatorConfig(), Judge(grader))
    args, result, _ = _tool("modular_inverse", {"a": 127, "m": 131})
    call = ToolCall(name="modular_inverse", arguments=args, result=result)
    first = run(translator.translate("t1", 0, call))
    again = run(translator.translate("t2", 3, ToolCall(name="modular_inverse", arguments=args, result=result)))
    assert first.accepted and first.method == "symbolic" and not first.one_step and not first.cached
    assert again.cached and again.trace_id == "t2" and again.call_index == 3 and again.text == first.text


def test_translator_falls_back_with_the_call_marked_when_nothing_verifies(grader):
    # a result that is not the mathematics of the call: the derivation cannot reach it, the one-step
    # explanation states it (and is verified against it), so make the result unreadable instead
    translator = Translator(TranslatorConfig(), Judge(grader))
    call = ToolCall(name="solve_equation", arguments='{"equation": "x = 1"}', result='{"oops": 1}')
    translation = run(translator.translate("t", 0, call))
    assert not translation.accepted and translation.method == "fallback"
    assert translation.text.startswith("[UNVERIFIED STEP:") and "solve_equation" in translation.text


def test_terse_translations_are_judged_like_full_ones(grader):
    # the ablation switch changes only the written form: the judge accepts both, the terse one is shorter
    args, result, _ = _tool("triangle_area_from_vertices", {"vertex1": ["8", "1"], "vertex2": ["4", "2"], "vertex3": ["8", "-6"]})
    call = ToolCall(name="triangle_area_from_vertices", arguments=args, result=result)
    full = run(Translator(TranslatorConfig(), Judge(grader)).translate("t", 0, call))
    terse = run(Translator(TranslatorConfig(intermediate_values=False), Judge(grader)).translate("t", 0, call))
    assert full.accepted and terse.accepted and terse.method == full.method == "symbolic"
    assert "64 - 28 - 8" in full.text and "64 - 28 - 8" not in terse.text and len(terse.text) < len(full.text)
