"""The redesign changed no row: generation and back-translation of the demo's problems
write the same traces, rejects and SFT rows as before it (content hashes of the sorted
rows, timings and scheduling-dependent tool-call ids left out; see content_hash.py).

If a deliberate change alters these rows (new synthetic families, new derivations), say
so in the change and regenerate before_redesign.json with content_hash.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pipeline.backtranslate import BacktranslateConfig, run_backtranslate
from pipeline.generate import GenerateConfig, run_generate
from tests.golden.content_hash import run_hashes

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
def test_generation_and_backtranslation_write_the_rows_they_wrote_before_the_redesign(tmp_path, ray_local):
    sections = yaml.safe_load((HERE / "golden.yaml").read_text())
    run = tmp_path / "golden"
    generate = GenerateConfig.model_validate({**sections["generate"], "output_dir": str(run / "generate")})
    run_generate(generate, progress=False)
    backtranslate = BacktranslateConfig.model_validate(
        {**sections["backtranslate"], "traces_dir": str(run / "generate"), "output_dir": str(run / "backtranslate")}
    )
    run_backtranslate(backtranslate, progress=False)
    assert run_hashes(str(run)) == json.loads((HERE / "before_redesign.json").read_text())
