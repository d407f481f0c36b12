"""The training config: one pydantic model, every knob documented with what it trades off.

Defaults follow the paper's recipe (LoRA r=64, alpha=16, dropout 0 on all linear
projections; AdamW lr 2e-4; 3 epochs; cosine schedule with warmup; loss on assistant
tokens only; max_seq_len 4096), not its released code (which skipped LoRA, ran one step,
used lr 2e-5 and trained on the prompt too).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from pipeline.config_rules import StrictModel
from train.tracking import TrackingSettings


class LoraSettings(StrictModel):
    """PEFT LoRA on the student; only the adapter's weights are trained and saved."""

    r: int = Field(default=64, ge=1, description="Rank of the update. Larger ranks fit more but train and store more weights (r=64 on SmolLM2's seven projections ≈ 19.5M parameters).")
    alpha: int = Field(default=16, ge=1, description="Scale of the update is alpha/r; with the paper's r=64, alpha=16 the update starts gentle (0.25×).")
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description="Dropout on the LoRA input; 0 as in the paper (SFT sets are large and the base is frozen).")
    target_modules: str | list[str] = Field(default="all-linear", description='"all-linear" wraps every linear projection except the output head (q/k/v/o/gate/up/down for Llama-style models); or a list of module names.')


class OptimSettings(StrictModel):
    """AdamW with a cosine schedule; the effective batch is per_device × accumulation × workers."""

    lr: float = Field(default=2e-4, gt=0, description="Peak learning rate of the adapter (the paper's 2e-4; full fine-tuning would use ~10× less).")
    epochs: int = Field(default=3, ge=1, description="Passes over the training set. Ignored beyond `max_steps` when that is set.")
    max_steps: int | None = Field(default=None, ge=1, description="Cap on optimizer steps (a short run or a benchmark); the schedule is then laid out over this many steps.")
    warmup_ratio: float = Field(default=0.03, ge=0.0, lt=1.0, description="Fraction of the optimizer steps spent warming the lr up linearly from 0 before the cosine decay to 0.")
    weight_decay: float = Field(default=0.0, ge=0.0, description="AdamW decoupled weight decay on the adapter weights.")
    max_grad_norm: float = Field(default=1.0, gt=0, description="Gradient clipping on the global norm (DeepSpeed `gradient_clipping`).")
    betas: tuple[float, float] = Field(default=(0.9, 0.999), description="AdamW betas.")
    per_device_batch_size: int = Field(default=4, ge=1, description="Sequences (or packs) per micro-batch on each worker. Bounded by memory: activations grow with batch × max_seq_len.")
    gradient_accumulation_steps: int = Field(default=4, ge=1, description="Micro-batches per optimizer step. Raises the effective batch without more memory; micro-batches left over at an epoch's end are skipped.")


class ScalingSettings(StrictModel):
    """How many Ray Train workers, and what each one holds."""

    num_workers: int = Field(default=2, ge=1, description="Data-parallel workers (one process each; ZeRO shards optimizer state, and at stage 3 the parameters, across them).")
    use_gpu: bool = Field(default=False, description="One GPU per worker, NCCL and bf16; otherwise CPU workers with gloo and fp32.")
    cpus_per_worker: float = Field(default=1.0, gt=0, description="CPUs each worker reserves in Ray. Fractions let 2 workers share a 2-core test machine; torch uses max(1, floor(cpus)) threads.")
    resources_per_worker: dict[str, float] | None = Field(default=None, description="Explicit Ray resources per worker (overrides cpus_per_worker/GPU), e.g. {CPU: 8, GPU: 1, accelerator_type:H100: 0.01}.")
    torch_threads: int | None = Field(default=None, ge=1, description="torch threads per CPU worker; default max(1, floor(cpus_per_worker)).")

    def worker_resources(self) -> dict[str, float]:
        if self.resources_per_worker is not None:
            return dict(self.resources_per_worker)
        resources = {"CPU": self.cpus_per_worker}
        if self.use_gpu:
            resources["GPU"] = 1.0
        return resources


class ExportSettings(StrictModel):
    """What is written after training besides the adapter."""

    merge: bool = Field(default=False, description="Also merge the adapter into a full model folder (output_dir/merged) that transformers and vLLM load like any checkpoint.")


class TrainConfig(StrictModel):
    """LoRA SFT of a student on Ray Train + DeepSpeed ZeRO (the paper's recipe by default)."""

    name: str = Field(default="train", description="Run name; Ray Train keeps its checkpoints under output_dir/checkpoints/<name>.")
    data: str = Field(description="A parquet/jsonl file or folder (local or URI) with a `messages` column: a list of {role, content}.")
    output_dir: str = Field(description="Where checkpoints/, adapter/, merged/, rejects.parquet and train_summary.json go: a local folder (one node, or an NFS mount every node sees) or an object-store URI (s3://bucket/runs/x/train), which needs no shared disk: Ray Train uploads the checkpoints and the driver the adapter.")
    model: str = Field(default="smollm2", description='Hugging Face id or local folder of a causal LM; "smollm2" is the offline SmolLM2-135M-Instruct.')
    lora: LoraSettings = Field(default_factory=LoraSettings, description="the adapter: rank, scale, dropout, wrapped modules")
    optim: OptimSettings = Field(default_factory=OptimSettings, description="optimizer, schedule, epochs and batch sizes")
    max_seq_len: int = Field(default=4096, ge=16, description="Longest tokenised conversation. Longer ones are dropped and counted, never truncated: a cut-off answer teaches the model to stop mid-solution.")
    packing: bool = Field(default=False, description="Pack several conversations into one row of ≤ max_seq_len tokens. Position ids restart per conversation and no attention crosses them (transformers builds a block-diagonal causal mask from the position ids). Saves padding when lengths vary.")
    gradient_checkpointing: bool = Field(default=False, description="Recompute activations in the backward pass: ~30% slower, far less memory (needed for long sequences on big students).")
    zero_stage: Literal[2, 3] = Field(default=2, description="DeepSpeed ZeRO stage: 2 shards optimizer state and gradients; 3 also shards parameters (for students that do not fit one device).")
    scaling: ScalingSettings = Field(default_factory=ScalingSettings, description="Ray Train workers and what each reserves")
    report_every_steps: int = Field(default=10, ge=1, description="Log loss, lr, tokens/s and grad norm every N optimizer steps.")
    checkpoint_every_steps: int = Field(default=100, ge=1, description="Save a resumable checkpoint every N optimizer steps (and at each epoch's end). Frequent checkpoints lose less on a crash but cost I/O.")
    keep_checkpoints: int = Field(default=2, ge=1, description="Checkpoints kept on storage (the newest ones).")
    seed: int = Field(default=0, description="Seeds LoRA initialisation and the data shuffle.")
    export: ExportSettings = Field(default_factory=ExportSettings, description="what is written besides the adapter")
    tracking: TrackingSettings = Field(
        default_factory=TrackingSettings, json_schema_extra={"fingerprint": False},
        description="TensorBoard event files (on by default) and MLflow (with a tracking URI), from the rank-0 worker",
    )
    deepspeed_overrides: dict[str, Any] = Field(default_factory=dict, description="Merged last into the generated DeepSpeed config (e.g. {zero_optimization: {overlap_comm: true}}).")

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.scaling.use_gpu is False and self.scaling.resources_per_worker and self.scaling.resources_per_worker.get("GPU"):
            raise ValueError("scaling.resources_per_worker asks for GPUs but scaling.use_gpu is false")
        return self
