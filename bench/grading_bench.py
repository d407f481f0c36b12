"""Grading benchmark: our grader vs plain math-verify on the labelled pairs, speed and agreement.

    python bench/grading_bench.py [--repeats 3] [--workers 2] [--pairs tests/toolkit/grading_pairs.jsonl]

Prints a table and, as its last line, one JSON object with at least
{"ours_per_s", "math_verify_per_s", "speed_ratio", "ours_agreement", "math_verify_agreement"}.

- ours: `toolkit.grading.grade` in this process (extraction + normalisation + comparison), one
  pair after another — the same work as the sandboxed Grader minus the process hop;
- ours_sandboxed: `Grader(workers)` with every pair submitted at once (how the pipeline and
  the eval job grade), each comparison under a process-level deadline;
- math_verify: `verify(parse("$gold$"), parse(prediction))` as usually called.
Agreement is the fraction of pairs graded as labelled; precision and recall treat
"equal" as the positive class. Each pass runs over all pairs `--repeats` times and the
rate is pairs graded per second of wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import print_summary
from toolkit.grading import Grader, grade

DEFAULT_PAIRS = Path(__file__).resolve().parents[1] / "tests" / "toolkit" / "grading_pairs.jsonl"


def plain_math_verify(pred: str, gold: str) -> bool:
    from math_verify import parse, verify

    try:
        return bool(verify(parse(f"${gold}$", parsing_timeout=None), parse(pred, parsing_timeout=None), timeout_seconds=None))
    except Exception:
        return False


def scores(predicted: list[bool], labels: list[bool]) -> dict[str, float]:
    tp = sum(p and y for p, y in zip(predicted, labels, strict=True))
    fp = sum(p and not y for p, y in zip(predicted, labels, strict=True))
    fn = sum(not p and y for p, y in zip(predicted, labels, strict=True))
    agree = sum(p == y for p, y in zip(predicted, labels, strict=True))
    return {
        "agreement": round(agree / len(labels), 4),
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
    }


def timed(fn: Callable[[str, str], bool], pairs: list[tuple[str, str]], repeats: int) -> tuple[list[bool], float]:
    """(results of the first pass, pairs per second over all passes)."""
    start = time.perf_counter()
    first = [fn(p, g) for p, g in pairs]
    for _ in range(repeats - 1):
        for p, g in pairs:
            fn(p, g)
    return first, len(pairs) * repeats / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=str(DEFAULT_PAIRS), help="JSONL of {pred, gold, equal}")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the pairs per grader")
    parser.add_argument("--workers", type=int, default=2, help="sandbox workers of the Grader")
    args = parser.parse_args()

    rows = [json.loads(line) for line in Path(args.pairs).read_text().splitlines() if line.strip()]
    pairs = [(r["pred"], r["gold"]) for r in rows]
    labels = [bool(r["equal"]) for r in rows]

    # Warm up both (imports, SymPy caches) outside the timed passes.
    grade(r"\boxed{\frac{1}{2}}", "0.5")
    plain_math_verify(r"\boxed{\frac{1}{2}}", "0.5")

    ours, ours_rate = timed(lambda p, g: grade(p, g).equal, pairs, args.repeats)
    mv, mv_rate = timed(plain_math_verify, pairs, args.repeats)
    with Grader(workers=args.workers, timeout_s=10) as grader:
        grader.grade_many(pairs[:8])
        start = time.perf_counter()
        sandboxed = []
        for _ in range(args.repeats):
            sandboxed = [r.equal for r in grader.grade_many(pairs)]
        sandboxed_rate = len(pairs) * args.repeats / (time.perf_counter() - start)

    ours_scores, mv_scores, sandboxed_scores = scores(ours, labels), scores(mv, labels), scores(sandboxed, labels)
    summary = {
        "pairs": len(pairs),
        "repeats": args.repeats,
        "ours_per_s": round(ours_rate, 1),
        "ours_sandboxed_per_s": round(sandboxed_rate, 1),
        "sandbox_workers": args.workers,
        "math_verify_per_s": round(mv_rate, 1),
        "speed_ratio": round(ours_rate / mv_rate, 3),
        "sandboxed_speed_ratio": round(sandboxed_rate / mv_rate, 3),
        "ours_agreement": ours_scores["agreement"],
        "ours_precision": ours_scores["precision"],
        "ours_recall": ours_scores["recall"],
        "ours_sandboxed_agreement": sandboxed_scores["agreement"],
        "math_verify_agreement": mv_scores["agreement"],
        "math_verify_precision": mv_scores["precision"],
        "math_verify_recall": mv_scores["recall"],
    }
    print_summary(summary)


if __name__ == "__main__":
    main()
