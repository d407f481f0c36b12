"""Generation and back-translation of the demo's problems write exactly the rows they should
(content hashes of the sorted rows, timings and scheduling-dependent tool-call ids left out;
see content_hash.py).

before_redesign.json holds the rows of commit ca393a8, before the redesign of issue 11.
expected_rows.json is what the code writes now: traces and rejects are unchanged; 8 of the
479 SFT rows differ, because the leak filter no longer cuts ordinary sentences such as
"I evaluate the definite integral exactly." from a solution's plan (with the old filter
swapped back in, the redesigned jobs write all 479 SFT rows exactly as before).
Issue 14 changed every SFT row on purpose (traces and rejects are unchanged): the user turn
is now the prompt contract's (`pipeline.student_prompt.student_messages`, the evaluation's
prompt) instead of the bare problem, and derivations write intermediate values (shoelace
products, 3×3 cofactor terms, power-sum parts, the discriminant's two terms).

If a deliberate change alters these rows (new synthetic families, new derivations), say so
in the change and regenerate expected_rows.json with content_hash.py.
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
    assert run_hashes(str(run)) == json.loads((HERE / "expected_rows.json").read_text())
