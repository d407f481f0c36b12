"""Build a teacher from its config: one builder per kind, looked up in one dict.

Adding a backend is adding its spec to `pipeline.teachers.config.TeacherConfig` and one
builder here. Builders import their backend lazily (vLLM and torch only where used).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.teachers.base import Teacher
from pipeline.teachers.config import (
    HFTeacherSpec,
    OpenAITeacherSpec,
    SymbolicTeacherConfig,
    TeacherConfig,
    VLLMTeacherSpec,
)

Builder = Callable[[Any, int], Teacher]
BUILDERS: dict[str, Builder] = {}

# Global limits of an endpoint, divided among the `share` copies of an inline teacher.
_SHARED_LIMITS = ("requests_per_minute", "tokens_per_minute", "max_concurrency")


def builder(kind: str) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        BUILDERS[kind] = build
        return build

    return register


def build_teacher(config: TeacherConfig, *, share: int = 1) -> Teacher:
    """A teacher in this process. `share` divides an endpoint's global rate limits among that many copies."""
    try:
        build = BUILDERS[config.kind]
    except KeyError:
        raise ValueError(f"no builder for teacher kind {config.kind!r}; known: {sorted(BUILDERS)}") from None
    return build(config, share)


@builder("symbolic")
def _symbolic(config: SymbolicTeacherConfig, share: int) -> Teacher:
    from pipeline.teachers.symbolic import SymbolicTeacher

    return SymbolicTeacher()


@builder("openai")
def _openai(config: OpenAITeacherSpec, share: int) -> Teacher:
    from pipeline.teachers.openai import OpenAITeacher

    options = config.options
    shares = {
        limit: max(1, int(getattr(options, limit)) // share) for limit in _SHARED_LIMITS if getattr(options, limit)
    }
    return OpenAITeacher(options.model_copy(update=shares))


@builder("hf")
def _hf(config: HFTeacherSpec, share: int) -> Teacher:
    from pipeline.teachers.hf import HFTeacher

    return HFTeacher.from_options(config.options)


@builder("vllm")
def _vllm(config: VLLMTeacherSpec, share: int) -> Teacher:
    from pipeline.teachers.vllm import VLLMTeacher

    return VLLMTeacher(config.options)
