"""The machinery every synthetic family shares: plans, steps, templates, and the registry.

A family (`Family`) pairs phrasings (`Template`s with `[[field]]` slots, kept in
`phrasings.PHRASINGS` under its name) with three functions: `make` samples an instance and
its exact answer (`Draft`), `read` turns the fields a template matched back into what the
text states and a plan in words, and `policy` solves it: a generator that yields each `Call`,
is sent that call's result, and returns the final `Answer`. The helpers that several
families use are in `common`.

`FAMILIES` is the registry, filled in a fixed order by the package's `__init__`;
`generate_problems` draws from it round-robin and `recognise` tries it in that order.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from pipeline.latex import tex
from pipeline.records import Problem
from pipeline.synthetic.phrasings import PHRASINGS

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- plans and steps


@dataclass(frozen=True)
class Call:
    """The next tool call of a plan. `by_hand` is set on a final arithmetic step that the
    teacher may evaluate itself (e.g. when it has to answer without tools)."""

    tool: str
    arguments: dict[str, Any]
    say: str = ""
    fallback: Call | None = None
    by_hand: str | None = None


@dataclass(frozen=True)
class Answer:
    latex: str
    say: str = ""


Step = Call | Answer
Policy = Generator[Call, Any, Answer]  # yields each call, is sent its result, returns the answer


@dataclass(frozen=True)
class SolvingPlan:
    """What a problem text states, read back by a family, and how to solve it with tools."""

    family: str
    ask: str
    given: dict[str, Any]  # what the text states, in SymPy syntax (and its LaTeX, for prose)
    steps: tuple[str, ...]  # the plan in words, naming the tools
    seed: int = 0  # from the text: picks among phrasings, deterministically

    @property
    def tools(self) -> tuple[str, ...]:
        return FAMILIES[self.family].tools

    def next_step(self, results: Sequence[Any]) -> Step:
        """The next call, or the answer, given the `result` values of the successful calls so far.

        The family's policy runs from the start, sent these results in turn: the call it
        yields after the last of them, or the answer it returns, is the next step.
        """
        policy = FAMILIES[self.family].policy(self)
        try:
            step = next(policy)
            for result in results:
                step = policy.send(result)
        except StopIteration as done:
            return done.value
        return step

    def pick(self, key: str, options: Sequence[str]) -> str:
        return options[zlib.crc32(f"{self.seed}:{key}".encode()) % len(options)]


# --------------------------------------------------------------------------- templates and families

_FIELD = re.compile(r"\[\[(\w+)\]\]")


@dataclass(frozen=True)
class Template:
    text: str
    ask: str

    def fill(self, fields: dict[str, str]) -> str:
        return _FIELD.sub(lambda m: fields[m.group(1)], self.text)

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        parts, seen, pos = [], set(), 0
        for m in _FIELD.finditer(self.text):
            parts.append(_literal(self.text[pos : m.start()]))
            name = m.group(1)
            if name in seen:
                parts.append(f"(?P={name})")
            else:
                seen.add(name)
                if name.endswith("_text"):
                    body = r".+?"
                elif name == "name":
                    body = r"[A-Z][a-z]+"
                else:
                    body = r"[^$]+?"
                parts.append(f"(?P<{name}>{body})")
            pos = m.end()
        parts.append(_literal(self.text[pos:]))
        return re.compile("".join(parts), re.DOTALL)


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(word) for word in text.split(" "))


@dataclass
class Draft:
    """One sampled instance: the template's fields, the construction, and the exact answer."""

    fields: dict[str, str]
    params: dict[str, Any]
    answer: sp.Basic


@dataclass(frozen=True)
class Family:
    name: str
    summary: str
    tools: tuple[str, ...]  # every tool the policy may call
    make: Callable[[random.Random, str], Draft]  # (rng, ask) -> instance
    read: Callable[[dict[str, str], str], tuple[dict[str, Any], list[str]]]  # -> (given, steps)
    policy: Callable[[SolvingPlan], Policy]

    @functools.cached_property
    def templates(self) -> tuple[Template, ...]:
        """Its phrasings, asks in the order written and texts in theirs: seeded sets draw by this index."""
        return tuple(Template(text, ask) for ask, texts in PHRASINGS[self.name].items() for text in texts)

    def draw(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        index = rng.randrange(len(self.templates))
        template = self.templates[index]
        draft = self.make(rng, template.ask)
        params = {"ask": template.ask, "template": index, **draft.params}
        return template.fill(draft.fields), tex(draft.answer), params


# --------------------------------------------------------------------------- registry and API

# Name -> family, in registration order: that order is the round-robin of `generate_problems`
# (so it fixes every seeded problem set) and the order in which `recognise` tries templates.
FAMILIES: dict[str, Family] = {}


def register(*families: Family) -> None:
    for family in families:
        if family.name in FAMILIES:
            raise ValueError(f"two synthetic families are named {family.name!r}")
        if family.name not in PHRASINGS:
            raise ValueError(f"the synthetic family {family.name!r} has no phrasings in pipeline.synthetic.phrasings")
        FAMILIES[family.name] = family


def generate_problems(count: int, seed: int = 0, families: list[str] | None = None) -> list[Problem]:
    """`count` problems, round-robin over `families` (all by default); the same seed gives the same set.

    Each problem's randomness comes from (seed, family, index), so a longer set extends a
    shorter one. Repeated texts are redrawn (a few families have small parameter spaces).
    """
    names = family_names(count, families)
    by_family = {name: iter(family_problems(count, seed, names, name)) for name in dict.fromkeys(names)}
    return [next(by_family[names[index % len(names)]]) for index in range(count)]


def family_names(count: int, families: list[str] | None = None) -> list[str]:
    """The round-robin list of family names a set of `count` problems draws from (checked)."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    names = list(FAMILIES) if families is None else list(families)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown or not names:
        raise ValueError(f"unknown families {unknown}; choose from {sorted(FAMILIES)}")
    return names


def family_problems(count: int, seed: int, names: list[str], family: str) -> Iterator[Problem]:
    """The problems of one family in a set of `count` (those at indexes where it is drawn), in order.

    Families never share a text (their templates differ), so redrawing repeats within a
    family gives exactly the set `generate_problems` gives: the families of a large set
    can be generated in parallel, one task each.
    """
    seen: set[str] = set()
    for index in range(count):
        if names[index % len(names)] != family:
            continue
        for attempt in range(40):
            text, answer, params = FAMILIES[family].draw(random.Random(f"{seed}:{family}:{index}:{attempt}"))
            if text not in seen:
                break
        seen.add(text)
        yield Problem(
            id=f"synthetic-{family}-{seed}-{index}",
            problem=text,
            answer=answer,
            source="synthetic",
            meta={"family": family, "params": params},
        )


def recognise(problem_text: str) -> SolvingPlan | None:
    """Read a problem text back into a plan (family, what is given, steps, policy); None if unknown."""
    return _recognise(" ".join(problem_text.split()))


@functools.lru_cache(maxsize=4096)
def _recognise(text: str) -> SolvingPlan | None:
    for family in FAMILIES.values():
        for template in family.templates:
            m = template.pattern.fullmatch(text)
            if m is None:
                continue
            try:
                given, steps = family.read(m.groupdict(), template.ask)
            except Exception as exc:  # a text that fits a template but not the family's mathematics
                log.debug("%s template %r matched but did not read: %s", family.name, template.text, exc)
                continue
            return SolvingPlan(family.name, template.ask, given, tuple(steps), seed=zlib.crc32(text.encode()))
    return None
