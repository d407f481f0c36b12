"""The run config: one schema, stage paths derived from the run folder, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cluster.config import ConfigError, load_config
from cluster.run import StageConfigChanged, fingerprint
from cluster.run_config import STAGES, RunConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ["demo.yaml", "paper.yaml", "scale.yaml"]


def minimal(**extra) -> dict:
    return {"name": "t", "eval": {"benchmarks": [{"name": "gsm8k", "limit": 5}]}, **extra}


def test_stage_paths_are_derived_from_the_run_folder():
    cfg = RunConfig.model_validate(minimal(output_dir="/data/runs/x"))
    assert cfg.generate.output_dir == "/data/runs/x/generate"
    assert cfg.backtranslate.traces_dir == "/data/runs/x/generate"
    assert cfg.backtranslate.output_dir == "/data/runs/x/backtranslate"
    assert cfg.train.data == "/data/runs/x/backtranslate/sft"
    assert cfg.train.output_dir == "/data/runs/x/train"
    assert cfg.eval.output_dir == "/data/runs/x/eval"
    assert cfg.stage_dir("train") == "/data/runs/x/train"


def test_run_folder_defaults_to_runs_name_and_accepts_uris():
    assert RunConfig.model_validate(minimal()).train.output_dir == "runs/t/train"
    cfg = RunConfig.model_validate(minimal(output_dir="s3://bucket/runs/t"))
    assert cfg.train.data == "s3://bucket/runs/t/backtranslate/sft"


def test_eval_compares_base_with_the_trained_adapter_by_default():
    cfg = RunConfig.model_validate(minimal(output_dir="/r", train={"model": "Qwen/Qwen2.5-Math-7B-Instruct"}))
    models = {m.name: m for m in cfg.eval.models}
    assert models["base"].model == models["student"].model == "Qwen/Qwen2.5-Math-7B-Instruct"
    assert models["base"].adapter is None
    assert models["student"].adapter == "/r/train/adapter"
    assert cfg.eval.baseline == "base"


def test_a_path_owned_by_a_stage_of_the_run_cannot_be_set_by_hand():
    with pytest.raises(ValueError, match=r"train\.data is set by the backtranslate stage"):
        RunConfig.model_validate(minimal(train={"data": "/elsewhere/sft"}))
    with pytest.raises(ValueError, match=r"generate\.output_dir is set by the run folder"):
        RunConfig.model_validate(minimal(generate={"output_dir": "/tmp/g"}))


def test_a_run_without_the_producing_stage_reads_the_given_path():
    cfg = RunConfig.model_validate(minimal(stages=["train", "eval"], train={"data": "/elsewhere/sft"}))
    assert cfg.train.data == "/elsewhere/sft"


def test_stages_must_follow_the_pipeline_order():
    with pytest.raises(ValueError, match="pipeline order"):
        RunConfig.model_validate(minimal(stages=["train", "generate"]))
    with pytest.raises(ValueError):
        RunConfig.model_validate(minimal(stages=["generate", "deploy"]))


def test_cli_overrides_reach_nested_fields(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(minimal()))
    cfg = load_config(path, RunConfig, ["train.lora.r=16", "generate.problems.count=7", "stages=[generate]"])
    assert cfg.train.lora.r == 16
    assert cfg.generate.problems.count == 7
    assert cfg.stages == ["generate"]


def test_invalid_values_are_reported_by_their_path(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(minimal()))
    with pytest.raises(ConfigError) as info:
        load_config(path, RunConfig, ["train.lora.r=-3", "generate.problems.count=zero"])
    message = str(info.value)
    assert "train.lora.r" in message
    assert "generate.problems.count" in message


def test_missing_name_is_a_clear_error(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"eval": {"benchmarks": [{"name": "gsm8k"}]}}))
    with pytest.raises(ConfigError, match="name"):
        load_config(path, RunConfig)


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_configs_validate(name):
    cfg = load_config(ROOT / "configs" / name, RunConfig)
    assert cfg.stages == list(STAGES)


def test_paper_config_is_the_papers_setup():
    cfg = load_config(ROOT / "configs" / "paper.yaml", RunConfig)
    assert cfg.train.model == "Qwen/Qwen2.5-Math-7B-Instruct"
    assert (cfg.train.lora.r, cfg.train.lora.alpha, cfg.train.optim.lr, cfg.train.optim.epochs) == (64, 16, 2e-4, 3)
    assert cfg.train.zero_stage == 2 and cfg.train.scaling.num_workers == 8 and cfg.train.scaling.use_gpu
    assert set(cfg.generate.clean.benchmarks) >= {"aime24", "aime25", "amc23", "math500", "gsm8k", "olympiadbench", "minerva_math"}


def test_fingerprint_follows_the_stage_config():
    a = RunConfig.model_validate(minimal())
    b = RunConfig.model_validate(minimal(train={"lora": {"r": 8}}))
    assert fingerprint(a.generate) == fingerprint(b.generate)
    assert fingerprint(a.train) != fingerprint(b.train)
    assert issubclass(StageConfigChanged, RuntimeError)


def test_cli_run_reports_config_errors_by_field(tmp_path):
    from typer.testing import CliRunner

    from cluster.cli import app

    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(minimal(output_dir=str(tmp_path / "r"))))
    result = CliRunner().invoke(app, ["run", str(path), "--set", "train.optim.lr=-1"])
    assert result.exit_code == 2
    assert "train.optim.lr" in result.output
    unknown = CliRunner().invoke(app, ["run", str(path), "--set", "stages=[generate]", "--stage", "train"])
    assert unknown.exit_code == 2 and "not stages of this run" in unknown.output
    assert not (tmp_path / "r").exists()  # nothing ran


def test_submit_refuses_a_config_outside_the_working_directory(tmp_path):
    from cluster.submit import config_path_in, entrypoint

    with pytest.raises(ValueError, match="outside the working directory"):
        config_path_in(ROOT, str(tmp_path / "x.yaml"))
    assert config_path_in(ROOT, str(ROOT / "configs" / "demo.yaml")) == "configs/demo.yaml"
    assert entrypoint("configs/demo.yaml", ["train.lora.r=8"], ["train"], []) == (
        "python -m cluster.cli run configs/demo.yaml --quiet --set train.lora.r=8 --stage train"
    )
