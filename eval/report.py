"""The evaluation report: markdown for people, JSON for programs, a PNG bar chart.

The markdown pieces are pure functions of the metrics (`results_table_markdown`,
`comparisons_markdown`, `breakdown_markdown`) so a run report can embed them;
`write_report` writes all three files into an output folder (local or URI).
"""

from __future__ import annotations

import io as _bytes_io
import json
from collections.abc import Mapping
from typing import Any

from pipeline.runtime import storage

Results = Mapping[str, Mapping[str, Mapping[str, Any]]]  # model -> benchmark -> metrics


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _interval(low: float, high: float) -> str:
    return f"[{_pct(low)}, {_pct(high)}]"


def _benchmarks(results: Results) -> list[str]:
    seen: list[str] = []
    for per_model in results.values():
        seen.extend(b for b in per_model if b not in seen)
    return seen


def results_table_markdown(results: Results) -> str:
    """One row per (benchmark, model): k/n, accuracy and its 95% interval, pass@1 over the
    samples with its interval, maj@n, answers missing, mean solution length."""
    lines = [
        "| benchmark | model | k/n | accuracy % | 95% CI | pass@1 % (n) | pass@1 95% CI | maj@n % | no answer | mean tokens |",
        "|---|---|---:|---:|---|---:|---|---:|---:|---:|",
    ]
    for bench in _benchmarks(results):
        for model, per_model in results.items():
            m = per_model.get(bench)
            if m is None:
                continue
            p1 = m["pass1"]
            maj = _pct(m["maj"]["accuracy"]) if m.get("maj") else "–"
            tokens = "–" if m.get("mean_tokens") is None else f"{m['mean_tokens']:.0f}"
            lines.append(
                f"| {bench} | {model} | {m['k']}/{m['n']} | {_pct(m['accuracy'])} | {_interval(m['ci_low'], m['ci_high'])} "
                f"| {_pct(p1['value'])} ({m['samples_per_problem']}) | {_interval(p1['ci_low'], p1['ci_high'])} | {maj} "
                f"| {m['no_answer']} | {tokens} |"
            )
    return "\n".join(lines)


