"""The job skeleton without Ray: stages, rejections, the sink, resume, closing resources."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import BaseModel

from pipeline.jobs.actor import StageActor, write_outputs
from pipeline.jobs.resources import ActorPoolResources
from pipeline.jobs.run import cut_blocks, pending, written_keys
from pipeline.jobs.stage import Job, Rejected, Resources, Stage, run_stages
from pipeline.runtime.storage import RunFolder


class ToyConfig(BaseModel):
    divisor: int = 3


@dataclass
class Number:
    value: int
    trail: tuple[str, ...] = ()


async def halve(resources: Resources, item: Number) -> Number | Rejected:
    if item.value % 2:
        return Rejected(item, "odd", f"{item.value} is odd")
    return Number(item.value // 2, (*item.trail, "halve"))


async def divide(resources: Resources, item: Number) -> Number:
    if item.value % resources.config.divisor == 0:
        raise ZeroDivisionError("a row that makes a stage raise")
    return Number(item.value, (*item.trail, "divide"))


async def count_batch(resources: Resources, items: list[Number]) -> list[Number]:
    return [Number(i.value, (*i.trail, f"batch of {len(items)}")) for i in items]


SCHEMA = pa.schema([("value", pa.int64()), ("trail", pa.string())])
REJECTS = pa.schema([("value", pa.int64()), ("reason", pa.string())])


def write(resources: Resources, result: Number | Rejected) -> dict[str, list[dict]]:
    if isinstance(result, Rejected):
        return {"rejects": [{"value": result.item.value, "reason": result.reason}]}
    return {"out": [{"value": result.value, "trail": ",".join(result.trail)}]}


class Closable:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


TOY = Job(
    name="toy",
    config_type=ToyConfig,
    open=lambda config, handles: Resources(config=config, concurrency=4),
    read=lambda resources, row: Number(row["value"]),
    stages=(Stage("halve", halve), Stage("divide", divide), Stage("count", count_batch, per_batch=True)),
    write=write,
    schemas={"rejects": REJECTS, "out": SCHEMA},
    tally=lambda results: {"rows": len(results), "kept": sum(not isinstance(r, Rejected) for r in results)},
)


async def test_a_rejected_row_skips_the_stages_after_it_and_a_raising_stage_rejects_only_its_row():
    resources = Resources(config=ToyConfig(), concurrency=2)
    items = [Number(v) for v in (4, 5, 6, 8)]
    results = await run_stages(TOY, resources, items, asyncio.Semaphore(2))
    assert isinstance(results[1], Rejected) and results[1].reason == "odd"
    assert isinstance(results[2], Rejected) and results[2].reason == "divide_error"  # 6/2 = 3, divisible by 3
    assert "ZeroDivisionError" in results[2].detail
    # the batch stage saw only the two rows still alive
    assert results[0].trail == ("halve", "divide", "batch of 2")
    assert results[3].trail == ("halve", "divide", "batch of 2")


def test_the_sink_writes_one_part_per_output_in_schema_order(tmp_path):
    folder = RunFolder(str(tmp_path))
    results = [Number(2, ("a",)), Rejected(Number(3), "odd"), Number(4, ("b",))]
    written = write_outputs(folder, TOY, results, Resources(config=ToyConfig()))
    assert list(written) == ["rejects", "out"]
    out = folder.read("out")
    assert sorted(out.column("value").to_pylist()) == [2, 4]
    assert folder.read("rejects").to_pylist() == [{"value": 3, "reason": "odd"}]
    assert len(list((tmp_path / "out").glob("*.parquet"))) == 1


async def test_the_actor_runs_a_batch_end_to_end_and_returns_its_counters(tmp_path):
    actor = StageActor(TOY, ToyConfig(divisor=7).model_dump_json(), str(tmp_path))
    counters = await actor(pa.table({"value": [2, 3, 4, 14]}))
    assert counters.to_pylist() == [{"rows": 4, "kept": 2}]
    rejects = pq.read_table(next((tmp_path / "rejects").glob("*.parquet"))).to_pylist()
    assert sorted(r["reason"] for r in rejects) == ["divide_error", "odd"]


def test_resume_is_an_anti_join_against_what_is_written(tmp_path):
    folder = RunFolder(str(tmp_path))
    folder.write_part(pa.table({"id": ["a", "c"]}), "done")
    done = written_keys(folder, ["done", "missing"])
    assert done == {"a", "c"}
    todo = pending(pa.table({"id": ["a", "b", "c", "d"], "x": [1, 2, 3, 4]}), done)
    assert todo.to_pylist() == [{"id": "b", "x": 2}, {"id": "d", "x": 4}]


def test_blocks_cover_every_row_once():
    table = pa.table({"id": [str(i) for i in range(1000)]})
    blocks = cut_blocks(table, ActorPoolResources(num_actors=2))
    assert sum(b.num_rows for b in blocks) == 1000 and len(blocks) >= 8
    fixed = cut_blocks(table, ActorPoolResources(), block_rows=64)
    assert {b.num_rows for b in fixed[:-1]} == {64}


def test_resources_close_everything_they_own_once_even_when_one_closer_fails():
    class Failing:
        def close(self) -> None:
            raise RuntimeError("boom")

    first, second = Closable(), Closable()
    resources = Resources(config=ToyConfig())
    resources.own(first)
    resources.own(Failing())
    resources.own(second)
    resources.close()
    assert first.closed and second.closed
    resources.close()  # a second close is a no-op


def test_async_closers_run_on_the_loop_that_made_them():
    closed = []

    class Session:
        async def close(self) -> None:
            closed.append(asyncio.get_running_loop())

    loop = asyncio.new_event_loop()
    import threading

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        resources = Resources(config=ToyConfig())
        resources.own(Session())
        resources._loop = loop
        resources.close()
        assert closed == [loop]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.mark.parametrize("stages", [(), (Stage("count", count_batch, per_batch=True),)])
async def test_a_job_without_row_stages_still_writes_every_row(stages, tmp_path):
    job = Job(name="t", config_type=ToyConfig, open=TOY.open, read=TOY.read, stages=stages, write=write,
              schemas=TOY.schemas)
    actor = StageActor(job, ToyConfig().model_dump_json(), str(tmp_path))
    await actor(pa.table({"value": [1, 2, 3]}))
    assert sorted(RunFolder(str(tmp_path)).read("out").column("value").to_pylist()) == [1, 2, 3]
