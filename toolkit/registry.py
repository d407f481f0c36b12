"""The tool registry: typed functions in, OpenAI function-calling schemas and safe calls out.

A tool is a plain Python function decorated with `@tool("category")`. Its parameters are
annotated either with a *kind* (`Expression`, `Equation`, `Matrix`, ...: text a model
writes, parsed by `toolkit.parse` before the function sees it) or with an ordinary type
(`int`, `bool`, `Literal[...]`, validated by pydantic). The JSON schema, the argument
checking and the error messages are all derived from the signature and the docstring, so
a tool is written once.
"""

from __future__ import annotations

import difflib
import inspect
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import pydantic
import sympy as sp

from toolkit import parse as P
from toolkit.errors import ErrorType, ToolError, error_payload
from toolkit.results import make_result

CATEGORIES = (
    "algebra",
    "equations",
    "inequalities",
    "calculus",
    "linear_algebra",
    "number_theory",
    "combinatorics",
    "geometry",
)


class Kind(StrEnum):
    EXPRESSION = "expression"
    EQUATION = "equation"
    RELATION = "relation"
    SYMBOL = "symbol"
    MATRIX = "matrix"
    VECTOR = "vector"
    EXPRESSIONS = "expressions"
    EQUATIONS = "equations"
    RELATIONS = "relations"
    SYMBOLS = "symbols"
    SUBSTITUTIONS = "substitutions"


# Annotations for tool parameters. The model sends strings (or numbers, or lists of them).
Expression = Annotated[str, Kind.EXPRESSION]
Equation = Annotated[str, Kind.EQUATION]
Relation = Annotated[str, Kind.RELATION]
Symbol = Annotated[str, Kind.SYMBOL]
Matrix = Annotated[list, Kind.MATRIX]
Vector = Annotated[list, Kind.VECTOR]
Expressions = Annotated[list, Kind.EXPRESSIONS]
Equations = Annotated[list, Kind.EQUATIONS]
Relations = Annotated[list, Kind.RELATIONS]
Symbols = Annotated[list, Kind.SYMBOLS]
Substitutions = Annotated[dict, Kind.SUBSTITUTIONS]

_STRING_LIST = {"type": "array", "items": {"type": "string"}}
_KIND_SCHEMA: dict[Kind, dict[str, Any]] = {
    Kind.EXPRESSION: {"type": "string"},
    Kind.EQUATION: {"type": "string"},
    Kind.RELATION: {"type": "string"},
    Kind.SYMBOL: {"type": "string"},
    Kind.MATRIX: {"type": "array", "items": _STRING_LIST},
    Kind.VECTOR: _STRING_LIST,
    Kind.EXPRESSIONS: _STRING_LIST,
    Kind.EQUATIONS: _STRING_LIST,
    Kind.RELATIONS: _STRING_LIST,
    Kind.SYMBOLS: _STRING_LIST,
    Kind.SUBSTITUTIONS: {"type": "object", "additionalProperties": {"type": "string"}},
}


def _parse_each(parser: Callable[..., Any]) -> Callable[[Any, str], list[Any]]:
    def parse_items(value: Any, what: str) -> list[Any]:
        if isinstance(value, str):
            value = [v for v in _split_top_level(value) if v.strip()]
        if not isinstance(value, list | tuple) or not value:
            raise P.parse_error(f"{what} must be a non-empty list", 'Example: ["x + y = 3", "x - y = 1"]')
        return [parser(v, what=f"{what}[{i}]") for i, v in enumerate(value)]

    return parse_items


