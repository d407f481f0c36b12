"""Teachers as Ray actors, shared by many solver actors through a least-loaded router."""

from __future__ import annotations

import asyncio
from typing import Any

import ray

from pipeline.teachers.base import Reply
from pipeline.teachers.config import TeacherConfig
from pipeline.teachers.registry import build_teacher


@ray.remote
class TeacherActor:
    """Hosts one teacher (e.g. a vLLM engine on its GPUs) and serves `chat` concurrently."""

    def __init__(self, config: TeacherConfig) -> None:
        self.teacher = build_teacher(config)

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, sampling: dict[str, Any]) -> Reply:
        return await self.teacher.chat(messages, tools=tools, **sampling)

    async def close(self) -> None:
        await self.teacher.close()


def start_teacher_actors(config: TeacherConfig, max_concurrency: int = 256) -> list[ray.actor.ActorHandle]:
    """`config.replicas` teacher actors, each with the CPUs and GPUs of one replica."""
    actor = TeacherActor.options(
        num_cpus=config.num_cpus_per_replica,
        num_gpus=config.num_gpus_per_replica,
        max_concurrency=max_concurrency,
    )
    return [actor.remote(config) for _ in range(config.replicas)]


class RemoteTeacher:
    """The Teacher protocol over teacher actors: each request goes to the least busy replica."""

    def __init__(self, handles: list[ray.actor.ActorHandle], name: str) -> None:
        if not handles:
            raise ValueError("RemoteTeacher needs at least one teacher actor")
        self.handles = handles
        self.name = name
        self._in_flight = [0] * len(handles)

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **sampling: Any) -> Reply:
        index = min(range(len(self.handles)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        try:
            return await self.handles[index].chat.remote(messages, tools, sampling)
        finally:
            self._in_flight[index] -= 1

    async def close(self) -> None:
        """The actors belong to the job that started them; nothing to release per client."""
        await asyncio.sleep(0)
