"""Lock a sandbox worker process down: resource limits, no network, no file writes.

Applied inside the worker after it has imported everything it needs, so the limits
bind the code that runs tool calls. Layers, from strongest to weakest:

1. a private network namespace (`unshare(CLONE_NEWNET)`), where the kernel allows it:
   the worker then has no network interface at all;
2. resource limits: address space (memory), file size 0 (no bytes can be written to any
   regular file), no core dumps, no new processes;
3. a CPython audit hook (which cannot be removed once added) that refuses sockets,
   subprocesses, ctypes, file writes and file reads outside the Python installation.

Each layer is reported, so tests and users can see what this machine enforces.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from collections.abc import Iterable
from typing import Any

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

_BLOCKED_EVENT_PREFIXES = (
    "socket.",
    "subprocess.",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "os.remove",
    "os.unlink",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.truncate",
    "os.symlink",
    "os.link",
    "os.putenv",
    "os.unsetenv",
    "os.chdir",
    "shutil.",
    "ctypes.",
    "urllib.",
    "http.",
    "ftplib.",
    "smtplib.",
    "webbrowser.",
    "pty.",
    "sys.addaudithook",
)
_BLOCKED_MODULES = {
    "socket", "_socket", "ssl", "_ssl", "subprocess", "_posixsubprocess", "ctypes", "_ctypes",
    "multiprocessing", "urllib.request", "http.client", "ftplib", "smtplib", "webbrowser", "pty",
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _try_private_network() -> str:
    """Move this process into a network namespace of its own; report what happened."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        for flags, label in ((CLONE_NEWNET, "netns"), (CLONE_NEWUSER | CLONE_NEWNET, "userns+netns")):
            if libc.unshare(flags) == 0:
                return label
        return f"unavailable (errno {ctypes.get_errno()})"
    except Exception as exc:  # any failure just means this layer is absent
        return f"unavailable ({type(exc).__name__})"


def _set_limit(which: int, soft: int, hard: int | None = None) -> bool:
    try:
        resource.setrlimit(which, (soft, soft if hard is None else hard))
        return True
    except (ValueError, OSError):
        return False


def _readable_roots(extra: Iterable[str]) -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *extra}
    roots.update(p for p in sys.path if p)
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots if r and os.path.isdir(r)))


def _make_audit_hook(readable: tuple[str, ...]):
    def deny(event: str, detail: Any) -> None:
        raise PermissionError(f"{event} is not allowed in the tool sandbox ({detail})")

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = ((*args, None, None, None))[:3]
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writes:
                deny("writing files", path)
            if isinstance(path, str | bytes):
                real = os.path.realpath(os.fsdecode(path))
                if not real.startswith(readable) and real not in ("/dev/null", "/dev/urandom"):
                    deny("reading files outside the Python installation", real)
            return
        if event == "import" and args and args[0] in _BLOCKED_MODULES:
            deny("importing", args[0])
        if event.startswith(_BLOCKED_EVENT_PREFIXES):
            deny(event, args[:1])

    return hook


def lock_down(memory_bytes: int | None, readable_paths: Iterable[str] = ()) -> dict[str, Any]:
    """Apply every layer to the current process; return a report of what is in force."""
    report: dict[str, Any] = {"network_namespace": _try_private_network()}
    if memory_bytes:
        report["memory_limit_bytes"] = memory_bytes if _set_limit(resource.RLIMIT_AS, memory_bytes) else None
    # A file-size limit of 0 makes every write to a regular file fail with EFBIG (not a kill).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    report["file_size_limit"] = _set_limit(resource.RLIMIT_FSIZE, 0)
    report["core_dumps"] = not _set_limit(resource.RLIMIT_CORE, 0)
    report["no_new_processes"] = os.geteuid() != 0 and _set_limit(resource.RLIMIT_NPROC, 0)
    sys.addaudithook(_make_audit_hook(_readable_roots(readable_paths)))
    report["audit_hook"] = True
    return report


def limit_cpu_for_next_call(seconds: float) -> None:
    """Let the next call use at most `seconds` more CPU time; past that the kernel sends SIGXCPU."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    _set_limit(resource.RLIMIT_CPU, soft, hard)
