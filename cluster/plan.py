"""What `tooldistill run CONFIG` would do, resolved without starting Ray or loading a model.

`build_plan` turns a run config into a `RunPlan`: the stages in order, and per stage its
models (with backend and context length), the actors it places and what each reserves
(so the GPUs it needs), its datasets with row counts, and where it writes. Row counts come
from what is on this machine: a registry set with an offline copy is counted, one that
only the Hugging Face hub has says "hub", a name the registry does not know says
"unknown"; a stage's input made by an earlier stage is named, not counted. The context
lengths are checked first (`cluster.context_check`): a plan is only built for a run whose
every model context fits.

`tooldistill run CONFIG --dry-run [--json]` prints it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from cluster.context_check import check_run_context
from cluster.run_config import STAGES, RunConfig, Stage
from pipeline.teachers.config import TeacherConfig


@dataclass
class ModelLine:
    role: str  # teacher, translator, judge, rephrase, student, or an evaluated model's name
    model: str
    backend: str  # symbolic, openai, hf, vllm; for training the DeepSpeed set-up
    detail: str = ""  # adapter, context length, tensor parallelism, ...


@dataclass
class ActorGroup:
    what: str
    count: int
    cpus_each: float
    gpus_each: float
    detail: str = ""

    @property
    def gpus(self) -> float:
        return self.count * self.gpus_each


@dataclass
class DatasetLine:
    role: str  # problems, decontamination, benchmark, input
    name: str
    rows: int | None  # None: not counted here (see `source`)
    source: str  # offline, synthetic, local file, hub, unknown, or the stage that makes it


@dataclass
class StagePlan:
    stage: Stage
    output_dir: str
    models: list[ModelLine] = field(default_factory=list)
    actors: list[ActorGroup] = field(default_factory=list)
    datasets: list[DatasetLine] = field(default_factory=list)
    gpus: float = 0.0  # the most this stage holds at once
    notes: list[str] = field(default_factory=list)


@dataclass
class RunPlan:
    name: str
    output_dir: str
    ray: str
    stages: list[StagePlan]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------- row counts


class RowCounter:
    """Rows of registry sets and local files, each loaded once (offline only: never the hub)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int | None, str]] = {}

    def count(self, name: str, allow_hub: bool) -> tuple[int | None, str]:
        if name not in self._seen:
            self._seen[name] = self._load(name)
        rows, source = self._seen[name]
        if source == "hub" and not allow_hub:
            source = "hub only, and allow_hub is off: the stage would fail"
        return rows, source

    @staticmethod
    def _load(name: str) -> tuple[int | None, str]:
        from pipeline.problems.benchmarks import load_benchmark

        try:
            rows = len(load_benchmark(name, allow_hub=False))
        except FileNotFoundError:
            return None, "missing file" if name.endswith((".jsonl", ".json", ".parquet")) else "hub"
        except ValueError as exc:
            return None, "unknown" if "unknown benchmark" in str(exc) else f"unreadable: {exc}"
        return rows, "local file" if os.sep in name or name.endswith((".jsonl", ".json", ".parquet")) else "offline"


def _limited(rows: int | None, limit: int | None) -> int | None:
    return rows if rows is None or limit is None else min(rows, limit)


# ---------------------------------------------------------------------------- models and actors


def _teacher_model(teacher: TeacherConfig) -> str:
    return "rule-based, the toolkit's synthetic families" if teacher.kind == "symbolic" else teacher.options.model


def _teacher_lines(role: str, teacher: TeacherConfig | None) -> tuple[list[ModelLine], list[ActorGroup]]:
    """A teacher's model line, and its actors when it runs as shared replicas."""
    if teacher is None:
        return [], []
    detail = []
    if teacher.kind == "vllm":
        options = teacher.options
        detail.append(f"max_model_len {options.max_model_len or 'model maximum'}, tensor_parallel_size {options.tensor_parallel_size}")
    elif teacher.kind == "openai":
        detail.append(f"endpoint {teacher.options.base_url}")
    placement = teacher.effective_placement()
    detail.append(f"placement {placement}")
    models = [ModelLine(role, _teacher_model(teacher), teacher.kind, "; ".join(detail))]
    if placement != "actors":
        return models, []
    actors = [ActorGroup(f"{role} replicas ({teacher.kind})", teacher.replicas, teacher.num_cpus_per_replica,
                         teacher.num_gpus_per_replica, "behind a least-loaded router")]
    return models, actors


