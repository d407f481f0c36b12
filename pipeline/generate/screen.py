"""Generation's input side on Ray Data: read → screen → settle, with the rows never on the driver.

    read      one task per input file or synthetic family (`pipeline.problems.sources`)
    screen    validate each row and decontaminate it against the benchmark index, which is
              built once on the driver and shared with every worker as one object
    settle    two hash-partitioned passes, so every group is whole in one block:
                by normalised-text hash: the representative of each group of usable rows
                  is its smallest id (independent of how the input was split, so reruns
                  agree on which copy is the duplicate)
                by id, together with the ids already written: a repeated id is a duplicate
                  from its second occurrence (in input order); a row already solved or a
                  clean reject already written is skipped (resume as an anti-join)
    → the rows to solve, the clean rejects to write, and counts

Every input row ends up in exactly one place: a clean reject, the rows to solve, or
skipped because an earlier run already wrote it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.problems.clean import CleanConfig, ContaminationIndex, check_row, text_hash
from pipeline.problems.sources import READ_SCHEMA, ProblemSource, read_problems
from pipeline.records import PROBLEM_SCHEMA, REJECT_SCHEMA, RejectReason
from pipeline.runtime.storage import RunFolder

log = logging.getLogger(__name__)

SCREENED_SCHEMA = READ_SCHEMA.append(pa.field("_hash", pa.string())).append(pa.field("_rep", pa.string()))
# Rows that stand for what an earlier run wrote: `_written` is "solved" (a trace or a solver
# reject) or "clean" (a clean reject, whose detail is in `_detail`).
SETTLE_SCHEMA = SCREENED_SCHEMA.append(pa.field("_written", pa.string()))
TO_SOLVE, REJECT, SKIPPED = "todo", "reject", "skipped"


class Screen:
    """Validation and decontamination of a batch, against the index shared by the driver."""

    def __init__(self, require_answer: bool, index: Any = None) -> None:
        import ray

        self.require_answer = require_answer
        self.index: ContaminationIndex | None = ray.get(index) if isinstance(index, ray.ObjectRef) else index

    def __call__(self, batch: pa.Table) -> pa.Table:
        reasons, details, hashes = [], [], []
        for row in batch.to_pylist():
            reason, detail = row["_reason"], row["_detail"]
            if reason is None:
                problem = check_row(row, self.require_answer)
                match = self.index.match(row["problem"]) if problem is None and self.index else None
                if problem is None and match is not None:
                    problem = (RejectReason.CONTAMINATED, match.describe())
                reason, detail = (problem[0].value, problem[1]) if problem else (None, None)
            reasons.append(reason)
            details.append(detail)
            hashes.append(text_hash(row["problem"]) if row["problem"] else "")
        return pa.table({
            **{name: batch.column(name) for name in READ_SCHEMA.names if name not in ("_reason", "_detail")},
            "_reason": pa.array(reasons, pa.string()), "_detail": pa.array(details, pa.string()),
            "_hash": pa.array(hashes, pa.string()), "_rep": pa.nulls(batch.num_rows, pa.string()),
        }).select(SCREENED_SCHEMA.names).cast(SCREENED_SCHEMA)


def representatives(block: pa.Table) -> pa.Table:
    """`_rep`: the smallest id among the usable rows of the row's text group (a whole group is in this block)."""
    if block.num_rows == 0:
        return block
    usable = block.filter(pc.is_null(block["_reason"]))
    smallest = usable.group_by("_hash").aggregate([("id", "min")])
    lookup = dict(zip(smallest["_hash"].to_pylist(), smallest["id_min"].to_pylist(), strict=True))
    reps = pa.array([lookup.get(h) for h in block["_hash"].to_pylist()], pa.string())
    return block.set_column(block.schema.get_field_index("_rep"), "_rep", reps)


def settle(block: pa.Table, deduplicate: bool) -> pa.Table:
    """Each input row's final reason and outcome (a whole id group, and its written markers, is in this block)."""
    rows = block.to_pylist()
    solved = {r["id"] for r in rows if r["_written"] == "solved"}
    written_clean = {(r["id"], r["_detail"]) for r in rows if r["_written"] == "clean"}
    inputs = sorted((r for r in rows if r["_written"] is None), key=lambda r: (r["id"], r["_order"]))
    out: list[dict[str, Any]] = []
    occurrence = 0
    previous = None
    for row in inputs:
        occurrence = occurrence + 1 if row["id"] == previous else 1
        previous = row["id"]
        reason, detail = row["_reason"], row["_detail"]
        if reason is None and occurrence > 1:
            reason, detail = RejectReason.DUPLICATE.value, f"occurrence {occurrence} of the id {row['id']!r} in the input"
        elif reason is None and deduplicate and row["_rep"] is not None and row["_rep"] != row["id"]:
            reason, detail = RejectReason.DUPLICATE.value, f"same problem text as {row['_rep']}"
        if reason is not None:
            outcome = SKIPPED if (row["id"], detail) in written_clean else REJECT
        else:
            outcome = SKIPPED if row["id"] in solved else TO_SOLVE
        out.append({**{k: row[k] for k in PROBLEM_SCHEMA.names}, "reason": reason, "detail": detail, "outcome": outcome})
    return pa.Table.from_pylist(out, schema=SETTLED_SCHEMA)


