"""One prompt contract: the SFT user turn and the evaluation prompt come from `student_messages`."""

from __future__ import annotations

import json

import pytest

from cluster.config import ConfigError, load_config
from cluster.run_config import RunConfig
from eval.run.config import EvalConfig, ModelSpec
from eval.run.job import load_items, plan_rows
from pipeline.backtranslate.stages import sft_row
from pipeline.records import Trace
from pipeline.student_prompt import COT_BOXED, PromptConfig, student_messages


def _trace(problem: str) -> Trace:
    return Trace(id="t-1", problem=problem, answer="6", source="synthetic", meta={}, teacher="symbolic", plan="",
                 messages=[], tool_calls=[], final_answer="6", correct=True, num_turns=1)


@pytest.mark.parametrize("prompt", [PromptConfig(), PromptConfig(system="Be careful.", default_template="Q: {problem}\nA:")])
def test_sft_rows_and_eval_prompts_ask_the_same_question(prompt):
    evaluation = EvalConfig(
        output_dir="unused", models=[ModelSpec(name="base")], prompt=prompt,
        benchmarks=[{"name": "synthetic-heldout", "synthetic": {"count": 3, "seed": 10000}}],
    )
    items = load_items(evaluation.benchmarks[0])
    asked = [json.loads(r["messages"]) for r in plan_rows(evaluation.models[0], "synthetic-heldout", items, evaluation, set())]
    trained = [sft_row(_trace(item.problem), "So $\\boxed{6}$.", [], [], prompt, "symbolic")["messages"] for item in items]
    assert [m[:-1] for m in trained] == asked  # everything before the answer is the evaluation prompt
    assert all(m[-1] == {"role": "assistant", "content": "So $\\boxed{6}$."} for m in trained)
    assert asked[0] == student_messages(items[0].problem, prompt)


def test_the_default_contract_is_the_boxed_chain_of_thought():
    messages = student_messages("What is $2+3$?")
    assert messages == [{"role": "user", "content": COT_BOXED.format(problem="What is $2+3$?")}]
    assert "\\boxed{}" in messages[0]["content"]


def _run(tmp_path, extra: dict) -> RunConfig:
    import yaml

    config = {
        "name": "contract", "output_dir": str(tmp_path / "run"),
        "generate": {"problems": {"kind": "synthetic", "count": 4}},
        "backtranslate": {"prompt": {"system": "Be careful."}},
        "train": {}, "eval": {"benchmarks": [{"name": "gsm8k", "limit": 2}]},
    }
    for section, values in extra.items():
        config[section] = {**config[section], **values}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return load_config(path, RunConfig)


def test_a_run_evaluates_with_the_prompt_it_trains_on(tmp_path):
    assert _run(tmp_path, {}).eval.prompt == PromptConfig(system="Be careful.")
    assert _run(tmp_path, {"eval": {"prompt": {"system": "Be careful."}}}).eval.prompt.system == "Be careful."
    with pytest.raises(ConfigError, match=r"eval\.prompt differs from backtranslate\.prompt"):
        _run(tmp_path, {"eval": {"prompt": {"system": "Something else."}}})
