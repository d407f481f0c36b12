"""Clean inputs: normalisation, deduplication keys and decontamination against real benchmarks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.problems.benchmarks import OFFLINE_BENCHMARKS, load_benchmark
from pipeline.problems.clean import ContaminationIndex, check_row, normalise_text, text_hash
from pipeline.records import RejectReason

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_normalisation_ignores_markup_and_spacing():
    a = "Find $\\frac{1}{2} + x$ when   $x = 3$."
    b = "find \\dfrac{1}{2}+x when x=3"
    assert normalise_text(a) == normalise_text(b)
    assert text_hash(a) == text_hash(b)
    assert text_hash(a) != text_hash("Find 1/2 + x when x = 4.")


def test_offline_benchmarks_load():
    assert set(OFFLINE_BENCHMARKS) >= {"math500", "gsm8k"}
    math500 = load_benchmark("math500", allow_hub=False)
    assert len(math500) == 500 and all(item.problem and item.answer for item in math500)
    gsm8k = load_benchmark("gsm8k", allow_hub=False)
    assert len(gsm8k) == 1319 and gsm8k[0].answer == "18"


@pytest.mark.skipif(not SHARED.exists(), reason="shared data bundle not present")
def test_local_benchmark_files_load():
    aime = load_benchmark(str(SHARED / "aime24.jsonl"))
    assert len(aime) == 30 and aime[0].id.startswith("aime24-")


def test_decontamination_catches_exact_and_reworded_problems():
    index = ContaminationIndex.from_benchmarks(["math500"], ngram=13)
    item = next(i for i in load_benchmark("math500") if len(normalise_text(i.problem).split()) > 40)
    assert index.match(item.problem).kind == "exact"
    words = item.problem.split(" ")
    words[1] = "Kindly"  # a light rewording near the start keeps long spans intact
    reworded = " ".join(words) + " Show your work."
    match = index.match(reworded)
    assert match is not None and match.benchmark == "math500" and match.item_id == item.id and match.kind == "13-gram"
    assert index.match("Compute the derivative of x^3 + 2x at x = 1, then add seven to the result please.") is None


def test_row_checks():
    assert check_row({"id": "1", "problem": "p", "answer": "2"}) is None
    assert check_row({"id": "", "problem": "p", "answer": "2"})[0] == RejectReason.INVALID_ROW
    assert check_row({"id": "1", "problem": " ", "answer": "2"})[0] == RejectReason.INVALID_ROW
    assert check_row({"id": "1", "problem": "p", "answer": ""})[0] == RejectReason.NO_REFERENCE_ANSWER
    assert check_row({"id": "1", "problem": "p", "answer": None}, require_answer=False) is None


def test_held_out_synthetic_problems_are_matched_by_text_not_by_shared_wording():
    from pipeline.problems.clean import ContaminationIndex, HeldoutSynthetic
    from pipeline.synthetic import generate_problems

    held = HeldoutSynthetic(count=12, seed=777, families=["limit", "quadratic"])
    index = ContaminationIndex.from_benchmarks([], heldout=[held])
    same = generate_problems(12, seed=777, families=["limit", "quadratic"])
    other = generate_problems(40, seed=0, families=["limit", "quadratic"])
    # a held-out problem is caught however it is spaced or marked up ...
    found = index.match("  " + same[3].problem.replace(" ", "  ") + " ")
    assert found is not None and found.kind == "exact" and found.item_id == same[3].id
    # ... while training problems of the same families and phrasings (shared n-grams) are not
    texts = {p.problem for p in same}
    assert all((index.match(p.problem) is not None) == (p.problem in texts) for p in other)


def test_a_run_keeps_its_held_out_set_out_of_training(tmp_path):
    import yaml

    from cluster.config import load_config
    from cluster.run_config import RunConfig

    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({
        "name": "heldout", "output_dir": str(tmp_path / "run"),
        "generate": {"problems": {"kind": "synthetic", "count": 8, "families": ["limit"]}},
        "backtranslate": {}, "train": {},
        "eval": {"benchmarks": [{"name": "h", "synthetic": {"count": 5, "seed": 31, "families": ["limit"]}},
                                {"name": "gsm8k", "limit": 2}]},
    }))
    held = load_config(path, RunConfig).generate.clean.heldout_synthetic
    assert [(h.count, h.seed, h.families) for h in held] == [(5, 31, ["limit"])]
