"""The case for the student, at the top of a run report: did distillation make it better?

Pure functions over what the finished stages wrote: the headline (base vs student on the
held-out synthetic problems, graded strictly and leniently, with McNemar's exact p-value and
the flips), a per-family table with intervals, the training-loss curve drawn from the metrics
the training loop logged (the same numbers TensorBoard and MLflow get), three held-out
problems with both models' solutions side by side, and the prompt both were asked with.

The held-out benchmarks are the evaluation's `synthetic` slices (seeds that generation never
used); the other benchmarks (GSM8K, MATH-500 slices) are a check that nothing else collapsed.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.jobs.summary import markdown_table

SIGNIFICANT = 0.05


@dataclass(frozen=True)
class Headline:
    """Base vs student on one held-out benchmark, under one grading."""

    benchmark: str
    grading: str  # "strict" or "lenient"
    problems: int
    base_correct: int
    student_correct: int
    gained: int
    lost: int
    mcnemar_p: float

    @property
    def gain_pp(self) -> float:
        return 100.0 * (self.student_correct - self.base_correct) / self.problems if self.problems else 0.0

    def sentence(self) -> str:
        verdict = "significant" if self.mcnemar_p < SIGNIFICANT and self.gain_pp > 0 else "not significant"
        return (f"{self.grading}: base {self.base_correct}/{self.problems} → student {self.student_correct}/{self.problems} "
                f"({self.gain_pp:+.1f} pp; {self.gained} gained, {self.lost} lost; McNemar exact p = {self.mcnemar_p:.2g}, "
                f"{verdict})")


def headlines(evaluation: Any, heldout: Sequence[str], baseline: str | None) -> list[Headline]:
    """One Headline per (held-out benchmark, grading) for the first model compared with the baseline."""
    out: list[Headline] = []
    for grading, comparisons in (("strict", evaluation.comparisons), ("lenient", evaluation.lenient_comparisons)):
        if not comparisons or baseline is None:
            continue
        student = next(iter(comparisons))
        for bench in heldout:
            c = comparisons[student].get(bench)
            if c is None:
                continue
            out.append(Headline(bench, grading, c.paired_problems, c.base_correct, c.student_correct,
                                len(c.gained), len(c.lost), c.mcnemar_p))
    return out


def family_table(evaluation: Any, benchmark: str, baseline: str, trained: Sequence[str] | None) -> str:
    """Per family (the held-out set's subject): base and student accuracy with 95% Wilson intervals, both gradings."""
    models = [baseline] + [m for m in evaluation.results if m != baseline]
    strict = {m: evaluation.results[m][benchmark].by_subject for m in models if benchmark in evaluation.results.get(m, {})}
    lenient = {m: evaluation.lenient_results.get(m, {}).get(benchmark) for m in models}
    families = sorted({f for per in strict.values() for f in per})
    rows = []
    for family in families:
        row: list[Any] = [family + ("" if trained is None or family in trained else " (not trained on)")]
        for m in models:
            g = strict.get(m, {}).get(family)
            row.append("-" if g is None else f"{g.k}/{g.n} ({g.accuracy:.0%}) [{g.ci_low:.0%}, {g.ci_high:.0%}]")
        for m in models:
            g = lenient[m].by_subject.get(family) if lenient.get(m) is not None else None
            row.append("-" if g is None else f"{g.k}/{g.n} ({g.accuracy:.0%})")
        rows.append(row)
    header = ["family"] + [f"{m} (strict)" for m in models] + [f"{m} (lenient)" for m in models]
    return markdown_table(header, rows)


def loss_curve_png(history: Sequence[Mapping[str, Any]], title: str = "training loss") -> bytes | None:
    """The training loss per optimizer step (the loop's reported metrics); None without any."""
    points = [(int(m["step"]), float(m["loss"])) for m in history if m.get("loss") is not None]
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.2), dpi=120)
    ax.plot([s for s, _ in points], [v for _, v in points], marker="o", markersize=2.5)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (assistant tokens)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def pick_examples(base: Sequence[Mapping[str, Any]], student: Sequence[Mapping[str, Any]], count: int = 3) -> list[str]:
    """Problem ids to show: problems the student gained first, then ones both solved, then the rest
    (by id within each group, so the choice is reproducible)."""
    b = {r["problem_id"]: r for r in base if r.get("sample", 0) == 0}
    s = {r["problem_id"]: r for r in student if r.get("sample", 0) == 0}
    shared = sorted(set(b) & set(s))

    def rank(pid: str) -> int:
        gained = s[pid]["correct"] and not b[pid]["correct"]
        both = s[pid]["correct"] and b[pid]["correct"]
        return 0 if gained else 1 if both else 2

    return sorted(shared, key=lambda pid: (rank(pid), pid))[:count]


def side_by_side(problem: str, gold: str, base: Mapping[str, Any], student: Mapping[str, Any],
                 names: tuple[str, str] = ("base", "student")) -> str:
    """One problem with both solutions in two columns (an HTML table: GitHub renders it in markdown)."""

    def cell(row: Mapping[str, Any]) -> str:
        mark = "correct" if row["correct"] else "wrong"
        return (f"<td valign=\"top\"><b>{mark}</b> (answer: <code>{html.escape(str(row.get('pred')))}</code>)"
                f"<pre>{html.escape(str(row.get('text') or '').strip())}</pre></td>")

    return "\n".join([
        f"**Problem** ({html.escape(str(base.get('problem_id')))}; gold answer `{gold}`): {problem}",
        "",
        f"<table><tr><th>{names[0]}</th><th>{names[1]}</th></tr><tr>{cell(base)}{cell(student)}</tr></table>",
    ])