SETTLED_SCHEMA = PROBLEM_SCHEMA.append(pa.field("reason", pa.string())).append(pa.field("detail", pa.string())) \
    .append(pa.field("outcome", pa.string()))


def _written_markers(folder: RunFolder, traces: str, rejects: str):
    """What earlier runs wrote, as marker rows for the settle pass (None when nothing is written)."""
    import ray.data

    from pipeline.runtime.storage import part_files

    def markers(batch: pa.Table, kind: str | None) -> pa.Table:
        n = batch.num_rows
        if kind is None:  # rejects: clean ones keep their detail, the solver's count as solved
            clean = pc.equal(batch["stage"], "clean")
            written = pc.if_else(clean, "clean", "solved")
            detail = pc.if_else(clean, batch["detail"], pa.nulls(n, pa.string()))
        else:
            written, detail = pa.array([kind] * n, pa.string()), pa.nulls(n, pa.string())
        columns = {name: pa.nulls(n, field.type) for name, field in zip(SETTLE_SCHEMA.names, SETTLE_SCHEMA, strict=True)}
        columns.update({"id": batch["id"], "_detail": detail, "_written": written})
        return pa.table(columns, schema=SETTLE_SCHEMA)

    parts = []
    for name, columns, kind in ((traces, ["id"], "solved"), (rejects, ["id", "stage", "detail"], None)):
        files = part_files(folder.fs, folder.file(name))
        if files:
            parts.append(ray.data.read_parquet(files, filesystem=folder.fs, columns=columns)
                         .map_batches(markers, fn_kwargs={"kind": kind}, batch_format="pyarrow"))
    if not parts:
        return None
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


@dataclass
class Settled:
    """The settled input: a materialised dataset of SETTLED_SCHEMA rows and its counts."""

    dataset: Any
    input_rows: int
    todo: int
    rejects: int
    skipped: int

    def rows(self, outcome: str):
        return self.dataset.map_batches(
            lambda b: b.filter(pc.equal(b["outcome"], outcome)), batch_format="pyarrow", batch_size=None)


def screen_and_settle(source: ProblemSource, clean: CleanConfig, *, allow_hub: bool, folder: RunFolder,
                      traces: str, rejects: str, partitions: int) -> Settled:
    import ray
    import ray.data
    from ray.data import ActorPoolStrategy

    index = None
    if clean.decontaminate and (clean.benchmarks or clean.heldout_synthetic):
        index = ray.put(ContaminationIndex.from_benchmarks(clean.benchmarks, clean.ngram, allow_hub, clean.heldout_synthetic))
    screened = read_problems(source, allow_hub=allow_hub).map_batches(
        Screen, fn_constructor_kwargs={"require_answer": clean.require_answer, "index": index},
        batch_format="pyarrow", batch_size=1024, compute=ActorPoolStrategy(min_size=1, max_size=partitions),
        num_cpus=0.25,
    )
    if clean.deduplicate:
        screened = screened.repartition(partitions, keys=["_hash"]).map_batches(
            representatives, batch_format="pyarrow", batch_size=None)
    marked = screened.map_batches(
        lambda b: b.append_column("_written", pa.nulls(b.num_rows, pa.string())), batch_format="pyarrow")
    written = _written_markers(folder, traces, rejects)
    if written is not None:
        marked = marked.union(written)
    settled = marked.repartition(partitions, keys=["id"]).map_batches(
        settle, fn_kwargs={"deduplicate": clean.deduplicate}, batch_format="pyarrow", batch_size=None,
    ).materialize()
    counts = _outcome_counts(settled)
    return Settled(settled, sum(counts.values()), counts.get(TO_SOLVE, 0), counts.get(REJECT, 0), counts.get(SKIPPED, 0))


def _outcome_counts(settled) -> dict[str, int]:
    def count(batch: pa.Table) -> pa.Table:
        counted = pc.value_counts(batch["outcome"])
        return pa.table({"outcome": counted.field("values"), "n": counted.field("counts")})

    counts: dict[str, int] = {}
    for row in settled.select_columns(["outcome"]).map_batches(count, batch_format="pyarrow", batch_size=None).take_all():
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + row["n"]
    return counts


def write_clean_rejects(settled: Settled, folder: RunFolder, rejects: str) -> int:
    """The clean rejects, written as parts by the workers that hold them."""
    if settled.rejects == 0:
        return 0
    root = folder.root

    def write(batch: pa.Table) -> pa.Table:
        from pipeline.runtime.storage import RunFolder

        n = batch.num_rows
        table = pa.table({
            "id": batch["id"], "stage": pa.array(["clean"] * n, pa.string()), "reason": batch["reason"],
            "detail": batch["detail"], "problem": batch["problem"], "answer": batch["answer"],
            "source": batch["source"], "trace": pa.nulls(n, pa.string()),
        }).select(REJECT_SCHEMA.names).cast(REJECT_SCHEMA)
        RunFolder(root).write_part(table, rejects, prefix="clean")
        return pa.table({"written": [n]})

    done = settled.rows(REJECT).map_batches(write, batch_format="pyarrow", batch_size=50_000).take_all()
    return sum(row["written"] for row in done)
