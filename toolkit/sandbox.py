"""A pool of locked-down worker processes that run tool calls with hard deadlines.

SymPy has no timeout API and `simplify` can run for ever; threads cannot be stopped, so
the only real deadline is a process that can be killed. Each worker is a fresh Python
(`python -m toolkit.worker`, never a fork of the caller) that imports the toolkit, warms
up and locks itself down (`toolkit.isolation`). A call over its deadline gets its worker
SIGKILLed and replaced in the background while the caller receives a `timeout` error.

The pool is safe to use from threads, from asyncio (`await sandbox.call(...)`), and from
many Ray actors (each actor owns its own pool). A thread per in-flight call waits on a
pipe; that costs little next to a SymPy call and keeps the sync and async paths one path.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from toolkit.errors import ErrorType, error_payload
from toolkit.secrets import without_secrets

log = logging.getLogger(__name__)


class SandboxConfig(BaseModel):
    """How tool calls are isolated. Defaults follow the paper's use: many small calls."""

    model_config = ConfigDict(extra="forbid")

    workers: int = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1), ge=1, le=256,
        description="worker processes (tool calls run at once); each is a Python with SymPy loaded (~100 MB), so more "
        "workers cost memory, and more than the CPUs they share only queue",
    )
    timeout_s: float = Field(
        default=10.0, gt=0,
        description="wall-clock deadline per tool call; a call over it has its worker killed and replaced and returns a "
        "timeout error (longer deadlines let hard integrals finish but let a hung call hold a worker longer)",
    )
    memory_mb: int = Field(default=1024, ge=128, description="address-space limit per worker; a call past it returns a memory error")
    output_limit: int = Field(default=4096, ge=256, description="characters of JSON per result; longer results are cut and marked")
    start_timeout_s: float = Field(default=120.0, gt=0, description="time a new worker has to import the toolkit and report ready")
    tool_modules: list[str] = Field(
        default_factory=list, description="extra modules that register tools in each worker"
    )


class SandboxClosed(RuntimeError):
    pass


