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


def _box_at(text: str, pos: int, name: str) -> tuple[str, int] | None:
    """(content, end) of the box command `name` at `pos`; None if it has no closed argument."""
    i = pos + len(name)
    n = len(text)
    while i < n and text[i] in " \t\n":
        i += 1
    if i < n and text[i] == "{":
        inner = match_braces(text, i)
        return None if inner is None else (inner, i + len(inner) + 2)
    if i > pos + len(name) and i < n:  # `\boxed 5`: one token up to a space or `$`
        m = re.match(r"[^\s$]+", text[i:])
        return (m.group(0), i + m.end()) if m else None
    return None


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
    box = _box_at(text, *found)
    return None if box is None else box[0]


# Words that do not make an answer a sentence: units, connectives, function names.
UNIT_WORDS = (
    "cm", "mm", "km", "m", "nm", "in", "inch", "inches", "ft", "feet", "foot", "yd", "yard", "yards",
    "mi", "mile", "miles", "meter", "meters", "metre", "metres", "centimeters", "kilometers",
    "kg", "g", "mg", "gram", "grams", "kilograms", "lb", "lbs", "pound", "pounds", "oz", "ounces",
    "l", "ml", "liter", "liters", "litre", "litres", "gallon", "gallons",
    "s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "h", "hr", "hrs",
    "hour", "hours", "day", "days", "week", "weeks", "month", "months", "year", "years",
    "dollar", "dollars", "cent", "cents", "euro", "euros", "degree", "degrees", "percent",
    "unit", "units", "square", "sq", "cubic", "mph", "kmh", "people", "students", "times",
)
_PLAIN_WORDS = frozenset(UNIT_WORDS) | {
    "and", "or", "sin", "cos", "tan", "cot", "sec", "csc", "log", "exp", "sqrt", "gcd", "lcm", "det",
    "max", "min", "mod", "pmod", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "pct",
}

# Chat-template tokens: a completion that ran past its end of turn (`<|im_end|>`, `</s>`, ...).
_CHAT_TOKEN_RE = re.compile(r"<\|[A-Za-z0-9_]+\|>|</s>|<eos>|<end_of_turn>|<start_of_turn>")

_FINAL_PATTERNS = [
    re.compile(r"the\s+final\s+answer\s+is\s*[:：]?", re.IGNORECASE),
    re.compile(r"final\s+answer\s*(?:\*\*)?\s*[:：]", re.IGNORECASE),
]
_ANSWER_PATTERNS = [
    *_FINAL_PATTERNS,
    re.compile(r"(?:the\s+)?answer\s*(?:\*\*)?\s*(?:[:：]|\bis\b)", re.IGNORECASE),
    re.compile(r"^\s*####", re.MULTILINE),
    # "Answer $9$", "Answer \[ 9 \]": the answer word right before a math span
    re.compile(r"\banswer\b\s*(?=\$|\\\[|\\\()", re.IGNORECASE),
]
_MINERVA_RE = re.compile(
    r"final\s+answer\s*:\s*the\s+final\s+answer\s+is|the\s+final\s+answer\s+is[^\n]*\bI\s+hope\s+it\s+is\s+correct",
    re.IGNORECASE,
)
_HOPE_RE = re.compile(r"\bI hope it is correct\b\.?\s*$", re.IGNORECASE)
_MAX_JOINED_BOXES = 32
# Between boxes that together make one answer: `\boxed{1}, \boxed{2}`, `\boxed{-2} \quad \text{and} \quad \boxed{1}`.
_BOX_GAP_RE = re.compile(
    r"(?:\s|[,;$]|\\[,;: ]|\\q?quad(?![A-Za-z])|\\\(|\\\)|\\\[|\\\]|\band\b|\bor\b"
    r"|\\text\s*\{\s*(?:and|or|,)?\s*\})*"
)


