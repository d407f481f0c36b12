"""A job's parts: named row stages, the per-actor resources they share, and the job itself.

    row ──read──▶ item ──stage──▶ item ──stage──▶ … ──write──▶ {output: rows}
                    └──────────── Rejected(item, reason, detail) ──┘

A stage is a pure async function `(resources, item) -> item | Rejected`, or, for work that
is batched by nature (a model generating for many prompts at once), `(resources, items) ->
items`. A row that a stage rejects skips the stages after it and goes to the job's writer
as a `Rejected`, which turns it into a reject row with its reason: every input row ends
up in exactly one output. Consecutive row stages run as one chain per row, so a slow
row does not hold the others back at every stage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from pydantic import BaseModel

log = logging.getLogger(__name__)


@dataclass
class Rejected:
    """A row that leaves the job at a stage, with the reason it is written to rejects/."""

    item: Any
    reason: str
    detail: str = ""


@dataclass
class Resources:
    """What one actor owns for its whole life: the config, and things to close at the end.

    Subclasses add the job's own handles (sandbox, grader, teacher, model). Everything
    passed through `own` is closed once when the actor ends, async closers on the event
    loop that made them (an aiohttp session must be closed on its own loop).
    """

    config: BaseModel
    concurrency: int = 16
    _closers: list[Any] = field(default_factory=list, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)

    def own(self, resource: Any) -> Any:
        self._closers.append(resource)
        return resource

    def close(self) -> None:
        closers, self._closers = self._closers, []
        for resource in reversed(closers):
            try:
                result = resource.close()
                if asyncio.iscoroutine(result):
                    self._finish(result)
            except Exception as exc:  # closing must never fail the job that is ending
                log.warning("closing %r failed: %s", resource, exc)

    def _finish(self, coroutine: Any) -> None:
        loop = self._loop
        if loop is not None and loop.is_running() and not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=10)
                return
            except RuntimeError:  # called from the loop's own thread: schedule it instead
                loop.create_task(coroutine)
                return
        coroutine.close()  # the loop is gone: nothing left to close on


RowFn = Callable[[Any, Any], Awaitable[Any]]
BatchFn = Callable[[Any, list[Any]], Awaitable[list[Any]]]


@dataclass(frozen=True)
class Stage:
    """One named step of a job."""

    name: str
    fn: RowFn | BatchFn
    per_batch: bool = False


@dataclass(frozen=True)
class Job:
    """A job definition: how an actor opens its resources, reads a row, the stages, the writer.

    Instances are module-level constants: Ray pickles them by reference into the actors.

    Attributes:
        name: the job's name (also the `stage` of its reject rows).
        config_type: the pydantic config the actors rebuild from JSON.
        open: builds one actor's resources from (config, shared teacher actor handles).
        read: an input row -> a work item, or `Rejected` (an unreadable row).
        stages: the named stages, in order.
        write: a finished item or a `Rejected` -> {output folder: rows}; the folder's
            first path segment names its schema in `schemas`.
        schemas: Arrow schema of each output; parts are written in this order (an output
            whose loss a rerun repairs, such as a cache, goes first).
        tally: the counters of one batch (for the summary of this attempt).
    """

    name: str
    config_type: type[BaseModel]
    open: Callable[[Any, dict[str, list[Any]]], Resources]
    read: Callable[[Resources, dict[str, Any]], Any]
    stages: tuple[Stage, ...]
    write: Callable[[Resources, Any], dict[str, list[dict[str, Any]]]]
    schemas: dict[str, pa.Schema]
    tally: Callable[[Sequence[Any]], dict[str, Any]] = lambda items: {"rows": len(items)}


def _segments(stages: Sequence[Stage]) -> list[list[Stage]]:
    """Consecutive row stages grouped into one chain; each batch stage alone."""
    segments: list[list[Stage]] = []
    for stage in stages:
        if stage.per_batch or not segments or segments[-1][0].per_batch:
            segments.append([stage])
        else:
            segments[-1].append(stage)
    return segments


async def run_stages(job: Job, resources: Resources, items: list[Any], limit: asyncio.Semaphore) -> list[Any]:
    """Every item through the job's stages; a rejected item stops where it was rejected."""

    async def chain(stages: list[Stage], item: Any) -> Any:
        async with limit:
            for stage in stages:
                item = await _guarded(stage, stage.fn(resources, item), item)
                if isinstance(item, Rejected):
                    break
            return item

    for segment in _segments(job.stages):
        live = [i for i, item in enumerate(items) if not isinstance(item, Rejected)]
        if not live:
            break
        if segment[0].per_batch:
            stage = segment[0]
            batch = [items[i] for i in live]
            results = await _guarded(stage, stage.fn(resources, batch), batch)
            if isinstance(results, Rejected):  # the whole batch failed
                results = [Rejected(item, results.reason, results.detail) for item in batch]
        else:
            results = await asyncio.gather(*(chain(segment, items[i]) for i in live))
        for i, result in zip(live, results, strict=True):
            items[i] = result
    return items


async def _guarded(stage: Stage, call: Awaitable[Any], item: Any) -> Any:
    """A stage that raises rejects its row(s) with the stage's name: one bad row never ends a job."""
    try:
        return await call
    except Exception as exc:
        log.warning("stage %s failed: %r", stage.name, exc)
        return Rejected(item, f"{stage.name}_error", repr(exc)[:500])
