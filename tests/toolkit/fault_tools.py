"""Fault-injection tools, loaded only into test sandboxes (`tool_modules=[...]`).

Each one misbehaves on purpose so that the sandbox's defences can be observed: a hang,
a huge allocation, a hard crash, and attempts to reach the network or the file system.
"""

from __future__ import annotations

import os
import time

from toolkit.registry import tool


@tool("fault_injection")
def fault_hang(seconds: float = 3600.0) -> str:
    """Busy-loop in Python for a long time (a stand-in for a runaway simplify).

    Args:
        seconds: How long to spin.
    """
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return "finished"


@tool("fault_injection")
def fault_allocate(gib: float = 4.0) -> int:
    """Allocate a large block of memory.

    Args:
        gib: Gibibytes to allocate.
    """
    block = bytearray(int(gib * (1 << 30)))
    return len(block)


@tool("fault_injection")
def fault_crash(how: str = "segv") -> str:
    """Kill the worker process hard (as a native-code crash would).

    Args:
        how: "segv" (SIGSEGV), "abort" (SIGABRT) or "exit" (os._exit).
    """
    import faulthandler

    if how == "exit":
        os._exit(3)
    # Real faults raised in C (os.kill is refused by the sandbox's audit hook).
    if how == "segv":
        faulthandler._sigsegv()
    else:
        faulthandler._sigabrt()
    return "still alive"


@tool("fault_injection")
def fault_connect(host: str = "127.0.0.1", port: int = 9) -> str:
    """Open a TCP connection.

    Args:
        host: Host to connect to.
        port: Port to connect to.
    """
    import socket

    with socket.create_connection((host, port), timeout=1):
        return "connected"


@tool("fault_injection")
def fault_write_file(path: str = "/tmp/tooldistill-sandbox-write-test") -> str:
    """Write a file.

    Args:
        path: Where to write.
    """
    with open(path, "w") as handle:
        handle.write("escaped")
    return "written"


@tool("fault_injection")
def fault_os_write(path: str = "/tmp/tooldistill-sandbox-oswrite-test") -> int:
    """Write a file through low-level os calls (bypassing open()).

    Args:
        path: Where to write.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    return os.write(fd, b"escaped")


@tool("fault_injection")
def fault_read_file(path: str = "/etc/passwd") -> str:
    """Read a file outside the Python installation.

    Args:
        path: What to read.
    """
    with open(path) as handle:
        return handle.read(100)


@tool("fault_injection")
def fault_big_output(chars: int = 100_000) -> str:
    """Return a very long string.

    Args:
        chars: Length of the string.
    """
    return "x" * chars


@tool("fault_injection")
def fault_read_environment(name: str = "OPENAI_API_KEY") -> str:
    """Read an environment variable, as code smuggled into a tool argument would try to.

    Args:
        name: The variable to read.
    """
    return os.environ.get(name, "<unset>")
