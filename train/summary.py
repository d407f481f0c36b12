"""What a training run produced: steps, tokens, losses, where the adapter is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainSummary:
    steps: int
    tokens: int
    supervised_tokens: int
    wall_time_s: float
    final_loss: float | None
    first_loss: float | None
    adapter_dir: str
    merged_dir: str | None
    resumed_from_step: int | None
    dropped_examples: int  # conversations longer than max_seq_len (dropped, never truncated)
    metrics_history: list[dict[str, Any]] = field(default_factory=list)
    examples: int = 0  # conversations trained on
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    total_steps: int = 0
    steps_per_epoch: int = 0
    checkpoint_dir: str = ""
