"""Rephrase: merge problem, plan, per-step translations and reflections into one fluent solution.

`compose` is the deterministic version of the embedded default: connective phrasing that
varies with the trace id, the plan and reflections with every tool mention removed
sentence by sentence, the verified translations with their intermediate boxes unwrapped,
and the final answer in `\\boxed{}`. `llm_rephrase` asks a teacher for the same from the
same material. `validate` is applied to both: no tools/code/function names, a boxed final
answer, and that answer re-graded against the reference.
"""

from __future__ import annotations

import logging
import re
import zlib
from typing import Any, Literal

from pydantic import Field

from pipeline.agents import backtranslate_prompts as prompts
from pipeline.agents.judge import ASY_FIGURE, find_leak
from pipeline.config_rules import StrictModel
from pipeline.records import RejectReason, Trace, Translation
from pipeline.teachers.config import TeacherConfig
from toolkit.grading import extract_boxed, match_braces

log = logging.getLogger(__name__)


class RephraseConfig(StrictModel):
    """How problem, plan, verified steps and reflections become one fluent solution."""

    kind: Literal["symbolic", "llm"] = Field(
        default="symbolic", description="symbolic: deterministic composition (offline); llm: a teacher rewrites the solution"
    )
    teacher: TeacherConfig | None = Field(default=None, description="the LLM rephraser's teacher (required for kind=llm)")
    max_tokens: int = Field(default=1024, ge=16, description="LLM tokens for the rewritten solution")


_OPENINGS = ["Let us work through the problem step by step.", "We solve this in a few steps.",
             "Here is a complete solution.", "We proceed step by step."]
_FIRST = ["First,", "To begin,", "We start here:"]
_MIDDLE = ["Next,", "Then,", "After that,", "Now,"]
_LAST = ["Finally,", "Lastly,", "As the last step,"]
_CLOSINGS = ["The final answer is", "Therefore the answer is", "So the answer is", "Hence the answer is"]
_SENTENCE = re.compile(r"(?<=[.!?:])\s+(?=[A-Z$\\(])")
_PLAN_TOOL = re.compile(r"\s*\b(with|using|via|by calling|through|by)\s+(the\s+)?`[^`]+`(\s+tool)?", re.I)


def _pick(seed: str, key: str, options: list[str]) -> str:
    return options[zlib.crc32(f"{seed}:{key}".encode()) % len(options)]


def unbox(text: str) -> str:
    """`\\boxed{X}` → `X` everywhere (intermediate results are not final answers)."""
    out, i = [], 0
    while (j := text.find("\\boxed{", i)) >= 0:
        inner = match_braces(text, j + len("\\boxed"))
        if inner is None:  # never closes: leave the rest as it is
            break
        out += [text[i:j], inner]
        i = j + len("\\boxed{") + len(inner) + 1
    out.append(text[i:])
    return "".join(out)


def scrub(text: str | None) -> str:
    """Drop the sentences that mention tools or code; keep the mathematics."""
    if not text:
        return ""
    # an Asymptote figure is one piece (its code has colons and capitals that would split it into
    # "sentences"), and a sentence ends after it
    figures: list[str] = []

    def hide(m: re.Match[str]) -> str:
        figures.append(m.group(0))
        return f"\x00{len(figures) - 1}\x00."

    sentences = _SENTENCE.split(ASY_FIGURE.sub(hide, text.strip()))
    kept = [re.sub("\x00(\\d+)\x00\\.", lambda m: figures[int(m.group(1))], s) for s in sentences]
    return " ".join(s for s in kept if s.strip() and find_leak(s) is None).strip()


def _without_boxed_sentences(text: str) -> str:
    """The teacher's final reflection without its own answer line (the composition adds one)."""
    sentences = re.split(r"(?<=[.!?])\s+", (text or "").strip())  # not at colons: "Final answer: \\boxed{8}" is one
    return scrub(" ".join(s for s in sentences if "\\boxed" not in s))


