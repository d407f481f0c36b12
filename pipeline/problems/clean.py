"""Clean inputs before generation: validate rows, drop duplicates, decontaminate.

Pure functions and one index class; `pipeline.generate` runs them over Ray Data.
Decontamination follows common practice for maths SFT sets: a training problem is
contaminated if its normalised text equals a benchmark problem's, or if it shares any
n-gram of n normalised tokens (13 by default) with one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import Field

from pipeline.config_rules import StrictModel
from pipeline.problems.benchmarks import BenchmarkItem, load_benchmark
from pipeline.records import RejectReason

_LATEX_COMMAND = re.compile(r"\\([a-zA-Z]+)")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalise_text(text: str) -> str:
    """Lower-case words and numbers only: LaTeX markup, punctuation and spacing do not count."""
    text = _LATEX_COMMAND.sub(r" \1 ", text.lower())
    for command in (" left ", " right ", " displaystyle ", " text ", " mathrm ", " dfrac ", " tfrac "):
        text = text.replace(command, " frac " if "frac" in command else " ")
    return " ".join(_NON_WORD.sub(" ", text).split())


def text_hash(text: str) -> str:
    return hashlib.blake2b(normalise_text(text).encode(), digest_size=12).hexdigest()


def _ngram_hashes(tokens: list[str], n: int) -> Iterable[bytes]:
    # A stable digest, not Python's hash(): the index is built once and shared with workers
    # whose string hashes are salted differently.
    for i in range(len(tokens) - n + 1):
        yield hashlib.blake2b(" ".join(tokens[i : i + n]).encode(), digest_size=8).digest()


@dataclass(frozen=True)
class Match:
    benchmark: str
    item_id: str
    kind: str  # "exact" or f"{n}-gram"

    def describe(self) -> str:
        return f"{self.kind} match with {self.benchmark}:{self.item_id}"


class ContaminationIndex:
    """Exact-text and n-gram index over benchmark problems."""

    def __init__(self, ngram: int = 13) -> None:
        self.ngram = ngram
        self._exact: dict[str, tuple[str, str]] = {}
        self._ngrams: dict[bytes, tuple[str, str]] = {}
        self.benchmarks: list[str] = []

    def add(self, benchmark: str, items: Iterable[BenchmarkItem], exact_only: bool = False) -> None:
        """Index `items`; `exact_only` for sets whose problems share their wording by design
        (synthetic families: every problem of a phrasing shares its n-grams with the others)."""
        self.benchmarks.append(benchmark)
        for item in items:
            tokens = normalise_text(item.problem).split()
            self._exact.setdefault(" ".join(tokens), (benchmark, item.id))
            if exact_only:
                continue
            for h in _ngram_hashes(tokens, self.ngram):
                self._ngrams.setdefault(h, (benchmark, item.id))

    @classmethod
    def from_benchmarks(cls, names_or_paths: Iterable[str], ngram: int = 13, allow_hub: bool = False,
                        heldout: Iterable[HeldoutSynthetic] = ()) -> ContaminationIndex:
        index = cls(ngram)
        for name in names_or_paths:
            index.add(name, load_benchmark(name, allow_hub=allow_hub))
        for held in heldout:
            from pipeline.synthetic import generate_problems

            problems = generate_problems(held.count, seed=held.seed, families=held.families)
            index.add(f"held-out(seed={held.seed})", [BenchmarkItem(p.id, p.problem, p.answer) for p in problems], exact_only=True)
        return index

    def match(self, problem: str) -> Match | None:
        tokens = normalise_text(problem).split()
        exact = self._exact.get(" ".join(tokens))
        if exact:
            return Match(exact[0], exact[1], "exact")
        for h in _ngram_hashes(tokens, self.ngram):
            hit = self._ngrams.get(h)
            if hit:
                return Match(hit[0], hit[1], f"{self.ngram}-gram")
        return None

    def __len__(self) -> int:
        return len(self._exact)


def check_row(row: dict, require_answer: bool = True) -> tuple[RejectReason, str] | None:
    """Why a raw input row cannot be used (reason, detail), or None if it can."""
    if not str(row.get("id") or "").strip():
        return RejectReason.INVALID_ROW, "the row has no id"
    if not str(row.get("problem") or "").strip():
        return RejectReason.INVALID_ROW, "the row has no problem text"
    if require_answer and not str(row.get("answer") if row.get("answer") is not None else "").strip():
        return RejectReason.NO_REFERENCE_ANSWER, "the row has no reference answer, so correctness cannot be checked"
    return None


class HeldoutSynthetic(StrictModel):
    """A held-out synthetic problem set (an evaluation's `synthetic` slice) kept out of training."""

    count: int = Field(ge=1, description="problems in the held-out set")
    seed: int = Field(description="its seed")
    families: list[str] | None = Field(default=None, description="its families (None: all)")


class CleanConfig(StrictModel):
    """What is removed from the problems before solving (each removal is a reject with its reason)."""

    deduplicate: bool = Field(
        default=True, description="keep one problem of each group with the same normalised text (the smallest id)"
    )
    decontaminate: bool = Field(
        default=True,
        description="reject problems that share their normalised text or an n-gram with a benchmark problem, so "
        "evaluation measures generalisation rather than memorisation",
    )
    benchmarks: list[str] = Field(
        default_factory=lambda: ["math500", "gsm8k", "math"],
        description="benchmarks to decontaminate against: names (offline copies where available; others need the "
        "job's allow_hub) or jsonl/parquet paths",
    )
    heldout_synthetic: list[HeldoutSynthetic] = Field(
        default_factory=list,
        description="held-out synthetic sets whose problems must not be trained on, compared by normalised text (a "
        "new seed rarely but possibly redraws a problem). `tooldistill run` fills in the evaluation's synthetic slices",
    )
    ngram: int = Field(
        default=13, ge=4,
        description="length of the shared word n-gram that marks contamination: shorter catches paraphrases but also "
        "rejects problems that merely share a common phrase",
    )
    partitions: int | None = Field(
        default=None, ge=1, json_schema_extra={"fingerprint": False},
        description="hash partitions of the dedup and resume passes (default: 2 per cluster CPU, at least 8); each "
        "partition must fit one block, so raise it for tens of millions of rows",
    )
    require_answer: bool = Field(
        default=True,
        description="reject rows without a reference answer; without one the correctness filter cannot check a trace",
    )
