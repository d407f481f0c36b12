"""Comparing two answers: lists (item by item, order free), words, choice letters, equations,
exact and approximate numbers, then math-verify for everything else (its signal-based
timeouts off: the sandbox is the deadline).

These functions have **no time limit**: SymPy can spin for ever on a hostile answer, so
run them on untrusted text only through `toolkit.grading.grader.Grader`.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from toolkit.grading.extract import extract_answer, strip_chat_tokens
from toolkit.grading.normalise import (
    _CHOICE_PREFIX_RE,
    _CHOICE_RE,
    _FUNCTION_LHS_RE,
    _split_top_level,
    normalise_answer,
)

log = logging.getLogger(__name__)

REL_TOL = 1e-4  # Minerva-style tolerance for approximate (decimal) answers
_EXACT_REL = 1e-30  # two exact numbers closer than this (relatively) are the same number
_EVAL_DIGITS = 50

# An operator left unevaluated: the answer restates the question (`\\sum_{k=1}^{3} k^3` for 36).
_D = r"(?:d|\\mathrm\s*\{\s*d\s*\}|\\text\s*\{\s*d\s*\}|\\operatorname\s*\{\s*d\s*\})"
_UNEVALUATED_RE = re.compile(
    r"\\(?:sum|prod|coprod|int|iint|iiint|iiiint|oint|oiint|lim|liminf|limsup|partial|dv|pdv)(?![A-Za-z])"
    r"|[\u2211\u220f\u222b-\u2233\u2202]"  # the Unicode symbols: sum, product, integrals, partial
    rf"|\\[dtc]?frac\s*\{{\s*{_D}\s*(?:\^\s*\{{?\s*\d+\s*\}}?)?\s*[A-Za-z]?\s*\}}\s*\{{\s*{_D}\s*[A-Za-z\\]"
    rf"|(?<![A-Za-z\\]){_D}\s*/\s*{_D}\s*[A-Za-z\\]"  # d/dx
    r"|(?<![A-Za-z0-9_])(?:Sum|Product|Integral|Limit|Derivative|summation|product|integrate|limit|diff)\s*\("
)
_TEXT_GROUP_RE = re.compile(r"\\(?:text|textrm|textit|textbf|mbox|hbox)\s*\{([^{}]*)\}")


def unevaluated_operator(answer: str | None) -> str | None:
    """The unevaluated sum, product, integral, limit or derivative in `answer`, or None.

    LaTeX (`\\sum`, `\\prod`, `\\int`, `\\oint`, `\\lim`, `\\partial`, `\\frac{d}{dx}`,
    `\\frac{\\mathrm{d}}{\\mathrm{d}x}`, `d/dx`), Unicode (`∑ ∫ ∂`) and SymPy/Python spellings
    (`Sum(`, `Integral(`, `Limit(`, `Derivative(`, `diff(`, `integrate(`). Words inside
    `\\text{}` (`\\text{the limit}`) and variables named `d` (`d = 5`) are not operators.
    """
    if not answer:
        return None
    # words in text groups are not operators (`\\text{the limit}`); `\\text{d}` may be one
    words_removed = _TEXT_GROUP_RE.sub(lambda g: " " if re.search(r"[A-Za-z]{2}", g.group(1)) else g.group(0), answer)
    m = _UNEVALUATED_RE.search(words_removed)
    return m.group(0).strip() if m else None


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


_DECIMAL_COMMA_RE = re.compile(r"^[-+]?\d+,\d+$")
_DECIMAL_RE = re.compile(r"^[-+]?(?:\d+\.\d*|\.\d+)$")


def _has_float(expr: Any) -> bool:
    import sympy as sp

    try:
        return isinstance(expr, sp.Basic | sp.MatrixBase) and bool(expr.has(sp.Float))
    except Exception:
        return False


def _elements_equal(gold: Any, pred: Any) -> bool | None:
    """Two entries of a structure: numbers (with the tolerance rule), equal infinities; None otherwise."""
    import sympy as sp

    if gold in (sp.oo, -sp.oo) or pred in (sp.oo, -sp.oo):
        return bool(gold == pred)
    if _plain_number(gold) and _plain_number(pred):
        return _numbers_equal(gold, pred, _has_float(gold), _has_float(pred))
    return None


def _all_equal(pairs: list[tuple[Any, Any]]) -> bool | None:
    verdicts = [_elements_equal(g, p) for g, p in pairs]
    if any(v is None for v in verdicts):
        return None
    return all(verdicts)


def _structures_equal(gold: Any, pred: Any) -> bool | None:
    """Intervals, unions, tuples, finite sets and matrices of numbers, entry by entry.

    A decimal entry (`(0.6, 2.6667]` against `(3/5, 8/3]`) gets the tolerance that a lone
    decimal gets. None when the two are not the same kind of structure of numbers (then
    math-verify decides).
    """
    import sympy as sp

    if isinstance(gold, sp.Interval) and isinstance(pred, sp.Interval):
        if (gold.left_open, gold.right_open) != (pred.left_open, pred.right_open):
            return False
        return _all_equal([(gold.start, pred.start), (gold.end, pred.end)])
    if isinstance(gold, sp.Union) and isinstance(pred, sp.Union):
        if len(gold.args) != len(pred.args):
            return None
        verdicts = [_structures_equal(g, p) for g, p in zip(gold.args, pred.args, strict=True)]
        return None if any(v is None for v in verdicts) else all(verdicts)
    if isinstance(gold, sp.Tuple) and isinstance(pred, sp.Tuple):
        if len(gold) != len(pred):
            return False
        return _all_equal(list(zip(gold, pred, strict=True)))
    if isinstance(gold, sp.MatrixBase) and isinstance(pred, sp.MatrixBase):
        if gold.shape != pred.shape:
            return False
        return _all_equal(list(zip(gold, pred, strict=True)))
    if isinstance(gold, sp.FiniteSet) and isinstance(pred, sp.FiniteSet):
        if len(gold) != len(pred):
            return False
        unused = list(pred)
        for g in gold:
            for i, p in enumerate(unused):
                verdict = _elements_equal(g, p)
                if verdict is None:
                    return None
                if verdict:
                    unused.pop(i)
                    break
            else:
                return False
        return True
    return None


def _value(s: str) -> tuple[Any | None, bool, list[Any]]:
    """(SymPy value or None, approximate?, math-verify parse list) for a normalised answer."""
    literal = _literal_number(s)
    if literal is not None:
        return literal[0], literal[1], [literal[0]]
    parsed = _mv_parse(s)
    expr = _first_sympy(parsed)
    return expr, _has_float(expr), parsed


def _rename_variable(expr: str, old: str, new: str) -> str:
    return re.sub(rf"(?<![A-Za-z\\]){re.escape(old)}(?![A-Za-z])", new, expr)


def compare_answers(pred: str | None, gold: str | None) -> tuple[bool, str]:
    """(equal, reason) for two answers (not full texts); no time limit, never raises.

    A prediction that still contains a sum, product, integral, limit or derivative
    (`unevaluated_operator`) is not a computed answer: graded unequal, reason
    `unevaluated`, unless the gold is written with one too, or the prediction equates it
    with a value (`\\sum_{k=1}^{3} k^3 = 36`: the value is compared).
    """
    try:
        if unevaluated_operator(pred) and not unevaluated_operator(gold):
            # `\\int_0^1 x\\,dx = \\frac{1}{2}` states its value: the last side is the answer
            sides = _split_top_level(pred or "", "=")
            if len(sides) < 2 or unevaluated_operator(sides[-1]) or not sides[-1].strip():
                return False, "unevaluated"
            pred = sides[-1]
        return _compare(normalise_answer(pred), normalise_answer(gold), depth=0)
    except RecursionError:
        return False, "error: recursion"
    except Exception as exc:
        log.debug("answer comparison failed", exc_info=True)
        return False, f"error: {type(exc).__name__}"


def _list_items(s: str) -> list[str]:
    """The items of a top-level comma list (`1, 2, 3`, `\\{1, 2\\}`, `f(x)=x, f(x)=-x`), or []
    for a single answer (a tuple `(1, 2)` or an interval `[1, 2)` is one answer)."""
    body = s.strip()
    m = re.fullmatch(r"\\\{(.*)\\\}", body, flags=re.DOTALL)
    if m and "\\{" not in m.group(1) and "\\}" not in m.group(1):
        body = m.group(1)
    # `\\left(` normalises to `\\(`: still the bracket of a tuple, not an item's text
    body = body.replace("\\(", "(").replace("\\)", ")")
    items = [item.strip() for item in _split_top_level(body, ",")]
    return items if len(items) > 1 and all(items) else []


def _lists_equal(p_items: list[str], g_items: list[str], depth: int) -> bool:
    """Each gold item matched by its own predicted item, in any order (OlympiadBench's judge):
    the same items written alike are paired first, so a reordered list costs no parsing."""
    unused = list(p_items)
    rest = []
    for g in g_items:
        same = next((i for i, p in enumerate(unused) if _squash(p) == _squash(g)), None)
        if same is None:
            rest.append(g)
        else:
            unused.pop(same)
    for g in rest:
        for i, p in enumerate(unused):
            if _compare(normalise_answer(p), normalise_answer(g), depth + 1)[0]:
                unused.pop(i)
                break
        else:
            return False
    return True


def _compare(p: str, g: str, depth: int) -> tuple[bool, str]:
    from math_verify import verify

    if not p:
        return False, "no answer"
    if not g:
        return False, "no gold"
    if p == g or _squash(p) == _squash(g):
        return True, "string match"
    # a decimal comma (`2,74`) against a decimal gold (`2.74`); `1,2` stays a list otherwise
    if _DECIMAL_COMMA_RE.match(p) and _DECIMAL_RE.match(g):
        p = p.replace(",", ".")
    elif _DECIMAL_COMMA_RE.match(g) and _DECIMAL_RE.match(p):
        g = g.replace(",", ".")
    # lists (`1, 3, 9`: all solutions, or the values asked for): as many items as the gold,
    # each equal to its own gold item, order free. A set's duplicates count (`-2, -2`).
    g_items, p_items = _list_items(g), _list_items(p)
    if len(g_items) > 1 and not p_items:
        if _literal_number(p) is not None:  # one value is never a list (math-verify's sets say `-2` = `-2, -2`)
            return False, "list lengths differ"
        if p.startswith("(") and p.endswith(")") and len(_split_top_level(p, ",")) == 1:
            p_items = _list_items(p[1:-1])  # the values asked for, written as a tuple: `(-2, -2)`
    if depth < 2 and len(g_items) > 1 and len(p_items) > 1:
        if len(g_items) != len(p_items):
            return False, "list lengths differ"
        equal = _lists_equal(p_items, g_items, depth)
        return equal, "list" if equal else "list items differ"
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
    if g_val is not None and p_val is not None and (g_approx or p_approx):
        decided = _structures_equal(g_val, p_val)
        if decided is not None:  # intervals, tuples, sets, matrices of numbers with a decimal entry
            return decided, "numeric tolerance" if decided else "numeric tolerance: differs"
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
        text = strip_chat_tokens(text)
        if pred is None and _looks_like_bare_answer(text):
            pred = text.strip()
    else:
        pred = text.strip() or None
    if pred is None:
        return GradeResult(False, None, gold, "no answer")
    equal, reason = compare_answers(pred, gold)
    return GradeResult(bool(equal), pred, gold, reason)
