"""What a back-translation run produced: yields per step, per-tool acceptance, rejections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class BacktranslateSummary:
    output_dir: str
    traces_in: int
    examples_out: int
    rejected_by_reason: dict[str, int]
    skipped_already_written: int
    wall_time_s: float
    stats: dict[str, Any] = field(default_factory=dict)
