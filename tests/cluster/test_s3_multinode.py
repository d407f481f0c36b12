"""The cluster path with object storage: a run on two nodes whose run folder is an S3 bucket
(a real S3-protocol server), killed once during generation and once during training.

All four stages write to the bucket and the report is read back from it; nothing but
caches is written under the jobs' working directories; generation resumes without solving
any id twice; training resumes from the checkpoint it stored in the bucket.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(2400)  # three submissions, two kills and a whole run on 2 cores: ~8-15 min
def test_a_run_in_a_bucket_survives_two_kills_on_two_nodes(tmp_path, s3_uri):
    result_path = tmp_path / "result.json"
    scenario = subprocess.run(
        [sys.executable, str(ROOT / "tests/cluster/s3_kill_resume.py"), str(result_path), s3_uri, str(ROOT)],
        cwd=ROOT, timeout=2300, capture_output=True, text=True)
    assert scenario.returncode == 0, scenario.stdout[-3000:] + scenario.stderr[-6000:]
    result = json.loads(result_path.read_text())
    final = result["final"]
    assert final["returncode"] == 0, final["stdout"][-4000:] + final["stderr"][-3000:]
    generation_kill, training_kill = result["steps"]

    # killed while generating: some parts written, the stage not finished
    assert any(k.startswith("generate/traces/") for k in generation_kill["keys_at_kill"])
    assert "generate/_COMPLETE.json" not in generation_kill["keys_after"], "generation finished before the kill"
    # killed while training, after a checkpoint reached the bucket, before the adapter
    assert any("checkpoint_" in k for k in training_kill["keys_at_kill"])
    assert "train/_COMPLETE.json" not in training_kill["keys_after"], "training finished before the kill"

    fs, base = pafs.FileSystem.from_uri(s3_uri.rstrip("/"))
    keys = set(final["keys"])
    for stage in ("generate", "backtranslate", "train", "eval"):
        assert f"{stage}/_COMPLETE.json" in keys, stage
    assert "report.md" in keys and "train/adapter/adapter_config.json" in keys

    def rows(folder: str, columns: list[str]) -> list[dict]:
        out = []
        for key in sorted(k for k in keys if k.startswith(folder + "/") and k.endswith(".parquet")):
            with fs.open_input_file(f"{base}/{key}") as handle:
                out += pq.read_table(handle, columns=columns).to_pylist()
        return out

    solved = [r["id"] for r in rows("generate/traces", ["id"])]
    solved += [r["id"] for r in rows("generate/rejects", ["id", "stage"]) if r["stage"] == "generate"]
    twice = [i for i, n in Counter(solved).items() if n > 1]
    assert not twice, f"solved more than once: {twice[:10]}"
    stats = json.loads(fs.open_input_stream(f"{base}/generate/stats.json").read())
    assert stats["input_rows"] == stats["written_rows"] == 240  # every row accounted once

    summary = json.loads(fs.open_input_stream(f"{base}/train/train_summary.json").read())
    assert summary["steps"] == 6 and (summary["resumed_from_step"] or 0) >= 2, summary
    report = fs.open_input_stream(f"{base}/report.md").read().decode()
    assert "Training" in report and "Evaluation" in report

    assert result["working_dir_outputs"] == [], result["working_dir_outputs"]
    on = {a["node"] for a in result["actors"] if "GenerateActor" in a["class_name"] or "RayTrainWorker" in a["class_name"]}
    assert on == {"head", "second"}, result["actors"]
