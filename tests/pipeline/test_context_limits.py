"""Model context limits known offline, and configs held against them."""

from __future__ import annotations

import json

import pytest

from pipeline.runtime.context_limits import (
    ALIASES,
    KNOWN_LIMITS,
    MIN_PROMPT_TOKENS,
    ContextLengthError,
    ContextUse,
    check_uses,
    model_context_limit,
    positions_in_config,
    validate_uses,
)


def model_folder(tmp_path, **config) -> str:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", **config}))
    return str(folder)


def test_the_offline_smollm2_folder_states_its_8192_positions():
    from pipeline.runtime.models import smollm2_dir

    folder = smollm2_dir()
    limit = model_context_limit(str(folder))
    assert limit is not None and limit.positions == 8192
    assert limit.source == str(folder / "config.json")  # read from the folder, not the table
    assert model_context_limit("smollm2").positions == 8192  # the alias, from the table


def test_a_local_config_json_gives_the_limit(tmp_path):
    folder = model_folder(tmp_path, max_position_embeddings=2048)
    limit = model_context_limit(folder)
    assert (limit.positions, limit.source) == (2048, f"{folder}/config.json")
    assert model_context_limit(f"file://{folder}").positions == 2048


def test_a_local_folder_wins_over_the_table_for_the_same_name(tmp_path, monkeypatch):
    folder = tmp_path / "Qwen" / "Qwen2.5-Math-7B-Instruct"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"max_position_embeddings": 16384}))  # a user's extended copy
    monkeypatch.chdir(tmp_path)
    assert model_context_limit("Qwen/Qwen2.5-Math-7B-Instruct").positions == 16384


@pytest.mark.parametrize(("config", "positions"), [
    ({"max_position_embeddings": 4096}, 4096),
    ({"max_position_embeddings": 4096, "seq_length": 2048}, 2048),  # the smallest key, as vLLM takes it
    ({"n_positions": 1024}, 1024),
    ({"max_position_embeddings": 4096, "rope_scaling": {"rope_type": "linear", "factor": 2.0}}, 8192),
    ({"max_position_embeddings": 32768,
      "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}}, 131072),
    ({"max_position_embeddings": 131072, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, 131072),
    ({"max_position_embeddings": 8192, "rope_parameters": {"rope_type": "default", "rope_theta": 1e5}}, 8192),
    ({"text_config": {"max_position_embeddings": 4096}}, 4096),
    ({"hidden_size": 64}, None),
])
def test_positions_follow_the_keys_vllm_reads(config, positions):
    assert positions_in_config(config) == positions


def test_the_shipped_configs_models_are_known_offline():
    for model, positions in {
        "Qwen/Qwen2.5-Math-7B-Instruct": 4096, "Qwen/Qwen2.5-7B-Instruct": 32768,
        "Qwen/Qwen2.5-72B-Instruct": 32768, "HuggingFaceTB/SmolLM2-135M-Instruct": 8192,
    }.items():
        assert KNOWN_LIMITS[model] == positions
        assert model_context_limit(model).positions == positions
    assert model_context_limit("no-such-org/no-such-model") is None
    assert model_context_limit("s3://bucket/runs/x/train/merged") is None


def test_the_aliases_are_the_ones_models_resolves():
    from pipeline.runtime.models import SMOLLM2_ALIASES

    assert set(ALIASES) | {"HuggingFaceTB/SmolLM2-135M-Instruct"} == set(SMOLLM2_ALIASES)


def test_a_context_above_the_limit_names_key_value_and_limit():
    use = ContextUse("Qwen/Qwen2.5-Math-7B-Instruct", "eval.models[0].backend.max_model_len", 8192,
                     "eval.sampling.max_new_tokens", 3072)
    with pytest.raises(ContextLengthError) as caught:
        validate_uses([use])
    message = str(caught.value)
    assert "eval.models[0].backend.max_model_len = 8192" in message
    assert "4096 positions of Qwen/Qwen2.5-Math-7B-Instruct" in message and "at most 4096" in message


def test_the_answer_budget_must_leave_room_for_a_prompt():
    ok = ContextUse("Qwen/Qwen2.5-Math-7B-Instruct", "m.max_model_len", 4096, "s.max_new_tokens", 4096 - MIN_PROMPT_TOKENS)
    assert check_uses([ok]) == ([], [])
    full = ContextUse("Qwen/Qwen2.5-Math-7B-Instruct", "m.max_model_len", 4096, "s.max_new_tokens", 4096)
    errors, _ = check_uses([full])
    assert len(errors) == 1 and "s.max_new_tokens = 4096" in errors[0] and f"at most {4096 - MIN_PROMPT_TOKENS}" in errors[0]
    # an unset max_model_len is the model's own maximum
    unset = ContextUse("Qwen/Qwen2.5-Math-7B-Instruct", "m.max_model_len", None, "s.max_new_tokens", 4000)
    errors, _ = check_uses([unset])
    assert len(errors) == 1 and "m.max_model_len unset: the model's 4096 positions" in errors[0]


def test_an_unknown_model_warns_and_its_budget_is_still_checked():
    use = ContextUse("no-such-org/no-such-model", "m.max_model_len", 8192, "s.max_new_tokens", 1024)
    errors, warnings = check_uses([use])
    assert errors == [] and len(warnings) == 1 and "no-such-org/no-such-model" in warnings[0]
    assert validate_uses([use]) == warnings
    tight = ContextUse("no-such-org/no-such-model", "m.max_model_len", 1024, "s.max_new_tokens", 1024)
    assert len(check_uses([tight])[0]) == 1  # the config's own numbers cannot fit, whatever the model


def test_an_engine_that_rewrites_the_model_config_is_not_held_to_it():
    use = ContextUse("Qwen/Qwen2.5-Math-7B-Instruct", "m.max_model_len", 16384, "s.max_new_tokens", 8192,
                     overrides_positions=True)
    errors, warnings = check_uses([use])
    assert errors == [] and "overrides" in warnings[0]
