"""What a back-translation run produced: yields per step, per-tool acceptance, rejections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pipeline.jobs.summary import Record, StageSummary, markdown_table, percent, rejecting_rows

if TYPE_CHECKING:
    from rich.console import RenderableType

    from pipeline.backtranslate.config import BacktranslateConfig


class YieldByStep(Record):
    """Traces left after each step, in pipeline order."""

    traces_in: int
    after_filter_mode: int
    after_translation: int
    after_rephrase_validation: int
    examples_out: int


class ToolTranslations(Record):
    """Translations of one tool's calls (each call counted once, however often it was retried).

    The method counts add up to `calls`: a verified step-by-step derivation (`symbolic`), an
    honest single step (`one_step`), an LLM translation (`llm`), or a marked `fallback`.
    """

    calls: int
    accepted: int
    cached: int
    acceptance_rate: float
    symbolic: int = 0
    one_step: int = 0
    llm: int = 0
    fallback: int = 0


class BacktranslateThisRun(Record):
    """This attempt's own counters (the totals cover every attempt in the folder)."""

    traces: int
    examples: int
    translations: int
    translations_from_cache: int


class BacktranslateStats(Record):
    """stats.json of a back-translation run: totals over everything written so far, plus this attempt."""

    name: str
    filter_mode: str
    translator: str
    rephrase: str
    traces_in: int
    examples_out: int
    rejected: int
    rejected_by_reason: dict[str, int]
    yield_by_step: YieldByStep
    flags: dict[str, int]
    tool_calls_translated: int
    translation_acceptance_rate: float | None
    translation_acceptance_per_tool: dict[str, ToolTranslations]
    judge_rejections_by_reason: dict[str, int]
    error_taxonomy: dict[str, int] | None
    this_run: BacktranslateThisRun
    wall_time_s: float


class BacktranslateSummary(StageSummary):
    stage: ClassVar[str] = "backtranslate"

    traces_in: int
    examples_out: int
    rejected_by_reason: dict[str, int]
    skipped_already_written: int
    stats: BacktranslateStats

    def yield_rows(self) -> list[list[Any]]:
        return rejecting_rows(
            "back-translate", ("traces in", self.traces_in), ("SFT examples out", self.examples_out), self.rejected_by_reason
        )

    def markdown(self) -> str:
        per_tool = sorted(self.stats.translation_acceptance_per_tool.items())
        if not per_tool:
            return ""
        rows = [[tool, f"{c.accepted}/{c.calls}", percent(c.accepted, c.calls)] for tool, c in per_tool]
        return "### Translations verified per tool\n\n" + markdown_table(["tool", "translations verified", "rate"], rows)

    def card(self, config: BacktranslateConfig) -> str:
        """dataset_card.md: what the SFT data is, how it was verified, and what survived each step."""
        stats = self.stats
        lines = [
            f"# {config.name}: back-translated SFT data",
            "",
            f"Source traces: `{config.traces_dir}`. Translator: {stats.translator}; rephrase: {stats.rephrase}; "
            f"filter mode: {stats.filter_mode}.",
            "",
            "Each example is `messages` = [optional system, user: problem, assistant: solution ending in `\\boxed{}`]. "
            "Every tool call was turned into natural-language reasoning whose boxed result was checked against the real tool "
            "result; the final solution's answer was re-graded against the reference and checked for tool, code and "
            "function names.",
            "",
            "## Yield",
            "",
            "| step | traces |",
            "|---|---:|",
            *(f"| {step.replace('_', ' ')} | {n} |" for step, n in stats.yield_by_step.model_dump().items()),
            "",
            "Rejected, by reason: " + (", ".join(f"{k} {v}" for k, v in stats.rejected_by_reason.items()) or "none") + ".",
            "",
            "Flags: " + (", ".join(f"{k} {v}" for k, v in stats.flags.items()) or "none")
            + " (`one_step`: at least one step is an honest single-step explanation rather than a derivation; "
            "`fallback`: a marked, unverified tool step; `relaxed`: wrong final answer kept by the relaxed filter).",
            "",
            "## Translation acceptance per tool",
            "",
            "| tool | calls | accepted | rate | step-by-step symbolic | one-step | LLM | fallback |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for tool, c in stats.translation_acceptance_per_tool.items():
            lines.append(f"| {tool} | {c.calls} | {c.accepted} | {c.acceptance_rate:.1%} | {c.symbolic} | "
                         f"{c.one_step} | {c.llm} | {c.fallback} |")
        lines += ["", "Judge rejections by reason (every rejected attempt): "
                  + (", ".join(f"{k} {v}" for k, v in stats.judge_rejections_by_reason.items()) or "none") + "."]
        if stats.error_taxonomy is not None:
            lines += ["", "## Error taxonomy of failed solver traces (heuristic)", "", "| category | traces |", "|---|---:|"]
            lines += [f"| {k} | {v} |" for k, v in stats.error_taxonomy.items()]
        return "\n".join(lines) + "\n"

    def rich(self, config: BacktranslateConfig) -> RenderableType:
        from rich.console import Group
        from rich.table import Table

        stats = self.stats
        table = Table(title=f"back-translation: {config.name} -> {self.output_dir}")
        table.add_column("")
        table.add_column("traces", justify="right")
        for step, count in stats.yield_by_step.model_dump().items():
            table.add_row(step.replace("_", " "), str(count))
        for reason, count in self.rejected_by_reason.items():
            table.add_row(f"rejected: {reason}", str(count))
        for flag, count in stats.flags.items():
            table.add_row(f"flagged: {flag}", str(count))
        rate = stats.translation_acceptance_rate
        table.add_row("tool calls translated (accepted)", f"{stats.tool_calls_translated} ({'-' if rate is None else f'{rate:.1%}'})")
        table.add_row("already written before this run", str(self.skipped_already_written))
        table.add_row("wall time", f"{self.wall_time_s:.1f} s")
        per_tool = Table(title="translation acceptance per tool")
        for column in ("tool", "calls", "accepted", "rate", "one-step", "fallback"):
            per_tool.add_column(column, justify="left" if column == "tool" else "right")
        for tool, c in stats.translation_acceptance_per_tool.items():
            per_tool.add_row(tool, str(c.calls), str(c.accepted), f"{c.acceptance_rate:.0%}", str(c.one_step), str(c.fallback))
        return Group(table, per_tool)


__all__ = ["BacktranslateStats", "BacktranslateSummary", "BacktranslateThisRun", "ToolTranslations", "YieldByStep"]
