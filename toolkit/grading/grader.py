"""`Grader`: the comparison of `toolkit.grading.compare` run in the tool sandbox, under a deadline."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
from collections.abc import Iterable
from typing import Any

from toolkit.grading.compare import GradeResult, unevaluated_operator
from toolkit.grading.extract import extract_answer
from toolkit.grading.normalise import normalise_answer

log = logging.getLogger(__name__)

GRADING_TOOL = "grade_answer"
_SHOWN_CHARS = 1000


class Grader:
    """Grades answers in sandbox worker processes, each comparison under a hard deadline.

    >>> with Grader(workers=2, timeout_s=5) as grader:
    ...     grader.grade("... so the answer is $\\boxed{\\frac{1}{2}}$.", "0.5").equal
    True

    A comparison that runs past `timeout_s` (SymPy can spin for ever) or kills its worker
    is graded `equal=False, reason="timeout"`; nothing here raises or hangs. Workers
    start on first use (or `start()`); `close()` (or the context manager) stops them.
    """

    def __init__(self, workers: int | None = None, timeout_s: float = 5.0, **sandbox_options: Any) -> None:
        from toolkit.sandbox import Sandbox

        if workers is None:
            workers = max(1, min(4, os.cpu_count() or 1))
        options = {"output_limit": 16384, **sandbox_options}
        tool_modules = list(options.pop("tool_modules", []))
        if "toolkit.grading.worker_tools" not in tool_modules:
            tool_modules.append("toolkit.grading.worker_tools")
        self.timeout_s = float(timeout_s)
        self.sandbox = Sandbox(workers=workers, timeout_s=self.timeout_s, tool_modules=tool_modules, **options)

    # lifecycle
    def start(self) -> Grader:
        self.sandbox.start()
        return self

    def close(self) -> None:
        self.sandbox.close()

    def __enter__(self) -> Grader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Grader:
        await asyncio.get_running_loop().run_in_executor(None, self.sandbox.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def stats(self) -> dict[str, int]:
        return self.sandbox.stats()

    # grading
    @staticmethod
    def _string_match(pred_text: str | None, gold: str, extract: bool) -> GradeResult | None:
        """Equal normalised strings need no SymPy, so no worker round trip (string work only)."""
        pred = extract_answer(pred_text) if extract else pred_text
        if pred is None or gold is None or len(pred) > _SHOWN_CHARS:
            return None
        if unevaluated_operator(pred) and not unevaluated_operator(str(gold)):
            return None  # graded `unevaluated` by the full comparison
        if normalise_answer(pred) == normalise_answer(str(gold)) != "":
            return GradeResult(True, pred, str(gold), "string match")
        return None

    @staticmethod
    def _args(pred_text: str | None, gold: str, extract: bool) -> dict[str, Any]:
        return {"prediction": "" if pred_text is None else str(pred_text), "gold": "" if gold is None else str(gold),
                "extract": bool(extract)}

    @staticmethod
    def _result(payload: Any, pred_text: str | None, gold: str, extract: bool) -> GradeResult:
        gold = "" if gold is None else str(gold)
        result = payload.get("result") if isinstance(payload, dict) else None
        if isinstance(result, dict) and "equal" in result:
            return GradeResult(bool(result["equal"]), result.get("pred"), gold, str(result.get("reason", "")))
        # Cheap and safe in this process: no SymPy, only string scanning.
        try:
            pred = extract_answer(pred_text) if extract else (pred_text or None)
        except Exception:
            pred = None
        pred = pred[:_SHOWN_CHARS] if isinstance(pred, str) else pred
        error = payload.get("error") if isinstance(payload, dict) else None
        kind = error.get("type") if isinstance(error, dict) else None
        if kind in ("timeout", "crash", "memory") or error is None:
            return GradeResult(False, pred, gold, "timeout")
        return GradeResult(False, pred, gold, f"error: {error.get('message', kind)}"[:300])

    def grade(
        self, pred_text: str | None, gold: str, extract: bool = True, timeout_s: float | None = None
    ) -> GradeResult:
        """Grade one prediction text against a gold answer (blocks; thread-safe).

        `timeout_s` shortens this call's deadline (it cannot exceed the Grader's).
        """
        quick = None if self.sandbox.closed else self._string_match(pred_text, gold, extract)
        if quick is not None:
            return quick
        try:
            payload = self.sandbox.call_sync(GRADING_TOOL, self._args(pred_text, gold, extract), timeout_s)
        except Exception as exc:  # the sandbox failed to start, or was closed under us
            log.warning("grading failed: %s", exc)
            payload = {"error": {"type": "crash", "message": str(exc)}}
        return self._result(payload, pred_text, gold, extract)

    async def agrade(
        self, pred_text: str | None, gold: str, extract: bool = True, timeout_s: float | None = None
    ) -> GradeResult:
        """The asyncio form of `grade`; never blocks the event loop."""
        quick = None if self.sandbox.closed else self._string_match(pred_text, gold, extract)
        if quick is not None:
            return quick
        try:
            payload = await self.sandbox.call(GRADING_TOOL, self._args(pred_text, gold, extract), timeout_s)
        except Exception as exc:
            log.warning("grading failed: %s", exc)
            payload = {"error": {"type": "crash", "message": str(exc)}}
        return self._result(payload, pred_text, gold, extract)

    async def agrade_many(self, pairs: Iterable[tuple[str | None, str]], extract: bool = True) -> list[GradeResult]:
        """Grade many (prediction text, gold) pairs concurrently; results in input order."""
        return list(await asyncio.gather(*(self.agrade(p, g, extract) for p, g in pairs)))

    def grade_many(self, pairs: Iterable[tuple[str | None, str]], extract: bool = True) -> list[GradeResult]:
        """Grade many pairs concurrently (through asyncio); works inside a running event loop too."""
        pairs = list(pairs)
        if not pairs:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.agrade_many(pairs, extract))
        # Called from inside an event loop (a notebook, an async actor): run on a helper thread.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="grade-many") as pool:
            return pool.submit(asyncio.run, self.agrade_many(pairs, extract)).result()
