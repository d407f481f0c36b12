"""Saving the adapter in PEFT format and merging it into a plain model folder (no Ray)."""

from __future__ import annotations

import json

import pytest
import torch

from pipeline.runtime.models import load_model_and_tokenizer
from train.export import adapter_state_dict, load_adapter_model, merge_adapter, save_adapter

PROMPT = "Factor the polynomial $x^2 - 1$."


@pytest.fixture(scope="module")
def adapted():
    """SmolLM2 with a LoRA adapter whose B matrices are random (not the zero init), so it changes outputs."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    base, tokenizer = load_model_and_tokenizer("smollm2")
    config = LoraConfig(r=4, lora_alpha=16, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM")
    model = get_peft_model(base, config)
    model.eval()
    return model, tokenizer


def test_adapter_round_trip(adapted, tmp_path):
    model, tokenizer = adapted
    weights = adapter_state_dict(model, zero_stage=2)
    assert weights and all("lora_" in name for name in weights)
    assert len(weights) == 2 * 7 * model.config.num_hidden_layers  # A and B of seven projections per layer
    folder = save_adapter(model, weights, tmp_path / "adapter")
    assert {p.name for p in folder.iterdir()} == {"adapter_config.json", "adapter_model.safetensors", "README.md"}
    config = json.loads((folder / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["peft_type"]) == (4, 16, "LORA")
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]  # no temporary folder left

    reloaded, _ = load_adapter_model("smollm2", folder)
    ids = tokenizer(PROMPT, return_tensors="pt").input_ids
    with torch.inference_mode():
        torch.testing.assert_close(reloaded(ids).logits, model(ids).logits, atol=1e-5, rtol=1e-5)
        base_logits = reloaded.get_base_model()
        with reloaded.disable_adapter():
            plain = base_logits(ids).logits
    assert (plain - model(ids).logits).abs().max() > 0.5  # the adapter does change the outputs


def test_refuses_an_incomplete_adapter(adapted, tmp_path):
    model, _ = adapted
    weights = adapter_state_dict(model, zero_stage=2)
    weights[next(iter(weights))] = torch.empty(0)  # what a ZeRO-3 shard looks like ungathered
    with pytest.raises(RuntimeError, match="incomplete adapter"):
        save_adapter(model, weights, tmp_path / "adapter")
    assert not (tmp_path / "adapter").exists()


def test_merged_model_equals_base_plus_adapter(adapted, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tokenizer = adapted
    adapter = save_adapter(model, adapter_state_dict(model, zero_stage=2), tmp_path / "adapter")
    merged_dir = merge_adapter("smollm2", adapter, tmp_path / "merged")
    assert (merged_dir / "model.safetensors").is_file() and (merged_dir / "tokenizer.json").is_file()
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    assert not any("lora" in name for name in merged.state_dict())
    assert AutoTokenizer.from_pretrained(merged_dir).eos_token == "<|im_end|>"
    ids = tokenizer(PROMPT, return_tensors="pt").input_ids
    with torch.inference_mode():
        # W + BA summed once in fp32 vs. applied per forward: rounding differs at ~1e-4 on logits of ~10.
        torch.testing.assert_close(merged(ids).logits, model(ids).logits, atol=2e-3, rtol=1e-3)
