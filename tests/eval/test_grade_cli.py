"""`tooldistill grade`: one JSON object per pair, in input order, through the real sandboxed Grader."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cluster.cli import app

runner = CliRunner()


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_grade_one_pair():
    result = runner.invoke(app, ["grade", "--pred", r"So the total is $\boxed{1,080}$ dollars.", "--gold", r"\$1080"])
    assert result.exit_code == 0, result.output
    assert _lines(result.output) == [{"equal": True, "pred": "1,080", "gold": "1080"}]
    wrong = runner.invoke(app, ["grade", "--pred", r"\boxed{\frac{1}{2006!}}", "--gold", r"\dfrac{1}{2004!}"])
    assert _lines(wrong.output) == [{"equal": False, "pred": r"\frac{1}{2006!}", "gold": r"\frac{1}{2004!}"}]


def test_grade_file_keeps_order_and_reports_bad_lines(tmp_path):
    rows = [
        {"pred": r"The answer is \boxed{(1, 2)}", "gold": "(1,2)"},
        {"pred": r"\boxed{(2, 1)}", "gold": "(1,2)"},
        "not json",
        {"pred": "Final Answer: The final answer is 28\\%. I hope it is correct.", "gold": "28"},
        {"gold": "5"},
        {"pred": r"\boxed{\text{(C)}}", "gold": "C"},
        {"pred": r"\boxed{4.5 \times 10^{3}}", "gold": 4500},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    result = runner.invoke(app, ["grade", "--file", str(path)])
    assert result.exit_code == 0, result.output
    out = _lines(result.output)
    assert len(out) == len(rows)
    assert [o["equal"] for o in out] == [True, False, False, True, False, True, True]
    assert out[0] == {"equal": True, "pred": "(1, 2)", "gold": "(1,2)"}
    assert out[2]["error"].startswith("line 3: not JSON") and out[4]["error"].startswith("line 5:")
    assert out[3]["pred"] == "28\\%" and out[3]["gold"] == "28"
    assert out[6]["gold"] == "4500"


def test_grade_needs_pred_and_gold_or_file(tmp_path):
    assert runner.invoke(app, ["grade", "--pred", "5"]).exit_code == 2
    assert runner.invoke(app, ["grade", "--file", str(tmp_path / "missing.jsonl")]).exit_code == 2
    both = runner.invoke(app, ["grade", "--pred", "5", "--gold", "5", "--file", "x.jsonl"])
    assert both.exit_code == 2