def _split_top_level(text: str) -> list[str]:
    """Split "a, b, f(c, d)" at commas outside brackets (a list given as one string)."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


_KIND_PARSERS: dict[Kind, Callable[[Any, str], Any]] = {
    Kind.EXPRESSION: lambda v, what: P.parse_expression(v, what=what),
    Kind.EQUATION: lambda v, what: P.parse_equation(v, what=what),
    Kind.RELATION: lambda v, what: P.parse_relation(v, what=what),
    Kind.SYMBOL: lambda v, what: P.parse_symbol(v, what=what),
    Kind.MATRIX: lambda v, what: P.parse_matrix(v, what=what),
    Kind.VECTOR: lambda v, what: P.parse_vector(v, what=what),
    Kind.EXPRESSIONS: _parse_each(P.parse_expression),
    Kind.EQUATIONS: _parse_each(P.parse_equation),
    Kind.RELATIONS: _parse_each(P.parse_relation),
    Kind.SYMBOLS: _parse_each(P.parse_symbol),
    Kind.SUBSTITUTIONS: lambda v, what: P.parse_substitutions(v, what=what),
}


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    required: bool
    default: Any
    kind: Kind | None  # a parsed mathematical argument
    annotation: Any  # the Python type, for plain (non-kind) arguments
    json_schema: dict[str, Any]

    def convert(self, value: Any) -> Any:
        if self.kind is not None:
            return _KIND_PARSERS[self.kind](value, self.name)
        try:
            return _adapter(self.annotation).validate_python(value)
        except pydantic.ValidationError as exc:
            problem = exc.errors()[0]["msg"] if exc.errors() else str(exc)
            raise ToolError(
                ErrorType.INVALID_ARGUMENTS,
                f"argument '{self.name}': {problem} (got {value!r})",
                f"'{self.name}' must match {self.json_schema}.",
            ) from None


_ADAPTERS: dict[Any, pydantic.TypeAdapter] = {}


def _adapter(annotation: Any) -> pydantic.TypeAdapter:
    key = repr(annotation)
    if key not in _ADAPTERS:
        _ADAPTERS[key] = pydantic.TypeAdapter(annotation)
    return _ADAPTERS[key]


@dataclass(frozen=True)
class Tool:
    name: str
    category: str
    description: str
    params: tuple[Param, ...]
    func: Callable[..., Any] = field(repr=False)

    def parameters_schema(self) -> dict[str, Any]:
        properties = {}
        for p in self.params:
            prop = dict(p.json_schema)
            prop["description"] = p.description
            if not p.required and p.default is not None:
                prop["default"] = p.default
            properties[p.name] = prop
        return {
            "type": "object",
            "properties": properties,
            "required": [p.name for p in self.params if p.required],
            "additionalProperties": False,
        }

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters_schema()},
        }

    def catalogue_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "parameters": self.parameters_schema(),
        }

    def bind(self, arguments: Any) -> dict[str, Any]:
        """Check and parse the model's arguments into what the function takes."""
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise ToolError(
                ErrorType.INVALID_ARGUMENTS,
                f"arguments must be a JSON object, got {type(arguments).__name__}",
                f"Call {self.name} with {self._signature_hint()}.",
            )
        known = {p.name for p in self.params}
        unknown = sorted(set(arguments) - known)
        if unknown:
            raise ToolError(
                ErrorType.INVALID_ARGUMENTS,
                f"{self.name} has no argument(s) {', '.join(map(repr, unknown))}",
                f"Call {self.name} with {self._signature_hint()}.",
            )
        missing = [p.name for p in self.params if p.required and p.name not in arguments]
        if missing:
            raise ToolError(
                ErrorType.INVALID_ARGUMENTS,
                f"{self.name} is missing argument(s) {', '.join(map(repr, missing))}",
                f"Call {self.name} with {self._signature_hint()}.",
            )
        bound = {}
        for p in self.params:
            if p.name in arguments and not (arguments[p.name] is None and not p.required):
                bound[p.name] = p.convert(arguments[p.name])
            elif p.kind is not None and p.default is not None:
                bound[p.name] = p.convert(p.default)  # a default such as "n" is text too
            else:
                bound[p.name] = p.default
        return bound

    def run(self, arguments: Any) -> Any:
        return self.func(**self.bind(arguments))

    def _signature_hint(self) -> str:
        parts = [p.name if p.required else f"{p.name} (optional)" for p in self.params]
        return "{" + ", ".join(parts) + "}"


