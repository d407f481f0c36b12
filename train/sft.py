"""LoRA SFT on Ray Train with DeepSpeed ZeRO: the recipe.

    driver (run_train)                          each worker (train_loop_per_worker)
    ─────────────────                           ───────────────────────────────────
    read messages (Ray Data)                    1. threads, seed, deepspeed.init_distributed
    tokenise → rejects.parquet                  2. load the student, wrap it with PEFT LoRA
    seeded order → (pack) → materialise, count  3. AdamW + cosine schedule → deepspeed.initialize
    plan the steps                              4. resume: engine + trainer_state from the
    TorchTrainer.fit ──────────────────────▶       latest Ray Train checkpoint
                                                5. loop: micro-batches from the dataset shard,
                                                   backward/step, report every N steps,
                                                   checkpoint every N steps and each epoch end
    adapter/ ← final checkpoint   ◀──────────── 6. gather + save the adapter (PEFT format)
    merged/ (optional), train_summary.json

Storage: `output_dir` is a local folder or a URI (`s3://bucket/runs/x/train`), the same
for every place in it. Ray Train's `storage_path` is `<output_dir>/checkpoints`: each
worker writes its checkpoint shard to a local temporary folder and `ray.train.report`
uploads it there, so workers need no shared disk. The model each worker loads comes from
its own node (`resolve_model`: the node's cache, the offline conversion, a download of a
URI, or the hub). The driver writes the rejects table, the adapter, the merged model and
the summary through `RunFolder` (local folders are uploaded; on a store, the summary is
written last and marks the run finished).

Reproducibility: the rows are sorted by a seeded hash of their content (`train.data.order_key`)
and the split to the ranks keeps that order, so the same data and seed give each rank the
same micro-batches in every run, whatever the input files are called; LoRA's initialisation
and the per-epoch local shuffle use the same seed.

Resumption: Ray Train keeps its checkpoints and a snapshot of them under
`<output_dir>/checkpoints/<name>`, on disk or in the bucket, pruned to the newest
`keep_checkpoints`; a new `fit()` with the same name, from any process or cluster that
can reach the storage, restores the latest one, and `ray.train.get_checkpoint()` hands it
to the workers (downloaded to a local folder), which load the DeepSpeed engine state
(adapter, optimizer, schedule) and `trainer_state.json` (step, counters, metrics history).
The frozen base weights are not checkpointed: they are reloaded from the model. A finished
run (train_summary.json + adapter/) returns at once.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.runtime import storage
from pipeline.runtime.storage import RunFolder, is_uri
from train.config import TrainConfig
from train.summary import TrainSummary

log = logging.getLogger(__name__)

TRAINER_STATE = "trainer_state.json"
ORDER_BLOCK_ROWS = 1024  # rows per block of the ordered training data (a few MB of token ids)
DS_TAG = "ds"  # one DeepSpeed tag per Ray checkpoint folder: each checkpoint is its own folder


@dataclass
class StepPlan:
    """The step arithmetic every worker shares (equal shards, whole accumulation windows)."""

    rows: int
    world_size: int
    micro_batches_per_epoch: int
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int


def plan_steps(rows: int, config: TrainConfig) -> StepPlan:
    """Optimizer steps per epoch and in all, for `rows` training rows (examples or packs).

    Ray's streaming split gives every worker `rows // world` rows; each worker reads only
    whole micro-batches and uses only whole accumulation windows, so all workers take the
    same number of steps (a worker with one more step would wait forever in a collective).
    """
    world = config.scaling.num_workers
    bs, accum = config.optim.per_device_batch_size, config.optim.gradient_accumulation_steps
    micro = (rows // world) // bs
    steps_per_epoch = micro // accum
    if steps_per_epoch == 0:
        raise ValueError(
            f"{rows} training rows over {world} workers × batch {bs} × accumulation {accum} make no "
            "optimizer step: lower optim.per_device_batch_size or optim.gradient_accumulation_steps"
        )
    total = steps_per_epoch * config.optim.epochs
    if config.optim.max_steps is not None:
        total = min(total, config.optim.max_steps)
    return StepPlan(
        rows=rows, world_size=world, micro_batches_per_epoch=micro, steps_per_epoch=steps_per_epoch,
        total_steps=total, warmup_steps=math.ceil(config.optim.warmup_ratio * total),
    )


# ============================================================================ the recipe


def train_loop_per_worker(loop_config: dict[str, Any]) -> None:
    import deepspeed
    import ray.train
    import ray.train.torch
    import torch
    import torch.distributed as dist
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_cosine_schedule_with_warmup

    from pipeline.runtime.models import resolve_model
    from train.data import collate
    from train.export import adapter_state_dict, save_adapter
    from train.tracking import MetricsLog, hyperparameters
    from train.zero import deepspeed_config

    config = TrainConfig.model_validate(loop_config["config"])
    plan = StepPlan(**loop_config["plan"])
    if loop_config.get("verbose"):
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    gpu = config.scaling.use_gpu

    # ---- 1. set-up: threads, seed, process group
    if not gpu:
        # One thread per reserved core: more threads than cores on a shared box thrash.
        torch.set_num_threads(config.scaling.torch_threads or max(1, int(config.scaling.cpus_per_worker)))
    torch.manual_seed(config.seed)  # same seed on all ranks: identical LoRA init everywhere
    deepspeed.init_distributed(dist_backend="nccl" if gpu else "gloo")
    device = ray.train.torch.get_device() if gpu else torch.device("cpu")

    # ---- 2. the student (this node's copy), wrapped with LoRA
    model_path = resolve_model(loop_config["model"])
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    # bf16 weights on GPU (DeepSpeed's bf16 mode keeps fp32 master copies of the adapter);
    # loading a 7B student in fp32 first would take 28 GB of host memory per worker.
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.bfloat16 if gpu else torch.float32)
    model.config.use_cache = False
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    lora = LoraConfig(
        r=config.lora.r, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules, task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    trainable = [p for p in model.parameters() if p.requires_grad]
    if rank == 0:
        log.info("LoRA: %d trainable of %d parameters", sum(p.numel() for p in trainable), sum(p.numel() for p in model.parameters()))

    # ---- 3. optimizer, schedule, DeepSpeed engine
    optimizer = torch.optim.AdamW(trainable, lr=config.optim.lr, betas=config.optim.betas, weight_decay=config.optim.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, plan.warmup_steps, plan.total_steps)
    engine, optimizer, _, scheduler = deepspeed.initialize(
        model=model, optimizer=optimizer, lr_scheduler=scheduler, config=deepspeed_config(config, world),
    )

    # ---- 4. resume from the latest checkpoint, if any
    state: dict[str, Any] = {"step": 0, "tokens": 0, "supervised_tokens": 0, "history": [], "resumed_from_step": None}
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            engine.load_checkpoint(folder, tag=DS_TAG, load_module_strict=False)
            state = json.loads((Path(folder) / TRAINER_STATE).read_text())
        state["resumed_from_step"] = state["step"]
        if rank == 0:
            log.info("resumed from step %d", state["step"])

    def save_checkpoint(metrics: dict[str, Any], final: bool) -> None:
        """Collective: engine shards from every rank, trainer state (and the adapter) from rank 0."""
        folder = Path(tempfile.mkdtemp(prefix="tooldistill-ckpt-"))
        try:
            engine.save_checkpoint(str(folder), tag=DS_TAG, exclude_frozen_parameters=True)
            if final:
                weights = adapter_state_dict(engine.module, config.zero_stage)  # collective under ZeRO-3
                if rank == 0:
                    save_adapter(engine.module, weights, folder / "adapter")
            if rank == 0:
                (folder / TRAINER_STATE).write_text(json.dumps({**state, "final": final}))
            ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(str(folder)))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    tracker = MetricsLog(config.tracking, config.output_dir, config.name, hyperparameters(config)) if rank == 0 else None

    # ---- 5. the loop
    shard = ray.train.get_dataset_shard("train")
    accum = config.optim.gradient_accumulation_steps
    # This worker's loss sum, micro-batches, tokens, supervised tokens and CPU seconds (the
    # process's, all threads: on a shared box wall-clock tokens/s depends on the neighbours,
    # tokens per CPU-second much less).
    local = torch.zeros(5, dtype=torch.float64)
    window = torch.zeros(5, dtype=torch.float64)  # all workers' sums since the last report
    window_start, cpu_mark = time.monotonic(), time.process_time()
    engine.train()
    while state["step"] < plan.total_steps:
        epoch = state["step"] // plan.steps_per_epoch
        skip = (state["step"] % plan.steps_per_epoch) * accum  # micro-batches done before a resume
        used = plan.steps_per_epoch * accum
        batches = shard.iter_batches(
            batch_size=config.optim.per_device_batch_size, batch_format="pyarrow", drop_last=True,
            local_shuffle_buffer_size=256, local_shuffle_seed=config.seed + epoch,
        )
        # Every worker reads its whole shard each epoch (a streaming split is consumed in step by
        # all workers); micro-batches before `skip` or after the last whole step are passed over.
        for micro, table in enumerate(batches):
            if micro < skip or micro >= used or state["step"] >= plan.total_steps:
                continue
            rows = table.to_pylist()
            batch = collate(rows, pad_id)
            num_tokens = batch.pop("num_tokens")
            inputs = {k: v.to(device) for k, v in batch.items()}
            loss = engine(**inputs).loss
            engine.backward(loss)
            engine.step()  # DeepSpeed updates the weights on every `accum`-th call
            local[:4] += torch.tensor([float(loss.detach()), 1, num_tokens, int((batch["labels"] != -100).sum())], dtype=torch.float64)
            if (micro + 1) % accum:
                continue

            # An optimizer step was taken: sum this step's counters over the workers.
            state["step"] += 1
            step = state["step"]
            local[4], cpu_mark = time.process_time() - cpu_mark, time.process_time()
            totals = local.clone().to(device)  # .to() on CPU would alias `local`, zeroed below
            dist.all_reduce(totals)
            totals = totals.cpu()
            local.zero_()
            window += totals
            state["tokens"] += int(totals[2])
            state["supervised_tokens"] += int(totals[3])
            last = step == plan.total_steps
            epoch_end = step % plan.steps_per_epoch == 0
            metrics = None
            if step % config.report_every_steps == 0 or last:
                elapsed = time.monotonic() - window_start
                metrics = {
                    "step": step, "epoch": round(step / plan.steps_per_epoch, 4),
                    "loss": float(window[0] / window[1]), "lr": float(scheduler.get_last_lr()[0]),
                    "grad_norm": float(engine.get_global_grad_norm() or 0.0),
                    "tokens_per_s": float(window[2]) / max(elapsed, 1e-9), "tokens": state["tokens"],
                    "supervised_tokens": state["supervised_tokens"], "time_s": elapsed,
                    "cpu_s": float(window[4]), "tokens_per_cpu_s": float(window[2]) / max(float(window[4]), 1e-9),
                }
                state["history"].append(metrics)
                if tracker is not None:
                    tracker.log(metrics)
                if rank == 0:
                    log.info("step %d/%d  loss %.4f  lr %.2e  grad_norm %.3f  %.0f tokens/s", step, plan.total_steps,
                             metrics["loss"], metrics["lr"], metrics["grad_norm"], metrics["tokens_per_s"])
                window.zero_()
                window_start = time.monotonic()
            if last:
                break  # the final checkpoint (with the adapter) is saved below
            if step % config.checkpoint_every_steps == 0 or epoch_end:
                save_checkpoint(metrics or {"step": step}, final=False)
            elif metrics is not None:
                ray.train.report(metrics)

    # ---- 6. the adapter, gathered and complete, in the final checkpoint
    final_metrics = state["history"][-1] if state["history"] else {"step": state["step"]}
    save_checkpoint(final_metrics, final=True)
    if tracker is not None:
        tracker.close()


# ============================================================================ the driver


CHECKPOINTS, ADAPTER, MERGED, SUMMARY, REJECTS = "checkpoints", "adapter", "merged", "train_summary.json", "rejects.parquet"


def run_folder(config: TrainConfig) -> RunFolder:
    """The training folder: config.output_dir, a local folder (`~` expanded) or a URI."""
    out = config.output_dir
    return RunFolder(out if is_uri(out) else str(Path(out).expanduser()))


def finished_summary(config: TrainConfig) -> TrainSummary | None:
    """The summary of a finished run in config.output_dir (summary + adapter present), else None."""
    folder = run_folder(config)
    data = folder.read_json(SUMMARY)
    if data is None or not folder.exists(ADAPTER, "adapter_config.json"):
        return None
    return TrainSummary.from_dict(data)


def _worker_model(name: str) -> str:
    """The model as each worker resolves it on its own node: a local path made absolute (on a
    cluster it must exist on every node), anything else (URI, alias, hub id) as given."""
    path = Path(name).expanduser()
    return str(path.resolve()) if not is_uri(name) and path.exists() else name


@dataclass
class PreparedData:
    dataset: Any  # ray.data.Dataset of tokenised rows (or packs)
    rows: int
    examples: int
    input_rows: int
    rejected_by_reason: dict[str, int]


@contextmanager
def _ordered_execution() -> Iterator[None]:
    """Ray Data keeps each operator's input order inside (Datasets copy the context when made)."""
    from ray.data import DataContext

    options = DataContext.get_current().execution_options
    before, options.preserve_order = options.preserve_order, True
    try:
        yield
    finally:
        options.preserve_order = before


