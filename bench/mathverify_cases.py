"""Our grader and plain math-verify on math-verify's own regression cases.

    python bench/mathverify_cases.py PATH/TO/Math-Verify/tests/test_all.py [--show-agreeing]

The cases stay in math-verify's repository: this script reads a local copy of its
`tests/test_all.py` and takes every `@pytest.mark.parametrize`d (gold, pred, expected)
case from the syntax tree (`ast`); nothing of that file is imported or executed. A
value that is not a literal is read by a small evaluator that knows only f-strings and
`math.<function>(<number>)`; a case it cannot read is skipped and counted.

Each case is graded twice:

- ours: `toolkit.grading.grade(pred, gold)` (extraction, normalisation, comparison, in
  process). Our gold is an answer, not a solution, so a gold written as a full solution is
  first cut down to its answer with `extract_answer`, as the benchmark loaders do;
- math-verify: `verify(parse(gold), parse(pred))` with the extraction targets, rounding and
  options that the case's own test function passes to its helper (read from the tree);
  also, as `mathverify_default_agree`, with its default extraction and options.

A case whose expected value depends on an option our grader does not have (it always
compares sets with relations, `allow_set_relation_comp=True`) is graded only under the
setting we use; the others are listed as "not applicable".

Prints the agreement counts, the cases we disagree on, our false accepts (equal where
expected is not), and, last, one JSON line
{"cases", "ours_agree", "mathverify_agree", "ours_false_accepts", ...}.
"""

from __future__ import annotations

import argparse
import ast
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import print_summary
from toolkit.grading import extract_answer, grade

# Options of math-verify's `verify` and the value our grader always behaves as.
OUR_OPTIONS = {"allow_set_relation_comp": True}
_HELPER_DEFAULTS: dict[str, Any] = {"match_types": ["latex", "expr"], "precision": 6, "strict": True,
                                    "allow_set_relation_comp": False}
_MATH_FUNCTIONS = {"sqrt", "exp", "log", "sin", "cos", "tan", "pi", "e"}


@dataclass
class Case:
    test: str
    gold: str
    pred: str
    expected: bool
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.test}: gold={self.gold[:60]!r} pred={self.pred[:80]!r}"


class Unreadable(ValueError):
    """A value the small evaluator does not know."""


def _value(node: ast.AST) -> Any:
    """A literal, an f-string or `math.f(number)`; anything else raises `Unreadable`."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    if isinstance(node, ast.JoinedStr):
        out = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                out.append(str(part.value))
            elif isinstance(part, ast.FormattedValue) and part.conversion == -1:
                spec = _value(part.format_spec) if part.format_spec is not None else ""
                out.append(format(_value(part.value), spec))
            else:
                raise Unreadable(ast.dump(part))
        return "".join(out)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "math"
            and node.func.attr in _MATH_FUNCTIONS and not node.keywords):
        args = [_value(a) for a in node.args]
        if all(isinstance(a, int | float) for a in args):
            return getattr(math, node.func.attr)(*args)
    raise Unreadable(ast.dump(node)[:120])


def _parametrize(decorator: ast.expr) -> tuple[list[str], ast.expr] | None:
    """(argument names, the node of the values) of `@pytest.mark.parametrize(names, values)`."""
    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "parametrize" and len(decorator.args) >= 2):
        return None
    names = _value(decorator.args[0])
    names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    return names, decorator.args[1]


def _helper_options(func: ast.FunctionDef) -> dict[str, Any]:
    """Keyword arguments of the helper call in the test body: a constant, or a parameter's name."""
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "compare_strings":
            options: dict[str, Any] = {}
            for kw in node.keywords:
                if isinstance(kw.value, ast.Name):
                    options[kw.arg] = ("param", kw.value.id)
                else:
                    options[kw.arg] = _value(kw.value)
            return options
    return {}


def load_cases(path: Path) -> tuple[list[Case], list[str]]:
    """Every parametrized (gold, pred, expected) case in the file, and what could not be read."""
    tree = ast.parse(path.read_text(), filename=str(path))
    cases: list[Case] = []
    skipped: list[str] = []
    for func in tree.body:
        if not isinstance(func, ast.FunctionDef):
            continue
        for decorator in func.decorator_list:
            found = _parametrize(decorator)
            if found is None:
                continue
            names, values = found
            if not {"gold", "pred", "expected"} <= set(names) or not isinstance(values, ast.List | ast.Tuple):
                continue
            helper = _helper_options(func)
            for row in values.elts:
                try:
                    if not isinstance(row, ast.Tuple) or len(row.elts) != len(names):
                        raise Unreadable("not a plain tuple of the parameters")
                    args = dict(zip(names, (_value(e) for e in row.elts), strict=True))
                except Unreadable as exc:
                    skipped.append(f"{func.name} line {row.lineno}: {exc}")
                    continue
                options = dict(_HELPER_DEFAULTS)
                for key, value in helper.items():
                    options[key] = args[value[1]] if isinstance(value, tuple) and value[0] == "param" else value
                cases.append(Case(func.name, str(args["gold"]), str(args["pred"]), bool(args["expected"]), options))
    return cases, skipped


