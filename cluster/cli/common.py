"""What every command group shares: the console, and configs loaded with readable errors."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console

console = Console()

def load(config: str | None, model: type, set_: list[str] | None) -> Any:
    """The validated config, or a red message naming the bad fields and exit code 2."""
    from cluster.config import ConfigError, load_config

    try:
        return load_config(config, model, set_)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def load_run_config(config: str, set_: list[str] | None) -> Any:
    from cluster.run_config import RunConfig

    return load(config, RunConfig, set_)