def strip_chat_tokens(text: str) -> str:
    """The completion up to its first chat-template token (`<|im_end|>`, `<|im_start|>user`, `</s>`).

    Tokens before any content are dropped; the first one after content ends the answer.
    """
    last = 0
    for m in _CHAT_TOKEN_RE.finditer(text):
        if text[last : m.start()].strip():
            return _CHAT_TOKEN_RE.sub("", text[: m.start()])
        last = m.end()
    return text[last:]


def _find_close(text: str, close: str, start: int, multiline: bool) -> int:
    """Index of `close` at or after `start`, skipping escaped characters (`\\$`); -1 if none."""
    i, n = start, len(text)
    while i < n:
        if text.startswith(close, i):
            return i
        ch = text[i]
        if ch == "\n" and not multiline:
            return -1
        i += 2 if ch == "\\" else 1
    return -1


def math_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every `$$..$$`, `\\[..\\]`, `$..$` and `\\(..\\)` span.

    Display math may run over several lines, inline math may not; `\\$` is an escaped
    dollar, not a delimiter; an opening delimiter that never closes is skipped. Linear in
    the text: once a closing delimiter is missing up to some point, later openers before
    that point are not searched again.
    """
    spans: list[tuple[int, int, str]] = []
    missing: dict[str, int] = {}  # closing delimiter -> none of it before this index
    i, n = 0, len(text)
    while i < n:
        for open_, close, multiline in (("$$", "$$", True), ("\\[", "\\]", True), ("$", "$", False),
                                        ("\\(", "\\)", False)):
            if text.startswith(open_, i):
                end = -1 if i < missing.get(close, -1) else _find_close(text, close, i + len(open_), multiline)
                if end >= 0:
                    spans.append((i, end + len(close), text[i + len(open_) : end]))
                    i = end + len(close)
                else:
                    if i >= missing.get(close, -1):
                        line_end = text.find("\n", i)
                        missing[close] = n if multiline or line_end < 0 else line_end
                    i += len(open_)
                break
        else:
            i += 2 if text[i] == "\\" else 1
    return spans


def _mask_math(text: str) -> tuple[str, list[str]]:
    """`text` with each math span replaced by `\\x00<index>\\x00`, and the spans' contents."""
    out, contents, last = [], [], 0
    for start, end, content in math_spans(text):
        out.append(text[last:start])
        out.append(f"\x00{len(contents)}\x00")
        contents.append(content.strip())
        last = end
    out.append(text[last:])
    return "".join(out), contents


def reads_as_sentence(text: str) -> bool:
    """Prose around an answer (`The largest $n$ is 34`), not an answer with a unit (`5 dollars`).

    A word of three letters or more outside math, LaTeX commands and their arguments that
    is not a unit, a connective or a function name.
    """
    masked, _ = _mask_math(text)
    masked = re.sub(r"\\[A-Za-z]+\s*(?:\{[^{}]*\})*", " ", masked)
    return any(w.lower() not in _PLAIN_WORDS for w in re.findall(r"(?<![A-Za-z\\])[A-Za-z]{3,}", masked))


# A number written in prose: 12, -3, 1,080, 1,000.99, 2,74 (decimal comma), 2/3, 28%.
_PROSE_NUMBER_RE = re.compile(
    r"(?<![A-Za-z0-9.,_^])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:[.,]\d+)?(?:\s*/\s*\d+)?(?:\s*%)?(?![0-9])"
)
_PLACEHOLDER_RE = re.compile(r"\x00(\d+)\x00")
_LIST_MARK_RE = re.compile(r"^\s*(?:\d+|[a-z])[.)]\s|(?<![\d:])\d+\s*:(?!\d)")  # `2. Next`, `Step 3:`
_NEGATION_RE = re.compile(r"\b(?:not|isn't|never|nor)\s*$", re.IGNORECASE)
_UNDELIMITED_MATH_RE = re.compile(r"\\[A-Za-z]|[\^_{}]")


