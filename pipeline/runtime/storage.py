"""Parquet parts on a local disk or an object store, written so that a crash loses nothing.

Each batch of results is one part file. Locally a part is written under a hidden
temporary name and renamed into place, so a reader sees whole parts or nothing; on
object stores a single PUT is already all-or-nothing. Resumption reads the ids of the
parts that exist, so every problem id is written exactly once across reruns.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

log = logging.getLogger(__name__)


def resolve(uri: str) -> tuple[pafs.FileSystem, str]:
    """A filesystem and a path for a local folder or a URI (s3://, gs://, file://...)."""
    if "://" not in uri:
        uri = os.path.abspath(uri)
        return pafs.LocalFileSystem(), uri
    return pafs.FileSystem.from_uri(uri)


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def ensure_dir(fs: pafs.FileSystem, path: str) -> None:
    fs.create_dir(path, recursive=True)


def write_part(table: pa.Table, fs: pafs.FileSystem, directory: str, prefix: str = "part") -> str | None:
    """Write one part atomically; returns its path (None for an empty table)."""
    if table.num_rows == 0:
        return None
    name = f"{prefix}-{uuid.uuid4().hex}.parquet"
    final = join(directory, name)
    if isinstance(fs, pafs.LocalFileSystem):
        temporary = join(directory, f".tmp-{name}")
        pq.write_table(table, temporary, filesystem=fs)
        fs.move(temporary, final)
    else:
        pq.write_table(table, final, filesystem=fs)
    return final


def part_files(fs: pafs.FileSystem, directory: str) -> list[str]:
    """Completed part files, oldest name first; leftovers of interrupted writes are removed."""
    try:
        infos = fs.get_file_info(pafs.FileSelector(directory, allow_not_found=True))
    except FileNotFoundError:
        return []
    parts = []
    for info in infos:
        if info.type != pafs.FileType.File:
            continue
        if info.base_name.startswith(".tmp-"):
            log.warning("removing %s, left by an interrupted write", info.path)
            fs.delete_file(info.path)
        elif info.base_name.endswith(".parquet"):
            parts.append(info.path)
    return sorted(parts)


def read_parts(fs: pafs.FileSystem, directory: str, columns: Iterable[str] | None = None) -> pa.Table | None:
    tables = [pq.read_table(p, filesystem=fs, columns=list(columns) if columns else None) for p in part_files(fs, directory)]
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="default")


@dataclass
class RunFolder:
    """A stage's output folder (local or URI): its filesystem, and the places every stage has."""

    root: str

    def __post_init__(self) -> None:
        self.fs, self.base = resolve(self.root)

    def file(self, *parts: str) -> str:
        return join(self.base, *parts)

    @property
    def rejects(self) -> str:
        return self.file("rejects")

    @property
    def stats(self) -> str:
        return self.file("stats.json")
