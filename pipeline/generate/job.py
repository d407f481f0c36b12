"""The generation job: problems → clean → Solver Agent on Ray Data → traces/ + rejects/ + stats.

    read (jsonl/parquet shards, local or URI; synthetic families; registry sets) → screen
    (validate, decontaminate) → settle (deduplicate, skip what is written: resume) — all
    on Ray Data, the driver holding counts (`pipeline.generate.screen`) → the job skeleton
    (`pipeline.jobs`) runs GENERATION's stages (`pipeline.generate.stages`: solve → grade →
    classify) in an actor pool, each batch written as write-once parts → stats.json

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
from pipeline.generate.screen import TO_SOLVE, screen_and_settle, write_clean_rejects
from pipeline.generate.stages import GENERATION
from pipeline.generate.summary import GenerateStats, GenerateSummary
from pipeline.jobs.run import block_size, run_job, tally_parts
from pipeline.records import PROBLEM_SCHEMA
from pipeline.runtime.storage import RunFolder

log = logging.getLogger(__name__)

TRACES, REJECTS = "traces", "rejects"


def run_generate(config: GenerateConfig, *, progress: bool = True) -> GenerateSummary:
    """Run (or resume) generation; returns the summary that is also written as stats.json."""
    import ray
    import ray.data

    from pipeline.runtime.ray_start import ensure_ray

    started = time.perf_counter()
    ensure_ray()
    ray.data.DataContext.get_current().enable_progress_bars = progress
    folder = RunFolder(config.output_dir)
    folder.ensure(TRACES)
    folder.ensure(REJECTS)

    partitions = config.clean.partitions or max(8, 2 * int(ray.cluster_resources().get("CPU", 1)))
    settled = screen_and_settle(config.problems, config.clean, allow_hub=config.allow_hub, folder=folder,
                                traces=TRACES, rejects=REJECTS, partitions=partitions)
    write_clean_rejects(settled, folder, REJECTS)
    log.info("generation input: %d rows, %d to solve, %d clean rejects, %d already written",
             settled.input_rows, settled.todo, settled.rejects, settled.skipped)
    todo = settled.rows(TO_SOLVE).select_columns(PROBLEM_SCHEMA.names) if settled.todo else pa.table(
        {n: pa.array([], t) for n, t in zip(PROBLEM_SCHEMA.names, PROBLEM_SCHEMA.types, strict=True)})
    solved_batches = run_job(GENERATION, config, todo, root=config.output_dir, resources=config.resources,
                             teachers=[config.teacher], progress=progress,
                             block_rows=block_size(settled.todo, config.resources) if settled.todo else None)

    stats = compute_stats(folder, input_rows=settled.input_rows, wall_time_s=time.perf_counter() - started,
                          this_run=solved_batches)
    folder.write_text(json.dumps(stats, indent=2), "stats.json")
    return GenerateSummary(
        output_dir=config.output_dir,
        input_rows=settled.input_rows,
        accepted=stats["accepted"],
        rejected_by_reason=stats["rejected_by_reason"],
        skipped_already_written=settled.skipped,
        wall_time_s=stats["wall_time_s"],
        stats=GenerateStats(**stats),
    )


def _trace_counts(batch: pa.Table) -> dict[str, Any]:
    calls = Counter(call["name"] for calls in batch["tool_calls"].to_pylist() for call in calls)
    return {"accepted": batch.num_rows,
            "kept_wrong": sum(status == WRONG_ANSWER_KEPT for status in batch["status"].to_pylist()),
            "prompt_tokens": sum(batch["prompt_tokens"].to_pylist()),
            "completion_tokens": sum(batch["completion_tokens"].to_pylist()),
            "calls": dict(calls)}


def _reject_counts(batch: pa.Table) -> dict[str, Any]:
    return {"by_reason": dict(Counter(batch["reason"].to_pylist())), "by_stage": dict(Counter(batch["stage"].to_pylist()))}


def compute_stats(folder: RunFolder, *, input_rows: int, wall_time_s: float, this_run: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over everything written so far (all attempts), plus this attempt's counters."""
    traces = tally_parts(folder, TRACES, ["tool_calls", "prompt_tokens", "completion_tokens", "status"], _trace_counts)
    rejects = tally_parts(folder, REJECTS, ["stage", "reason"], _reject_counts)
    accepted, kept_wrong = traces.get("accepted", 0), traces.get("kept_wrong", 0)
    prompt_tokens, completion_tokens = traces.get("prompt_tokens", 0), traces.get("completion_tokens", 0)
    calls_per_tool = Counter(traces.get("calls", {}))
    by_reason, by_stage = Counter(rejects.get("by_reason", {})), Counter(rejects.get("by_stage", {}))
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

