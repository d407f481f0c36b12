"""Evaluation's stages: generate_answer (batched, the model loads once per actor) → grade.

A row is one (model, benchmark, problem, sample); its generation and grade are written to
generations/<model>/<benchmark>/. A generation that failed is written too, graded wrong
with its error, so a benchmark's count never silently shrinks.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, Field

from eval.generate import Generation, SamplingConfig
from eval.run.config import ModelSpec
from pipeline.jobs.stage import Job, Rejected, Resources, Stage
from toolkit.grading import lenient_answer

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
    ("lenient_pred", pa.string()),
    ("lenient_correct", pa.bool_()),
    ("completion_tokens", pa.int64()),
    ("finish_reason", pa.string()),
    ("error", pa.string()),
    ("seed", pa.int64()),
])
_KEPT_COLUMNS = ("model", "benchmark", "problem_id", "sample", "fingerprint", "gold", "level", "subject")


class ModelJob(BaseModel):
    """What one model's evaluation actors need (the part of the EvalConfig that is theirs)."""

    spec: ModelSpec = Field(description="the model to load")
    sampling: SamplingConfig = Field(description="how each answer is sampled")
    grader_timeout_s: float = Field(description="deadline of each answer comparison")
    cpus: float = Field(description="CPUs an actor reserves: the default torch threads of an hf backend")


@dataclass
class Answering:
    row: dict[str, Any]
    generation: Generation | None = None
    seed: int = 0
    graded: Any = None
    lenient: Any = None
    started_at: float = 0.0  # wall clock when its batch reached a loaded actor (model start-up excluded)


@dataclass
class ModelResources(Resources):
    generator: Any = None
    grader: Any = None


def open_model(config: ModelJob, teacher_handles: dict[str, list[Any]]) -> ModelResources:
    from eval.generate import build_generator
    from toolkit.grading import Grader

    resources = ModelResources(config=config)
    resources.generator = resources.own(build_generator(config.spec, default_threads=max(1, round(config.cpus))))
    if hasattr(resources.generator, "load"):
        resources.generator.load()
    resources.grader = resources.own(Grader(workers=1, timeout_s=config.grader_timeout_s).start())
    return resources


def read_row(resources: ModelResources, row: dict[str, Any]) -> Answering:
    return Answering(row, started_at=time.time())


async def generate_answer(resources: ModelResources, items: list[Answering]) -> list[Answering]:
    """One generate call per sample index: sample i of every problem shares seed + i."""
    sampling: SamplingConfig = resources.config.sampling  # type: ignore[attr-defined]
    by_sample: dict[int, list[Answering]] = defaultdict(list)
    for item in items:
        by_sample[item.row["sample"]].append(item)
    for sample, group in sorted(by_sample.items()):
        seed = sampling.seed + sample
        outs = await resources.generator.generate([json.loads(i.row["messages"]) for i in group], sampling, seed)
        for item, out in zip(group, outs, strict=True):
            item.generation, item.seed = out, seed
    return items


async def grade(resources: ModelResources, item: Answering) -> Answering:
    """Twice: the final answer as `extract_answer` finds it (the box first), and leniently, the
    last number or expression of the text with the same comparison (a gain that is only the
    format, learning to box, shows up as a gap between the two)."""
    item.graded = await resources.grader.agrade(item.generation.text, item.row["gold"])
    last = lenient_answer(item.generation.text)
    if last is not None:
        item.lenient = await resources.grader.agrade(last, item.row["gold"], extract=False)
    return item


def write_row(resources: ModelResources, result: Answering | Rejected) -> dict[str, list[dict[str, Any]]]:
    config: ModelJob = resources.config  # type: ignore[assignment]
    if isinstance(result, Rejected):  # a stage failed for this row: written, graded wrong, with the reason
        item: Answering = result.item
        gen = item.generation or Generation("", 0, "error", f"{result.reason}: {result.detail}")
        graded_pred, graded_reason, correct = None, result.reason, False
        lenient_pred, lenient_correct = None, False
    else:
        item, gen = result, result.generation
        graded_pred, graded_reason = item.graded.pred, item.graded.reason
        correct = bool(item.graded.equal) and not gen.error
        lenient_pred = item.lenient.pred if item.lenient else None
        lenient_correct = bool(item.lenient and item.lenient.equal) and not gen.error
    row = {
        **{k: item.row[k] for k in _KEPT_COLUMNS},
        "text": gen.text, "pred": graded_pred, "correct": correct, "grade_reason": graded_reason,
        "lenient_pred": lenient_pred, "lenient_correct": lenient_correct,
        "completion_tokens": gen.completion_tokens, "finish_reason": gen.finish_reason, "error": gen.error,
        "seed": item.seed,
    }
    return {f"generations/{config.spec.name}/{item.row['benchmark']}": [row]}


def tally(results: Sequence[Answering | Rejected]) -> dict[str, Any]:
    """Rows and tokens of one batch, and when it started and ended (called once its parts are
    written): the job's throughput is its tokens over the span of its batches, which leaves out
    the actors' model loading but keeps generation, grading, writing and Ray Data's gaps."""
    items = [r.item if isinstance(r, Rejected) else r for r in results]
    return {"rows": len(results), "tokens": sum(i.generation.completion_tokens for i in items if i.generation),
            "started_at": min((i.started_at for i in items), default=0.0), "finished_at": time.time()}


EVALUATION = Job(
    name="eval",
    config_type=ModelJob,
    open=open_model,
    read=read_row,
    stages=(Stage("generate_answer", generate_answer, per_batch=True), Stage("grade", grade)),
    write=write_row,
    schemas={"generations": GENERATION_SCHEMA},
    tally=tally,
)
