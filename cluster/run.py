"""`tooldistill run`: every stage of a run in order, each skipped when its output is complete.

Each stage is resumable by itself (generation and back-translation skip the ids already
written, training continues from its latest checkpoint, evaluation skips the samples
already graded). On top of that a stage that finished writes `<stage>/_COMPLETE.json`
with its typed summary and a fingerprint of its config; a rerun skips it. Changing a
finished stage's config is refused rather than silently mixing two configs' outputs in
one folder.

The fingerprint covers what a stage computes, not how it is run: the config's fields that
differ from their defaults (so a new field with a default leaves finished runs valid),
minus the fields that only size, pace or name the work (`NOT_FINGERPRINTED`, or a field
marked `json_schema_extra={"fingerprint": False}` in its config).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

import pyarrow.fs as pafs
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from cluster.run_config import STAGES, RunConfig, Stage
from eval.run.summary import EvalSummary
from pipeline.backtranslate.summary import BacktranslateSummary
from pipeline.generate.summary import GenerateSummary
from pipeline.jobs.summary import StageSummary
from pipeline.runtime import storage
from train.summary import TrainSummary

log = logging.getLogger(__name__)

MARKER = "_COMPLETE.json"
FINGERPRINT_VERSION = 2  # markers without it hashed the whole config dump

SUMMARIES: dict[Stage, type[StageSummary]] = {
    "generate": GenerateSummary, "backtranslate": BacktranslateSummary, "train": TrainSummary, "eval": EvalSummary,
}


# Per stage, the config fields (dotted paths) that pace or name the work without changing
# what it computes. Actor pools (`ActorPoolResources`) and teacher replicas are marked in
# their own models (`json_schema_extra={"fingerprint": False}`), so every stage leaves them out.
NOT_FINGERPRINTED: dict[Stage, frozenset[str]] = {
    "generate": frozenset({"name", "sandbox.workers"}),
    "backtranslate": frozenset({"name"}),
    "train": frozenset({
        "name", "scaling.cpus_per_worker", "scaling.resources_per_worker", "scaling.torch_threads",
        "report_every_steps", "checkpoint_every_steps", "keep_checkpoints",
    }),
    "eval": frozenset({"name"}),
}


class StageConfigChanged(RuntimeError):
    """A finished stage's config differs from the one it ran with."""


class StaleMarker(StageConfigChanged):
    """A finished stage's marker that this version cannot check against the config."""


@dataclass
class StageOutcome:
    stage: Stage
    skipped: bool
    summary: StageSummary
    wall_time_s: float


@dataclass
class RunSummary:
    name: str
    output_dir: str
    stages: list[StageOutcome] = field(default_factory=list)
    report_md: str | None = None
    plot_png: str | None = None

    def outcome(self, stage: Stage) -> StageOutcome | None:
        return next((s for s in self.stages if s.stage == stage), None)


def _stage_of(config: BaseModel) -> Stage | None:
    """The stage whose section of a run config `config` is (None for another model)."""
    for stage in STAGES:
        section = RunConfig.model_fields[stage].annotation
        if isinstance(section, type) and isinstance(config, section):
            return stage
    return None


def computing_fields(config: BaseModel, skip: Iterable[str] = ()) -> dict[str, Any]:
    """The part of a config that decides what it computes, as JSON-ready values.

    Like `model_dump(mode="json", exclude_defaults=True)`, with three differences: the
    dotted paths in `skip` (and fields marked `json_schema_extra={"fingerprint": False}`)
    are left out; a section equal to its default, or left empty by that, is dropped, so
    it reads as the default (a section added later with a default changes nothing); and
    in a section that is not its default, single-valued Literal fields (the `kind` tags of
    a union) are kept, so two members of a union with all-default fields still differ.
    """
    return _walk(config, frozenset(skip), "")


def _walk(model: BaseModel, skip: frozenset[str], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        path = prefix + name
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if path in skip or extra.get("fingerprint") is False:
            continue
        value = getattr(model, name)
        if _is_tag(info.annotation):
            out[name] = to_jsonable_python(value)
            continue
        default = info.get_default(call_default_factory=True)
        if type(value) is type(default) and value == default:
            continue  # a section or value left at its default, however many fields it has
        if isinstance(value, BaseModel):
            inner = _walk(value, skip, path + ".")
            tags_only = all(_is_tag(type(value).model_fields[k].annotation) for k in inner)
            if inner and not (tags_only and type(value) is type(default)):
                out[name] = inner  # (a section that differs only in fields left out reads as the default)
        else:
            out[name] = _plain(value, skip, path + ".")
    return out


def _plain(value: Any, skip: frozenset[str], prefix: str) -> Any:
    if isinstance(value, BaseModel):
        return _walk(value, skip, prefix)
    if isinstance(value, list | tuple):
        return [_plain(v, skip, prefix) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, skip, prefix) for k, v in value.items()}
    return to_jsonable_python(value)


def _is_tag(annotation: Any) -> bool:
    return get_origin(annotation) is Literal and len(get_args(annotation)) == 1


