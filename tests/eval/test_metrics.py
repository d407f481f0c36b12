"""Metrics, prompts, subset selection, config checks and the report files (no Ray, no model)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eval.generate import SamplingConfig
from eval.metrics import (
    accuracy,
    benchmark_metrics,
    compare_models,
    flips,
    majority_correct,
    mcnemar_exact,
    paired_bootstrap,
    pass_at_k,
    pass_at_k_with_ci,
    wilson_interval,
)
from eval.report import comparisons_markdown, plot_png, results_table_markdown, write_report
from eval.run import EvalConfig, ModelSpec
from eval.run.job import fingerprint, plan_rows, select_subset
from pipeline.problems.benchmarks import BenchmarkItem, load_benchmark, parse_hub_ref
from pipeline.student_prompt import DEFAULT_TEMPLATES, PromptConfig, student_messages, template_for

# ---------------------------------------------------------------------------- proportions


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (1, 30, 0.0059, 0.1667), (15, 20, 0.5313, 0.8881)],
)
def test_wilson_interval_known_values(k, n, low, high):
    got = wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    a = accuracy([True, False, True, True])
    assert (a["k"], a["n"], a["accuracy"]) == (3, 4, 0.75)
    assert a["ci_low"] < 0.75 < a["ci_high"]


def test_pass_at_k():
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(5, 2))
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 3, 3) == 1.0
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)
    # n = 1 everywhere: pass@1 is the accuracy with its Wilson interval
    single = pass_at_k_with_ci([(1, 1), (1, 0), (1, 1), (1, 1)])
    assert single["value"] == 0.75 and (single["ci_low"], single["ci_high"]) == wilson_interval(3, 4)
    several = pass_at_k_with_ci([(4, 1), (4, 4), (4, 0)])
    assert several["value"] == pytest.approx((0.25 + 1 + 0) / 3)
    assert several["ci_low"] < several["value"] < several["ci_high"]
    # all problems alike still gives an interval, not a point
    zero = pass_at_k_with_ci([(4, 0)] * 5)
    assert zero["value"] == 0 and zero["ci_high"] > 0.3


def test_majority_vote_groups_equivalent_texts():
    assert majority_correct(["4", r"\boxed{5}", "5"], [False, True, True])
    assert not majority_correct(["4", "4", "5"], [False, False, True])
    assert not majority_correct(["4", "5"], [False, True])  # a tie goes to the first answer
    assert majority_correct(["5", "4"], [True, False])
    assert not majority_correct([None, None], [False, False])
    assert majority_correct([None, "1,080", "1080", "7"], [False, True, True, False])


# ---------------------------------------------------------------------------- paired tests


@pytest.mark.parametrize(("b", "c", "p"), [(0, 0, 1.0), (0, 5, 0.0625), (1, 9, 0.021484375), (3, 3, 1.0), (2, 0, 0.5)])
def test_mcnemar_exact(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p)
    assert mcnemar_exact(c, b) == pytest.approx(p)


def test_paired_bootstrap():
    same = paired_bootstrap([1, 0, 1, 0], [1, 0, 1, 0])
    assert same == {"diff": 0.0, "ci_low": 0.0, "ci_high": 0.0, "p_value": 1.0}
    better = paired_bootstrap([0.0] * 20, [1.0] * 20, resamples=500)
    assert better["diff"] == 1.0 and better["ci_low"] == 1.0 and better["p_value"] == 0.0
    mixed = paired_bootstrap([1, 0, 0, 1, 0, 1, 0, 0, 1, 0], [1, 1, 0, 1, 1, 1, 0, 1, 1, 0], resamples=1000, seed=3)
    assert mixed["diff"] == pytest.approx(0.3)
    assert mixed["ci_low"] <= 0.3 <= mixed["ci_high"] and 0 < mixed["p_value"] < 0.5
    assert mixed == paired_bootstrap([1, 0, 0, 1, 0, 1, 0, 0, 1, 0], [1, 1, 0, 1, 1, 1, 0, 1, 1, 0], resamples=1000, seed=3)
    with pytest.raises(ValueError):
        paired_bootstrap([1], [1, 0])


def test_flips():
    gained, lost = flips({"a": True, "b": False, "c": False, "d": True}, {"a": False, "b": True, "c": False, "e": True})
    assert gained == ["b"] and lost == ["a"]


def _rows(correct_by_problem: dict[str, list[bool]], **extra) -> list[dict]:
    rows = []
    for pid, outcomes in correct_by_problem.items():
        for sample, ok in enumerate(outcomes):
            rows.append({"problem_id": pid, "sample": sample, "correct": ok, "pred": "1" if ok else "2",
                         "completion_tokens": 100 if ok else 300, **extra.get(pid, {})})
    return rows


def test_benchmark_metrics():
    levels = {"p1": {"level": "1", "subject": "Algebra"}, "p2": {"level": "1", "subject": "Algebra"},
              "p3": {"level": "5", "subject": "Geometry"}, "p4": {"level": "5", "subject": "Geometry"}}
    rows = _rows({"p1": [True, True, False], "p2": [False, True, True], "p3": [True, False, False], "p4": [False, False, False]},
                 **levels)
    m = benchmark_metrics(list(reversed(rows)))  # order of rows does not matter
    assert (m["k"], m["n"], m["problems"], m["samples_per_problem"], m["generations"]) == (2, 4, 4, 3, 12)
    assert m["pass1"]["value"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 0) / 4)
    assert m["maj"]["k"] == 2  # p1 and p2 vote "1"
    assert m["mean_tokens_correct"] == 100 and m["mean_tokens_incorrect"] == 300
    assert m["mean_tokens"] == pytest.approx((5 * 100 + 7 * 300) / 12)
    assert m["by_level"]["1"]["k"] == 1 and m["by_level"]["1"]["n"] == 2
    assert m["by_level"]["5"]["pass1"] == pytest.approx(1 / 6)
    assert set(m["by_subject"]) == {"Algebra", "Geometry"}
    assert m["no_answer"] == 0
    single = benchmark_metrics(_rows({"a": [True], "b": [False]}))
    assert single["maj"] is None and single["by_level"] == {}


def test_compare_models_on_shared_problems():
    base = _rows({"a": [True], "b": [False], "c": [False], "d": [True], "x": [True]})
    student = _rows({"a": [True], "b": [True], "c": [True], "d": [False], "y": [False]})
    c = compare_models(base, student, resamples=500)
    assert c["paired_problems"] == 4
    assert (c["base_correct"], c["student_correct"]) == (2, 3)
    assert c["gained"] == ["b", "c"] and c["lost"] == ["d"]
    assert c["mcnemar_p"] == pytest.approx(mcnemar_exact(1, 2))
    assert c["bootstrap"]["diff"] == pytest.approx(0.25)


# ---------------------------------------------------------------------------- prompts and config


def test_prompt_templates():
    for name, template in DEFAULT_TEMPLATES.items():
        text = template.format(problem="What is 1+1?")
        assert "\\boxed{}" in text and text.endswith("What is 1+1?"), name
    config = PromptConfig(system="You are careful.", templates={"gsm8k": "Q: {problem}\nA (in \\boxed{{}}):"})
    messages = student_messages("2+2?", config, "gsm8k")
    assert messages == [{"role": "system", "content": "You are careful."}, {"role": "user", "content": "Q: 2+2?\nA (in \\boxed{}):"}]
    assert student_messages("x", PromptConfig(), "my_file")[0]["content"] == template_for("math500").format(problem="x")
    for bad in ("no field", "{problem} and {other}", "\\boxed{} {problem}"):
        with pytest.raises(ValueError):
            PromptConfig(templates={"gsm8k": bad})


def test_eval_config_checks():
    base = {"output_dir": "x", "models": [{"name": "base"}], "benchmarks": [{"name": "gsm8k"}]}
    assert EvalConfig.model_validate(base).baseline is None
    for broken in (
        {**base, "baseline": "nope"},
        {**base, "models": [{"name": "a"}, {"name": "a"}]},
        {**base, "models": [{"name": "../up"}]},
        {**base, "benchmarks": []},
        {**base, "sampling": {"n": 0}},
    ):
        with pytest.raises(ValueError):
            EvalConfig.model_validate(broken)


def test_subset_and_resume_plan():
    items = [BenchmarkItem(f"q{i}", f"problem {i}", str(i)) for i in range(50)]
    sample = select_subset(items, 10, seed=1)
    assert sample == select_subset(items, 10, seed=1) and sample != select_subset(items, 10, seed=2)
    assert [it.id for it in sample] == sorted((it.id for it in sample), key=lambda s: int(s[1:]))  # file order
    assert select_subset(items, 3, 0, "first") == items[:3]
    assert select_subset(items, 500, 0) == items

    config = EvalConfig.model_validate({"output_dir": "x", "models": [{"name": "m"}], "benchmarks": [{"name": "gsm8k"}],
                                        "sampling": {"n": 2}})
    spec = config.models[0]
    rows = plan_rows(spec, "gsm8k", items[:3], config, done={("q0", 0), ("q2", 1)})
    assert [(r["problem_id"], r["sample"]) for r in rows] == [("q0", 1), ("q1", 0), ("q1", 1), ("q2", 0)]
    assert json.loads(rows[0]["messages"])[-1]["content"].endswith("problem 0")
    fp = fingerprint(spec, config.sampling, "t {problem}", None)
    assert fp == fingerprint(spec, SamplingConfig(n=8), "t {problem}", None)  # n is not part of it
    assert fp != fingerprint(spec, SamplingConfig(temperature=0.7), "t {problem}", None)
    assert fp != fingerprint(ModelSpec(name="m", adapter="a"), config.sampling, "t {problem}", None)


def test_load_benchmark_from_local_file(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"id": "a", "problem": "1+1?", "answer": "2", "level": "Level 3"}\n{"question": "2+2?", "answer": 4}\n')
    items = load_benchmark(str(path), allow_hub=False)
    assert [(i.id, i.problem, i.answer) for i in items] == [("a", "1+1?", "2"), ("mine-1", "2+2?", "4")]
    assert items[0].meta == {"level": "Level 3"}
    with pytest.raises(FileNotFoundError, match="hub-only"):
        load_benchmark("aime25", allow_hub=False)  # the one registered set with no offline copy
    with pytest.raises(FileNotFoundError, match="hub"):
        load_benchmark("hf:openai/gsm8k:main@test", allow_hub=False)


def test_hub_reference_parsing():
    assert parse_hub_ref("hf:openai/gsm8k:main@test") == ("openai/gsm8k", "main", "test")
    assert parse_hub_ref("hf:HuggingFaceH4/MATH-500") == ("HuggingFaceH4/MATH-500", None, "test")
    assert parse_hub_ref("hf:math-ai/aime25@train") == ("math-ai/aime25", None, "train")
    with pytest.raises(ValueError):
        parse_hub_ref("hf:")


# ---------------------------------------------------------------------------- report


def _fake_results():
    a = benchmark_metrics(_rows({"p1": [True], "p2": [False], "p3": [True]}, p1={"level": "1"}, p2={"level": "2"}))
    b = benchmark_metrics(_rows({"p1": [True], "p2": [True], "p3": [False]}, p1={"level": "1"}, p2={"level": "2"}))
    comparison = compare_models(_rows({"p1": [True], "p2": [False], "p3": [True]}), _rows({"p1": [True], "p2": [True], "p3": [False]}))
    return {"base": {"gsm8k": a}, "student": {"gsm8k": b}}, {"student": {"gsm8k": comparison}}


def test_report_files(tmp_path):
    results, comparisons = _fake_results()
    table = results_table_markdown(results)
    assert "| gsm8k | base | 2/3 | 66.7 |" in table and "| gsm8k | student | 2/3 |" in table
    flipped = comparisons_markdown(comparisons, "base")
    assert "gained (1): p2" in flipped and "lost (1): p3" in flipped
    assert comparisons_markdown({}, None) == ""
    paths = write_report(str(tmp_path / "out"), results, comparisons, {"name": "t", "baseline": "base", "sampling": {"n": 1}})
    markdown = Path(paths["markdown"]).read_text()
    assert "## Against the baseline `base`" in markdown and "By difficulty level" in markdown
    payload = json.loads(Path(paths["json"]).read_text())
    assert payload["results"]["student"]["gsm8k"]["k"] == 2 and payload["comparisons"]["student"]["gsm8k"]["gained"] == ["p2"]
    png = Path(paths["plot"]).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    assert plot_png(results).startswith(b"\x89PNG")
