"""`tooldistill run`: every stage of a run in order, each skipped when its output is complete.

Each stage is resumable by itself (generation and back-translation skip the ids already
written, training continues from its latest checkpoint, evaluation skips the samples
already graded). On top of that a stage that finished writes `<stage>/_COMPLETE.json`
with its summary and a fingerprint of its config; a rerun skips it. Changing a finished
stage's config is refused rather than silently mixing two configs' outputs in one folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow.fs as pafs

from cluster.run_config import STAGES, RunConfig, Stage
from pipeline.runtime import storage

log = logging.getLogger(__name__)

MARKER = "_COMPLETE.json"


class StageConfigChanged(RuntimeError):
    """A finished stage's config differs from the one it ran with."""


@dataclass
class StageOutcome:
    stage: Stage
    skipped: bool
    summary: dict[str, Any]
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


def fingerprint(config: Any) -> str:
    """A stable digest of a stage's config (its JSON with sorted keys)."""
    payload = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def summary_to_dict(summary: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(summary):
        summary = dataclasses.asdict(summary)
    return json.loads(json.dumps(summary, default=str))


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
    still resumes from whatever it wrote). `on_stage(stage, "start"|"skip"|"done")` lets a
    CLI show progress.
    """
    from pipeline.runtime.ray_start import ensure_ray

    selected = [s for s in config.stages if stages is None or s in set(stages)]
    forced = set(force)
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
        digest = fingerprint(stage_config)
        if marker is not None and stage not in forced:
            if marker.get("fingerprint") != digest:
                raise StageConfigChanged(
                    f"stage {stage!r} of run {config.name!r} finished with another config "
                    f"(fingerprint {marker.get('fingerprint')} != {digest}); rerun it with --force {stage}, "
                    f"or give the run a new name"
                )
            log.info("stage %s is complete: skipped", stage)
            if on_stage:
                on_stage(stage, "skip")
            summary.stages.append(StageOutcome(stage, True, marker.get("summary", {}), 0.0))
            continue
        if on_stage:
            on_stage(stage, "start")
        started = time.perf_counter()
        result = summary_to_dict(runners[stage](stage_config, progress=progress))
        elapsed = time.perf_counter() - started
        storage.ensure_dir(fs, storage.join(root, stage))
        _write_json(fs, marker_path, {"stage": stage, "fingerprint": digest, "finished_at": time.time(), "summary": result})
        summary.stages.append(StageOutcome(stage, False, result, elapsed))
        if on_stage:
            on_stage(stage, "done")
    summary.report_md, summary.plot_png = write_report(config)
    return summary


def write_report(config: RunConfig) -> tuple[str, str | None]:
    """(Re)write `<run>/report.md` from every stage that has finished, in any call."""
    from cluster.report import write_run_report

    fs, root = storage.resolve(config.output_dir or f"runs/{config.name}")
    finished = {}
    for stage in STAGES:
        marker = _read_json(fs, storage.join(root, stage, MARKER))
        if marker is not None:
            finished[stage] = marker.get("summary", {})
    return write_run_report(config, finished, fs, root)
