"""The generation job's peers against the fixed-latency endpoint: Ray's `ray.data.llm` HTTP
request processor and a bare aiohttp loop, sending the very requests the job sends.

The job's Solver Agent sends two requests per problem (see pipeline/agents/prompts.py):
the plan turn (system prompt + problem, no tools) and, once the endpoint has answered it,
the first tool turn (the same + the plan + EXECUTE, with the solver's tool list). The
latency server answers the tool turn with `\\boxed{42}`, so the agent stops there: two
requests per problem, whatever the solver's settings. The peers send the same 2·N JSON
bodies, built by the job's own OpenAI client (`OpenAITeacher._payload` / `_encode`), as
independent requests: each peer's in-flight limit equals the job's, and throughput is
completed requests per second, measured at the server from the first request in to the
last reply out (start-up of actors and pools is outside it, for all three).

`ray.data.llm` as measured here, in Ray 2.60 (read from
`ray/llm/_internal/batch/stages/http_request_stage.py`), and what the run sets
(`ray_data_llm_settings`):
- its HTTP stage creates all requests of a batch with `session.post(...)`, which in
  aiohttp is a lazy coroutine, and then awaits them one by one: the requests of one batch
  go out one after another. Requests in flight = batches in flight, and an actor runs
  `DEFAULT_ASYNC_BATCH_UDF_MAX_CONCURRENCY` (4) batches of one task at a time (the actor's
  `max_concurrency` is 1). With `HttpRequestProcessorConfig`'s knobs alone, 512 in flight
  would take 128 actors. To give it the job's limit on the job's 2 actors (0.5 CPU each),
  the run sets that Ray Data constant to concurrency / actors for its duration,
  `batch_size=4` (1, 4 and 16 measured: 4 was best at both latencies; 1 opens a session
  per request, larger batches need blocks of batch_size x concurrency / actors rows),
  `concurrency=(2, 2)`, `qps=None` (it only paces the creation of requests, it adds no
  parallelism), one block per actor, and Ray Data's `wait_for_min_actors_s` (else the
  first actor up may take both blocks);
- a row's `payload` dict becomes an Arrow struct between stages, and Arrow fills every key
  that any tool's schema has into every other tool's (as nulls): the natural way, the
  body grows from ~49 KB to ~123 KB and is no longer our request. The preprocess step
  therefore adds one column Arrow cannot convert (`KeepAsPython`), which makes Ray Data
  keep the rows as pickled Python objects, so the body sent is our JSON. Ray's
  `json.dumps` escapes non-ASCII (our 6 `≡` become `\\u2261`): +18 bytes per tool turn.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import contextmanager
from typing import Any

from pipeline.agents import prompts

PLAN_REPLY = "Plan: compute it directly."  # what bench.latency_server answers to a request without tools


def problem_text(index: int) -> str:
    return f"Problem {index}: what is 40 + 2?"


class SolverRequests:
    """The two request bodies of problem i, exactly as the generation job's OpenAI client sends them."""

    def __init__(self, model: str = "latency", sampling: dict[str, Any] | None = None, tool_names: list[str] | None = None,
                 tool_categories: list[str] | None = None) -> None:
        from pipeline.agents.solver import SolverConfig
        from pipeline.teachers.openai import OpenAITeacher
        from toolkit.registry import openai_tools

        self.sampling = sampling if sampling is not None else SolverConfig().sampling
        self.tools = openai_tools(tool_categories, tool_names)
        self.teacher = OpenAITeacher(model=model, base_url="http://unused/v1", api_key_env=None)

    def messages(self, index: int, turn: int) -> list[dict[str, Any]]:
        messages = [
            {"role": "system", "content": prompts.SOLVER_SYSTEM},
            {"role": "user", "content": prompts.PLAN_REQUEST.format(problem=problem_text(index))},
        ]
        if turn == 1:
            messages += [{"role": "assistant", "content": PLAN_REPLY}, {"role": "user", "content": prompts.EXECUTE}]
        return messages

    def payload(self, request: int) -> dict[str, Any]:
        """Request k of the 2·N (problem k // 2, turn k % 2) as a dict whose `json.dumps` is the wire body."""
        index, turn = divmod(request, 2)
        payload = self.teacher._payload(self.messages(index, turn), self.tools if turn else None, self.sampling)
        tools = payload.pop("tools", None)
        if tools is not None:
            payload["tools"] = tools  # `_encode` splices the tool list in last
        return payload

    def body(self, request: int) -> bytes:
        index, turn = divmod(request, 2)
        return self.teacher._encode(self.teacher._payload(self.messages(index, turn), self.tools if turn else None, self.sampling))

    def check(self) -> None:
        """The dicts the peers serialise are the bodies the job sends (the same JSON, key for key)."""
        for request in (0, 1):
            assert json.dumps(self.payload(request), ensure_ascii=False).encode() == self.body(request), request


