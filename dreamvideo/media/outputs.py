"""What an output path asks for, checked before any expensive work."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DreamError
from .files import PathLike
from .images import IMAGE_EXTENSIONS

#: What an output path can be: a still image, a video file (by extension), or a folder of numbered PNGs.
OUTPUT_KINDS = ("image", "mp4", "gif", "webp", "webm", "mov", "frames")
#: Extensions of the moving outputs; .webp is a still unless `animated` is asked for.
VIDEO_EXTENSIONS = {".mp4": "mp4", ".gif": "gif", ".webm": "webm", ".mov": "mov"}
_SUPPORTED_OUTPUTS = ".mp4, .gif, .webp, .webm, .mov, " + ", ".join(e for e in IMAGE_EXTENSIONS if e != ".webp") \
    + " or a folder path ending in '/'"


def _looks_like_folder(path: PathLike) -> bool:
    text = os.fspath(path)
    return text.endswith("/") or text.endswith(os.sep) or os.path.isdir(text)


def output_kind(path: PathLike, animated: bool = False) -> str:
    """What `path` asks for, one of OUTPUT_KINDS.

    "frames" for a path ending in '/' (or os.sep) or an existing folder; "mp4", "gif", "webm", "mov" by
    extension; ".webp" is "webp" (animated) when `animated`, else "image" like .png .jpg .jpeg .bmp
    .tif .tiff. DreamError otherwise.
    """
    if _looks_like_folder(path):
        return "frames"
    ext = Path(path).suffix.lower()
    if ext in VIDEO_EXTENSIONS:
        return VIDEO_EXTENSIONS[ext]
    if ext == ".webp" and animated:
        return "webp"
    if ext in IMAGE_EXTENSIONS:
        return "image"
    raise DreamError(f"{path}: unsupported output type '{ext or 'no extension'}'; use {_SUPPORTED_OUTPUTS}")


def check_output(output: PathLike, input: PathLike | None = None, animated: bool = False) -> str:  # noqa: A002
    """Check an output path before any expensive work; return its kind (see output_kind).

    DreamError if the extension is unsupported, if the folder it goes in does not exist or cannot be
    written (for "frames", the folder's parent), or if it is the same file as `input`.
    """
    kind = output_kind(output, animated)
    out = Path(os.fspath(output).rstrip("/" + os.sep) or os.fspath(output))
    parent = out.resolve().parent
    if not parent.is_dir():
        raise DreamError(f"{output}: folder {parent} does not exist; create it first")
    if kind == "frames" and out.exists() and not out.is_dir():
        raise DreamError(f"{output}: is a file, not a folder; give a folder path for numbered PNGs")
    writable = out if kind == "frames" and out.is_dir() else parent
    if not os.access(writable, os.W_OK):
        raise DreamError(f"{output}: cannot write into folder {writable} (read-only?); check its permissions")
    if input is not None:
        same = out.resolve() == Path(input).resolve()
        if not same and _exists(out) and _exists(input):
            same = os.path.samefile(out, input)
        if same:
            raise DreamError(f"{output}: is the input file itself; choose another output name")
    return kind


def _exists(path: PathLike) -> bool:
    """os.path.exists, and False for a name the system refuses (too long): the input's own check names it."""
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def check_animation_output(output: PathLike, input: PathLike | None, what: str) -> str:  # noqa: A002
    """The kind of an animation's output (see :func:`output_kind`), checked before any work: DreamError for
    a still image type, or for the input file itself."""
    kind = check_output(output, input, animated=True)
    if kind == "image":
        raise DreamError(f"cannot write a {what} to {output}: use .mp4, .gif, .webp, .webm, .mov or a folder "
                         "ending in /")
    return kind
