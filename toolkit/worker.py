"""A sandbox worker process: `python -m toolkit.worker CONFIG_JSON`.

Protocol: one JSON object per line. The worker first writes
`{"ready": true, "pid": ..., "isolation": {...}}`, then for each request line
`{"id": N, "tool": NAME, "args": {...}, "cpu_s": S}` writes `{"id": N, "payload": {...}}`.
The parent enforces the wall-clock deadline by killing this process; the CPU limit set
here is a second line of defence. Everything the tools or SymPy might print goes to
stderr, never into the protocol stream.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time

from toolkit.errors import ErrorType, error_payload
from toolkit.isolation import limit_cpu_for_next_call, lock_down
from toolkit.registry import all_tools, execute
from toolkit.results import DEFAULT_OUTPUT_LIMIT, dump_capped

# Calls made once at start-up so that SymPy's lazy imports and caches are warm before the
# sandbox is locked (a lazy import after lock-down would still work, but cost the first call).
_WARM_UP = [
    ("simplify_expression", {"expression": "(x^2 - 1)/(x - 1) + sin(x)^2 + cos(x)^2"}),
    ("factor_expression", {"expression": "x^3 - 6x^2 + 11x - 6"}),
    ("solve_equation", {"equation": "x^2 - 5x + 6 = 0"}),
    ("solve_univariate_inequality", {"inequality": "x^2 < 4"}),
    ("evaluate_numerically", {"expression": "\\frac{1}{2} + \\sqrt{2}"}),
    ("solve_linear_system", {"equations": ["x + y = 3", "x - y = 1"]}),
]


def _watch_parent(parent_pid: int) -> None:
    """Exit when the parent goes away, even if it was SIGKILLed and never closed our pipes."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(0.5)


def _warm_up() -> None:
    tools = all_tools()
    for name, args in _WARM_UP:
        if name in tools:
            execute(name, args)


def main() -> None:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    parent_pid = os.getppid()
    # Keep the protocol on private descriptors; fd 1 becomes /dev/null so stray prints from
    # C or Python code cannot corrupt it.
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 0)
    sys.stdout = sys.stderr

    for module in config.get("tool_modules", []):
        importlib.import_module(module)
    _warm_up()
    isolation = lock_down(config.get("memory_bytes"))
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()

    limit = int(config.get("output_limit", DEFAULT_OUTPUT_LIMIT))
    write = _writer(proto_out_fd)
    write({"ready": True, "pid": os.getpid(), "isolation": isolation})
    for line in proto_in:
        request = json.loads(line)
        limit_cpu_for_next_call(float(request.get("cpu_s", 10.0)))
        try:
            text = dump_capped(execute(request["tool"], request.get("args")), limit)
        except MemoryError:
            text = json.dumps(error_payload(ErrorType.MEMORY, "the result ran out of memory", "Try a smaller input."))
        _write_all(proto_out_fd, f'{{"id": {int(request["id"])}, "payload": {text}}}\n'.encode())


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _writer(fd: int):
    def write(obj: dict) -> None:
        _write_all(fd, (json.dumps(obj) + "\n").encode())

    return write


if __name__ == "__main__":
    main()
