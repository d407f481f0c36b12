"""Parquet parts on a local disk or an object store, written so that a crash loses nothing.

Each batch of results is one part file. Locally a part is written under a hidden
temporary name and renamed into place, so a reader sees whole parts or nothing; on
object stores a single PUT is already all-or-nothing. Resumption reads the ids of the
parts that exist, so every problem id is written exactly once across reruns.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

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
    """One run folder (local or URI) and the named places in it, the same for every stage.

    Stages name their outputs (`traces`, `rejects`, `sft`, `generations/<model>/<bench>`,
    `checkpoints`, ...) and read and write them through this one object, so moving a run
    to an object store changes nothing in a stage.
    """

    root: str

    def __post_init__(self) -> None:
        self.fs, self.base = resolve(self.root)

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def file(self, *parts: str) -> str:
        return join(self.base, *parts)

    def local_path(self, *parts: str) -> str:
        """A path on this machine's disk, for libraries that cannot write through pyarrow."""
        if not self.is_local:
            raise ValueError(f"{self.root} is not on a local or mounted file system; this step needs one")
        return self.file(*parts)

    def ensure(self, *parts: str) -> str:
        path = self.file(*parts)
        ensure_dir(self.fs, path)
        return path

    def write_part(self, table: pa.Table, *parts: str, prefix: str = "part") -> str | None:
        directory = self.file(*parts)
        if self.is_local and table.num_rows:  # object stores have no folders to make
            ensure_dir(self.fs, directory)
        return write_part(table, self.fs, directory, prefix=prefix)

    def read(self, *parts: str, columns: Iterable[str] | None = None) -> pa.Table | None:
        """Every part of a named output as one table (None when nothing is written yet)."""
        return read_parts(self.fs, self.file(*parts), columns)

    def exists(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.file(*parts)).type != pafs.FileType.NotFound

    def read_text(self, *parts: str) -> str | None:
        path = self.file(*parts)
        if self.fs.get_file_info(path).type != pafs.FileType.File:
            return None
        with self.fs.open_input_stream(path) as handle:
            return handle.read().decode()

    def write_text(self, text: str, *parts: str) -> str:
        """Write a whole file; locally through a temporary name, so a reader never sees half of it."""
        path = self.file(*parts)
        target = join(path.rsplit("/", 1)[0], f".tmp-{uuid.uuid4().hex}") if self.is_local else path
        with self.fs.open_output_stream(target) as handle:
            handle.write(text.encode())
        if target != path:
            self.fs.move(target, path)
        return path

    def read_json(self, *parts: str) -> Any:
        text = self.read_text(*parts)
        return None if text is None else json.loads(text)

    def write_json(self, payload: Any, *parts: str) -> str:
        return self.write_text(json.dumps(payload, indent=2, default=str), *parts)

    @property
    def rejects(self) -> str:
        return self.file("rejects")

    @property
    def stats(self) -> str:
        return self.file("stats.json")
