"""Parquet parts on a local disk or an object store, written so that a crash loses nothing.

Each batch of results is one part file. Locally a part is written under a hidden
temporary name and renamed into place, so a reader sees whole parts or nothing; on
object stores a single PUT is already all-or-nothing. Resumption reads the ids of the
parts that exist, so every problem id is written exactly once across reruns.

Whole folders (an adapter, a merged model) move between a local disk and the store with
`upload_dir` and `download_dir`; `RunFolder.uri` names a place so that another process,
on another node, can open it (`pipeline.runtime.models.resolve_model` fetches a URI into
the node's cache for the libraries that read only local folders).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

log = logging.getLogger(__name__)


def is_uri(path_or_uri: str) -> bool:
    """A URI (`s3://...`, `gs://...`, `file://...`) rather than a local path."""
    return "://" in path_or_uri


def resolve(uri: str) -> tuple[pafs.FileSystem, str]:
    """A filesystem and a path for a local folder or a URI (s3://, gs://, file://...)."""
    if not is_uri(uri):
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


def write_table(table: pa.Table, fs: pafs.FileSystem, path: str) -> str:
    """Write one named parquet file whole (locally through a temporary name; one PUT on a store)."""
    if isinstance(fs, pafs.LocalFileSystem):
        directory, name = path.rsplit("/", 1)
        ensure_dir(fs, directory)
        temporary = join(directory, f".tmp-{uuid.uuid4().hex}-{name}")
        pq.write_table(table, temporary, filesystem=fs)
        fs.move(temporary, path)
    else:
        pq.write_table(table, path, filesystem=fs)
    return path


def files_under(fs: pafs.FileSystem, directory: str) -> dict[str, int]:
    """{path relative to `directory`: size} of every file below it ({} when it does not exist)."""
    try:
        infos = fs.get_file_info(pafs.FileSelector(directory, recursive=True, allow_not_found=True))
    except FileNotFoundError:
        return {}
    prefix = directory.rstrip("/") + "/"
    return {i.path[len(prefix):]: i.size for i in infos if i.type == pafs.FileType.File and i.path.startswith(prefix)}


def upload_dir(local: str | os.PathLike, fs: pafs.FileSystem, directory: str) -> str:
    """Copy the local folder `local` to `directory` on `fs`, replacing what was there.

    Locally the copy is made beside the target and renamed into place (a reader sees the old
    folder or the new one). On an object store files are PUT one by one, so a reader may see
    a mix while it runs: publish a marker (a summary, say) after the upload, and read the
    folder only once the marker is there.
    """
    source = os.path.abspath(local)
    if not os.path.isdir(source):
        raise NotADirectoryError(f"{source} is not a folder")
    if isinstance(fs, pafs.LocalFileSystem):
        parent = os.path.dirname(directory.rstrip("/"))
        os.makedirs(parent, exist_ok=True)
        temporary = os.path.join(parent, f".tmp-{uuid.uuid4().hex}")
        try:
            shutil.copytree(source, temporary)
            if os.path.isdir(directory):
                shutil.rmtree(directory)
            os.replace(temporary, directory)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        return directory
    # Files of an earlier upload that this one lacks would otherwise linger beside the new ones.
    fs.delete_dir_contents(directory, missing_dir_ok=True)
    pafs.copy_files(source, directory, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)
    return directory


def download_dir(fs: pafs.FileSystem, directory: str, local: str | os.PathLike) -> str:
    """Copy every file below `directory` on `fs` into the local folder `local` (created); returns it."""
    target = os.path.abspath(local)
    files = files_under(fs, directory)
    if not files:
        raise FileNotFoundError(f"nothing to download at {directory} ({fs.type_name})")
    os.makedirs(target, exist_ok=True)
    pafs.copy_files(directory, target, source_filesystem=fs, destination_filesystem=pafs.LocalFileSystem())
    return target


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

    @classmethod
    def at(cls, fs: pafs.FileSystem, path: str) -> RunFolder:
        """The folder at `path` on an open filesystem (e.g. a Ray Train checkpoint's `filesystem`, `path`)."""
        folder = cls.__new__(cls)
        folder.root = path if isinstance(fs, pafs.LocalFileSystem) else f"{fs.type_name}://{path}"
        folder.fs, folder.base = fs, path
        return folder

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def file(self, *parts: str) -> str:
        return join(self.base, *parts)

    def uri(self, *parts: str) -> str:
        """The place as a string another process can open: a local path, or `scheme://bucket/key`."""
        if self.is_local:
            return self.file(*parts)
        return f"{self.root.split('://', 1)[0]}://{self.file(*parts)}"

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

    def write_table(self, table: pa.Table, *parts: str) -> str:
        """One named parquet file (e.g. `rejects.parquet`), written whole."""
        return write_table(table, self.fs, self.file(*parts))

    def files(self, *parts: str) -> dict[str, int]:
        """{relative path: size} of the files below a place ({} when there are none)."""
        return files_under(self.fs, self.file(*parts))

    def upload_dir(self, local: str | os.PathLike, *parts: str) -> str:
        """Copy a local folder to a place, replacing it (see `upload_dir`); returns its `uri`."""
        upload_dir(local, self.fs, self.file(*parts))
        return self.uri(*parts)

    def download_dir(self, local: str | os.PathLike, *parts: str) -> str:
        """Copy a place's files into the local folder `local`; returns it."""
        return download_dir(self.fs, self.file(*parts), local)

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
