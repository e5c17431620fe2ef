"""JSON from untrusted files (render files, a .gan's metadata): bounded before it is parsed.

:func:`loads` refuses, with one line naming the file, what the standard parser would turn into a
traceback or a hang: nesting deeper than :data:`dreamvideo.limits.MAX_JSON_DEPTH` (the parser recurses),
``NaN``/``Infinity`` and numbers that overflow to them, integers longer than
:data:`~dreamvideo.limits.MAX_NUMBER_CHARS` digits, duplicate keys (which value wins is not obvious to the
person who wrote the file), and text that is not UTF-8.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat

import numpy as np

from .errors import DreamError
from .limits import MAX_JSON_DEPTH, MAX_NUMBER_CHARS, MAX_RENDER_FILE_BYTES

# A JSON string (escapes included): removed before the brackets are counted.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


class _Refused(Exception):
    """A value the parser met that the file may not hold."""


def nesting_depth(text: str) -> int:
    """How deeply the arrays and objects of JSON ``text`` nest (0 for a bare number or string).

    Counts brackets outside strings without parsing, so it is safe on any input (numpy, linear time).
    """
    bare = _STRING.sub("", text).encode("utf-8", "surrogatepass")
    codes = np.frombuffer(bare, np.uint8)
    steps = np.zeros(len(codes), np.int64)
    steps[(codes == ord("[")) | (codes == ord("{"))] = 1
    steps[(codes == ord("]")) | (codes == ord("}"))] = -1
    return int(np.cumsum(steps).max(initial=0))


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:20]} is too large for a float")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text)} digits (at most {MAX_NUMBER_CHARS})")
    return int(text)


def _constant(text: str):
    raise _Refused(f"{text} is not a number a render can use; write a finite number")


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(f"the key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def loads(text: str | bytes, where, *, max_depth: int = MAX_JSON_DEPTH):
    """Parse JSON ``text`` from ``where`` (a file name, for messages); DreamError for anything refused."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DreamError(f"{where}: not UTF-8 text (byte {exc.start}); not a JSON file") from None
    depth = nesting_depth(text)
    if depth > max_depth:
        raise DreamError(f"{where}: JSON nested {depth} deep, above the limit of {max_depth}")
    try:
        return json.loads(text, parse_float=_number, parse_int=_integer, parse_constant=_constant,
                          object_pairs_hook=_unique_keys)
    except _Refused as exc:
        raise DreamError(f"{where}: {exc}") from None
    except (ValueError, RecursionError) as exc:
        reason = " ".join(str(exc).split())[:120] if isinstance(exc, ValueError) else "nested too deeply"
        raise DreamError(f"{where}: invalid JSON ({reason})") from None


def read(path, *, max_bytes: int = MAX_RENDER_FILE_BYTES, max_depth: int = MAX_JSON_DEPTH):
    """Parse the JSON file at ``path``: a regular file of at most ``max_bytes`` (a FIFO, a device or
    /dev/zero is refused before it is read)."""
    from .media.files import io_error

    name = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO waits for a writer otherwise; it is refused below like a device.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise DreamError(f"{name}: file not found; check the path") from None
    except IsADirectoryError:
        raise DreamError(f"{name}: is a folder; give a .json file") from None
    except OSError as exc:
        raise io_error(name, exc, "reading") from None
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise DreamError(f"{name}: is a folder; give a .json file")
        raise DreamError(f"{name}: not a regular file (a device or a pipe); give a .json file")
    with os.fdopen(descriptor, "rb") as file:
        if status.st_size > max_bytes:
            raise DreamError(f"{name}: {status.st_size:,} bytes, above the limit of {max_bytes:,} for a JSON file")
        try:
            data = file.read(max_bytes + 1)
        except OSError as exc:
            raise io_error(name, exc, "reading") from None
    if len(data) > max_bytes:
        raise DreamError(f"{name}: above the limit of {max_bytes:,} bytes for a JSON file")
    return loads(data, name, max_depth=max_depth)

