"""Values over time for animation parameters: zoom, angle, translation, step size, steps, blend, weights.

Values are per frame, keyed by frame number
-------------------------------------------
A schedule gives one number for each output frame, and keyframes name frame numbers (0, 1, 2...), never
seconds. Motion values are rates per frame: a zoom of 1.02 magnifies each frame 1.02x relative to the
previous one, and an angle of 0.5 turns each frame 0.5 degrees further. The same numbers therefore move
twice as fast per second at 30 fps as at 15 fps. To keep the speed when changing the frame rate, convert
with `per_frame_rate`: multiplicative values by a power (1.02 per frame at 30 fps is 1.02 ** (30 / fps)
at another fps), additive values linearly (0.5 degrees per frame at 30 fps is 0.5 * 30 / fps).

What can be a schedule (see `as_schedule`)
------------------------------------------
- a number: ``1.02``, or a numeric string: ``"1.02"``;
- a keyframe string in Deforum's syntax, ``frame:(value)`` separated by commas, whitespace anywhere:
  ``"0:(1.02), 60:(1.05), 119:(1.0)"``. Frame numbers are whole numbers >= 0 in increasing order; a
  trailing comma is fine. A value is a number (``-2.5``, ``1e-3``) or a math expression of ``t``, the
  frame number: ``"0:(1.0 + 0.02*sin(t/10))"``. Expressions may use numbers, ``+ - * / ** %``,
  parentheses, ``t``, ``pi``, ``e`` and ``sin cos tan abs sqrt exp log min max floor ceil`` (``log(x)``
  is natural, ``log(x, base)`` any base), with Python's precedence (``-2**2`` is -4). They are checked
  against that list, never passed to ``eval``;
- a single expression without keyframes: ``"1.0 + 0.02*sin(t/10)"`` (the same as ``"0:(...)"``);
- a Python callable of the frame number returning a number, e.g. ``lambda frame: 1.0 + frame / 1000``;
- an existing `Schedule`, returned as it is.

Between keyframes
-----------------
The interpolation is ``linear`` unless chosen otherwise, either with the ``interpolation=`` keyword of
`as_schedule` or with a prefix in the string, which wins over the keyword because the string is what
gets saved: ``"cubic: 0:(1), 60:(2), 120:(1)"`` (any case; `Schedule.to_text` writes it back).

- ``linear``: a straight line between neighbouring keyframes (Deforum's behaviour);
- ``step``: each keyframe's value holds until the next keyframe;
- ``cubic``: a monotone cubic Hermite curve (Fritsch-Carlson slopes, as in PCHIP). It passes through
  every keyframe with a continuous first derivative, and, unlike Catmull-Rom, never overshoots: between
  two keyframes the value stays between theirs, so a zoom eased from 1.0 to 1.05 never dips below 1.0
  and a step size never turns negative. At a keyframe where the values turn around, and at the first and
  last keyframes (where the value goes on to hold), the slope is zero, so motion eases in and out; with
  only two keyframes the curve is exactly smoothstep.

Before the first keyframe the first keyframe's value applies, after the last the last one's. A number
holds; an expression is evaluated at the frame asked for, everywhere, so between keyframes the
interpolation blends the two neighbouring expressions, each evaluated at ``t``.

Errors in a string name the parameter and the position, counting characters from 1 at the start of the
string, e.g. ``zoom: missing ':' between frame number 10 and '(' at character 10 of '0:(1), 10(2)'``.
"""

from __future__ import annotations

import ast
import bisect
import math
import numbers
import re
from typing import Callable

import numpy as np

from .errors import DreamError

__all__ = ["Schedule", "as_schedule", "validate", "sample", "per_frame_rate", "INTERPOLATIONS"]

INTERPOLATIONS = ("linear", "cubic", "step")

_CONSTANTS = {"pi": math.pi, "e": math.e}

