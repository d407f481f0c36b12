"""`tooldistill demo` for now: one sandboxed call per category, then the defences at work."""

from __future__ import annotations

import asyncio
import json
import time

from rich.console import Console
from rich.table import Table

from toolkit.registry import CATEGORIES, select_tools
from toolkit.sandbox import Sandbox

SHOWCASE = [
    ("algebra", "factor_expression", {"expression": "x^4 - 5x^2 + 4"}),
    ("algebra", "partial_fractions", {"expression": "(3x + 5)/((x + 1)(x + 2))"}),
    ("equations", "solve_equation", {"equation": "x^2 - 5x + 6 = 0"}),
    ("equations", "solve_linear_system", {"equations": ["2x + 3y = 12", "x - y = 1"]}),
    ("inequalities", "solve_univariate_inequality", {"inequality": "|2x - 1| < 5"}),
    ("calculus", "differentiate", {"expression": "x^2 sin(x)"}),
    ("calculus", "definite_integral", {"expression": "x e^(-x)", "variable": "x", "lower": "0", "upper": "oo"}),
    ("linear_algebra", "compute_eigenvalues", {"matrix": [["2", "1"], ["1", "2"]]}),
    ("number_theory", "chinese_remainder", {"remainders": [2, 3, 2], "moduli": [3, 5, 7]}),
    ("combinatorics", "derangements_count", {"n": 5}),
    ("geometry", "triangle_area_from_sides", {"a": "13", "b": "14", "c": "15"}),
    ("geometry", "circle_through_points", {"point1": ["0", "0"], "point2": ["4", "0"], "point3": ["0", "3"]}),
]

DEFENCES = [
    ("code injection", "simplify_expression", {"expression": "__import__('os').system('id')"}),
    ("attribute escape", "simplify_expression", {"expression": "().__class__.__bases__"}),
    ("huge number", "simplify_expression", {"expression": "10**10**10"}),
    ("unknown function", "simplify_expression", {"expression": "system(x)"}),
    ("bad arguments", "solve_equation", {"equation": "x^2 = 4", "unknown": "x"}),
    ("math failure", "compute_inverse", {"matrix": [["1", "2"], ["2", "4"]]}),
]


def _short(payload: dict) -> str:
    if "error" in payload:
        err = payload["error"]
        return f"[red]{err['type']}[/red]: {err['message']}"
    return json.dumps(payload["result"], ensure_ascii=False)[:90]


def run_demo(console: Console) -> None:
    tools = select_tools()
    counts = {c: sum(t.category == c for t in tools) for c in CATEGORIES}
    console.print(f"[bold]tooldistill toolkit[/bold]: {len(tools)} tools — " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    started = time.perf_counter()
    with Sandbox(workers=2, timeout_s=5) as sandbox:
        console.print(f"sandbox: 2 workers ready in {time.perf_counter() - started:.1f} s; isolation {sandbox.isolation()}")
        known = {t.name for t in tools}
        table = Table(title="one call per category, run in the sandbox")
        for column in ("category", "call", "result", "ms"):
            table.add_column(column)
        for category, name, args in SHOWCASE:
            if name not in known:
                continue
            t0 = time.perf_counter()
            payload = sandbox.call_sync(name, args)
            table.add_row(category, f"{name}({json.dumps(args)})", _short(payload), f"{(time.perf_counter() - t0) * 1000:.0f}")
        console.print(table)

        table = Table(title="defences: every bad input becomes a structured error")
        for column in ("attempt", "call", "answer"):
            table.add_column(column)
        for label, name, args in DEFENCES:
            table.add_row(label, f"{name}({json.dumps(args)})", _short(sandbox.call_sync(name, args)))
        console.print(table)

        async def burst() -> float:
            t0 = time.perf_counter()
            calls = [sandbox.call("expand_expression", {"expression": f"(x + {i})^3"}) for i in range(200)]
            results = await asyncio.gather(*calls)
            assert all("result" in r for r in results)
            return time.perf_counter() - t0

        elapsed = asyncio.run(burst())
        console.print(f"200 concurrent async calls: {elapsed:.2f} s ({200 / elapsed:.0f} calls/s); stats {sandbox.stats()}")