def last_statement(text: str) -> str | None:
    """The answer stated last: the last math span or number in the text's final sentence.

    For a text with no box and no answer phrase (`Therefore $x \\geq 5$ is the solution.`,
    `... so there are 12 sequences. I hope it is correct.`). Only the last line counts
    (display math may span lines), and in it the last sentence that states something, or
    the one before; None when neither does.
    """
    masked, contents = _mask_math(text)
    masked = masked.rstrip()
    while (hope := _HOPE_RE.search(masked)) is not None:  # Minerva's closing words, not a sentence
        masked = masked[: hope.start()].rstrip(" .\t\n")
    lines = [line for line in masked.splitlines() if line.strip()]
    if not lines:
        return None
    line = _LIST_MARK_RE.sub(lambda m: " " * len(m.group(0)), lines[-1])
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", line) if s.strip()]
    for sentence in reversed(sentences[-2:]):
        found: list[tuple[int, str]] = [(m.start(), contents[int(m.group(1))]) for m in _PLACEHOLDER_RE.finditer(sentence)]
        outside = _PLACEHOLDER_RE.sub(lambda m: " " * len(m.group(0)), sentence)
        if not _UNDELIMITED_MATH_RE.search(outside):  # numbers in prose, not in undelimited LaTeX
            found += [(m.start(), m.group(0).strip()) for m in _PROSE_NUMBER_RE.finditer(outside)]
        # a value the sentence denies (`..., not $\\frac{1}{3}$`) is not the one it states
        found = [(pos, value) for pos, value in found if value and not _NEGATION_RE.search(sentence[:pos])]
        if found:
            return max(found)[1]
    return None


def lenient_answer(text: str | None) -> str | None:
    """The last number or math expression anywhere in `text`: an answer that needs no box.

    The second grading of an evaluation, beside `extract_answer`: a model that never writes
    `\\boxed{}` is still credited when the last value it writes is right, so a gain that is
    only format (learning to box) shows up as a gap between the two gradings. Anything after
    a chat-template token is ignored; None when the text holds no number and no math.
    """
    if not text:
        return None
    text = strip_chat_tokens(text)
    boxed = _boxed_answer(text)
    if boxed is not None and not text[boxed[1] :].strip(" \t\n.$\\])"):
        return boxed[0]  # a box at the very end is the last expression, whole (not its last digit)
    masked, contents = _mask_math(text)
    found: list[tuple[int, str]] = [(m.start(), contents[int(m.group(1))]) for m in _PLACEHOLDER_RE.finditer(masked)]
    outside = _PLACEHOLDER_RE.sub(lambda m: " " * len(m.group(0)), masked)
    found += [(m.start(), m.group(0).strip()) for m in _PROSE_NUMBER_RE.finditer(outside)]
    found = [(pos, value) for pos, value in found if value.strip()]
    return max(found)[1] if found else None


def _clean_answer_span(span: str) -> str | None:
    """Cut an answer that runs to the end of a line down to the answer itself."""
    span = span.strip()
    span = re.sub(r"^(?:\*\*|__)\s*", "", span)
    if not span:
        return None
    span = re.sub(r'^(?:\\?["\u201c])\s*(?=[$\\])', "", span)  # a quoted answer: "$12$ and $13$"
    # A `$...$` / `\(...\)` / `\[...\]` span right after the anchor is the answer; spans joined
    # by "and" / "or" / commas (`$12$ and $13$`) make one answer.
    spans = math_spans(span)
    if spans and spans[0][0] == 0:
        if not spans[0][2].strip():
            return None
        answer, end = spans[0][2].strip(), spans[0][1]
        for start, next_end, content in spans[1:]:
            gap = span[end:start]
            if not re.fullmatch(r"\s*(?:,|and|or|,\s*and)\s*", gap) or not content.strip():
                break
            answer += ("," if gap.strip() == "," else f" {gap.strip()}") + " " + content.strip()
            end = next_end
        return answer
    for open_, close in (("$", "$"), ("\\(", "\\)")):  # inline math broken over lines is not an answer
        if span.startswith(open_) and not span.startswith("$$") and _find_close(span, close, len(open_), True) >= 0:
            return None
    span = span.splitlines()[0] if span.splitlines() else span
    span = re.split(r"\.\s+I hope it is correct", span, maxsplit=1, flags=re.IGNORECASE)[0]
    span = re.split(r"(?<=[^\d\s])\.\s+(?=[A-Z])|(?<=\d)\.\s+(?=[A-Z][a-z])", span, maxsplit=1)[0]
    span = re.sub(r"(?:\*\*|__)\s*$", "", span.strip().rstrip(" ."))
    span = span.rstrip(" .")
    if span and reads_as_sentence(span):  # `The largest $n$ is 34`: the value stated
        return last_statement(span) or span
    return span or None


