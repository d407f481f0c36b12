"""`tooldistill run CONFIG --dry-run`: the resolved plan, and context lengths checked before Ray starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cluster.cli import app
from cluster.config import load_config
from cluster.context_check import check_run_context
from cluster.plan import build_plan
from cluster.run_config import STAGES, RunConfig
from pipeline.runtime.context_limits import ContextLengthError

ROOT = Path(__file__).resolve().parents[2]
PAPER = ROOT / "configs" / "paper.yaml"


def paper_with(tmp_path: Path, change) -> Path:
    """configs/paper.yaml with one change, written to tmp_path (its run folder there too)."""
    data = yaml.safe_load(PAPER.read_text())
    data["output_dir"] = str(tmp_path / "run")
    change(data)
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def long_eval_context(data: dict) -> None:
    data["eval"]["models"][0]["backend"]["max_model_len"] = 8192


def test_the_paper_dry_run_prints_the_plan_without_starting_ray():
    # In a fresh process, so that no other test's Ray instance can hide one started here.
    script = (
        "import json, ray\n"
        "from typer.testing import CliRunner\n"
        "from cluster.cli import app\n"
        f"result = CliRunner().invoke(app, ['run', {str(PAPER)!r}, '--dry-run'], terminal_width=200)\n"
        "print(json.dumps({'code': result.exit_code, 'ray': ray.is_initialized(), 'output': result.output}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    output = outcome["output"]
    assert outcome["code"] == 0, output
    assert outcome["ray"] is False
    positions = [output.index(f"{n}. {stage} -> runs/paper/{stage}") for n, stage in enumerate(STAGES, 1)]
    assert positions == sorted(positions)  # every stage, in pipeline order, with its folder
    assert "Qwen/Qwen2.5-Math-7B-Instruct" in output and "gpt-4.1-mini" in output
    assert "Ray Train workers" in output and "GPUs: 8" in output  # 8 training workers x 1 GPU
    assert "27 tools offered" in output
    for name in ("math_train", "gsm8k_train", "aime22_24", "amc22_23", "aime25", "math500"):
        assert name in output


def test_the_plan_as_json_counts_rows_and_gpus():
    result = CliRunner().invoke(app, ["run", str(PAPER), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert [s["stage"] for s in plan["stages"]] == list(STAGES)
    stages = {s["stage"]: s for s in plan["stages"]}
    assert stages["train"]["gpus"] == 8 and stages["eval"]["gpus"] == 2  # eval: one model's 2 actors x 1 GPU at a time
    assert [(a["count"], a["gpus_each"]) for a in stages["eval"]["actors"]] == [(2, 1.0), (2, 1.0)]
    rows = {d["name"]: (d["rows"], d["source"]) for d in stages["eval"]["datasets"]}
    assert rows["math500"] == (500, "offline") and rows["gsm8k"] == (1319, "offline")
    assert rows["aime25"] == (None, "hub")  # no offline copy: allowed by allow_hub, not counted
    # the paper's sets: counted once registered, else shown as unknown
    assert rows["aime22_24"] in {(90, "offline"), (None, "unknown")}
    assert rows["amc22_23"] in {(82, "offline"), (None, "unknown")}
    problems = {d["name"]: d["rows"] for d in stages["generate"]["datasets"] if d["role"] == "problems"}
    assert problems == {"math_train": 7500, "gsm8k_train": 7473}
    assert plan["output_dir"] == "runs/paper"


def test_the_demo_dry_run_succeeds():
    result = CliRunner().invoke(app, ["run", str(ROOT / "configs" / "demo.yaml"), "--dry-run"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "240" in result.output and "synthetic" in result.output  # the synthetic problems, counted
    assert "smollm2" in result.output and "GPUs: 0" in result.output


def test_the_shipped_configs_fit_their_models():
    for name in ("paper.yaml", "scale.yaml", "demo.yaml"):
        config = load_config(ROOT / "configs" / name, RunConfig)
        assert check_run_context(config) == [], name  # every model's limit is known offline, and fits
        assert [s.stage for s in build_plan(config).stages] == config.stages


def test_a_context_above_the_model_fails_the_dry_run_clearly(tmp_path):
    path = paper_with(tmp_path, long_eval_context)
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    assert result.exit_code == 2
    assert "eval.models[0].backend.max_model_len = 8192 exceeds the 4096 positions of Qwen/Qwen2.5-Math-7B-Instruct" in result.output
    assert "set it to at most 4096" in result.output
    assert "eval.models[1]" not in result.output  # only the key that is wrong


def test_a_real_run_refuses_it_before_ray_starts(tmp_path):
    import ray

    started_before = ray.is_initialized()
    path = paper_with(tmp_path, long_eval_context)
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2 and "max_model_len = 8192" in result.output
    assert not (tmp_path / "run").exists()  # nothing was written
    assert ray.is_initialized() == started_before


def test_training_longer_than_the_student_is_refused(tmp_path):
    path = paper_with(tmp_path, lambda d: d["train"].update(max_seq_len=8192))
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    assert result.exit_code == 2 and "train.max_seq_len = 8192 exceeds the 4096 positions" in result.output
    # a stage left out of the run is not checked
    ok = CliRunner().invoke(app, ["run", str(path), "--dry-run", "--stage", "eval"])
    assert ok.exit_code == 0, ok.output


def test_submit_refuses_it_before_contacting_the_cluster(tmp_path):
    from cluster.submit import submit_run

    path = paper_with(tmp_path, long_eval_context)
    with pytest.raises(ContextLengthError, match=r"max_model_len = 8192"):
        submit_run(str(path), "http://127.0.0.1:9", working_dir=tmp_path, follow=False)


def test_a_vllm_teacher_is_checked_with_its_reply_budget(tmp_path):
    def vllm_teacher(data: dict) -> None:
        data["generate"]["teacher"] = {
            "kind": "vllm", "replicas": 2, "num_gpus_per_replica": 4,
            "options": {"model": "Qwen/Qwen2.5-72B-Instruct", "tensor_parallel_size": 4, "max_model_len": 65536},
        }

    path = paper_with(tmp_path, vllm_teacher)
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    assert result.exit_code == 2 and "generate.teacher.options.max_model_len = 65536 exceeds the 32768" in result.output
    fixed = CliRunner().invoke(app, ["run", str(path), "--dry-run", "--json", "--set", "generate.teacher.options.max_model_len=16384"])
    assert fixed.exit_code == 0, fixed.output
    generate = json.loads(fixed.output)["stages"][0]
    assert generate["gpus"] == 8  # 2 replicas x 4 GPUs
    tight = CliRunner().invoke(app, ["run", str(path), "--dry-run", "--set", "generate.teacher.options.max_model_len=2048",
                                     "--set", "generate.solver.sampling.max_tokens=2048"])
    assert tight.exit_code == 2 and "generate.solver.sampling.max_tokens = 2048 leaves no room for the prompt" in tight.output


def test_an_unknown_hub_model_is_a_warning_not_a_failure(tmp_path):
    def unknown_model(data: dict) -> None:
        for model in data["eval"]["models"]:
            model["model"] = "some-lab/some-unlisted-model"

    path = paper_with(tmp_path, unknown_model)
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run", "--stage", "eval", "--json"])
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.output)["warnings"]
    assert len(warnings) == 2 and all("some-lab/some-unlisted-model" in w and "not known offline" in w for w in warnings)


def test_the_paper_config_follows_the_paper():
    config = load_config(PAPER, RunConfig)
    from toolkit.registry import select_tools

    tools = config.generate.solver.tool_names
    assert len(tools) == len(set(tools)) == 27 and len(select_tools(None, tools)) == 27  # all exist here
    assert config.generate.solver.tool_categories is None
    assert config.backtranslate.keep_fallback is True
    assert [b.name for b in config.eval.benchmarks][:2] == ["aime22_24", "amc22_23"]
    assert {"aime22_24", "amc22_23"} <= set(config.generate.clean.benchmarks)  # decontaminated against them too
    assert (config.eval.sampling.n, config.eval.sampling.temperature) == (1, 0.0)
    assert config.eval.sampling.max_new_tokens == 3072 and config.train.max_seq_len <= 4096
