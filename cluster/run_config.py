"""One config for a whole run: every stage's settings, and where each stage reads and writes.

A run lives in one folder (`runs/<name>/`, or an object-store URI). The stages' input and
output locations are derived from it, so a config names each location at most once:

    <run>/generate/        traces/, rejects/, stats.json          (pipeline.generate)
    <run>/backtranslate/   sft/, rejects/, stats.json, card       (pipeline.backtranslate)
    <run>/train/           checkpoints/, adapter/, merged/        (train.sft)
    <run>/eval/            generations/, report.md/json, plot.png (eval.run)
    <run>/report.md, <run>/plot.png                               (cluster.report)

A stage's own location may be set by hand only when the stage that would produce it is
not part of the run (say, training on an SFT dataset made elsewhere); setting it while
the producing stage runs too would make the run read something other than what it wrote,
so that is refused with a message.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from eval.run import EvalConfig
from pipeline.backtranslate import BacktranslateConfig
from pipeline.config_rules import StrictModel
from pipeline.generate import GenerateConfig
from pipeline.runtime import storage
from train.config import TrainConfig

Stage = Literal["generate", "backtranslate", "train", "eval"]
STAGES: tuple[Stage, ...] = ("generate", "backtranslate", "train", "eval")

# (section, field) -> (the stage whose output it is, where that output lies inside the run)
_DERIVED: dict[tuple[str, str], tuple[Stage | None, str]] = {
    ("generate", "output_dir"): (None, "generate"),
    ("backtranslate", "traces_dir"): ("generate", "generate"),
    ("backtranslate", "output_dir"): (None, "backtranslate"),
    ("train", "data"): ("backtranslate", "backtranslate/sft"),
    ("train", "output_dir"): (None, "train"),
    ("eval", "output_dir"): (None, "eval"),
}


class RayRuntime(StrictModel):
    """Which Ray to run on."""

    address: str | None = Field(
        default=None,
        description="Ray cluster to join ('auto', 'ray://host:10001', host:port); None uses RAY_ADDRESS, "
        "or starts a local instance when that is unset too",
    )
    num_cpus: int | None = Field(
        default=None, ge=1,
        description="CPUs of a local instance (ray.init's num_cpus; None: all of this machine's). Fewer than the actors "
        "ask for makes stages wait for each other",
    )


class RunConfig(StrictModel):
    """Every stage of a run; `tooldistill run CONFIG` executes `stages` in order."""

    name: str = Field(description="run name; the run folder defaults to runs/<name>")
    output_dir: str | None = Field(default=None, description="run folder, local or a URI (s3://bucket/runs/x); default runs/<name>")
    stages: list[Stage] = Field(default_factory=lambda: list(STAGES), description="stages to run, in pipeline order")
    ray: RayRuntime = Field(default_factory=RayRuntime, description="the Ray instance or cluster the stages run on")
    generate: GenerateConfig = Field(default_factory=GenerateConfig, description="problems → verified traces (output_dir is derived)")
    backtranslate: BacktranslateConfig = Field(
        description="traces → SFT examples (traces_dir and output_dir are derived from the run folder)"
    )
    train: TrainConfig = Field(description="LoRA SFT of the student (data and output_dir are derived)")
    eval: EvalConfig = Field(
        description="base vs student on the benchmarks (output_dir is derived; without `models`, base and student on "
        "the hf backend are filled in from `train`)"
    )

    @model_validator(mode="before")
    @classmethod
    def _wire_stage_paths(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("name"):
            return data  # field validation reports what is missing
        data = dict(data)
        root = data.get("output_dir") or f"runs/{data['name']}"
        data["output_dir"] = root
        stages = data.get("stages") or list(STAGES)
        for (section, key), (producer, relative) in _DERIVED.items():
            values = dict(data.get(section) or {})
            derived = storage.join(root, relative)
            given = values.get(key)
            if given is None:
                values[key] = derived
            elif producer is None or producer in stages:
                owner = "the run folder (top-level output_dir)" if producer is None else f"the {producer} stage of this run"
                if given != derived:
                    raise ValueError(
                        f"{section}.{key} is set by {owner}; remove it from the config "
                        f"(it would be {derived!r}), or drop {producer or section!r} from stages to read {given!r}"
                    )
            values.setdefault("name", f"{data['name']}-{section}")
            data[section] = values
        data["eval"] = _default_eval_models(data["eval"], data.get("train") or {}, root)
        data["generate"] = _keep_heldout_out_of_training(data.get("generate") or {}, data["eval"])
        return data

    @model_validator(mode="after")
    def _check_stage_order(self) -> RunConfig:
        if len(set(self.stages)) != len(self.stages):
            raise ValueError(f"stages lists a stage twice: {self.stages}")
        order = [STAGES.index(s) for s in self.stages]
        if order != sorted(order):
            raise ValueError(f"stages must follow the pipeline order {list(STAGES)}, got {self.stages}")
        return self

    @model_validator(mode="after")
    def _one_prompt_contract(self) -> RunConfig:
        """The student is asked at evaluation what it was trained on: one prompt for both stages."""
        if "prompt" not in self.eval.model_fields_set:
            self.eval.prompt = self.backtranslate.prompt.model_copy()
        elif self.eval.prompt != self.backtranslate.prompt:
            raise ValueError(
                "eval.prompt differs from backtranslate.prompt: the student would be evaluated on another prompt than "
                "the one it was trained on; set `backtranslate.prompt` alone (evaluation takes it) or make them equal"
            )
        return self

    def stage_config(self, stage: Stage) -> BaseModel:
        return getattr(self, stage)

    def stage_dir(self, stage: Stage) -> str:
        return storage.join(self.output_dir or f"runs/{self.name}", stage)


def _keep_heldout_out_of_training(generate: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    """The evaluation's held-out synthetic slices go to generation's decontamination, so that no
    held-out problem is trained on even if another seed redraws its text."""
    slices = [ref["synthetic"] for ref in evaluation.get("benchmarks") or [] if isinstance(ref, dict) and ref.get("synthetic")]
    clean = dict(generate.get("clean") or {})
    if not slices or "heldout_synthetic" in clean:
        return generate
    clean["heldout_synthetic"] = [
        {"count": s.get("count", 30), "seed": s.get("seed", 10_000), "families": s.get("families")} for s in slices
    ]
    return {**generate, "clean": clean}


def _default_eval_models(section: dict[str, Any], train: dict[str, Any], root: str) -> dict[str, Any]:
    """Unless the config lists models, evaluate the base student against the trained one.

    Listed models may name the run folder as "{run}" (e.g. an adapter at "{run}/train/adapter"),
    so a config stays right when the run folder is moved with --set output_dir=...
    """
    section = dict(section)
    if section.get("models"):
        section["models"] = [
            {**m, "adapter": m["adapter"].replace("{run}", root)} if isinstance(m, dict) and m.get("adapter") else m
            for m in section["models"]
        ]
    else:
        base = train.get("model", "smollm2")
        section["models"] = [
            {"name": "base", "model": base},
            {"name": "student", "model": base, "adapter": storage.join(root, "train", "adapter")},
        ]
        section.setdefault("baseline", "base")
    return section
