"""How many positions a model has, known before anything starts, and whether a config fits them.

A vLLM engine refuses a `max_model_len` above the model's positions only when it loads
(on a cluster: minutes into a job, after Ray has placed every actor), and an answer budget
that leaves no room for the prompt truncates every answer. Training sequences longer than
the student's positions run past its rotary range. All three are checked here before Ray
starts. A model's limit comes from, in order:

1. a local model folder's `config.json` (the keys vLLM derives its limit from, rope scaling applied);
2. the Hugging Face cache's copy of a hub model's `config.json`, when it was downloaded before
   (read from disk, never fetched);
3. `KNOWN_LIMITS`: the hub models the shipped configs name, as their config.json states them;
4. else unknown: the caller warns and goes on, since there is no network to ask.

Pure functions over files and numbers: no Ray, no torch, no model loading.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# max_position_embeddings of each model's config.json on the Hugging Face hub (no rope
# scaling in any of them). Qwen2.5-Math's 4,096 is the trap: vLLM refuses a larger
# max_model_len ("User-specified max_model_len ... is greater than the derived max_model_len").
KNOWN_LIMITS: dict[str, int] = {
    "Qwen/Qwen2.5-Math-1.5B-Instruct": 4096,
    "Qwen/Qwen2.5-Math-7B-Instruct": 4096,
    "Qwen/Qwen2.5-Math-72B-Instruct": 4096,
    "Qwen/Qwen2.5-7B-Instruct": 32768,
    "Qwen/Qwen2.5-72B-Instruct": 32768,
    "HuggingFaceTB/SmolLM2-135M-Instruct": 8192,
}

# The names `pipeline.runtime.models.resolve_model` maps to the offline SmolLM2 copy (its
# SMOLLM2_ALIASES; that module imports torch, which a config check does not need).
ALIASES: dict[str, str] = {
    "smollm2": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "SmolLM2-135M-Instruct": "HuggingFaceTB/SmolLM2-135M-Instruct",
}

# The config.json keys vLLM takes its limit from (the smallest one present wins).
POSITION_KEYS = (
    "max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "model_max_length",
    "max_target_positions", "max_sequence_length", "max_seq_length", "seq_len",
)

# The least any prompt takes: the chat template with its system message and our
# instruction are about 50 tokens, and the median benchmark problem 50-100 more (GSM8K 58,
# AIME 95, OlympiadBench 76 with SmolLM2's tokenizer). An answer budget within this many
# tokens of the context leaves no room for real prompts.
MIN_PROMPT_TOKENS = 128


class ContextLengthError(ValueError):
    """A config asks a model for more positions than it has; the message names each key."""


@dataclass(frozen=True)
class ContextLimit:
    model: str
    positions: int
    source: str  # where the number comes from, said in messages


@dataclass(frozen=True)
class ContextUse:
    """One place in a config that fills one model's context.

    `context` is the context length the config sets at `where` (vLLM's `max_model_len`,
    training's `max_seq_len`); None means the model's own maximum. `budget` is the reply
    budget set at `budget_key` (tokens generated after the prompt), checked to leave
    MIN_PROMPT_TOKENS for the prompt.
    """

    model: str
    where: str
    context: int | None = None
    budget_key: str | None = None
    budget: int | None = None
    overrides_positions: bool = False  # the engine rewrites the model's config (rope scaling): the limit is not checked


def positions_in_config(config: dict[str, Any]) -> int | None:
    """A model's positions from its config.json, as vLLM derives them (None when it names none)."""
    text = config.get("text_config")
    if isinstance(text, dict) and not any(k in config for k in POSITION_KEYS):
        config = text  # a multimodal model: the language model's section
    found = [int(config[k]) for k in POSITION_KEYS if isinstance(config.get(k), int | float) and config[k] > 0]
    if not found:
        return None
    positions = min(found)
    rope = config.get("rope_scaling") or config.get("rope_parameters")
    if isinstance(rope, dict):
        kind = rope.get("rope_type") or rope.get("type")
        factor = rope.get("factor")
        # su/longrope/llama3 already state their extended length; the others multiply it
        if kind not in (None, "default", "su", "longrope", "llama3") and isinstance(factor, int | float):
            if kind == "yarn" and rope.get("original_max_position_embeddings"):
                positions = int(rope["original_max_position_embeddings"])
            positions = int(positions * factor)
    return positions


def _from_file(path: Path, model: str, source: str) -> ContextLimit | None:
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s (%s): %s's context limit is unknown", path, exc, model)
        return None
    positions = positions_in_config(config) if isinstance(config, dict) else None
    return ContextLimit(model, positions, source) if positions else None


def _from_hub_cache(repo_id: str) -> Path | None:
    """The cached config.json of a hub model downloaded before, or None (never downloads)."""
    if repo_id.count("/") != 1:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(repo_id=repo_id, filename="config.json")
    except Exception:  # an id the hub would refuse (characters, length): not cached either
        return None
    return Path(found) if isinstance(found, str) else None


def model_context_limit(model: str) -> ContextLimit | None:
    """The positions of `model` (hub id, local folder, or an alias), or None when unknown offline."""
    name = model.removeprefix("file://")
    folder = Path(name).expanduser()
    if (folder / "config.json").is_file():
        return _from_file(folder / "config.json", model, str(folder / "config.json"))
    if "://" in name:
        return None  # an object-store folder: reading it needs the network
    repo_id = ALIASES.get(name, name)
    cached = _from_hub_cache(repo_id)
    if cached is not None:
        limit = _from_file(cached, model, f"its config.json in the Hugging Face cache, {cached}")
        if limit is not None:
            return limit
    if repo_id in KNOWN_LIMITS:
        return ContextLimit(model, KNOWN_LIMITS[repo_id], f"the known-limits table: {repo_id}'s config.json on the hub")
    return None


def check_uses(
    uses: Iterable[ContextUse],
    limit_of: Callable[[str], ContextLimit | None] = model_context_limit,
    min_prompt_tokens: int = MIN_PROMPT_TOKENS,
) -> tuple[list[str], list[str]]:
    """(errors, warnings) of each use against its model's limit; a model with no known limit warns."""
    errors: list[str] = []
    warnings: list[str] = []
    limits: dict[str, ContextLimit | None] = {}
    for use in uses:
        if use.model not in limits:
            limits[use.model] = limit_of(use.model)
        limit = limits[use.model]
        context = use.context
        if use.overrides_positions:
            warnings.append(f"{use.where}: the engine overrides {use.model}'s config, so its context limit is not checked")
        elif limit is None:
            warnings.append(
                f"{use.where}: the context limit of {use.model} is not known offline (no local config.json, not in the "
                f"Hugging Face cache, not in the known-limits table), so it is not checked"
            )
        elif context is not None and context > limit.positions:
            errors.append(
                f"{use.where} = {context} exceeds the {limit.positions} positions of {use.model} "
                f"({limit.source}); set it to at most {limit.positions}"
            )
            continue  # the budget is judged against a context that can exist
        if context is None:
            if limit is None or use.overrides_positions:
                continue
            context, what = limit.positions, f"{use.where} unset: the model's {limit.positions} positions"
        else:
            what = f"{use.where} = {context}"
        if use.budget is not None and use.budget + min_prompt_tokens > context:
            errors.append(
                f"{use.budget_key} = {use.budget} leaves no room for the prompt in the context of {use.model} "
                f"({what}): a prompt takes at least {min_prompt_tokens} tokens, so set it to at most "
                f"{max(1, context - min_prompt_tokens)} (or less: longer prompts get a shorter answer)"
            )
    return errors, warnings


def validate_uses(uses: Iterable[ContextUse], **kwargs: Any) -> list[str]:
    """The warnings of `check_uses`; raises ContextLengthError listing every error."""
    errors, warnings = check_uses(uses, **kwargs)
    if errors:
        raise ContextLengthError(
            "the config asks models for more context than they have:\n" + "\n".join(f"  {e}" for e in errors)
        )
    return warnings