def _rate(stats: dict[str, Any], concurrency: int, wall_s: float) -> dict[str, Any]:
    serving = stats["serving_s"]
    return {
        "requests": stats["requests"],
        "request_bytes": stats["request_bytes"],
        "requests_per_s": stats["requests"] / serving if serving else 0.0,
        "in_flight_ratio": stats["mean_in_flight"] / concurrency,
        "max_in_flight": stats["max_in_flight"],
        "serving_s": serving,
        "wall_s": wall_s,
    }


# --------------------------------------------------------------------------- bare aiohttp loop


async def _bare(url: str, requests: SolverRequests, count: int, concurrency: int) -> int:
    import aiohttp

    limit = asyncio.Semaphore(concurrency)
    answered = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers={"Content-Type": "application/json"}) as session:

        async def one(request: int) -> None:
            nonlocal answered
            async with limit, session.post(url, data=requests.body(request)) as response:
                reply = json.loads(await response.read())
            answered += bool(reply["choices"][0]["message"]["content"])

        await asyncio.gather(*(one(k) for k in range(count)))
    return answered


def run_bare(server: Any, requests: SolverRequests, count: int, concurrency: int) -> dict[str, Any]:
    """`count` requests from one asyncio loop in this process, at most `concurrency` in flight."""
    server.reset()
    started = time.perf_counter()
    answered = asyncio.run(_bare(f"{server.base_url}/chat/completions", requests, count, concurrency))
    wall = time.perf_counter() - started
    assert answered == count, (answered, count)
    return _rate(server.stats(), concurrency, wall)


# -------------------------------------------------------------------------------- ray.data.llm


class KeepAsPython:
    """A value Arrow cannot convert: the rows that carry it stay Python objects in Ray Data,
    so each payload reaches the HTTP stage as the dict it was (see the module doc)."""


@contextmanager
def ray_data_tuned(async_batches_per_task: int, wait_for_actors_s: int):
    """For one run: Ray Data's batches in flight per task of an async batch UDF (a module
    constant, read when a dataset is planned), and waiting for the whole actor pool before
    the first task (else the first actor up takes every block and the other is let go)."""
    import ray.data
    from ray.data._internal.planner import plan_udf_map_op

    context = ray.data.DataContext.get_current()
    before = plan_udf_map_op.DEFAULT_ASYNC_BATCH_UDF_MAX_CONCURRENCY, context.wait_for_min_actors_s
    plan_udf_map_op.DEFAULT_ASYNC_BATCH_UDF_MAX_CONCURRENCY = async_batches_per_task
    context.wait_for_min_actors_s = wait_for_actors_s
    try:
        yield
    finally:
        plan_udf_map_op.DEFAULT_ASYNC_BATCH_UDF_MAX_CONCURRENCY, context.wait_for_min_actors_s = before


def ray_data_llm_settings(concurrency: int, actors: int, num_cpus: float) -> dict[str, Any]:
    """What the run sets (see the module doc): the config's fields and two Ray Data settings."""
    return {
        "batch_size": 4,
        "concurrency": (actors, actors),
        "qps": None,
        "max_retries": 0,
        "http_request_stage": {"num_cpus": num_cpus},
        "async_batches_per_task": concurrency // actors,
        "wait_for_min_actors_s": 600,
        "blocks": actors,
    }


def run_ray_data_llm(server: Any, requests: SolverRequests, count: int, concurrency: int, *, actors: int = 2,
                     num_cpus: float = 0.5) -> dict[str, Any]:
    """`count` requests through `build_processor(HttpRequestProcessorConfig(...))`, at most
    `concurrency` in flight over `actors` actors (settings: `ray_data_llm_settings`)."""
    import ray.data
    from ray.data.llm import HttpRequestProcessorConfig, build_processor

    settings = ray_data_llm_settings(concurrency, actors, num_cpus)
    config = HttpRequestProcessorConfig(
        url=f"{server.base_url}/chat/completions",
        **{k: settings[k] for k in ("batch_size", "concurrency", "qps", "max_retries", "http_request_stage")},
    )
    processor = build_processor(
        config,
        preprocess=lambda row: {"payload": requests.payload(row["k"]), "keep_as_python": KeepAsPython()},
        postprocess=lambda row: {"k": row["k"], "content": row["http_response"]["choices"][0]["message"]["content"]},
    )
    server.reset()
    started = time.perf_counter()
    with ray_data_tuned(settings["async_batches_per_task"], settings["wait_for_min_actors_s"]):
        # One block per actor: an actor runs one task at a time and the requests in flight
        # drain at the end of each, so the fewer tasks the better.
        rows = processor(ray.data.from_items([{"k": k} for k in range(count)], override_num_blocks=settings["blocks"])).take_all()
    wall = time.perf_counter() - started
    assert len(rows) == count and all(row["content"] for row in rows), len(rows)
    return _rate(server.stats(), concurrency, wall)
