"""The reader behind `toolkit.parse`: text → tokens → rewritten tokens → a vetted AST,
interpreted node by node against a whitelist of SymPy names.

Nothing here evaluates Python: the text is tokenised, rewritten (``^``, ``|x|``, ``n!``,
implicit products), parsed into a Python AST and *interpreted* node by node against a
whitelist. Anything that is not mathematics — attributes, dunders, imports, lambdas,
strings, calls to names that are not mathematical functions — is rejected with a hint
the model can act on. LaTeX (anything with a backslash) goes through latex2sympy2_extended,
which builds SymPy objects from a grammar and evaluates nothing either.
"""

from __future__ import annotations

import ast
import io
import keyword
import math
import re
import tokenize
from collections.abc import Callable, Iterable
from typing import Any

import sympy as sp

from toolkit.errors import ErrorType, ToolError, forbidden, parse_error

MAX_TEXT_CHARS = 4000
MAX_AST_NODES = 3000
MAX_RESULT_DIGITS = 100_000  # an integer power or factorial larger than this is refused up front

SYNTAX_HINT = (
    "Write plain SymPy-style mathematics: ** or ^ for powers, * for products (2x is read as 2*x), "
    "sqrt(x), Abs(x) or |x|, pi, E, I, oo, Eq(lhs, rhs) or lhs = rhs for equations, "
    "lists [[1, 2], [3, 4]] for matrices and [x, y] for points."
)

CONSTANTS: dict[str, sp.Basic] = {
    "pi": sp.pi,
    "E": sp.E,
    "e": sp.E,
    "I": sp.I,
    "oo": sp.oo,
    "inf": sp.oo,
    "infinity": sp.oo,
    "Infinity": sp.oo,
}


def _log(x: sp.Basic, base: sp.Basic | None = None) -> sp.Basic:
    return sp.log(x) if base is None else sp.log(x, base)


def _eq(lhs: sp.Basic, rhs: sp.Basic = sp.Integer(0)) -> sp.Basic:
    return sp.Eq(lhs, rhs)


def _matrix(rows: Any) -> sp.Matrix:
    return sp.Matrix(rows)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": sp.sqrt,
    "cbrt": sp.cbrt,
    "root": sp.root,
    "exp": sp.exp,
    "log": _log,
    "ln": sp.log,
    "log10": lambda x: sp.log(x, 10),
    "log2": lambda x: sp.log(x, 2),
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "cot": sp.cot,
    "sec": sp.sec,
    "csc": sp.csc,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "acot": sp.acot,
    "asec": sp.asec,
    "acsc": sp.acsc,
    "arcsin": sp.asin,
    "arccos": sp.acos,
    "arctan": sp.atan,
    "atan2": sp.atan2,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "asinh": sp.asinh,
    "acosh": sp.acosh,
    "atanh": sp.atanh,
    "Abs": sp.Abs,
    "abs": sp.Abs,
    "sign": sp.sign,
    "floor": sp.floor,
    "ceiling": sp.ceiling,
    "ceil": sp.ceiling,
    "factorial": sp.factorial,
    "binomial": sp.binomial,
    "gamma": sp.gamma,
    "Min": sp.Min,
    "Max": sp.Max,
    "min": sp.Min,
    "max": sp.Max,
    "gcd": sp.gcd,
    "lcm": sp.lcm,
    "Mod": sp.Mod,
    "mod": sp.Mod,
    "re": sp.re,
    "im": sp.im,
    "conjugate": sp.conjugate,
    "arg": sp.arg,
    "Eq": _eq,
    "Ne": sp.Ne,
    "Lt": sp.Lt,
    "Le": sp.Le,
    "Gt": sp.Gt,
    "Ge": sp.Ge,
    "Rational": sp.Rational,
    "Matrix": _matrix,
}

# Function names that are ordinary variable names when not called (angles in triangles).
_BARE_NAMES_ARE_SYMBOLS = {"gamma", "beta"}

# Names that only ever appear in attempts to reach Python itself: refused as such.
DANGEROUS_NAMES = {
    "eval", "exec", "compile", "open", "input", "getattr", "setattr", "delattr", "hasattr",
    "globals", "locals", "vars", "dir", "type", "object", "help", "exit", "quit", "breakpoint",
    "os", "sys", "subprocess", "builtins", "importlib", "memoryview", "bytearray", "bytes",
    "classmethod", "staticmethod", "super", "property", "sympify", "parse_expr", "lambdify",
}

