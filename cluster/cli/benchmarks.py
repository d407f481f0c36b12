"""The `benchmarks` command: the registered evaluation and training sets. No network, no Ray."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from cluster.cli.common import console


def benchmarks(
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print a JSON list of {name, rows, offline, source, licence, hub, role, description}.")] = False,
) -> None:
    """List every registered benchmark: offline row count, source and licence (hub ids with --json)."""
    from pipeline.problems.benchmarks import benchmark_catalogue

    catalogue = benchmark_catalogue()
    if as_json:
        sys.stdout.write(json.dumps(catalogue, indent=2, ensure_ascii=False) + "\n")
        return
    offline = sum(entry["offline"] for entry in catalogue)
    table = Table(title=f"tooldistill benchmarks: {len(catalogue)} registered, {offline} offline")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("role")
    table.add_column("rows", justify="right")
    table.add_column("offline")
    table.add_column("source")
    table.add_column("licence")
    for entry in catalogue:
        table.add_row(
            entry["name"], entry["role"], "-" if entry["rows"] is None else str(entry["rows"]),
            "[green]yes[/green]" if entry["offline"] else "[yellow]no[/yellow]",
            entry["source"], entry["licence"],
        )
    console.print(table)
