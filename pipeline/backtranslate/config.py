"""The back-translation job's config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from pipeline.agents.rephrase import RephraseConfig
from pipeline.agents.translator import TranslatorConfig
from pipeline.teachers.factory import TeacherConfig


class JudgeConfig(BaseModel):
    teacher: TeacherConfig | None = Field(
        default=None, description="LLM judge for answers the symbolic check cannot decide; None = symbolic only (undecided = reject)"
    )
    timeout_s: float = Field(default=10.0, gt=0, description="deadline of one symbolic comparison (sandboxed grader)")
    max_tokens: int = Field(default=64, ge=8, description="tokens for the LLM judge's verdict")


class BacktranslateResources(BaseModel):
    num_actors: int = Field(default=1, ge=1, description="back-translation actors (each has its grader process and teachers)")
    num_cpus_per_actor: float = Field(
        default=0.5, gt=0, description="fractional CPUs keep small nodes from deadlocking (see PLATFORM.md)"
    )
    batch_size: int = Field(default=32, ge=1, description="traces per UDF call: larger batches write fewer parts; smaller lose less on a crash")
    concurrency: int = Field(default=8, ge=1, description="traces in flight per actor (LLM calls overlap; symbolic work is CPU-bound)")
    num_blocks: int | None = Field(default=None, ge=1, description="cut the input into this many blocks (default: 4 per actor)")


class BacktranslateConfig(BaseModel):
    name: str = Field(default="backtranslate", description="run name, shown in the CLI and the dataset card")
    traces_dir: str = Field(description="a generation run folder (its traces/ is read) or a folder of trace parquet parts; local or URI")
    output_dir: str = Field(description="writes sft/ (parquet + data.jsonl), rejects/, translations/, stats.json, dataset_card.md")
    translator: TranslatorConfig = Field(default_factory=TranslatorConfig, description="symbolic derivations or an LLM translator")
    judge: JudgeConfig = Field(default_factory=JudgeConfig, description="symbolic check first, optional LLM fallback")
    rephrase: RephraseConfig = Field(default_factory=RephraseConfig, description="deterministic composition or an LLM rewrite")
    filter_mode: Literal["strict", "relaxed"] = Field(
        default="strict",
        description="strict (the paper): only traces with a correct final answer; relaxed: also wrong-answer traces "
        "whose tool-call translations were all verified, flagged 'relaxed'",
    )
    keep_fallback: bool = Field(
        default=False,
        description="keep traces with an unverified tool call as a marked fallback step (the paper's behaviour, flagged "
        "'fallback'); False rejects them as translation_failed",
    )
    system_prompt: str | None = Field(default=None, description="optional system message of every SFT example")
    resources: BacktranslateResources = Field(default_factory=BacktranslateResources)