# name -> (function, smallest number of arguments, largest or None for no limit)
_FUNCTIONS: dict[str, tuple[Callable[..., float], int, int | None]] = {
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

_KEYFRAME_EXAMPLE = "write keyframes as 0:(1.02), 60:(1.05)"
_PREFIX = re.compile(r"\s*([A-Za-z_]\w*)\s*:")
_MISSING_COLON = re.compile(r"\s*[+-]?\d+\s*\(")


def _quote(text: str, index: int = 0, width: int = 60) -> str:
    """The string, or a window of it around `index`, quoted on one line for an error message."""
    if len(text) <= width:
        return repr(text)
    start = max(0, min(index - width // 2, len(text) - width))
    excerpt = text[start:start + width]
    return ("..." if start else "") + repr(excerpt) + ("..." if start + width < len(text) else "")


def _shorten(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


class _SyntaxProblem(Exception):
    """A mistake at a 0-based index of the string; `Schedule` turns it into a DreamError."""

    def __init__(self, index: int, message: str, hint: str = ""):
        super().__init__(message)
        self.index = index
        self.message = message
        self.hint = hint


class _Value:
    """One keyframe's value: a number, or an expression of the frame number t, with its place in the string."""

    def __init__(self, text: str, index: int, function: Callable[[float], float] | None, constant: float | None):
        self.text = text
        self.index = index  # 0-based index of the value's first character in the whole string
        self.function = function
        self.constant = constant

    def at(self, frame: float, name: str) -> float:
        if self.constant is not None:
            return self.constant
        try:
            return _evaluate(self.function, frame)
        except _EvaluationProblem as problem:
            raise DreamError(f"{name}: {self.text!r} at character {self.index + 1} {problem} at frame "
                             f"{frame}") from None


class _EvaluationProblem(Exception):
    """Why an expression gave no usable number, worded to follow the expression."""


def _evaluate(function: Callable[[float], float], frame: float) -> float:
    try:
        result = float(function(float(frame)))
    except ZeroDivisionError:
        raise _EvaluationProblem("cannot be evaluated (division by zero)") from None
    except OverflowError:
        raise _EvaluationProblem("cannot be evaluated (the result is too large)") from None
    except (ArithmeticError, ValueError) as error:
        raise _EvaluationProblem(f"cannot be evaluated ({_one_line(error)})") from None
    except RecursionError:
        raise _EvaluationProblem("is nested too deeply") from None
    if not math.isfinite(result):
        raise _EvaluationProblem(f"gives {result}; keep values finite")
    return result


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _compile_expression(text: str, index: int) -> _Value:
    """Check an expression of t against the whitelist and build it as nested closures (no eval)."""
    stripped = text.lstrip()
    index += len(text) - len(stripped)  # ast.parse rejects leading spaces as an indent
    source = re.sub(r"\s", " ", stripped.rstrip())  # one line, so ast columns are string offsets
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        column = error.offset if error.offset and error.offset >= 1 else len(source)
        raise _SyntaxProblem(index + min(column, len(source)) - 1 if source else index,
                             f"cannot read the value {_shorten(source)!r}: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise _SyntaxProblem(index, f"the value {_shorten(source)!r} is nested too deeply") from None

    def where(node: ast.AST) -> int:
        # ast columns count UTF-8 bytes; convert to characters
        return index + len(source.encode()[:node.col_offset].decode(errors="ignore"))

    def build(node: ast.AST) -> Callable[[float], float]:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise _SyntaxProblem(where(node), f"{ast.get_source_segment(source, node)!r} is not a number")
            value = float(node.value)  # floats, so 10**10**10 overflows quickly instead of computing forever
            return lambda t: value
        if isinstance(node, ast.Name):
            if node.id == "t":
                return lambda t: t
            if node.id in _CONSTANTS:
                value = _CONSTANTS[node.id]
                return lambda t: value
            raise _SyntaxProblem(where(node), f"unknown variable {node.id!r}",
                                 "use t (the frame number), pi or e")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = build(node.operand)
            if isinstance(node.op, ast.USub):
                return lambda t: -operand(t)
            return operand
        if isinstance(node, ast.BinOp):
            operation = _OPERATORS.get(type(node.op))
            if operation is None:
                symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
                gap_start = len(source.encode()[:node.left.end_col_offset].decode(errors="ignore"))
                position = index + max(source.find(symbol, gap_start), gap_start)
                hint = "use ** for powers" if symbol == "^" else "use + - * / ** %"
                raise _SyntaxProblem(position, f"operator {symbol!r} is not allowed", hint)
            left, right = build(node.left), build(node.right)
            return lambda t: operation(left(t), right(t))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
                called = ast.get_source_segment(source, node.func)
                raise _SyntaxProblem(where(node), f"unknown function {called!r}",
                                     f"use one of {', '.join(_FUNCTIONS)}")
            function, fewest, most = _FUNCTIONS[node.func.id]
            count = len(node.args)
            if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args) or count < fewest or (
                    most is not None and count > most):
                wanted = ("exactly 1 argument" if most == 1 else f"{fewest} or more arguments" if most is None
                          else f"{fewest} to {most} arguments")
                raise _SyntaxProblem(where(node), f"{node.func.id}() takes {wanted}, not "
                                                  f"{ast.get_source_segment(source, node)!r}")
            arguments = [build(arg) for arg in node.args]
            return lambda t: function(*(argument(t) for argument in arguments))
        if isinstance(node, ast.Tuple):
            raise _SyntaxProblem(where(node), f"{_shorten(source)!r} is several values, not one",
                                 _KEYFRAME_EXAMPLE)
        segment = ast.get_source_segment(source, node) or source
        raise _SyntaxProblem(where(node), f"{segment!r} is not allowed",
                             "use numbers, t, + - * / ** %, parentheses and math functions")

    try:
        function = build(tree.body)
    except RecursionError:
        raise _SyntaxProblem(index, f"the value {_shorten(source)!r} is nested too deeply") from None
    if any(isinstance(node, ast.Name) and node.id == "t" for node in ast.walk(tree)):
        return _Value(source, index, function, None)
    try:  # fold constants now, so "1/0" is reported with its place in the string
        constant = _evaluate(function, 0)
    except _EvaluationProblem as problem:
        raise _SyntaxProblem(index, f"the value {_shorten(source)!r} {problem}") from None
    return _Value(source, index, None, constant)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _parse_keyframes(text: str, position: int) -> tuple[list[int], list[_Value]]:
    """Parse ``frame:(value), ...`` from `position` to the end; 0-based positions in `_SyntaxProblem`."""
    frames: list[int] = []
    values: list[_Value] = []
    position = _skip_space(text, position)
    while True:
        if position >= len(text):
            if not frames:
                raise _SyntaxProblem(position, "no keyframes", _KEYFRAME_EXAMPLE)
            return frames, values
        start = position
        found = text[position]
        if found == "-" and position + 1 < len(text) and text[position + 1].isdigit():
            raise _SyntaxProblem(start, "negative frame number", "frames count from 0")
        if not found.isdigit():
            what = {"(": "missing frame number and ':' before '('", ":": "missing frame number before ':'",
                    ",": "missing keyframe before ','", ")": "unbalanced parentheses: unmatched ')'"}
            raise _SyntaxProblem(start, what.get(found, f"expected a frame number, found {found!r}"))
        while position < len(text) and text[position].isdigit():
            position += 1
        frame = int(text[start:position])
        if position < len(text) and text[position] in ".eE":
            raise _SyntaxProblem(start, "frame numbers are whole numbers")
        if frames and frame == frames[-1]:
            raise _SyntaxProblem(start, f"duplicate frame number {frame}")
        if frames and frame < frames[-1]:
            raise _SyntaxProblem(start, f"frame numbers must increase, but {frame} comes after {frames[-1]}")

        position = _skip_space(text, position)
        if position >= len(text) or text[position] != ":":
            if position >= len(text):
                raise _SyntaxProblem(position, f"missing ':' and value after frame number {frame}")
            if text[position] == "(":
                raise _SyntaxProblem(position, f"missing ':' between frame number {frame} and '('")
            raise _SyntaxProblem(position, f"expected ':' after frame number {frame}", _KEYFRAME_EXAMPLE)
        position = _skip_space(text, position + 1)
        if position >= len(text) or text[position] == ",":
            raise _SyntaxProblem(position, f"missing value after '{frame}:'")
        if text[position] != "(":
            raise _SyntaxProblem(position, f"expected '(' after '{frame}:'",
                                 f"write the value in parentheses, e.g. {frame}:(1.5)")
        opening = position
        depth = 0
        while position < len(text):
            depth += {"(": 1, ")": -1}.get(text[position], 0)
            if depth == 0:
                break
            position += 1
        if depth:
            raise _SyntaxProblem(opening, "unbalanced parentheses: this '(' is never closed")
        inside = text[opening + 1:position]
        if not inside.strip():
            raise _SyntaxProblem(opening, f"missing value in '{frame}:()'")
        frames.append(frame)
        values.append(_compile_expression(inside, opening + 1))

        position = _skip_space(text, position + 1)
        if position >= len(text):
            return frames, values
        if text[position] == ",":
            position = _skip_space(text, position + 1)
            continue
        if text[position] == ")":
            raise _SyntaxProblem(position, "unbalanced parentheses: unmatched ')'")
        if text[position].isdigit():
            raise _SyntaxProblem(position, "missing ',' between keyframes")
        raise _SyntaxProblem(position, f"unexpected {text[position]!r}", "separate keyframes with commas")


def _check_interpolation(interpolation: object, name: str) -> str:
    if not isinstance(interpolation, str) or interpolation.strip().lower() not in INTERPOLATIONS:
        raise DreamError(f"{name}: unknown interpolation {interpolation!r}; use one of {', '.join(INTERPOLATIONS)}")
    return interpolation.strip().lower()


def _monotone_slope(x0: float, y0: float, x1: float, y1: float, x2: float, y2: float) -> float:
    """Fritsch-Carlson slope at (x1, y1): zero at a turn, else a weighted harmonic mean of the two secants."""
    before, after = (y1 - y0) / (x1 - x0), (y2 - y1) / (x2 - x1)
    if before * after <= 0:
        return 0.0
    h0, h1 = x1 - x0, x2 - x1
    w_before, w_after = 2 * h1 + h0, h1 + 2 * h0
    return (w_before + w_after) / (w_before / before + w_after / after)


class Schedule:
    """A number for every frame: ``schedule(frame) -> float``.

    Build one with `as_schedule` (or ``Schedule(value, name=..., interpolation=...)``, which takes the same
    values). `frame` is the frame number, usually an int; fractional frames are interpolated too. Values are
    per frame (see the module docstring). `str()` and `to_text()` give the keyframe string, `repr()` an
    expression that rebuilds the schedule.
    """

    def __init__(self, value: object, *, name: str = "value", interpolation: str = "linear"):
        self.name = name
        self.interpolation = _check_interpolation(interpolation, name)
        self._frames: list[int] = []
        self._values: list[_Value] = []
        self._function: Callable[[int], object] | None = None
        if isinstance(value, Schedule):
            self.interpolation = value.interpolation
            self._frames, self._values, self._function = value._frames, value._values, value._function
        elif isinstance(value, str):
            self._parse(value)
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            number = float(value)
            if not math.isfinite(number):
                raise DreamError(f"{name}: {value!r} is not a finite number")
            self._frames, self._values = [0], [_Value(repr(number), 0, None, number)]
        elif callable(value):
            self._function = value
        else:
            raise DreamError(f"{name}: {value!r} is not a number, a keyframe string such as "
                             f"'0:(1.02), 60:(1.05)', or a function of the frame number")

    def _parse(self, text: str) -> None:
        try:
            if not text.strip():
                raise _SyntaxProblem(0, "the schedule is empty", "give a number such as 1.02 or keyframes such "
                                                                    "as 0:(1.02), 60:(1.05)")
            position = 0
            prefix = _PREFIX.match(text)
            if prefix:
                word = prefix.group(1).lower()
                if word not in INTERPOLATIONS:
                    raise _SyntaxProblem(prefix.start(1), f"{prefix.group(1)!r} is neither an interpolation "
                                                          f"({', '.join(INTERPOLATIONS)}) nor a frame number")
                self.interpolation, position = word, prefix.end()
                if not text[position:].strip():
                    raise _SyntaxProblem(position, f"no keyframes after '{word}:'", _KEYFRAME_EXAMPLE)
            if ":" in text[position:]:
                self._frames, self._values = _parse_keyframes(text, position)
                return
            missing_colon = _MISSING_COLON.match(text, position)
            if missing_colon:
                raise _SyntaxProblem(missing_colon.end() - 1, "missing ':' between the frame number and '('")
            self._frames, self._values = [0], [_compile_expression(text[position:], position)]
        except _SyntaxProblem as problem:
            hint = f"; {problem.hint}" if problem.hint else ""
            raise DreamError(f"{self.name}: {problem.message} at character {problem.index + 1} of "
                             f"{_quote(text, problem.index)}{hint}") from None

    @property
    def is_constant(self) -> bool:
        """True when every frame has the same value (always False for a Python callable)."""
        if self._function is not None:
            return False
        return all(v.constant is not None and v.constant == self._values[0].constant for v in self._values)

    def __call__(self, frame: float) -> float:
        if self._function is not None:
            return self._call_function(frame)
        frames, values, name = self._frames, self._values, self.name
        after = bisect.bisect_right(frames, frame)
        if after == 0:
            return values[0].at(frame, name)
        if after == len(frames) or frames[after - 1] == frame or self.interpolation == "step":
            return values[after - 1].at(frame, name)
        k = after - 1
        x0, x1 = frames[k], frames[k + 1]
        y0, y1 = values[k].at(frame, name), values[k + 1].at(frame, name)
        u = (frame - x0) / (x1 - x0)
        if self.interpolation == "linear":
            return y0 + (y1 - y0) * u
        m0 = m1 = 0.0  # the end keyframes get zero slope: the value holds beyond them
        if k > 0:
            m0 = _monotone_slope(frames[k - 1], values[k - 1].at(frame, name), x0, y0, x1, y1)
        if k + 2 < len(frames):
            m1 = _monotone_slope(x0, y0, x1, y1, frames[k + 2], values[k + 2].at(frame, name))
        h = x1 - x0
        u2, u3 = u * u, u * u * u
        return ((2 * u3 - 3 * u2 + 1) * y0 + (u3 - 2 * u2 + u) * h * m0
                + (3 * u2 - 2 * u3) * y1 + (u3 - u2) * h * m1)

    def _call_function(self, frame: float) -> float:
        function = self._function
        label = getattr(function, "__name__", type(function).__name__)
        try:
            result = function(frame)
        except Exception as error:  # the artist's code: any failure is a mistake in their setting
            raise DreamError(f"{self.name}: the function {label} raised {type(error).__name__} at frame {frame}: "
                             f"{_one_line(error)}") from None
        try:
            if isinstance(result, (str, bytes)) or isinstance(result, (bool, np.bool_)):
                raise TypeError
            number = float(result)
        except (TypeError, ValueError):
            raise DreamError(f"{self.name}: the function {label} returned {_shorten(repr(result))} at frame "
                             f"{frame}, not a number") from None
        if not math.isfinite(number):
            raise DreamError(f"{self.name}: the function {label} returned {number} at frame {frame}; "
                             f"keep values finite")
        return number

    def to_text(self, frames: int | None = None) -> str:
        """The keyframe string that `as_schedule` reads back into the same schedule.

        A schedule made from a Python callable has no keyframe string; give `frames` to write its values at
        frames 0..frames-1 as one keyframe each (the same values at those frames), or get a DreamError.
        """
        if self._function is not None:
            if frames is None:
                raise DreamError(f"{self.name}: a Python function cannot be written as a keyframe string; "
                                 f"pass frames= to write its values frame by frame")
            values = sample(self, frames)
            return ", ".join(f"{frame}:({value!r})" for frame, value in enumerate(values.tolist()))
        if len(self._values) == 1:
            return self._values[0].text
        text = ", ".join(f"{frame}:({value.text})" for frame, value in zip(self._frames, self._values))
        return text if self.interpolation == "linear" else f"{self.interpolation}: {text}"

    def __reduce__(self):
        # expressions are closures, which pickle cannot carry; the keyframe string rebuilds them
        if self._function is not None:
            return (_rebuild, (self._function, self.name, self.interpolation))
        return (_rebuild, (self.to_text(), self.name, self.interpolation))

    def __str__(self) -> str:
        return self.to_text() if self._function is None else repr(self)

    def __repr__(self) -> str:
        source = repr(self._function) if self._function is not None else repr(self.to_text())
        return f"Schedule({source}, name={self.name!r})"


def _rebuild(value: object, name: str, interpolation: str) -> Schedule:
    return Schedule(value, name=name, interpolation=interpolation)


def as_schedule(value: object, *, name: str = "value", interpolation: str = "linear") -> Schedule:
    """Turn a number, numeric or keyframe string, callable of the frame number, or Schedule into a Schedule.

    `name` is the parameter's name for error messages (e.g. "zoom"). `interpolation` ("linear", "cubic" or
    "step") applies to keyframe strings without a prefix of their own. An existing Schedule is returned
    unchanged. Anything else, or a malformed string, raises DreamError.
    """
    if isinstance(value, Schedule):
        return value
    return Schedule(value, name=name, interpolation=interpolation)


def _frame_count(frames: object, name: str) -> int:
    if isinstance(frames, bool) or not isinstance(frames, numbers.Integral) or frames < 0:
        raise DreamError(f"{name}: the number of frames must be a whole number >= 0, not {frames!r}")
    return int(frames)


def sample(schedule: object, frames: int) -> np.ndarray:
    """The values at frames 0..frames-1 as a float64 array of shape (frames,).

    `schedule` is anything `as_schedule` accepts.
    """
    schedule = as_schedule(schedule)
    count = _frame_count(frames, schedule.name)
    return np.array([schedule(frame) for frame in range(count)], dtype=np.float64)


def validate(schedule: object, frames: int, *, minimum: float | None = None, maximum: float | None = None,
             strictly_positive: bool = False, integer: bool = False) -> np.ndarray:
    """Evaluate a schedule over frames 0..frames-1 and check every value; return the values.

    Raises DreamError naming the schedule and the first frame whose value is below `minimum`, above
    `maximum` (both inclusive bounds) or, with `strictly_positive`, not greater than 0. With `integer` (for
    counts such as steps) values are first rounded to the nearest whole number, halves up, and returned as
    int64; otherwise the result is float64. Shape (frames,).
    """
    schedule = as_schedule(schedule)
    raw = sample(schedule, frames)
    values = np.floor(raw + 0.5) if integer else raw
    for frame, value in enumerate(values.tolist()):
        if strictly_positive and value <= 0:
            problem = "must be greater than 0"
        elif minimum is not None and value < minimum:
            problem = f"must be at least {minimum:g}"
        elif maximum is not None and value > maximum:
            problem = f"must be at most {maximum:g}"
        else:
            continue
        shown = f"{value:g}" + (f" (rounded from {raw[frame]:g})" if integer and value != raw[frame] else "")
        raise DreamError(f"{schedule.name} {problem} but is {shown} at frame {frame} "
                         f"(schedule {_quote(str(schedule))})")
    return values.astype(np.int64) if integer else values


def per_frame_rate(value: float, from_fps: float, to_fps: float, *, kind: str = "multiplicative") -> float:
    """Convert a per-frame rate at `from_fps` into the per-frame rate at `to_fps` that moves as fast per second.

    kind="multiplicative" (zoom, scale: 1.0 means still) converts by a power, value ** (from_fps / to_fps):
    1.04 per frame at 30 fps is 1.04 ** 2 per frame at 15 fps. kind="additive" (angle in degrees,
    translation in pixels: 0 means still) converts linearly, value * from_fps / to_fps. A per-second rate
    is a per-frame rate at 1 fps: ``per_frame_rate(1.5, 1, 24)`` zooms 1.5x each second at 24 fps.
    """
    if kind not in ("multiplicative", "additive"):
        raise DreamError(f"per_frame_rate: unknown kind {kind!r}; use 'multiplicative' or 'additive'")
    for label, fps in (("from_fps", from_fps), ("to_fps", to_fps)):
        if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not math.isfinite(fps) or fps <= 0:
            raise DreamError(f"per_frame_rate: {label} must be a number greater than 0, not {fps!r}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise DreamError(f"per_frame_rate: the value must be a finite number, not {value!r}")
    if kind == "additive":
        return float(value) * from_fps / to_fps
    if value <= 0:
        raise DreamError(f"per_frame_rate: a multiplicative value must be greater than 0, not {value!r}")
    return float(value) ** (from_fps / to_fps)
