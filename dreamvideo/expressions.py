"""The safe expression compiler: ``"1.0 + 0.02*sin(t/10)"`` to a Python function, without ``eval``.

An expression may use numbers, ``+ - * / ** %``, parentheses, the variables it is offered (``t``, the
frame number, unless the caller offers others), the constants ``pi`` and ``e`` and the functions
``sin cos tan abs sqrt exp log min max floor ceil`` (``log(x)`` is natural, ``log(x, base)`` any base),
with Python's precedence (``-2**2`` is -4). The parsed tree is checked against that list and built into
nested closures, so no text is ever executed.

    expression = compile_expression("1 + bass * 0.1", variables={"t": "the frame number", "bass": ""})
    expression(t=12, bass=0.5)                  # 1.05, or EvaluationProblem

Mistakes are raised as `SyntaxProblem` with a 0-based index into the caller's string (``offset`` says
where the expression starts in it), so the caller can word the error around its own text.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Callable, Iterable, Mapping

from . import limits

__all__ = ["CONSTANTS", "FRAME_VARIABLES", "FUNCTIONS", "Expression", "EvaluationProblem", "SyntaxProblem",
           "compile_expression"]

CONSTANTS = {"pi": math.pi, "e": math.e}

#: The variables an expression is offered when the caller names none: name -> what it is.
FRAME_VARIABLES = {"t": "the frame number"}

# name -> (function, smallest number of arguments, largest or None for no limit)
FUNCTIONS: dict[str, tuple[Callable[..., float], int, int | None]] = {
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "abs": (abs, 1, 1),
    "sqrt": (math.sqrt, 1, 1),
    "exp": (math.exp, 1, 1),
    "log": (math.log, 1, 2),
    "min": (min, 2, None),
    "max": (max, 2, None),
    "floor": (lambda x: float(math.floor(x)), 1, 1),
    "ceil": (lambda x: float(math.ceil(x)), 1, 1),
}


def _power(base: float, exponent: float) -> float:
    result = base**exponent
    if isinstance(result, complex):  # Python answers (-8) ** (1/3) with a complex number
        raise ValueError("a negative number raised to a fractional power")
    return result


_OPERATORS: dict[type, Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: _power,
}
_OPERATOR_SYMBOLS = {ast.BitXor: "^", ast.FloorDiv: "//", ast.BitAnd: "&", ast.BitOr: "|",
                     ast.LShift: "<<", ast.RShift: ">>", ast.MatMult: "@"}

#: The hint for a comma inside one value: the commas of a schedule separate keyframes.
KEYFRAME_EXAMPLE = "write keyframes as 0:(1.02), 60:(1.05)"


def shorten(text: str, width: int = 60) -> str:
    """`text` on one line, cut to `width` characters with "..." when longer."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def one_line(error: BaseException) -> str:
    """An exception's message on one line, or its type's name when it has none."""
    return " ".join(str(error).split()) or type(error).__name__


class SyntaxProblem(Exception):
    """A mistake at a 0-based index of the caller's string, with an optional hint of what to write."""

    def __init__(self, index: int, message: str, hint: str = ""):
        super().__init__(message)
        self.index = index
        self.message = message
        self.hint = hint


class EvaluationProblem(Exception):
    """Why an expression gave no usable number, worded to follow the expression."""


def evaluate(function: Callable[[Mapping[str, float]], float], values: Mapping[str, float]) -> float:
    """`function` (a built expression) at `values`, a finite float, else EvaluationProblem."""
    try:
        result = float(function({name: float(value) for name, value in values.items()}))
    except ZeroDivisionError:
        raise EvaluationProblem("cannot be evaluated (division by zero)") from None
    except OverflowError:
        raise EvaluationProblem("cannot be evaluated (the result is too large)") from None
    except (ArithmeticError, ValueError) as error:
        raise EvaluationProblem(f"cannot be evaluated ({one_line(error)})") from None
    except RecursionError:
        raise EvaluationProblem("is nested too deeply") from None
    if not math.isfinite(result):
        raise EvaluationProblem(f"gives {result}; keep values finite")
    return result


class Expression:
    """A compiled expression: ``expression(t=5)`` or ``expression.evaluate({"t": 5})`` -> float.

    `text` is the expression as written (on one line), `index` the 0-based place of its first character in
    the caller's string. `constant` is its value when it uses no variable (folded at compile time), else
    None. `variables` is the set of variable names it uses. Evaluation raises EvaluationProblem.
    """

    def __init__(self, text: str, index: int, function: Callable[[Mapping[str, float]], float] | None,
                 constant: float | None, variables: Iterable[str] = ()):
        self.text = text
        self.index = index
        self.function = function
        self.constant = constant
        self.variables = frozenset(variables)

    def evaluate(self, values: Mapping[str, float]) -> float:
        if self.constant is not None:
            return self.constant
        return evaluate(self.function, values)

    def __call__(self, **values: float) -> float:
        return self.evaluate(values)


