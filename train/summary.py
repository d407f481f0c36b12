"""What a training run produced: steps, tokens, losses, where the adapter is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pipeline.jobs.summary import Record, StageSummary, markdown_table

if TYPE_CHECKING:
    from rich.console import RenderableType

    from train.config import TrainConfig


class StepMetrics(Record):
    """One report of the training loop (every `report_every_steps` optimizer steps, and the last).

    Rates and means cover the window since the previous report; `tokens` counts are totals.
    """

    step: int
    epoch: float
    loss: float
    lr: float
    grad_norm: float
    tokens_per_s: float
    tokens: int
    supervised_tokens: int
    time_s: float
    cpu_s: float
    tokens_per_cpu_s: float


class TrainSummary(StageSummary):
    stage: ClassVar[str] = "train"

    output_dir: str = ""  # the training folder; summaries written before it was recorded lack it
    steps: int
    tokens: int
    supervised_tokens: int
    final_loss: float | None
    first_loss: float | None
    adapter_dir: str
    merged_dir: str | None
    resumed_from_step: int | None
    dropped_examples: int  # conversations longer than max_seq_len (dropped, never truncated)
    metrics_history: list[StepMetrics] = []
    examples: int = 0  # conversations trained on
    rejected_by_reason: dict[str, int] = {}
    total_steps: int = 0
    steps_per_epoch: int = 0
    checkpoint_dir: str = ""

    def markdown(self) -> str:
        rows: list[list[Any]] = [
            ["optimizer steps", self.steps],
            ["tokens seen", self.tokens],
            ["supervised (assistant) tokens", self.supervised_tokens],
            ["first → final loss", f"{_fmt(self.first_loss)} → {_fmt(self.final_loss)}"],
            ["examples dropped as too long", self.dropped_examples],
            ["wall time", f"{_fmt(self.wall_time_s)} s"],
            ["adapter", f"`{self.adapter_dir}`"],
        ]
        if self.merged_dir:
            rows.append(["merged model", f"`{self.merged_dir}`"])
        return markdown_table(["", ""], rows)

    def rich(self, config: TrainConfig) -> RenderableType:
        from rich.table import Table

        table = Table(title=f"training: {config.name} ({config.model}, LoRA r={config.lora.r}, ZeRO-{config.zero_stage})")
        table.add_column("")
        table.add_column("value", justify="right")
        table.add_row("optimizer steps", f"{self.steps} / {self.total_steps}")
        table.add_row("examples trained on", str(self.examples))
        table.add_row("dropped (longer than max_seq_len)", str(self.dropped_examples))
        for reason, count in self.rejected_by_reason.items():
            if reason != "too_long":
                table.add_row(f"rejected: {reason}", str(count))
        table.add_row("tokens (supervised)", f"{self.tokens} ({self.supervised_tokens})")
        table.add_row("loss first -> final", "-" if self.final_loss is None else f"{self.first_loss:.4f} -> {self.final_loss:.4f}")
        table.add_row("resumed from step", "-" if self.resumed_from_step is None else str(self.resumed_from_step))
        table.add_row("wall time", f"{self.wall_time_s:.1f} s")
        table.add_row("adapter", self.adapter_dir)
        table.add_row("merged model", self.merged_dir or "-")
        return table


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


__all__ = ["StepMetrics", "TrainSummary"]