_REGISTRY: dict[str, Tool] = {}


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Google-style docstring -> (description, {arg: text})."""
    doc = inspect.cleandoc(doc or "")
    head, _, rest = doc.partition("\nArgs:\n")
    description = " ".join(head.split())
    args: dict[str, str] = {}
    current = None
    for line in rest.splitlines():
        if re.match(r"^(Returns|Raises|Examples?|Notes?):", line):
            break
        m = re.match(r"^\s{2,8}(\w+)(?: \([^)]*\))?:\s*(.*)$", line)
        if m:
            current = m.group(1)
            args[current] = m.group(2).strip()
        elif current and line.strip():
            args[current] += " " + line.strip()
    return description, args


def _kind_of(annotation: Any) -> Kind | None:
    """The parse kind of `Expression`, `Expression | None`, ...; None for plain types."""
    if get_origin(annotation) is Annotated:
        return next((m for m in get_args(annotation)[1:] if isinstance(m, Kind)), None)
    if get_origin(annotation) in (Union, UnionType):
        kinds = [_kind_of(a) for a in get_args(annotation) if a is not type(None)]
        return kinds[0] if len(kinds) == 1 else None
    return None


def _param_from(name: str, annotation: Any, default: Any, doc: str, tool_name: str) -> Param:
    kind = _kind_of(annotation)
    if not doc:
        raise TypeError(f"tool {tool_name}: parameter '{name}' has no description in Args:")
    if kind is not None:
        schema = dict(_KIND_SCHEMA[kind])
    else:
        schema = _adapter(annotation).json_schema()
        schema.pop("title", None)
    required = default is inspect.Parameter.empty
    return Param(
        name=name,
        description=doc,
        required=required,
        default=None if required else default,
        kind=kind,
        annotation=annotation,
        json_schema=schema,
    )


def tool(category: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as a tool in `category`; its name is the function's name.

    The built-in categories are `CATEGORIES`; extension modules (loaded into sandbox
    workers through `SandboxConfig.tool_modules`) may add their own.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", category):
        raise ValueError(f"category must be a lower-case identifier, got {category!r}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        name = func.__name__
        if name in _REGISTRY:
            raise ValueError(f"tool {name!r} registered twice")
        description, arg_docs = _parse_docstring(func.__doc__ or "")
        if not description:
            raise TypeError(f"tool {name} needs a docstring")
        hints = get_type_hints(func, include_extras=True)
        params = tuple(
            _param_from(p.name, hints.get(p.name, Any), p.default, arg_docs.get(p.name, ""), name)
            for p in inspect.signature(func).parameters.values()
        )
        _REGISTRY[name] = Tool(name, category, description, params, func)
        return func

    return register


def _load_builtin_tools() -> None:
    import toolkit.tools  # noqa: F401  (registers every category on import)


def all_tools() -> dict[str, Tool]:
    _load_builtin_tools()
    return dict(_REGISTRY)


def get_tool(name: str) -> Tool:
    tools = all_tools()
    if name not in tools:
        close = difflib.get_close_matches(str(name), tools, n=3)
        hint = f"Did you mean {', '.join(close)}?" if close else "List the available tools and pick one."
        raise ToolError(ErrorType.UNKNOWN_TOOL, f"there is no tool named {name!r}", hint)
    return tools[name]


def select_tools(categories: Iterable[str] | None = None, names: Iterable[str] | None = None) -> list[Tool]:
    """Tools in the given categories and/or with the given names (all tools if both are None)."""
    tools = all_tools()
    if categories is None and names is None:
        return list(tools.values())
    categories = set(categories or ())
    names = set(names or ())
    bad = categories - {t.category for t in tools.values()}
    if bad:
        raise ValueError(f"unknown categories {sorted(bad)}; choose from {CATEGORIES}")
    missing = names - set(tools)
    if missing:
        raise ValueError(f"unknown tools {sorted(missing)}")
    return [t for t in tools.values() if t.category in categories or t.name in names]


def openai_tools(categories: Iterable[str] | None = None, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The OpenAI function-calling `tools=[...]` list for a subset of the toolkit."""
    return [t.openai_schema() for t in select_tools(categories, names)]


def execute(name: str, arguments: Any) -> dict[str, Any]:
    """Run one tool call in this process and return its JSON payload (never raises for bad input).

    This is what sandbox workers run; call it directly only for trusted, in-process use
    such as tests and benchmarks.
    """
    try:
        return make_result(get_tool(name).run(arguments))
    except ToolError as exc:
        return exc.to_json()
    except MemoryError:
        return error_payload(ErrorType.MEMORY, "the computation ran out of memory", "Try a smaller input.")
    except RecursionError:
        return error_payload(ErrorType.TOOL_ERROR, "the computation nested too deeply", "Try a simpler input.")
    except PermissionError as exc:
        return error_payload(ErrorType.FORBIDDEN, f"not allowed in the sandbox: {exc}", "Tools only compute.")
    except sp.polys.polyerrors.BasePolynomialError as exc:
        return error_payload(
            ErrorType.TOOL_ERROR, f"not a polynomial problem: {exc}", "Check that the input is a polynomial in the variable."
        )
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            return error_payload(
                ErrorType.TOOL_ERROR,
                f"the result has more than {sys.get_int_max_str_digits()} digits",
                "Ask for it modulo a number, or for its number of digits, instead.",
            )
        return _failure(name, exc)
    except (TypeError, ZeroDivisionError, ArithmeticError, NotImplementedError, AttributeError,
            IndexError, KeyError, sp.SympifyError) as exc:
        return _failure(name, exc)


def _failure(name: str, exc: Exception) -> dict[str, Any]:
    return error_payload(
        ErrorType.TOOL_ERROR,
        f"{type(exc).__name__}: {str(exc)[:500]}",
        f"Check the arguments against {name}'s description, or try another tool.",
    )


def timed_execute(name: str, arguments: Any) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    payload = execute(name, arguments)
    return payload, time.perf_counter() - start
