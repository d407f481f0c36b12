"""The sandbox: hard deadlines, memory caps, crashes, no network, no writes, concurrency."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from toolkit.sandbox import Sandbox

FAULTS = "tests.toolkit.fault_tools"
DEADLINE = 2.0


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2, timeout_s=DEADLINE, tool_modules=[FAULTS]) as sb:
        yield sb


def timed(sandbox: Sandbox, name: str, args: dict | None = None) -> tuple[dict, float]:
    start = time.monotonic()
    payload = sandbox.call_sync(name, args or {})
    return payload, time.monotonic() - start


def assert_serves(sandbox: Sandbox) -> None:
    payload = sandbox.call_sync("factor_expression", {"expression": "x^2 - 1"})
    assert payload["result"] == "(x - 1)*(x + 1)"


def assert_contained(sandbox: Sandbox, error: str, name: str, args: dict | None = None, at_least: float = 0.0) -> None:
    """The call comes back as an `error` error within a second of the deadline, and the pool still serves."""
    payload, elapsed = timed(sandbox, name, args)
    assert payload["error"]["type"] == error
    assert at_least <= elapsed < DEADLINE + 1
    assert_serves(sandbox)


def test_calls_return_results(sandbox):
    assert sandbox.call_sync("expand_expression", {"expression": "(x + 1)^2"}) == {
        "result": "x**2 + 2*x + 1",
        "latex": "x^{2} + 2 x + 1",
    }


def test_workers_are_locked_down(sandbox):
    report = sandbox.isolation()
    assert report["audit_hook"] is True
    assert report["file_size_limit"] is True
    assert report["memory_limit_bytes"] == 1024 * 1024 * 1024
    assert "network_namespace" in report
    assert os.getpid() not in sandbox.worker_pids()


def test_huge_power_is_a_structured_error(sandbox):
    assert_contained(sandbox, "memory", "simplify_expression", {"expression": "10**10**10"})


def test_hang_is_killed_at_the_deadline_and_the_pool_recovers(sandbox):
    before = set(sandbox.worker_pids())
    assert_contained(sandbox, "timeout", "fault_hang", at_least=DEADLINE - 0.1)
    deadline = time.monotonic() + 30
    while set(sandbox.worker_pids()) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(sandbox.worker_pids()) != before  # the hung worker was replaced


def test_real_sympy_hang_is_killed(sandbox):
    # Factoring a 155-digit number runs for hours in SymPy; the deadline stops it.
    assert_contained(sandbox, "timeout", "factor_expression", {"expression": "2^512 + 1"})


def test_multi_gib_allocation_is_a_memory_error(sandbox):
    assert_contained(sandbox, "memory", "fault_allocate", {"gib": 4})


@pytest.mark.parametrize("how", ["segv", "abort", "exit"])
def test_hard_crash_is_reported_and_the_pool_recovers(sandbox, how):
    assert_contained(sandbox, "crash", "fault_crash", {"how": how})


def test_no_network(sandbox):
    payload = sandbox.call_sync("fault_connect", {"host": "127.0.0.1", "port": 9})
    assert payload["error"]["type"] == "forbidden"


@pytest.mark.parametrize("tool", ["fault_write_file", "fault_os_write"])
def test_no_file_writes(sandbox, tmp_path, tool):
    target = tmp_path / "escaped.txt"
    payload = sandbox.call_sync(tool, {"path": str(target)})
    assert payload["error"]["type"] == "forbidden"
    assert not target.exists()


def test_no_reads_outside_python(sandbox):
    payload = sandbox.call_sync("fault_read_file", {"path": "/etc/passwd"})
    assert payload["error"]["type"] == "forbidden"
    assert "root" not in json.dumps(payload)


def test_output_is_capped_with_a_note(sandbox):
    payload = sandbox.call_sync("fault_big_output", {"chars": 100_000})
    assert payload["truncated"] is True
    assert "truncated" in payload["note"]
    assert len(json.dumps(payload)) <= 4096 + 200


def test_errors_from_bad_input_are_structured(sandbox):
    cases = {
        ("simplify_expression", json.dumps({"expression": "__import__('os')"})): "forbidden",
        ("simplify_expression", json.dumps({"expression": "x +"})): "parse_error",
        ("simplify_expression", json.dumps({"text": "x"})): "invalid_arguments",
        ("no_such_tool", json.dumps({})): "unknown_tool",
    }
    for (name, args), kind in cases.items():
        payload = sandbox.call_sync(name, json.loads(args))
        assert payload["error"]["type"] == kind
        assert payload["error"]["message"] and payload["error"]["hint"]


def test_200_concurrent_async_calls(sandbox):
    async def run() -> list[dict]:
        calls = [sandbox.call("expand_expression", {"expression": f"(x + {i})^2"}) for i in range(200)]
        return await asyncio.gather(*calls)

    results = asyncio.run(run())
    for i, payload in enumerate(results):
        assert payload["result"] == (f"x**2 + {2 * i}*x + {i * i}" if i else "x**2")


def test_first_calls_race_to_start_the_pool():
    """Many coroutines calling an unstarted sandbox at once all get answers (one start)."""
    sb = Sandbox(workers=1)

    async def run() -> list[dict]:
        return await asyncio.gather(*(sb.call("expand_expression", {"expression": f"{i}*(x + 1)"}) for i in range(1, 21)))

    try:
        results = asyncio.run(run())
    finally:
        sb.close()
    assert all("result" in r for r in results), results
    assert len(sb.worker_pids()) == 0


def test_many_threads_share_one_pool(sandbox):
    errors: list[str] = []

    def worker(offset: int) -> None:
        for k in range(20):
            n = offset * 100 + k + 2
            payload = sandbox.call_sync("factor_expression", {"expression": f"x^2 - {n * n}"})
            if payload.get("result") != f"(x - {n})*(x + {n})":
                errors.append(f"{n}: {payload}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_close_leaves_no_processes():
    sb = Sandbox(workers=2).start()
    pids = sb.worker_pids()
    assert len(pids) == 2
    sb.close()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()
    assert sb.call_sync("simplify_expression", {"expression": "x"})["error"]["type"] == "crash"


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time
        from toolkit.sandbox import Sandbox
        sb = Sandbox(workers=2).start()
        print(" ".join(map(str, sb.worker_pids())), flush=True)
        time.sleep(600)
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2
        parent.kill()  # SIGKILL: no cleanup code runs in the parent
        parent.wait()
        deadline = time.monotonic() + 15  # a loaded 2-core machine can take seconds to schedule them
        while any(_running(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(p) for p in pids)
    finally:
        parent.kill()


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status  # a zombie has exited; only its entry waits for a reaper


def test_sandboxes_inside_ray_actors(ray_local):
    ray = ray_local

    @ray.remote(num_cpus=0.5)
    class Solver:
        def __init__(self) -> None:
            self.sandbox = Sandbox(workers=1).start()

        async def solve(self, n: int) -> list:
            calls = [self.sandbox.call("solve_equation", {"equation": f"x^2 = {k * k}"}) for k in range(1, n + 1)]
            return [p["result"] for p in await asyncio.gather(*calls)]

        def close(self) -> None:
            self.sandbox.close()

    actors = [Solver.remote() for _ in range(2)]
    results = ray.get([a.solve.remote(30) for a in actors])
    for result in results:
        assert result == [[-k, k] for k in range(1, 31)]
    ray.get([a.close.remote() for a in actors])
