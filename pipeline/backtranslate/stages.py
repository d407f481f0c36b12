"""Back-translation's row stages: filter → translate → judge → rephrase → validate.

    filter     strict keeps correct traces only; relaxed also wrong-answer ones (flagged)
    translate  each successful tool call → natural-language reasoning (symbolic derivation
               or an LLM Translator), cached by tool + arguments + result, each attempt
               checked by the Judge against the real tool result (up to 3 attempts)
    judge      a trace with an unverified call is rejected (or, with keep_fallback, kept
               with the call as a marked fallback step)
    rephrase   one fluent, tool-free solution (deterministic composition or an LLM rewrite)
    validate   the solution's answer is re-graded and tool/code talk is refused

Every call's translation is written to translations/ whatever happens to its trace, so
the per-tool acceptance in the dataset card counts every attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.agents.rephrase import compose, llm_rephrase, validate
from pipeline.backtranslate.config import BacktranslateConfig
from pipeline.filtering import WRONG_ANSWER_KEPT
from pipeline.jobs.stage import Job, Rejected, Resources, Stage
from pipeline.records import (
    REJECT_SCHEMA,
    SFT_SCHEMA,
    TRANSLATION_SCHEMA,
    Reject,
    RejectReason,
    SFTExample,
    Trace,
    Translation,
    reject_to_row,
    trace_from_row,
    trace_to_json,
)
from pipeline.student_prompt import PromptConfig, student_messages

STAGE = "backtranslate"


@dataclass
class Backtranslating:
    """One trace on its way through the stages."""

    trace: Trace | None
    row: dict[str, Any]
    relaxed: bool = False
    translations: list[Translation] = field(default_factory=list)
    solution: str = ""
    rephrased_by: str = ""


@dataclass
class AgentResources(Resources):
    grader: Any = None
    translator: Any = None
    rephraser: Any = None


def open_agents(config: BacktranslateConfig, teacher_handles: dict[str, list[Any]]) -> AgentResources:
    """The grader, the Judge, the Translator and the rephraser; one teacher per distinct config."""
    from pipeline.agents.judge import Judge
    from pipeline.agents.translator import Translator
    from pipeline.teachers.registry import build_teacher
    from pipeline.teachers.remote import RemoteTeacher
    from toolkit.grading import Grader

    resources = AgentResources(config=config, concurrency=config.resources.concurrency_per_actor)
    resources.grader = resources.own(Grader(workers=1, timeout_s=config.grader_timeout_s))
    teachers: dict[str, Any] = {}

    def teacher(spec: Any) -> Any:
        if spec is None:
            return None
        key = spec.model_dump_json()
        if key not in teachers:
            handles = teacher_handles.get(key)
            teachers[key] = resources.own(
                RemoteTeacher(handles, name=f"{spec.kind}-actors") if handles
                else build_teacher(spec, share=config.resources.num_actors)
            )
        return teachers[key]

    judge = Judge(resources.grader, teacher(config.judge.teacher), max_tokens=config.judge.max_tokens)
    translator_teacher = teacher(config.translator.teacher) if config.translator.kind == "llm" else None
    resources.translator = Translator(config.translator, judge, translator_teacher)
    resources.rephraser = teacher(config.rephrase.teacher) if config.rephrase.kind == "llm" else None
    if config.rephrase.kind == "llm" and resources.rephraser is None:
        raise ValueError("rephrase.kind='llm' needs rephrase.teacher")
    return resources


def teachers_of(config: BacktranslateConfig) -> list[Any]:
    return [config.translator.teacher, config.judge.teacher, config.rephrase.teacher]


def read_trace(resources: AgentResources, row: dict[str, Any]) -> Backtranslating | Rejected:
    try:
        return Backtranslating(trace_from_row(row), row)
    except Exception as exc:
        return Rejected(Backtranslating(None, row), RejectReason.UNREADABLE_TRACE, repr(exc)[:500])


async def filter_trace(resources: AgentResources, item: Backtranslating) -> Backtranslating | Rejected:
    config: BacktranslateConfig = resources.config  # type: ignore[assignment]
    item.relaxed = item.trace.status == WRONG_ANSWER_KEPT or not item.trace.correct
    if item.relaxed and config.filter.mode == "strict":
        return Rejected(item, RejectReason.UNVERIFIED_TRACE,
                        "wrong final answer (kept by relaxed generation); strict mode keeps only correct ones")
    return item


async def translate_calls(resources: AgentResources, item: Backtranslating) -> Backtranslating:
    for index, call in enumerate(item.trace.tool_calls):
        if call.ok and call.result:
            item.translations.append(await resources.translator.translate(item.trace.id, index, call))
    return item


async def judge_trace(resources: AgentResources, item: Backtranslating) -> Backtranslating | Rejected:
    """The Judge's verdicts per call (made during translation) decide the trace."""
    config: BacktranslateConfig = resources.config  # type: ignore[assignment]
    failed = [t for t in item.translations if not t.accepted]
    if failed and (item.relaxed or not config.keep_fallback):
        why = "; ".join(f"{t.tool}: {t.reason}" for t in failed)
        reason = RejectReason.UNVERIFIED_TRACE if item.relaxed else RejectReason.TRANSLATION_FAILED
        return Rejected(item, reason, why)
    return item


