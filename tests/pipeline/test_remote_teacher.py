"""Teacher replicas behind the least-loaded router, on real Ray actors hosting the real SmolLM2
teacher (HF, CPU, no vLLM needed): load spread, a teacher's error passed through as a
`TeacherError`, and a replica killed while it holds requests (the fault injected is the kill).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from pipeline.teachers.base import TeacherError
from pipeline.teachers.config import HFOptions, HFTeacherSpec
from pipeline.teachers.remote import RemoteTeacher, start_teacher_actors

QUESTION = [{"role": "system", "content": "You are a concise assistant."}, {"role": "user", "content": "What is 7 times 6?"}]
MAX_TOKENS = 8


@pytest.fixture
def replicas(ray_local):
    """Two SmolLM2 teacher actors (a quarter CPU each, one torch thread), loaded, killed after the test."""
    spec = HFTeacherSpec(placement="actors", replicas=2, num_cpus_per_replica=0.25,
                         options=HFOptions(model="smollm2", max_tokens=MAX_TOKENS, num_threads=1))
    handles = start_teacher_actors(spec)
    yield handles
    for handle in handles:
        ray_local.kill(handle)


def actor_stats(ray, handles):
    return [ray.get(h.stats.remote(), timeout=60) for h in handles]


@pytest.mark.slow
def test_router_spreads_requests_and_passes_a_teacher_error_through(ray_local, replicas):
    router = RemoteTeacher(replicas, name="hf-actors")

    async def run():
        one_by_one = [await router.chat(QUESTION, max_tokens=MAX_TOKENS) for _ in range(2)]  # also loads both models
        together = await asyncio.gather(*(router.chat(QUESTION, max_tokens=MAX_TOKENS) for _ in range(4)))
        with pytest.raises(TeacherError) as refused:  # more tokens than SmolLM2's 8,192 positions
            await router.chat([{"role": "user", "content": "seven " * 9000}], max_tokens=MAX_TOKENS)
        return one_by_one + together, refused.value

    replies, refused = asyncio.run(run())
    assert all(r.text for r in replies) and len({r.text for r in replies}) == 1  # greedy: one answer, wherever served
    served = actor_stats(ray_local, replicas)
    # one request at a time alternates (ties go to the replica sent fewer), four at once split 2 + 2, the refused one lands on one
    assert sorted(s["requests"] for s in served) == [3, 4], served
    assert sum(s["failed"] for s in served) == 1
    # the teacher's own message, not Ray's wrapped traceback; and a failed request does not mark a replica dead
    assert "Traceback" not in str(refused) and "RayTaskError" not in str(refused), str(refused)
    assert all(r["dead"] is None for r in router.stats())


@pytest.mark.slow
def test_a_replica_killed_mid_run_has_its_requests_served_by_the_other(ray_local, replicas):
    router = RemoteTeacher(replicas, name="hf-actors")
    victim, survivor = replicas[1], replicas[0]

    async def run():
        await asyncio.gather(*(router.chat(QUESTION, max_tokens=MAX_TOKENS) for _ in range(2)))  # both models loaded
        requests = [asyncio.create_task(router.chat(QUESTION, max_tokens=MAX_TOKENS)) for _ in range(8)]
        deadline = time.monotonic() + 120
        while True:  # kill once the victim has answered one of the eight and still holds the others
            stats = await victim.stats.remote()
            if stats["requests"] - stats["in_flight"] >= 2 and stats["in_flight"] >= 2:
                break
            assert time.monotonic() < deadline, stats
            await asyncio.sleep(0.02)
        ray_local.kill(victim)
        replies = await asyncio.gather(*requests)
        with pytest.raises(TeacherError) as none_left:
            ray_local.kill(survivor)
            await router.chat(QUESTION, max_tokens=MAX_TOKENS)
        return stats, replies, none_left.value

    at_kill, replies, none_left = asyncio.run(run())
    assert len(replies) == 8 and len({r.text for r in replies}) == 1 and replies[0].text  # nothing lost
    seen = router.stats()
    print("victim at the kill:", at_kill, "router:", seen)
    # the requests the victim held when it died (those it had not finished by the kill) were sent again, to the survivor
    assert seen[1]["dead"] and 1 <= seen[1]["moved"] <= at_kill["in_flight"]
    assert seen[0]["sent"] == 1 + 4 + seen[1]["moved"] + 1  # warm-up, its four, the moved ones, the last request
    assert "no teacher replica left" in str(none_left) and "2 of 2 died" in str(none_left)
