"""Finding a model's final answer in its text: the last `\\boxed{}`, or an answer phrase.

Pure string scanning (no SymPy), so it is safe to run in-process on any text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_BOX_COMMANDS = ("\\boxed", "\\fbox")


def match_braces(text: str, open_index: int) -> str | None:
    """The text inside the brace group opening at `open_index`; None if it never closes.

    Escaped characters (`\\{`, `\\}`, `\\\\`) are skipped, so LaTeX set braces inside the
    group do not count.
    """
    assert text[open_index] == "{"
    depth = 0
    i = open_index
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[open_index + 1 : i]
        i += 1
    return None


def _last_command(text: str, names: Sequence[str]) -> tuple[int, str] | None:
    """Position and name of the last occurrence of any of `names` not followed by a letter."""
    best: tuple[int, str] | None = None
    for name in names:
        pos = len(text)
        while True:
            pos = text.rfind(name, 0, pos)
            if pos < 0:
                break
            end = pos + len(name)
            if end >= len(text) or not text[end].isalpha():
                if best is None or pos > best[0]:
                    best = (pos, name)
                break
    return best


def extract_boxed(text: str | None) -> str | None:
    """The content of the last `\\boxed{...}` (or `\\fbox{...}`, `\\boxed {...}`) in `text`.

    Braces are matched (nested groups and escaped `\\{ \\}` are handled). `\\boxed 5` (no
    braces) gives `5`. None when there is no box or the last one never closes (a
    truncated generation).
    """
    if not text:
        return None
    found = _last_command(text, _BOX_COMMANDS)
    if found is None:
        return None
    pos, name = found
    i = pos + len(name)
    n = len(text)
    while i < n and text[i] in " \t\n":
        i += 1
    if i < n and text[i] == "{":
        return match_braces(text, i)
    if i > pos + len(name) and i < n:  # `\boxed 5`: one token up to a space or `$`
        m = re.match(r"[^\s$]+", text[i:])
        return m.group(0) if m else None
    return None


_ANSWER_PATTERNS = [
    re.compile(r"the\s+final\s+answer\s+is\s*[:：]?", re.IGNORECASE),
    re.compile(r"final\s+answer\s*(?:\*\*)?\s*[:：]", re.IGNORECASE),
    re.compile(r"(?:the\s+)?answer\s*(?:\*\*)?\s*(?:[:：]|\bis\b)", re.IGNORECASE),
    re.compile(r"^\s*####", re.MULTILINE),
]


def _clean_answer_span(span: str) -> str | None:
    """Cut an answer that runs to the end of a line down to the answer itself."""
    span = span.strip()
    span = re.sub(r"^(?:\*\*|__)\s*", "", span)
    if not span:
        return None
    # A `$...$` / `\(...\)` / `\[...\]` span right after the anchor is the answer.
    for open_, close in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if span.startswith(open_):
            end = span.find(close, len(open_))
            if end > len(open_):
                return span[len(open_) : end].strip() or None
            break
    span = span.splitlines()[0] if span.splitlines() else span
    span = re.split(r"\.\s+I hope it is correct", span, maxsplit=1, flags=re.IGNORECASE)[0]
    span = re.split(r"(?<=[^\d\s])\.\s+(?=[A-Z])|(?<=\d)\.\s+(?=[A-Z][a-z])", span, maxsplit=1)[0]
    span = re.sub(r"(?:\*\*|__)\s*$", "", span.strip().rstrip(" ."))
    span = span.rstrip(" .")
    return span or None


def extract_answer(text: str | None) -> str | None:
    """The final answer in a model's text, or None.

    The last `\\boxed{}` wins; otherwise the last "The final answer is X", "Final Answer:
    X", "answer: X" / "the answer is X", or GSM8K's "#### X" line.
    """
    if not text:
        return None
    boxed = extract_boxed(text)
    if boxed is not None and boxed.strip():
        return boxed.strip()
    for pattern in _ANSWER_PATTERNS:
        matches = list(pattern.finditer(text))
        for m in reversed(matches):
            rest = text[m.end() :]
            # the answer may sit on the next line ("Final Answer:\n\n73")
            stripped = rest.lstrip(" \t")
            if stripped.startswith("\n"):
                stripped = stripped.lstrip()
            answer = _clean_answer_span(stripped)
            if answer:
                return answer
    return None
