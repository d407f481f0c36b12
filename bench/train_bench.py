"""Framework overhead of LoRA SFT: Ray Train + DeepSpeed ZeRO (2 CPU workers) vs a plain loop.

Same model (SmolLM2-135M + LoRA on all linear projections), same tokenised data, same
micro-batch size and number of optimizer steps:

- `ray`: `train.sft.run_train` — Ray Data shards, 2 Ray Train workers with 1 torch thread
  each, DeepSpeed ZeRO (gloo all-reduce / reduce-scatter), reports every step, one final
  checkpoint.
- `plain`: one process, 1 torch thread, PEFT + torch.optim.AdamW, the same micro-batches
  and gradient accumulation (each step sees world_size × accumulation micro-batches, the
  global batch of the Ray run).

Throughput counts real (non-pad) tokens over steps 2..N (step 1 holds warm-up costs), two
ways:
- per wall-clock second: with 2 single-threaded workers against 1 single-threaded process
  the ideal ratio is 2; `overhead_per_core_wall` = 1 − (ray tokens/s ÷ 2) ÷ (plain tokens/s).
- per CPU-second of the training processes (all their threads: compute, gloo, Ray's
  data iterator): ideal ratio 1; `overhead_per_core_cpu` = 1 − ratio. This one holds up
  on a busy machine, where wall-clock numbers depend on the neighbours.
The goal is an overhead ≤ 0.20 per core. Ray's own daemons (raylet, GCS, the split
coordinator) are not counted in the CPU figure.

    .venv/bin/python bench/train_bench.py [--steps 6] [--examples 64] [--stage 2]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def _write_data(folder: Path, count: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.synthetic import generate_problems

    rows = [
        {"id": p.id, "messages": [
            {"role": "user", "content": p.problem},
            {"role": "assistant", "content": f"We set up the computation with the tools and read off the result: \\boxed{{{p.answer}}}."},
        ]}
        for p in generate_problems(count, seed=11)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")
    return folder


def plain_loop(config, steps: int) -> dict[str, float]:
    """A single-process PyTorch + PEFT loop over the same tokenised data and batch layout."""
    import pyarrow.parquet as pq
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_cosine_schedule_with_warmup

    from pipeline.runtime.models import resolve_model
    from train.data import collate, normalise_messages, tokenize_conversation

    torch.set_num_threads(1)
    torch.manual_seed(config.seed)
    path = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    rows = pq.read_table(Path(config.data) / "part-0.parquet").to_pylist()
    examples = [tokenize_conversation(normalise_messages(r["messages"]), tokenizer, config.max_seq_len) for r in rows]
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.config.use_cache = False
    model = get_peft_model(model, LoraConfig(r=config.lora.r, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
                                             target_modules=config.lora.target_modules, task_type="CAUSAL_LM"))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.optim.lr)
    scheduler = get_cosine_schedule_with_warmup(optimizer, 0, steps)
    bs = config.optim.per_device_batch_size
    micro_per_step = config.optim.gradient_accumulation_steps * config.scaling.num_workers
    model.train()
    cursor, tokens, start, cpu_start, losses = 0, 0, 0.0, 0.0, []
    for step in range(1, steps + 1):
        if step == 2:
            start, cpu_start, tokens = time.monotonic(), time.process_time(), 0
        for _ in range(micro_per_step):
            chunk = [examples[(cursor + i) % len(examples)] for i in range(bs)]
            cursor += bs
            batch = collate([{"input_ids": e.input_ids, "labels": e.labels} for e in chunk], tokenizer.pad_token_id)
            tokens += batch.pop("num_tokens")
            loss = model(**batch).loss / micro_per_step
            loss.backward()
            losses.append(float(loss) * micro_per_step)
        torch.nn.utils.clip_grad_norm_(params, config.optim.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
    elapsed, cpu = time.monotonic() - start, time.process_time() - cpu_start
    return {"tokens_per_s": tokens / elapsed, "tokens_per_cpu_s": tokens / cpu, "time_s": elapsed, "final_loss": losses[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--stage", type=int, choices=(2, 3), default=2)
    parser.add_argument("--batch", type=int, default=2, help="micro-batch per worker")
    parser.add_argument("--accum", type=int, default=2)
    parser.add_argument("--rank", type=int, default=16)
    args = parser.parse_args()

    import ray

    from bench.report import print_summary
    from train.config import TrainConfig
    from train.sft import run_train

    work = Path(tempfile.mkdtemp(prefix="train-bench-"))
    config = TrainConfig.model_validate({
        "name": "bench", "data": str(_write_data(work / "data", args.examples)), "output_dir": str(work / "out"),
        "zero_stage": args.stage, "max_seq_len": 256, "lora": {"r": args.rank, "alpha": 16},
        "optim": {"lr": 2e-4, "epochs": 100, "max_steps": args.steps, "per_device_batch_size": args.batch,
                  "gradient_accumulation_steps": args.accum, "warmup_ratio": 0.0},
        "scaling": {"num_workers": 2, "cpus_per_worker": 0.5, "torch_threads": 1},
        "report_every_steps": 1, "checkpoint_every_steps": 10**6,
    })

    plain = plain_loop(config, args.steps)

    # Workers' logs stay off the driver: the summary's JSON must be the last line printed.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    start = time.monotonic()
    summary = run_train(config, progress=False)
    ray_wall = time.monotonic() - start
    ray.shutdown()
    timed = summary.metrics_history[1:]  # step 1 holds the warm-up
    tokens = sum(m["tokens"] - p["tokens"] for p, m in zip(summary.metrics_history, timed, strict=False))
    ray_tps = tokens / sum(m["time_s"] for m in timed)
    ray_tpcpu = tokens / sum(m["cpu_s"] for m in timed)

    ratio = ray_tps / plain["tokens_per_s"]
    cpu_ratio = ray_tpcpu / plain["tokens_per_cpu_s"]
    print_summary({
        "model": "SmolLM2-135M-Instruct", "lora_r": args.rank, "zero_stage": args.stage, "steps": args.steps,
        "micro_batch": args.batch, "accumulation": args.accum, "workers": 2, "threads_per_worker": 1,
        "ray_tokens_per_s": round(ray_tps, 1), "plain_tokens_per_s_1_thread": round(plain["tokens_per_s"], 1),
        "ratio_ray_over_plain_wall": round(ratio, 3), "ideal_ratio_wall": 2.0,
        "overhead_per_core_wall": round(1 - ratio / 2, 3),
        "ray_tokens_per_cpu_s": round(ray_tpcpu, 1), "plain_tokens_per_cpu_s": round(plain["tokens_per_cpu_s"], 1),
        "ratio_ray_over_plain_cpu": round(cpu_ratio, 3), "overhead_per_core_cpu": round(1 - cpu_ratio, 3),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "ray_wall_s_including_startup": round(ray_wall, 1), "plain_timed_s": round(plain["time_s"], 1),
        "output_dir": str(work),
    })


if __name__ == "__main__":
    main()
