"""Models and adapters from object storage: fetched once per node into the cache, never half.

Against a real S3 protocol server (moto, `tests/s3_server.py`): the SmolLM2 tokenizer
files stand in for a model folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from pipeline.runtime import models
from pipeline.runtime.models import (
    REMOTE_MARKER,
    fetch_remote,
    remote_cache_dir,
    resolve_model,
    smollm2_dir,
)
from pipeline.runtime.storage import RunFolder

ROOT = Path(__file__).resolve().parents[2]
FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json")


def digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != REMOTE_MARKER}


@pytest.fixture(scope="module")
def tokenizer_folder(tmp_path_factory) -> Path:
    """A small model-like folder (SmolLM2's tokenizer and configs, ≈ 3.5 MB), one file nested."""
    source = smollm2_dir()
    folder = tmp_path_factory.mktemp("tok") / "model"
    (folder / "extra").mkdir(parents=True)
    for name in FILES:
        if (source / name).is_file():
            (folder / name).write_bytes((source / name).read_bytes())
    (folder / "extra" / "notes.txt").write_text("nested files come along")
    return folder


@pytest.fixture
def uploaded(s3_uri, tokenizer_folder) -> str:
    uri = f"{s3_uri}/model"
    RunFolder(s3_uri).upload_dir(tokenizer_folder, "model")
    return uri


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TOOLDISTILL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_local_paths_hub_ids_and_file_uris_pass_through(tmp_path, cache):
    assert resolve_model(str(tmp_path)) == str(tmp_path)
    assert resolve_model("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"
    assert resolve_model(f"file://{tmp_path}") == str(tmp_path)
    assert not cache.exists()  # nothing fetched, nothing cached


def test_a_uri_is_fetched_once_into_the_cache(uploaded, tokenizer_folder, cache, caplog):
    from transformers import AutoTokenizer

    with caplog.at_level(logging.INFO, logger=models.__name__):
        first = resolve_model(uploaded)
        second = resolve_model(uploaded + "/")  # the same folder
    assert first == second == str(remote_cache_dir(uploaded))
    assert Path(first).is_relative_to(cache / "remote")
    assert digests(Path(first)) == digests(tokenizer_folder)
    assert sum("downloading" in r.message for r in caplog.records) == 1
    assert AutoTokenizer.from_pretrained(first).apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)


def test_a_single_file_uri_resolves_to_the_file(uploaded, cache):
    path = Path(resolve_model(f"{uploaded}/config.json"))
    assert path.name == "config.json" and json.loads(path.read_text())["model_type"]


def test_four_threads_share_one_download(uploaded, tokenizer_folder, cache, caplog):
    barrier, paths, errors = threading.Barrier(4), [], []

    def fetch() -> None:
        barrier.wait()
        try:
            paths.append(resolve_model(uploaded))
        except Exception as exc:  # reported below
            errors.append(exc)

    with caplog.at_level(logging.INFO, logger=models.__name__):
        threads = [threading.Thread(target=fetch) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors and len(set(paths)) == 1 and len(paths) == 4
    assert sum("downloading" in r.message for r in caplog.records) == 1
    assert digests(Path(paths[0])) == digests(tokenizer_folder)


FETCH = """
import json, logging, os, sys, time
sys.path.insert(0, {root!r})
logging.basicConfig(level=logging.INFO, format="%(message)s")
from pipeline.runtime.models import resolve_model
open({ready!r} + str(os.getpid()), "w").close()
while not os.path.exists({go!r}):
    time.sleep(0.01)
print(json.dumps({{"path": resolve_model({uri!r}), "pid": os.getpid()}}))
"""


def test_four_processes_share_one_download(uploaded, tokenizer_folder, cache, tmp_path):
    """Four processes (as four actors on one node) ask at the same instant: one downloads
    under the lock, the others wait and get the same complete folder."""
    ready, go = tmp_path / "ready-", tmp_path / "go"
    script = FETCH.format(root=str(ROOT), ready=str(ready), go=str(go), uri=uploaded)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("ready-*"))) < 4:  # all imported, none started
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [p.communicate() for p in procs if p.poll() is not None]
            time.sleep(0.05)
        go.touch()
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert len({r["path"] for r in results}) == 1
    assert sum(err.count("downloading") for _, err in outs) == 1
    folder = Path(results[0]["path"])
    marker = json.loads((folder / REMOTE_MARKER).read_text())
    assert marker["pid"] in {r["pid"] for r in results}
    assert digests(folder) == digests(tokenizer_folder)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".") and p.is_dir()]  # no temporary copies left