class _Worker:
    """One worker process and its pipes. Used by one call at a time."""

    _ids = itertools.count(1)

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        worker_config = {
            "memory_bytes": config.memory_mb * 1024 * 1024,
            "output_limit": config.output_limit,
            "tool_modules": config.tool_modules,
        }
        # Tool workers read model-written text: they get no API keys or cloud credentials.
        env = without_secrets(os.environ)
        # The worker sees the same modules as the caller (an editable install, a test tree).
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        env["PYTHONUNBUFFERED"] = "1"
        env["OMP_NUM_THREADS"] = "1"
        debug = os.environ.get("TOOLDISTILL_SANDBOX_DEBUG")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "toolkit.worker", json.dumps(worker_config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if debug else subprocess.DEVNULL,
            env=env,
            close_fds=True,
            start_new_session=True,  # its own process group: a kill takes anything it started
        )
        self._buffer = b""
        self.isolation: dict[str, Any] = {}

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout_s: float) -> None:
        try:
            message = self._read_line(time.monotonic() + timeout_s)
        except (EOFError, ValueError):
            message = None
        if message is None or not message.get("ready"):
            self.kill()
            raise RuntimeError(f"sandbox worker failed to start (exit code {self.proc.poll()})")
        self.isolation = message.get("isolation", {})

    def send(self, request: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()

    def _read_line(self, deadline: float) -> dict[str, Any] | None:
        """The next protocol line; None at the deadline; EOFError if the worker closed its end."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise EOFError("sandbox worker closed its output")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def receive(self, deadline: float) -> dict[str, Any] | None:
        return self._read_line(deadline)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("sandbox worker %d did not exit after SIGKILL", self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass


def _kill_all(workers: set[_Worker]) -> None:
    for worker in list(workers):
        worker.kill()


class Sandbox:
    """Run toolkit calls in isolated worker processes.

    >>> with Sandbox(workers=2) as sandbox:
    ...     sandbox.call_sync("factor_expression", {"expression": "x^2 - 1"})
    {'result': '(x - 1)*(x + 1)', 'latex': ...}

    `await sandbox.call(name, args)` is the asyncio form. Results are JSON payloads:
    `{"result": ...}` or `{"error": {"type", "message", "hint"}}`, never exceptions.
    """

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any) -> None:
        base = config.model_dump() if config else {}
        self.config = SandboxConfig(**{**base, **overrides})
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._closed = False
        self._started = False
        self._request_ids = itertools.count(1)
        self._executor: ThreadPoolExecutor | None = None
        self._counters = {"calls": 0, "timeouts": 0, "crashes": 0, "restarts": 0}
        self._finalizer = weakref.finalize(self, _kill_all, self._workers)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Sandbox:
        """Start every worker (in parallel) and wait until all are warm and locked down.

        Safe to call from many threads or coroutines at once: the first caller starts the
        pool, the others wait for it.
        """
        with self._start_lock:
            if self._started:
                return self
            if self._closed:
                raise SandboxClosed("this sandbox was closed")
            workers = [self._spawn() for _ in range(self.config.workers)]
            try:
                for worker in workers:
                    worker.wait_ready(self.config.start_timeout_s)
            except Exception:
                self.close()
                raise
            for worker in workers:
                self._idle.put(worker)
            self._executor = ThreadPoolExecutor(max_workers=self.config.workers, thread_name_prefix="sandbox-call")
            self._started = True
        return self

    def _spawn(self) -> _Worker:
        worker = _Worker(self.config)
        with self._lock:
            self._workers.add(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)

    def _replace_later(self, dead: _Worker) -> None:
        """Kill `dead` and put a fresh worker in its slot, off the caller's critical path."""
        self._retire(dead)
        self._count("restarts")
        threading.Thread(target=self._replace, name="sandbox-restart", daemon=True).start()

    def _replace(self) -> None:
        delay = 0.5
        while not self._closed:
            worker = self._spawn()
            try:
                worker.wait_ready(self.config.start_timeout_s)
            except Exception:
                self._retire(worker)
                if self._closed:
                    return
                log.exception("sandbox worker restart failed; retrying in %.1f s", delay)
                time.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            if self._closed:
                self._retire(worker)
            else:
                self._idle.put(worker)
            return

    def close(self) -> None:
        """Kill every worker; calls in flight return a `crash` error. Idempotent."""
        self._closed = True
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.kill()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Sandbox:
        await asyncio.get_running_loop().run_in_executor(None, self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ calls

    def call_sync(self, name: str, args: Any = None, timeout_s: float | None = None) -> dict[str, Any]:
        """Run one tool call; blocks until a worker is free and the call is done."""
        if not self._started:
            try:
                self.start()
            except SandboxClosed:
                return error_payload(ErrorType.CRASH, "the sandbox is closed", "Start a new sandbox.")
        timeout = min(timeout_s or self.config.timeout_s, self.config.timeout_s)
        for attempt in range(2):
            worker = self._take_worker()
            if worker is None:
                return error_payload(ErrorType.CRASH, "the sandbox is closed", "Start a new sandbox.")
            request_id = next(self._request_ids)
            try:
                worker.send({"id": request_id, "tool": name, "args": args, "cpu_s": timeout})
            except (BrokenPipeError, OSError, ValueError):
                # The worker died while idle (killed from outside): not this call's fault.
                self._replace_later(worker)
                if attempt == 0:
                    continue
                return error_payload(ErrorType.CRASH, "the sandbox worker died", "Try the call again.")
            return self._finish(worker, request_id, name, timeout)
        raise AssertionError("unreachable")

    def _take_worker(self) -> _Worker | None:
        while not self._closed:
            try:
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue
        return None

    def _finish(self, worker: _Worker, request_id: int, name: str, timeout: float) -> dict[str, Any]:
        self._count("calls")
        deadline = time.monotonic() + timeout
        try:
            message = worker.receive(deadline)
            timed_out = message is None
        except (EOFError, ValueError, OSError):  # the worker died, or left a torn line dying
            message, timed_out = None, False
        if message is not None and message.get("id") == request_id:
            self._idle.put(worker)
            return message["payload"]
        if self._closed:
            self._retire(worker)
            return error_payload(ErrorType.CRASH, "the sandbox was closed during the call", "")
        if timed_out:
            self._count("timeouts")
            self._replace_later(worker)
            return error_payload(
                ErrorType.TIMEOUT,
                f"{name} did not finish within {timeout:g} s and was stopped",
                "Simplify the input, split the problem into smaller steps, or use a numerical method.",
            )
        return self._crash_payload(worker, name)

    def _crash_payload(self, worker: _Worker, name: str) -> dict[str, Any]:
        worker.proc.wait()
        code = worker.proc.returncode
        self._replace_later(worker)
        if code == -signal.SIGXCPU:
            self._count("timeouts")
            return error_payload(
                ErrorType.TIMEOUT, f"{name} used up its CPU time and was stopped", "Simplify the input."
            )
        self._count("crashes")
        reason = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
        return error_payload(
            ErrorType.CRASH,
            f"the worker running {name} died ({reason})",
            "This input breaks the tool (often by exhausting memory in native code); try a smaller or different input.",
        )

    async def call(self, name: str, args: Any = None, timeout_s: float | None = None) -> dict[str, Any]:
        """The asyncio form of `call_sync`: never blocks the event loop."""
        if not self._started:
            with contextlib.suppress(SandboxClosed):
                await asyncio.get_running_loop().run_in_executor(None, self.start)
        if self._executor is None or self._closed:
            return error_payload(ErrorType.CRASH, "the sandbox is closed", "Start a new sandbox.")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self.call_sync, name, args, timeout_s
        )

    # ------------------------------------------------------------------ introspection

    def _count(self, key: str) -> None:
        with self._lock:
            self._counters[key] += 1

    def stats(self) -> dict[str, int]:
        return dict(self._counters)

    @property
    def closed(self) -> bool:
        return self._closed

    def worker_pids(self) -> list[int]:
        with self._lock:
            return sorted(w.pid for w in self._workers)

    def isolation(self) -> dict[str, Any]:
        """What the kernel and interpreter enforce in the workers on this machine."""
        with self._lock:
            for worker in self._workers:
                if worker.isolation:
                    return dict(worker.isolation)
        return {}
