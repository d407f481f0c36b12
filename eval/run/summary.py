"""What an evaluation produced: metrics per model x benchmark and paired comparisons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EvalSummary:
    output_dir: str
    report_md: str
    report_json: str
    plot_png: str
    results: dict[str, dict[str, Any]]
    comparisons: dict[str, dict[str, Any]]
    wall_time_s: float
    generated_this_run: int = 0
    skipped_already_written: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