def _pool(what: str, resources: Any, gpus_each: float | None = None, detail: str = "") -> ActorGroup:
    gpus = resources.num_gpus_per_actor if gpus_each is None else gpus_each
    return ActorGroup(what, resources.num_actors, resources.num_cpus_per_actor, gpus, detail)


# ---------------------------------------------------------------------------- per stage


def _generate(config: RunConfig, counter: RowCounter) -> StagePlan:
    gen = config.generate
    plan = StagePlan("generate", config.stage_dir("generate"))
    models, teacher_actors = _teacher_lines("teacher", gen.teacher)
    plan.models += models
    tools = gen.solver.tool_names, gen.solver.tool_categories
    offered = "every tool" if tools == (None, None) else f"{_tool_count(*tools)} tools"
    plan.actors.append(_pool("solver actors", gen.resources, detail=(
        f"{gen.resources.concurrency_per_actor} problems in flight and {gen.sandbox.workers} sandbox worker(s) each, "
        f"{offered} offered")))
    plan.actors += teacher_actors
    source = gen.problems
    if source.kind == "synthetic":
        plan.datasets.append(DatasetLine("problems", f"synthetic families (seed {source.seed})", _limited(source.count, source.limit), "synthetic"))
    elif source.kind == "dataset":
        for name in source.datasets:
            rows, where = counter.count(name, gen.allow_hub)
            plan.datasets.append(DatasetLine("problems", name, rows, where))
        if source.limit:
            plan.notes.append(f"problems.limit: only the first {source.limit} rows are used")
    else:
        plan.datasets.append(DatasetLine("problems", source.path or "", _limited(None, source.limit),
                                         "jsonl/parquet shards, streamed (not counted here)"))
    for name in gen.clean.benchmarks:
        rows, where = counter.count(name, gen.allow_hub)
        plan.datasets.append(DatasetLine("decontamination", name, rows, where))
    plan.gpus = sum(group.gpus for group in plan.actors)
    return plan


def _tool_count(names: list[str] | None, categories: list[str] | None) -> int:
    from toolkit.registry import select_tools

    return len(select_tools(categories, names))


def _backtranslate(config: RunConfig) -> StagePlan:
    bt = config.backtranslate
    plan = StagePlan("backtranslate", config.stage_dir("backtranslate"))
    agents = [
        ("translator", bt.translator.teacher if bt.translator.kind == "llm" else None, bt.translator.kind),
        ("judge", bt.judge.teacher, "symbolic check, then LLM" if bt.judge.teacher else "symbolic only"),
        ("rephrase", bt.rephrase.teacher if bt.rephrase.kind == "llm" else None, bt.rephrase.kind),
    ]
    actors: list[ActorGroup] = []
    for role, teacher, kind in agents:
        if teacher is None:
            plan.models.append(ModelLine(role, "none (SymPy)", kind))
            continue
        models, teacher_actors = _teacher_lines(role, teacher)
        plan.models += models
        actors += teacher_actors
    plan.actors.append(_pool("back-translation actors", bt.resources, detail=f"{bt.resources.concurrency_per_actor} traces in flight each"))
    plan.actors += actors
    made_by = "made by the generate stage" if "generate" in config.stages else "given (not counted)"
    plan.datasets.append(DatasetLine("input", bt.traces_dir, None, made_by))
    plan.notes.append(f"keep_fallback {str(bt.keep_fallback).lower()}, filter {bt.filter.mode}")
    plan.gpus = sum(group.gpus for group in plan.actors)
    return plan


