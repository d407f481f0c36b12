"""Normalising an answer string so that equal answers written differently compare equal.

`$`, `\\left`, thin spaces, `\\text{}`, units, `%`, degrees, thousands separators, zero
padding, `x = ...`, markdown bold, Python spellings of LaTeX, ... (string work only).
"""

from __future__ import annotations

import re

from toolkit.grading.extract import UNIT_WORDS, extract_boxed, match_braces

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
_UNIT_TAIL_RE = re.compile(
    r"^(?P<num>" + _NUM_OR_FRAC + r")\s*(?P<unit>(?:[A-Za-z]+)(?:\s+[A-Za-z]+)*)(?:\s*\^\s*\{?[23]\}?)?"
    r"(?:\s*/\s*[A-Za-z]+(?:\s*\^\s*\{?[23]\}?)?)?\s*$"
)
_TEXT_UNIT_RE = re.compile(
    r"\s*(?:/|\\cdot)?\s*\\(?:text|mathrm|mbox|textrm|textnormal|textit|mathit|rm)\s*"
    r"\{\s*~?\s*(?P<unit>[A-Za-z][A-Za-z ./]*?)\s*\}(?:\s*\^\s*\{?[-23]+\}?)?\s*$"
)
_THOUSANDS_RE = re.compile(r"^[-+]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$")  # not `0,111` (a decimal comma)
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
    s = re.sub(r"(?<=\d),\s*\\!\s*(?=\d{3}(?!\d))", ",", s)  # `32,\! 349`: a thousands comma
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
    if m and all(w.lower() in UNIT_WORDS or len(w) >= 3 for w in m.group("unit").split()):
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
