"""`run_job` on Ray: a dataset input is cut into blocks, and the whole actor pool gets them."""

from __future__ import annotations

import asyncio
import os

import pyarrow as pa
from pydantic import BaseModel

from pipeline.jobs.resources import ActorPoolResources
from pipeline.jobs.run import block_size, run_job
from pipeline.jobs.stage import Job, Resources, Stage
from pipeline.runtime.storage import RunFolder


class PoolConfig(BaseModel):
    pass


async def note_actor(resources: Resources, item: dict) -> dict:
    await asyncio.sleep(0.5)  # a row outlasts the hand-out of the next block, as a teacher call does
    return {**item, "pid": os.getpid()}


POOL = Job(
    name="pool",
    config_type=PoolConfig,
    open=lambda config, handles: Resources(config=config, concurrency=8),
    read=lambda resources, row: {"value": row["value"]},
    stages=(Stage("note", note_actor),),
    write=lambda resources, item: {"out": [item]},
    schemas={"out": pa.schema([("value", pa.int64()), ("pid", pa.int64())])},
    tally=lambda results: {"rows": len(results)},
)


def test_block_size_follows_num_blocks_else_four_blocks_per_actor():
    assert block_size(1000, ActorPoolResources(num_blocks=10)) == 100
    assert block_size(1000, ActorPoolResources(num_actors=2)) == 125  # 8 blocks
    assert block_size(3, ActorPoolResources(num_actors=2)) == 1


def test_a_dataset_in_one_block_is_cut_and_every_actor_of_the_pool_works(ray_local, tmp_path):
    # One 64-row block (as the settle pass hands generation its rows): uncut, a single actor
    # would take it whole and the other would be let go.
    import ray.data

    rows = ray.data.from_arrow(pa.table({"value": list(range(64))}))
    assert rows.num_blocks() == 1
    resources = ActorPoolResources(num_actors=2, num_cpus_per_actor=0.25, batch_size=8, batches_in_flight_per_actor=4)
    counters = run_job(POOL, PoolConfig(), rows, root=str(tmp_path), resources=resources, progress=False,
                       block_rows=block_size(64, resources))
    assert sum(c["rows"] for c in counters) == 64
    out = RunFolder(str(tmp_path)).read("out")
    assert sorted(out.column("value").to_pylist()) == list(range(64))
    assert len(set(out.column("pid").to_pylist())) == 2
