"""What a finished stage hands back: a typed summary that can print and report itself.

Every stage returns one `StageSummary`. The run records it in `<run>/<stage>/_COMPLETE.json`
with `to_dict()` and reads it back with `from_dict()`; the run report is assembled from
each finished stage's `yield_rows()` and `markdown()`, and the CLI prints `rich(config)`.
So a stage's numbers are named once, in its summary, and rendered next to them.

Summaries and their stats are indexable by field name (`summary.stats["this_run"]["traces"]`)
as well as by attribute, so code written against the dicts they replace keeps working.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from rich.console import RenderableType


class Record(BaseModel):
    """A typed record that also reads like the dict it replaces: `r["key"]`, `r.get("key")`.

    Unknown keys are refused: a counter a job adds must be named here too, so nothing
    it computes is dropped on the way to a marker or a report.
    """

    model_config = ConfigDict(extra="forbid")

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in type(self).model_fields else default


class StageSummary(Record, ABC):
    """The common part of every stage's summary."""

    stage: ClassVar[str]  # the run's name for the stage: generate, backtranslate, train, eval

    output_dir: str
    wall_time_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: what `_COMPLETE.json` (and the stage's own summary file) records."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """A summary recorded by `to_dict`, typed again; fields added since it was written take their defaults."""
        return cls.model_validate(data)

    def yield_rows(self) -> list[list[Any]]:
        """This stage's rows in the run report's Yields table (stage, rows, yield); none by default."""
        return []

    def markdown(self) -> str:
        """This stage's own part of the run report ('' when the Yields rows say everything)."""
        return ""

    @abstractmethod
    def rich(self, config: Any) -> RenderableType:
        """What the stage's CLI command prints when it ends (`config`: the stage's config)."""


# ------------------------------------------------------------------------ markdown helpers


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub table with left-aligned columns, every value through str()."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def percent(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def rejecting_rows(
    label: str, rows_in: tuple[str, int], rows_out: tuple[str, int], rejected_by_reason: dict[str, int]
) -> list[list[Any]]:
    """Yields-table rows of a stage that rejects rows: what went in, what came out (and its share), each reason."""
    (in_name, count_in), (out_name, count_out) = rows_in, rows_out
    return [
        [f"{label}: {in_name}", count_in, ""],
        [f"{label}: {out_name}", count_out, percent(count_out, count_in)],
        *([f"{label}: rejected ({reason})", count, ""] for reason, count in sorted(rejected_by_reason.items())),
    ]
