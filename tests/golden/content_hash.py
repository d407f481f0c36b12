"""Content hashes of what generation and back-translation wrote: traces, rejects, SFT rows.

Used to show that a refactoring changed no row: the rows of each table are read from
every parquet part, stripped of timings and of tool-call ids (numbered in the order an actor served
them, so they depend on scheduling),
serialised with sorted keys, sorted, and hashed.

    python tests/golden/content_hash.py RUN_FOLDER   # prints {"traces": sha256, ...}
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from typing import Any

import pyarrow.fs as pafs
import pyarrow.parquet as pq

_TIMINGS = {"wall_time_s", "latency_s"}
# A teacher numbers its tool calls in the order its actor served them: scheduling, not content.
_CALL_ID = re.compile(r"call_\d+")


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _TIMINGS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return {"json": _strip(json.loads(value))}
        except json.JSONDecodeError:
            pass
    if isinstance(value, str):
        return _CALL_ID.sub("call_N", value)
    return value


def table_rows(folder: str) -> list[dict[str, Any]]:
    fs, path = pafs.FileSystem.from_uri(folder) if "://" in folder else (pafs.LocalFileSystem(), folder)
    infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    rows: list[dict[str, Any]] = []
    for info in infos:
        if info.base_name.endswith(".parquet") and not info.base_name.startswith("."):
            rows.extend(pq.read_table(info.path, filesystem=fs).to_pylist())
    return rows


def content_hash(rows: list[dict[str, Any]]) -> str:
    lines = sorted(json.dumps(_strip(r), sort_keys=True, default=str) for r in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def run_hashes(run: str) -> dict[str, Any]:
    tables = {
        "traces": f"{run}/generate/traces",
        "generate_rejects": f"{run}/generate/rejects",
        "sft": f"{run}/backtranslate/sft",
        "backtranslate_rejects": f"{run}/backtranslate/rejects",
    }
    out: dict[str, Any] = {}
    for name, folder in tables.items():
        rows = table_rows(folder)
        out[name] = {"rows": len(rows), "sha256": content_hash(rows)}
    return out


if __name__ == "__main__":
    print(json.dumps(run_hashes(sys.argv[1].rstrip("/")), indent=2))
