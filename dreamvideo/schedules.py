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
  against that list, never passed to ``eval``. They may also use the sound track's features at the frame,
  each 0..1 (`SOUND_VARIABLES`, see :mod:`dreamvideo.music`): ``"1.01 + 0.04*bass"``; such a schedule
  needs the sound's values (`Schedule.with_sound`) before it is evaluated;
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

import bisect
import math
import numbers
import re
from typing import Callable

import numpy as np

from . import limits
from .errors import DreamError
from .expressions import (KEYFRAME_EXAMPLE, EvaluationProblem, Expression, SyntaxProblem, compile_expression,
                          one_line, shorten)
from .keyframes import parse_keyframes

__all__ = ["Schedule", "as_schedule", "validate", "sample", "per_frame_rate", "INTERPOLATIONS", "SOUND_VARIABLES"]

INTERPOLATIONS = ("linear", "cubic", "step")

#: The sound track's per-frame features an expression may use (computed by dreamvideo.music): name -> what.
SOUND_VARIABLES = {"rms": "loudness", "onset": "onset strength", "bass": "20-250 Hz", "mid": "250-4000 Hz",
                   "high": "4-16 kHz", "beat": "1 on a beat, falling until the next"}
VARIABLES = {"t": "the frame number", **SOUND_VARIABLES}

_PREFIX = re.compile(r"\s*([A-Za-z_]\w*)\s*:")
_MISSING_COLON = re.compile(r"\s*[+-]?\d+\s*\(")