def _boxed_answer(text: str) -> tuple[str, int] | None:
    """(content, end) of the last box, joined with the boxes right before it that belong to it.

    `\\boxed{1}, \\boxed{2}` and `\\boxed{-2} \\quad\\text{and}\\quad \\boxed{1}` give `1, 2` and
    `-2, 1`: one answer written in several boxes. None without a (closed, non-empty) box.
    """
    found = _last_command(text, _BOX_COMMANDS)
    box = None if found is None else _box_at(text, *found)
    if found is None or box is None or not box[0].strip():
        return None
    contents, end = [box[0].strip()], box[1]
    start = found[0]
    while len(contents) < _MAX_JOINED_BOXES:
        found = _last_command(text[:start], _BOX_COMMANDS)
        box = None if found is None else _box_at(text, *found)
        if found is None or box is None or not box[0].strip() or box[1] > start:
            break
        if not _BOX_GAP_RE.fullmatch(text[box[1] : start]):
            break
        contents.insert(0, box[0].strip())
        start = found[0]
    if len(set(contents)) == 1:  # the same answer boxed twice
        return contents[0], end
    return ", ".join(contents), end


def _phrase_answer(text: str, patterns: Sequence[re.Pattern[str]]) -> tuple[str, int] | None:
    """(answer, position) after the last answer phrase of `patterns` that gives one."""
    for pattern in patterns:
        for m in reversed(list(pattern.finditer(text))):
            rest = text[m.end() :]
            # the answer may sit on the next line ("Final Answer:\n\n73")
            stripped = rest.lstrip(" \t")
            if stripped.startswith("\n"):
                stripped = stripped.lstrip()
            answer = _clean_answer_span(stripped)
            if answer:
                return answer, m.start()
    return None


def extract_answer(text: str | None) -> str | None:
    """The final answer in a model's text, or None.

    In order: the last `\\boxed{}` (boxes written side by side count as one list), unless a
    Minerva-style "The final answer is X" follows it; then the last "Final Answer: X",
    "answer: X" / "the answer is X" / "Answer $X$", or GSM8K's "#### X" line; then, in a
    text without any of those, the last math span or number of its final sentence, when the
    text is several lines or a sentence (a bare one-line answer is left to the caller).
    Anything after a chat-template token (`<|im_end|>`) is ignored.
    """
    if not text:
        return None
    text = strip_chat_tokens(text)
    boxed = _boxed_answer(text)
    if boxed is not None:
        # Minerva's closing formula after the last box restates the answer it settled on.
        after = text[boxed[1] :]
        if _MINERVA_RE.search(after):
            final = _phrase_answer(after, _FINAL_PATTERNS)
            if final is not None and extract_boxed(final[0]) is None:
                return final[0]
        return boxed[0]
    phrase = _phrase_answer(text, _ANSWER_PATTERNS)
    if phrase is not None:
        return phrase[0]
    stripped = text.strip()
    if "\n" in stripped or reads_as_sentence(stripped):
        return last_statement(stripped)
    return None
