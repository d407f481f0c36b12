"""Typed stage summaries (markers, report, CLI tables) and the fingerprints that guard finished stages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import Field, ValidationError
from rich.console import Console

from cluster.report import render_run_report
from cluster.run import (
    FINGERPRINT_VERSION,
    MARKER,
    NOT_FINGERPRINTED,
    SUMMARIES,
    StageConfigChanged,
    StaleMarker,
    fingerprint,
    run_pipeline,
    write_report,
)
from cluster.run_config import STAGES, RunConfig
from eval.run.summary import EvalSummary
from pipeline.backtranslate.summary import BacktranslateStats, BacktranslateSummary
from pipeline.generate.summary import GenerateStats, GenerateSummary
from pipeline.jobs.summary import StageSummary
from pipeline.teachers.config import SymbolicTeacherConfig
from train.config import TrainConfig
from train.summary import TrainSummary

# ---------------------------------------------------------------------------- examples, shaped as the jobs make them


def generate_stats() -> dict:
    """The dict `pipeline.generate.job.compute_stats` returns."""
    return {
        "input_rows": 40, "written_rows": 40, "accepted": 36, "kept_wrong_answer": 0, "rejected": 4,
        "rejected_by_reason": {"contaminated": 1, "wrong_answer": 3}, "rejected_by_stage": {"clean": 1, "generate": 3},
        "acceptance_rate_of_solved": 0.9231, "tool_calls_per_tool_accepted": {"solve_equation": 20, "factor_expression": 9},
        "accepted_prompt_tokens": 12000, "accepted_completion_tokens": 3400,
        "this_run": {"problems_solved": 39, "accepted": 36, "tokens": 15400, "tool_calls_per_tool": {"solve_equation": 20}},
        "wall_time_s": 12.34,
    }


def job_summary(summary: type, stats_type: type, stats: dict, output_dir: str, *counts: str):
    """A job's summary as the job builds it from its stats: `counts`, rejects by reason, wall time, the stats."""
    return summary(
        output_dir=output_dir, **{count: stats[count] for count in counts}, rejected_by_reason=stats["rejected_by_reason"],
        skipped_already_written=0, wall_time_s=stats["wall_time_s"], stats=stats_type(**stats),
    )


def generate_summary() -> GenerateSummary:
    return job_summary(GenerateSummary, GenerateStats, generate_stats(), "/runs/t/generate", "input_rows", "accepted")


def backtranslate_stats() -> dict:
    """The dict `pipeline.backtranslate.job.compute_stats` returns (per-tool counters only where counted)."""
    return {
        "name": "t-backtranslate", "filter_mode": "strict", "translator": "symbolic", "rephrase": "symbolic",
        "traces_in": 36, "examples_out": 34, "rejected": 2, "rejected_by_reason": {"translation_failed": 2},
        "yield_by_step": {"traces_in": 36, "after_filter_mode": 36, "after_translation": 34,
                          "after_rephrase_validation": 34, "examples_out": 34},
        "flags": {"one_step": 3},
        "tool_calls_translated": 29, "translation_acceptance_rate": 0.931,
        "translation_acceptance_per_tool": {
            "factor_expression": {"calls": 9, "accepted": 9, "symbolic": 9, "cached": 0, "acceptance_rate": 1.0},
            "solve_equation": {"calls": 20, "accepted": 18, "symbolic": 15, "cached": 2, "one_step": 3, "fallback": 2,
                               "acceptance_rate": 0.9},
        },
        "judge_rejections_by_reason": {"mismatch": 2}, "error_taxonomy": {"tool_misuse": 1, "calculation": 2},
        "this_run": {"traces": 36, "examples": 34, "translations": 29, "translations_from_cache": 2},
        "wall_time_s": 5.5,
    }


def backtranslate_summary() -> BacktranslateSummary:
    return job_summary(
        BacktranslateSummary, BacktranslateStats, backtranslate_stats(), "/runs/t/backtranslate", "traces_in", "examples_out"
    )


def metrics(step: int, loss: float) -> dict:
    return {"step": step, "epoch": step / 8, "loss": loss, "lr": 1e-4, "grad_norm": 0.2, "tokens_per_s": 60.0,
            "tokens": 1500 * step, "supervised_tokens": 1200 * step, "time_s": 25.0, "cpu_s": 29.0, "tokens_per_cpu_s": 52.0}


