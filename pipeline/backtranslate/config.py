"""The back-translation job's config."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pipeline.agents.rephrase import RephraseConfig
from pipeline.agents.translator import TranslatorConfig
from pipeline.config_rules import StrictModel
from pipeline.filtering import FilterConfig
from pipeline.jobs.config import JobConfig, grader_timeout, pool
from pipeline.jobs.resources import ActorPoolResources
from pipeline.student_prompt import PromptConfig
from pipeline.teachers.config import TeacherConfig

# Back-translation's own pool defaults where they differ from ActorPoolResources': bigger
# batches (a trace is cheap to translate symbolically), fewer traces in flight per actor.
RESOURCES: dict[str, Any] = {"batch_size": 32, "concurrency_per_actor": 8}


class JudgeConfig(StrictModel):
    """How a translation's answer is checked against the tool's real result."""

    teacher: TeacherConfig | None = Field(
        default=None,
        description="LLM judge for answers the symbolic check cannot decide; None = symbolic only (undecided = reject). "
        "An LLM judge accepts more translations at the cost of a call each and a weaker guarantee",
    )
    max_tokens: int = Field(default=64, ge=8, description="tokens for the LLM judge's verdict")


class BacktranslateConfig(JobConfig):
    """Verified traces → Translator → Judge → Rephrase → SFT examples."""

    job = "backtranslate"
    pool_defaults = RESOURCES

    name: str = Field(default="backtranslate", description="run name, shown in the CLI and the dataset card")
    traces_dir: str = Field(description="a generation run folder (its traces/ is read) or a folder of trace parquet parts; local or URI")
    output_dir: str = Field(description="writes sft/ (parquet + data.jsonl), rejects/, translations/, stats.json, dataset_card.md")
    translator: TranslatorConfig = Field(default_factory=TranslatorConfig, description="symbolic derivations or an LLM translator")
    judge: JudgeConfig = Field(default_factory=JudgeConfig, description="symbolic check first, optional LLM fallback")
    rephrase: RephraseConfig = Field(default_factory=RephraseConfig, description="deterministic composition or an LLM rewrite")
    filter: FilterConfig = Field(
        default_factory=FilterConfig,
        description="which traces become examples: the same model as generation's `filter` (only `mode` applies here: "
        "relaxed also takes the wrong-answer traces a relaxed generation kept, when every tool step verifies)",
    )
    keep_fallback: bool = Field(
        default=False,
        description="keep traces with an unverified tool call as a marked fallback step (the paper's behaviour, flagged "
        "'fallback'); False rejects them as translation_failed",
    )
    prompt: PromptConfig = Field(
        default_factory=PromptConfig,
        description="how each SFT example asks the problem (system message, `default_template`): the student is "
        "trained on this user turn, so a run's evaluation must ask with the same (`tooldistill run` checks it)",
    )
    resources: ActorPoolResources = pool(
        RESOURCES,
        "the back-translation actor pool (each actor has its grader process and teachers); "
        "ActorPoolResources' defaults except batch_size 32 and concurrency_per_actor 8",
    )
    grader_timeout_s: float = grader_timeout(
        "deadline of each symbolic comparison in the sandboxed grader (the judge's first check); a "
        "comparison past it is undecided, which rejects unless an LLM judge decides"
    )
