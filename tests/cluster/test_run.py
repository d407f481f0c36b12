"""`tooldistill run`: every stage for real into one run folder, then resume and refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cluster.config import load_config
from cluster.run import MARKER, StageConfigChanged, run_pipeline
from cluster.run_config import STAGES, RunConfig

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, ray_local):
    root = tmp_path_factory.mktemp("run") / "tiny"
    config = load_config(HERE / "tiny_run.yaml", RunConfig, [f"output_dir={root}"])
    summary = run_pipeline(config, progress=False)
    return config, summary, root


@pytest.mark.slow
def test_every_stage_runs_into_one_folder_and_the_report_covers_them(tiny_run):
    _, summary, root = tiny_run
    assert [o.stage for o in summary.stages] == list(STAGES)
    assert not any(o.skipped for o in summary.stages)
    for stage in STAGES:
        marker = json.loads((root / stage / MARKER).read_text())
        assert marker["stage"] == stage and marker["summary"]
    generate = summary.outcome("generate").summary
    back = summary.outcome("backtranslate").summary
    train = summary.outcome("train").summary
    assert generate["accepted"] > 0
    assert 0 < back["examples_out"] <= generate["accepted"]
    assert list((root / "backtranslate" / "sft").glob("*.parquet"))
    assert train["steps"] == 2 and Path(train["adapter_dir"], "adapter_config.json").exists()
    assert (root / "eval" / "report.json").exists()
    report = (root / "report.md").read_text()
    for heading in ("## Yields", "## Training", "## Evaluation"):
        assert heading in report
    assert f"| generate: verified tool-integrated traces | {generate['accepted']} |" in report
    assert "student" in report and "base" in report
    assert (root / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary.report_md == str(root / "report.md")
    # the case for the student comes first: headline under both gradings, families, loss curve, examples, prompt
    case = report.split("## Yields")[0]
    assert "## Does the student beat its base model?" in case
    assert "Held-out `held-out` (4 problems" in case and "strict: base" in case and "lenient: base" in case
    assert "### Per family: `held-out`" in case and "McNemar exact p" in case
    assert "![training loss](loss.png)" in case and (root / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert case.count("<table>") == 3 and "### The prompt" in case and "\\boxed{}" in case


@pytest.mark.slow
def test_a_rerun_skips_finished_stages_and_a_changed_stage_is_refused(tiny_run):
    config, _, root = tiny_run
    again = run_pipeline(config, progress=False)
    assert all(o.skipped for o in again.stages)
    assert again.outcome("train").summary["steps"] == 2
    changed = load_config(HERE / "tiny_run.yaml", RunConfig, [f"output_dir={root}", "train.lora.r=8"])
    with pytest.raises(StageConfigChanged, match="--force train"):
        run_pipeline(changed, progress=False)
    # The stages before it still match and are skipped, not rerun.
    only_data = run_pipeline(changed, stages=["generate", "backtranslate"], progress=False)
    assert [o.skipped for o in only_data.stages] == [True, True]


@pytest.mark.slow
def test_report_command_rewrites_the_report_without_running_anything(tiny_run):
    from typer.testing import CliRunner

    from cluster.cli import app

    *_, root = tiny_run
    (root / "report.md").unlink()
    markers = {stage: (root / stage / MARKER).stat().st_mtime for stage in STAGES}
    result = CliRunner().invoke(app, ["report", str(HERE / "tiny_run.yaml"), "--set", f"output_dir={root}"])
    assert result.exit_code == 0, result.output
    assert "## Training" in (root / "report.md").read_text()
    assert markers == {stage: (root / stage / MARKER).stat().st_mtime for stage in STAGES}
