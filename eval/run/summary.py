"""What an evaluation produced: metrics per model x benchmark and paired comparisons.

The metric records name the keys of `eval.metrics.benchmark_metrics` and
`eval.metrics.compare_models`, whose dicts the job passes in as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pipeline.jobs.summary import Record, StageSummary

if TYPE_CHECKING:
    from rich.console import RenderableType

    from eval.run.config import EvalConfig


class PassAtK(Record):
    """pass@k averaged over problems, with a Wilson 95% interval over problems."""

    value: float
    ci_low: float
    ci_high: float
    problems: int
    k: int


class MajorityVote(Record):
    """maj@n: the most frequent answer of each problem's samples, graded (n > 1 only)."""

    k: int
    n: int
    accuracy: float
    ci_low: float
    ci_high: float
    samples: int


class GroupMetrics(Record):
    """One level or subject of a benchmark: first-sample accuracy, pass@1, mean length."""

    k: int
    n: int
    accuracy: float
    ci_low: float
    ci_high: float
    pass1: float
    mean_tokens: float | None


class BenchmarkMetrics(Record):
    """One model on one benchmark; `k`/`n`/`accuracy` use each problem's first sample."""

    k: int
    n: int
    accuracy: float
    ci_low: float
    ci_high: float
    problems: int
    samples_per_problem: int
    generations: int
    pass1: PassAtK
    maj: MajorityVote | None
    no_answer: int
    mean_tokens: float | None
    mean_tokens_correct: float | None
    mean_tokens_incorrect: float | None
    by_level: dict[str, GroupMetrics]
    by_subject: dict[str, GroupMetrics]


class Bootstrap(Record):
    """Paired bootstrap of the per-problem difference student - base."""

    diff: float
    ci_low: float
    ci_high: float
    p_value: float


class Comparison(Record):
    """A model against the baseline on the problems both answered."""

    paired_problems: int
    base_correct: int
    student_correct: int
    gained: list[str]
    lost: list[str]
    mcnemar_p: float
    bootstrap: Bootstrap


class Throughput(Record):
    """One model's generation in this run: tokens over the span of its batches, from the first
    batch a loaded actor took to the last one written (model loading left out; generation,
    grading, writing and Ray Data's gaps kept)."""

    rows: int
    tokens: int
    busy_s: float
    tokens_per_s: float


class EvalSummary(StageSummary):
    stage: ClassVar[str] = "eval"

    report_md: str
    report_json: str
    plot_png: str
    results: dict[str, dict[str, BenchmarkMetrics]]  # model -> benchmark -> metrics
    comparisons: dict[str, dict[str, Comparison]]  # model -> benchmark -> against the baseline
    generated_this_run: int = 0
    skipped_already_written: int = 0
    rejected: dict[str, int] = {}
    throughput: dict[str, Throughput] = {}  # model -> its generation this run (models with nothing to do are absent)
    # the same, graded leniently: the last number or expression of each answer, no box needed
    lenient_results: dict[str, dict[str, BenchmarkMetrics]] = {}
    lenient_comparisons: dict[str, dict[str, Comparison]] = {}

    def markdown(self) -> str:
        """The evaluation's report.md without its title ('' when it is missing)."""
        from pipeline.runtime import storage

        fs, path = storage.resolve(self.report_md)
        try:
            with fs.open_input_stream(path) as handle:
                text = handle.read().decode()
        except (FileNotFoundError, OSError):
            return ""
        # Its title would be a second top-level heading inside the run report.
        body = text.split("\n", 1)[1] if text.startswith("# ") else text
        return body.strip()

    def rich(self, config: EvalConfig) -> RenderableType:
        from rich.console import Group
        from rich.table import Table

        table = Table(title=f"evaluation: {config.name} -> {self.output_dir}")
        for column in ("benchmark", "model", "k/n", "accuracy", "95% CI", "pass@1", "mean tokens"):
            table.add_column(column, justify="left" if column in ("benchmark", "model") else "right")
        for model, per_bench in self.results.items():
            for bench, m in per_bench.items():
                tokens = "-" if m.mean_tokens is None else f"{m.mean_tokens:.0f}"
                table.add_row(bench, model, f"{m.k}/{m.n}", f"{m.accuracy:.1%}",
                              f"[{m.ci_low:.1%}, {m.ci_high:.1%}]", f"{m.pass1.value:.1%}", tokens)
        lines = [
            f"{model} vs {config.baseline} on {bench}: +{len(c.gained)} / -{len(c.lost)} (McNemar p={c.mcnemar_p:.3g})"
            for model, per_bench in self.comparisons.items()
            for bench, c in per_bench.items()
        ]
        lines += [f"{model}: {t.tokens} tokens in {t.busy_s:.1f} s of generation ({t.tokens_per_s:.1f} tokens/s)"
                  for model, t in self.throughput.items()]
        lines.append(f"report: {self.report_md}  plot: {self.plot_png}  ({self.wall_time_s:.1f} s)")
        return Group(table, *lines)


__all__ = [
    "BenchmarkMetrics", "Bootstrap", "Comparison", "EvalSummary", "GroupMetrics", "MajorityVote", "PassAtK",
    "Throughput",
]
