"""Structured tool errors: what went wrong, and a hint a language model can act on."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorType(StrEnum):
    PARSE_ERROR = "parse_error"  # the text is not mathematics we can read
    FORBIDDEN = "forbidden"  # the text (or the code it reached) tried something not allowed
    INVALID_ARGUMENTS = "invalid_arguments"  # missing / extra / mistyped arguments
    UNKNOWN_TOOL = "unknown_tool"
    TOOL_ERROR = "tool_error"  # the mathematics failed (no solution, singular matrix, ...)
    TIMEOUT = "timeout"  # over the wall-clock deadline: the worker was killed
    MEMORY = "memory"  # over the memory cap, or a result that would be too large
    CRASH = "crash"  # the worker process died (signal, native abort)


class ToolError(Exception):
    """An error a tool call returns as a value: `{"error": {"type", "message", "hint"}}`."""

    def __init__(self, type: ErrorType, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.type = ErrorType(type)
        self.message = message
        self.hint = hint

    def to_json(self) -> dict[str, Any]:
        return error_payload(self.type, self.message, self.hint)


def error_payload(type: ErrorType | str, message: str, hint: str = "") -> dict[str, Any]:
    return {"error": {"type": str(ErrorType(type)), "message": message, "hint": hint}}


def parse_error(message: str, hint: str = "") -> ToolError:
    return ToolError(ErrorType.PARSE_ERROR, message, hint)


def forbidden(message: str, hint: str = "") -> ToolError:
    return ToolError(ErrorType.FORBIDDEN, message, hint)


def tool_error(message: str, hint: str = "") -> ToolError:
    return ToolError(ErrorType.TOOL_ERROR, message, hint)
