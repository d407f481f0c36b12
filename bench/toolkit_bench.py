"""Toolkit benchmark: a fixed mix of realistic calls, sandboxed vs in-process, side by side.

    python bench/toolkit_bench.py [--calls 600] [--workers 2] [--seed 0]

Prints a table and, as its last line, one JSON object with at least
{"sandboxed_per_s", "inprocess_per_s", "ratio", "p99_ms"}.

- inprocess: the same calls through `toolkit.registry.execute` in this process, one after
  another (what the paper's toolkit does, minus its safety problems);
- sandboxed: through `Sandbox` with `--workers` processes, all calls submitted at once
  from asyncio (how the solver uses it);
- sandboxed_sequential: one call in flight at a time, to isolate the per-call overhead
  (pipes, JSON, scheduling) from the parallelism the pool adds.
Latency percentiles are per call, from the sequential sandboxed pass.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import print_summary
from toolkit.registry import all_tools, execute
from toolkit.sandbox import Sandbox
from toolkit.worker import _WARM_UP


def _expanded_quadratic(rng: random.Random) -> str:
    """(a x + b)(x - c) multiplied out, so that factoring has work to do."""
    a, b, c = rng.randint(1, 9), rng.randint(-9, 9), rng.randint(-9, 9)
    return f"{a}x^2 + ({b - a * c})x + ({-b * c})"


def _matrix(rng: random.Random, n: int) -> list[list[str]]:
    return [[str(rng.randint(-5, 5)) for _ in range(n)] for _ in range(n)]


def _point(rng: random.Random) -> list[str]:
    return [str(rng.randint(-9, 9)), str(rng.randint(-9, 9))]


# One template per line: (tool, argument builder). Every category is present; weights
# follow what solver traces call most (algebra, equations, calculus).
TEMPLATES = [
    ("simplify_expression", lambda r: {"expression": f"(x^2 - {r.randint(1, 9) ** 2})/(x + {r.randint(1, 9)})"}),
    ("simplify_expression", lambda r: {"expression": f"sin(x)^2 + cos(x)^2 + {r.randint(1, 9)}x"}),
    ("expand_expression", lambda r: {"expression": f"(x + {r.randint(1, 9)})^{r.randint(2, 6)}"}),
    ("factor_expression", lambda r: {"expression": _expanded_quadratic(r)}),
    ("partial_fractions", lambda r: {"expression": f"1/((x + {r.randint(1, 5)})(x - {r.randint(6, 9)}))"}),
    ("substitute_values", lambda r: {"expression": "x^2 + 3x y - y^2", "values": {"x": str(r.randint(-9, 9)), "y": f"1/{r.randint(2, 9)}"}}),
    ("evaluate_numerically", lambda r: {"expression": f"sqrt({r.randint(2, 99)}) + pi", "digits": 20}),
    ("solve_equation", lambda r: {"equation": f"x^2 - {r.randint(1, 20)}x + {r.randint(1, 50)} = 0"}),
    ("solve_equation", lambda r: {"equation": f"{r.randint(2, 9)}x - {r.randint(1, 40)} = {r.randint(1, 9)}"}),
    ("solve_linear_system", lambda r: {"equations": [f"{r.randint(1, 5)}x + {r.randint(1, 5)}y = {r.randint(1, 20)}", f"x - {r.randint(1, 5)}y = {r.randint(-9, 9)}"]}),
    ("solve_nonlinear_system", lambda r: {"equations": [f"x^2 + y^2 = {r.randint(5, 50)}", f"x - y = {r.randint(0, 3)}"]}),
    ("polynomial_roots", lambda r: {"expression": f"(x - {r.randint(-5, 5)})^2 (x + {r.randint(1, 5)})"}),
    ("discriminant", lambda r: {"expression": f"{r.randint(1, 5)}x^2 + {r.randint(-9, 9)}x + {r.randint(-9, 9)}"}),
    ("solve_univariate_inequality", lambda r: {"inequality": f"x^2 - {r.randint(1, 9)}x + {r.randint(-9, 5)} < 0"}),
    ("reduce_inequalities", lambda r: {"inequalities": [f"x > {r.randint(-9, 0)}", f"x^2 < {r.randint(1, 50)}"]}),
    ("differentiate", lambda r: {"expression": f"x^{r.randint(2, 6)} sin({r.randint(1, 5)}x)"}),
    ("integrate", lambda r: {"expression": f"x^{r.randint(1, 4)} e^x"}),
    ("definite_integral", lambda r: {"expression": f"x^{r.randint(1, 5)}", "variable": "x", "lower": "0", "upper": str(r.randint(1, 5))}),
    ("compute_limit", lambda r: {"expression": f"sin({r.randint(1, 9)}x)/x", "variable": "x", "point": "0"}),
    ("series_expansion", lambda r: {"expression": f"exp({r.randint(1, 3)}x)", "variable": "x", "point": "0", "order": 4}),
    ("find_critical_points", lambda r: {"expression": f"x^3 - {r.randint(1, 12)}x"}),
    ("summation", lambda r: {"expression": f"k^{r.randint(1, 3)}", "variable": "k", "lower": "1", "upper": "n"}),
    ("compute_determinant", lambda r: {"matrix": _matrix(r, 3)}),
    ("compute_eigenvalues", lambda r: {"matrix": [[str(r.randint(1, 5)), "1"], ["1", str(r.randint(1, 5))]]}),
    ("compute_rank", lambda r: {"matrix": _matrix(r, 3)}),
    ("matrix_multiplication", lambda r: {"matrix_a": _matrix(r, 2), "matrix_b": _matrix(r, 2)}),
    ("solve_matrix_equation", lambda r: {"matrix": [["2", "1"], ["1", "3"]], "rhs": [str(r.randint(1, 9)), str(r.randint(1, 9))]}),
    ("gcd", lambda r: {"numbers": [r.randint(10, 10**6), r.randint(10, 10**6)]}),
    ("prime_factorization", lambda r: {"n": r.randint(2, 10**9)}),
    ("modular_power", lambda r: {"base": r.randint(2, 99), "exponent": r.randint(10, 10**6), "modulus": r.randint(2, 10**4)}),
    ("modular_inverse", lambda r: {"a": r.choice([3, 7, 11, 13]), "m": r.choice([100, 101, 1000])}),
    ("chinese_remainder", lambda r: {"remainders": [r.randint(0, 2), r.randint(0, 4), r.randint(0, 6)], "moduli": [3, 5, 7]}),
    ("euler_totient", lambda r: {"n": r.randint(2, 10**6)}),
    ("binomial_coefficient", lambda r: {"n": r.randint(10, 60), "k": r.randint(0, 10)}),
    ("derangements_count", lambda r: {"n": r.randint(1, 15)}),
    ("partition_count", lambda r: {"n": r.randint(1, 200)}),
    ("distance", lambda r: {"point1": _point(r), "point2": _point(r)}),
    ("triangle_area_from_sides", lambda r: {"a": "13", "b": "14", "c": str(r.randint(2, 26))}),
    ("triangle_area_from_vertices", lambda r: {"vertex1": _point(r), "vertex2": _point(r), "vertex3": _point(r)}),
    ("line_intersection", lambda r: {"line1": f"y = {r.randint(1, 5)}x + {r.randint(-5, 5)}", "line2": f"y = -{r.randint(1, 5)}x + {r.randint(-5, 5)}"}),
    ("circumradius", lambda r: {"a": str(r.randint(5, 9)), "b": str(r.randint(5, 9)), "c": str(r.randint(5, 9))}),
]


def build_mix(n: int, seed: int) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    known = all_tools()
    templates = [t for t in TEMPLATES if t[0] in known]
    return [(name, make(rng)) for name, make in (templates[i % len(templates)] for i in range(n))]


def run_inprocess(calls: list[tuple[str, dict]]) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    payloads = [execute(name, args) for name, args in calls]
    return time.perf_counter() - start, payloads


def run_sandboxed(sandbox: Sandbox, calls: list[tuple[str, dict]]) -> tuple[float, list[dict]]:
    async def all_at_once() -> list[dict]:
        return await asyncio.gather(*(sandbox.call(name, args) for name, args in calls))

    start = time.perf_counter()
    payloads = asyncio.run(all_at_once())
    return time.perf_counter() - start, payloads


def run_sequential(sandbox: Sandbox, calls: list[tuple[str, dict]]) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for name, args in calls:
        t0 = time.perf_counter()
        sandbox.call_sync(name, args)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - start, latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()

    calls = build_mix(opts.calls, opts.seed)
    # Warm this process the way workers warm themselves, so neither side pays imports.
    for name, args in _WARM_UP:
        execute(name, args)
    with Sandbox(workers=opts.workers) as sandbox:
        # Rounds alternate sides so that machine noise hits both; each round uses fresh
        # arguments (a new seed) so that SymPy's caches do not turn round 2 into lookups.
        inproc_s = sandboxed_s = sequential_s = 0.0
        latencies: list[float] = []
        mismatches = 0
        for round_index in range(2):
            mix = build_mix(opts.calls, opts.seed + 1000 * round_index)
            t_in, expected = run_inprocess(mix)
            t_sb, got = run_sandboxed(sandbox, mix)
            inproc_s += t_in
            sandboxed_s += t_sb
            mismatches += sum(a != b for a, b in zip(expected, got, strict=True) if "error" not in a)
        seq_mix = build_mix(opts.calls, opts.seed + 7)
        t_in_seq, _ = run_inprocess(seq_mix)
        sequential_s, latencies = run_sequential(sandbox, seq_mix)
        stats = sandbox.stats()

    n = 2 * len(calls)
    errors = sum("error" in p for p in got)
    summary = {
        "calls": len(calls),
        "workers": opts.workers,
        "categories": sorted({all_tools()[name].category for name, _ in calls}),
        "inprocess_per_s": round(n / inproc_s, 1),
        "sandboxed_per_s": round(n / sandboxed_s, 1),
        "ratio": round(inproc_s / sandboxed_s, 3),
        "sandboxed_sequential_per_s": round(len(seq_mix) / sequential_s, 1),
        "inprocess_sequential_per_s": round(len(seq_mix) / t_in_seq, 1),
        "ratio_sequential": round(t_in_seq / sequential_s, 3),
        "overhead_ms_per_call": round((sequential_s - t_in_seq) / len(seq_mix) * 1000, 3),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "error_payloads_in_mix": errors,
        "results_differing_from_inprocess": mismatches,
        "timeouts": stats["timeouts"],
    }
    print_summary(summary)


if __name__ == "__main__":
    main()
