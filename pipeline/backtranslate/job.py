"""The back-translation job: verified tool-integrated traces → verified natural-language SFT data.

    traces (a generation run's traces/, or a folder of trace parts; local or URI)
      → skip ids already written (resume) → blocks → async UDF in an actor pool:
        per trace: filter mode → Translator (per tool call, cached) → Judge → Rephrase → validate
      → sft/ (parquet parts) + rejects/ + translations/ (one row per tool call)
      → sft/data.jsonl, stats.json, dataset_card.md (regenerated from all parts, so resume keeps them whole)

Every input trace ends up in exactly one of sft/ or rejects/ (with a reason).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter, defaultdict
from dataclasses import asdict
from typing import Any

import pyarrow as pa

from pipeline.agents.rephrase import compose, llm_rephrase, validate
from pipeline.backtranslate.config import BacktranslateConfig
from pipeline.backtranslate.summary import BacktranslateSummary
from pipeline.filtering import WRONG_ANSWER_KEPT
from pipeline.records import (
    REJECT_SCHEMA,
    SFT_SCHEMA,
    TRACE_SCHEMA,
    TRANSLATION_SCHEMA,
    Reject,
    RejectReason,
    SFTExample,
    Trace,
    Translation,
    reject_to_row,
    to_table,
    trace_from_row,
    trace_to_json,
)
from pipeline.runtime import storage
from pipeline.teachers.factory import TeacherConfig

log = logging.getLogger(__name__)

STAGE = "backtranslate"



class Layout(storage.RunFolder):
    """Where a back-translation run writes: sft/, rejects/, translations/, stats.json, the card."""

    @property
    def sft(self) -> str:
        return self.file("sft")

    @property
    def translations(self) -> str:
        return self.file("translations")

    @property
    def jsonl(self) -> str:
        return self.file("sft", "data.jsonl")

    @property
    def card(self) -> str:
        return self.file("dataset_card.md")


# ------------------------------------------------------------------------ row logic


def sft_row(trace: Trace, solution: str, flags: list[str], translations: list[Translation], system_prompt: str | None,
            rephrase: str) -> dict[str, Any]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages += [{"role": "user", "content": trace.problem}, {"role": "assistant", "content": solution}]
    example = SFTExample(
        id=trace.id, source=trace.source, messages=messages, answer=trace.answer, flags=flags, teacher=trace.teacher,
        num_tool_calls=len(trace.tool_calls), translation_methods=[t.method for t in translations], rephrase=rephrase,
    )
    return asdict(example)


def _reject(trace: Trace, reason: str, detail: str) -> dict[str, Any]:
    return reject_to_row(Reject(id=trace.id, stage=STAGE, reason=reason, detail=detail[:2000], problem=trace.problem,
                                answer=trace.answer, source=trace.source, trace=trace_to_json(trace)))


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


# ------------------------------------------------------------------------ Ray UDF


class BacktranslateBatch:
    """Async Ray Data UDF: translate, judge, rephrase and write one batch of traces."""

    def __init__(self, config_json: str, teacher_handles: dict[str, list] | None = None) -> None:
        from pipeline.agents.judge import Judge
        from pipeline.agents.translator import Translator
        from toolkit.grading import Grader

        self.config = BacktranslateConfig.model_validate_json(config_json)
        self.layout = Layout(self.config.output_dir)
        self.grader = Grader(workers=1, timeout_s=self.config.judge.timeout_s)
        self._teachers: dict[str, Any] = {}
        self._handles = teacher_handles or {}
        judge = Judge(self.grader, self._teacher(self.config.judge.teacher), max_tokens=self.config.judge.max_tokens)
        translator_teacher = self._teacher(self.config.translator.teacher) if self.config.translator.kind == "llm" else None
        self.translator = Translator(self.config.translator, judge, translator_teacher)
        self.rephraser = self._teacher(self.config.rephrase.teacher) if self.config.rephrase.kind == "llm" else None
        if self.config.rephrase.kind == "llm" and self.rephraser is None:
            raise ValueError("rephrase.kind='llm' needs rephrase.teacher")
        self.limit = asyncio.Semaphore(self.config.resources.concurrency)

    def _teacher(self, config: TeacherConfig | None) -> Any:
        """One teacher per distinct config in this actor (translator, judge and rephrase may share one model)."""
        if config is None:
            return None
        from pipeline.teachers.factory import build_teacher

        key = config.model_dump_json()
        if key not in self._teachers and key in self._handles:
            from pipeline.teachers.remote import RemoteTeacher

            self._teachers[key] = RemoteTeacher(self._handles[key], name=f"{config.kind}-actors")
        elif key not in self._teachers:
            self._teachers[key] = build_teacher(config.kind, config.options, share=self.config.resources.num_actors)
        return self._teachers[key]

    def __del__(self) -> None:
        if hasattr(self, "grader"):
            self.grader.close()

    async def _one(self, row: dict[str, Any]) -> tuple[dict | None, dict | None, list[dict]]:
        async with self.limit:
            try:
                trace = trace_from_row(row)
            except Exception as exc:
                reject = Reject(id=str(row.get("id")), stage=STAGE, reason=RejectReason.UNREADABLE_TRACE, detail=repr(exc)[:500],
                                problem=str(row.get("problem") or ""), answer=str(row.get("answer") or ""), source=str(row.get("source") or ""))
                return None, reject_to_row(reject), []
            return await self._trace(trace)

    async def _trace(self, trace: Trace) -> tuple[dict | None, dict | None, list[dict]]:
        config = self.config
        relaxed = trace.status == WRONG_ANSWER_KEPT or not trace.correct
        if relaxed and config.filter_mode == "strict":
            return None, _reject(trace, RejectReason.UNVERIFIED_TRACE, "wrong final answer (kept by relaxed generation); strict mode keeps only correct ones"), []
        translations = []
        for index, call in enumerate(trace.tool_calls):
            if call.ok and call.result:
                translations.append(await self.translator.translate(trace.id, index, call))
        rows = [asdict(t) for t in translations]
        failed = [t for t in translations if not t.accepted]
        if failed and (relaxed or not config.keep_fallback):
            why = "; ".join(f"{t.tool}: {t.reason}" for t in failed)
            reason = RejectReason.UNVERIFIED_TRACE if relaxed else RejectReason.TRANSLATION_FAILED
            return None, _reject(trace, reason, why), rows
        final = trace.final_answer or trace.answer
        gold = final if relaxed else trace.answer
        try:
            if self.rephraser is None:
                solution, how = compose(trace, translations, final), "symbolic"
            else:
                solution = await llm_rephrase(self.rephraser, trace, translations, final, config.rephrase.max_tokens)
                how = "llm"
        except Exception as exc:
            log.warning("rephrase of %s failed: %s", trace.id, exc)
            return None, _reject(trace, RejectReason.REPHRASE_FAILED, repr(exc)), rows
        problem, detail = await validate(solution, gold, self.grader, allow_fallback=config.keep_fallback)
        if problem is not None:
            return None, _reject(trace, problem, f"{detail}\n---\n{solution[:1500]}"), rows
        return sft_row(trace, solution, flags_for(relaxed, translations), translations, config.system_prompt, how), None, rows

    async def __call__(self, batch: pa.Table) -> pa.Table:
        results = await asyncio.gather(*(self._one(r) for r in batch.to_pylist()))
        examples = [e for e, _, _ in results if e is not None]
        rejects = [r for _, r, _ in results if r is not None]
        translations = [t for _, _, ts in results for t in ts]
        # translations first: a crash before the sft/rejects parts only repeats work (stats dedupe by call)
        storage.write_part(to_table(translations, TRANSLATION_SCHEMA), self.layout.fs, self.layout.translations)
        storage.write_part(to_table(examples, SFT_SCHEMA), self.layout.fs, self.layout.sft)
        storage.write_part(to_table(rejects, REJECT_SCHEMA), self.layout.fs, self.layout.rejects)
        return pa.table({"traces": [batch.num_rows], "examples": [len(examples)], "translations": [len(translations)],
                         "cached": [sum(bool(t["cached"]) for t in translations)]})


# ------------------------------------------------------------------------ the job


def _traces_folder(traces_dir: str) -> tuple[Any, str, str | None]:
    """(fs, traces folder, generation rejects folder or None)."""
    fs, base = storage.resolve(traces_dir)
    nested = storage.join(base, "traces")
    if storage.part_files(fs, nested):
        rejects = storage.join(base, "rejects")
        return fs, nested, rejects if storage.part_files(fs, rejects) else None
    return fs, base, None


def _read_traces(traces_dir: str) -> tuple[pa.Table, Any, str | None]:
    fs, folder, rejects = _traces_folder(traces_dir)
    table = storage.read_parts(fs, folder)
    if table is None:
        raise ValueError(f"no trace parquet parts in {traces_dir} (nor in its traces/ folder); run generation first")
    missing = [name for name in ("id", "problem", "answer", "messages", "tool_calls") if name not in table.column_names]
    if missing:
        raise ValueError(f"{traces_dir} does not hold traces: columns {missing} are missing")
    return table, fs, rejects


def _done_ids(layout: Layout) -> set[str]:
    done: set[str] = set()
    for folder in (layout.sft, layout.rejects):
        table = storage.read_parts(layout.fs, folder, columns=["id"])
        if table is not None:
            done.update(table.column("id").to_pylist())
    return done


def _start_shared_teachers(config: BacktranslateConfig) -> dict[str, list]:
    """Teacher actors for the agents whose teacher must be shared (vLLM, or placement=actors),
    one group per distinct teacher config, so translator, judge and rephrase can share a model."""
    from pipeline.teachers.remote import start_teacher_actors

    handles: dict[str, list] = {}
    for teacher in (config.translator.teacher, config.judge.teacher, config.rephrase.teacher):
        if teacher is not None and teacher.effective_placement() == "actors":
            key = teacher.model_dump_json()
            if key not in handles:
                handles[key] = start_teacher_actors(teacher)
    return handles


def run_backtranslate(config: BacktranslateConfig, *, progress: bool = True) -> BacktranslateSummary:
    """Run (or resume) back-translation; returns the summary that is also written as stats.json."""
    import ray.data
    from ray.data import ActorPoolStrategy

    from pipeline.runtime.ray_start import ensure_ray

    started = time.perf_counter()
    traces, trace_fs, generation_rejects = _read_traces(config.traces_dir)
    layout = Layout(config.output_dir)
    for folder in (layout.sft, layout.rejects, layout.translations):
        storage.ensure_dir(layout.fs, folder)
    done = _done_ids(layout)
    ids = traces.column("id").to_pylist()
    seen: set[str] = set()
    mask = []
    for trace_id in ids:  # each id once (a trace folder written twice must not yield duplicates)
        mask.append(trace_id not in done and trace_id not in seen)
        seen.add(trace_id)
    todo = traces.filter(pa.array(mask, pa.bool_()))
    todo = todo.select([n for n in TRACE_SCHEMA.names if n in todo.column_names])
    this_run: list[dict[str, Any]] = []
    if todo.num_rows:
        ensure_ray()
        ray.data.DataContext.get_current().enable_progress_bars = progress
        res = config.resources
        blocks = res.num_blocks or max(res.num_actors * 4, todo.num_rows // 256)
        size = max(1, -(-todo.num_rows // blocks))
        pieces = [todo.slice(start, size) for start in range(0, todo.num_rows, size)]
        handles = _start_shared_teachers(config)
        this_run = ray.data.from_arrow(pieces).map_batches(
            BacktranslateBatch,
            fn_constructor_kwargs={"config_json": config.model_dump_json(), "teacher_handles": handles},
            batch_size=res.batch_size,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(size=res.num_actors, max_tasks_in_flight_per_actor=2),
            num_cpus=res.num_cpus_per_actor,
        ).take_all()
        for group in handles.values():
            for handle in group:
                ray.kill(handle)  # release the teachers' GPUs with the job
    write_jsonl(layout)
    taxonomy = None
    if generation_rejects is not None:
        from pipeline.agents.taxonomy import taxonomy_counts

        table = storage.read_parts(trace_fs, generation_rejects, columns=["id", "stage", "reason", "trace"])
        taxonomy = taxonomy_counts(table.to_pylist()) if table is not None else None
    stats = compute_stats(layout, traces_in=len(seen), this_run=this_run, taxonomy=taxonomy,
                          wall_time_s=time.perf_counter() - started, config=config)
    with layout.fs.open_output_stream(layout.stats) as handle:
        handle.write(json.dumps(stats, indent=2).encode())
    with layout.fs.open_output_stream(layout.card) as handle:
        handle.write(dataset_card(config, stats).encode())
    return BacktranslateSummary(
        output_dir=config.output_dir, traces_in=stats["traces_in"], examples_out=stats["examples_out"],
        rejected_by_reason=stats["rejected_by_reason"], skipped_already_written=len(done & seen),
        wall_time_s=stats["wall_time_s"], stats=stats,
    )


def write_jsonl(layout: Layout) -> int:
    """sft/data.jsonl from every sft part (rewritten whole, so a resumed run leaves it complete)."""
    table = storage.read_parts(layout.fs, layout.sft)
    rows = table.to_pylist() if table is not None else []
    rows.sort(key=lambda r: r["id"])
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    temporary = layout.jsonl + ".tmp"
    with layout.fs.open_output_stream(temporary) as handle:
        handle.write(text.encode())
    layout.fs.move(temporary, layout.jsonl)
    return len(rows)


def compute_stats(layout: Layout, *, traces_in: int, this_run: list[dict[str, Any]], taxonomy: dict[str, int] | None,
                  wall_time_s: float, config: BacktranslateConfig) -> dict[str, Any]:
    """Totals over everything written so far (all attempts), plus this attempt's counters."""
    sft = storage.read_parts(layout.fs, layout.sft, columns=["id", "flags"])
    rejects = storage.read_parts(layout.fs, layout.rejects, columns=["id", "reason"])
    translations = storage.read_parts(layout.fs, layout.translations)
    examples = sft.num_rows if sft is not None else 0
    by_reason = Counter(rejects.column("reason").to_pylist()) if rejects is not None else Counter()
    flags = Counter(f for fl in (sft.column("flags").to_pylist() if sft is not None else []) for f in fl)
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    for row in translations.to_pylist() if translations is not None else []:
        latest[(row["trace_id"], row["call_index"])] = row  # a repeated trace (crash, resume) counts once
    per_tool: dict[str, Counter] = defaultdict(Counter)
    judge_rejections: Counter[str] = Counter()
    for row in latest.values():
        tool = per_tool[row["tool"]]
        tool["calls"] += 1
        tool["accepted"] += bool(row["accepted"])
        tool["one_step" if row["one_step"] else row["method"]] += 1
        tool["cached"] += bool(row["cached"])
        if not row["cached"]:
            judge_rejections.update(k for k in (row["rejections"] or "").split(",") if k)
    acceptance = {
        name: {**dict(c), "acceptance_rate": round(c["accepted"] / c["calls"], 4)} for name, c in sorted(per_tool.items())
    }
    calls = sum(c["calls"] for c in per_tool.values())
    not_strict = by_reason.get(RejectReason.UNREADABLE_TRACE, 0) + by_reason.get(RejectReason.UNVERIFIED_TRACE, 0)
    translation_failed = by_reason.get(RejectReason.TRANSLATION_FAILED, 0)
    rephrase_rejected = sum(v for k, v in by_reason.items() if k.startswith("rephrase_"))
    yields = {
        "traces_in": traces_in,
        "after_filter_mode": traces_in - not_strict,
        "after_translation": traces_in - not_strict - translation_failed,
        "after_rephrase_validation": traces_in - not_strict - translation_failed - rephrase_rejected,
        "examples_out": examples,
    }
    return {
        "name": config.name,
        "filter_mode": config.filter_mode,
        "translator": config.translator.kind,
        "rephrase": config.rephrase.kind,
        "traces_in": traces_in,
        "examples_out": examples,
        "rejected": sum(by_reason.values()),
        "rejected_by_reason": dict(sorted(by_reason.items())),
        "yield_by_step": yields,
        "flags": dict(sorted(flags.items())),
        "tool_calls_translated": calls,
        "translation_acceptance_rate": round(sum(c["accepted"] for c in per_tool.values()) / calls, 4) if calls else None,
        "translation_acceptance_per_tool": acceptance,
        "judge_rejections_by_reason": dict(judge_rejections.most_common()),
        "error_taxonomy": taxonomy,
        "this_run": {
            "traces": sum(b["traces"] for b in this_run),
            "examples": sum(b["examples"] for b in this_run),
            "translations": sum(b["translations"] for b in this_run),
            "translations_from_cache": sum(b["cached"] for b in this_run),
        },
        "wall_time_s": round(wall_time_s, 2),
    }


