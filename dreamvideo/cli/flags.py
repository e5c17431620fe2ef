"""argparse flags made from the option declarations (:mod:`dreamvideo.declare`), and the parser whose
mistakes are user errors like any other."""

from __future__ import annotations

import argparse
import sys

from ..declare import declared
from ..errors import DreamError


class Parser(argparse.ArgumentParser):
    """argparse, except that a bad flag is a user error like any other: one line, exit code 2."""

    def error(self, message):
        raise DreamError(f"{message} (see '{self.prog} --help')")


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def positive_int(text: str) -> int:
    return _whole_number(text, 1)


def count(text: str) -> int:
    return _whole_number(text, 0)


def positive_int_or_all(text: str):
    return "all" if text.strip().lower() == "all" else positive_int(text)


def int_or_schedule(text: str):
    """A whole number, or keyframes or an expression such as 2 + 3*onset (checked when the options are)."""
    try:
        value = int(text)
    except ValueError:
        return text
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def number_or_schedule(text: str):
    """A number, or keyframes or an expression such as 1.01 + 0.04*bass (checked when the options are)."""
    try:
        return float(text)
    except ValueError:
        return text


def _argument(opt) -> dict:
    """add_argument keywords for one declared option."""
    kind = opt.kind
    if kind == "bool":
        action = argparse.BooleanOptionalAction if opt.default else "store_true"
        return {"action": action}
    if kind in ("list", "objective"):
        return {"action": "append"}
    if kind == "choice":
        return {"choices": opt.choices}
    types = {"int": positive_int, "count": count, "int_or_all": positive_int_or_all, "seed": int, "number": float,
             "schedule": int_or_schedule if opt.integer else number_or_schedule}
    return {"type": types[kind]} if kind in types else {}


def help_text(opt) -> str:
    """The declaration's help with its default, escaped for argparse's %-formatting."""
    shown = opt.default
    text = opt.help
    if not (shown is None or shown is False or opt.kind in ("list", "objective")):
        shown = "on" if opt.kind == "bool" else f"{shown:g}" if isinstance(shown, float) else shown
        text = f"{text} (default {shown})"
    return text.replace("%", "%%")


def group(parser: argparse.ArgumentParser, title: str):
    """The parser's argument group of this title (made once); the parser itself for no title."""
    groups = parser.__dict__.setdefault("_groups_by_title", {})
    if title not in groups:
        groups[title] = parser.add_argument_group(title) if title else parser
    return groups[title]


def add_declared(parser: argparse.ArgumentParser, *classes, skip=()) -> None:
    """A flag for each declared option of ``classes``, in its group; the default is the declaration's."""
    for cls in classes:
        for opt in declared(cls):
            if not opt.cli or opt.name in skip or opt.flag in parser._option_string_actions:
                continue
            keywords = _argument(opt)
            if keywords.get("action") != "append":
                keywords["default"] = opt.default
            if opt.metavar and "choices" not in keywords and "action" not in keywords:
                keywords["metavar"] = opt.metavar
            elif opt.metavar and keywords.get("action") == "append":
                keywords["metavar"] = opt.metavar
            group(parser, opt.group).add_argument(*opt.aliases, opt.flag, dest=opt.name, help=help_text(opt), **keywords)


def wrote(path, quiet: bool) -> int:
    """Say where the output went (unless quiet); exit code 0."""
    if not quiet:
        print(f"wrote {path}", file=sys.stderr)
    return 0
