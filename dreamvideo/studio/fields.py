"""The studio's settings, made from the options' own declarations (:func:`dreamvideo.declare.declared`):
each widget has its option's flag, default, kind, choices, range and help; nothing is declared twice.

``parse(option, value)`` turns what a form widget sends (text, a number, a bool) into the value the API
takes: a keyframe string stays a string, ``"2"`` becomes 2, an empty box means the default. The values are
checked once, by the declarations, when the studio makes the option classes from them.
"""

from __future__ import annotations

from ..declare import Option, declared  # noqa: F401  (declared: the page's one source)

# Options the page does not offer as typed values: paths are chosen from the studio's own files (never
# typed), the output is the studio's, and quiet/restart are the worker's business.
PATH_OPTIONS = ("guide", "style", "mask", "colour_reference")
NOT_ON_THE_PAGE = ("quiet", "restart", "layer") + PATH_OPTIONS
NUMERIC = ("int", "count", "seed", "int_or_all", "number", "schedule", "fps")


def hint(option: Option) -> str:
    """The help the page shows under a widget: the declaration's help and its default."""
    default = option.default
    if default is None or default is False or option.kind in ("list", "objective"):
        return option.help
    shown = "on" if option.kind == "bool" else f"{default:g}" if isinstance(default, float) else default
    return f"{option.help} (default {shown})"


def parse(option: Option, value):
    """The API value of what a widget sent for ``option`` (not checked here: see the module's docstring)."""
    if option.kind == "bool":
        return option.default if value is None else bool(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return option.default
    if option.kind == "list":
        return [part.strip() for part in str(value).split(",") if part.strip()] or option.default
    if isinstance(value, float) and value.is_integer() and option.kind in ("int", "count", "seed", "int_or_all"):
        value = int(value)
    if option.kind in NUMERIC and isinstance(value, str):
        value = _number(value.strip(), option)
    return value


def _number(text: str, option: Option):
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    if option.kind == "int_or_all" and text.lower() == "all":
        return "all"
    return text  # keyframes, a rate like 30000/1001, or a mistake the declaration's check names


def shown(value):
    """A value as a text widget shows it: None as an empty box."""
    return "" if value is None else value