def plan_text(plan: str | None) -> str:
    lines = []
    for line in (plan or "").splitlines():
        line = _PLAN_TOOL.sub("", line).strip()
        if not line or "\\boxed{}" in line or line.rstrip(":").lower() in {"plan", "here is my plan.", "plan of attack"}:
            continue
        if re.match(r"^(plan|here is my plan|i will proceed as follows)", line, re.I):
            continue
        if find_leak(line) is None:
            lines.append(re.sub(r"^\d+\.\s*", "", line))
    return "; ".join(line.rstrip(".") for line in lines)


def _reflections(trace: Trace) -> tuple[dict[str, str], str]:
    """The text that came with each tool call (by call id), and the final message."""
    before: dict[str, str] = {}
    final = ""
    for message in trace.messages:
        if message.get("role") != "assistant":
            continue
        calls = message.get("tool_calls") or []
        if calls:
            before[calls[0].get("id", "")] = message.get("content") or ""
        else:
            final = message.get("content") or ""
    return before, final


def compose(trace: Trace, translations: list[Translation], final_answer: str) -> str:
    """The deterministic solution text for a trace whose translations are in call order."""
    seed = trace.id
    parts = [_pick(seed, "open", _OPENINGS)]
    plan = plan_text(trace.plan)
    if plan:
        parts.append(f"The plan: {plan[0].lower() + plan[1:]}.")
    before, final = _reflections(trace)
    for n, translation in enumerate(translations):
        call = trace.tool_calls[translation.call_index]
        reflection = scrub(before.get(call.call_id, ""))
        body = unbox(translation.text).strip()
        if n == 0:
            lead = _pick(seed, "first", _FIRST)
        elif n == len(translations) - 1:
            lead = _pick(seed, f"last{n}", _LAST)
        else:
            lead = _pick(seed, f"mid{n}", _MIDDLE)
        if body[:1].isupper() and body[1:2].islower() and not lead.endswith(":"):
            body = body[0].lower() + body[1:]
        parts.append(" ".join(p for p in (reflection, f"{lead} {body}") if p))
    closing = _without_boxed_sentences(final)
    if closing:
        parts.append(closing)
    parts.append(f"{_pick(seed, 'close', _CLOSINGS)} $\\boxed{{{final_answer}}}$.")
    return "\n\n".join(parts)


async def llm_rephrase(teacher: Any, trace: Trace, translations: list[Translation], final_answer: str,
                       max_tokens: int = 1024) -> str:
    before, final = _reflections(trace)
    steps = []
    for n, translation in enumerate(translations, 1):
        reflection = scrub(before.get(trace.tool_calls[translation.call_index].call_id, ""))
        steps.append(f"Step {n}. {reflection}\n{unbox(translation.text)}".strip())
    closing = _without_boxed_sentences(final)
    if closing:
        steps.append(f"Conclusion. {closing}")
    request = prompts.REPHRASE_REQUEST.format(problem=trace.problem, plan=plan_text(trace.plan) or "(none)",
                                              steps="\n\n".join(steps), answer_hint=f"(${final_answer}$) ")
    reply = await teacher.chat([{"role": "system", "content": prompts.REPHRASE_SYSTEM}, {"role": "user", "content": request}],
                               max_tokens=max_tokens)
    return (reply.text or "").strip()


async def validate(text: str, gold: str, grader: Any, allow_fallback: bool = False) -> tuple[str | None, str]:
    """(None, "") if the solution may be used, else (RejectReason, detail)."""
    if not text.strip():
        return RejectReason.REPHRASE_FAILED, "empty solution"
    leak = find_leak(text, allow_fallback=allow_fallback)
    if leak:
        return RejectReason.REPHRASE_LEAK, leak
    boxed = extract_boxed(text)
    if boxed is None:
        return RejectReason.REPHRASE_NO_ANSWER, "no \\boxed{} answer"
    graded = await grader.agrade(text, gold)
    if not graded.equal:
        return RejectReason.REPHRASE_WRONG_ANSWER, f"boxed {boxed[:80]!r}, expected {gold[:80]!r} ({graded.reason})"
    return None, ""
