"""How an option is declared once: its kind, default, range and help, from which the CLI's flags, the API's
keywords, the render files' fields and the checks are all made.

    @dataclass
    class VideoOptions(Options):
        blend: Any = option(0.9, "share of the carried dream ...", kind="schedule", minimum=0, maximum=1)

``declared(cls)`` lists a class's :class:`Option` records; ``take(options, *classes, what=...)`` builds the
classes from a dict of keywords and refuses a keyword none of them has. Every check of a declared value
happens in :func:`check_value`, when an options object is made; schedules are checked over the frames of
a render with :meth:`Options.check_schedules`, once, before any work.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from typing import Any

from . import limits
from .errors import DreamError

KINDS = ("int", "count", "int_or_all", "number", "schedule", "choice", "bool", "text", "path", "seed", "fps",
         "list", "objective")


@dataclass(frozen=True)
class Option:
    """One declared option. ``kind`` says what values it takes:

    int (a whole number >= ``minimum``, default 1), count (a whole number >= 0), int_or_all (a whole
    number or "all"), number (a finite number in [minimum, maximum]), schedule (a number, keyframes or a
    callable of the frame number; ``integer`` for counts, checked over the frames with ``minimum``,
    ``maximum``, ``positive``), choice (one of ``choices``), bool, text, path (a file name), seed (any
    whole number), fps (a rate such as 25, 29.97 or 30000/1001), list (repeatable text), objective (layer
    specs or an Objective). ``nullable``: None is allowed (and means what the help says).
    """

    default: Any
    help: str
    kind: str
    name: str = ""
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    integer: bool = False
    nullable: bool = False
    group: str = ""
    metavar: str | None = None
    aliases: tuple = ()  # other flags for it, e.g. ("-q",)
    cli: bool = True  # False: an API keyword with no flag (the CLI has another way to say it)
    recorded: bool = True  # False: not part of what a render file or a resumed render must match

    @property
    def label(self) -> str:
        """The name as messages say it: ``step_size`` -> ``step size``."""
        return self.name.replace("_", " ")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def option(default, help: str, kind: str, **details) -> Any:
    """A dataclass field declared as an :class:`Option` (the name is the field's)."""
    if kind not in KINDS:
        raise ValueError(f"unknown option kind {kind!r}")
    details.setdefault("nullable", default is None)
    return field(default=default, metadata={"option": Option(default, help, kind, **details)})


def declared(cls) -> list[Option]:
    """The declared options of an options class (or instance), in field order."""
    return [replace(f.metadata["option"], name=f.name) for f in fields(cls) if "option" in f.metadata]


def declared_names(*classes) -> set[str]:
    return {opt.name for cls in classes for opt in declared(cls)}


class Options:
    """Base of the option dataclasses: each field made with :func:`option` is checked when made."""

    def __post_init__(self):
        for opt in declared(self):
            check_value(opt, getattr(self, opt.name))

    def check_schedules(self, frames: int) -> None:
        """Check every scheduled value at frames 0..frames-1 (DreamError names the first bad frame)."""
        from .schedules import validate

        for opt in declared(self):
            if opt.kind == "schedule" and not (opt.nullable and getattr(self, opt.name) is None):
                validate(self.schedule(opt.name), frames, minimum=opt.minimum, maximum=opt.maximum,
                         strictly_positive=opt.positive, integer=opt.integer)

    def schedule(self, name: str):
        """The schedule of a scheduled option, parsed once per options object."""
        from .schedules import as_schedule

        cache = self.__dict__.setdefault("_schedules", {})
        if name not in cache:
            cache[name] = as_schedule(getattr(self, name), name=name.replace("_", " "))
        return cache[name]

    def sound_variables(self) -> frozenset:
        """The sound features (see :mod:`dreamvideo.music`) the scheduled options' expressions use."""
        return frozenset().union(*(self.schedule(opt.name).sound_variables for opt in declared(self)
                                   if opt.kind == "schedule" and getattr(self, opt.name) is not None))

    def bind_sound(self, features) -> None:
        """Give every scheduled option that uses the sound its values (a :class:`~dreamvideo.music.Features`
        or name -> array): the option then holds the bound Schedule, which pickles with them."""
        for opt in declared(self):
            if opt.kind == "schedule" and getattr(self, opt.name) is not None:
                schedule = self.schedule(opt.name)
                if schedule.sound_variables:
                    bound = schedule.with_sound(features)
                    setattr(self, opt.name, bound)
                    self.__dict__.setdefault("_schedules", {})[opt.name] = bound

    def recorded(self, frames: int | None = None) -> dict:
        """The recorded options as plain JSON values (schedules as keyframe text, callables frame by frame)."""
        return {opt.name: plain_value(getattr(self, opt.name), frames) for opt in declared(self) if opt.recorded}

    def __getstate__(self):  # the schedule cache is rebuilt where the options arrive (a Ray worker)
        return {k: v for k, v in self.__dict__.items() if k != "_schedules"}


def check_value(opt: Option, value) -> None:
    """DreamError when ``value`` is not what ``opt`` takes (schedules: only that they parse)."""
    if value is None and opt.nullable:
        return
    kind, label = opt.kind, opt.label
    if isinstance(value, str):
        limits.check_input_name(value, label)  # a name from a non-UTF-8 file system reaches every kind
    if kind in ("int", "count"):
        least = 0 if kind == "count" else int(opt.minimum if opt.minimum is not None else 1)
        if not is_whole(value) or value < least or (opt.maximum is not None and value > opt.maximum):
            top = f" and at most {opt.maximum:,.0f}" if opt.maximum is not None else ""
            raise DreamError(f"{label} must be a whole number of at least {least}{top}, got {limits.shown(value)}")
    elif kind == "int_or_all":
        if value != "all":
            if not is_whole(value) or value < 1:
                raise DreamError(f"{label} must be a whole number of at least 1 or 'all', got {limits.shown(value)}")
            limits.check_whole(label, value, int(opt.maximum) if opt.maximum is not None else limits.MAX_OCTAVES)
    elif kind == "seed":
        limits.check_seed(value)
    elif kind == "number":
        low = opt.minimum if opt.minimum is not None else -math.inf
        high = opt.maximum if opt.maximum is not None else math.inf
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if number is None or isinstance(value, bool) or not math.isfinite(number):
            raise DreamError(f"{label} must be a number in [{low:g}, {high:g}], got {limits.shown(value)}")
        if not low <= number <= high:
            raise DreamError(f"{label} must be in [{low:g}, {high:g}], got {number}")
    elif kind == "schedule":
        from .schedules import as_schedule

        if isinstance(value, str):
            limits.check_schedule_text(value, label)
        as_schedule(value, name=label)
    elif kind == "choice":
        if value not in opt.choices:
            raise DreamError(f"{label} must be one of {', '.join(map(str, opt.choices))}, got {limits.shown(value)}")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise DreamError(f"{label} must be true or false, got {limits.shown(value)}")
    elif kind == "fps":
        parse_fps(value)
    elif kind in ("text", "path"):
        if not isinstance(value, (str, bytes)) and not hasattr(value, "__fspath__"):
            raise DreamError(f"{label} must be {'a file name' if kind == 'path' else 'text'}, got {limits.shown(value)}")


def is_whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# Keywords the API accepts under another name: an objective is what --layer gives.
ALIASES = {"objective": "layer"}


def take(options: dict, *classes, what: str) -> tuple:
    """Build each of ``classes`` from the keywords in ``options`` that it declares; DreamError for a keyword
    none of them declares (the one "unknown option" error) or one given under two names."""
    options = dict(options)
    for alias, name in ALIASES.items():
        if alias in options:
            if options.get(name) not in (None, []):
                raise DreamError(f"give {alias}= or {name}=, not both")
            options[name] = options.pop(alias)
    refuse_unknown(set(options) - declared_names(*classes), what)
    return tuple(cls(**{k: v for k, v in options.items() if k in declared_names(cls)}) for cls in classes)


def refuse_unknown(names, what: str) -> None:
    """The one "unknown option" error, for the first of ``names`` (nothing when there are none)."""
    if names:
        raise DreamError(f"unknown option {sorted(names)[0]!r} for {what}")


def split(options: dict, *classes) -> tuple[dict, ...]:
    """The keywords each of ``classes`` declares, and the rest, as dicts (nothing is checked)."""
    rest = dict(options)
    parts = []
    for cls in classes:
        names = declared_names(cls)
        parts.append({k: rest.pop(k) for k in list(rest) if k in names or (k in ALIASES and ALIASES[k] in names)})
    return (*parts, rest)


def plain_value(value, frames: int | None = None):
    """A JSON-able form of an option: numbers, strings and lists stay; schedules become keyframe text."""
    from .schedules import Schedule, as_schedule

    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain_value(v, frames) for v in value]
    if isinstance(value, Schedule) or callable(value):
        return as_schedule(value).to_text(frames=frames)
    return str(value)


def parse_fps(value) -> Fraction | None:
    """--fps as an exact fraction: 25, 29.97 or 30000/1001."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        if isinstance(value, bool) or len(text) > 2 * limits.MAX_NUMBER_CHARS:
            raise ValueError
        fps = Fraction(text)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise DreamError(f"fps {limits.shown(value)} is not a number: give e.g. 25, 29.97 or 30000/1001") from None
    if fps <= 0:
        raise DreamError(f"fps must be positive, got {limits.shown(value)}")
    return limits.check_fps(fps, value)