def _train(config: RunConfig) -> StagePlan:
    train = config.train
    plan = StagePlan("train", config.stage_dir("train"))
    lora = train.lora
    plan.models.append(ModelLine("student", train.model, f"DeepSpeed ZeRO-{train.zero_stage}, LoRA r={lora.r} alpha={lora.alpha}",
                                 f"max_seq_len {train.max_seq_len}" + (", packing" if train.packing else "")))
    scaling = train.scaling
    if scaling.resources_per_worker:
        cpus = float(scaling.resources_per_worker.get("CPU", 0))
        gpus = float(scaling.resources_per_worker.get("GPU", 0))
    else:
        cpus, gpus = scaling.cpus_per_worker, 1.0 if scaling.use_gpu else 0.0
    optim = train.optim
    effective = optim.per_device_batch_size * optim.gradient_accumulation_steps * scaling.num_workers
    plan.actors.append(ActorGroup("Ray Train workers", scaling.num_workers, cpus, gpus,
                                  f"{'nccl, bf16' if gpus else 'gloo, fp32'}; effective batch {effective}"))
    made_by = "made by the backtranslate stage" if "backtranslate" in config.stages else "given (not counted)"
    plan.datasets.append(DatasetLine("input", train.data, None, made_by))
    plan.gpus = sum(group.gpus for group in plan.actors)
    return plan


def _eval(config: RunConfig, counter: RowCounter) -> StagePlan:
    from eval.run.config import HFBackend, VLLMBackend

    ev = config.eval
    plan = StagePlan("eval", config.stage_dir("eval"))
    for spec in ev.models:
        backend = spec.backend
        detail = [f"adapter {spec.adapter}"] if spec.adapter else []
        gpus_each = 0.0
        if isinstance(backend, VLLMBackend):
            detail.append(f"max_model_len {backend.max_model_len or 'model maximum'}, tensor_parallel_size {backend.tensor_parallel_size}")
            gpus_each = backend.num_gpus
        elif isinstance(backend, HFBackend):
            detail.append(f"{backend.device}, {backend.dtype}")
        plan.models.append(ModelLine(spec.name, spec.model, backend.kind, "; ".join(detail)))
        if backend.kind != "openai":
            plan.actors.append(_pool(f"{spec.name} actors ({backend.kind})", ev.resources, gpus_each=gpus_each))
    for ref in ev.benchmarks:
        if ref.synthetic is not None:
            rows, where = ref.synthetic.count, "synthetic"
        else:
            rows, where = counter.count(ref.path or ref.name, ev.allow_hub)
        plan.datasets.append(DatasetLine("benchmark", ref.name, _limited(rows, ref.limit), where))
    sampling = ev.sampling
    plan.notes.append(
        f"sampling: {sampling.n} sample(s) per problem, temperature {sampling.temperature}, top_p {sampling.top_p}, "
        f"max_new_tokens {sampling.max_new_tokens}; pass@1 averages the samples of each problem"
        + (f"; baseline {ev.baseline}" if ev.baseline else "")
    )
    plan.notes.append("models are evaluated one after another: the stage holds one model's actors at a time")
    plan.gpus = max((group.gpus for group in plan.actors), default=0.0)
    return plan


def _ray(config: RunConfig) -> str:
    address = config.ray.address or os.environ.get("RAY_ADDRESS")
    if address:
        return f"join the cluster at {address}"
    return (f"a local instance ({config.ray.num_cpus or 'all'} CPUs), or the cluster's when sent with "
            "`tooldistill submit`")


def build_plan(config: RunConfig, stages: Iterable[Stage] | None = None) -> RunPlan:
    """The plan of the selected stages (default: the run's); raises ContextLengthError first
    when a model context does not fit. Starts nothing and loads no model."""
    chosen = set(config.stages if stages is None else stages) & set(config.stages)
    selected = [s for s in STAGES if s in chosen]
    warnings = check_run_context(config, selected)
    counter = RowCounter()
    builders = {
        "generate": lambda: _generate(config, counter), "backtranslate": lambda: _backtranslate(config),
        "train": lambda: _train(config), "eval": lambda: _eval(config, counter),
    }
    plans = [builders[stage]() for stage in selected]
    for plan in plans:
        for line in plan.datasets:
            if line.source.startswith(("unknown", "hub only", "missing", "unreadable")):
                warnings.append(f"{plan.stage}: {line.role} {line.name!r} is {line.source}")
    return RunPlan(config.name, config.output_dir or f"runs/{config.name}", _ray(config), plans, warnings)
