"""The Translator: one tool call → step-by-step natural-language reasoning that reaches its result.

Two implementations behind `Translator.translate(trace_id, index, call)`:

- symbolic (the embedded default, and the cheap first choice in LLM runs): the SymPy
  derivations of `pipeline.derivations` — real steps for the tools where they can be
  computed, an honest one-step explanation for the rest;
- LLM: the tool's description and arguments posed as a maths subproblem to a teacher, up
  to `max_attempts` times, with a "be more careful" hint on retries.

Every candidate goes through the Judge. When nothing is verified the call is kept as a
clearly marked fallback (the paper's behaviour) and the translation is not accepted.
Translations are cached by tool + arguments + result, so repeated calls cost nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from pydantic import Field

from pipeline.agents import backtranslate_prompts as prompts
from pipeline.agents.judge import Judge, reason_kind
from pipeline.config_rules import StrictModel
from pipeline.derivations import (
    STEPWISE,
    DerivationError,
    derive,
    expected_answer,
    tool_description,
)
from pipeline.derivations.base import load_arguments, load_result
from pipeline.derivations.generic import fallback_text
from pipeline.records import ToolCall, Translation
from pipeline.teachers.config import TeacherConfig

log = logging.getLogger(__name__)


class TranslatorConfig(StrictModel):
    """How each verified tool call becomes step-by-step reasoning."""

    kind: Literal["symbolic", "llm"] = Field(
        default="symbolic", description="symbolic: SymPy derivations (offline, exact); llm: a teacher writes the reasoning"
    )
    teacher: TeacherConfig | None = Field(default=None, description="the LLM translator's teacher (required for kind=llm)")
    max_attempts: int = Field(default=3, ge=1, description="LLM attempts per tool call before the fallback")
    symbolic_first: bool = Field(
        default=True,
        description="in LLM runs, use a step-by-step symbolic derivation where one exists (cheap, exact) and ask the LLM only for the rest",
    )
    max_tokens: int = Field(default=768, ge=16, description="LLM tokens per translation attempt")
    intermediate_values: bool = Field(
        default=True,
        description="symbolic derivations write the evaluated parts of a multi-operation step (64 - 28 - 8 = 28) "
        "before its value, so a small student never does several operations in its head; false: terse steps (ablations)",
    )


def _key(call: ToolCall) -> str:
    try:
        arguments = json.dumps(json.loads(call.arguments), sort_keys=True)
    except (TypeError, json.JSONDecodeError):
        arguments = call.arguments
    return f"{call.name}\x00{arguments}\x00{call.result}"


def subproblem(call: ToolCall) -> tuple[str, str]:
    """(task, given) in words: the tool's description and its arguments, with no tool name."""
    task = tool_description(call.name).split(";")[0].rstrip(".")
    try:
        args = load_arguments(call.arguments)
        given = "; ".join(f"{k.replace('_', ' ')} = {json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    except DerivationError:
        given = call.arguments
    return task, given


class Translator:
    def __init__(self, config: TranslatorConfig, judge: Judge, teacher: Any | None = None) -> None:
        if config.kind == "llm" and teacher is None:
            raise ValueError("translator.kind='llm' needs a teacher (translator.teacher)")
        self.config = config
        self.judge = judge
        self.teacher = teacher
        self.cache: dict[str, Translation] = {}

    async def translate(self, trace_id: str, index: int, call: ToolCall) -> Translation:
        key = _key(call)
        if key in self.cache:
            hit = self.cache[key]
            return Translation(**{**hit.__dict__, "trace_id": trace_id, "call_index": index, "cached": True})
        translation = await self._translate(trace_id, index, call)
        self.cache[key] = translation
        return translation

    async def _translate(self, trace_id: str, index: int, call: ToolCall) -> Translation:
        base = {"trace_id": trace_id, "call_index": index, "tool": call.name, "arguments": call.arguments, "result": call.result or ""}
        try:
            expected = expected_answer(call.name, load_result(call.result))
        except (DerivationError, json.JSONDecodeError, KeyError, TypeError) as exc:
            return Translation(**base, text=fallback_text(call.name, call.arguments, call.result or ""), accepted=False,
                               method="fallback", reason=f"unreadable result: {exc}"[:200])
        task, given = subproblem(call)
        derivation = None
        use_symbolic = self.config.kind == "symbolic" or (self.config.symbolic_first and call.name in STEPWISE)
        reason = ""
        rejections: list[str] = []
        if use_symbolic:
            try:
                derivation = derive(call.name, call.arguments, call.result, show_intermediate=self.config.intermediate_values)
            except DerivationError as exc:
                reason = f"no derivation: {exc}"
        # In LLM runs a one-step explanation is only the last resort before the fallback.
        if derivation is not None and (self.config.kind == "symbolic" or not derivation.one_step):
            verdict = await self.judge.judge(derivation.text(), expected, task=task, given=given)
            if verdict.accepted:
                return Translation(**base, text=derivation.text(), accepted=True, method="symbolic", attempts=1,
                                   one_step=derivation.one_step, judge=verdict.method)
            reason = verdict.reason
            rejections.append(reason_kind(reason))
        attempts = 0
        if self.teacher is not None:
            answer_form = f" (give it in the form: {_form_hint(expected)})" if expected.kind != "value" else ""
            for attempt in range(self.config.max_attempts):
                attempts += 1
                request = prompts.TRANSLATE_REQUEST.format(task=task, given=given, answer_form=answer_form)
                if attempt:
                    request += prompts.TRANSLATE_RETRY_HINT.format(reason=reason[:120])
                try:
                    reply = await self.teacher.chat(
                        [{"role": "system", "content": prompts.TRANSLATE_SYSTEM}, {"role": "user", "content": request}],
                        max_tokens=self.config.max_tokens,
                    )
                except Exception as exc:
                    reason = f"teacher error: {exc}"[:200]
                    rejections.append("teacher_error")
                    log.warning("translator teacher failed: %s", exc)
                    continue
                text = (reply.text or "").strip()
                verdict = await self.judge.judge(text, expected, task=task, given=given)
                if verdict.accepted:
                    return Translation(**base, text=text, accepted=True, method="llm", attempts=attempts, judge=verdict.method,
                                       rejections=",".join(rejections))
                reason = verdict.reason
                rejections.append(reason_kind(reason))
        if derivation is not None and derivation.one_step and self.config.kind == "llm":
            verdict = await self.judge.judge(derivation.text(), expected, task=task, given=given)
            if verdict.accepted:
                return Translation(**base, text=derivation.text(), accepted=True, method="symbolic", attempts=attempts + 1,
                                   one_step=True, judge=verdict.method, rejections=",".join(rejections))
        return Translation(**base, text=fallback_text(call.name, call.arguments, call.result or ""), accepted=False,
                           method="fallback", attempts=attempts, reason=reason or "no translation", rejections=",".join(rejections))


def _form_hint(expected: Any) -> str:
    if expected.kind == "mapping":
        return ", ".join(f"{name} = ..." for name, _ in ((n.replace("_", " "), v) for n, v in expected.items))
    return "a comma-separated list of values"
