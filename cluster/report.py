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


def render_run_report(name: str, output_dir: str, summaries: Mapping[str, StageSummary], case: str = "") -> str:
    """The markdown of a run report from the summaries of its finished stages (stage -> summary);
    `case` (base vs student on the held-out problems) goes first when there is one."""
    lines = [f"# Run `{name}`", "", f"Folder: `{output_dir}`", ""]
    if case:
        lines += [case, ""]
    lines += ["## Yields", ""]
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
    case = case_for_the_student(config, summaries, fs, root) if evaluation is not None else ""
    text = render_run_report(config.name, config.output_dir or f"runs/{config.name}", summaries, case)
    path = storage.join(root, "report.md")
    with fs.open_output_stream(path) as handle:
        handle.write(text.encode())
    return path, plot


def heldout_benchmarks(config: Any) -> list[str]:
    """The evaluation's held-out synthetic slices (seeds generation never used)."""
    return [ref.name for ref in config.eval.benchmarks if ref.synthetic is not None]


def case_for_the_student(config: Any, summaries: Mapping[str, StageSummary], fs: pafs.FileSystem, root: str) -> str:
    """The report's first section: headline, per-family table, loss curve, three examples, the prompt.

    Writes `loss.png` beside the report (from the training summary's metrics). Empty when the
    run has no held-out synthetic benchmark or no baseline to compare with.
    """
    from cluster import evidence
    from eval.run.job import load_items
    from pipeline.runtime.storage import RunFolder
    from pipeline.student_prompt import student_messages

    evaluation, baseline = summaries["eval"], config.eval.baseline
    heldout = heldout_benchmarks(config)
    lines = evidence.headlines(evaluation, heldout, baseline)
    if not lines or baseline is None:
        return ""
    trained = config.generate.problems.families if config.generate.problems.kind == "synthetic" else None
    student = next(iter(evaluation.comparisons))
    out = ["## Does the student beat its base model?", ""]
    out += [f"Held-out `{h.benchmark}` ({h.problems} problems, seeds never used for training), {h.sentence()}." for h in lines]
    out += ["", "Strict grading reads the final answer (the box first); lenient grading takes the last number or "
            "expression of the response with the same checker, so a gain that is only format (learning to write "
            "`\\boxed{}`) would vanish under it."]
    scope = ", ".join(trained) if trained else "the problem families generation drew from"
    out += ["", f"The gain is measured on the synthetic families the student was trained on ({scope}), with new "
            "numbers and seeds; it is not a claim about competition mathematics. The GSM8K and MATH-500 slices "
            "below check that nothing else collapsed: with so few problems only a large change would show there."]
    for bench in heldout:
        out += ["", f"### Per family: `{bench}`", "", evidence.family_table(evaluation, bench, baseline, trained)]
    train = summaries.get("train")
    png = evidence.loss_curve_png(train.metrics_history) if train is not None else None
    if png is not None:
        with fs.open_output_stream(storage.join(root, "loss.png")) as handle:
            handle.write(png)
        out += ["", "### Training loss", "", "![training loss](loss.png)"]
    folder = RunFolder.at(fs, storage.join(root, "eval"))
    for bench in heldout[:1]:
        items = {item.id: item for item in load_items(next(r for r in config.eval.benchmarks if r.name == bench))}
        base = _generations(folder, baseline, bench)
        mine = _generations(folder, student, bench)
        chosen = evidence.pick_examples(base, mine)
        if chosen:
            out += ["", f"### Three held-out problems, {baseline} and {student} side by side", ""]
            by_b, by_s = {r["problem_id"]: r for r in base}, {r["problem_id"]: r for r in mine}
            for pid in chosen:
                item = items.get(pid)
                out += [evidence.side_by_side(item.problem if item else pid, by_b[pid]["gold"], by_b[pid], by_s[pid],
                                              (baseline, student)), ""]
    asked = student_messages("<problem>", config.eval.prompt)
    out += ["### The prompt", "", "Both models were asked, and the student was trained on, this conversation "
            "(one function builds it for the SFT rows and the evaluation):", "", "```",
            *[f"{m['role']}: {m['content']}" for m in asked], "```"]
    return "\n".join(out)


def _generations(folder: Any, model: str, benchmark: str) -> list[dict[str, Any]]:
    from eval.run.job import generations_of

    table = folder.read(*generations_of(model, benchmark))
    return [] if table is None else [r for r in table.to_pylist() if r.get("sample", 0) == 0]