def prepare_data(config: TrainConfig, model: str, rejects_path: str | Path) -> PreparedData:
    """Read, tokenise and (optionally) pack the data with Ray Data; write the rejects table.

    `model`: the student's tokenizer as `resolve_model` takes it (each tokenising actor
    resolves it on its node); `rejects_path`: a local path or a URI. The rows come out in
    the seed's order (`train.data.order_key`), cut into blocks of ORDER_BLOCK_ROWS rows.
    """
    with _ordered_execution():
        return _prepare_data(config, model, rejects_path)


def _prepare_data(config: TrainConfig, model: str, rejects_path: str | Path) -> PreparedData:
    import pyarrow as pa
    import pyarrow.compute as pc
    from ray.data import ActorPoolStrategy

    from pipeline.records import REJECT_SCHEMA
    from train.data import ORDER_KEY, PackBatch, TokenizeBatch, read_messages, with_order_key

    tokenised = read_messages(config.data).map_batches(
        TokenizeBatch, fn_constructor_args=(model, config.max_seq_len), batch_format="pyarrow",
        batch_size=256, compute=ActorPoolStrategy(size=1), num_cpus=0.5,
    ).materialize()
    input_rows = tokenised.count()
    # One pass over the tokenised rows for the rejects (few) and their counts; Ray Data's
    # aggregations start extra actors that are not worth it for a handful of numbers.
    reject_rows = []
    for table in tokenised.select_columns(["reject"]).iter_batches(batch_format="pyarrow", batch_size=None):
        reject_rows += [json.loads(r) for r in table["reject"].drop_null().to_pylist()]
    rejected: dict[str, int] = {}
    for r in reject_rows:
        rejected[r["reason"]] = rejected.get(r["reason"], 0) + 1
    fs, path = storage.resolve(str(rejects_path))
    storage.write_table(pa.Table.from_pylist(reject_rows, schema=REJECT_SCHEMA), fs, path)

    kept = tokenised.map_batches(lambda t: t.filter(pc.is_null(t["reject"])), batch_format="pyarrow")
    # The seed's order in blocks of fixed size: with the split keeping its input order too
    # (run_train's DataConfig), each rank reads the same rows in the same order in every run.
    kept = (kept.map_batches(with_order_key, fn_kwargs={"seed": config.seed}, batch_format="pyarrow")
            .sort(ORDER_KEY).repartition(target_num_rows_per_block=ORDER_BLOCK_ROWS).drop_columns([ORDER_KEY]))
    if config.packing:
        kept = kept.map_batches(PackBatch, fn_constructor_args=(config.max_seq_len,), batch_format="pyarrow",
                                batch_size=1024, compute=ActorPoolStrategy(size=1), num_cpus=0.5)
    kept = kept.drop_columns(["reject"]).materialize()
    rows = kept.count()
    examples = sum(
        int(pc.sum(t["num_examples"]).as_py() or 0)
        for t in kept.select_columns(["num_examples"]).iter_batches(batch_format="pyarrow", batch_size=None)
    )
    if rows == 0:
        raise ValueError(f"no usable training rows in {config.data} (rejected: {rejected}); see {rejects_path}")
    return PreparedData(dataset=kept, rows=rows, examples=examples, input_rows=input_rows, rejected_by_reason=rejected)


