"""Training with its run folder in a bucket: checkpoints, adapter, rejects and summary in S3.

The S3 server is real (moto over HTTP, `tests/s3_server.py`); Ray Train, DeepSpeed, PEFT
and SmolLM2 are real. The killed run has its own Ray (a subprocess, killed whole), so the
resumed run is a restart on another cluster that shares only the bucket.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.runtime.models import remote_cache_dir
from pipeline.runtime.storage import RunFolder
from pipeline.synthetic import generate_problems
from tests.s3_server import list_keys
from tests.train.test_sft import KILLED_RUN, _kill_ray_started_by, assert_loss_decreases
from train.config import TrainConfig
from train.sft import finished_summary, run_train

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------- folders through RunFolder


@pytest.fixture(params=["local", "s3"])
def any_folder(request, tmp_path) -> RunFolder:
    if request.param == "local":
        return RunFolder(str(tmp_path / "run"))
    return RunFolder(request.getfixturevalue("s3_uri"))


def test_upload_replaces_download_restores_and_uri_names_the_place(any_folder, tmp_path):
    source = tmp_path / "adapter"
    (source / "sub").mkdir(parents=True)
    (source / "adapter_config.json").write_text('{"r": 4}')
    (source / "sub" / "weights.bin").write_bytes(os.urandom(3000))
    (source / "stale.txt").write_text("only in the first upload")

    uri = any_folder.upload_dir(source, "train", "adapter")
    assert uri == any_folder.uri("train", "adapter")
    assert uri.startswith("s3://") != any_folder.is_local
    assert any_folder.files("train", "adapter") == {"adapter_config.json": 8, "sub/weights.bin": 3000, "stale.txt": 24}

    (source / "stale.txt").unlink()
    any_folder.upload_dir(source, "train", "adapter")  # a rerun's adapter replaces the old one whole
    assert sorted(any_folder.files("train", "adapter")) == ["adapter_config.json", "sub/weights.bin"]

    back = Path(any_folder.download_dir(tmp_path / "back", "train", "adapter"))
    assert (back / "sub" / "weights.bin").read_bytes() == (source / "sub" / "weights.bin").read_bytes()
    with pytest.raises(FileNotFoundError):
        any_folder.download_dir(tmp_path / "none", "train", "nothing")
    assert any_folder.files("train", "nothing") == {}

    table = pa.table({"id": ["a", "b"]})
    any_folder.write_table(table, "train", "rejects.parquet")
    fs, path = any_folder.fs, any_folder.file("train", "rejects.parquet")
    assert pq.read_table(path, filesystem=fs).equals(table)
    if any_folder.is_local:  # no temporary names left beside the published files
        assert not [p for p in Path(any_folder.file("train")).iterdir() if p.name.startswith(".tmp-")]


# ---------------------------------------------------------------------- a training run in the bucket


def write_sft(folder: RunFolder, count: int = 32) -> str:
    """Back-translated-style SFT rows (≈ 90 tokens each) and one too long, as parquet in the bucket."""
    rows = [
        {"id": p.id, "messages": [
            {"role": "user", "content": p.problem},
            {"role": "assistant", "content": f"Using the tools, the answer is \\boxed{{{p.answer}}}."},
        ]}
        for p in generate_problems(count, seed=7)
    ]
    rows.append({"id": "too-long", "messages": [{"role": "user", "content": "x " * 700}, {"role": "assistant", "content": "y"}]})
    folder.write_table(pa.Table.from_pylist(rows), "backtranslate", "sft", "part-0.parquet")
    return folder.uri("backtranslate", "sft")


def tiny_config(run: str, data: str, **overrides) -> TrainConfig:
    """tests/cluster/tiny_run.yaml's train section, in a bucket."""
    base = {
        "name": "tiny-train", "data": data, "output_dir": f"{run}/train", "model": "smollm2",
        "lora": {"r": 4, "alpha": 8},
        "optim": {"max_steps": 2, "per_device_batch_size": 2, "gradient_accumulation_steps": 1, "warmup_ratio": 0.0},
        "max_seq_len": 512,
        "scaling": {"num_workers": 2, "cpus_per_worker": 0.5, "torch_threads": 1},
        "report_every_steps": 1, "checkpoint_every_steps": 2,
    }
    base.update(overrides)
    return TrainConfig.model_validate(base)


def registered_step(folder: RunFolder, name: str) -> int:
    """The step of the latest checkpoint Ray Train recorded in its snapshot in the bucket."""
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        snapshot = folder.read_json("checkpoints", name, "checkpoint_manager_snapshot.json")
        return int(snapshot["latest_checkpoint_result"]["metrics"]["step"])
    return 0


