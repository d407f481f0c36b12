"""The toolkit's commands: tools, call, grade, toolkit-demo. No Ray, no models."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from cluster.cli.common import console


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


def toolkit_demo() -> None:
    """One sandboxed call per toolkit category, then the sandbox's defences at work."""
    from toolkit.demo import run_demo

    run_demo(console)
