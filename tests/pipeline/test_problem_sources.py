"""Problem sources of the generation job: named training sets from the registry."""

from __future__ import annotations

import pytest

from pipeline.generate import GenerateConfig
from pipeline.problems.sources import dataset_rows, read_problems


def test_the_papers_training_sets_load_offline_with_prefixed_ids():
    rows = dataset_rows(["gsm8k_train", "math_train"], allow_hub=False)
    by_source: dict[str, list[dict]] = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    assert len(by_source["gsm8k_train"]) == 7473  # GSM8K's training split
    assert len(by_source["math_train"]) == 7500  # MATH's training split
    assert len({r["id"] for r in rows}) == len(rows)
    first = by_source["gsm8k_train"][0]
    assert first["answer"] == "72" and "Natalia" in first["problem"]  # the number after '####'
    # MATH answers come from the solution's last \boxed{}
    assert sum(bool(r["answer"]) for r in by_source["math_train"]) >= 7498


def test_dataset_source_needs_names():
    config = GenerateConfig.model_validate({"problems": {"kind": "dataset"}})
    assert config.problems.datasets == []
    with pytest.raises(ValueError, match="at least one set"):
        read_problems(config.problems)


def test_a_set_without_an_offline_copy_says_how_to_get_it():
    with pytest.raises(FileNotFoundError, match="no offline copy"):
        dataset_rows(["aime25"], allow_hub=False)  # hub-only: every other registered set is offline