def _ordered_ingest() -> Any:
    """Ray Train's ingest options with the split keeping the seed's order: blocks then go to the
    ranks by row count, not by node locality or arrival, so a rank's rows are the same every run."""
    from ray.train import DataConfig

    options = DataConfig.default_ingest_options()
    options.preserve_order = True
    return options


def run_train(config: TrainConfig, *, progress: bool = True) -> TrainSummary:
    """Train (or resume, or return the finished run in config.output_dir); see the module doc."""
    done = finished_summary(config)
    if done is not None:
        log.info("%s is finished: returning its summary", config.output_dir)
        return done

    from ray.train import CheckpointConfig, DataConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from pipeline.runtime.models import resolve_model
    from pipeline.runtime.ray_start import ensure_ray
    from train.export import merge_adapter

    start = time.monotonic()
    folder = run_folder(config)
    if folder.is_local:  # an object store has no folders to make
        folder.ensure()
    ensure_ray()
    # The driver's copy, for the merge; it also converts the offline SmolLM2 (or downloads a
    # URI) on this node once, before the actors and workers here look for it.
    model_path = resolve_model(config.model)
    data = prepare_data(config, _worker_model(config.model), folder.uri(REJECTS))
    plan = plan_steps(data.rows, config)
    log.info("training on %d rows (%d examples): %d steps, %d per epoch", data.rows, data.examples, plan.total_steps, plan.steps_per_epoch)

    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"config": config.model_dump(mode="json"), "plan": asdict(plan), "model": _worker_model(config.model), "verbose": progress},
        torch_config=TorchConfig(backend="nccl" if config.scaling.use_gpu else "gloo"),
        scaling_config=ScalingConfig(
            num_workers=config.scaling.num_workers, use_gpu=config.scaling.use_gpu,
            resources_per_worker=config.scaling.worker_resources(),
        ),
        run_config=RunConfig(
            # A path or a URI: Ray Train opens it with pyarrow.fs, which reads the endpoint and
            # credentials of an object store from the environment (AWS_ENDPOINT_URL, ...).
            name=config.name, storage_path=folder.uri(CHECKPOINTS),
            checkpoint_config=CheckpointConfig(num_to_keep=config.keep_checkpoints),
            failure_config=FailureConfig(max_failures=0),
        ),
        datasets={"train": data.dataset},
        dataset_config=DataConfig(execution_options=_ordered_ingest()),
    )
    result = trainer.fit()
    if result.error is not None:
        raise result.error
    if result.checkpoint is None:
        raise RuntimeError(f"training {config.name} ended without a checkpoint")

    # From the final checkpoint only its state and the adapter are needed, not the engine
    # shards: read them where they are stored rather than download the whole checkpoint.
    checkpoint = RunFolder.at(result.checkpoint.filesystem, result.checkpoint.path)
    state = json.loads(checkpoint.read_text(TRAINER_STATE) or "{}")
    if not state.get("final"):
        raise RuntimeError(f"the last checkpoint of {config.name} is not the final one (step {state.get('step')})")
    merged = None
    scratch = Path(tempfile.mkdtemp(prefix="tooldistill-train-"))
    try:
        adapter = Path(checkpoint.file(ADAPTER)) if checkpoint.is_local else Path(checkpoint.download_dir(scratch / ADAPTER, ADAPTER))
        adapter_uri = folder.upload_dir(adapter, ADAPTER)
        if config.export.merge and folder.is_local:
            merged = str(merge_adapter(model_path, adapter, folder.local_path(MERGED)))
        elif config.export.merge:  # merged on this disk, then uploaded
            merged = folder.upload_dir(merge_adapter(model_path, adapter, scratch / MERGED), MERGED)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    history = state["history"]
    summary = TrainSummary(
        output_dir=folder.uri(), steps=state["step"], tokens=state["tokens"], supervised_tokens=state["supervised_tokens"],
        wall_time_s=time.monotonic() - start,
        final_loss=history[-1]["loss"] if history else None, first_loss=history[0]["loss"] if history else None,
        adapter_dir=adapter_uri, merged_dir=merged, resumed_from_step=state.get("resumed_from_step"),
        dropped_examples=data.rejected_by_reason.get("too_long", 0), metrics_history=history,
        examples=data.examples, rejected_by_reason=data.rejected_by_reason, total_steps=plan.total_steps,
        steps_per_epoch=plan.steps_per_epoch, checkpoint_dir=folder.uri(CHECKPOINTS, config.name),
    )
    folder.write_json(summary.to_dict(), SUMMARY)  # last: its presence marks the run finished
    return summary
