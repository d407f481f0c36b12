"""The run report: what survived each stage, what training did, and how the student scored.

`render_run_report` is a pure function of the stages' summaries (the dicts recorded in
each stage's `_COMPLETE.json`); `write_run_report` adds the evaluation's own tables and
copies its plot next to the report.
"""

from __future__ import annotations

from typing import Any

import pyarrow.fs as pafs

from pipeline.runtime import storage


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return lines


def _percent(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _yields(summaries: dict[str, dict[str, Any]]) -> list[str]:
    rows: list[list[Any]] = []
    generate = summaries.get("generate")
    if generate:
        rows.append(["generate: problems in", generate.get("input_rows", "-"), ""])
        accepted = generate.get("accepted", 0)
        rows.append(["generate: verified tool-integrated traces", accepted, _percent(accepted, generate.get("input_rows", 0))])
        for reason, count in sorted((generate.get("rejected_by_reason") or {}).items()):
            rows.append([f"generate: rejected ({reason})", count, ""])
    back = summaries.get("backtranslate")
    if back:
        traces_in, out = back.get("traces_in", 0), back.get("examples_out", 0)
        rows.append(["back-translate: traces in", traces_in, ""])
        rows.append(["back-translate: SFT examples out", out, _percent(out, traces_in)])
        for reason, count in sorted((back.get("rejected_by_reason") or {}).items()):
            rows.append([f"back-translate: rejected ({reason})", count, ""])
    return _table(["stage", "rows", "yield"], rows) if rows else ["(no data stage has finished)"]


def _per_tool(summaries: dict[str, dict[str, Any]]) -> list[str]:
    stats = (summaries.get("backtranslate") or {}).get("stats") or {}
    per_tool = stats.get("per_tool") or stats.get("translation_acceptance_per_tool") or {}
    rows = []
    for tool, counts in sorted(per_tool.items()):
        if isinstance(counts, dict):
            accepted = counts.get("accepted", 0)
            total = counts.get("total", counts.get("calls", accepted + counts.get("rejected", 0)))
            rows.append([tool, f"{accepted}/{total}", _percent(accepted, total)])
    return _table(["tool", "translations verified", "rate"], rows) if rows else []


def _training(summary: dict[str, Any] | None) -> list[str]:
    if not summary:
        return ["(training has not run)"]
    rows = [
        ["optimizer steps", summary.get("steps")],
        ["tokens seen", summary.get("tokens")],
        ["supervised (assistant) tokens", summary.get("supervised_tokens")],
        ["first → final loss", f"{_fmt(summary.get('first_loss'))} → {_fmt(summary.get('final_loss'))}"],
        ["examples dropped as too long", summary.get("dropped_examples")],
        ["wall time", f"{_fmt(summary.get('wall_time_s'))} s"],
        ["adapter", f"`{summary.get('adapter_dir')}`"],
    ]
    if summary.get("merged_dir"):
        rows.append(["merged model", f"`{summary['merged_dir']}`"])
    return _table(["", ""], rows)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def render_run_report(name: str, output_dir: str, summaries: dict[str, dict[str, Any]], eval_markdown: str | None) -> str:
    lines = [f"# Run `{name}`", "", f"Folder: `{output_dir}`", "", "## Yields", ""]
    lines += _yields(summaries)
    per_tool = _per_tool(summaries)
    if per_tool:
        lines += ["", "### Translations verified per tool", "", *per_tool]
    lines += ["", "## Training", "", *_training(summaries.get("train"))]
    lines += ["", "## Evaluation", ""]
    if eval_markdown:
        # The evaluation report's own title would be a second top-level heading here.
        body = eval_markdown.split("\n", 1)[1] if eval_markdown.startswith("# ") else eval_markdown
        lines += [body.strip(), "", "![base vs student](plot.png)"]
    else:
        lines.append("(evaluation has not run)")
    return "\n".join(lines) + "\n"


def write_run_report(config: Any, summaries: dict[str, dict[str, Any]], fs: pafs.FileSystem, root: str) -> tuple[str, str | None]:
    """Write `<run>/report.md` (and copy the evaluation plot to `<run>/plot.png`)."""
    eval_dir = storage.join(root, "eval")
    eval_markdown = None
    plot = None
    if "eval" in summaries and fs.get_file_info(storage.join(eval_dir, "report.md")).type == pafs.FileType.File:
        with fs.open_input_stream(storage.join(eval_dir, "report.md")) as handle:
            eval_markdown = handle.read().decode()
        source = storage.join(eval_dir, "plot.png")
        if fs.get_file_info(source).type == pafs.FileType.File:
            plot = storage.join(root, "plot.png")
            fs.copy_file(source, plot)
    text = render_run_report(config.name, config.output_dir or f"runs/{config.name}", summaries, eval_markdown)
    path = storage.join(root, "report.md")
    with fs.open_output_stream(path) as handle:
        handle.write(text.encode())
    return path, plot