def comparisons_markdown(comparisons: Mapping[str, Mapping[str, Mapping[str, Any]]], baseline: str | None) -> str:
    """Student vs baseline per benchmark: both counts, the flips, McNemar and bootstrap."""
    if not comparisons or not baseline:
        return ""
    lines = [
        f"| benchmark | model | {baseline} k | model k | paired n | gained | lost | McNemar p | Δ % [95% CI] (bootstrap) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    flip_lines = []
    for model, per_bench in comparisons.items():
        for bench, c in per_bench.items():
            b = c["bootstrap"]
            lines.append(
                f"| {bench} | {model} | {c['base_correct']} | {c['student_correct']} | {c['paired_problems']} "
                f"| {len(c['gained'])} | {len(c['lost'])} | {c['mcnemar_p']:.3g} "
                f"| {100 * b['diff']:+.1f} [{100 * b['ci_low']:+.1f}, {100 * b['ci_high']:+.1f}] |"
            )
            if c["gained"] or c["lost"]:
                flip_lines.append(
                    f"- **{model} on {bench}** — gained ({len(c['gained'])}): {', '.join(c['gained']) or 'none'}; "
                    f"lost ({len(c['lost'])}): {', '.join(c['lost']) or 'none'}"
                )
    text = "\n".join(lines)
    if flip_lines:
        text += "\n\nProblems that flipped (first sample of each problem):\n\n" + "\n".join(flip_lines)
    return text


def breakdown_markdown(results: Results, key: str = "by_level") -> str:
    """Accuracy and mean length per level (or subject) for the benchmarks that have them."""
    lines = []
    for bench in _benchmarks(results):
        values: list[str] = []
        for per_model in results.values():
            for v in (per_model.get(bench) or {}).get(key, {}):
                if v not in values:
                    values.append(v)
        if not values:
            continue
        lines += [f"**{bench}**", "", "| " + key.removeprefix("by_") + " | " + " | ".join(results) + " |",
                  "|---|" + "---|" * len(results)]
        for v in values:
            cells = []
            for per_model in results.values():
                g = (per_model.get(bench) or {}).get(key, {}).get(v)
                tokens = "" if not g or g.get("mean_tokens") is None else f", {g['mean_tokens']:.0f} tok"
                cells.append("–" if g is None else f"{g['k']}/{g['n']} ({_pct(g['accuracy'])}%{tokens})")
            lines.append(f"| {v} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip()


def render_markdown(
    results: Results, comparisons: Mapping[str, Any], meta: Mapping[str, Any], lenient: Mapping[str, Any] | None = None
) -> str:
    sampling = meta.get("sampling", {})
    parts = [
        f"# Evaluation: {meta.get('name', 'eval')}",
        "",
        f"Sampling: temperature {sampling.get('temperature')}, top_p {sampling.get('top_p')}, "
        f"max_new_tokens {sampling.get('max_new_tokens')}, n {sampling.get('n')}, seed {sampling.get('seed')}. "
        "Accuracy uses each problem's first sample; pass@1 averages all samples. Intervals are 95% "
        "Wilson intervals over problems; the paired Δ interval is a percentile bootstrap over problems.",
        "",
        "## Results",
        "",
        results_table_markdown(results),
    ]
    compared = comparisons_markdown(comparisons, meta.get("baseline"))
    if compared:
        parts += ["", f"## Against the baseline `{meta.get('baseline')}`", "", compared]
    if lenient is not None:
        parts += ["", "## Graded leniently (no box needed)", "",
                  "The same answers graded a second way: the last number or math expression of each response, "
                  "with the same equivalence checker. A gain that is only format (learning to write `\\boxed{}`) "
                  "would vanish here.", "", results_table_markdown(lenient["results"])]
        compared = comparisons_markdown(lenient["comparisons"], meta.get("baseline"))
        if compared:
            parts += ["", compared]
    for key, title in (("by_level", "By difficulty level"), ("by_subject", "By subject")):
        table = breakdown_markdown(results, key)
        if table:
            parts += ["", f"## {title}", "", table]
    parts += ["", "## Run", "",
              f"generated this run: {meta.get('generated_this_run', 0)}, already written: "
              f"{meta.get('skipped_already_written', 0)}, rejected: {meta.get('rejected', {})}, "
              f"wall time: {meta.get('wall_time_s', 0)} s"]
    return "\n".join(parts) + "\n"


def plot_png(results: Results, title: str = "accuracy") -> bytes:
    """A grouped bar chart: pass@1 per benchmark, one bar per model, with 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benches, models = _benchmarks(results), list(results)
    width = 0.8 / max(1, len(models))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(benches) + 2), 3.6), dpi=120)
    for i, model in enumerate(models):
        xs, ys, lo, hi = [], [], [], []
        for j, bench in enumerate(benches):
            m = results[model].get(bench)
            if m is None:
                continue
            p1 = m["pass1"]
            xs.append(j - 0.4 + width * (i + 0.5))
            ys.append(100 * p1["value"])
            lo.append(100 * max(0.0, p1["value"] - p1["ci_low"]))
            hi.append(100 * max(0.0, p1["ci_high"] - p1["value"]))
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=model)
    ax.set_xticks(range(len(benches)), benches)
    ax.set_ylabel("pass@1 (%) with 95% CI")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    buffer = _bytes_io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def write_report(
    output_dir: str, results: Results, comparisons: Mapping[str, Any], meta: Mapping[str, Any],
    lenient: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Write report.md, report.json and plot.png into `output_dir`; returns their paths.

    `lenient` ({"results", "comparisons"} graded by the last number or expression) goes into
    report.json under "lenient" with the strict ones' fields, and beside them in report.md.
    """
    fs, base = storage.resolve(output_dir)
    storage.ensure_dir(fs, base)
    paths = {"markdown": storage.join(base, "report.md"), "json": storage.join(base, "report.json"), "plot": storage.join(base, "plot.png")}
    payload = {"meta": dict(meta), "results": results, "comparisons": comparisons}
    if lenient is not None:
        payload["lenient"] = dict(lenient)
    contents = {
        "markdown": render_markdown(results, comparisons, meta, lenient).encode(),
        "json": json.dumps(payload, indent=2, default=str).encode(),
        "plot": plot_png(results, f"{meta.get('name', 'eval')}: pass@1 per benchmark"),
    }
    for key, path in paths.items():
        with fs.open_output_stream(path) as handle:
            handle.write(contents[key])
    return paths
