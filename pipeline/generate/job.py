"""The generation job: problems → clean → Solver Agent on Ray Data → traces/ + rejects/ + stats.

    read (jsonl/parquet, local or URI; or synthetic) → validate → decontaminate (actor
    with the benchmark index) → deduplicate → skip ids already written (resume) →
    the job skeleton (`pipeline.jobs`) runs GENERATION's stages (`pipeline.generate.stages`:
    solve → grade → classify) in an actor pool, each batch written as write-once parts
    → stats.json

Every input row ends up in exactly one of traces/ (accepted) or rejects/ (with a reason).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from typing import Any

import pyarrow as pa

from pipeline.filtering import WRONG_ANSWER_KEPT
from pipeline.generate.config import GenerateConfig
from pipeline.generate.stages import GENERATION
from pipeline.generate.summary import GenerateSummary
from pipeline.jobs.run import run_job
from pipeline.problems.clean import CleanConfig, ContaminationIndex, check_row, text_hash
from pipeline.problems.sources import read_problems
from pipeline.records import (
    PROBLEM_SCHEMA,
    REJECT_SCHEMA,
    Reject,
    RejectReason,
    reject_to_row,
    to_table,
)
from pipeline.runtime.storage import RunFolder

log = logging.getLogger(__name__)



TRACES, REJECTS = "traces", "rejects"


# ------------------------------------------------------------------------ row logic



def clean_reject(row: dict[str, Any], reason: str, detail: str) -> dict[str, Any]:
    return reject_to_row(
        Reject(id=row["id"], stage="clean", reason=reason, detail=detail, problem=row["problem"], answer=row["answer"], source=row["source"])
    )


# ------------------------------------------------------------------------ Ray UDFs


class Screen:
    """Validation and decontamination of one batch; the benchmark index is built once per actor."""

    def __init__(self, clean: dict[str, Any], allow_hub: bool) -> None:
        self.config = CleanConfig(**clean)
        self.index = (
            ContaminationIndex.from_benchmarks(self.config.benchmarks, self.config.ngram, allow_hub)
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


# ------------------------------------------------------------------------ the job


def _write_clean_rejects(rows: list[dict[str, Any]], folder: RunFolder) -> None:
    for start in range(0, len(rows), 50_000):
        folder.write_part(to_table(rows[start : start + 50_000], REJECT_SCHEMA), REJECTS, prefix="clean")


def run_generate(config: GenerateConfig, *, progress: bool = True) -> GenerateSummary:
    """Run (or resume) generation; returns the summary that is also written as stats.json."""
    import ray.data
    from ray.data import ActorPoolStrategy

    from pipeline.runtime.ray_start import ensure_ray

    started = time.perf_counter()
    ensure_ray()
    ray.data.DataContext.get_current().enable_progress_bars = progress
    folder = RunFolder(config.output_dir)
    folder.ensure(TRACES)
    folder.ensure(REJECTS)

    screened = (
        read_problems(config.problems, allow_hub=config.allow_hub)
        .map_batches(Screen, fn_constructor_kwargs={"clean": config.clean.model_dump(), "allow_hub": config.allow_hub},
                     batch_format="pyarrow",
                     batch_size=1024, compute=ActorPoolStrategy(size=1), num_cpus=0.25)
        .materialize()
    )
    keep = _representatives(screened) if config.clean.deduplicate else None
    solved_before, clean_written = _already_written(folder)
    input_rows, clean_rejects, todo = _sort_rows(screened, keep, solved_before, clean_written)
    _write_clean_rejects(clean_rejects, folder)

    solved_batches = run_job(GENERATION, config, todo, root=config.output_dir, resources=config.resources,
                             teachers=[config.teacher], progress=progress)

    stats = compute_stats(folder, input_rows=input_rows, wall_time_s=time.perf_counter() - started, this_run=solved_batches)
    folder.write_text(json.dumps(stats, indent=2), "stats.json")
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


def _already_written(folder: RunFolder) -> tuple[set[str], set[tuple[str, str]]]:
    """Ids the solver already finished (trace or reject), and the clean-stage rejects written."""
    solved = set()
    traces = folder.read(TRACES, columns=["id"])
    if traces is not None:
        solved.update(traces.column("id").to_pylist())
    clean: set[tuple[str, str]] = set()
    rejects = folder.read(REJECTS, columns=["id", "stage", "detail"])
    if rejects is not None:
        for row_id, stage, detail in zip(*(rejects.column(c).to_pylist() for c in ("id", "stage", "detail")), strict=True):
            if stage == "clean":
                clean.add((row_id, detail))
            else:
                solved.add(row_id)
    return solved, clean


def compute_stats(folder: RunFolder, *, input_rows: int, wall_time_s: float, this_run: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over everything written so far (all attempts), plus this attempt's counters."""
    traces = folder.read(TRACES, columns=["id", "tool_calls", "prompt_tokens", "completion_tokens", "num_turns", "status"])
    rejects = folder.read(REJECTS, columns=["id", "stage", "reason"])
    accepted = traces.num_rows if traces is not None else 0
    kept_wrong = 0
    if traces is not None:
        statuses = traces.column("status").to_pylist()
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

