"""The grading tool that sandbox workers load (`SandboxConfig.tool_modules`).

`toolkit.grading.Grader` runs `grade_answer` in a worker process so that a comparison SymPy
cannot finish is killed at the deadline. Importing this module warms up math-verify and
latex2sympy (their lazy imports and parser set-up) before the worker locks itself down.
"""

from __future__ import annotations

from typing import Any

from toolkit.grading.compare import grade
from toolkit.registry import tool

_SHOWN_CHARS = 1000


@tool("grading")
def grade_answer(prediction: str, gold: str, extract: bool = True) -> dict[str, Any]:
    """Grade a model's answer against the reference answer (extract, normalise, compare).

    Args:
        prediction: The model's text (or its bare answer when extract is false).
        gold: The reference answer, as LaTeX or plain text.
        extract: Whether to extract the final answer (last \\boxed{}, "final answer is")
            from the prediction first.
    """
    try:
        result = grade(prediction, gold, extract=extract)
        equal, pred, reason = result.equal, result.pred, result.reason
    except Exception as exc:  # grading never fails a call: it grades False
        equal, pred, reason = False, None, f"error: {type(exc).__name__}"
    if isinstance(pred, str) and len(pred) > _SHOWN_CHARS:
        pred = pred[:_SHOWN_CHARS] + "..."
    return {"equal": bool(equal), "pred": pred, "gold": gold[:_SHOWN_CHARS], "reason": reason}


def _warm_up() -> None:
    """Exercise every parsing path once, so nothing is imported lazily after lock-down."""
    samples = [
        ("The answer is $\\boxed{\\frac{1}{2}}$.", "0.5"),
        ("\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"),
        ("\\boxed{(-\\infty, 3]}", "(-\\infty, 3]"),
        ("\\boxed{\\{1, 2\\}}", "\\{2, 1\\}"),
        ("\\boxed{f(x) = x^2 + 1}", "f(x)=x^2+1"),
        ("\\boxed{x^2 + 2x + 1}", "(x+1)^2"),
        ("\\boxed{\\sin(\\pi/6) + \\ln(e) + \\sqrt{2}}", "1.5 + \\sqrt2"),
        ("\\boxed{3 + 4i}", "4i + 3"),
        ("\\boxed{x > 3}", "(3, \\infty)"),
        ("\\boxed{4.5 \\times 10^{33}}", "4.5e33"),
        ("\\boxed{\\frac{1}{2004!}}", "\\frac{1}{2006!}"),
        ("\\boxed{2x + 3y = 6}", "y = 2 - \\frac{2}{3}x"),
        ("\\boxed{\\binom{5}{2}}", "10"),
    ]
    for prediction, gold in samples:
        grade_answer(prediction, gold)


_warm_up()