def train_summary() -> TrainSummary:
    return TrainSummary(
        output_dir="/runs/t/train", steps=2, tokens=3000, supervised_tokens=2400, wall_time_s=61.25,
        final_loss=1.25, first_loss=1.4375, adapter_dir="/runs/t/train/adapter", merged_dir=None, resumed_from_step=None,
        dropped_examples=1, metrics_history=[metrics(1, 1.4375), metrics(2, 1.25)], examples=33,
        rejected_by_reason={"too_long": 1}, total_steps=2, steps_per_epoch=8, checkpoint_dir="/runs/t/train/checkpoints/t-train",
    )


def benchmark_metrics(k: int, n: int) -> dict:
    """The dict `eval.metrics.benchmark_metrics` returns."""
    group = {"k": k, "n": n, "accuracy": k / n, "ci_low": 0.1, "ci_high": 0.9, "pass1": k / n, "mean_tokens": 20.0}
    return {
        "k": k, "n": n, "accuracy": k / n, "ci_low": 0.1, "ci_high": 0.9, "problems": n, "samples_per_problem": 1,
        "generations": n, "pass1": {"value": k / n, "ci_low": 0.1, "ci_high": 0.9, "problems": n, "k": 1}, "maj": None,
        "no_answer": 0, "mean_tokens": 22.5, "mean_tokens_correct": 20.0, "mean_tokens_incorrect": None,
        "by_level": {}, "by_subject": {"algebra": group},
    }


def eval_summary(folder: Path) -> EvalSummary:
    (folder / "report.md").write_text("# Evaluation: t-eval\n\nSampling: greedy.\n\n## Results\n\n| tiny | base |\n")
    comparison = {"paired_problems": 4, "base_correct": 1, "student_correct": 2, "gained": ["p2"], "lost": [],
                  "mcnemar_p": 1.0, "bootstrap": {"diff": 0.25, "ci_low": 0.0, "ci_high": 0.75, "p_value": 0.5}}
    return EvalSummary(
        output_dir=str(folder), report_md=str(folder / "report.md"), report_json=str(folder / "report.json"),
        plot_png=str(folder / "plot.png"),
        results={"base": {"held-out": benchmark_metrics(1, 4)}, "student": {"held-out": benchmark_metrics(2, 4)}},
        comparisons={"student": {"held-out": comparison}}, wall_time_s=9.0, generated_this_run=8,
        skipped_already_written=0, rejected={"no_reference_answer": 0},
    )


@pytest.fixture
def summaries(tmp_path) -> dict[str, StageSummary]:
    return {"generate": generate_summary(), "backtranslate": backtranslate_summary(), "train": train_summary(),
            "eval": eval_summary(tmp_path)}


# ---------------------------------------------------------------------------- the summaries


def test_each_summary_round_trips_through_json(summaries):
    for stage, summary in summaries.items():
        assert summary.stage == stage and SUMMARIES[stage] is type(summary)
        recorded = json.loads(json.dumps(summary.to_dict()))  # JSON-safe without a default=
        again = SUMMARIES[stage].from_dict(recorded)
        assert again == summary and again.to_dict() == summary.to_dict()


def test_summaries_read_like_the_dicts_they_replace(summaries):
    generate, back, train, evaluation = (summaries[s] for s in STAGES)
    assert generate["accepted"] == generate.accepted == 36 and generate.stats["kept_wrong_answer"] == 0
    assert back.stats["this_run"]["traces"] == 36 and back.stats["yield_by_step"]["examples_out"] == 34
    assert sum(c["calls"] for c in back.stats["translation_acceptance_per_tool"].values()) == 29
    assert back.stats.translation_acceptance_per_tool["factor_expression"].get("one_step", 0) == 0
    assert [m["step"] for m in train.metrics_history] == [1, 2] and train["adapter_dir"].endswith("adapter")
    assert evaluation.results["base"]["held-out"]["pass1"]["value"] == 0.25
    assert set(evaluation.results["base"]["held-out"]["by_subject"]) == {"algebra"}
    with pytest.raises(KeyError):
        generate["no_such_field"]
    assert generate.get("no_such_field", "-") == "-"


def test_a_counter_the_summary_does_not_name_is_refused():
    with pytest.raises(ValidationError, match="new_counter"):
        GenerateStats(**generate_stats(), new_counter=1)


def test_summaries_written_before_newer_optional_fields_still_read():
    old = train_summary().to_dict()
    for newer in ("output_dir", "examples", "rejected_by_reason", "total_steps", "steps_per_epoch", "checkpoint_dir"):
        del old[newer]
    summary = TrainSummary.from_dict(old)
    assert (summary.output_dir, summary.examples, summary.total_steps, summary.rejected_by_reason) == ("", 0, 0, {})
    assert summary.metrics_history[1].loss == 1.25