_UNICODE = {
    "−": "-", "–": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/", "≤": "<=", "≥": ">=",
    "≠": "!=", "∞": "oo", "π": "pi", "²": "**2", "³": "**3", "θ": "theta", "α": "alpha",
    "β": "beta", "γ": "gamma", "φ": "phi", "λ": "lamda", "μ": "mu", "σ": "sigma", "ω": "omega",
}
_SQRT_SIGN = re.compile(r"√\s*(\d+(?:\.\d+)?|[A-Za-z_]\w*)")
_LONE_EQUALS = re.compile(r"(?<![<>=!])=(?!=)")


# --------------------------------------------------------------------------- text stage


def _check_text(text: Any, what: str) -> str:
    if isinstance(text, bool) or text is None:
        raise parse_error(f"{what} must be a string of mathematics, got {text!r}", SYNTAX_HINT)
    if isinstance(text, int | float):
        return repr(text)
    if not isinstance(text, str):
        raise parse_error(f"{what} must be a string, got {type(text).__name__}", SYNTAX_HINT)
    text = text.strip()
    if not text:
        raise parse_error(f"{what} is empty", SYNTAX_HINT)
    if len(text) > MAX_TEXT_CHARS:
        raise parse_error(
            f"{what} is {len(text)} characters long (limit {MAX_TEXT_CHARS})",
            "Split the problem into smaller expressions.",
        )
    return text


def _replace_abs_bars(text: str) -> str:
    """`|x - 1|` -> `Abs(x - 1)`: a bar opens where an operand cannot end, else it closes."""
    if "|" not in text:
        return text
    out: list[str] = []
    depth = 0
    previous = ""  # last non-space character emitted from the source
    for ch in text:
        if ch == "|":
            just_opened = bool(out) and out[-1] == "Abs("
            can_close = depth > 0 and previous not in "+-*/^(,[=<>" and not just_opened
            if can_close:
                out.append(")")
                depth -= 1
            else:
                out.append("Abs(")
                depth += 1
            previous = "|"
            continue
        out.append(ch)
        if not ch.isspace():
            previous = ch
    if depth:
        raise parse_error("unbalanced absolute-value bars '|'", "Write Abs(x) instead of |x|.")
    return "".join(out)


def _normalise(text: str) -> str:
    text = text.replace("\n", " ").replace("\t", " ")
    if text.startswith("$") and text.endswith("$"):
        text = text.strip("$").strip()
    text = _SQRT_SIGN.sub(r"sqrt(\1)", text)
    text = text.replace("√", "sqrt")
    for src, dst in _UNICODE.items():
        text = text.replace(src, dst)
    text = text.replace("^", "**")
    return _replace_abs_bars(text)


# -------------------------------------------------------------------------- token stage


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise parse_error(f"cannot read {text!r}: {exc}", SYNTAX_HINT) from None
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT}
    return [t for t in tokens if t.type not in skip]


def _vet_token(tok: tokenize.TokenInfo) -> None:
    kind, s = tok.type, tok.string
    if kind == tokenize.STRING or (kind == tokenize.ERRORTOKEN and s in {"'", '"'}):
        raise forbidden("string literals are not allowed", "Pass mathematics only, e.g. x**2 - 1.")
    if kind == tokenize.COMMENT:
        raise forbidden("comments ('#') are not allowed", SYNTAX_HINT)
    if kind == tokenize.NAME:
        if keyword.iskeyword(s) or s in {"True", "False", "None"}:
            raise forbidden(
                f"the Python keyword '{s}' is not allowed",
                "Only mathematical expressions are accepted (no lambda, import, if, for, ...).",
            )
        if s.startswith("_"):
            raise forbidden(f"names starting with '_' are not allowed ({s!r})", SYNTAX_HINT)
        if s in DANGEROUS_NAMES:
            raise forbidden(f"'{s}' is not a mathematical name", SYNTAX_HINT)
    if kind == tokenize.OP and s in {".", ":", ";", "@", "{", "}", ":=", "->", "...", "~", "&", "<<", ">>"}:
        what = "attribute access" if s == "." else f"the symbol '{s}'"
        raise forbidden(f"{what} is not allowed", SYNTAX_HINT)
    if kind == tokenize.ERRORTOKEN and s.strip() and s != "!":
        raise parse_error(f"unexpected character {s!r}", SYNTAX_HINT)


