"""The `tooldistill` command line."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Distil tool knowledge into small language models.")
console = Console()


@app.command()
def tools(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of {name, category, description, parameters}.")] = False,
    category: Annotated[list[str] | None, typer.Option("--category", "-c", help="Only these categories.")] = None,
    openai: Annotated[bool, typer.Option("--openai", help="Print the OpenAI function-calling `tools` list instead.")] = False,
) -> None:
    """List the toolkit's tools."""
    from toolkit.registry import select_tools

    try:
        selected = select_tools(categories=category) if category else select_tools()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if openai:
        sys.stdout.write(json.dumps([t.openai_schema() for t in selected], indent=2) + "\n")
        return
    if as_json:
        sys.stdout.write(json.dumps([t.catalogue_entry() for t in selected], indent=2) + "\n")
        return
    table = Table(title=f"tooldistill toolkit: {len(selected)} tools")
    table.add_column("category", style="cyan")
    table.add_column("tool", style="bold")
    table.add_column("arguments")
    table.add_column("description")
    for t in sorted(selected, key=lambda t: (t.category, t.name)):
        args = ", ".join(p.name if p.required else f"[{p.name}]" for p in t.params)
        table.add_row(t.category, t.name, args, t.description)
    console.print(table)


@app.command()
def call(
    name: Annotated[str, typer.Argument(help="Tool name, e.g. factor_expression.")],
    args: Annotated[str, typer.Argument(help='Arguments as a JSON object, e.g. \'{"expression": "x^2-1"}\'.')] = "{}",
    timeout: Annotated[float, typer.Option(help="Wall-clock deadline in seconds.")] = 10.0,
) -> None:
    """Run one tool call through the sandbox and print its JSON result (exit code 1 on an error)."""
    from toolkit.sandbox import Sandbox

    try:
        arguments = json.loads(args)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"ARGS must be a JSON object: {exc}") from None
    with Sandbox(workers=1, timeout_s=timeout) as sandbox:
        payload = sandbox.call_sync(name, arguments)
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    raise typer.Exit(1 if "error" in payload else 0)


@app.command()
def generate(
    config: Annotated[str, typer.Argument(help="Run config (YAML).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set problems.count=50")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Run (or resume) the generation stage: problems -> Solver Agent -> traces/ + rejects/."""
    from cluster.config import ConfigError, load_config
    from pipeline.generate import GenerateConfig, run_generate

    try:
        cfg = load_config(config, GenerateConfig, set_)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    summary = run_generate(cfg, progress=not quiet)
    stats = summary.stats
    table = Table(title=f"generation: {cfg.name} -> {summary.output_dir}")
    table.add_column("")
    table.add_column("rows", justify="right")
    table.add_row("input rows", str(summary.input_rows))
    table.add_row("[green]accepted traces[/green]", str(summary.accepted))
    for reason, count in summary.rejected_by_reason.items():
        table.add_row(f"rejected: {reason}", str(count))
    table.add_row("already written before this run", str(summary.skipped_already_written))
    rate = stats.get("acceptance_rate_of_solved")
    table.add_row("acceptance rate (solved problems)", "-" if rate is None else f"{rate:.1%}")
    table.add_row("tool calls in accepted traces", str(sum(stats["tool_calls_per_tool_accepted"].values())))
    table.add_row("wall time", f"{summary.wall_time_s:.1f} s")
    console.print(table)


@app.command()
def demo() -> None:
    """A short demonstration of the toolkit and its sandbox (the full pipeline demo comes later)."""
    from toolkit.demo import run_demo

    run_demo(console)


if __name__ == "__main__":
    app()