def dataset_card(config: BacktranslateConfig, stats: dict[str, Any]) -> str:
    lines = [
        f"# {config.name}: back-translated SFT data",
        "",
        f"Source traces: `{config.traces_dir}`. Translator: {stats['translator']}; rephrase: {stats['rephrase']}; "
        f"filter mode: {stats['filter_mode']}.",
        "",
        "Each example is `messages` = [optional system, user: problem, assistant: solution ending in `\\boxed{}`]. "
        "Every tool call was turned into natural-language reasoning whose boxed result was checked against the real tool "
        "result; the final solution's answer was re-graded against the reference and checked for tool, code and "
        "function names.",
        "",
        "## Yield",
        "",
        "| step | traces |",
        "|---|---:|",
        *(f"| {step.replace('_', ' ')} | {n} |" for step, n in stats["yield_by_step"].items()),
        "",
        "Rejected, by reason: " + (", ".join(f"{k} {v}" for k, v in stats["rejected_by_reason"].items()) or "none") + ".",
        "",
        "Flags: " + (", ".join(f"{k} {v}" for k, v in stats["flags"].items()) or "none")
        + " (`one_step`: at least one step is an honest single-step explanation rather than a derivation; "
        "`fallback`: a marked, unverified tool step; `relaxed`: wrong final answer kept by the relaxed filter).",
        "",
        "## Translation acceptance per tool",
        "",
        "| tool | calls | accepted | rate | step-by-step symbolic | one-step | LLM | fallback |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for tool, c in stats["translation_acceptance_per_tool"].items():
        lines.append(f"| {tool} | {c['calls']} | {c['accepted']} | {c['acceptance_rate']:.1%} | {c.get('symbolic', 0)} | "
                     f"{c.get('one_step', 0)} | {c.get('llm', 0)} | {c.get('fallback', 0)} |")
    lines += ["", "Judge rejections by reason (every rejected attempt): "
              + (", ".join(f"{k} {v}" for k, v in stats["judge_rejections_by_reason"].items()) or "none") + "."]
    if stats["error_taxonomy"] is not None:
        lines += ["", "## Error taxonomy of failed solver traces (heuristic)", "", "| category | traces |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in stats["error_taxonomy"].items()]
    return "\n".join(lines) + "\n"