def test_the_run_report_has_every_section_filled_by_its_stage(summaries):
    report = render_run_report("t", "/runs/t", summaries)
    assert report.startswith("# Run `t`\n\nFolder: `/runs/t`\n\n## Yields\n\n| stage | rows | yield |\n|---|---|---|\n")
    for row in ("| generate: problems in | 40 |  |", "| generate: verified tool-integrated traces | 36 | 90.0% |",
                "| generate: rejected (contaminated) | 1 |  |", "| back-translate: SFT examples out | 34 | 94.4% |",
                "| back-translate: rejected (translation_failed) | 2 |  |"):
        assert row in report
    assert "### Translations verified per tool\n\n| tool | translations verified | rate |" in report
    assert "| solve_equation | 18/20 | 90.0% |" in report
    assert "## Training\n\n| | |\n|---|---|\n| optimizer steps | 2 |" in report.replace("|  |  |", "| | |")
    assert "| first → final loss | 1.438 → 1.25 |" in report and "| wall time | 61.25 s |" in report
    assert "merged model" not in report
    evaluation = report.split("## Evaluation\n\n", 1)[1]
    assert evaluation.startswith("Sampling: greedy.\n\n## Results") and "# Evaluation: t-eval" not in report
    assert evaluation.endswith("| tiny | base |\n\n![base vs student](plot.png)\n")
    assert report.index("## Yields") < report.index("### Translations") < report.index("## Training") < report.index("## Evaluation")


def test_the_run_report_says_what_has_not_run():
    report = render_run_report("t", "/runs/t", {})
    assert "(no data stage has finished)" in report
    assert "(training has not run)" in report and "(evaluation has not run)" in report
    only_generation = render_run_report("t", "/runs/t", {"generate": generate_summary()})
    assert "generate: problems in" in only_generation and "### Translations" not in only_generation


def test_the_dataset_card_comes_from_the_summary():
    from pipeline.backtranslate.config import BacktranslateConfig

    config = BacktranslateConfig(name="t-backtranslate", traces_dir="/runs/t/generate", output_dir="/runs/t/backtranslate")
    card = backtranslate_summary().card(config)
    assert card.startswith("# t-backtranslate: back-translated SFT data\n\nSource traces: `/runs/t/generate`.")
    assert "| after rephrase validation | 34 |" in card and "Rejected, by reason: translation_failed 2." in card
    assert "| solve_equation | 20 | 18 | 90.0% | 15 | 3 | 0 | 2 |" in card
    assert "| factor_expression | 9 | 9 | 100.0% | 9 | 0 | 0 | 0 |" in card
    assert card.endswith("| tool_misuse | 1 |\n| calculation | 2 |\n")


def test_the_cli_tables_come_from_the_summaries(summaries):
    from eval.run.config import EvalConfig
    from pipeline.backtranslate.config import BacktranslateConfig
    from pipeline.generate.config import GenerateConfig

    configs = {
        "generate": GenerateConfig(name="t-generate"),
        "backtranslate": BacktranslateConfig(name="t-backtranslate", traces_dir="a", output_dir="b"),
        "train": TrainConfig(name="t-train", data="a", output_dir="b"),
        "eval": EvalConfig(name="t-eval", output_dir="b", models=[{"name": "base"}, {"name": "student"}],
                           benchmarks=[{"name": "held-out"}], baseline="base"),
    }
    printed = {}
    for stage, summary in summaries.items():
        console = Console(record=True, width=200)
        console.print(summary.rich(configs[stage]))
        printed[stage] = console.export_text()
    assert "generation: t-generate -> /runs/t/generate" in printed["generate"]
    assert "acceptance rate (solved problems)" in printed["generate"] and "92.3%" in printed["generate"]
    assert "examples out" in printed["backtranslate"] and "translation acceptance per tool" in printed["backtranslate"]
    assert "29 (93.1%)" in printed["backtranslate"]
    assert "training: t-train (smollm2, LoRA r=64, ZeRO-2)" in printed["train"] and "1.4375 -> 1.2500" in printed["train"]
    assert "student vs base on held-out: +1 / -0 (McNemar p=1)" in printed["eval"]
    assert "report: " in printed["eval"] and "50.0%" in printed["eval"]


# ---------------------------------------------------------------------------- fingerprints


def minimal(**extra) -> dict:
    return {"name": "t", "eval": {"benchmarks": [{"name": "gsm8k", "limit": 5}]}, **extra}


