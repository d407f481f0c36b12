"""The one actor UDF every job runs in: resources for its life, stages per batch, one sink.

Ray Data builds one `StageActor` per pool actor and calls it with blocks of rows. The
actor opens the job's resources once, runs each batch through the stages, writes the
batch's outputs as write-once parts (one per output folder) and returns the batch's
counters. Ray Data deletes the UDF when the pool shuts down; `__del__` then closes the
resources (worker processes, HTTP sessions) instead of leaving them to notice their
parent is gone.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from pipeline.jobs.stage import Job, Rejected, Resources, run_stages
from pipeline.records import to_table
from pipeline.runtime.storage import RunFolder


def write_outputs(folder: RunFolder, job: Job, results: Iterable[Any], resources: Resources) -> dict[str, int]:
    """The sink: each output folder's rows of one batch as one part, in the job's schema order."""
    outputs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        for name, rows in job.write(resources, result).items():
            outputs[name].extend(rows)
    order = list(job.schemas)
    written = {}
    for name in sorted(outputs, key=lambda n: order.index(n.split("/")[0])):
        schema = job.schemas[name.split("/")[0]]
        folder.write_part(to_table(outputs[name], schema), *name.split("/"))
        written[name] = len(outputs[name])
    return written


class StageActor:
    """Async Ray Data UDF: one job's stages over batches of rows (see the module doc)."""

    def __init__(self, job: Job, config_json: str, root: str, teacher_handles: dict[str, list[Any]] | None = None) -> None:
        self.job = job
        self.folder = RunFolder(root)
        self.resources = job.open(job.config_type.model_validate_json(config_json), teacher_handles or {})
        self.limit = asyncio.Semaphore(self.resources.concurrency)

    def __del__(self) -> None:
        if hasattr(self, "resources"):
            self.resources.close()

    async def __call__(self, batch: pa.Table) -> pa.Table:
        self.resources._loop = asyncio.get_running_loop()
        items = [self.job.read(self.resources, row) for row in batch.to_pylist()]
        results = await run_stages(self.job, self.resources, items, self.limit)
        write_outputs(self.folder, self.job, results, self.resources)
        counters = self.job.tally(results)
        return pa.table({key: [value] for key, value in counters.items()})


def rejected_items(results: Iterable[Any]) -> list[Rejected]:
    return [r for r in results if isinstance(r, Rejected)]