async def rephrase_solution(resources: AgentResources, item: Backtranslating) -> Backtranslating | Rejected:
    config: BacktranslateConfig = resources.config  # type: ignore[assignment]
    final = item.trace.final_answer or item.trace.answer
    try:
        if resources.rephraser is None:
            item.solution, item.rephrased_by = compose(item.trace, item.translations, final), "symbolic"
        else:
            item.solution = await llm_rephrase(resources.rephraser, item.trace, item.translations, final,
                                               config.rephrase.max_tokens)
            item.rephrased_by = "llm"
    except Exception as exc:
        return Rejected(item, RejectReason.REPHRASE_FAILED, repr(exc))
    return item


async def validate_solution(resources: AgentResources, item: Backtranslating) -> Backtranslating | Rejected:
    config: BacktranslateConfig = resources.config  # type: ignore[assignment]
    final = item.trace.final_answer or item.trace.answer
    gold = final if item.relaxed else item.trace.answer
    problem, detail = await validate(item.solution, gold, resources.grader, allow_fallback=config.keep_fallback)
    if problem is not None:
        return Rejected(item, problem, f"{detail}\n---\n{item.solution[:1500]}")
    return item


def flags_for(relaxed: bool, translations: list[Translation]) -> list[str]:
    flags = []
    if any(t.method == "fallback" for t in translations):
        flags.append("fallback")
    if relaxed:
        flags.append("relaxed")
    if any(t.one_step for t in translations):
        flags.append("one_step")
    if not translations:
        flags.append("no_tool_steps")
    return flags


def sft_row(trace: Trace, solution: str, flags: list[str], translations: list[Translation], prompt: PromptConfig,
            rephrase: str) -> dict[str, Any]:
    messages = [*student_messages(trace.problem, prompt), {"role": "assistant", "content": solution}]
    example = SFTExample(
        id=trace.id, source=trace.source, messages=messages, answer=trace.answer, flags=flags, teacher=trace.teacher,
        num_tool_calls=len(trace.tool_calls), translation_methods=[t.method for t in translations], rephrase=rephrase,
    )
    return asdict(example)


def write_outcome(resources: AgentResources, result: Backtranslating | Rejected) -> dict[str, list[dict[str, Any]]]:
    config: BacktranslateConfig = resources.config  # type: ignore[assignment]
    item: Backtranslating = result.item if isinstance(result, Rejected) else result
    out: dict[str, list[dict[str, Any]]] = {"translations": [asdict(t) for t in item.translations]}
    if not isinstance(result, Rejected):
        trace = item.trace
        out["sft"] = [sft_row(trace, item.solution, flags_for(item.relaxed, item.translations), item.translations,
                              config.prompt, item.rephrased_by)]
        return out
    trace, row = item.trace, item.row
    if trace is None:  # unreadable: what the row still says
        reject = Reject(id=str(row.get("id")), stage=STAGE, reason=result.reason, detail=result.detail,
                        problem=str(row.get("problem") or ""), answer=str(row.get("answer") or ""),
                        source=str(row.get("source") or ""))
    else:
        reject = Reject(id=trace.id, stage=STAGE, reason=result.reason, detail=result.detail[:2000], problem=trace.problem,
                        answer=trace.answer, source=trace.source, trace=trace_to_json(trace))
    out["rejects"] = [reject_to_row(reject)]
    return out


def tally(results: Sequence[Backtranslating | Rejected]) -> dict[str, Any]:
    items = [r.item if isinstance(r, Rejected) else r for r in results]
    translations = [t for item in items for t in item.translations]
    return {
        "traces": len(results),
        "examples": sum(not isinstance(r, Rejected) for r in results),
        "translations": len(translations),
        "cached": sum(bool(t.cached) for t in translations),
    }


BACKTRANSLATION = Job(
    name=STAGE,
    config_type=BacktranslateConfig,
    open=open_agents,
    read=read_trace,
    stages=(
        Stage("filter", filter_trace),
        Stage("translate", translate_calls),
        Stage("judge", judge_trace),
        Stage("rephrase", rephrase_solution),
        Stage("validate", validate_solution),
    ),
    write=write_outcome,
    # translations first: a crash before the sft/rejects parts only repeats work (stats dedupe by call)
    schemas={"translations": TRANSLATION_SCHEMA, "sft": SFT_SCHEMA, "rejects": REJECT_SCHEMA},
    tally=tally,
)
