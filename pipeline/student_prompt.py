"""The student's prompt contract: the one function that turns a problem into the user turn.

Back-translation writes every SFT example's conversation with `student_messages`, and
evaluation asks the student with the same function, so the student is trained on exactly
what it will be asked: chain of thought that ends in `\\boxed{}`.

A template is a Python format string with one field, `{problem}`. Each benchmark has a
default (multiple-choice and proof-style sets get a word on the expected form); a config
can override any of them, or the fallback (`default_template`) used for training problems,
local files and synthetic problems.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from pipeline.config_rules import StrictModel

COT_BOXED = (
    "Solve the following math problem step by step. "
    "Put your final answer within \\boxed{{}}.\n\n{problem}"
)
_INTEGER_BOXED = (
    "Solve the following math problem step by step. The answer is an integer from 0 to 999. "
    "Put your final answer within \\boxed{{}}.\n\n{problem}"
)
_NUMERIC_BOXED = (
    "Solve the following problem step by step. Give the final answer as a number or an "
    "expression (with no units) within \\boxed{{}}.\n\n{problem}"
)

DEFAULT_TEMPLATES: dict[str, str] = {
    "gsm8k": "Solve the following math word problem step by step. "
    "Put the final number within \\boxed{{}}.\n\n{problem}",
    "math500": COT_BOXED,
    "math": COT_BOXED,
    "aime24": _INTEGER_BOXED,
    "aime25": _INTEGER_BOXED,
    "aime22_24": _INTEGER_BOXED,
    "amc23": COT_BOXED,
    "amc22_23": COT_BOXED,
    "olympiadbench": COT_BOXED,
    "minerva_math": _NUMERIC_BOXED,
}


class PromptConfig(StrictModel):
    """How a problem becomes a chat conversation."""

    system: str | None = Field(
        default=None,
        description="system message; None sends none (a chat template may then insert its own default). Part of each "
        "generation's fingerprint: changing it regenerates the answers",
    )
    templates: dict[str, str] = Field(
        default_factory=dict,
        description="benchmark name -> template with a `{problem}` field (literal braces doubled); overrides "
        "DEFAULT_TEMPLATES. Part of the fingerprint, like `system`",
    )
    default_template: str = Field(
        default=COT_BOXED, description="template for benchmarks with no template of their own (files, synthetic)"
    )

    @field_validator("templates")
    @classmethod
    def _has_problem_field(cls, value: dict[str, str]) -> dict[str, str]:
        for name, template in value.items():
            check_template(template, name)
        return value

    @field_validator("default_template")
    @classmethod
    def _default_has_problem_field(cls, value: str) -> str:
        return check_template(value, "default_template")


def check_template(template: str, name: str) -> str:
    """A template must format with `problem` alone (literal braces doubled: `\\\\boxed{{}}`)."""
    try:
        template.format(problem="")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"prompt template {name!r} must have one field {{problem}} and double any literal braces: {exc!r}"
        ) from None
    if "{problem}" not in template:
        raise ValueError(f"prompt template {name!r} has no {{problem}} field")
    return template


def template_for(benchmark: str, config: PromptConfig | None = None) -> str:
    config = config or PromptConfig()
    return config.templates.get(benchmark) or DEFAULT_TEMPLATES.get(benchmark) or config.default_template


def student_messages(problem: str, config: PromptConfig | None = None, benchmark: str | None = None) -> list[dict[str, Any]]:
    """The chat messages that ask the student `problem` (of `benchmark`; None for training problems).

    The SFT rows of back-translation and the prompts of evaluation both come from here.
    """
    config = config or PromptConfig()
    messages: list[dict[str, Any]] = []
    if config.system:
        messages.append({"role": "system", "content": config.system})
    messages.append({"role": "user", "content": template_for(benchmark or "", config).format(problem=problem)})
    return messages
