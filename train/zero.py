"""The DeepSpeed config for a TrainConfig: ZeRO stage, precision, batch sizes, clipping.

The optimizer and the lr schedule are *not* in this config: the recipe passes a
torch.optim.AdamW and a transformers cosine schedule to `deepspeed.initialize`. Naming
AdamW here would JIT-compile DeepSpeed's `fused_adam` (≈ 2 min on CPU) for no gain on an
adapter of a few million weights.
"""

from __future__ import annotations

from typing import Any

from train.config import TrainConfig


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def deepspeed_config(config: TrainConfig, world_size: int) -> dict[str, Any]:
    """A DeepSpeed config dict: bf16 on GPU, fp32 on CPU; ZeRO stage 2 or 3."""
    zero: dict[str, Any] = {
        "stage": config.zero_stage,
        "contiguous_gradients": True,
        "overlap_comm": False,  # overlap only pays with async collectives (NCCL streams)
        "reduce_scatter": True,
    }
    if config.zero_stage == 3:
        # Gathered weights are what export saves; the adapter is gathered explicitly
        # (GatheredParameters), so the 16-bit full-model gather on save is not needed.
        zero["stage3_gather_16bit_weights_on_model_save"] = False
    ds: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": config.optim.per_device_batch_size,
        "gradient_accumulation_steps": config.optim.gradient_accumulation_steps,
        "train_batch_size": config.optim.per_device_batch_size * config.optim.gradient_accumulation_steps * world_size,
        "gradient_clipping": config.optim.max_grad_norm,
        "zero_optimization": zero,
        "bf16": {"enabled": config.scaling.use_gpu},
        "fp16": {"enabled": False},
        "steps_per_print": 10**9,  # the recipe reports through ray.train.report
        "wall_clock_breakdown": False,
        "zero_allow_untested_optimizer": True,  # torch AdamW, which ZeRO handles like any optimizer
    }
    return _merge(ds, config.deepspeed_overrides)
