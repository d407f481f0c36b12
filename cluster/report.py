"""The run report: what survived each stage, what training did, and how the student scored.

The report only collects what the finished stages' typed summaries (read back from each
`_COMPLETE.json`) say about themselves: the Yields table gathers every data stage's
`yield_rows()`, and each stage's `markdown()` fills its own part. `write_run_report` also
copies the evaluation's plot next to the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow.fs as pafs

from pipeline.jobs.summary import StageSummary, markdown_table
from pipeline.runtime import storage

DATA_STAGES = ("generate", "backtranslate")


def render_run_report(name: str, output_dir: str, summaries: Mapping[str, StageSummary]) -> str:
    """The markdown of a run report from the summaries of its finished stages (stage -> summary)."""
    lines = [f"# Run `{name}`", "", f"Folder: `{output_dir}`", "", "## Yields", ""]
    data = [summaries[stage] for stage in DATA_STAGES if stage in summaries]
    rows = [row for summary in data for row in summary.yield_rows()]
    lines.append(markdown_table(["stage", "rows", "yield"], rows) if rows else "(no data stage has finished)")
    for summary in data:  # a data stage's own part (per-tool tables) follows the shared table
        part = summary.markdown()
        if part:
            lines += ["", part]
    train = summaries.get("train")
    lines += ["", "## Training", "", train.markdown() if train else "(training has not run)"]
    lines += ["", "## Evaluation", ""]
    evaluation = summaries["eval"].markdown() if "eval" in summaries else ""
    if evaluation:
        lines += [evaluation, "", "![base vs student](plot.png)"]
    else:
        lines.append("(evaluation has not run)")
    return "\n".join(lines) + "\n"


def write_run_report(config: Any, summaries: Mapping[str, StageSummary], fs: pafs.FileSystem, root: str) -> tuple[str, str | None]:
    """Write `<run>/report.md` (and copy the evaluation plot to `<run>/plot.png`)."""
    plot = None
    summaries = dict(summaries)
    evaluation = summaries.get("eval")
    if evaluation is not None:
        # The evaluation's files as they lie in this run folder, even if it was moved since.
        eval_dir = storage.join(root, "eval")
        evaluation = summaries["eval"] = evaluation.model_copy(update={
            "report_md": storage.join(eval_dir, "report.md"), "plot_png": storage.join(eval_dir, "plot.png"),
        })
    if evaluation is not None and evaluation.markdown():
        source_fs, source = storage.resolve(evaluation.plot_png)
        if source_fs.get_file_info(source).type == pafs.FileType.File:
            plot = storage.join(root, "plot.png")
            pafs.copy_files(source, plot, source_filesystem=source_fs, destination_filesystem=fs)
    text = render_run_report(config.name, config.output_dir or f"runs/{config.name}", summaries)
    path = storage.join(root, "report.md")
    with fs.open_output_stream(path) as handle:
        handle.write(text.encode())
    return path, plot
