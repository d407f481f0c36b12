"""The Judge: is a translation's boxed answer the real tool result?

Symbolic first: the boxed answer is split into components (one value, a list, or
`name = value` pairs, as `pipeline.derivations.answers` writes a tool result) and each is
compared with the grader (`toolkit.grading.Grader`, sandboxed with a deadline). Only when
that comparison cannot decide (a parse failure, a timeout) is the optional LLM judge
asked; its verdict must be a boxed `True` or `False` (case-insensitive). Anything else —
including the string "False" that the paper's released code treated as true — is *not* an
acceptance.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pipeline.agents import backtranslate_prompts as prompts
from pipeline.derivations.answers import Expected, key_words, split_answer
from toolkit.grading import extract_boxed

log = logging.getLogger(__name__)

FALLBACK_MARK = re.compile(r"\[UNVERIFIED STEP:[^\]]*\]")

# What counts as a leak: tool names, Python, JSON, talk about tools and their results, and the
# toolkit's call syntax. Each pattern is as narrow as that allows, because the same check runs on
# ordinary mathematics (measured on the 15,000 MATH train problems and solutions with
# `bench/leak_filter_bench.py`): "defined", "the function f", "a three-digit code", "a calculator",
# "$gcd(12, 18)$", ``LaTeX quotes'' and Asymptote figure code are not leaks.
ASY_FIGURE = re.compile(r"\[asy\].*?\[/asy\]", re.S | re.I)  # drawing code that belongs to the problem
# Backticks, read left to right: a code fence or a code span (kept, so its closing backtick is
# not read as an opening one), or a backtick that opens a LaTeX quote (``word'', `word', ``D")
# or a year (`02), which is dropped.
_BACKTICKS = re.compile(r"```|`(?=\d\d(?!\d))|``(?=[^`]*?(?:''|\"))|`[^`\n']+`|`(?=[^`\n]*?'(?!\w))")


def _without_latex_quotes(text: str) -> str:
    return _BACKTICKS.sub(lambda m: m.group(0) if len(m.group(0)) >= 3 else "", text)  # fences and spans stay


_CODE = r"(code|programs?|scripts?)"
_TALK = "mentions tools or code"
_CODE_PATTERNS = [
    (re.compile(r"```|`[^`\n]+`"), "code formatting"),
    (re.compile(r"\b(tools?|tool[- ]calls?|function[- ]calls?|sympy|numpy|scipy|python|json|api|software)\b", re.I), _TALK),
    # "code" and "program" are English ("a three-digit code", "a program of four courses"): only as software
    (re.compile(rf"\b(python|sympy|source|sample)\s+{_CODE}\b"
                rf"|\b{_CODE}\s+(snippets?|blocks?|cells?|output|outputs|outputted|returned|returns|printed|prints)\b"
                rf"|\b(run|runs|ran|running|execute[sd]?|executing|write|wrote|writing)\s+(the\s+|this\s+|some\s+|a\s+|my\s+|our\s+)?"
                rf"(python\s+|sympy\s+|following\s+)?{_CODE}\b|\b(with|using|via|in)\s+(some\s+|python\s+)?code\b", re.I), _TALK),
    # what a tool said ("the solver returned", "according to the output", "I called")
    (re.compile(rf"\baccording\s+to\s+(the\s+|my\s+)?(solver|output|computer\s+algebra|{_CODE})\b"
                rf"|\b(solver|call|calculator|{_CODE})\s+(returned|returns|outputs|outputted|printed|prints|reported|confirmed)\b"
                r"|\bfunction\s+(returned|outputs|outputted|printed|prints)\b"
                r"|\bI\s+(called|invoked|queried)\b|\bwe\s+(invoked|queried)\b|\[UNVERIFIED STEP:", re.I), _TALK),
    # Python statements; `def` only as `def name(` ("defined", triangle $DEF$ are not code)
    (re.compile(r"(?<![\\\w])def\s+[A-Za-z_]\w*\s*\("
                r"|(?m:^\s*(from\s+[\w.]+\s+)?import\s+[\w.]+)|\bfrom\s+[\w.]+\s+import\s+[\w*]"
                r"|\bimport\s+(sympy|numpy|scipy|math|itertools|fractions|functools|sp|np)\b"
                r"|\bprint\s*\(|(?m:^\s*>>>)"
                r"|(?m:^\s*return\b)|\breturn\s*\(|\breturn\s+[\w.]+\s*(\*\*|==|!=|//|[-+*/%]\s*[\w(]|\[|\()"  # not "return to"
                r"|(?<![\\\w])lambda\s+\w+(\s*,\s*\w+)*\s*:"  # not \lambda
                r"|\bin\s+range\s*\(|(?<![\\\w])(sp|sympy|np|numpy|math|scipy)\.\w+\s*\("
                r"|\.(subs|evalf|doit|simplify|expand|factor|rewrite)\("), "code statement"),
    # a JSON object, or a tool's argument/result key (`"holes":` in prose is not one)
    (re.compile(r"\{\s*[\"']\w+[\"']\s*:|\"(result|status|error|message|hint|expression|equations?|variables?|matrix)\"\s*:"),
     "JSON"),
    # snake_case names called like functions (`solve_equation(`), not LaTeX subscripts (`x_1(`)
    (re.compile(r"(?<![\\\w])[a-z]{2,}(?:_[a-z0-9]+)+\("), "function-call syntax"),
    # SymPy's own functions called as in code (`simplify(`, `Eq(`); "factor(s)" is English
    (re.compile(r"(?<![\\\w.])(simplify|nsimplify|sympify|solve|solveset|expand|factor(?!\(s\))|factorint|symbols|Symbol"
                r"|Rational|Eq|diff|Matrix|lambdify|Poly)\("), "function-call syntax"),
]
# one-word tool names that are also ordinary notation: `gcd(12, 18)` is mathematics, `gcd(a=12` is a call
_NOTATION = frozenset({"gcd", "lcm"})


@lru_cache(maxsize=1)
def _tool_names() -> frozenset[str]:
    try:
        from toolkit.registry import select_tools

        return frozenset(t.name for t in select_tools())
    except Exception:  # the toolkit is always there; this only guards odd installs
        return frozenset()


@lru_cache(maxsize=1)
def _tool_call() -> re.Pattern[str] | None:
    """One-word tool names (`differentiate`, `product`) are English: a leak only when called."""
    words = sorted(n for n in _tool_names() if "_" not in n)
    if not words:
        return None
    called = "|".join(w for w in words if w not in _NOTATION)
    notation = "|".join(w for w in words if w in _NOTATION) or "(?!)"
    return re.compile(rf"(?<![\\\w.])(({called})\(|({notation})\(\s*(\w+\s*=|[\"']))")


def find_leak(text: str, allow_fallback: bool = False) -> str | None:
    """Why `text` is not a tool-free natural-language solution, or None if it is.

    A leak is a tool name (a multi-word one anywhere; a one-word one, which is also English,
    only called or in backticks), code, JSON, talk about tools and their output, or the
    toolkit's call syntax. Asymptote figures are not examined (drawing code is part of a
    problem), and the backticks that open LaTeX quotes are not code.
    """
    if allow_fallback:
        text = FALLBACK_MARK.sub(" ", text)
    text = _without_latex_quotes(ASY_FIGURE.sub(" ", text))
    # LaTeX commands (\text, \operatorname) are mathematics, not code
    for pattern, why in _CODE_PATTERNS:
        m = pattern.search(text)
        if m:
            return f"{why}: {m.group(0)[:40]!r}"
    call = _tool_call()
    m = call.search(text) if call else None
    if m:
        return f"function-call syntax: {m.group(0)[:40]!r}"
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    named = sorted(n for n in words & _tool_names() if "_" in n)
    if named:
        return f"names a tool: {named[0]}"
    return None


def parse_verdict(text: str | None) -> bool | None:
    """`\\boxed{True}` → True, `\\boxed{False}` → False, anything else → None (undecided)."""
    boxed = extract_boxed(text or "")
    if boxed is None:
        return None
    word = re.sub(r"\\text\{([^}]*)\}", r"\1", boxed).strip().strip("$ .").lower()
    return {"true": True, "false": False}.get(word)


@dataclass
class Verdict:
    accepted: bool
    reason: str  # "verified", or why not
    method: str  # "symbolic", "llm", or "" (rejected before any comparison)


_UNDECIDED = ("timeout", "unparsed")


def reason_kind(reason: str) -> str:
    """A rejection reason's kind, for counting (the reasons themselves carry the values)."""
    for prefix, kind in (("no boxed", "no_boxed_answer"), ("boxed", "wrong_answer"), ("symbolic check undecided", "undecided"),
                         ("LLM judge: False", "llm_false"), ("LLM judge verdict", "llm_unreadable"), ("LLM judge error", "llm_error"),
                         ("teacher error", "teacher_error"), ("no derivation", "no_derivation"), ("unreadable", "unreadable_result")):
        if reason.startswith(prefix):
            return kind
    if any(reason.startswith(why) for _, why in _CODE_PATTERNS) or reason.startswith("names a tool"):
        return "mentions_tool_or_code"
    return "other"


