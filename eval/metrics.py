"""Evaluation metrics: pure functions over graded rows, no Ray, no models.

A graded row (one generation) is a mapping with at least `problem_id`, `sample` (0..n-1),
`correct` (bool), and optionally `pred` (the extracted answer), `completion_tokens`,
`level`, `subject`. Small benchmarks (AIME has 30 problems) make a single accuracy
misleading, so every number comes with its counts and a 95% interval, and two models
are compared problem by problem (McNemar's exact test and a paired bootstrap) with the
lists of problems that flipped each way.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Z_95 = 1.959963984540054

__all__ = [
    "accuracy",
    "benchmark_metrics",
    "breakdown",
    "compare_models",
    "flips",
    "length_stats",
    "lenient_rows",
    "majority_correct",
    "mcnemar_exact",
    "paired_bootstrap",
    "pass_at_k",
    "pass_at_k_with_ci",
    "per_problem",
    "wilson_interval",
]


def wilson_interval(k: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (sensible at k=0, k=n and small n).

    `k` may be fractional (a mean score times n), as for pass@1 over several samples.
    """
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= k <= n + 1e-9:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # exact ends at k=0 and k=n (the formula leaves rounding dust there)
    return (0.0 if k == 0 else max(0.0, centre - half), 1.0 if k == n else min(1.0, centre + half))


def accuracy(correct: Sequence[bool]) -> dict[str, Any]:
    """{k, n, accuracy, ci_low, ci_high} with a Wilson 95% interval."""
    n, k = len(correct), sum(bool(c) for c in correct)
    low, high = wilson_interval(k, n)
    return {"k": k, "n": n, "accuracy": k / n if n else 0.0, "ci_low": low, "ci_high": high}


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with c correct out of n samples (Chen et al., 2021)."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def _bootstrap_means(values: Sequence[float], resamples: int, seed: int) -> list[float]:
    """Sorted means of `resamples` resamples (with replacement) of `values`."""
    n = len(values)
    rng = random.Random(seed)
    return sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))


def _percentiles(sorted_means: Sequence[float]) -> tuple[float, float]:
    last = len(sorted_means) - 1
    return sorted_means[int(0.025 * last)], sorted_means[math.ceil(0.975 * last)]


def pass_at_k_with_ci(counts: Sequence[tuple[int, int]], k: int = 1) -> dict[str, Any]:
    """pass@k over problems given (samples, correct) per problem, with a 95% interval.

    The interval is Wilson's for the mean over problems with n = the number of problems:
    the benchmark's size, not the number of samples, limits what the mean can tell. With
    one sample per problem this is the accuracy's interval; with more it is conservative
    (averaging samples only lowers each problem's variance), and unlike a bootstrap it
    never collapses to a point when every problem scores the same.
    """
    if not counts:
        return {"value": 0.0, "ci_low": 0.0, "ci_high": 1.0, "problems": 0, "k": k}
    values = [pass_at_k(n, c, k) for n, c in counts]
    value = sum(values) / len(values)
    low, high = wilson_interval(sum(values), len(values))
    return {"value": value, "ci_low": low, "ci_high": high, "problems": len(counts), "k": k}


def majority_correct(answers: Sequence[str | None], correct: Sequence[bool]) -> bool:
    """Whether the most frequent answer is correct (maj@k over these samples).

    Answers are grouped by their normalised text; no answer never wins a vote; a tie
    goes to the answer seen first (so greedy-first orderings are stable).
    """
    from toolkit.grading import normalise_answer

    keys = [normalise_answer(a) if a else None for a in answers]
    votes = Counter(k for k in keys if k)
    if not votes:
        return False
    best = max(votes.values())
    winner = next(k for k in keys if k and votes[k] == best)
    return any(c for k, c in zip(keys, correct, strict=True) if k == winner)


