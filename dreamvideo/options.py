"""Options shared by every command: the dream options, their checks, and their plain (JSON) forms.

Plain functions of their inputs: no TensorFlow, no I/O beyond checking that a named file exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DreamError
from .models import DEFAULT_MODEL, REGISTRY, is_model_file
from .objectives import Objective, as_objective


@dataclass
class DreamOptions:
    """The kernel, model and objective options shared by every command (the CLI's common flags).

    The objective is built from ``layer`` (specs, see :mod:`dreamvideo.objectives`, or an Objective),
    ``guide``/``style`` images with their weights and layers, and ``tv`` (smoothing: subtracts ``tv``
    times the total variation). Without ``layer``, the model's default layers are dreamed unless a guide
    or style is given, which then leads alone. ``mask``: a grayscale image or video scaling how strongly
    each pixel is dreamed (black: untouched, white: full strength). ``normalize``, ``decorrelate`` and
    ``range_limit`` shape each gradient step (see :mod:`dreamvideo.kernel`).
    """

    model: str = DEFAULT_MODEL
    layer: Any = None
    guide: str | None = None
    guide_weight: Any = 1.0
    guide_layer: Any = None
    style: str | None = None
    style_weight: Any = 1.0
    style_layer: Any = None
    tv: Any = 0.0
    mask: str | None = None
    octaves: Any = 4
    octave_scale: Any = 1.4
    steps: Any = 6
    step_size: Any = 2.0
    seed: int = 0
    max_side: int | None = None
    precision: str = "auto"
    tile_size: int = 512
    normalize: str = "mean"
    decorrelate: bool = True
    range_limit: str = "soft"
    quiet: bool = False
    objective: Objective = field(init=False, repr=False, default=None)

    def __post_init__(self):
        if self.model not in REGISTRY and not is_model_file(str(self.model)):
            raise DreamError(f"unknown model {self.model!r}: choose one of {', '.join(REGISTRY)} "
                             "or give the path of a .keras model file")
        self.objective = build_objective(self)
        check_positive_int("max side", self.max_side, allow_none=True)
        check_positive_int("tile size", self.tile_size)
        from .kernel import check_step_shape

        check_step_shape(normalize=self.normalize, decorrelate=self.decorrelate, range_limit=self.range_limit)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise DreamError(f"seed must be a whole number, got {self.seed!r}")
        if self.mask is not None and not os.path.isfile(self.mask):
            raise DreamError(f"mask file not found: {self.mask}")

    def resolved(self, frames: int | None = None) -> dict:
        """The options as plain JSON values, for render files and resume checks.

        Schedules stay keyframe strings; Python callables are written frame by frame (``frames``).
        The objective is saved whole, so ``layer``, ``guide``... are folded into it.
        """
        folded = {"layer", "guide", "guide_weight", "guide_layer", "style", "style_weight", "style_layer", "tv",
                  "quiet"}
        out = {f.name: plain_value(getattr(self, f.name), frames) for f in fields(self)
               if f.init and f.name not in folded}
        out["objective"] = self.objective.to_dicts(frames)
        return out


def build_objective(opts: "DreamOptions") -> Objective:
    """The objective that ``opts`` describe (see :class:`DreamOptions`)."""
    from . import objectives

    if isinstance(opts.layer, Objective):
        objective = opts.layer
    elif opts.layer not in (None, []) or (opts.guide is None and opts.style is None):
        spec = REGISTRY.get(opts.model)
        if opts.layer in (None, []) and spec is None:
            raise DreamError(f"model {opts.model} is a file: name the layers to dream with --layer")
        objective = as_objective(opts.layer or None, spec.default_layers if spec else ())
    else:
        objective = None
    from .schedules import as_schedule

    for kind, image, weight, layer_names in (("guide", opts.guide, opts.guide_weight, opts.guide_layer),
                                             ("style", opts.style, opts.style_weight, opts.style_layer)):
        if image is None:
            as_schedule(weight, name=f"{kind} weight")  # a malformed weight is a mistake even without its image
            continue
        term = getattr(objectives, kind)(image, layer_names, weight)
        objective = term if objective is None else objective + term
    tv_weight = as_schedule(opts.tv, name="tv")
    if not (tv_weight.is_constant and tv_weight(0) == 0.0):
        objective = objective - objectives.tv(opts.tv)
    spec = REGISTRY.get(opts.model)
    dream_layers = spec.default_layers if spec else tuple(t.layers[0] for t in objective.terms if t.kind == "layer")
    style_layers = spec.style_layers if spec else dream_layers
    if not dream_layers and any(t.kind in ("guide", "style") and not t.layers for t in objective.terms):
        raise DreamError(f"model {opts.model} is a file: name the guide/style layers with --guide-layer/--style-layer")
    return objectives.with_default_layers(objective, dream_layers, style_layers)


def check_quality(quality) -> None:
    """MP4 quality is an H.264 CRF: a whole number from 0 (lossless) to 51 (worst)."""
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 0 <= quality <= 51:
        raise DreamError(f"quality {quality!r} is not an H.264 CRF: give a whole number from 0 (best) to 51")


def check_positive_int(name: str, value, *, allow_none=False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DreamError(f"{name} must be a whole number of at least 1, got {value!r}")


def split_options(cls, kwargs: dict):
    """Split ``kwargs`` into a ``cls`` instance (its fields) and the rest."""
    names = {f.name for f in fields(cls) if f.init}
    return cls(**{k: v for k, v in kwargs.items() if k in names}), {k: v for k, v in kwargs.items()
                                                                      if k not in names}


def parse_fps(value) -> Fraction | None:
    """--fps as an exact fraction: 25, 29.97 or 30000/1001."""

    if value is None:
        return None
    try:
        fps = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError):
        raise DreamError(f"fps {value!r} is not a number: give e.g. 25, 29.97 or 30000/1001") from None
    if fps <= 0:
        raise DreamError(f"fps must be positive, got {value!r}")
    return fps


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


def package_version() -> str:
    from . import __version__

    return __version__


def file_identity(path) -> dict:
    stat = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": stat.st_size, "mtime": int(stat.st_mtime)}


def default_output(input_path: str | os.PathLike, suffix: str) -> str:
    """``<stem>_dream<suffix>`` next to the input (never the input itself)."""
    path = Path(input_path)
    return str(path.with_name(f"{path.stem}_dream{suffix}"))


PREVIEW_MAX_SIDE = 256


PREVIEW_SECONDS = 5


def preview_options(options: dict, video: bool = False) -> dict:
    """Settings for a quick look: longest side at most 256 px, a third of the steps, at most 3 octaves,
    and for a video with no --start/--end, its first 5 seconds."""
    from .schedules import as_schedule

    out = dict(options)
    out["max_side"] = min(options.get("max_side") or PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE)
    steps = options.get("steps", DreamOptions.steps)
    octaves = options.get("octaves", DreamOptions.octaves)
    out["steps"] = max(1, int(round(as_schedule(steps, name="steps")(0) / 3)))
    out["octaves"] = min(3, int(round(as_schedule(octaves, name="octaves")(0))))
    if video and options.get("start") is None and options.get("end") is None:
        out["end"] = f"{PREVIEW_SECONDS}s"
    return out


def preview_output(output: str) -> str:
    """``out.mp4`` -> ``out_preview.mp4``; ``frames/`` -> ``frames_preview/``."""
    if output.endswith(("/", "\\")):
        return output.rstrip("/\\") + "_preview/"
    path = Path(output)
    return str(path.with_name(f"{path.stem}_preview{path.suffix}"))


# Segment defaults of the render farm, measured by scripts/benchmark_distributed.py --quick --sweep
# (samples/coffee_pan.mp4 at 128x96, --segment 16, 2 seams): worst seam pair's E_warp / median of the
# pairs inside segments, and dream strength after / before each seam:
#   warmup 0, overlap 0: 25.7, 0.59-0.60;  4, 2: 3.27, 0.82-0.83;  8, 4: 1.75, 0.91-0.94;
#   12, 8: 1.18, 0.96-0.99 (targets <= 1.5 and within 10%); the single process on the same pairs: 1.08.
# At the default dream settings (320x240, --segment 16), 12 and 8 gave 1.18-1.32 (the single process on
# the same pairs: 1.15-1.18) and 0.93-0.96 in two runs (before and after the video defaults of issue 9). 12 + 8 frames a seam cost 1.08 frames dreamed per frame written for a 1-minute 30 fps clip
# on 8 workers.
FARM_WARMUP = 12
FARM_OVERLAP = 8


@dataclass
class FarmOptions:
    """Options of a render on Ray (the CLI's farm flags); see :mod:`dreamvideo.farm`.

    ``workers``: start a local Ray (loopback only) with this many workers; ``ray_address``: join a running
    cluster instead (``auto`` or ``ray://host:10001``). Without either the render is one process and Ray is
    not imported. ``segment``: frames per segment (default: the frames split evenly over the workers, in
    rounds of at most 240 frames a segment); ``warmup``: frames each segment dreams before its first one (not written); ``overlap``:
    frames cross-faded with the previous segment at each seam.
    """

    workers: int | None = None
    ray_address: str | None = None
    segment: int | None = None
    warmup: int = FARM_WARMUP
    overlap: int = FARM_OVERLAP

    @property
    def distributed(self) -> bool:
        return self.workers is not None or self.ray_address is not None

    def check(self) -> None:
        check_positive_int("workers", self.workers, allow_none=True)
        check_positive_int("segment", self.segment, allow_none=True)
        for name in ("warmup", "overlap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise DreamError(f"{name} must be a whole number of at least 0, got {value!r}")
        if self.segment is not None and self.segment <= self.overlap:
            raise DreamError(f"segment ({self.segment} frames) must be longer than the overlap "
                             f"({self.overlap} frames): give a larger --segment or a smaller --overlap")
        if self.workers is not None and self.ray_address is not None:
            raise DreamError("give --workers (a local Ray) or --ray ADDRESS (a running cluster), not both")
        if self.ray_address is not None and not str(self.ray_address).strip():
            raise DreamError("--ray needs an address: auto, host:port or ray://host:10001")