def _is_function_name(s: str, functions: Iterable[str]) -> bool:
    return s in FUNCTIONS or s in functions


def _wrap_factorials(strings: list[str]) -> list[str]:
    """`n!` -> `factorial(n)` and `(n+1)!` -> `factorial((n+1))`."""
    out: list[str] = []
    for i, s in enumerate(strings):
        if s != "!":
            out.append(s)
            continue
        if i + 1 < len(strings) and strings[i + 1] == "=":
            raise parse_error("'!=' must be written without a space", SYNTAX_HINT)
        if not out:
            raise parse_error("'!' must follow a number, a name or a bracket", SYNTAX_HINT)
        start = len(out) - 1
        if out[start] == ")":
            depth = 0
            while start >= 0:
                depth += out[start] == ")"
                depth -= out[start] == "("
                if depth == 0:
                    break
                start -= 1
            if start > 0 and re.fullmatch(r"[A-Za-z]\w*", out[start - 1]):
                start -= 1
        out[start:] = ["factorial", "(", *out[start:], ")"]
    return out


def _insert_products(strings: list[str], functions: Iterable[str]) -> list[str]:
    """Insert `*` for implicit products: `2x`, `2(x+1)`, `(a)(b)`, `x y`, `x(x+1)`."""
    out: list[str] = []

    def is_atom_end(s: str) -> bool:
        return s == ")" or bool(re.fullmatch(r"[\w.]+", s))

    def is_atom_start(s: str) -> bool:
        return s == "(" or bool(re.fullmatch(r"\w[\w.]*", s))

    for s in strings:
        if out and is_atom_end(out[-1]) and is_atom_start(s):
            prev = out[-1]
            prev_is_number = prev[0].isdigit() or prev[0] == "."
            this_is_number = s[0].isdigit() or s[0] == "."
            if s == "(" and re.fullmatch(r"[A-Za-z]\w*", prev):
                if _is_function_name(prev, functions):
                    out.append(s)
                    continue
                if len(prev) > 1 and prev not in CONSTANTS:
                    raise parse_error(
                        f"unknown function '{prev}'",
                        f"Allowed functions: {', '.join(sorted(FUNCTIONS))}. "
                        f"For a product write {prev}*(...).",
                    )
            if not (prev_is_number and this_is_number):
                out.append("*")
        out.append(s)
    return out


# ---------------------------------------------------------------------------- AST stage