def per_problem(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """problem_id -> that problem's rows, ordered by sample index."""
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[str(row["problem_id"])].append(row)
    return {pid: sorted(rs, key=lambda r: int(r.get("sample", 0))) for pid, rs in sorted(grouped.items())}


def length_stats(rows: Iterable[Mapping[str, Any]]) -> dict[str, float | None]:
    """Mean completion tokens, overall and for correct / incorrect solutions (None when empty)."""
    rows = list(rows)

    def mean(selected: list[Mapping[str, Any]]) -> float | None:
        lengths = [int(r["completion_tokens"]) for r in selected if r.get("completion_tokens") is not None]
        return sum(lengths) / len(lengths) if lengths else None

    return {
        "mean_tokens": mean(rows),
        "mean_tokens_correct": mean([r for r in rows if r["correct"]]),
        "mean_tokens_incorrect": mean([r for r in rows if not r["correct"]]),
    }


def breakdown(rows: Iterable[Mapping[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Per value of `key` (e.g. level, subject): pass@1 over samples, counts, mean length.

    Rows without the key are left out; an empty dict means the benchmark has no such field.
    """
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        value = row.get(key)
        if value not in (None, ""):
            groups[str(value)].append(row)
    out = {}
    for value, group in sorted(groups.items()):
        problems = per_problem(group)
        first = [rs[0]["correct"] for rs in problems.values()]
        p1 = sum(sum(r["correct"] for r in rs) / len(rs) for rs in problems.values()) / len(problems)
        out[value] = {**accuracy(first), "pass1": p1, "mean_tokens": length_stats(group)["mean_tokens"]}
    return out


def benchmark_metrics(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """All metrics of one model on one benchmark.

    `k`/`n`/`accuracy` (with Wilson interval) use each problem's first sample (the greedy
    run when sampling is greedy); `pass1` averages over all samples; `maj` is maj@n
    (None with one sample).
    """
    rows = list(rows)
    problems = per_problem(rows)
    first = accuracy([rs[0]["correct"] for rs in problems.values()])
    counts = [(len(rs), sum(bool(r["correct"]) for r in rs)) for rs in problems.values()]
    samples = max((n for n, _ in counts), default=0)
    maj = None
    if samples > 1:
        votes = [majority_correct([r.get("pred") for r in rs], [r["correct"] for r in rs]) for rs in problems.values()]
        maj = {**accuracy(votes), "k": sum(votes), "samples": samples}
    return {
        **first,
        "problems": len(problems),
        "samples_per_problem": samples,
        "generations": len(rows),
        "pass1": pass_at_k_with_ci(counts, 1),
        "maj": maj,
        "no_answer": sum(1 for r in rows if not r.get("pred")),
        **length_stats(rows),
        "by_level": breakdown(rows, "level"),
        "by_subject": breakdown(rows, "subject"),
    }


def lenient_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows as the lenient grading saw them (`lenient_correct`/`lenient_pred` as `correct`/`pred`),
    so every metric and comparison has a lenient twin with the same fields. Rows written before
    the lenient grading existed count as not correct."""
    return [{**r, "correct": bool(r.get("lenient_correct")), "pred": r.get("lenient_pred")} for r in rows]


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b (only base right) and
    c (only student right): a binomial test of b against Binomial(b + c, 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_bootstrap(
    base: Sequence[float], student: Sequence[float], resamples: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Mean difference student - base over paired problems, its 95% percentile interval and
    a two-sided bootstrap p-value (how often the resampled difference crosses zero)."""
    if len(base) != len(student):
        raise ValueError("paired samples must have the same length")
    n = len(base)
    if n == 0:
        return {"diff": 0.0, "ci_low": 0.0, "ci_high": 0.0, "p_value": 1.0}
    diffs = [s - b for b, s in zip(base, student, strict=True)]
    observed = sum(diffs) / n
    means = _bootstrap_means(diffs, resamples, seed)
    low, high = _percentiles(means)
    below = sum(m <= 0 for m in means) / resamples
    above = sum(m >= 0 for m in means) / resamples
    p = 1.0 if observed == 0 else min(1.0, 2 * min(below, above))
    return {"diff": observed, "ci_low": low, "ci_high": high, "p_value": p}


def flips(base: Mapping[str, bool], student: Mapping[str, bool]) -> tuple[list[str], list[str]]:
    """(gained, lost): problems only the student gets right, and only the base gets right."""
    shared = sorted(set(base) & set(student))
    gained = [p for p in shared if student[p] and not base[p]]
    lost = [p for p in shared if base[p] and not student[p]]
    return gained, lost


def compare_models(
    base_rows: Iterable[Mapping[str, Any]],
    student_rows: Iterable[Mapping[str, Any]],
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Paired comparison on the problems both models answered.

    McNemar and the flips use each problem's first sample; the paired bootstrap uses the
    per-problem fraction correct over samples (equal to the first sample when n=1).
    """
    base, student = per_problem(base_rows), per_problem(student_rows)
    shared = sorted(set(base) & set(student))
    base_first = {p: bool(base[p][0]["correct"]) for p in shared}
    student_first = {p: bool(student[p][0]["correct"]) for p in shared}
    gained, lost = flips(base_first, student_first)

    def frac(rs: list[Mapping[str, Any]]) -> float:
        return sum(bool(r["correct"]) for r in rs) / len(rs)

    boot = paired_bootstrap([frac(base[p]) for p in shared], [frac(student[p]) for p in shared], resamples, seed)
    return {
        "paired_problems": len(shared),
        "base_correct": sum(base_first.values()),
        "student_correct": sum(student_first.values()),
        "gained": gained,
        "lost": lost,
        "mcnemar_p": mcnemar_exact(len(lost), len(gained)),
        "bootstrap": boot,
    }
