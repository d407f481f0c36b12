"""Prompt templates of the back-translation agents (Translator, Judge, Rephrase, error classifier)."""

from __future__ import annotations

TRANSLATE_SYSTEM = (
    "You are a careful mathematics teacher. You solve small computational problems by hand, "
    "step by step, in plain language with LaTeX. Never mention software, tools, code, functions or programming."
)

TRANSLATE_REQUEST = """Solve this problem by hand.

Task: {task}
Given: {given}

Show the intermediate steps as equations a student could check. End with the result in \\boxed{{}}{answer_form}."""

TRANSLATE_RETRY_HINT = (
    "\n\nBe more careful this time: your previous attempt did not reach a correct result ({reason}). "
    "Check every intermediate equation before you write the next one."
)

JUDGE_SYSTEM = "You check whether a worked solution reaches the stated reference result. You answer only with \\boxed{True} or \\boxed{False}."

JUDGE_REQUEST = """Task: {task}
Given: {given}
Reference result: {expected}

Proposed solution:
{solution}

Is the final result of the proposed solution mathematically equivalent to the reference result? Answer \\boxed{{True}} or \\boxed{{False}}."""

REPHRASE_SYSTEM = (
    "You rewrite worked mathematical solutions into one fluent, self-contained explanation. "
    "Never mention tools, software, code, functions or JSON."
)

REPHRASE_REQUEST = """Problem:
{problem}

Plan:
{plan}

Worked steps, in order:
{steps}

Write one fluent solution to the problem that follows these steps and reasoning. Do not mention tools, code or programs. \
End with the final answer {answer_hint}in \\boxed{{}}."""

TAXONOMY_REQUEST = """A solver attempted this problem with tools and got it wrong.

Problem: {problem}
Reference answer: {answer}
Solver's final answer: {final}
Transcript (abridged):
{transcript}

Which one of these categories best describes the failure? {categories}
Answer with the category name in \\boxed{{}}."""
