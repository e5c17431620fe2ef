"""The studio's settings, made from the options' own declarations: names, defaults, kinds, ranges, help.

``declared(cls)`` lists :class:`Field` records for DreamOptions, VideoOptions or ZoomOptions. Where the
options module declares its options (``options.declared``), those records are used as they are; until
then they are read from the dataclass fields, with the help text, choices and metavar of the CLI's own
flags, so the page never holds a second copy of any of them.

``parse(field, value)`` turns what a form widget sends (text, a number, a bool) into the value the API
takes: a keyframe string stays a string, ``"2"`` becomes 2, an empty box means the default.
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING, dataclass, fields
from functools import lru_cache
from typing import Any

from ..errors import DreamError

# Options the page does not offer as typed values: paths are chosen from the studio's own files (never
# typed), the output is the studio's, and quiet/restart are the worker's business.
PATH_OPTIONS = ("guide", "style", "mask", "colour_reference")
NOT_ON_THE_PAGE = ("quiet", "restart", "objective", "layer") + PATH_OPTIONS


@dataclass(frozen=True)
class Field:
    """One option as the page shows it; the attributes of ``options.Option`` that the page needs."""

    name: str
    default: Any
    help: str
    kind: str  # int, count, int_or_all, number, schedule, choice, bool, text, path, seed, fps, list, objective
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    group: str = ""
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


def declared(cls) -> list[Field]:
    """The page's fields for an options class, in declaration order."""
    from .. import options

    if hasattr(options, "declared"):
        return [Field(o.name, o.default, o.help, o.kind, tuple(o.choices or ()), o.minimum, o.maximum,
                      o.group, o.metavar) for o in options.declared(cls)]
    return list(_from_dataclass(cls))


@lru_cache(maxsize=None)
def _from_dataclass(cls) -> tuple[Field, ...]:
    actions = _cli_actions("zoom" if cls.__name__ == "ZoomOptions" else "main")
    out = []
    for f in fields(cls):
        if not f.init:
            continue
        default = None if f.default is MISSING else f.default
        action = actions.get(f.name)
        help_text = (action.help or "").replace("%(default)s", str(default)).replace("%%", "%") if action else ""
        out.append(Field(f.name, default, help_text, _kind(action, default), tuple(action.choices or ())
                         if action is not None else (), group=action.container.title if action else "",
                         metavar=action.metavar if action else None))
    return tuple(out)


@lru_cache(maxsize=None)
def _cli_actions(command: str) -> dict:
    from .. import cli

    parser = cli.build_zoom_parser() if command == "zoom" else cli.build_main_parser()
    return {action.dest: action for action in parser._actions}


def _kind(action, default) -> str:
    if action is None:
        return "text"
    if action.choices:
        return "choice"
    if isinstance(action, (argparse.BooleanOptionalAction, argparse._StoreTrueAction)):
        return "bool"
    kind_of_type = {"_number_or_schedule": "schedule", "_int_or_schedule": "schedule", "_positive_int": "int",
                    "_count": "count", "_positive_int_or_all": "int_or_all", "float": "number", "int": "seed"
                    if action.dest == "seed" else "int"}
    return kind_of_type.get(getattr(action.type, "__name__", ""), "text")


def parse(field: Field, value) -> Any:
    """The API value of what a widget sent for ``field``; DreamError naming the flag when it is not one."""
    if field.kind == "bool":
        return field.default if value is None else bool(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return field.default
    if field.kind == "choice":
        if value not in field.choices:
            raise DreamError(f"{field.flag}: choose one of {', '.join(map(str, field.choices))}, got {value!r}")
        return value
    if isinstance(value, float) and value.is_integer() and field.kind in ("int", "count", "seed", "int_or_all"):
        value = int(value)
    if field.kind in ("int", "count", "seed", "int_or_all", "number", "schedule", "fps"):
        text = str(value).strip()
        for convert in (int, float):
            try:
                number = convert(text)
            except ValueError:
                continue
            if field.kind in ("int", "count", "seed") and not isinstance(number, int):
                raise DreamError(f"{field.flag}: expected a whole number, got {text!r}")
            return number
        if field.kind in ("schedule", "fps") or (field.kind == "int_or_all" and text.lower() == "all"):
            return text.lower() if field.kind == "int_or_all" else text
        raise DreamError(f"{field.flag}: expected a number, got {text!r}")
    return str(value)


def shown(value) -> Any:
    """A value as a text widget shows it: None as an empty box."""
    return "" if value is None else value