def checkpoint_folders(keys: dict[str, int], name: str) -> set[str]:
    prefix = f"checkpoints/{name}/checkpoint_"  # folders checkpoint_<time>/, not the snapshot file
    return {k.split("/")[2] for k in keys if k.startswith(prefix) and k.count("/") > 2}


def local_s3_folders(*roots: Path) -> list[Path]:
    """Folders named like a URI's scheme (`s3:`), the mark of a URI used as a local path."""
    return [p for root in roots if root.exists() for p in root.rglob("s3:*")]


@pytest.mark.slow
def test_killed_run_in_a_bucket_resumes_on_another_cluster_and_finishes_there(ray_local, s3_uri, tmp_path, monkeypatch):
    """Train with output_dir=s3://...: a run on its own Ray is killed (job and cluster) after
    its step-2 checkpoint reached the bucket; a run on another Ray resumes from it, prunes old
    checkpoints in the bucket, publishes the adapter, rejects and summary there; a rerun
    returns the summary at once. Nothing but caches is written to local disk."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    run = RunFolder(s3_uri)
    data = write_sft(run)
    # 6 steps, a checkpoint every 2 (at 2 in the killed run, 4 and 6 after the restart), 2 kept.
    config = tiny_config(s3_uri, data, checkpoint_every_steps=2, keep_checkpoints=2,
                         optim={"max_steps": 6, "per_device_batch_size": 2, "gradient_accumulation_steps": 1, "warmup_ratio": 0.0, "lr": 2e-3})
    train = RunFolder(config.output_dir)

    ray_dir = tempfile.mkdtemp(prefix="rs-", dir="/tmp")  # short: Ray's socket paths have a length limit
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # the AWS_* of the test server included
    script = KILLED_RUN.format(root=str(ROOT), ray_dir=ray_dir, config=config.model_dump_json())
    log = open(tmp_path / "killed.log", "w")  # noqa: SIM115 (outlives this block: the child writes to it)
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=cwd, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 300
        while (registered := registered_step(train, config.name)) < 2:
            assert proc.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint of step 2 in time"
            time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        _kill_ray_started_by(proc.pid, ray_dir)
        log.close()
        shutil.rmtree(ray_dir, ignore_errors=True)
    keys = list_keys(config.output_dir)
    assert checkpoint_folders(keys, config.name), keys
    assert not any(k.startswith("adapter/") for k in keys) and "train_summary.json" not in keys
    assert finished_summary(config) is None

    summary = run_train(config, progress=False)
    assert summary.resumed_from_step is not None and 2 <= registered <= summary.resumed_from_step < 6
    assert summary.steps == summary.total_steps == 6
    assert (summary.examples, summary.dropped_examples) == (32, 1)
    assert [m["step"] for m in summary.metrics_history] == list(range(1, 7))  # the killed run's history came along
    assert_loss_decreases(summary)

    # What is where: everything in the bucket, under the run's URIs.
    keys = list_keys(config.output_dir)
    assert summary.output_dir == config.output_dir and summary.adapter_dir == f"{config.output_dir}/adapter"
    assert summary.checkpoint_dir == f"{config.output_dir}/checkpoints/{config.name}"
    assert {"adapter/adapter_config.json", "adapter/adapter_model.safetensors", "train_summary.json", "rejects.parquet"} <= set(keys)
    assert len(checkpoint_folders(keys, config.name)) == 2, "keep_checkpoints=2 prunes the bucket too"
    assert f"checkpoints/{config.name}/checkpoint_manager_snapshot.json" in keys
    rejects = pq.read_table(train.file("rejects.parquet"), filesystem=train.fs).to_pylist()
    assert [(r["id"], r["reason"]) for r in rejects] == [("too-long", "too_long")]
    assert train.read_json("train_summary.json")["steps"] == 6

    # The adapter loads straight from its URI (fetched into this node's cache) and was trained.
    from safetensors.torch import load_file

    from train.export import load_adapter_model

    model, _ = load_adapter_model(config.model, summary.adapter_dir)
    fetched = remote_cache_dir(summary.adapter_dir)
    try:
        weights = load_file(fetched / "adapter_model.safetensors")
        assert sum(float(t.abs().sum()) for k, t in weights.items() if "lora_B" in k) > 0
        assert any("lora_" in n for n, _ in model.named_parameters())
    finally:
        shutil.rmtree(fetched, ignore_errors=True)
        fetched.with_name(f".{fetched.name}.lock").unlink(missing_ok=True)

    # A rerun finds the finished run in the bucket and returns at once.
    start = time.monotonic()
    again = run_train(config, progress=False)
    assert time.monotonic() - start < 2.0 and again == summary == finished_summary(config)

    # Nothing went to local disk: no `s3:` folders, an empty working directory.
    assert not local_s3_folders(cwd, tmp_path, ROOT), local_s3_folders(cwd, tmp_path, ROOT)
    assert not list(cwd.iterdir()), list(cwd.iterdir())
