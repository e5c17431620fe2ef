"""Render files: every setting of a finished render, written beside its output, and read back.

``out.mp4`` gets ``out.mp4.dreamvideo.json``: the command, input and output, and every resolved option
(schedules as keyframe text, Python callables frame by frame, the objective as a list of terms), with paths
relative to the file so a project folder can move as a whole. ``dreamvideo render FILE`` reads it back;
on the same machine and version the frames come out identical.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import limits
from .declare import declared, take
from .errors import DreamError
from .limits import shown
from .models import REGISTRY, is_model_file
from .options import DreamOptions, RestoreOptions, VideoOptions, ZoomOptions
from .version import __version__
from .writeguard import render_file_path

RENDER_FORMAT = 1
PATH_OPTIONS = ("guide", "style", "mask", "colour_reference", "audio", "dust_mask")
RENDER_KEYS = ("format", "dreamvideo", "command", "input", "output", "options")
# Terms of a render file's objective (a real one has a few).
MAX_TERMS = 64
COMMAND_OPTIONS = {"still": (DreamOptions,), "video": (DreamOptions, VideoOptions), "zoom": (DreamOptions, ZoomOptions),
                   "restore": (RestoreOptions,)}
# Fields renamed since render files were first written: the old name is read as the new one.
RENAMED = {"zoom": {"overlap": "loop_fade"}}


def write_render_file(command: str, input, output, options: dict) -> Path:
    """Write every resolved setting of a finished render next to its output (atomically).

    ``options``: plain values (see :meth:`DreamOptions.resolved`). Paths are stored relative to the
    render file's folder, so a project folder can move as a whole.
    """
    from . import media

    target = render_file_path(output)
    folder = target.parent.resolve()

    def relative(path):
        return None if path is None else os.path.relpath(Path(path).resolve(), folder)

    plain = dict(options)
    for key in PATH_OPTIONS:
        if plain.get(key) is not None:
            plain[key] = relative(plain[key])
    if isinstance(plain.get("model"), str) and plain["model"] not in REGISTRY:
        model = relative(plain["model"])
        plain["model"] = model if is_model_file(model) else os.path.join(".", model)
    if "objective" in plain:  # a restoration has none
        plain["objective"] = [dict(term, image=relative(term["image"])) if term.get("image") else term
                              for term in plain["objective"]]
    # A frames folder keeps its trailing slash: it is what says "folder" when the folder does not exist yet.
    output_text = relative(output) + ("/" if media.output_kind(output) == "frames" else "")
    document = {"format": RENDER_FORMAT, "dreamvideo": __version__, "command": command,
                "input": relative(input), "output": output_text, "options": plain}
    media.write_bytes_atomically(target, (json.dumps(document, indent=1) + "\n").encode())
    return target


def read_render_file(path: str | os.PathLike, allow_outside: bool = False) -> tuple[str, str | None, str, dict]:
    """(command, input, output, options) from a render file, paths resolved; DreamError when invalid.

    A render file is untrusted data (shared, or loaded as a preset): it is read with bounded JSON
    (:mod:`dreamvideo.safejson`), every field's type and range is checked before anything runs, and its
    paths resolve against its own folder. Its output must stay inside that folder (no absolute path, no
    ``..``, no symbolic link out) unless ``allow_outside`` (the user named the output on the command line).
    """
    from . import objectives, safejson
    from .writeguard import confine

    path = Path(path)
    if not path.exists():
        raise DreamError(f"render file not found: {path}")
    document = safejson.read(path)
    if not isinstance(document, dict):
        raise DreamError(f"{path}: not a render file (expected a JSON object)")
    unknown = sorted(set(document) - set(RENDER_KEYS))
    if unknown:
        raise DreamError(f"{path}: unknown key {shown(unknown[0])}; a render file has {', '.join(RENDER_KEYS)}")
    version = document.get("format")
    if not isinstance(version, int) or isinstance(version, bool):
        raise DreamError(f"{path}: key 'format' must be a whole number, got {shown(version)}")
    if version > RENDER_FORMAT:
        raise DreamError(f"{path}: format {version} was written by a newer dreamvideo "
                         f"({shown(document.get('dreamvideo'))}); this one reads format {RENDER_FORMAT}: upgrade")
    command = document.get("command")
    if not isinstance(command, str) or command not in COMMAND_OPTIONS:
        raise DreamError(f"{path}: key 'command' must be still, video, zoom or restore, got {shown(command)}")
    options = document.get("options")
    if not isinstance(options, dict):
        raise DreamError(f"{path}: key 'options' must be an object")
    known = {opt.name: opt for cls in COMMAND_OPTIONS[command] for opt in declared(cls) if opt.name != "layer"}
    folder = path.resolve().parent
    resolved = {}
    for key, value in options.items():
        key = RENAMED.get(command, {}).get(key, key)
        if key == "objective":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise DreamError(f"{path}: key 'options.objective' must be a list of terms")
            if len(value) > MAX_TERMS:
                raise DreamError(f"{path}: key 'options.objective' has {len(value)} terms, above the limit of "
                                 f"{MAX_TERMS}")
            terms = [dict(v, image=str(folder / v["image"])) if isinstance(v.get("image"), str) else v
                     for v in value]
            try:
                resolved["layer"] = objectives.from_dicts(terms)
            except DreamError as exc:
                raise DreamError(f"{path}: key 'options.objective': {exc}") from None
            continue
        if key not in known:
            raise DreamError(f"{path}: unknown key {shown('options.' + str(key))}")
        _check_type(path, key, value, known[key].default)
        if isinstance(value, str) and len(value) > limits.MAX_SCHEDULE_CHARS:
            raise DreamError(f"{path}: key 'options.{key}' is {len(value):,} characters long, above the limit of "
                             f"{limits.MAX_SCHEDULE_CHARS:,}")
        is_path = key in PATH_OPTIONS or (key == "model" and isinstance(value, str) and value not in REGISTRY)  # a model file is a path too
        resolved[key] = str(folder / value) if is_path and isinstance(value, str) else value
    for key in ("input", "output"):
        value = document.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise DreamError(f"{path}: key '{key}' must be a path, got {shown(value)}")
    input_path = document.get("input")
    output = document.get("output")
    if output is None:
        raise DreamError(f"{path}: key 'output' is missing")
    if input_path is None and command != "zoom":
        raise DreamError(f"{path}: key 'input' is missing; a {command} render file names its input")
    if not allow_outside:
        confine(output, folder, "output", path)
    try:  # values of the right JSON type can still be wrong (a seed of "x"): say which file holds them
        take(resolved, *COMMAND_OPTIONS[command], what=f"a {command} render file")
    except DreamError as exc:
        raise DreamError(f"{path}: {exc}") from None
    return (command, str(folder / input_path) if input_path else None, _join_keep_slash(folder, output), resolved)


def _join_keep_slash(folder: Path, path: str) -> str:
    joined = str(folder / path)
    return joined + "/" if path.endswith(("/", "\\")) else joined


def _check_type(path, key, value, default) -> None:
    numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif numeric:
        ok = (isinstance(value, (int, float, str)) and not isinstance(value, bool))
    elif isinstance(default, str):
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
    else:  # None default: anything plain
        ok = value is None or isinstance(value, (str, int, float, list))
    if not ok:
        raise DreamError(f"{path}: key 'options.{key}' has the wrong type ({type(value).__name__}: {shown(value)})")
