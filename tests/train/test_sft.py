"""LoRA SFT on Ray Train + DeepSpeed, 2 CPU workers: ZeRO-3 end to end, ZeRO-2 killed and resumed.

Real components throughout: SmolLM2-135M, PEFT, DeepSpeed over gloo, Ray Train on the
session's local Ray (the killed run starts its own Ray in a subprocess).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from pipeline.synthetic import generate_problems
from train.config import TrainConfig
from train.sft import TRAINER_STATE, finished_summary, plan_steps, run_train

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def write_examples(folder: Path, count: int = 32) -> Path:
    """Short synthetic conversations: a problem and a one-line boxed answer (≈ 90 tokens each)."""
    rows = [
        {"id": p.id, "messages": [
            {"role": "user", "content": p.problem},
            {"role": "assistant", "content": f"Using the tools, the answer is \\boxed{{{p.answer}}}."},
        ]}
        for p in generate_problems(count, seed=7)
    ]
    rows.append({"id": "too-long", "messages": [{"role": "user", "content": "x " * 300}, {"role": "assistant", "content": "y"}]})
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")
    return folder


def small_config(tmp: Path, stage: int, **overrides) -> TrainConfig:
    data = write_examples(tmp / "data")
    base = {
        "name": f"zero{stage}", "data": str(data), "output_dir": str(tmp / "out"), "zero_stage": stage,
        "max_seq_len": 192,
        "lora": {"r": 4, "alpha": 16},
        # A high lr so that a few steps on 32 examples move the loss clearly.
        # Few, larger micro-batches: under ZeRO-3 every forward and backward all-gathers the
        # whole model over gloo, which dominates a step on CPU.
        "optim": {"lr": 2e-3, "epochs": 1, "per_device_batch_size": 4, "gradient_accumulation_steps": 1, "warmup_ratio": 0.0},
        "scaling": {"num_workers": 2, "cpus_per_worker": 0.5, "torch_threads": 1},
        "report_every_steps": 1, "checkpoint_every_steps": 100,
    }
    base.update(overrides)
    return TrainConfig.model_validate(base)


def final_checkpoint(config: TrainConfig) -> Path:
    folders = sorted(p for p in (Path(config.output_dir) / "checkpoints" / config.name).glob("checkpoint_*") if p.is_dir())
    finals = [f for f in folders if json.loads((f / TRAINER_STATE).read_text()).get("final")]
    assert finals, f"no final checkpoint among {folders}"
    return finals[-1]


def assert_adapter_is_the_trained_model(config: TrainConfig, summary) -> None:
    """The saved PEFT adapter equals the weights DeepSpeed's own checkpoint holds (ZeRO shards
    reassembled by zero_to_fp32), and lora_B moved away from its zero initialisation."""
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file

    from pipeline.runtime.models import load_model_and_tokenizer
    from train.export import load_adapter_model

    adapter = Path(summary.adapter_dir)
    weights = load_file(adapter / "adapter_model.safetensors")
    lora_b = [t for k, t in weights.items() if "lora_B" in k]
    assert lora_b and all(t.numel() > 0 for t in weights.values())
    assert sum(float(t.abs().sum()) for t in lora_b) > 0, "lora_B is still all zeros"
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == config.lora.r

    trained = get_fp32_state_dict_from_zero_checkpoint(str(final_checkpoint(config)), tag="ds", exclude_frozen_parameters=True)
    base, tokenizer = load_model_and_tokenizer(config.model)
    reference = get_peft_model(base, LoraConfig(r=config.lora.r, lora_alpha=config.lora.alpha, target_modules="all-linear", task_type="CAUSAL_LM"))
    missing, unexpected = reference.load_state_dict(trained, strict=False)
    assert not unexpected and not [k for k in missing if "lora_" in k]
    reference.eval()

    reloaded, _ = load_adapter_model(config.model, adapter)
    ids = tokenizer("Solve $x^2-5x+6=0$. The larger root is", return_tensors="pt").input_ids
    with torch.inference_mode():
        torch.testing.assert_close(reloaded(ids).logits, reference(ids).logits, atol=1e-4, rtol=1e-4)


def assert_loss_decreases(summary) -> None:
    losses = [m["loss"] for m in summary.metrics_history]
    assert [m["step"] for m in summary.metrics_history] == list(range(1, summary.steps + 1))
    assert all(loss == loss for loss in losses)  # no NaN
    assert sum(losses[-2:]) / 2 < 0.8 * losses[0], losses


def test_plan_steps_whole_windows_only(tmp_path):
    config = small_config(tmp_path, 2, optim={"epochs": 2, "per_device_batch_size": 2, "gradient_accumulation_steps": 2})
    plan = plan_steps(33, config)  # 16 rows per worker → 8 micro-batches → 4 steps per epoch
    assert (plan.micro_batches_per_epoch, plan.steps_per_epoch, plan.total_steps) == (8, 4, 8)
    with pytest.raises(ValueError, match="no optimizer step"):
        plan_steps(7, config)  # 3 rows per worker: 1 micro-batch, less than one window of 2
    capped = config.model_copy(update={"optim": config.optim.model_copy(update={"max_steps": 3})})
    assert plan_steps(33, capped).total_steps == 3


@pytest.fixture(scope="module")
def zero3_run(ray_local, tmp_path_factory):
    folder = tmp_path_factory.mktemp("zero3")
    config = small_config(folder, 3, export={"merge": True}, tracking={"mlflow_tracking_uri": f"file://{folder}/mlruns"})
    start = time.monotonic()
    summary = run_train(config, progress=False)
    return config, summary, time.monotonic() - start


def test_zero3_trains_and_summarises(zero3_run):
    config, summary, _ = zero3_run
    assert summary.steps == summary.total_steps == 4 and summary.resumed_from_step is None
    assert summary.examples == 32 and summary.dropped_examples == 1
    assert summary.rejected_by_reason == {"too_long": 1}
    rejects = pq.read_table(Path(config.output_dir) / "rejects.parquet").to_pylist()
    assert [(r["id"], r["reason"]) for r in rejects] == [("too-long", "too_long")]
    assert summary.tokens > summary.supervised_tokens > 0
    assert all(m["tokens_per_s"] > 0 and m["grad_norm"] > 0 and m["lr"] > 0 for m in summary.metrics_history[:-1])
    assert_loss_decreases(summary)
    assert json.loads((Path(config.output_dir) / "train_summary.json").read_text())["steps"] == 4


def _tensorboard_scalars(logdir: Path) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] from TFRecord event files (length, crc, Event proto, crc)."""
    import struct

    from tensorboardX.proto import event_pb2

    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        data, at = path.read_bytes(), 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at : at + 8])
            event = event_pb2.Event.FromString(data[at + 12 : at + 12 + length])
            at += 12 + length + 4
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_zero3_metrics_in_tensorboard_and_mlflow(zero3_run, monkeypatch):
    """The rank-0 worker writes the reported metrics to TensorBoard and MLflow: the same numbers as the summary."""
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # reading the test's folder store back

    config, summary, _ = zero3_run
    losses = [(m["step"], m["loss"]) for m in summary.metrics_history]
    scalars = _tensorboard_scalars(Path(config.output_dir) / "tensorboard")
    assert [(step, round(value, 4)) for step, value in scalars["train/loss"]] == [(s, round(v, 4)) for s, v in losses]
    assert {"train/lr", "train/grad_norm", "train/tokens_per_s"} <= set(scalars)

    client = MlflowClient(config.tracking.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name(config.tracking.mlflow_experiment)
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.params["lora_r"] == str(config.lora.r) and run.info.status == "FINISHED"
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, round(m.value, 4)) for m in history] == [(s, round(v, 4)) for s, v in losses]


