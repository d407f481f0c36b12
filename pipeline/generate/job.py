"""The generation job: problems → clean → Solver Agent on Ray Data → traces/ + rejects/ + stats.

    read (jsonl/parquet, local or URI; or synthetic) → validate → decontaminate (actor
    with the benchmark index) → deduplicate → skip ids already written (resume) →
    repartition → async Solver UDF in an actor pool (sandbox + teacher + grader per
    actor) → each batch written as atomic parquet parts → stats.json

Every input row ends up in exactly one of traces/ (accepted) or rejects/ (with a reason).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from typing import Any

import pyarrow as pa

from pipeline.agents.solver import solve
from pipeline.filtering import KEPT, WRONG_ANSWER_KEPT, classify
from pipeline.generate.config import GenerateConfig
from pipeline.generate.summary import GenerateSummary
from pipeline.problems.clean import CleanConfig, ContaminationIndex, check_row, text_hash
from pipeline.problems.sources import read_problems
from pipeline.records import (
    PROBLEM_SCHEMA,
    REJECT_SCHEMA,
    TRACE_SCHEMA,
    Problem,
    Reject,
    RejectReason,
    problem_from_row,
    reject_to_row,
    to_table,
    trace_to_json,
    trace_to_row,
)
from pipeline.runtime import storage

log = logging.getLogger(__name__)



class Layout(storage.RunFolder):
    """Where a generation run writes: traces/, rejects/, stats.json."""

    @property
    def traces(self) -> str:
        return self.file("traces")


# ------------------------------------------------------------------------ row logic



def clean_reject(row: dict[str, Any], reason: str, detail: str) -> dict[str, Any]:
    return reject_to_row(
        Reject(id=row["id"], stage="clean", reason=reason, detail=detail, problem=row["problem"], answer=row["answer"], source=row["source"])
    )


# ------------------------------------------------------------------------ Ray UDFs


class Screen:
    """Validation and decontamination of one batch; the benchmark index is built once per actor."""

    def __init__(self, clean: dict[str, Any]) -> None:
        self.config = CleanConfig(**clean)
        self.index = (
            ContaminationIndex.from_benchmarks(self.config.benchmarks, self.config.ngram, self.config.allow_hub)
            if self.config.decontaminate and self.config.benchmarks
            else None
        )

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        reasons, details, hashes = [], [], []
        for row in rows:
            problem = check_row(row, self.config.require_answer)
            match = self.index.match(row["problem"]) if problem is None and self.index else None
            if problem is None and match is not None:
                problem = (RejectReason.CONTAMINATED, match.describe())
            reasons.append(problem[0].value if problem else None)
            details.append(problem[1] if problem else None)
            hashes.append(text_hash(row["problem"]) if row["problem"] else "")
        return (
            batch.append_column("_reason", pa.array(reasons, pa.string()))
            .append_column("_detail", pa.array(details, pa.string()))
            .append_column("_hash", pa.array(hashes, pa.string()))
        )


class SolveBatch:
    """Async Ray Data UDF: solve, grade and write one batch of problems; returns batch counters."""

    def __init__(self, config_json: str, layout_root: str, teacher_handles: list | None = None) -> None:
        from pipeline.teachers.factory import build_teacher
        from toolkit.grading import Grader
        from toolkit.registry import openai_tools
        from toolkit.sandbox import Sandbox

        self.config = GenerateConfig.model_validate_json(config_json)
        self.layout = Layout(layout_root)
        self.sandbox = Sandbox(self.config.sandbox).start()
        self.grader = Grader(workers=1, timeout_s=self.config.resources.grader_timeout_s)
        if teacher_handles:
            from pipeline.teachers.remote import RemoteTeacher

            self.teacher = RemoteTeacher(teacher_handles, name=f"{self.config.teacher.kind}-actors")
        else:
            self.teacher = build_teacher(self.config.teacher.kind, self.config.teacher.options, share=self.config.resources.num_actors)
        self.tools = openai_tools(self.config.solver.tool_categories, self.config.solver.tool_names)
        self.limit = asyncio.Semaphore(self.config.resources.concurrency_per_actor)

    def __del__(self) -> None:
        # Ray Data ends the actor when the job is done; release the worker processes now
        # rather than leaving them to notice their parent is gone.
        for resource in ("sandbox", "grader"):
            if hasattr(self, resource):
                getattr(self, resource).close()

    async def _one(self, problem: Problem) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any]]:
        async with self.limit:
            trace = await solve(problem, self.teacher, self.sandbox.call, self.tools, self.config.solver)
            graded = None
            if trace.final_answer is not None and not trace.error:
                graded = await self.grader.agrade(f"\\boxed{{{trace.final_answer}}}", problem.answer)
            trace.correct = bool(graded and graded.equal)
            trace.status = classify(trace, trace.correct, self.config.filter)
        counters = {
            "tool_calls": Counter(c.name for c in trace.tool_calls),
            "tokens": trace.prompt_tokens + trace.completion_tokens,
        }
        if trace.status in KEPT:  # accepted, or (relaxed mode) a wrong answer kept and flagged
            return trace_to_row(trace), None, counters
        detail = trace.error or (f"final answer {trace.final_answer!r}, reference {problem.answer!r}" if trace.final_answer else "")
        reject = Reject(
            id=problem.id, stage="generate", reason=trace.status, detail=detail, problem=problem.problem,
            answer=problem.answer, source=problem.source, trace=trace_to_json(trace),
        )
        return None, reject_to_row(reject), counters

    async def __call__(self, batch: pa.Table) -> pa.Table:
        problems = [problem_from_row(r) for r in batch.to_pylist()]
        results = await asyncio.gather(*(self._one(p) for p in problems))
        accepted = [a for a, _, _ in results if a is not None]
        rejected = [r for _, r, _ in results if r is not None]
        storage.write_part(to_table(accepted, TRACE_SCHEMA), self.layout.fs, self.layout.traces)
        storage.write_part(to_table(rejected, REJECT_SCHEMA), self.layout.fs, self.layout.rejects)
        tool_calls: Counter[str] = Counter()
        for _, _, c in results:
            tool_calls.update(c["tool_calls"])
        return pa.table(
            {
                "problems": [len(problems)],
                "accepted": [len(accepted)],
                "tokens": [sum(c["tokens"] for _, _, c in results)],
                "tool_calls": [json.dumps(tool_calls)],
            }
        )


# ------------------------------------------------------------------------ the job


def _write_clean_rejects(rows: list[dict[str, Any]], layout: Layout) -> None:
    for start in range(0, len(rows), 50_000):
        storage.write_part(to_table(rows[start : start + 50_000], REJECT_SCHEMA), layout.fs, layout.rejects, prefix="clean")


def run_generate(config: GenerateConfig, *, progress: bool = True) -> GenerateSummary:
    """Run (or resume) generation; returns the summary that is also written as stats.json."""
    import ray
    import ray.data
    from ray.data import ActorPoolStrategy

    from pipeline.runtime.ray_start import ensure_ray

    started = time.perf_counter()
    ensure_ray()
    ray.data.DataContext.get_current().enable_progress_bars = progress
    layout = Layout(config.output_dir)
    storage.ensure_dir(layout.fs, layout.traces)
    storage.ensure_dir(layout.fs, layout.rejects)

    screened = (
        read_problems(config.problems)
        .map_batches(Screen, fn_constructor_kwargs={"clean": config.clean.model_dump()}, batch_format="pyarrow",
                     batch_size=1024, compute=ActorPoolStrategy(size=1), num_cpus=0.25)
        .materialize()
    )
    keep = _representatives(screened) if config.clean.deduplicate else None
    solved_before, clean_written = _already_written(layout)
    input_rows, clean_rejects, todo = _sort_rows(screened, keep, solved_before, clean_written)
    _write_clean_rejects(clean_rejects, layout)

    teacher_handles = None
    if config.teacher.effective_placement() == "actors":
        from pipeline.teachers.remote import start_teacher_actors

        teacher_handles = start_teacher_actors(config.teacher)

    solved_batches: list[dict[str, Any]] = []
    if todo.num_rows:
        res = config.resources
        # Blocks are cut here rather than by a repartition operator: an all-to-all stage
        # needs whole CPUs while the solver actors hold theirs, which can deadlock a small node.
        blocks = res.num_blocks or max(res.num_actors * 4, todo.num_rows // 256)
        size = max(1, -(-todo.num_rows // blocks))
        pieces = [todo.slice(start, size) for start in range(0, todo.num_rows, size)]
        solved = ray.data.from_arrow(pieces).map_batches(
            SolveBatch,
            fn_constructor_kwargs={"config_json": config.model_dump_json(), "layout_root": config.output_dir, "teacher_handles": teacher_handles},
            batch_size=res.batch_size,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(
                size=res.num_actors,
                max_tasks_in_flight_per_actor=res.batches_in_flight_per_actor,
                max_concurrent_calls_per_actor=res.batches_in_flight_per_actor,
            ),
            num_cpus=res.num_cpus_per_actor,
        )
        try:
            solved_batches = solved.take_all()
        finally:
            for handle in teacher_handles or []:
                ray.kill(handle)  # release the teachers' GPUs with the job

    stats = compute_stats(layout, input_rows=input_rows, wall_time_s=time.perf_counter() - started, this_run=solved_batches)
    with layout.fs.open_output_stream(layout.stats) as handle:
        handle.write(json.dumps(stats, indent=2).encode())
    return GenerateSummary(
        output_dir=config.output_dir,
        input_rows=input_rows,
        accepted=stats["accepted"],
        rejected_by_reason=stats["rejected_by_reason"],
        skipped_already_written=len(solved_before),
        wall_time_s=stats["wall_time_s"],
        stats=stats,
    )


def _representatives(screened) -> dict[str, str]:
    """Normalised-text hash -> the smallest id among the usable rows that share it.

    Keeping the smallest id makes the choice independent of how the input was split
    into blocks, so reruns agree on which copy is the duplicate.
    """
    keep: dict[str, str] = {}
    for batch in screened.select_columns(["id", "_hash", "_reason"]).iter_batches(batch_format="pyarrow", batch_size=65536):
        for row_id, digest, reason in zip(*(batch.column(c).to_pylist() for c in ("id", "_hash", "_reason")), strict=True):
            if reason is None and (digest not in keep or row_id < keep[digest]):
                keep[digest] = row_id
    return keep


def _sort_rows(
    screened, keep: dict[str, str] | None, solved_ids: set[str], clean_keys: set[tuple[str, str]]
) -> tuple[int, list[dict[str, Any]], pa.Table]:
    """Every screened row goes to exactly one place: a clean-stage reject, the solver's
    to-do table, or nowhere because an earlier run already wrote it."""
    rejects: list[dict[str, Any]] = []
    todo: list[pa.Table] = []
    rows = 0
    occurrences: Counter[str] = Counter()
    for batch in screened.iter_batches(batch_format="pyarrow", batch_size=65536):
        mask = []
        for row in batch.to_pylist():
            rows += 1
            occurrences[row["id"]] += 1
            reason, detail = row["_reason"], row["_detail"]
            if reason is None and occurrences[row["id"]] > 1:
                reason = RejectReason.DUPLICATE
                detail = f"occurrence {occurrences[row['id']]} of the id {row['id']!r} in the input"
            elif reason is None and keep is not None and keep[row["_hash"]] != row["id"]:
                reason, detail = RejectReason.DUPLICATE, f"same problem text as {keep[row['_hash']]}"
            if reason is not None and (row["id"], detail) not in clean_keys:
                rejects.append(clean_reject(row, reason, detail))
            mask.append(reason is None and row["id"] not in solved_ids)
        todo.append(batch.filter(pa.array(mask, pa.bool_())).drop_columns(["_reason", "_detail", "_hash"]))
    empty = pa.table({name: pa.array([], type) for name, type in zip(PROBLEM_SCHEMA.names, PROBLEM_SCHEMA.types, strict=True)})
    return rows, rejects, pa.concat_tables(todo) if todo else empty


def _already_written(layout: Layout) -> tuple[set[str], set[tuple[str, str]]]:
    """Ids the solver already finished (trace or reject), and the clean-stage rejects written."""
    solved = set()
    traces = storage.read_parts(layout.fs, layout.traces, columns=["id"])
    if traces is not None:
        solved.update(traces.column("id").to_pylist())
    clean: set[tuple[str, str]] = set()
    rejects = storage.read_parts(layout.fs, layout.rejects, columns=["id", "stage", "detail"])
    if rejects is not None:
        for row_id, stage, detail in zip(*(rejects.column(c).to_pylist() for c in ("id", "stage", "detail")), strict=True):
            if stage == "clean":
                clean.add((row_id, detail))
            else:
                solved.add(row_id)
    return solved, clean


def compute_stats(layout: Layout, *, input_rows: int, wall_time_s: float, this_run: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over everything written so far (all attempts), plus this attempt's counters."""
    traces = storage.read_parts(layout.fs, layout.traces, columns=["id", "tool_calls", "prompt_tokens", "completion_tokens", "num_turns"])
    rejects = storage.read_parts(layout.fs, layout.rejects, columns=["id", "stage", "reason"])
    accepted = traces.num_rows if traces is not None else 0
    kept_wrong = 0
    if traces is not None:
        statuses = storage.read_parts(layout.fs, layout.traces, columns=["status"]).column("status").to_pylist()
        kept_wrong = sum(status == WRONG_ANSWER_KEPT for status in statuses)
    by_reason = Counter(rejects.column("reason").to_pylist()) if rejects is not None else Counter()
    by_stage = Counter(rejects.column("stage").to_pylist()) if rejects is not None else Counter()
    calls_per_tool: Counter[str] = Counter()
    prompt_tokens = completion_tokens = 0
    if traces is not None:
        for calls in traces.column("tool_calls").to_pylist():
            calls_per_tool.update(c["name"] for c in calls)
        prompt_tokens = sum(traces.column("prompt_tokens").to_pylist())
        completion_tokens = sum(traces.column("completion_tokens").to_pylist())
    attempted = accepted + by_stage.get("generate", 0)
    run_calls: Counter[str] = Counter()
    for batch in this_run:
        run_calls.update(json.loads(batch["tool_calls"]))
    return {
        "input_rows": input_rows,
        "written_rows": accepted + sum(by_reason.values()),
        "accepted": accepted,
        "kept_wrong_answer": kept_wrong,  # included in `accepted`; non-zero only with filter.mode=relaxed
        "rejected": sum(by_reason.values()),
        "rejected_by_reason": dict(sorted(by_reason.items())),
        "rejected_by_stage": dict(sorted(by_stage.items())),
        "acceptance_rate_of_solved": round(accepted / attempted, 4) if attempted else None,
        "tool_calls_per_tool_accepted": dict(calls_per_tool.most_common()),
        "accepted_prompt_tokens": prompt_tokens,
        "accepted_completion_tokens": completion_tokens,
        "this_run": {
            "problems_solved": sum(b["problems"] for b in this_run),
            "accepted": sum(b["accepted"] for b in this_run),
            "tokens": sum(b["tokens"] for b in this_run),
            "tool_calls_per_tool": dict(run_calls.most_common()),
        },
        "wall_time_s": round(wall_time_s, 2),
    }