class _Interpreter:
    """Walks a Python AST of an expression and builds SymPy objects from a whitelist."""

    def __init__(self, functions: Iterable[str] = ()) -> None:
        self.functions = set(functions)
        self.nodes = 0

    def run(self, node: ast.AST) -> Any:
        self.nodes += 1
        if self.nodes > MAX_AST_NODES:
            raise parse_error("expression too large", "Break it into smaller pieces.")
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise forbidden(f"{type(node).__name__} syntax is not allowed", SYNTAX_HINT)
        return method(node)

    def visit_Expression(self, node: ast.Expression) -> Any:
        return self.run(node.body)

    def visit_Constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool) or value is None or isinstance(value, str | bytes):
            raise forbidden(f"the literal {value!r} is not allowed", SYNTAX_HINT)
        if isinstance(value, int):
            return sp.Integer(value)
        if isinstance(value, float):
            # Decimals are read exactly (0.1 == 1/10): models write decimals for exact values.
            return sp.Rational(repr(value))
        raise parse_error(f"the literal {value!r} is not supported", "Write complex numbers with I, e.g. 2 + 3*I.")

    def visit_Name(self, node: ast.Name) -> Any:
        name = node.id
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS and name not in _BARE_NAMES_ARE_SYMBOLS:
            raise parse_error(f"'{name}' is a function: call it, e.g. {name}(x)", SYNTAX_HINT)
        if len(name) > 30:
            raise parse_error(f"variable name too long: {name!r}", "Use short names such as x, y, a_1.")
        return sp.Symbol(name)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self._scalar(self.run(node.operand))
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise parse_error(f"operator {type(node.op).__name__} is not supported", SYNTAX_HINT)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.run(node.left), self.run(node.right)
        if isinstance(left, list) or isinstance(right, list):
            raise parse_error("arithmetic on lists is not supported", "Use the matrix tools for matrix arithmetic.")
        op = node.op
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.Pow):
            _refuse_huge_power(left, right)
            return left**right
        if isinstance(op, ast.Mod):
            return sp.Mod(left, right)
        if isinstance(op, ast.FloorDiv):
            return sp.floor(left / right)
        raise parse_error(f"operator {type(op).__name__} is not supported", SYNTAX_HINT)

    def visit_Compare(self, node: ast.Compare) -> Any:
        terms = [self._scalar(self.run(node.left))] + [self._scalar(self.run(c)) for c in node.comparators]
        relations = []
        for op, lhs, rhs in zip(node.ops, terms, terms[1:], strict=False):
            ctor = {
                ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Eq: sp.Eq, ast.NotEq: sp.Ne,
            }.get(type(op))
            if ctor is None:
                raise forbidden(f"comparison {type(op).__name__} is not allowed", SYNTAX_HINT)
            relations.append(ctor(lhs, rhs))
        return relations[0] if len(relations) == 1 else sp.And(*relations)

    def visit_Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name):
            raise forbidden("only named mathematical functions can be called", SYNTAX_HINT)
        name = node.func.id
        if node.keywords:
            raise parse_error(f"keyword arguments are not allowed in {name}(...)", SYNTAX_HINT)
        args = [self.run(a) for a in node.args]
        if name in self.functions:
            return sp.Function(name)(*[self._scalar(a) for a in args])
        if name not in FUNCTIONS:
            raise parse_error(f"unknown function '{name}'", f"Allowed functions: {', '.join(sorted(FUNCTIONS))}.")
        if name == "factorial" and args and _is_big_integer(args[0], 20_000):
            raise ToolError(
                ErrorType.MEMORY,
                f"factorial({args[0]}) would have more than {MAX_RESULT_DIGITS} digits",
                "Work with the factorial symbolically or modulo a number.",
            )
        if name != "Matrix":
            args = [self._scalar(a) for a in args]
        try:
            return FUNCTIONS[name](*args)
        except ToolError:
            raise
        except (TypeError, ValueError, sp.SympifyError) as exc:
            raise parse_error(f"bad arguments to {name}: {exc}", SYNTAX_HINT) from None

    def visit_List(self, node: ast.List) -> list[Any]:
        return [self.run(e) for e in node.elts]

    visit_Tuple = visit_List

    def visit_Starred(self, node: ast.Starred) -> Any:
        raise forbidden("unpacking with '*' is not allowed", SYNTAX_HINT)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        raise forbidden("attribute access is not allowed", SYNTAX_HINT)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        raise forbidden("indexing is not allowed", "For subscripted variables write x_1, a_n.")

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        raise forbidden("lambda functions are not allowed", SYNTAX_HINT)

    @staticmethod
    def _scalar(value: Any) -> Any:
        if isinstance(value, list):
            raise parse_error("a list was given where a single expression was expected", SYNTAX_HINT)
        return value


def _is_big_integer(value: Any, limit: int) -> bool:
    return isinstance(value, sp.Integer) and abs(int(value)) > limit


def _refuse_huge_power(base: Any, exponent: Any) -> None:
    """`10**10**10` would take minutes and gigabytes; say so at once instead."""
    if not (isinstance(base, sp.Rational) and isinstance(exponent, sp.Integer)):
        return
    magnitude = max(abs(base.p), abs(base.q))
    if magnitude <= 1:
        return
    digits = abs(int(exponent)) * math.log10(magnitude)
    if digits > MAX_RESULT_DIGITS:
        raise ToolError(
            ErrorType.MEMORY,
            f"{base}**{exponent} would have about {digits:.3g} digits (limit {MAX_RESULT_DIGITS})",
            "Keep the power symbolic, or use modular_power for remainders.",
        )
