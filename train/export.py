"""Save the LoRA adapter (complete under ZeRO-3) and merge it into a full model folder.

Under ZeRO-3 each worker holds only a slice of every parameter, the adapter's included;
saving `model.state_dict()` there writes empty tensors. `adapter_state_dict` gathers the
trainable parameters first (a collective: every rank must call it), and `save_adapter`
writes them on rank 0 in the standard PEFT layout (`adapter_config.json` +
`adapter_model.safetensors`), which `PeftModel.from_pretrained` and vLLM's LoRA loader read.

`merge_adapter` folds the adapter into the base weights (W + B·A·alpha/r) and saves an
ordinary transformers folder (weights, config, tokenizer, generation config) that vLLM
serves without PEFT.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)


def adapter_state_dict(model: Any, zero_stage: int) -> dict[str, torch.Tensor]:
    """Full copies of the trainable (LoRA) parameters, keyed by their names in `model`.

    Collective under ZeRO-3: all ranks must call it. Tensors are fp32 CPU copies.
    """
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if zero_stage == 3:
        import deepspeed

        with deepspeed.zero.GatheredParameters([p for _, p in named], modifier_rank=None):
            return {n: p.detach().to("cpu", torch.float32).clone() for n, p in named}
    return {n: p.detach().to("cpu", torch.float32).clone() for n, p in named}


def _atomic_dir(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


def _publish(tmp: Path, target: Path) -> None:
    tmp.chmod(0o755)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)


def save_adapter(model: Any, state_dict: dict[str, torch.Tensor], directory: str | Path) -> Path:
    """Write the adapter of the PeftModel `model` with weights `state_dict` (from `adapter_state_dict`).

    Written to a temporary folder and renamed into place, so a reader never sees half an adapter.
    """
    target = Path(directory)
    empty = [n for n, t in state_dict.items() if t.numel() == 0]
    if empty or not state_dict:
        raise RuntimeError(f"refusing to save an incomplete adapter (empty tensors: {empty[:3]}); gather ZeRO-3 parameters first")
    tmp = _atomic_dir(target)
    try:
        model.save_pretrained(tmp, state_dict=state_dict, safe_serialization=True)
        _publish(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def load_adapter_model(base: str, adapter_dir: str | Path, dtype: torch.dtype = torch.float32) -> tuple[Any, Any]:
    """(PeftModel with the adapter, tokenizer), in eval mode; `base` and `adapter_dir` as for
    `pipeline.runtime.models.resolve_model` (a URI is fetched into this node's cache)."""
    from peft import PeftModel

    from pipeline.runtime.models import load_model_and_tokenizer, resolve_model

    model, tokenizer = load_model_and_tokenizer(base, dtype=dtype)
    model = PeftModel.from_pretrained(model, resolve_model(str(adapter_dir)))
    model.eval()
    return model, tokenizer


def merge_adapter(base: str, adapter_dir: str | Path, out_dir: str | Path, dtype: torch.dtype = torch.float32) -> Path:
    """Merge the adapter into the base model and save a plain transformers folder at the local `out_dir`.

    `base` and `adapter_dir` may be URIs (fetched into this node's cache); to store the merged
    folder in a bucket, upload it (`RunFolder.upload_dir`), as `train.sft` does.
    """
    model, tokenizer = load_adapter_model(base, adapter_dir, dtype=dtype)
    merged = model.merge_and_unload()
    target = Path(out_dir)
    tmp = _atomic_dir(target)
    try:
        merged.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        _publish(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("merged %s into %s", adapter_dir, target)
    return target
