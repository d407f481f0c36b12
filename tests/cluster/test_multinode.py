"""Two Ray nodes on one machine: a job submitted with `tooldistill submit` spreads its
solver actors and training workers over both, and writes where it says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLDISTILL = str(Path(sys.executable).with_name("tooldistill"))


@pytest.mark.slow
def test_submitted_run_spreads_over_two_nodes(tmp_path):
    out = tmp_path / "two-node"
    result = tmp_path / "result.json"
    command = [
        TOOLDISTILL, "submit", "tests/cluster/two_node_run.yaml", "--address", "{dashboard}",
        "--working-dir", str(ROOT), "--set", f"output_dir={out}", "--env", "RAY_AUTH_MODE=disabled",
    ]
    # The job's entrypoint runs `python` from the head node's PATH, as on a real cluster
    # where the setup commands put the project's environment first.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run([sys.executable, str(ROOT / "tests/cluster/two_node_cluster.py"), str(result), "--", *command],
                   cwd=ROOT, env=env, check=True, timeout=1700)
    payload = json.loads(result.read_text())
    assert payload["returncode"] == 0, payload["stdout"][-4000:] + payload["stderr"][-4000:]
    assert "SUCCEEDED" in payload["stdout"]
    assert f"outputs: {out}" in payload["stdout"].replace("\n", "")
    assert payload["nodes"] == ["head", "second"]

    nodes_of: dict[str, set[str]] = defaultdict(set)
    for actor in payload["actors"]:
        nodes_of[actor["class_name"]].add(actor["node"])
    solver = [name for name in nodes_of if "GenerateActor" in name]
    assert solver and set().union(*(nodes_of[n] for n in solver)) == {"head", "second"}, dict(nodes_of)
    assert nodes_of["RayTrainWorker"] == {"head", "second"}, dict(nodes_of)

    # The outputs are where the job said, on this machine's disk.
    assert list((out / "generate" / "traces").glob("*.parquet"))
    assert list((out / "backtranslate" / "sft").glob("*.parquet"))
    assert (out / "train" / "adapter" / "adapter_config.json").exists()
    assert (out / "report.md").exists()