def test_a_half_copy_is_never_used_and_a_failed_download_leaves_nothing(uploaded, tokenizer_folder, cache, monkeypatch):
    target = remote_cache_dir(uploaded)
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")  # what a crash mid-copy (or a hand) left: no marker
    assert digests(Path(resolve_model(uploaded))) == digests(tokenizer_folder)

    other = f"{uploaded}-broken"
    RunFolder(uploaded.rsplit("/", 1)[0]).upload_dir(tokenizer_folder, "model-broken")
    real_copy = pafs.copy_files

    def copy_then_fail(source, destination, **kw):
        real_copy(source, destination, **kw)
        raise OSError("connection reset")

    monkeypatch.setattr(pafs, "copy_files", copy_then_fail)
    with pytest.raises(OSError, match="connection reset"):
        fetch_remote(other)
    assert not remote_cache_dir(other).exists()
    assert not [p for p in remote_cache_dir(other).parent.iterdir() if p.name.startswith(".") and p.is_dir()]


def test_a_rewritten_folder_is_fetched_again_and_an_unreachable_store_uses_the_copy(uploaded, tokenizer_folder, cache, monkeypatch, tmp_path):
    first = Path(resolve_model(uploaded))
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "config.json").write_text('{"model_type": "llama", "retrained": true}')
    RunFolder(uploaded.rsplit("/", 1)[0]).upload_dir(changed, "model")  # same URI, new contents
    again = Path(resolve_model(uploaded))
    assert again == first and digests(again) == digests(changed)

    def unreachable(uri):
        raise OSError("could not connect to the endpoint")

    monkeypatch.setattr(models.storage, "resolve", unreachable)
    assert Path(resolve_model(uploaded)) == first  # the finished copy serves while the store is down
    with pytest.raises(OSError, match="could not connect"):
        resolve_model(f"{uploaded}-never-fetched")


def test_a_missing_uri_says_so(s3_uri, cache):
    with pytest.raises(FileNotFoundError, match="holds no files"):
        resolve_model(f"{s3_uri}/nothing-here")
    assert not (cache / "remote").exists() or not any((cache / "remote").iterdir())


@pytest.mark.slow
def test_evaluation_loads_an_adapter_from_its_uri(s3_uri, tmp_path, cache):
    """eval's HF generator is handed `s3://.../train/adapter` (as a run on a bucket names it)
    and generates with base + adapter, the adapter fetched into the cache."""
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file

    from eval.generate import HFGenerator

    base, _ = models.load_model_and_tokenizer("smollm2")
    torch.manual_seed(0)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(tmp_path / "adapter")
    adapter_uri = RunFolder(s3_uri).upload_dir(tmp_path / "adapter", "train", "adapter")

    generator = HFGenerator("smollm2", adapter_uri, merge_adapter=False, batch_size=1, num_threads=1)
    generator.load()
    loaded = sum(float(p.abs().sum()) for n, p in generator.teacher.model.named_parameters() if "lora_" in n)
    saved = sum(float(t.abs().sum()) for t in load_file(tmp_path / "adapter" / "adapter_model.safetensors").values())
    assert loaded == pytest.approx(saved) and loaded > 0
    assert (remote_cache_dir(adapter_uri) / "adapter_model.safetensors").is_file()
