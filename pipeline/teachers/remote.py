"""Teachers as Ray actors, shared by many solver actors through a least-loaded router.

A replica that dies (killed, out of memory, its node gone) does not take its requests
with it: `RemoteTeacher` sends each request that was in flight on it to another replica,
and stops routing to it. Only when no replica is left does a request fail, with a
`TeacherError` that names the cause, so its row becomes a reject and the job goes on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import ray
from ray.exceptions import ActorDiedError, RayActorError, RayTaskError

from pipeline.teachers.base import Reply, TeacherError
from pipeline.teachers.config import TeacherConfig
from pipeline.teachers.registry import build_teacher

log = logging.getLogger(__name__)


@ray.remote
class TeacherActor:
    """Hosts one teacher (e.g. a vLLM engine on its GPUs) and serves `chat` concurrently."""

    def __init__(self, config: TeacherConfig) -> None:
        self.teacher = build_teacher(config)
        self.requests = 0  # received
        self.failed = 0  # raised (a TeacherError or a teacher bug)
        self.in_flight = 0

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, sampling: dict[str, Any]) -> Reply:
        self.requests += 1
        self.in_flight += 1
        try:
            return await self.teacher.chat(messages, tools=tools, **sampling)
        except Exception:
            self.failed += 1
            raise
        finally:
            self.in_flight -= 1

    async def stats(self) -> dict[str, Any]:
        """Requests this replica received, failed and holds now (its share of the load)."""
        return {"teacher": self.teacher.name, "requests": self.requests, "failed": self.failed, "in_flight": self.in_flight}

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


def _first_line(error: BaseException, limit: int = 300) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:limit]


class RemoteTeacher:
    """The Teacher protocol over teacher actors: each request goes to the least busy live replica.

    Ties go to the replica that was sent the fewest requests, so even one request at a
    time is spread over the replicas. A replica whose actor died is skipped from then on,
    and the requests it held are sent again to the others (a chat request has no side
    effects, so sending it twice is safe); a replica that is only unreachable for the
    moment is skipped for that request alone.
    """

    def __init__(self, handles: list[ray.actor.ActorHandle], name: str) -> None:
        if not handles:
            raise ValueError("RemoteTeacher needs at least one teacher actor")
        self.handles = handles
        self.name = name
        self._in_flight = [0] * len(handles)
        self._sent = [0] * len(handles)
        self._moved = [0] * len(handles)  # requests sent again elsewhere because this replica failed
        self._dead: dict[int, str] = {}

    def _pick(self, skip: set[int]) -> int | None:
        live = [i for i in range(len(self.handles)) if i not in self._dead and i not in skip]
        return min(live, key=lambda i: (self._in_flight[i], self._sent[i])) if live else None

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **sampling: Any) -> Reply:
        unreachable: set[int] = set()
        while (index := self._pick(unreachable)) is not None:
            self._in_flight[index] += 1
            self._sent[index] += 1
            try:
                return await self.handles[index].chat.remote(messages, tools, sampling)
            except ActorDiedError as exc:
                if index not in self._dead:
                    self._dead[index] = _first_line(exc)
                    log.warning("teacher replica %d of %s died (%s); sending its requests to the others",
                                index, self.name, self._dead[index])
            except RayActorError as exc:  # unavailable for now (restarting, network): try another one
                unreachable.add(index)
                log.warning("teacher replica %d of %s unreachable (%s); trying another", index, self.name, _first_line(exc))
            except RayTaskError as exc:  # the teacher itself failed: its error, without Ray's traceback
                cause = exc.cause if exc.cause is not None else exc
                if isinstance(cause, TeacherError):
                    raise TeacherError(str(cause)) from None
                raise TeacherError(f"{type(cause).__name__}: {_first_line(cause)}") from None
            finally:
                self._in_flight[index] -= 1
            self._moved[index] += 1
        reasons = "; ".join(f"replica {i}: {why}" for i, why in sorted(self._dead.items()))
        raise TeacherError(
            f"no teacher replica left to serve the request ({len(self._dead)} of {len(self.handles)} died"
            + (f", {len(unreachable)} unreachable" if unreachable else "") + (f": {reasons}" if reasons else "") + ")"
        )

    def stats(self) -> list[dict[str, Any]]:
        """Per replica, as this client saw it: requests sent, in flight, sent again elsewhere, and death."""
        return [
            {"replica": i, "sent": self._sent[i], "in_flight": self._in_flight[i], "moved": self._moved[i], "dead": self._dead.get(i)}
            for i in range(len(self.handles))
        ]

    async def close(self) -> None:
        """The actors belong to the job that started them; nothing to release per client."""
        await asyncio.sleep(0)