def compile_expression(text: str, variables: Mapping[str, str] | Iterable[str] = FRAME_VARIABLES, *,
                       offset: int = 0) -> Expression:
    """Check `text` against the whitelist and build it as nested closures (no eval); SyntaxProblem if not.

    `variables` are the names the expression may use: a mapping name -> what it is (for the hint when an
    unknown name is used), or just names. `offset` is where `text` starts in the caller's string; the
    indices of SyntaxProblem and of the result count from there.
    """
    described = dict(variables) if isinstance(variables, Mapping) else {name: "" for name in variables}
    stripped = text.lstrip()
    index = offset + len(text) - len(stripped)  # ast.parse rejects leading spaces as an indent
    source = re.sub(r"\s", " ", stripped.rstrip())  # one line, so ast columns are string offsets
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        column = error.offset if error.offset and error.offset >= 1 else len(source)
        raise SyntaxProblem(index + min(column, len(source)) - 1 if source else index,
                            f"cannot read the value {shorten(source)!r}: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise SyntaxProblem(index, f"the value {shorten(source)!r} is nested too deeply") from None

    def where(node: ast.AST) -> int:
        # ast columns count UTF-8 bytes; convert to characters
        return index + len(source.encode()[:node.col_offset].decode(errors="ignore"))

    def build(node: ast.AST) -> Callable[[Mapping[str, float]], float]:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise SyntaxProblem(where(node), f"{limits.shown(ast.get_source_segment(source, node))} is not a number")
            written = ast.get_source_segment(source, node) or ""
            if len(written) > limits.MAX_NUMBER_CHARS:
                raise SyntaxProblem(where(node), f"the number {limits.shown(written)} is longer than "
                                                 f"{limits.MAX_NUMBER_CHARS} characters")
            try:
                value = float(node.value)  # floats, so 10**10**10 overflows quickly instead of computing forever
            except OverflowError:
                raise SyntaxProblem(where(node), f"the number {limits.shown(written)} is too large") from None
            return lambda v: value
        if isinstance(node, ast.Name):
            name = node.id
            if name in described:
                return lambda v: v[name]
            if name in CONSTANTS:
                value = CONSTANTS[name]
                return lambda v: value
            offered = ", ".join(f"{n} ({what})" if what else n for n, what in described.items())
            raise SyntaxProblem(where(node), f"unknown variable {limits.shown(name)}", f"use {offered}, pi or e")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = build(node.operand)
            if isinstance(node.op, ast.USub):
                return lambda v: -operand(v)
            return operand
        if isinstance(node, ast.BinOp):
            operation = _OPERATORS.get(type(node.op))
            if operation is None:
                symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
                gap_start = len(source.encode()[:node.left.end_col_offset].decode(errors="ignore"))
                position = index + max(source.find(symbol, gap_start), gap_start)
                hint = "use ** for powers" if symbol == "^" else "use + - * / ** %"
                raise SyntaxProblem(position, f"operator {symbol!r} is not allowed", hint)
            left, right = build(node.left), build(node.right)
            return lambda v: operation(left(v), right(v))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                called = ast.get_source_segment(source, node.func)
                raise SyntaxProblem(where(node), f"unknown function {limits.shown(called)}",
                                    f"use one of {', '.join(FUNCTIONS)}")
            function, fewest, most = FUNCTIONS[node.func.id]
            count = len(node.args)
            if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args) or count < fewest or (
                    most is not None and count > most):
                wanted = ("exactly 1 argument" if most == 1 else f"{fewest} or more arguments" if most is None
                          else f"{fewest} to {most} arguments")
                raise SyntaxProblem(where(node), f"{node.func.id}() takes {wanted}, not "
                                                 f"{ast.get_source_segment(source, node)!r}")
            arguments = [build(arg) for arg in node.args]
            return lambda v: function(*(argument(v) for argument in arguments))
        if isinstance(node, ast.Tuple):
            raise SyntaxProblem(where(node), f"{shorten(source)!r} is several values, not one", KEYFRAME_EXAMPLE)
        segment = ast.get_source_segment(source, node) or source
        names = "".join(f"{name}, " for name in described)
        raise SyntaxProblem(where(node), f"{limits.shown(segment)} is not allowed",
                            f"use numbers, {names}+ - * / ** %, parentheses and math functions")

    try:
        function = build(tree.body)
    except RecursionError:
        raise SyntaxProblem(index, f"the value {shorten(source)!r} is nested too deeply") from None
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id in described}
    if used:
        return Expression(source, index, function, None, used)
    try:  # fold constants now, so "1/0" is reported with its place in the string
        constant = evaluate(function, {})
    except EvaluationProblem as problem:
        raise SyntaxProblem(index, f"the value {shorten(source)!r} {problem}") from None
    return Expression(source, index, None, constant)