def fingerprint(config: BaseModel, stage: Stage | None = None) -> str:
    """A stable digest of what a stage's config computes (see `computing_fields`)."""
    skip = NOT_FINGERPRINTED.get(stage or _stage_of(config), frozenset())
    payload = json.dumps(computing_fields(config, skip), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _read_json(fs: pafs.FileSystem, path: str) -> dict[str, Any] | None:
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(path) as handle:
        return json.loads(handle.read().decode())


def _write_json(fs: pafs.FileSystem, path: str, payload: dict[str, Any]) -> None:
    with fs.open_output_stream(path) as handle:
        handle.write(json.dumps(payload, indent=2, default=str).encode())


def _stage_runners() -> dict[Stage, Callable[..., Any]]:
    from eval.run import run_eval
    from pipeline.backtranslate import run_backtranslate
    from pipeline.generate import run_generate
    from train.sft import run_train

    return {"generate": run_generate, "backtranslate": run_backtranslate, "train": run_train, "eval": run_eval}


def run_pipeline(
    config: RunConfig,
    *,
    stages: Iterable[Stage] | None = None,
    force: Iterable[Stage] = (),
    progress: bool = True,
    on_stage: Callable[[Stage, str], None] | None = None,
) -> RunSummary:
    """Run (or resume) the configured stages, then write the run report.

    `stages` narrows `config.stages` for this call; `force` reruns finished stages (each
    still resumes from whatever it wrote). The selected stages' context lengths are checked
    first (`cluster.context_check`): a misfit raises ContextLengthError before Ray starts.
    `on_stage(stage, "start"|"skip"|"done")` lets a CLI show progress.
    """
    from cluster.context_check import check_run_context
    from pipeline.runtime.ray_start import ensure_ray

    selected = [s for s in config.stages if stages is None or s in set(stages)]
    forced = set(force)
    # Before Ray starts: an engine asked for more context than its model has fails here, not
    # minutes later inside an actor on the cluster.
    for warning in check_run_context(config, selected):
        log.warning("%s", warning)
    ensure_ray(num_cpus=config.ray.num_cpus, address=config.ray.address)
    fs, root = storage.resolve(config.output_dir or f"runs/{config.name}")
    storage.ensure_dir(fs, root)
    _write_json(fs, storage.join(root, "run_config.json"), config.model_dump(mode="json"))
    runners = _stage_runners()
    summary = RunSummary(name=config.name, output_dir=config.output_dir or f"runs/{config.name}")
    for stage in STAGES:
        if stage not in selected:
            continue
        stage_config = config.stage_config(stage)
        marker_path = storage.join(root, stage, MARKER)
        marker = _read_json(fs, marker_path)
        digest = fingerprint(stage_config, stage)
        if marker is not None and stage not in forced:
            stale = [s for s in selected if s not in forced and _is_stale(_read_json(fs, storage.join(root, s, MARKER)))]
            _check_marker(marker, stage, config.name, digest, stale)
            log.info("stage %s is complete: skipped", stage)
            if on_stage:
                on_stage(stage, "skip")
            summary.stages.append(StageOutcome(stage, True, _read_summary(stage, marker, marker_path), 0.0))
            continue
        if on_stage:
            on_stage(stage, "start")
        started = time.perf_counter()
        result: StageSummary = runners[stage](stage_config, progress=progress)
        elapsed = time.perf_counter() - started
        storage.ensure_dir(fs, storage.join(root, stage))
        _write_json(fs, marker_path, {
            "stage": stage, "fingerprint": digest, "fingerprint_version": FINGERPRINT_VERSION,
            "finished_at": time.time(), "summary": result.to_dict(),
        })
        summary.stages.append(StageOutcome(stage, False, result, elapsed))
        if on_stage:
            on_stage(stage, "done")
    summary.report_md, summary.plot_png = write_report(config)
    return summary


def _is_stale(marker: dict[str, Any] | None) -> bool:
    return marker is not None and marker.get("fingerprint_version") != FINGERPRINT_VERSION


def _check_marker(marker: dict[str, Any], stage: Stage, run: str, digest: str, stale: list[Stage]) -> None:
    """Refuse to skip a finished stage whose marker does not vouch for this config.

    `stale`: the selected stages whose markers predate this fingerprint version, all named
    in the refusal so that one rerun with their --force options gets past every one.
    """
    version = marker.get("fingerprint_version")
    if version != FINGERPRINT_VERSION:
        recorded = "has no fingerprint_version" if version is None else f"has fingerprint_version {version}"
        forces = " ".join(f"--force {s}" for s in stale or [stage])
        raise StaleMarker(
            f"stage {stage!r} of run {run!r} finished under another version of tooldistill: its {MARKER} "
            f"{recorded} (this version writes {FINGERPRINT_VERSION} and fingerprints configs differently), so "
            f"whether it ran with this config cannot be checked. Rerun it with {forces} (each stage resumes "
            f"from what it wrote), or give the run a new name or output_dir to start a fresh folder"
        )
    if marker.get("fingerprint") != digest:
        raise StageConfigChanged(
            f"stage {stage!r} of run {run!r} finished with another config "
            f"(fingerprint {marker.get('fingerprint')} != {digest}); rerun it with --force {stage}, "
            f"or give the run a new name"
        )


def _read_summary(stage: Stage, marker: dict[str, Any], path: str) -> StageSummary:
    try:
        return SUMMARIES[stage].from_dict(marker.get("summary") or {})
    except ValidationError as exc:
        raise StaleMarker(
            f"the summary in {path} cannot be read ({exc.error_count()} errors, first: "
            f"{'.'.join(map(str, exc.errors()[0]['loc']))}: {exc.errors()[0]['msg']}); "
            f"rerun the stage with --force {stage}, or give the run a new name or output_dir"
        ) from None


def write_report(config: RunConfig) -> tuple[str, str | None]:
    """(Re)write `<run>/report.md` from every stage that has finished, in any call."""
    from cluster.report import write_run_report

    fs, root = storage.resolve(config.output_dir or f"runs/{config.name}")
    finished: dict[str, StageSummary] = {}
    for stage in STAGES:
        path = storage.join(root, stage, MARKER)
        marker = _read_json(fs, path)
        if marker is None:
            continue
        try:  # a report needs only the summary, so markers of any fingerprint version serve
            finished[stage] = _read_summary(stage, marker, path)
        except StaleMarker as exc:
            log.warning("%s; %s is left out of the report", exc, stage)
    return write_run_report(config, finished, fs, root)