def _quote(text: str, index: int = 0, width: int = 60) -> str:
    """The string, or a window of it around `index`, quoted on one line for an error message."""
    if len(text) <= width:
        return repr(text)
    start = max(0, min(index - width // 2, len(text) - width))
    excerpt = text[start:start + width]
    return ("..." if start else "") + repr(excerpt) + ("..." if start + width < len(text) else "")


def _at(value: Expression, frame: float, name: str, sound: dict | None = None) -> float:
    """One keyframe's value at `frame`; an expression that gives no number names its place and the frame.

    `sound`: feature name -> float64 (frames,) for expressions that use the sound track (0 past its end)."""
    values = {"t": frame}
    if value.constant is None and value.variables - {"t"}:
        if sound is None:
            used = sorted(value.variables - {"t"})[0]
            raise DreamError(f"{name}: {value.text!r} uses {used!r}, a feature of the sound track: give --audio "
                             f"FILE, or a video with sound")
        index = int(math.floor(frame))
        for feature in value.variables - {"t"}:
            track = sound[feature]
            values[feature] = float(track[index]) if 0 <= index < len(track) else 0.0
    try:
        return value.evaluate(values)
    except EvaluationProblem as problem:
        raise DreamError(f"{name}: {value.text!r} at character {value.index + 1} {problem} at frame "
                         f"{frame}") from None


def _check_interpolation(interpolation: object, name: str) -> str:
    if not isinstance(interpolation, str) or interpolation.strip().lower() not in INTERPOLATIONS:
        raise DreamError(f"{name}: unknown interpolation {limits.shown(interpolation)}; use one of {', '.join(INTERPOLATIONS)}")
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
        self._values: list[Expression] = []
        self._function: Callable[[int], object] | None = None
        self._sound: dict | None = None
        if isinstance(value, Schedule):
            self.interpolation = value.interpolation
            self._frames, self._values, self._function = value._frames, value._values, value._function
            self._sound = value._sound
        elif isinstance(value, str):
            self._parse(value)
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            number = float(value)
            if not math.isfinite(number):
                raise DreamError(f"{name}: {limits.shown(value)} is not a finite number")
            self._frames, self._values = [0], [Expression(repr(number), 0, None, number)]
        elif callable(value):
            self._function = value
        else:
            raise DreamError(f"{name}: {limits.shown(value)} is not a number, a keyframe string such as "
                             f"'0:(1.02), 60:(1.05)', or a function of the frame number")

    def _parse(self, text: str) -> None:
        try:
            if not text.strip():
                raise SyntaxProblem(0, "the schedule is empty", "give a number such as 1.02 or keyframes such "
                                                                    "as 0:(1.02), 60:(1.05)")
            position = 0
            prefix = _PREFIX.match(text)
            if prefix:
                word = prefix.group(1).lower()
                if word not in INTERPOLATIONS:
                    raise SyntaxProblem(prefix.start(1), f"{prefix.group(1)!r} is neither an interpolation "
                                                          f"({', '.join(INTERPOLATIONS)}) nor a frame number")
                self.interpolation, position = word, prefix.end()
                if not text[position:].strip():
                    raise SyntaxProblem(position, f"no keyframes after '{word}:'", KEYFRAME_EXAMPLE)
            if ":" in text[position:]:
                self._frames, self._values = parse_keyframes(text, position, VARIABLES)
                return
            missing_colon = _MISSING_COLON.match(text, position)
            if missing_colon:
                raise SyntaxProblem(missing_colon.end() - 1, "missing ':' between the frame number and '('")
            self._frames, self._values = [0], [compile_expression(text[position:], VARIABLES, offset=position)]
        except SyntaxProblem as problem:
            hint = f"; {problem.hint}" if problem.hint else ""
            raise DreamError(f"{self.name}: {problem.message} at character {problem.index + 1} of "
                             f"{_quote(text, problem.index)}{hint}") from None

    @property
    def sound_variables(self) -> frozenset:
        """The sound features (names of SOUND_VARIABLES) its expressions use; empty for a callable."""
        return frozenset().union(*(v.variables for v in self._values)) - {"t"}

    def with_sound(self, features) -> "Schedule":
        """This schedule with the sound track's values for its expressions: a new Schedule.

        `features`: feature name -> float64 (frames,) in 0..1 for frames 0, 1, ... of the render (a feature
        is 0 past the end of its array), or a :class:`dreamvideo.music.Features`. Frame f of the schedule
        reads index floor(f).
        """
        values = features if isinstance(features, dict) else features.values
        missing = sorted(self.sound_variables - set(values))
        if missing:
            raise DreamError(f"{self.name}: the sound has no feature {missing[0]!r}")
        bound = Schedule(self, name=self.name)
        bound._sound = {name: np.asarray(values[name], np.float64) for name in self.sound_variables}
        return bound

    @property
    def is_constant(self) -> bool:
        """True when every frame has the same value (always False for a Python callable)."""
        if self._function is not None:
            return False
        return all(v.constant is not None and v.constant == self._values[0].constant for v in self._values)

    def __call__(self, frame: float) -> float:
        if self._function is not None:
            return self._call_function(frame)
        frames, values, name, sound = self._frames, self._values, self.name, self._sound
        after = bisect.bisect_right(frames, frame)
        if after == 0:
            return _at(values[0], frame, name, sound)
        if after == len(frames) or frames[after - 1] == frame or self.interpolation == "step":
            return _at(values[after - 1], frame, name, sound)
        k = after - 1
        x0, x1 = frames[k], frames[k + 1]
        y0, y1 = _at(values[k], frame, name, sound), _at(values[k + 1], frame, name, sound)
        u = (frame - x0) / (x1 - x0)
        if self.interpolation == "linear":
            return y0 + (y1 - y0) * u
        m0 = m1 = 0.0  # the end keyframes get zero slope: the value holds beyond them
        if k > 0:
            m0 = _monotone_slope(frames[k - 1], _at(values[k - 1], frame, name, sound), x0, y0, x1, y1)
        if k + 2 < len(frames):
            m1 = _monotone_slope(x0, y0, x1, y1, frames[k + 2], _at(values[k + 2], frame, name, sound))
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
                             f"{one_line(error)}") from None
        try:
            if isinstance(result, (str, bytes)) or isinstance(result, (bool, np.bool_)):
                raise TypeError
            number = float(result)
        except (TypeError, ValueError):
            raise DreamError(f"{self.name}: the function {label} returned {shorten(repr(result))} at frame "
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
        # expressions are closures, which pickle cannot carry; the keyframe string rebuilds them (and the
        # sound's values, plain arrays, travel with it to a render farm's workers)
        if self._function is not None:
            return (_rebuild, (self._function, self.name, self.interpolation))
        return (_rebuild, (self.to_text(), self.name, self.interpolation, self._sound))

    def __str__(self) -> str:
        return self.to_text() if self._function is None else repr(self)

    def __repr__(self) -> str:
        source = repr(self._function) if self._function is not None else repr(self.to_text())
        return f"Schedule({source}, name={self.name!r})"


def _rebuild(value: object, name: str, interpolation: str, sound: dict | None = None) -> Schedule:
    schedule = Schedule(value, name=name, interpolation=interpolation)
    return schedule.with_sound(sound) if sound is not None else schedule


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
