"""One stage at a time: generate, backtranslate, train, eval. Each prints its summary's table."""

from __future__ import annotations

from typing import Annotated

import typer

from cluster.cli.common import console, load

Quiet = Annotated[bool, typer.Option("--quiet", help="No progress bars.")]


def generate(
    config: Annotated[str, typer.Argument(help="Run config (YAML).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set problems.count=50")] = None,
    quiet: Quiet = False,
) -> None:
    """Run (or resume) the generation stage: problems -> Solver Agent -> traces/ + rejects/."""
    from pipeline.generate import GenerateConfig, run_generate

    cfg = load(config, GenerateConfig, set_)
    console.print(run_generate(cfg, progress=not quiet).rich(cfg))


def eval_(
    config: Annotated[str, typer.Argument(help="Eval config (YAML): models x benchmarks.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set sampling.n=4")] = None,
    quiet: Quiet = False,
) -> None:
    """Run (or resume) an evaluation: generations, grades, report.md/json and plot.png."""
    from eval.run import EvalConfig, run_eval

    cfg = load(config, EvalConfig, set_)
    console.print(run_eval(cfg, progress=not quiet).rich(cfg))


def backtranslate(
    config: Annotated[str, typer.Argument(help="Back-translation config (YAML).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set filter_mode=relaxed")] = None,
    quiet: Quiet = False,
) -> None:
    """Run (or resume) back-translation: traces -> Translator -> Judge -> Rephrase -> sft/ + dataset_card.md."""
    from pipeline.backtranslate import BacktranslateConfig, run_backtranslate

    cfg = load(config, BacktranslateConfig, set_)
    try:
        summary = run_backtranslate(cfg, progress=not quiet)
    except ValueError as exc:  # e.g. no trace parts where the config points
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(summary.rich(cfg))


def train(
    config: Annotated[str, typer.Argument(help="Train config (YAML).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set lora.r=16")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No per-step progress lines from the workers.")] = False,
) -> None:
    """Run (or resume) LoRA SFT on Ray Train + DeepSpeed: messages -> adapter/ (+ merged/)."""
    from train.config import TrainConfig
    from train.sft import run_train

    cfg = load(config, TrainConfig, set_)
    console.print(run_train(cfg, progress=not quiet).rich(cfg))
