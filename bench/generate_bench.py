"""Generation benchmark, measured side by side in one run.

    python bench/generate_bench.py [--symbolic 10000] [--orchestration 4000] [--concurrency 256]
                                   [--peer-problems 2048] [--peer-latency 1.0] [--peer-concurrency 512]

(a) symbolic teacher: problems/s through the full Ray Data job (read, clean, solve,
    grade, write) vs a plain asyncio loop over the same problems in one process with
    the same sandbox, teacher and grader — the ratio is what Ray costs or gives.
(b) orchestration: the job with an OpenAI-compatible teacher against a local endpoint
    (its own process, bench/latency_server.py) with a fixed 200 ms latency and
    `--concurrency` requests allowed in flight: the mean number actually in flight / the
    allowed number (goal >= 0.95), and the share of the solve stage's wall time that is
    not waiting on the endpoint (goal < 5%).
(c) peers (bench/http_peers.py): Ray's `ray.data.llm` HTTP request processor and a bare
    aiohttp loop send the job's very requests (the Solver Agent's plan turn and first tool
    turn, two per problem: the endpoint answers the tool turn with a boxed answer) with the
    same in-flight limit; completed requests/s at the server, from the first request in to
    the last reply out. At `--peer-latency` / `--peer-concurrency` (1 s / 512): keys
    `ratio_vs_ray_data_llm` and `ratio_vs_bare` (goals >= 1.0 and >= 0.9); at the 200 ms /
    `--concurrency` case of (b): the same keys with the suffix `_200ms_256`.

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

from bench.http_peers import (
    SolverRequests,
    problem_text,
    ray_data_llm_settings,
    run_bare,
    run_ray_data_llm,
)
from bench.latency_server import LatencyServerProcess
from bench.report import print_summary

ORCHESTRATION_LATENCY_S = 0.2


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


def orchestration(count: int, concurrency: int, server: LatencyServerProcess, workdir: Path) -> dict:
    """The generation job with an `openai` teacher against `server`, `concurrency` requests allowed in flight."""
    from pipeline.generate import GenerateConfig, run_generate

    problems = workdir / f"constant-{count}.jsonl"
    problems.write_text("".join(json.dumps({"id": f"c{i}", "problem": problem_text(i), "answer": "42"}) + "\n" for i in range(count)))
    actors = 2
    config = GenerateConfig.model_validate(
        {
            "name": "bench-orchestration",
            "output_dir": str(workdir / f"orchestration-{server.latency_s}-{concurrency}"),
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
    server.reset()
    started = time.perf_counter()
    summary = run_generate(config, progress=False)
    job_wall = time.perf_counter() - started
    stats = server.stats()
    requests_per_problem = stats["requests"] / count
    ideal = math.ceil(count / concurrency) * requests_per_problem * server.latency_s
    serving_wall = stats["serving_s"]
    return {
        "orchestration_problems": count,
        "accepted": summary.accepted,
        "requests": stats["requests"],
        "mean_in_flight": round(stats["mean_in_flight"], 1),
        "max_in_flight": stats["max_in_flight"],
        "in_flight_ratio": round(stats["mean_in_flight"] / concurrency, 3),
        "solve_stage_wall_s": round(serving_wall, 2),
        "ideal_wall_s": round(ideal, 2),
        "overhead_share": round(max(0.0, 1 - ideal / serving_wall), 3),
        "job_wall_s_with_startup": round(job_wall, 2),
        # for the peer comparison: completed requests per second over the same window
        "request_bytes": stats["request_bytes"],
        "requests_per_s": stats["requests"] / serving_wall if serving_wall else 0.0,
    }


def peers(job: dict, concurrency: int, server: LatencyServerProcess, suffix: str) -> dict:
    """`ray.data.llm` and the bare loop sending the job's requests (bench/http_peers.py), and the ratios."""
    requests = SolverRequests()
    requests.check()
    count = job["requests"]
    ray_llm = run_ray_data_llm(server, requests, count, concurrency)
    bare = run_bare(server, requests, count, concurrency)
    for name, peer in (("ray_data_llm", ray_llm), ("bare", bare)):
        print(f"# {name}{suffix}: {peer}", flush=True)
    print(f"# ray_data_llm{suffix} settings: {ray_data_llm_settings(concurrency, 2, 0.5)}", flush=True)
    # The same requests: byte for byte from the bare loop, and from Ray but for its escaping of non-ASCII.
    escaped = sum(len(json.dumps(requests.payload(k)).encode()) - len(requests.body(k)) for k in (0, 1)) * count // 2
    if bare["request_bytes"] != job["request_bytes"] or ray_llm["request_bytes"] != job["request_bytes"] + escaped:
        raise AssertionError(f"not the same requests: {job['request_bytes']} bytes from the job, "
                             f"{bare['request_bytes']} bare, {ray_llm['request_bytes']} ray.data.llm (+{escaped} expected)")
    return {
        f"job_requests_per_s{suffix}": round(job["requests_per_s"], 1),
        f"ray_data_llm_requests_per_s{suffix}": round(ray_llm["requests_per_s"], 1),
        f"bare_requests_per_s{suffix}": round(bare["requests_per_s"], 1),
        f"job_in_flight_ratio{suffix}": round(job["mean_in_flight"] / concurrency, 3),
        f"ray_data_llm_in_flight_ratio{suffix}": round(ray_llm["in_flight_ratio"], 3),
        f"bare_in_flight_ratio{suffix}": round(bare["in_flight_ratio"], 3),
        f"ratio_vs_ray_data_llm{suffix}": round(job["requests_per_s"] / ray_llm["requests_per_s"], 3),
        f"ratio_vs_bare{suffix}": round(job["requests_per_s"] / bare["requests_per_s"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbolic", type=int, default=10_000)
    parser.add_argument("--orchestration", type=int, default=4_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--peer-problems", type=int, default=2_048, help="problems of the peer case (0: no peers at all)")
    parser.add_argument("--peer-latency", type=float, default=1.0)
    parser.add_argument("--peer-concurrency", type=int, default=512)
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
        peer_results: dict = {}
        if opts.orchestration:
            with LatencyServerProcess(ORCHESTRATION_LATENCY_S) as server:
                job = orchestration(opts.orchestration, opts.concurrency, server, workdir)
                if opts.peer_problems:
                    suffix = f"_{round(ORCHESTRATION_LATENCY_S * 1000)}ms_{opts.concurrency}"
                    peer_results.update(peers(job, opts.concurrency, server, suffix))
            result.update({k: v for k, v in job.items() if k not in ("request_bytes", "requests_per_s")})
        if opts.peer_problems:
            with LatencyServerProcess(opts.peer_latency) as server:
                job = orchestration(opts.peer_problems, opts.peer_concurrency, server, workdir)
                print(f"# job at {opts.peer_latency} s / {opts.peer_concurrency}: {job}", flush=True)
                result.update(peer_problems=opts.peer_problems, peer_latency_s=opts.peer_latency,
                              peer_concurrency=opts.peer_concurrency, **peers(job, opts.peer_concurrency, server, ""))
            result.update(peer_results)
    print_summary(result)


if __name__ == "__main__":
    main()
