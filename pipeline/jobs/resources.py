"""How a job's actor pool is sized: one model, one name per knob, for every stage."""

from __future__ import annotations

from pydantic import Field

from pipeline.config_rules import StrictModel

# Sizing a pool changes how fast a job runs, not what it writes: run fingerprints leave it out.
SIZING = {"fingerprint": False}


class ActorPoolResources(StrictModel):
    """The actor pool that runs a job's stages (generation, back-translation, evaluation)."""

    num_actors: int = Field(
        default=1, json_schema_extra=SIZING, ge=1,
        description="actors in the pool; each owns its resources (sandbox, grader, teacher or model), so more actors "
        "means more memory as well as more throughput",
    )
    num_cpus_per_actor: float = Field(
        default=0.5, json_schema_extra=SIZING, gt=0,
        description="CPUs each actor reserves; fractional values let a small node overlap stages (a 2-CPU node with two "
        "1-CPU actors deadlocks once anything else holds a CPU)",
    )
    num_gpus_per_actor: float = Field(
        default=0.0, json_schema_extra=SIZING, ge=0, description="GPUs each actor reserves (an in-process model on a GPU); 0 on CPU nodes"
    )
    batch_size: int = Field(
        default=16, json_schema_extra=SIZING, ge=1,
        description="rows per UDF call, written as one part: larger batches write fewer parts and batch model calls "
        "better; smaller ones lose less work on a crash",
    )
    batches_in_flight_per_actor: int = Field(
        default=2, json_schema_extra=SIZING, ge=1, description="batches an actor works on at once (the next batch starts while one is writing)"
    )
    concurrency_per_actor: int = Field(
        default=16, json_schema_extra=SIZING, ge=1,
        description="rows in flight per actor: LLM and HTTP calls overlap, symbolic work is CPU-bound, so raise it "
        "for remote teachers and keep it small for local ones",
    )
    num_blocks: int | None = Field(
        default=None, json_schema_extra=SIZING, ge=1,
        description="cut the rows to process into this many blocks (default: at least 4 per actor, about 256 rows each)",
    )
