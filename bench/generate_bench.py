"""Generation benchmark, measured side by side in one run.

    python bench/generate_bench.py [--symbolic 10000] [--orchestration 4000] [--concurrency 256]

(a) symbolic teacher: problems/s through the full Ray Data job (read, clean, solve,
    grade, write) vs a plain asyncio loop over the same problems in one process with
    the same sandbox, teacher and grader — the ratio is what Ray costs or gives.
(b) orchestration: the job with an OpenAI-compatible teacher against a local endpoint
    with a fixed 200 ms latency and `--concurrency` requests allowed in flight: the mean
    number actually in flight / the allowed number (goal >= 0.95), and the share of the
    solve stage's wall time that is not waiting on the endpoint (goal < 5%).

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.latency_server import LatencyServer
from bench.report import print_summary


def symbolic_ray(count: int, workdir: Path) -> float:
    from pipeline.generate import GenerateConfig, run_generate

    config = GenerateConfig.model_validate(
        {
            "name": "bench-symbolic",
            "output_dir": str(workdir / "symbolic"),
            "problems": {"kind": "synthetic", "count": count, "seed": 11},
            "clean": {"benchmarks": ["math500", "gsm8k"]},
            "resources": {"num_actors": 2, "num_cpus_per_actor": 0.5, "batch_size": 32, "concurrency_per_actor": 32},
        }
    )
    started = time.perf_counter()
    summary = run_generate(config, progress=False)
    elapsed = time.perf_counter() - started
    assert summary.input_rows == count
    return count / elapsed


def symbolic_asyncio(count: int) -> float:
    from pipeline.agents.solver import solve
    from pipeline.filtering import classify
    from pipeline.synthetic import generate_problems
    from pipeline.teachers.symbolic import SymbolicTeacher
    from toolkit.grading import Grader
    from toolkit.registry import openai_tools
    from toolkit.sandbox import Sandbox

    problems = generate_problems(count, seed=11)
    tools = openai_tools()

    async def run() -> None:
        teacher = SymbolicTeacher()
        limit = asyncio.Semaphore(64)
        async with Sandbox(workers=2) as sandbox:
            with Grader(workers=1) as grader:

                async def one(problem) -> None:
                    async with limit:
                        trace = await solve(problem, teacher, sandbox.call, tools)
                        graded = await grader.agrade(f"\\boxed{{{trace.final_answer}}}", problem.answer)
                        classify(trace, graded.equal)

                await asyncio.gather(*(one(p) for p in problems))

    started = time.perf_counter()
    asyncio.run(run())
    return count / (time.perf_counter() - started)


def orchestration(count: int, concurrency: int, workdir: Path) -> dict:
    from pipeline.generate import GenerateConfig, run_generate

    problems = workdir / "constant.jsonl"
    problems.write_text("".join(json.dumps({"id": f"c{i}", "problem": f"Problem {i}: what is 40 + 2?", "answer": "42"}) + "\n" for i in range(count)))
    server = LatencyServer(latency_s=0.2).start()
    actors = 2
    config = GenerateConfig.model_validate(
        {
            "name": "bench-orchestration",
            "output_dir": str(workdir / "orchestration"),
            "problems": {"kind": "file", "path": str(problems)},
            "clean": {"decontaminate": False, "deduplicate": False},
            "teacher": {"kind": "openai", "options": {"base_url": server.base_url, "model": "latency", "max_concurrency": concurrency, "timeout_s": 30}},
            "filter": {"require_tool": False},
            "resources": {
                "num_actors": actors,
                "num_cpus_per_actor": 0.5,
                "batch_size": 16,
                "batches_in_flight_per_actor": concurrency // actors // 16,
                "concurrency_per_actor": concurrency // actors,
                "num_blocks": max(4, count // 64),
            },
        }
    )
    started = time.perf_counter()
    summary = run_generate(config, progress=False)
    job_wall = time.perf_counter() - started
    server.stop()
    requests_per_problem = server.requests / count
    ideal = math.ceil(count / concurrency) * requests_per_problem * server.latency_s
    serving_wall = server.last_response - server.first_request
    return {
        "orchestration_problems": count,
        "accepted": summary.accepted,
        "requests": server.requests,
        "mean_in_flight": round(server.mean_in_flight(), 1),
        "max_in_flight": server.max_in_flight,
        "in_flight_ratio": round(server.mean_in_flight() / concurrency, 3),
        "solve_stage_wall_s": round(serving_wall, 2),
        "ideal_wall_s": round(ideal, 2),
        "overhead_share": round(max(0.0, 1 - ideal / serving_wall), 3),
        "job_wall_s_with_startup": round(job_wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbolic", type=int, default=10_000)
    parser.add_argument("--orchestration", type=int, default=4_000)
    parser.add_argument("--concurrency", type=int, default=256)
    opts = parser.parse_args()

    from pipeline.runtime.ray_start import ensure_ray

    ensure_ray(num_cpus=2)
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if opts.symbolic:
            plain = symbolic_asyncio(opts.symbolic)
            ray_rate = symbolic_ray(opts.symbolic, workdir)
            result.update(
                symbolic_problems=opts.symbolic,
                symbolic_ray_per_s=round(ray_rate, 1),
                symbolic_asyncio_per_s=round(plain, 1),
                symbolic_ratio=round(ray_rate / plain, 3),
            )
        if opts.orchestration:
            result.update(orchestration(opts.orchestration, opts.concurrency, workdir))
    print_summary(result)


if __name__ == "__main__":
    main()