def run_config(**extra) -> RunConfig:
    return RunConfig.model_validate(minimal(**extra))


def test_a_new_field_with_a_default_keeps_the_fingerprint():
    class TrainConfigWithMore(TrainConfig):
        warmup_shape: str = Field(default="linear", description="a field added after runs finished")
        extra_section: SymbolicTeacherConfig = Field(default_factory=SymbolicTeacherConfig, description="a section added later")

    config = run_config().train
    grown = TrainConfigWithMore.model_validate(config.model_dump())
    assert fingerprint(grown, "train") == fingerprint(config, "train")
    assert fingerprint(grown.model_copy(update={"warmup_shape": "cosine"}), "train") != fingerprint(config, "train")


def test_a_field_marked_off_the_fingerprint_is_left_out():
    class TrainConfigWithProgress(TrainConfig):
        log_colour: str = Field(default="blue", json_schema_extra={"fingerprint": False})

    config = TrainConfigWithProgress.model_validate(run_config().train.model_dump())
    assert fingerprint(config.model_copy(update={"log_colour": "red"}), "train") == fingerprint(config, "train")


@pytest.mark.parametrize(("changed", "stage"), [
    ({"train": {"lora": {"r": 8}}}, "train"),
    ({"train": {"optim": {"lr": 1e-3}}}, "train"),
    ({"train": {"scaling": {"num_workers": 4}}}, "train"),  # the effective batch
    ({"generate": {"problems": {"count": 50}}}, "generate"),
    ({"generate": {"teacher": {"kind": "openai", "options": {"model": "m"}}}}, "generate"),
    ({"backtranslate": {"filter": {"mode": "relaxed"}}}, "backtranslate"),
    ({"backtranslate": {"judge": {"teacher": {}}}}, "backtranslate"),  # an LLM judge, even with default options
    ({"eval": {"benchmarks": [{"name": "gsm8k", "limit": 6}]}}, "eval"),
    ({"output_dir": "/elsewhere"}, "generate"),  # where it writes
])
def test_a_computing_field_changes_the_fingerprint(changed, stage):
    base, other = run_config(), RunConfig.model_validate({**minimal(), **changed})
    assert fingerprint(getattr(base, stage)) != fingerprint(getattr(other, stage))


@pytest.mark.parametrize(("changed", "stage"), [
    ({"generate": {"resources": {"num_actors": 7, "batch_size": 3}}}, "generate"),
    ({"generate": {"sandbox": {"workers": 5}}}, "generate"),
    ({"backtranslate": {"resources": {"num_actors": 3, "concurrency_per_actor": 2}}}, "backtranslate"),
    ({"train": {"scaling": {"cpus_per_worker": 0.5, "torch_threads": 1}, "report_every_steps": 1}}, "train"),
    ({"generate": {"teacher": {"replicas": 3, "num_cpus_per_replica": 2}}}, "generate"),
    ({"train": {"checkpoint_every_steps": 7, "keep_checkpoints": 5}}, "train"),
    ({"train": {"lora": {"r": 64}}}, "train"),  # the default, written out
    ({"eval": {"benchmarks": [{"name": "gsm8k", "limit": 5}], "resources": {"batch_size": 2, "num_actors": 2}}}, "eval"),
    ({"train": {"name": "another-name"}}, "train"),
])
def test_sizing_pacing_naming_and_spelled_out_defaults_keep_the_fingerprint(changed, stage):
    base, other = run_config(), RunConfig.model_validate({**minimal(), **changed})
    assert fingerprint(getattr(base, stage)) == fingerprint(getattr(other, stage))


def test_every_excluded_path_names_a_field_of_its_stage_config():
    """A renamed config key must be renamed here too, or its old name would be fingerprinted."""
    import typing

    from pydantic import BaseModel

    def has(model: type[BaseModel], path: str) -> bool:
        head, _, rest = path.partition(".")
        if head not in model.model_fields:
            return False
        if not rest:
            return True
        annotation = model.model_fields[head].annotation
        classes = [annotation, *typing.get_args(annotation)]
        return any(isinstance(c, type) and issubclass(c, BaseModel) and has(c, rest) for c in classes)

    for stage, paths in NOT_FINGERPRINTED.items():
        model = type(run_config().stage_config(stage))
        assert [p for p in sorted(paths) if not has(model, p)] == [], stage


# ---------------------------------------------------------------------------- markers


