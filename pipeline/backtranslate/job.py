"""The back-translation job: verified tool-integrated traces → verified natural-language SFT data.

    traces (a generation run's traces/, or a folder of trace parts; local or URI)
      → skip ids already written (resume) → the job skeleton (`pipeline.jobs`) runs
        BACKTRANSLATION's stages (`pipeline.backtranslate.stages`: filter → translate →
        judge → rephrase → validate) in an actor pool
      → sft/ (parquet parts) + rejects/ + translations/ (one row per tool call)
      → sft/data.jsonl, stats.json, dataset_card.md (regenerated from all parts, so resume keeps them whole)

Every input trace ends up in exactly one of sft/ or rejects/ (with a reason).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from typing import Any

import pyarrow as pa

from pipeline.backtranslate.config import BacktranslateConfig
from pipeline.backtranslate.stages import BACKTRANSLATION, teachers_of
from pipeline.backtranslate.summary import BacktranslateStats, BacktranslateSummary
from pipeline.jobs.run import run_job, written_keys
from pipeline.records import TRACE_SCHEMA, RejectReason
from pipeline.runtime.storage import RunFolder

log = logging.getLogger(__name__)

SFT, REJECTS, TRANSLATIONS = "sft", "rejects", "translations"
JSONL, CARD = ("sft", "data.jsonl"), ("dataset_card.md",)


def _traces_folder(traces_dir: str) -> tuple[RunFolder, tuple[str, ...], bool]:
    """(the folder, where its traces are inside it, whether generation's rejects are beside them)."""
    source = RunFolder(traces_dir)
    if source.read("traces", columns=["id"]) is not None:
        return source, ("traces",), source.read("rejects", columns=["id"]) is not None
    return source, (), False


def _read_traces(traces_dir: str) -> tuple[pa.Table, RunFolder, bool]:
    source, inside, has_rejects = _traces_folder(traces_dir)
    table = source.read(*inside)
    if table is None:
        raise ValueError(f"no trace parquet parts in {traces_dir} (nor in its traces/ folder); run generation first")
    missing = [name for name in ("id", "problem", "answer", "messages", "tool_calls") if name not in table.column_names]
    if missing:
        raise ValueError(f"{traces_dir} does not hold traces: columns {missing} are missing")
    return table, source, has_rejects


def run_backtranslate(config: BacktranslateConfig, *, progress: bool = True) -> BacktranslateSummary:
    """Run (or resume) back-translation; returns the summary that is also written as stats.json."""
    started = time.perf_counter()
    traces, source, generation_rejects = _read_traces(config.traces_dir)
    folder = RunFolder(config.output_dir)
    for name in (SFT, REJECTS, TRANSLATIONS):
        folder.ensure(name)
    done = written_keys(folder, (SFT, REJECTS))
    seen: set[str] = set()
    mask = []
    for trace_id in traces.column("id").to_pylist():  # each id once (a trace folder written twice must not yield duplicates)
        mask.append(trace_id not in done and trace_id not in seen)
        seen.add(trace_id)
    todo = traces.filter(pa.array(mask, pa.bool_()))
    todo = todo.select([n for n in TRACE_SCHEMA.names if n in todo.column_names])
    this_run = run_job(BACKTRANSLATION, config, todo, root=config.output_dir, resources=config.resources,
                       teachers=teachers_of(config), progress=progress)
    write_jsonl(folder)
    taxonomy = None
    if generation_rejects:
        from pipeline.agents.taxonomy import taxonomy_counts

        table = source.read("rejects", columns=["id", "stage", "reason", "trace"])
        taxonomy = taxonomy_counts(table.to_pylist()) if table is not None else None
    stats = compute_stats(folder, traces_in=len(seen), this_run=this_run, taxonomy=taxonomy,
                          wall_time_s=time.perf_counter() - started, config=config)
    folder.write_text(json.dumps(stats, indent=2), "stats.json")
    summary = BacktranslateSummary(
        output_dir=config.output_dir, traces_in=stats["traces_in"], examples_out=stats["examples_out"],
        rejected_by_reason=stats["rejected_by_reason"], skipped_already_written=len(done & seen),
        wall_time_s=stats["wall_time_s"], stats=BacktranslateStats(**stats),
    )
    folder.write_text(summary.card(config), *CARD)
    return summary


def write_jsonl(folder: RunFolder) -> int:
    """sft/data.jsonl from every sft part (rewritten whole, so a resumed run leaves it complete)."""
    table = folder.read(SFT)
    rows = table.to_pylist() if table is not None else []
    rows.sort(key=lambda r: r["id"])
    folder.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), *JSONL)
    return len(rows)


def compute_stats(folder: RunFolder, *, traces_in: int, this_run: list[dict[str, Any]], taxonomy: dict[str, int] | None,
                  wall_time_s: float, config: BacktranslateConfig) -> dict[str, Any]:
    """Totals over everything written so far (all attempts), plus this attempt's counters."""
    sft = folder.read(SFT, columns=["id", "flags"])
    rejects = folder.read(REJECTS, columns=["id", "reason"])
    translations = folder.read(TRANSLATIONS)
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
        "filter_mode": config.filter.mode,
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
