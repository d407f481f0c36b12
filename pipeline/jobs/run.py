"""`run_job`: the rows still to do → blocks → an actor pool of `StageActor`s → counters.

One place owns what every job repeats: starting Ray, cutting blocks, the actor pool, the
teacher actors that the pool's actors share (started before, killed after, so their GPUs
go back with the job), and the resume rule (`pending`: the rows whose key is not written
yet, an anti-join against what is there).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from pipeline.jobs.actor import StageActor
from pipeline.jobs.resources import ActorPoolResources
from pipeline.jobs.stage import Job
from pipeline.runtime.storage import RunFolder

log = logging.getLogger(__name__)

# How long a job waits for its whole actor pool (model loads included) before it fails with
# Ray Data's "Timed out while starting actors" instead of waiting for ever.
POOL_START_TIMEOUT_S = 1800


def written_keys(folder: RunFolder, outputs: Iterable[str], column: str = "id") -> set[Any]:
    """The keys already written to any of `outputs` (what a rerun must not do again)."""
    keys: set[Any] = set()
    for name in outputs:
        table = folder.read(*name.split("/"), columns=[column])
        if table is not None:
            keys.update(table.column(column).to_pylist())
    return keys


def pending(table: pa.Table, done: set[Any], column: str = "id") -> pa.Table:
    """The rows of `table` whose key is not in `done` (resume as an anti-join)."""
    if not done or table.num_rows == 0:
        return table
    return table.filter(pc.invert(pc.is_in(table.column(column), value_set=pa.array(list(done), table.schema.field(column).type))))


def block_size(num_rows: int, resources: ActorPoolResources) -> int:
    """Rows per block: `num_blocks` blocks, else at least 4 per actor and about 256 rows each."""
    blocks = resources.num_blocks or max(resources.num_actors * 4, num_rows // 256)
    return max(1, -(-num_rows // blocks))


def cut_blocks(table: pa.Table, resources: ActorPoolResources, block_rows: int | None = None) -> list[pa.Table]:
    """Blocks cut on the driver rather than by a repartition operator: an all-to-all stage
    needs whole CPUs while the pool's actors hold theirs, which can deadlock a small node.

    `block_rows` fixes the rows of each block (evaluation: one block per model batch, so
    the rows that share a batch, and so their padding, do not depend on the pool)."""
    size = block_rows or block_size(table.num_rows, resources)
    return [table.slice(start, size) for start in range(0, table.num_rows, size)]


def start_teachers(teachers: Iterable[Any]) -> dict[str, list[Any]]:
    """Teacher actors for every teacher config that must be shared (vLLM, or placement=actors),
    one group per distinct config, so several agents can share one model."""
    from pipeline.teachers.remote import start_teacher_actors

    handles: dict[str, list[Any]] = {}
    for teacher in teachers:
        if teacher is not None and teacher.effective_placement() == "actors":
            key = teacher.model_dump_json()
            if key not in handles:
                handles[key] = start_teacher_actors(teacher)
    return handles


def actor_class(job: Job) -> type[StageActor]:
    """`StageActor` under the job's name, so the dashboard and the state API say which pool
    an actor belongs to (GenerateActor, BacktranslateActor, EvalActor)."""
    return type(f"{job.name.capitalize()}Actor", (StageActor,), {"__module__": StageActor.__module__})


def run_job(
    job: Job,
    config: BaseModel,
    todo: Any,
    *,
    root: str,
    resources: ActorPoolResources,
    teachers: Iterable[Any] = (),
    progress: bool = True,
    block_rows: int | None = None,
) -> list[dict[str, Any]]:
    """Run `job` over the rows of `todo` (a table, or a Ray Dataset that stays on the workers,
    cut into blocks of `block_rows` when given), writing under `root`; returns each batch's counters."""
    if isinstance(todo, pa.Table) and todo.num_rows == 0:
        return []
    import ray
    import ray.data
    from ray.data import ActorPoolStrategy

    from pipeline.runtime.ray_start import ensure_ray

    ensure_ray()
    ray.data.DataContext.get_current().enable_progress_bars = progress
    handles = start_teachers(teachers)
    try:
        if isinstance(todo, pa.Table):
            rows = ray.data.from_arrow(cut_blocks(todo, resources, block_rows))
        elif block_rows:
            # A dataset arrives in its upstream blocks (generation: the settle pass's hash
            # partitions, 8 here). With fewer blocks than the pool takes at once, the first actor
            # up takes them all and Ray Data lets the others go. A streaming split, not all-to-all.
            rows = todo.repartition(target_num_rows_per_block=block_rows)
        else:
            rows = todo
        pool = rows.map_batches(
            actor_class(job),
            fn_constructor_kwargs={"job": job, "config_json": config.model_dump_json(), "root": root, "teacher_handles": handles},
            batch_size=resources.batch_size,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(
                size=resources.num_actors,
                max_tasks_in_flight_per_actor=resources.batches_in_flight_per_actor,
                max_concurrent_calls_per_actor=resources.batches_in_flight_per_actor,
            ),
            num_cpus=resources.num_cpus_per_actor,
            num_gpus=resources.num_gpus_per_actor or None,
        )
        # Hand out blocks only once every actor is up: else the first one up takes as many as it
        # may hold (all of a small job), works alone until the others are ready, and those that
        # are still starting when the blocks run out are let go.
        pool.context.wait_for_min_actors_s = POOL_START_TIMEOUT_S
        return pool.take_all()
    finally:
        for group in handles.values():
            for handle in group:
                ray.kill(handle)  # release the teachers' GPUs with the job


def tally_parts(folder: RunFolder, name: str, columns: list[str], count: Callable[[pa.Table], dict[str, Any]]) -> dict[str, Any]:
    """Counters over every part of an output, counted where the parts are read (the driver
    only adds them up): `count(batch)` returns numbers and {key: number} maps."""
    from pipeline.runtime.storage import part_files

    files = part_files(folder.fs, folder.file(*name.split("/")))
    if not files:
        return {}
    import ray.data

    def one(batch: pa.Table) -> pa.Table:
        return pa.table({"counts": [json.dumps(count(batch))]})

    totals: dict[str, Any] = {}
    counted = ray.data.read_parquet(files, filesystem=folder.fs, columns=columns)
    for row in counted.map_batches(one, batch_format="pyarrow", batch_size=65536).take_all():
        for key, value in json.loads(row["counts"]).items():
            if isinstance(value, dict):
                merged = totals.setdefault(key, {})
                for k, v in value.items():
                    merged[k] = merged.get(k, 0) + v
            else:
                totals[key] = totals.get(key, 0) + value
    return totals