def test_zero3_adapter_is_gathered_complete_and_reloads(zero3_run):
    config, summary, _ = zero3_run
    assert_adapter_is_the_trained_model(config, summary)


def test_zero3_merged_model_equals_base_plus_adapter(zero3_run):
    from transformers import AutoModelForCausalLM

    from train.export import load_adapter_model

    config, summary, _ = zero3_run
    merged = AutoModelForCausalLM.from_pretrained(summary.merged_dir)
    assert not any("lora" in name for name, _ in merged.named_parameters())
    with_adapter, tokenizer = load_adapter_model(config.model, summary.adapter_dir)
    ids = tokenizer("Compute the determinant of the matrix", return_tensors="pt").input_ids
    with torch.inference_mode():
        torch.testing.assert_close(merged(ids).logits, with_adapter(ids).logits, atol=1e-4, rtol=1e-4)


def test_finished_run_returns_at_once(zero3_run):
    config, summary, _ = zero3_run
    start = time.monotonic()
    again = run_train(config, progress=False)
    assert time.monotonic() - start < 1.0
    assert again.steps == summary.steps and again.adapter_dir == summary.adapter_dir
    assert finished_summary(config.model_copy(update={"output_dir": str(Path(config.output_dir) / "nothing")})) is None


# ---------------------------------------------------------------------- killed and resumed

