"""Every model context a run config fills, checked against the models' limits before Ray starts.

A run's vLLM engines (the generation teacher, the LLM back-translation agents' teachers,
the evaluated models on the vllm backend) each reserve `max_model_len` positions and
answer within a reply budget; training packs conversations of up to `max_seq_len` tokens
into the student. `context_uses` lists them with their YAML keys, and `check_run_context`
holds them against `pipeline.runtime.context_limits`: an impossible context is refused
with the key, its value and the limit, a model whose limit is not known offline is a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from cluster.run_config import RunConfig, Stage
from pipeline.runtime.context_limits import ContextUse, validate_uses
from pipeline.teachers.config import VLLMOptions, VLLMTeacherSpec

log = logging.getLogger(__name__)

# engine_kwargs that rewrite the model's config (e.g. YaRN rope scaling to lengthen it), so
# that its config.json no longer states the engine's limit.
_POSITION_OVERRIDES = frozenset({"hf_overrides", "rope_scaling", "rope_theta"})


def _engine(options: VLLMOptions, where: str, budget_key: str, budget: int) -> ContextUse:
    return ContextUse(
        model=options.model or "", where=f"{where}.max_model_len", context=options.max_model_len,
        budget_key=budget_key, budget=budget,
        overrides_positions=bool(_POSITION_OVERRIDES & set(options.engine_kwargs)),
    )


def _teacher(teacher: object, where: str, budget_key: str, budget: int) -> list[ContextUse]:
    if isinstance(teacher, VLLMTeacherSpec):
        return [_engine(teacher.options, f"{where}.options", budget_key, budget)]
    return []


def context_uses(config: RunConfig, stages: Iterable[Stage] | None = None) -> list[ContextUse]:
    """Each model context the selected stages (default: the run's) fill, with the keys that set it."""
    selected = set(config.stages if stages is None else stages)
    uses: list[ContextUse] = []
    if "generate" in selected:
        gen = config.generate
        if isinstance(gen.teacher, VLLMTeacherSpec):
            if "max_tokens" in gen.solver.sampling:
                key, budget = "generate.solver.sampling.max_tokens", int(gen.solver.sampling["max_tokens"])
            else:
                key, budget = "generate.teacher.options.default_max_tokens", gen.teacher.options.default_max_tokens
            uses += _teacher(gen.teacher, "generate.teacher", key, budget)
    if "backtranslate" in selected:
        bt = config.backtranslate
        if bt.translator.kind == "llm":
            uses += _teacher(bt.translator.teacher, "backtranslate.translator.teacher",
                             "backtranslate.translator.max_tokens", bt.translator.max_tokens)
        uses += _teacher(bt.judge.teacher, "backtranslate.judge.teacher", "backtranslate.judge.max_tokens", bt.judge.max_tokens)
        if bt.rephrase.kind == "llm":
            uses += _teacher(bt.rephrase.teacher, "backtranslate.rephrase.teacher",
                             "backtranslate.rephrase.max_tokens", bt.rephrase.max_tokens)
    if "train" in selected:
        uses.append(ContextUse(model=config.train.model, where="train.max_seq_len", context=config.train.max_seq_len))
    if "eval" in selected:
        from eval.run.config import VLLMBackend

        for index, spec in enumerate(config.eval.models):
            if isinstance(spec.backend, VLLMBackend):
                uses.append(_engine(spec.backend, f"eval.models[{index}].backend", "eval.sampling.max_new_tokens",
                                    config.eval.sampling.max_new_tokens))
    return uses


def check_run_context(config: RunConfig, stages: Iterable[Stage] | None = None) -> list[str]:
    """The warnings (models whose limits are unknown offline); raises ContextLengthError naming
    every key whose value does not fit its model."""
    return validate_uses(context_uses(config, stages))
