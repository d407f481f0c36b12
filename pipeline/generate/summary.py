"""What a generation run produced: counts by outcome, tool use, tokens, time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pipeline.jobs.summary import Record, StageSummary, rejecting_rows

if TYPE_CHECKING:
    from rich.console import RenderableType

    from pipeline.generate.config import GenerateConfig


class GenerateThisRun(Record):
    """This attempt's own counters (the totals cover every attempt in the folder)."""

    problems_solved: int
    accepted: int
    tokens: int
    tool_calls_per_tool: dict[str, int]


class GenerateStats(Record):
    """stats.json of a generation run: totals over everything written so far, plus this attempt."""

    input_rows: int
    written_rows: int
    accepted: int
    kept_wrong_answer: int  # included in `accepted`; non-zero only with filter.mode=relaxed
    rejected: int
    rejected_by_reason: dict[str, int]
    rejected_by_stage: dict[str, int]
    acceptance_rate_of_solved: float | None
    tool_calls_per_tool_accepted: dict[str, int]
    accepted_prompt_tokens: int
    accepted_completion_tokens: int
    this_run: GenerateThisRun
    wall_time_s: float


class GenerateSummary(StageSummary):
    stage: ClassVar[str] = "generate"

    input_rows: int
    accepted: int
    rejected_by_reason: dict[str, int]
    skipped_already_written: int
    stats: GenerateStats

    def yield_rows(self) -> list[list[Any]]:
        return rejecting_rows(
            "generate", ("problems in", self.input_rows), ("verified tool-integrated traces", self.accepted), self.rejected_by_reason
        )

    def rich(self, config: GenerateConfig) -> RenderableType:
        from rich.table import Table

        table = Table(title=f"generation: {config.name} -> {self.output_dir}")
        table.add_column("")
        table.add_column("rows", justify="right")
        table.add_row("input rows", str(self.input_rows))
        table.add_row("[green]accepted traces[/green]", str(self.accepted))
        for reason, count in self.rejected_by_reason.items():
            table.add_row(f"rejected: {reason}", str(count))
        table.add_row("already written before this run", str(self.skipped_already_written))
        rate = self.stats.acceptance_rate_of_solved
        table.add_row("acceptance rate (solved problems)", "-" if rate is None else f"{rate:.1%}")
        table.add_row("tool calls in accepted traces", str(sum(self.stats.tool_calls_per_tool_accepted.values())))
        table.add_row("wall time", f"{self.wall_time_s:.1f} s")
        return table


__all__ = ["GenerateStats", "GenerateSummary", "GenerateThisRun"]

