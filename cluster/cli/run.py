"""A whole run: run (every stage into one folder), report (rewrite its report), demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.table import Table

from cluster.cli.common import console, load_run_config

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"


def _print_report(report_md: str, plot_png: str | None) -> None:
    console.print(f"report: [bold]{report_md}[/bold]" + (f"  plot: {plot_png}" if plot_png else ""))
    if Path(report_md).exists():
        console.print(Markdown(Path(report_md).read_text()))


def _print_run(summary) -> None:
    table = Table(title=f"run {summary.name} -> {summary.output_dir}")
    table.add_column("stage")
    table.add_column("")
    table.add_column("time", justify="right")
    for outcome in summary.stages:
        table.add_row(outcome.stage, "skipped (complete)" if outcome.skipped else "ran", f"{outcome.wall_time_s:.0f} s")
    console.print(table)
    if summary.report_md:
        _print_report(summary.report_md, summary.plot_png)


def run(
    config: Annotated[str, typer.Argument(help="Run config (YAML), e.g. configs/demo.yaml.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a value, e.g. --set train.lora.r=16")] = None,
    stage: Annotated[list[str] | None, typer.Option("--stage", help="Run only these stages (repeatable).")] = None,
    force: Annotated[list[str] | None, typer.Option("--force", help="Rerun these stages even if complete (repeatable).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Run every stage of a run in order into one run folder, resuming what is complete; ends with report.md."""
    from cluster.run import StageConfigChanged, run_pipeline

    cfg = load_run_config(config, set_)
    unknown = sorted((set(stage or []) | set(force or [])) - set(cfg.stages))
    if unknown:
        console.print(f"[red]not stages of this run: {unknown} (it has {cfg.stages})[/red]")
        raise typer.Exit(2)

    def announce(name: str, event: str) -> None:
        if event == "start":
            console.rule(f"[bold]{name}")
        elif event == "skip":
            console.print(f"[dim]{name}: complete, skipped[/dim]")

    try:
        summary = run_pipeline(cfg, stages=stage or None, force=force or (), progress=not quiet, on_stage=announce)
    except StageConfigChanged as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    _print_run(summary)


def report(
    config: Annotated[str, typer.Argument(help="Run config (YAML).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a value, e.g. --set output_dir=...")] = None,
) -> None:
    """Rewrite a run's report.md (and plot.png) from its finished stages, running nothing."""
    from cluster.run import write_report

    _print_report(*write_report(load_run_config(config, set_)))


def demo(
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a value of configs/demo.yaml.")] = None,
) -> None:
    """The whole pipeline on the embedded default (configs/demo.yaml): about 25 minutes on 2 cores."""
    run(str(DEMO_CONFIG), set_=set_, stage=None, force=None, quiet=False)