def _undecided(reason: str) -> bool:
    return reason in _UNDECIDED or reason.startswith("error")


def _strip_name(part: str) -> tuple[str, str]:
    """`x = 3` → ("x", "3"); `3` → ("", "3")."""
    m = re.match(r"^\s*([A-Za-z][A-Za-z0-9_ \\{}]*?)\s*=\s*(.+)$", part)
    if m and "=" not in m.group(2):
        name = re.sub(r"\\text\{([^}]*)\}", r"\1", m.group(1)).replace("\\", "")
        return key_words(name), m.group(2).strip()
    return "", part.strip()


class Judge:
    """Compare translations with tool results; `llm` is an optional teacher for undecided cases."""

    def __init__(self, grader: Any, llm: Any | None = None, max_tokens: int = 64) -> None:
        self.grader = grader
        self.llm = llm
        self.max_tokens = max_tokens

    async def _equal(self, pred: str, gold: str) -> tuple[bool | None, str]:
        result = await self.grader.agrade(pred, gold, extract=False)
        if result.equal:
            return True, result.reason
        return (None if _undecided(result.reason) else False), result.reason

    async def symbolic(self, boxed: str, expected: Expected) -> bool | None:
        """True/False when the grader decides every component; None when it cannot."""
        if expected.kind == "value":
            gold = expected.items[0][1]
            pred = boxed if "=" in gold else _strip_name(boxed)[1]  # `x = 12` states the value 12
            equal, _ = await self._equal(pred, gold)
            return equal
        parts = [_strip_name(p) for p in split_answer(boxed)]
        if len(parts) != len(expected.items):
            return False
        undecided = False
        if expected.kind == "mapping":
            given = {name: value for name, value in parts}
            for key, gold in expected.items:
                pred = given.get(key_words(key))
                if pred is None:
                    return False
                equal, _ = await self._equal(pred, gold)
                if equal is False:
                    return False
                undecided |= equal is None
            return None if undecided else True
        unused = [value for _, value in parts]
        for _, gold in expected.items:  # a multiset match: order does not matter
            for i, pred in enumerate(unused):
                equal, _ = await self._equal(pred, gold)
                if equal:
                    unused.pop(i)
                    break
                undecided |= equal is None
            else:
                return None if undecided else False
        return True

    async def judge(self, text: str, expected: Expected, *, task: str = "", given: str = "") -> Verdict:
        boxed = extract_boxed(text)
        if boxed is None:
            return Verdict(False, "no boxed answer", "")
        leak = find_leak(text)
        if leak:
            return Verdict(False, leak, "")
        decided = await self.symbolic(boxed, expected)
        if decided is True:
            return Verdict(True, "verified", "symbolic")
        if decided is False:
            return Verdict(False, f"boxed {boxed[:80]!r} is not the result {expected.latex()[:80]!r}", "symbolic")
        if self.llm is None:
            return Verdict(False, "symbolic check undecided and no LLM judge", "symbolic")
        prompt = prompts.JUDGE_REQUEST.format(task=task, given=given, expected=expected.latex(), solution=text)
        try:
            reply = await self.llm.chat(
                [{"role": "system", "content": prompts.JUDGE_SYSTEM}, {"role": "user", "content": prompt}],
                max_tokens=self.max_tokens, temperature=0.0,
            )
        except Exception as exc:
            log.warning("LLM judge failed: %s", exc)
            return Verdict(False, f"LLM judge error: {exc}"[:200], "llm")
        verdict = parse_verdict(reply.text)
        if verdict is True:
            return Verdict(True, "verified by LLM judge", "llm")
        if verdict is False:
            return Verdict(False, "LLM judge: False", "llm")
        return Verdict(False, "LLM judge verdict unreadable", "llm")