KILLED_RUN = """
import json, sys
sys.path.insert(0, {root!r})
import ray
from train.config import TrainConfig
from train.sft import run_train
ray.init(address="local", num_cpus=2, include_dashboard=False, _temp_dir={ray_dir!r})
run_train(TrainConfig.model_validate(json.loads({config!r})), progress=False)
"""


def _checkpoint_steps(config: TrainConfig) -> list[int]:
    steps = []
    for state in (Path(config.output_dir) / "checkpoints" / config.name).glob("checkpoint_*/" + TRAINER_STATE):
        with contextlib.suppress(OSError, ValueError):  # being written
            steps.append(json.loads(state.read_text())["step"])
    return sorted(steps)


def _registered_step(config: TrainConfig) -> int:
    """The step of the latest checkpoint Ray Train has registered (what a new fit() restores).

    A checkpoint folder appears on disk before the controller records it in its snapshot;
    one killed in between is not restored, so the test waits for the record."""
    snapshot = Path(config.output_dir) / "checkpoints" / config.name / "checkpoint_manager_snapshot.json"
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        return int(json.loads(snapshot.read_text())["latest_checkpoint_result"]["metrics"]["step"])
    return 0


def _kill_ray_started_by(session: int, ray_dir: str) -> None:
    """End the killed run's own Ray processes (its session, or its temp dir), by pid."""
    mine = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if os.getsid(proc.pid) == session or ray_dir in " ".join(proc.info["cmdline"] or []):
                mine.append(proc)
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
    for proc in mine:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(mine, timeout=30)


def test_killed_zero2_run_resumes_from_its_checkpoint(ray_local, tmp_path):
    config = small_config(tmp_path, 2, checkpoint_every_steps=1, optim={
        "lr": 2e-3, "epochs": 2, "per_device_batch_size": 4, "gradient_accumulation_steps": 1, "warmup_ratio": 0.0})
    ray_dir = tempfile.mkdtemp(prefix="rk-", dir="/tmp")  # short: Ray's socket paths have a length limit
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    script = KILLED_RUN.format(root=str(ROOT), ray_dir=ray_dir, config=config.model_dump_json())
    log = open(tmp_path / "killed.log", "w")  # noqa: SIM115 (outlives this block: the child writes to it)
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 400
        while (registered := _registered_step(config)) < 2:
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
    on_disk = _checkpoint_steps(config)
    assert not (Path(config.output_dir) / "adapter").exists()
    assert max(on_disk) < 8, "the run finished before it was killed"

    summary = run_train(config, progress=False)
    assert summary.resumed_from_step is not None and 2 <= registered <= summary.resumed_from_step <= max(on_disk)
    assert summary.steps == 8
    assert_loss_decreases(summary)
    assert_adapter_is_the_trained_model(config, summary)


# ---------------------------------------------------------------------- reproducible


def test_same_data_and_seed_train_the_same_model(zero3_run, tmp_path):
    """The ZeRO-3 run again, on the same rows stored as differently named and ordered files (as
    two back-translation runs write them): the same loss at every step and the same adapter,
    because the training order is the seed's, not the storage's or the scheduler's."""
    from safetensors.torch import load_file

    config, first, _ = zero3_run
    rows = pq.read_table(Path(config.data) / "part-0.parquet").to_pylist()
    other = tmp_path / "data"
    other.mkdir()
    for name, part in zip(["part-a", "part-z", "part-m"], [rows[20:], rows[:7], rows[7:20]], strict=True):
        pq.write_table(pa.Table.from_pylist(part), other / f"{name}.parquet")
    again = config.model_copy(update={"data": str(other), "output_dir": str(tmp_path / "out"),
                                      "export": config.export.model_copy(update={"merge": False}),
                                      "tracking": config.tracking.model_copy(update={"mlflow_tracking_uri": None})})
    second = run_train(again, progress=False)
    assert second.steps == first.steps
    assert [m["loss"] for m in first.metrics_history] == [m["loss"] for m in second.metrics_history]
    a, b = (load_file(Path(s.adapter_dir) / "adapter_model.safetensors") for s in (first, second))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
