"""What a generation run produced: counts by outcome, tool use, tokens, time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class GenerateSummary:
    output_dir: str
    input_rows: int
    accepted: int
    rejected_by_reason: dict[str, int]
    skipped_already_written: int
    wall_time_s: float
    stats: dict[str, Any] = field(default_factory=dict)
