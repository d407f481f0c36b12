"""Generation reads problem shards from a bucket and writes its run folder there; bad input
is a reject row, never a dead job: every input row ends up in traces/ or rejects/."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from pipeline.generate import GenerateConfig, run_generate
from pipeline.runtime.storage import RunFolder
from pipeline.synthetic import generate_problems
from tests.s3_server import list_keys


def _problems(count: int, seed: int) -> list[dict]:
    return [{"id": p.id, "problem": p.problem, "answer": p.answer} for p in generate_problems(count, seed=seed)]


def _config(path: str, output_dir: str) -> GenerateConfig:
    return GenerateConfig.model_validate({
        "problems": {"kind": "file", "path": path}, "output_dir": output_dir, "clean": {"benchmarks": ["gsm8k"]},
        "resources": {"num_actors": 1, "num_cpus_per_actor": 0.5, "batch_size": 8},
    })


def _written_ids(output_dir: str) -> list[str]:
    folder = RunFolder(output_dir)
    return [*folder.read("traces", columns=["id"]).column("id").to_pylist(),
            *folder.read("rejects", columns=["id"]).column("id").to_pylist()]


@pytest.mark.slow
def test_parquet_shards_in_a_bucket(ray_local, s3_uri):
    fs, base = pafs.FileSystem.from_uri(s3_uri)
    rows = _problems(24, seed=21)
    for i in range(3):
        with fs.open_output_stream(f"{base}/problems/shard-{i}.parquet") as handle:
            pq.write_table(pa.Table.from_pylist(rows[i * 8 : (i + 1) * 8]), handle)
    with fs.open_output_stream(f"{base}/problems/shard-3.parquet") as handle:
        handle.write(b"PAR1 this is not a parquet file")
    summary = run_generate(_config(f"{s3_uri}/problems", f"{s3_uri}/run"), progress=False)
    assert summary.input_rows == 25  # 24 problems + the unreadable shard
    assert summary.rejected_by_reason.get("unreadable_shard") == 1
    assert sorted(_written_ids(f"{s3_uri}/run")) == sorted([r["id"] for r in rows] + ["shard-3.parquet:unreadable"])
    keys = list_keys(f"{s3_uri}/run")
    assert "stats.json" in keys and any(k.startswith("traces/") for k in keys)


@pytest.mark.slow
def test_a_jsonl_folder_with_bad_lines_loses_nothing(ray_local, s3_uri):
    fs, base = pafs.FileSystem.from_uri(s3_uri)
    rows = _problems(12, seed=22)
    good = "".join(json.dumps(r) + "\n" for r in rows[:6])
    with fs.open_output_stream(f"{base}/jsonl/a.jsonl") as handle:
        handle.write((good + "{not json at all\n" + json.dumps(rows[6]) + "\n[1, 2]\n").encode())
    with fs.open_output_stream(f"{base}/jsonl/b.jsonl") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in rows[7:]).encode())
    summary = run_generate(_config(f"{s3_uri}/jsonl", f"{s3_uri}/run"), progress=False)
    assert summary.input_rows == 14  # 12 problems + 2 bad lines
    assert summary.rejected_by_reason.get("invalid_json") == 2
    rejects = RunFolder(f"{s3_uri}/run").read("rejects").to_pylist()
    bad = {r["id"]: r["detail"] for r in rejects if r["reason"] == "invalid_json"}
    assert set(bad) == {"a.jsonl:7", "a.jsonl:9"}
    assert "line 7" in bad["a.jsonl:7"] and "{not json at all" in bad["a.jsonl:7"]
    assert sorted(_written_ids(f"{s3_uri}/run")) == sorted([r["id"] for r in rows] + list(bad))
