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


def _load(config: str, model: type, set_: list[str] | None):
    """The validated config, or a red message naming the bad fields and exit code 2."""
    from cluster.config import ConfigError, load_config

    try:
        return load_config(config, model, set_)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


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
    from pipeline.generate import GenerateConfig, run_generate

    cfg = _load(config, GenerateConfig, set_)
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


@app.command("eval")
def eval_(
    config: Annotated[str, typer.Argument(help="Eval config (YAML): models x benchmarks.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set sampling.n=4")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Run (or resume) an evaluation: generations, grades, report.md/json and plot.png."""
    from eval.run import EvalConfig, run_eval

    cfg = _load(config, EvalConfig, set_)
    summary = run_eval(cfg, progress=not quiet)
    table = Table(title=f"evaluation: {cfg.name} -> {summary.output_dir}")
    for column in ("benchmark", "model", "k/n", "accuracy", "95% CI", "pass@1", "mean tokens"):
        table.add_column(column, justify="left" if column in ("benchmark", "model") else "right")
    for model, per_bench in summary.results.items():
        for bench, m in per_bench.items():
            tokens = "-" if m["mean_tokens"] is None else f"{m['mean_tokens']:.0f}"
            table.add_row(bench, model, f"{m['k']}/{m['n']}", f"{m['accuracy']:.1%}",
                          f"[{m['ci_low']:.1%}, {m['ci_high']:.1%}]", f"{m['pass1']['value']:.1%}", tokens)
    console.print(table)
    for model, per_bench in summary.comparisons.items():
        for bench, c in per_bench.items():
            console.print(f"{model} vs {cfg.baseline} on {bench}: +{len(c['gained'])} / -{len(c['lost'])} "
                          f"(McNemar p={c['mcnemar_p']:.3g})")
    console.print(f"report: {summary.report_md}  plot: {summary.plot_png}  ({summary.wall_time_s:.1f} s)")


@app.command()
def grade(
    pred: Annotated[str | None, typer.Option("--pred", help="A prediction: a model's text or a bare answer.")] = None,
    gold: Annotated[str | None, typer.Option("--gold", help="The gold answer.")] = None,
    file: Annotated[str | None, typer.Option("--file", help="JSONL of {pred, gold} rows; one result line per row.")] = None,
    timeout: Annotated[float, typer.Option(help="Deadline of each comparison in seconds.")] = 10.0,
) -> None:
    """Grade answers; prints {"equal", "pred" (extracted), "gold" (normalised)} per pair as JSON."""
    from pathlib import Path

    from toolkit.grading import Grader, normalise_answer

    if (file is None) == (pred is None or gold is None):
        raise typer.BadParameter("give either --pred and --gold, or --file")
    rows: list[dict | str] = [{"pred": pred, "gold": gold}]
    if file:
        try:  # a bad line is reported in its place, so the output stays aligned with the input
            lines = [line for line in Path(file).read_text(encoding="utf-8").split("\n") if line.strip()]
        except OSError as exc:
            raise typer.BadParameter(f"--file: {exc}") from None
        rows = []
        for number, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
                ok = isinstance(row, dict) and isinstance(row.get("pred"), str) and isinstance(row.get("gold"), str | int | float)
                rows.append({"pred": row["pred"], "gold": str(row["gold"])} if ok else f"line {number}: needs string 'pred' and 'gold'")
            except json.JSONDecodeError as exc:
                rows.append(f"line {number}: not JSON ({exc.msg})")
    good = [r for r in rows if isinstance(r, dict)]
    with Grader(workers=1, timeout_s=timeout) as grader:
        results = iter(grader.grade_many([(r["pred"], r["gold"]) for r in good]))
    for row in rows:
        if isinstance(row, str):
            out = {"equal": False, "pred": None, "gold": None, "error": row}
        else:
            result = next(results)
            out = {"equal": result.equal, "pred": result.pred, "gold": normalise_answer(row["gold"])}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")


@app.command()
def backtranslate(
    config: Annotated[str, typer.Argument(help="Back-translation config (YAML).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set filter_mode=relaxed")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Run (or resume) back-translation: traces -> Translator -> Judge -> Rephrase -> sft/ + dataset_card.md."""
    from pipeline.backtranslate import BacktranslateConfig, run_backtranslate

    cfg = _load(config, BacktranslateConfig, set_)
    try:
        summary = run_backtranslate(cfg, progress=not quiet)
    except ValueError as exc:  # e.g. no trace parts where the config points
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    stats = summary.stats
    table = Table(title=f"back-translation: {cfg.name} -> {summary.output_dir}")
    table.add_column("")
    table.add_column("traces", justify="right")
    for step, count in stats["yield_by_step"].items():
        table.add_row(step.replace("_", " "), str(count))
    for reason, count in summary.rejected_by_reason.items():
        table.add_row(f"rejected: {reason}", str(count))
    for flag, count in stats["flags"].items():
        table.add_row(f"flagged: {flag}", str(count))
    rate = stats["translation_acceptance_rate"]
    table.add_row("tool calls translated (accepted)", f"{stats['tool_calls_translated']} ({'-' if rate is None else f'{rate:.1%}'})")
    table.add_row("already written before this run", str(summary.skipped_already_written))
    table.add_row("wall time", f"{summary.wall_time_s:.1f} s")
    console.print(table)
    per_tool = Table(title="translation acceptance per tool")
    for column in ("tool", "calls", "accepted", "rate", "one-step", "fallback"):
        per_tool.add_column(column, justify="left" if column == "tool" else "right")
    for tool, c in stats["translation_acceptance_per_tool"].items():
        per_tool.add_row(tool, str(c["calls"]), str(c["accepted"]), f"{c['acceptance_rate']:.0%}", str(c.get("one_step", 0)), str(c.get("fallback", 0)))
    console.print(per_tool)


@app.command()
def train(
    config: Annotated[str, typer.Argument(help="Train config (YAML).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set lora.r=16")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No per-step progress lines from the workers.")] = False,
) -> None:
    """Run (or resume) LoRA SFT on Ray Train + DeepSpeed: messages -> adapter/ (+ merged/)."""
    from train.config import TrainConfig
    from train.sft import run_train

    cfg = _load(config, TrainConfig, set_)
    summary = run_train(cfg, progress=not quiet)
    table = Table(title=f"training: {cfg.name} ({cfg.model}, LoRA r={cfg.lora.r}, ZeRO-{cfg.zero_stage})")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("optimizer steps", f"{summary.steps} / {summary.total_steps}")
    table.add_row("examples trained on", str(summary.examples))
    table.add_row("dropped (longer than max_seq_len)", str(summary.dropped_examples))
    for reason, count in summary.rejected_by_reason.items():
        if reason != "too_long":
            table.add_row(f"rejected: {reason}", str(count))
    table.add_row("tokens (supervised)", f"{summary.tokens} ({summary.supervised_tokens})")
    table.add_row("loss first -> final", "-" if summary.final_loss is None else f"{summary.first_loss:.4f} -> {summary.final_loss:.4f}")
    table.add_row("resumed from step", "-" if summary.resumed_from_step is None else str(summary.resumed_from_step))
    table.add_row("wall time", f"{summary.wall_time_s:.1f} s")
    table.add_row("adapter", summary.adapter_dir)
    table.add_row("merged model", summary.merged_dir or "-")
    console.print(table)


# --- stage commands (back-translate, train, eval, grade) are added above this line ---


def _load_run_config(config: str, set_: list[str] | None):
    from cluster.run_config import RunConfig

    return _load(config, RunConfig, set_)


def _print_run(summary) -> None:
    table = Table(title=f"run {summary.name} -> {summary.output_dir}")
    table.add_column("stage")
    table.add_column("")
    table.add_column("time", justify="right")
    for outcome in summary.stages:
        table.add_row(outcome.stage, "skipped (complete)" if outcome.skipped else "ran", f"{outcome.wall_time_s:.0f} s")
    console.print(table)
    if summary.report_md:
        console.print(f"report: [bold]{summary.report_md}[/bold]" + (f"  plot: {summary.plot_png}" if summary.plot_png else ""))
        from pathlib import Path

        if Path(summary.report_md).exists():
            from rich.markdown import Markdown

            console.print(Markdown(Path(summary.report_md).read_text()))


@app.command()
def run(
    config: Annotated[str, typer.Argument(help="Run config (YAML), e.g. configs/demo.yaml.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a value, e.g. --set train.lora.r=16")] = None,
    stage: Annotated[list[str] | None, typer.Option("--stage", help="Run only these stages (repeatable).")] = None,
    force: Annotated[list[str] | None, typer.Option("--force", help="Rerun these stages even if complete (repeatable).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Run every stage of a run in order into one run folder, resuming what is complete; ends with report.md."""
    from cluster.run import StageConfigChanged, run_pipeline

    cfg = _load_run_config(config, set_)
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


@app.command()
def report(
    config: Annotated[str, typer.Argument(help="Run config (YAML).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a value, e.g. --set output_dir=...")] = None,
) -> None:
    """Rewrite a run's report.md (and plot.png) from its finished stages, running nothing."""
    from pathlib import Path

    from rich.markdown import Markdown

    from cluster.run import write_report

    path, plot = write_report(_load_run_config(config, set_))
    console.print(f"report: [bold]{path}[/bold]" + (f"  plot: {plot}" if plot else ""))
    if Path(path).exists():
        console.print(Markdown(Path(path).read_text()))


@app.command()
def submit(
    config: Annotated[str, typer.Argument(help="Run config (YAML) inside the working directory.")],
    address: Annotated[str, typer.Option("--address", envvar="RAY_JOB_ADDRESS", help="Ray dashboard address, e.g. http://head:8265")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a value, e.g. --set output_dir=s3://bucket/runs/x")] = None,
    stage: Annotated[list[str] | None, typer.Option("--stage", help="Run only these stages.")] = None,
    force: Annotated[list[str] | None, typer.Option("--force", help="Rerun these stages even if complete.")] = None,
    working_dir: Annotated[str, typer.Option(help="Uploaded as the job's working_dir.")] = ".",
    env: Annotated[list[str] | None, typer.Option("--env", help="KEY=VALUE for the job's environment (e.g. OPENAI_API_KEY).")] = None,
    no_follow: Annotated[bool, typer.Option("--no-follow", help="Return after submitting instead of following the logs.")] = False,
) -> None:
    """Submit `tooldistill run CONFIG` to a Ray cluster as a job, then follow its logs to the end."""
    from cluster.config import ConfigError
    from cluster.submit import submit_run

    env_vars = dict(item.split("=", 1) for item in env or [] if "=" in item)
    try:
        job = submit_run(
            config, address, overrides=set_, stages=stage, force=force, working_dir=working_dir, env_vars=env_vars,
            follow=not no_follow, on_log=lambda line: console.print(line, markup=False, highlight=False),
        )
    except (ConfigError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"job [bold]{job.job_id}[/bold] on {job.address}: {job.status}; outputs: {job.output_dir}")
    raise typer.Exit(0 if job.status in ("SUCCEEDED", "PENDING", "RUNNING") else 1)


@app.command()
def demo(
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a value of configs/demo.yaml.")] = None,
) -> None:
    """The whole pipeline on the embedded default (configs/demo.yaml): about 25 minutes on 2 cores."""
    from pathlib import Path

    config = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
    run(str(config), set_=set_, stage=None, force=None, quiet=False)


@app.command("toolkit-demo")
def toolkit_demo() -> None:
    """One sandboxed call per toolkit category, then the sandbox's defences at work."""
    from toolkit.demo import run_demo

    run_demo(console)


if __name__ == "__main__":
    app()