@pytest.fixture
def no_ray(monkeypatch):
    """run_pipeline without Ray, with stage runners that record their calls."""
    import pipeline.runtime.ray_start

    calls: list[str] = []
    monkeypatch.setattr(pipeline.runtime.ray_start, "ensure_ray", lambda **_: None)

    def runner(stage: str):
        def run(config, progress=True):
            calls.append(stage)
            return {"generate": generate_summary, "backtranslate": backtranslate_summary, "train": train_summary}[stage]()
        return run

    monkeypatch.setattr("cluster.run._stage_runners", lambda: {s: runner(s) for s in STAGES})
    return calls


def write_marker(folder: Path, stage: str, payload: dict) -> None:
    (folder / stage).mkdir(parents=True, exist_ok=True)
    (folder / stage / MARKER).write_text(json.dumps(payload))


def test_a_marker_written_before_fingerprint_version_2_is_refused_with_the_ways_out(tmp_path, no_ray):
    import hashlib

    config = run_config(output_dir=str(tmp_path / "run"), stages=["generate", "backtranslate"])
    for stage, summary in (("generate", generate_summary()), ("backtranslate", backtranslate_summary())):
        # the old way: the whole config dump hashed, no fingerprint_version
        dump = json.dumps(config.stage_config(stage).model_dump(mode="json"), sort_keys=True)
        old = hashlib.sha256(dump.encode()).hexdigest()[:16]
        write_marker(tmp_path / "run", stage, {"stage": stage, "fingerprint": old, "finished_at": 0.0, "summary": summary.to_dict()})
    with pytest.raises(StaleMarker) as refused:
        run_pipeline(config, progress=False)
    message = str(refused.value)
    assert "stage 'generate' of run 't'" in message and "no fingerprint_version" in message
    assert "--force generate --force backtranslate" in message  # one rerun gets past both
    assert "new name or output_dir" in message
    assert isinstance(refused.value, StageConfigChanged)  # the CLI prints it and exits 2
    assert no_ray == []  # nothing ran

    # --force reruns them (each resuming from what it wrote) and records version-2 markers
    done = run_pipeline(config, force=["generate", "backtranslate"], progress=False)
    assert no_ray == ["generate", "backtranslate"] and not any(o.skipped for o in done.stages)
    marker = json.loads((tmp_path / "run" / "generate" / MARKER).read_text())
    assert marker["fingerprint_version"] == FINGERPRINT_VERSION == 2
    assert marker["fingerprint"] == fingerprint(config.generate)
    assert GenerateSummary.from_dict(marker["summary"]) == generate_summary()
    assert all(o.skipped for o in run_pipeline(config, progress=False).stages)


def test_finished_stages_are_skipped_with_their_typed_summaries_and_a_changed_one_refused(tmp_path, no_ray):
    config = run_config(output_dir=str(tmp_path / "run"), stages=["generate", "backtranslate", "train"])
    run_pipeline(config, progress=False)
    assert no_ray == ["generate", "backtranslate", "train"]
    again = run_pipeline(config, progress=False)
    assert no_ray == ["generate", "backtranslate", "train"] and all(o.skipped for o in again.stages)
    assert again.outcome("train").summary == train_summary() and again.outcome("train").summary["steps"] == 2
    assert "| optimizer steps | 2 |" in (tmp_path / "run" / "report.md").read_text()
    # more actors is not another config; another LoRA rank is
    resized = run_config(output_dir=str(tmp_path / "run"), stages=["generate", "backtranslate", "train"],
                         generate={"resources": {"num_actors": 4}})
    assert all(o.skipped for o in run_pipeline(resized, progress=False).stages)
    changed = run_config(output_dir=str(tmp_path / "run"), stages=["generate", "backtranslate", "train"],
                         train={"lora": {"r": 8}})
    with pytest.raises(StageConfigChanged, match="--force train") as refused:
        run_pipeline(changed, progress=False)
    assert not isinstance(refused.value, StaleMarker)


def test_the_report_reads_markers_of_any_version_and_leaves_out_unreadable_ones(tmp_path):
    config = run_config(output_dir=str(tmp_path / "run"))
    write_marker(tmp_path / "run", "generate", {"stage": "generate", "fingerprint": "x", "summary": generate_summary().to_dict()})
    write_marker(tmp_path / "run", "train", {"stage": "train", "fingerprint": "x", "summary": {"steps": "many"}})
    path, plot = write_report(config)
    report = Path(path).read_text()
    assert plot is None and "| generate: verified tool-integrated traces | 36 | 90.0% |" in report
    assert "(training has not run)" in report and "(evaluation has not run)" in report
