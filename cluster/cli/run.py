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
        _print_headline(summary.report_md)


def _print_headline(report_md: str) -> None:
    """The last thing a run prints: base vs student on the held-out problems, and where the report is."""
    path = Path(report_md)
    lines = [line for line in path.read_text().splitlines() if line.startswith("Held-out `")] if path.exists() else []
    if lines:
        console.rule("headline")
        for line in lines:
            console.print(line, markup=False)
    console.print(f"full report: [bold]{report_md}[/bold]")


def run(
    config: Annotated[str, typer.Argument(help="Run config (YAML), e.g. configs/demo.yaml.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a value, e.g. --set train.lora.r=16")] = None,
    stage: Annotated[list[str] | None, typer.Option("--stage", help="Run only these stages (repeatable).")] = None,
    force: Annotated[list[str] | None, typer.Option("--force", help="Rerun these stages even if complete (repeatable).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the resolved plan (models, actors and GPUs, datasets with row counts) "
                           "and check the context lengths; start nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --dry-run: the plan as JSON.")] = False,
) -> None:
    """Run every stage of a run in order into one run folder, resuming what is complete; ends with report.md."""
    from cluster.run import StageConfigChanged, run_pipeline
    from pipeline.runtime.context_limits import ContextLengthError

    cfg = load_run_config(config, set_)
    unknown = sorted((set(stage or []) | set(force or [])) - set(cfg.stages))
    if unknown:
        console.print(f"[red]not stages of this run: {unknown} (it has {cfg.stages})[/red]")
        raise typer.Exit(2)
    if as_json and not dry_run:
        console.print("[red]--json goes with --dry-run[/red]")
        raise typer.Exit(2)
    if dry_run:
        _dry_run(cfg, stage or None, as_json)
        return

    def announce(name: str, event: str) -> None:
        if event == "start":
            console.rule(f"[bold]{name}")
        elif event == "skip":
            console.print(f"[dim]{name}: complete, skipped[/dim]")

    try:
        summary = run_pipeline(cfg, stages=stage or None, force=force or (), progress=not quiet, on_stage=announce)
    except (StageConfigChanged, ContextLengthError) as exc:
        console.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    _print_run(summary)


def _dry_run(cfg, stages: list[str] | None, as_json: bool) -> None:
    """Print what the run would do, or the context-length error (exit 2); never starts Ray."""
    import json

    from cluster.plan import build_plan
    from pipeline.runtime.context_limits import ContextLengthError

    try:
        plan = build_plan(cfg, stages)
    except ContextLengthError as exc:
        console.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(plan.to_dict(), indent=2))
    else:
        _print_plan(plan)


def _rows(rows: int | None) -> str:
    return "–" if rows is None else f"{rows:,}"


def _amount(value: float) -> str:
    return f"{value:g}"


def _print_plan(plan) -> None:
    console.rule(f"[bold]run {plan.name}[/bold] (dry run: nothing started)")
    peak = max(plan.stages, key=lambda s: s.gpus, default=None)
    console.print(f"output: [bold]{plan.output_dir}[/bold]   Ray: {plan.ray}"
                  + (f"   GPUs at most: {_amount(peak.gpus)} ({peak.stage})" if peak and peak.gpus else ""))
    for number, stage in enumerate(plan.stages, 1):
        console.rule(f"{number}. {stage.stage} -> {stage.output_dir}   GPUs: {_amount(stage.gpus)}", style="dim")
        models = Table(show_edge=False, box=None, pad_edge=False)
        for column in ("role", "model", "backend", ""):
            models.add_column(column, no_wrap=column == "model")
        for line in stage.models:
            models.add_row(line.role, line.model, line.backend, line.detail)
        console.print(models)
        actors = Table(show_edge=False, box=None, pad_edge=False)
        for column, justify in (("actors", "left"), ("count", "right"), ("CPUs each", "right"), ("GPUs each", "right"), ("", "left")):
            actors.add_column(column, justify=justify)
        for group in stage.actors:
            actors.add_row(group.what, str(group.count), _amount(group.cpus_each), _amount(group.gpus_each), group.detail)
        console.print(actors)
        data = Table(show_edge=False, box=None, pad_edge=False)
        for column, justify in (("data", "left"), ("name", "left"), ("rows", "right"), ("source", "left")):
            data.add_column(column, justify=justify, no_wrap=column == "name")
        for line in stage.datasets:
            data.add_row(line.role, line.name, _rows(line.rows), line.source)
        console.print(data)
        for note in stage.notes:
            console.print(f"[dim]{note}[/dim]")
    for warning in plan.warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False, highlight=False, soft_wrap=True)


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
    run(str(DEMO_CONFIG), set_=set_, stage=None, force=None, quiet=False, dry_run=False, as_json=False)
