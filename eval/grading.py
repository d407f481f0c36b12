"""Answer grading: extract a model's final answer, normalise it, and compare it with the gold.

Two layers:

* pure, in-process functions (`extract_boxed`, `extract_answer`, `normalise_answer`,
  `answers_equal`, `grade`). They have **no time limit**: SymPy can spin for ever on a
  hostile answer, so never call them on untrusted text without a deadline around them.
* `Grader`, which runs `grade` in the project's process sandbox (`toolkit.sandbox`), so a
  comparison that hangs or crashes is killed at its deadline and graded
  `equal=False, reason="timeout"`. It never raises and never hangs; it is safe from
  threads, asyncio and Ray actors.

The comparison, in order (the first that decides wins):

1. string equality after normalisation (`$`, `\\left`, thin spaces, `\\text{}`, units,
   `%`, degrees, thousands separators, zero padding, `x = ...`, markdown bold, ...);
2. plain words (`Sunday`, `even`) compare case-insensitively as words, never as products
   of symbols (which would make `no` equal `on`);
3. multiple-choice letters (`\\text{(C)}`, `(C) 12`, `C`);
4. equations with the same left-hand side (`f(n) = n`) compare their right-hand sides;
5. numbers: exact numbers (integers, fractions, radicals, factorials, pi) compare
   exactly, so `1/2004!` never equals `1/2006!`; a decimal or scientific-notation value
   compares with a relative tolerance of 1e-4 (Minerva), except against an integer gold;
6. everything else (expressions, intervals, tuples, sets, matrices, relations) goes to
   math-verify, with its signal-based timeouts disabled (they break outside the main
   thread; the sandbox is the deadline).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)

REL_TOL = 1e-4  # Minerva-style tolerance for approximate (decimal) answers
_EXACT_REL = 1e-30  # two exact numbers closer than this (relatively) are the same number
_EVAL_DIGITS = 50

__all__ = [
    "GradeResult",
    "Grader",
    "answers_equal",
    "compare_answers",
    "extract_answer",
    "extract_boxed",
    "grade",
    "normalise_answer",
]


# ---------------------------------------------------------------------------- extraction

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


# ---------------------------------------------------------------------------- normalisation

_TEXT_COMMANDS = ("text", "textbf", "textit", "textrm", "textnormal", "textsf", "texttt",
                  "mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mbox", "hbox", "emph")
_UNWRAP_RE = re.compile(r"\\(" + "|".join(_TEXT_COMMANDS) + r")\s*\{")
_GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
          "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau",
          "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta",
          "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega")
_VARIABLE_RE = re.compile(
    r"^(?:[A-Za-z]|\\(?:" + "|".join(_GREEK) + r"))(?:_\{?[A-Za-z0-9]+\}?)?('*)$"
)
_FUNCTION_LHS_RE = re.compile(r"^([A-Za-z])\(([A-Za-z])\)$")

# A plain number as it appears before a unit: 12, 1,080, -3.5, .5, 3/4, \frac{1}{2}, 4.5e3.
_NUM = r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:\s*/\s*\d+)?"
_NUM_OR_FRAC = rf"(?:{_NUM}|[-+]?\\frac\{{[^{{}}]*\}}\{{[^{{}}]*\}})"
_UNIT_WORDS = (
    "cm", "mm", "km", "m", "nm", "in", "inch", "inches", "ft", "feet", "foot", "yd", "yard", "yards",
    "mi", "mile", "miles", "meter", "meters", "metre", "metres", "centimeters", "kilometers",
    "kg", "g", "mg", "gram", "grams", "kilograms", "lb", "lbs", "pound", "pounds", "oz", "ounces",
    "l", "ml", "liter", "liters", "litre", "litres", "gallon", "gallons",
    "s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "h", "hr", "hrs",
    "hour", "hours", "day", "days", "week", "weeks", "month", "months", "year", "years",
    "dollar", "dollars", "cent", "cents", "euro", "euros", "degree", "degrees", "percent",
    "unit", "units", "square", "sq", "cubic", "mph", "kmh", "people", "students", "times",
)
_UNIT_TAIL_RE = re.compile(
    r"^(?P<num>" + _NUM_OR_FRAC + r")\s*(?P<unit>(?:[A-Za-z]+)(?:\s+[A-Za-z]+)*)(?:\s*\^\s*\{?[23]\}?)?"
    r"(?:\s*/\s*[A-Za-z]+(?:\s*\^\s*\{?[23]\}?)?)?\s*$"
)
_TEXT_UNIT_RE = re.compile(
    r"\s*(?:/|\\cdot)?\s*\\(?:text|mathrm|mbox|textrm|textnormal|textit|mathit|rm)\s*"
    r"\{\s*~?\s*(?P<unit>[A-Za-z][A-Za-z ./]*?)\s*\}(?:\s*\^\s*\{?[-23]+\}?)?\s*$"
)
_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
_THOUSANDS_SPACE_RE = re.compile(r"^[-+]?\d{1,3}( \d{3})+(\.\d+)?$")
_CHOICE_RE = re.compile(r"^\(([A-Ea-e])\)$|^([A-E])$")
_CHOICE_PREFIX_RE = re.compile(r"^\(?([A-E])\)(?:\s|$)|^([A-E])$|^([A-E])\s*[.:]\s")


def _unwrap_commands(s: str) -> str:
    """`\\text{abc}` -> `abc` for every text-like command, brace-matched, innermost last."""
    for _ in range(50):
        m = _UNWRAP_RE.search(s)
        if m is None:
            break
        inner = match_braces(s, m.end() - 1)
        if inner is None:  # unbalanced: drop the command name only
            s = s[: m.start()] + s[m.end() - 1 :]
            continue
        s = s[: m.start()] + inner + s[m.end() + len(inner) + 1 :]
    return s


def _strip_text_units(s: str) -> str:
    """Remove trailing `\\text{ cm}` / `\\mathrm{~km} / \\mathrm{s}` units after a value."""
    for _ in range(5):
        m = _TEXT_UNIT_RE.search(s)
        if m is None or not s[: m.start()].strip() or m.group("unit").strip() in ("e", "i"):
            break
        head = s[: m.start()].rstrip()
        if head.endswith(("=", "+", "-", "(", ",")):
            break
        s = head
    return s


def _split_top_level(s: str, sep: str) -> list[str]:
    """Split `s` at `sep` outside brackets/braces (a `=` that is part of <=, >=, \\neq is kept)."""
    parts, depth, start = [], 0, 0
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            if sep == "=" and (s[i - 1 : i] in ("<", ">", "!", ":") or s[i + 1 : i + 2] == "="):
                i += 1
                continue
            parts.append(s[start:i])
            start = i + 1
        i += 1
    parts.append(s[start:])
    return parts


def _python_to_latex(s: str) -> str:
    """SymPy / Python syntax (`x**2`, `sqrt(2)`, `pi`, `np.arcsin`) into what LaTeX parsing reads."""
    s = re.sub(r"\b(?:np|numpy|math|sp|sympy)\.", "", s)
    s = re.sub(r"(?<![A-Za-z\\])(?:oo|inf|infinity|Infinity|infty)(?![A-Za-z])", r"\\infty", s)
    if re.search(r"\*\s*I(?![A-Za-z])|(?<![A-Za-z])I\s*\*", s):  # SymPy's imaginary unit
        s = re.sub(r"(?<![A-Za-z\\])I(?![A-Za-z])", "i", s)
    s = re.sub(r"\\varnothing(?![A-Za-z])|^\\\{\s*\\\}$", r"\\emptyset", s)
    s = s.replace("**", "^")
    s = re.sub(r"(?<=\d)\s*\*\s*(?=[A-Za-z\\])", "", s)  # 4*x -> 4x, 2*\pi -> 2\pi
    s = re.sub(r"(?<![\\A-Za-z])pi(?![A-Za-z])", r"\\pi", s)
    s = re.sub(r"(?<![\\A-Za-z])(arcsin|arccos|arctan|sin|cos|tan|log|ln|exp)(?=\()", r"\\\1", s)
    # sqrt(...) -> \sqrt{...}
    for _ in range(20):
        m = re.search(r"(?<![\\A-Za-z])sqrt\(", s)
        if m is None:
            break
        depth, j = 0, m.end() - 1
        while j < len(s):
            depth += s[j] == "("
            depth -= s[j] == ")"
            if depth == 0:
                break
            j += 1
        if j >= len(s):
            break
        s = s[: m.start()] + "\\sqrt{" + s[m.end() : j] + "}" + s[j + 1 :]
    return s


def _is_constant(value: str) -> bool:
    """No variables in `value` (LaTeX commands such as `\\pi`, `\\sqrt` do not count)."""
    return not re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", "", value))


def _strip_assignments(s: str) -> str:
    """`x = 5` -> `5`; `x = 1 or x = 2` -> `1, 2`.

    Kept as they are: `a = 1, b = 2` (a point) and `y = 3 - 2x` (an equation in other
    variables, which math-verify then compares as an equation, equal to `2x + y = 3`).
    """
    if "=" not in s:
        return s
    items = _split_top_level(re.sub(r"\s+(?:or|and)\s+", ", ", s), ",")
    names, values = set(), []
    for item in items:
        parts = _split_top_level(item, "=")
        if len(parts) < 2:
            return s
        name = parts[0].strip()
        if not _VARIABLE_RE.match(name):
            return s
        if not _is_constant(parts[-1]):
            return s
        names.add(name)
        values.append(parts[-1].strip())
    if len(names) != 1:
        return s
    return ", ".join(values)


def normalise_answer(s: str | None) -> str:
    """A canonical string form of an answer: the wrappers and decorations removed.

    Removes `$`, `\\left`/`\\right`, thin spaces, `\\text{}`-like wrappers (keeping their
    content), units after a number, `%`, degree signs, markdown bold, a trailing period,
    thousands separators (`1,080` but not `(1, 2)`), zero padding (`025`), and `x =` in
    front of a value; `\\dfrac`/`\\tfrac` become `\\frac`; `\\text{(C)}` becomes `C`.
    """
    if s is None:
        return ""
    s = str(s).strip()
    if "\\boxed" in s or "\\fbox" in s:
        boxed = extract_boxed(s)
        if boxed is not None:
            s = boxed.strip()
    for _ in range(3):
        m = re.fullmatch(r"(\*\*|__)(.+)\1", s, flags=re.DOTALL)
        if not m:
            break
        s = m.group(2).strip()
    s = s.replace("\\$", "").replace("$", "")
    s = re.sub(r"^\\[(\[]\s*(.*?)\s*\\[)\]]$", r"\1", s, flags=re.DOTALL)
    s = re.sub(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)\s*\.", "", s)
    s = re.sub(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![A-Za-z])", "", s)
    s = re.sub(r"\\(?:displaystyle|textstyle|scriptstyle)(?![A-Za-z])", "", s)
    s = re.sub(r"\\[dtc]frac(?![A-Za-z])", r"\\frac", s)
    # spacing: `1\,000` -> 1000, `{,}` -> `,`, other spaces -> one space
    s = re.sub(r"\\(?:text|mathrm)\s*\{,\}", ",", s).replace("{,}", ",")
    s = re.sub(r"(?<=\d)(?<!\\)\\[,!:; ](?=\d{3}(?!\d))", "", s)
    s = re.sub(r"(?<!\\)\\!", "", s)
    s = re.sub(r"(?<!\\)\\(?:[,:; ]|quad|qquad|thinspace|medspace|thickspace)(?![A-Za-z])", " ", s)
    s = s.replace("~", " ")
    # degrees and percent
    s = re.sub(r"\^\s*\{?\s*\\circ\s*\}?", "", s)
    s = re.sub(r"(?<=\d)\s*\\circ(?![A-Za-z])|\\degree(?![A-Za-z])|°", "", s)  # not `f \\circ g`
    s = re.sub(r"\\?%", "", s)
    s = _strip_text_units(s.strip())
    s = _unwrap_commands(s)
    s = _python_to_latex(s)
    s = re.sub(r"\s+", " ", s).strip()
    s = s.rstrip(" .,;").strip()
    s = re.sub(r"^(?:\*\*|__)\s*|\s*(?:\*\*|__)$", "", s)
    # units written out after a number: `12 cm`, `5 dollars`, `4 square feet`
    m = _UNIT_TAIL_RE.match(s)
    if m and all(w.lower() in _UNIT_WORDS or len(w) >= 3 for w in m.group("unit").split()):
        s = m.group("num").strip()
    s = _strip_assignments(s)
    if _THOUSANDS_RE.match(s):
        s = s.replace(",", "")
    elif _THOUSANDS_SPACE_RE.match(s):
        s = s.replace(" ", "")
    m = re.fullmatch(r"([-+]?)0+(\d+)", s)
    if m:
        s = m.group(1) + m.group(2)
    m = _CHOICE_RE.match(s)
    if m:
        s = (m.group(1) or m.group(2)).upper()
    # \frac12 -> \frac{1}{2}
    s = re.sub(r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*(\d)\s*\{", r"\\frac{\1}{", s)
    s = re.sub(r"\\frac\s*(\{[^{}]*\})\s*(\d)", r"\\frac\1{\2}", s)
    s = re.sub(r"\\sqrt\s*(\d)", r"\\sqrt{\1}", s)
    return s.strip()


# ---------------------------------------------------------------------------- comparison


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _is_words(s: str) -> bool:
    """Plain words (`Sunday`, `no solution`), which must not be read as products of symbols."""
    if not re.fullmatch(r"[A-Za-z]+(?:[ '\-][A-Za-z]+)*", s):
        return False
    return " " in s or len(s) >= 3


def _choice_letter(s: str) -> str | None:
    m = _CHOICE_PREFIX_RE.match(s.strip())
    if m:
        return next(g for g in m.groups() if g)
    return None


_SCI_RE = re.compile(
    r"^(?P<m>[-+]?(?:\d+\.?\d*|\.\d+))\s*(?:(?:\\times|\\cdot|\*|x)\s*10\s*\^\s*\{?\s*(?P<e1>[-+]?\d+)\s*\}?"
    r"|[eE](?P<e2>[-+]?\d+))?$"
)
_RATIO_RE = re.compile(r"^(?P<a>[-+]?(?:\d+\.?\d*|\.\d+))\s*/\s*(?P<b>[-+]?(?:\d+\.?\d*|\.\d+))$")


def _literal_number(s: str) -> tuple[Any, bool] | None:
    """A plain numeric literal -> (exact SymPy Rational, is_approximate); None otherwise.

    Reads integers, decimals, scientific notation (`4.5e33`, `4.5 \\times 10^{33}`),
    Python-style ratios (`-1./3`) and `\\frac{a}{b}` with literal parts.
    """
    import sympy as sp

    s = _squash(s) if len(s) < 200 else s
    m = _SCI_RE.match(s)
    if m:
        mant = m.group("m")
        exp = m.group("e1") or m.group("e2")
        value = sp.Rational(mant) * (sp.Integer(10) ** int(exp) if exp else 1)
        approx = "." in mant or exp is not None
        return value, approx
    m = _RATIO_RE.match(s)
    if m:
        b = sp.Rational(m.group("b"))
        if b == 0:
            return None
        return sp.Rational(m.group("a")) / b, "." in s
    m = re.fullmatch(r"([-+]?)\\frac\{([-+]?\d+)\}\{([-+]?\d+)\}", s)
    if m and int(m.group(3)) != 0:
        value = sp.Rational(int(m.group(2)), int(m.group(3)))
        return (-value if m.group(1) == "-" else value), False
    return None


def _mv_parse(s: str) -> list[Any]:
    from math_verify import parse

    return parse(f"${s}$", parsing_timeout=None)


def _first_sympy(parsed: list[Any]) -> Any | None:
    import sympy as sp

    for item in parsed:
        if isinstance(item, sp.Basic | sp.MatrixBase):
            return item
    return None


def _plain_number(expr: Any) -> bool:
    """A SymPy scalar that is a number (no symbols, not a set, relation, tuple or matrix)."""
    import sympy as sp

    if not isinstance(expr, sp.Expr) or isinstance(expr, sp.MatrixBase | sp.MatrixExpr):
        return False
    try:
        return bool(expr.is_number) and not expr.has(sp.oo, -sp.oo, sp.zoo, sp.nan)
    except Exception:
        return False


def _numeric_value(expr: Any) -> complex | None:
    import sympy as sp

    try:
        value = sp.N(expr, _EVAL_DIGITS)
        return complex(value)
    except (TypeError, ValueError, OverflowError, AttributeError):
        return None


def _numbers_equal(gold: Any, pred: Any, gold_approx: bool, pred_approx: bool) -> bool:
    """Two SymPy numbers: exact comparison unless one is approximate (then rel. tol. 1e-4).

    Values are first compared at 50 significant digits (cheap even for `10^{10^{10}}`);
    exact numbers that agree that far are then compared exactly when they are rationals
    of a reasonable size, so `1/2004!` and `1/2006!`, or `10^{40}` and `10^{40}+1`, differ.
    """
    import sympy as sp

    if not gold_approx and not pred_approx:
        if gold == pred:
            return True
        try:
            gv, pv = sp.N(gold, _EVAL_DIGITS), sp.N(pred, _EVAL_DIGITS)
            diff = abs(gv - pv)
            scale = max(abs(gv), abs(pv))
            if scale == 0:
                return True
            if bool(diff > scale * sp.Float(_EXACT_REL, _EVAL_DIGITS)):
                return False
            if scale < sp.Float(10) ** 1000:
                g, p = gold.doit(), pred.doit()
                if g.is_Rational and p.is_Rational:
                    return bool(g == p)
            return True
        except (TypeError, ValueError, AttributeError):
            return False
    gv, pv = _numeric_value(gold), _numeric_value(pred)
    if gv is None or pv is None or not all(map(math.isfinite, (gv.real, gv.imag, pv.real, pv.imag))):
        return False
    # Against an exact integer gold (a count, a GSM8K answer), a decimal must be that integer.
    if not gold_approx and bool(getattr(gold, "is_integer", False)):
        return abs(gv - pv) <= 1e-9 * max(1.0, abs(gv))
    if gv == 0:
        return abs(pv) <= 1e-9
    return abs(gv - pv) <= REL_TOL * abs(gv)


def _value(s: str) -> tuple[Any | None, bool, list[Any]]:
    """(SymPy value or None, approximate?, math-verify parse list) for a normalised answer."""
    import sympy as sp

    literal = _literal_number(s)
    if literal is not None:
        return literal[0], literal[1], [literal[0]]
    parsed = _mv_parse(s)
    expr = _first_sympy(parsed)
    approx = bool(expr is not None and isinstance(expr, sp.Basic) and expr.has(sp.Float))
    return expr, approx, parsed


def _rename_variable(expr: str, old: str, new: str) -> str:
    return re.sub(rf"(?<![A-Za-z\\]){re.escape(old)}(?![A-Za-z])", new, expr)


def compare_answers(pred: str | None, gold: str | None) -> tuple[bool, str]:
    """(equal, reason) for two answers (not full texts); no time limit, never raises."""
    try:
        return _compare(normalise_answer(pred), normalise_answer(gold), depth=0)
    except RecursionError:
        return False, "error: recursion"
    except Exception as exc:
        log.debug("answer comparison failed", exc_info=True)
        return False, f"error: {type(exc).__name__}"


def _compare(p: str, g: str, depth: int) -> tuple[bool, str]:
    from math_verify import verify

    if not p:
        return False, "no answer"
    if not g:
        return False, "no gold"
    if p == g or _squash(p) == _squash(g):
        return True, "string match"
    if _is_words(g) or _is_words(p):
        same = " ".join(p.lower().split()) == " ".join(g.lower().split())
        return same, "words" if same else "words differ"
    if _CHOICE_RE.match(g):
        letter = _choice_letter(p)
        return letter == g.upper(), "choice" if letter == g.upper() else "choice differs"
    m = re.match(r"^\(([A-E])\)\s*(\S.*)$", g)
    if m and depth < 2:  # a gold `(C) 12`: the letter or the value will do
        if _choice_letter(p) == m.group(1):
            return True, "choice"
        return _compare(p, m.group(2), depth + 1)
    m = re.match(r"^\(([A-E])\)\s*(\S.*)$", p)
    if m and depth < 2:  # `(C) 12` against the value `12` (AMC golds are values)
        return _compare(m.group(2), g, depth + 1)

    # equations: `f(n) = n` against `f(n) = n`, compare the right-hand sides
    gs, ps = _split_top_level(g, "="), _split_top_level(p, "=")
    if depth < 2 and len(gs) == 2 and len(ps) == 2:
        g_lhs, p_lhs = _squash(gs[0]), _squash(ps[0])
        if g_lhs == p_lhs:
            equal, _ = _compare(ps[1].strip(), gs[1].strip(), depth + 1)
            return equal, "equation" if equal else "equation right-hand sides differ"
        mg, mp = _FUNCTION_LHS_RE.match(g_lhs), _FUNCTION_LHS_RE.match(p_lhs)
        if mg and mp and mg.group(1) == mp.group(1):
            renamed = _rename_variable(ps[1], mp.group(2), mg.group(2))
            equal, _ = _compare(renamed.strip(), gs[1].strip(), depth + 1)
            return equal, "equation" if equal else "equation right-hand sides differ"
    if depth < 2 and len(gs) == 2 and len(ps) == 1 and _FUNCTION_LHS_RE.match(_squash(gs[0])):
        equal, _ = _compare(p, gs[1].strip(), depth + 1)
        return equal, "equation" if equal else "equation right-hand sides differ"

    g_val, g_approx, g_parsed = _value(g)
    p_val, p_approx, p_parsed = _value(p)
    if g_val is not None and p_val is not None and _plain_number(g_val) and _plain_number(p_val):
        equal = _numbers_equal(g_val, p_val, g_approx, p_approx)
        kind = "numeric tolerance" if (g_approx or p_approx) else "exact number"
        return equal, kind if equal else f"{kind}: differs"
    if not g_parsed or not p_parsed:
        return False, "unparsed"
    equal = verify(g_parsed, p_parsed, timeout_seconds=None, allow_set_relation_comp=True)
    return bool(equal), "math-verify" if equal else "not equal"


def answers_equal(pred: str | None, gold: str | None) -> bool:
    """Whether a predicted answer (not a full text) equals the gold answer.

    In-process and with no time limit: wrap it in a deadline (`Grader`) for untrusted input.
    """
    return compare_answers(pred, gold)[0]


@dataclass
class GradeResult:
    equal: bool
    pred: str | None
    gold: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _looks_like_bare_answer(text: str) -> bool:
    text = text.strip()
    return bool(text) and "\n" not in text and len(text) <= 200


def grade(prediction_text: str | None, gold: str, extract: bool = True) -> GradeResult:
    """Extract the final answer from `prediction_text`, normalise both, compare (in-process).

    With `extract=False` the prediction is taken as the answer itself. A short one-line
    text without an answer marker is also taken as a bare answer.
    """
    gold = "" if gold is None else str(gold)
    text = "" if prediction_text is None else str(prediction_text)
    if extract:
        pred = extract_answer(text)
        if pred is None and _looks_like_bare_answer(text):
            pred = text.strip()
    else:
        pred = text.strip() or None
    if pred is None:
        return GradeResult(False, None, gold, "no answer")
    equal, reason = compare_answers(pred, gold)
    return GradeResult(bool(equal), pred, gold, reason)


# ---------------------------------------------------------------------------- sandboxed grader

GRADING_TOOL = "grade_answer"
_SHOWN_CHARS = 1000


class Grader:
    """Grades answers in sandbox worker processes, each comparison under a hard deadline.

    >>> with Grader(workers=2, timeout_s=5) as grader:
    ...     grader.grade("... so the answer is $\\boxed{\\frac{1}{2}}$.", "0.5").equal
    True

    A comparison that runs past `timeout_s` (SymPy can spin for ever) or kills its worker
    is graded `equal=False, reason="timeout"`; nothing here raises or hangs. Workers
    start on first use (or `start()`); `close()` (or the context manager) stops them.
    """

    def __init__(self, workers: int | None = None, timeout_s: float = 5.0, **sandbox_options: Any) -> None:
        from toolkit.sandbox import Sandbox

        if workers is None:
            workers = max(1, min(4, os.cpu_count() or 1))
        options = {"output_limit": 16384, **sandbox_options}
        tool_modules = list(options.pop("tool_modules", []))
        if "eval.grading_worker_tools" not in tool_modules:
            tool_modules.append("eval.grading_worker_tools")
        self.timeout_s = float(timeout_s)
        self.sandbox = Sandbox(workers=workers, timeout_s=self.timeout_s, tool_modules=tool_modules, **options)

    # lifecycle
    def start(self) -> Grader:
        self.sandbox.start()
        return self

    def close(self) -> None:
        self.sandbox.close()

    def __enter__(self) -> Grader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Grader:
        await asyncio.get_running_loop().run_in_executor(None, self.sandbox.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def stats(self) -> dict[str, int]:
        return self.sandbox.stats()

    # grading
    @staticmethod
    def _string_match(pred_text: str | None, gold: str, extract: bool) -> GradeResult | None:
        """Equal normalised strings need no SymPy, so no worker round trip (string work only)."""
        pred = extract_answer(pred_text) if extract else pred_text
        if pred is None or gold is None or len(pred) > _SHOWN_CHARS:
            return None
        if normalise_answer(pred) == normalise_answer(str(gold)) != "":
            return GradeResult(True, pred, str(gold), "string match")
        return None

    @staticmethod
    def _args(pred_text: str | None, gold: str, extract: bool) -> dict[str, Any]:
        return {"prediction": "" if pred_text is None else str(pred_text), "gold": "" if gold is None else str(gold),
                "extract": bool(extract)}

    @staticmethod
    def _result(payload: Any, pred_text: str | None, gold: str, extract: bool) -> GradeResult:
        gold = "" if gold is None else str(gold)
        result = payload.get("result") if isinstance(payload, dict) else None
        if isinstance(result, dict) and "equal" in result:
            return GradeResult(bool(result["equal"]), result.get("pred"), gold, str(result.get("reason", "")))
        # Cheap and safe in this process: no SymPy, only string scanning.
        try:
            pred = extract_answer(pred_text) if extract else (pred_text or None)
        except Exception:
            pred = None
        pred = pred[:_SHOWN_CHARS] if isinstance(pred, str) else pred
        error = payload.get("error") if isinstance(payload, dict) else None
        kind = error.get("type") if isinstance(error, dict) else None
        if kind in ("timeout", "crash", "memory") or error is None:
            return GradeResult(False, pred, gold, "timeout")
        return GradeResult(False, pred, gold, f"error: {error.get('message', kind)}"[:300])

    def grade(
        self, pred_text: str | None, gold: str, extract: bool = True, timeout_s: float | None = None
    ) -> GradeResult:
        """Grade one prediction text against a gold answer (blocks; thread-safe).

        `timeout_s` shortens this call's deadline (it cannot exceed the Grader's).
        """
        quick = None if self.sandbox.closed else self._string_match(pred_text, gold, extract)
        if quick is not None:
            return quick
        try:
            payload = self.sandbox.call_sync(GRADING_TOOL, self._args(pred_text, gold, extract), timeout_s)
        except Exception as exc:  # the sandbox failed to start, or was closed under us
            log.warning("grading failed: %s", exc)
            payload = {"error": {"type": "crash", "message": str(exc)}}
        return self._result(payload, pred_text, gold, extract)

    async def agrade(
        self, pred_text: str | None, gold: str, extract: bool = True, timeout_s: float | None = None
    ) -> GradeResult:
        """The asyncio form of `grade`; never blocks the event loop."""
        quick = None if self.sandbox.closed else self._string_match(pred_text, gold, extract)
        if quick is not None:
            return quick
        try:
            payload = await self.sandbox.call(GRADING_TOOL, self._args(pred_text, gold, extract), timeout_s)
        except Exception as exc:
            log.warning("grading failed: %s", exc)
            payload = {"error": {"type": "crash", "message": str(exc)}}
        return self._result(payload, pred_text, gold, extract)

    async def agrade_many(self, pairs: Iterable[tuple[str | None, str]], extract: bool = True) -> list[GradeResult]:
        """Grade many (prediction text, gold) pairs concurrently; results in input order."""
        return list(await asyncio.gather(*(self.agrade(p, g, extract) for p, g in pairs)))

    def grade_many(self, pairs: Iterable[tuple[str | None, str]], extract: bool = True) -> list[GradeResult]:
        """Grade many pairs concurrently (through asyncio); works inside a running event loop too."""
        pairs = list(pairs)
        if not pairs:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.agrade_many(pairs, extract))
        # Called from inside an event loop (a notebook, an async actor): run on a helper thread.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="grade-many") as pool:
            return pool.submit(asyncio.run, self.agrade_many(pairs, extract)).result()