def option_dependent(cases: list[Case]) -> list[Case]:
    """Cases whose expected value changes with an option our grader does not have.

    The same (gold, pred) expected both ways under different option values: only the
    one graded under our setting (`OUR_OPTIONS`) applies to us.
    """
    expected: dict[tuple[str, str], set[bool]] = {}
    for c in cases:
        expected.setdefault((c.gold, c.pred), set()).add(c.expected)
    return [c for c in cases if len(expected[(c.gold, c.pred)]) > 1
            and any(c.options.get(k) != v for k, v in OUR_OPTIONS.items())]


def ours(case: Case) -> bool:
    gold = extract_answer(case.gold) or case.gold
    return grade(case.pred, gold).equal


def math_verify(case: Case) -> bool:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    targets: list[Any] = []
    for kind in case.options["match_types"]:
        targets.append(LatexExtractionConfig(boxed_match_priority=0) if kind == "latex" else ExprExtractionConfig())
    try:
        gold = parse(case.gold, targets, parsing_timeout=None)
        pred = parse(case.pred, targets, parsing_timeout=None)
        return bool(verify(gold, pred, float_rounding=case.options["precision"], strict=case.options["strict"],
                           allow_set_relation_comp=case.options["allow_set_relation_comp"], timeout_seconds=None))
    except Exception:
        return False


def math_verify_default(case: Case) -> bool:
    """math-verify as usually called: default extraction and options."""
    from math_verify import parse, verify

    try:
        return bool(verify(parse(case.gold, parsing_timeout=None), parse(case.pred, parsing_timeout=None),
                           timeout_seconds=None))
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("test_file", type=Path, help="a local copy of Math-Verify's tests/test_all.py")
    parser.add_argument("--show-agreeing", action="store_true", help="also list the cases we grade as expected")
    args = parser.parse_args()

    cases, skipped = load_cases(args.test_file)
    not_applicable = option_dependent(cases)
    graded = [c for c in cases if c not in not_applicable]
    ours_results = [ours(c) for c in graded]
    mv_results = [math_verify(c) for c in graded]
    mv_default = [math_verify_default(c) for c in graded]

    disagree = [(c, o) for c, o in zip(graded, ours_results, strict=True) if o != c.expected]
    false_accepts = [c for c, o in disagree if o]
    mv_disagree = [c for c, m in zip(graded, mv_results, strict=True) if m != c.expected]

    print(f"cases read: {len(cases)}  graded: {len(graded)}  not applicable: {len(not_applicable)}  "
          f"unreadable: {len(skipped)}")
    for line in skipped:
        print(f"  unreadable  {line}")
    for c in not_applicable:
        print(f"  n/a ({', '.join(f'{k}={c.options.get(k)}' for k in OUR_OPTIONS)})  {c.name}")
    print(f"\nours disagrees with {len(disagree)}:")
    for c, o in disagree:
        print(f"  {'FALSE ACCEPT' if o else 'false reject'}  {c.name}  (graded {grade(c.pred, extract_answer(c.gold) or c.gold)})")
    print(f"\nmath-verify disagrees with {len(mv_disagree)}:")
    for c in mv_disagree:
        print(f"  expected {int(c.expected)}  {c.name}")
    if args.show_agreeing:
        print("\nours agrees with:")
        for c, o in zip(graded, ours_results, strict=True):
            if o == c.expected:
                print(f"  {int(o)}  {c.name}")
    print()
    summary = {
        "cases": len(graded),
        "ours_agree": len(graded) - len(disagree),
        "mathverify_agree": len(graded) - len(mv_disagree),
        "mathverify_default_agree": sum(m == c.expected for c, m in zip(graded, mv_default, strict=True)),
        "ours_false_accepts": len(false_accepts),
        "ours_false_rejects": len(disagree) - len(false_accepts),
        "ours_agreement": round((len(graded) - len(disagree)) / max(1, len(graded)), 4),
        "mathverify_agreement": round((len(graded) - len(mv_disagree)) / max(1, len(graded)), 4),
        "not_applicable": len(not_applicable),
        "unreadable": len(skipped),
    }
    print_summary(summary)


if __name__ == "__main__":
    main()
