"""The Python API: one call per job, with the CLI's options as keyword arguments of the same names.

    import dreamvideo as dv
    dv.dream_image("photo.jpg", "dream.png", layer=["block4_conv3", "block3_conv3:0.5"], steps=10)
    dv.render_video("clip.mp4", "clip_dream.mp4", max_side=480)
    dv.render_zoom("start.png", "zoom.gif", frames=120, zoom="0:(1.02), 60:(1.05)")

Images returned or accepted as arrays are numpy uint8 (H, W, 3) RGB.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import DreamError
from .kernel import Dreamer, check_dream_settings
from .models import DEFAULT_MODEL, REGISTRY, load_model
from .objectives import Objective, as_objective

logger = logging.getLogger(__name__)


@dataclass
class DreamOptions:
    """The kernel and model options shared by every command (the CLI's common flags)."""

    model: str = DEFAULT_MODEL
    layer: Any = None  # layer specs (see objectives), an Objective, or None for the model's default
    octaves: Any = 4
    octave_scale: float = 1.4
    steps: Any = 10
    step_size: Any = 1.5
    seed: int = 0
    max_side: int | None = None
    precision: str = "auto"
    tile_size: int = 512
    quiet: bool = False
    objective: Objective = field(init=False, repr=False, default=None)

    def __post_init__(self):
        if isinstance(self.layer, Objective):
            self.objective = self.layer
        else:
            default = REGISTRY[self.model].default_layers if self.model in REGISTRY else None
            if self.layer in (None, []) and default is None:
                raise DreamError(f"model {self.model} is a file: name the layers to dream with --layer")
            self.objective = as_objective(self.layer or None, default or ())
        check_positive_int("max side", self.max_side, allow_none=True)
        check_positive_int("tile size", self.tile_size)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise DreamError(f"seed must be a whole number, got {self.seed!r}")

    def resolved(self) -> dict:
        """The options as plain values (layer specs as text), for settings files and resume checks."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.init and f.name != "layer"}
        out["layer"] = self.objective.specs()
        for key in ("octaves", "steps", "step_size"):
            value = out[key]
            out[key] = value if isinstance(value, (int, float, str)) else repr(value)
        out.pop("quiet")
        return out


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


_DREAMERS: dict[tuple, Dreamer] = {}


def make_dreamer(options: DreamOptions) -> Dreamer:
    """The Dreamer for these options, reused while they stay the same (building a model takes seconds)."""
    key = (options.model, tuple(options.objective.specs()), options.precision, options.tile_size)
    if key not in _DREAMERS:
        if len(_DREAMERS) >= 4:
            _DREAMERS.pop(next(iter(_DREAMERS)))
        feature_model = load_model(options.model, options.objective.layers, options.precision)
        _DREAMERS[key] = Dreamer(feature_model, options.objective, options.tile_size)
    return _DREAMERS[key]


def resize_max_side(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downscale (never upscale) uint8 RGB so its longest side is at most ``max_side``."""
    import cv2

    if max_side is None or max(image.shape[:2]) <= max_side:
        return image
    scale = max_side / max(image.shape[:2])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float [0, 255] -> uint8, rounded (the one place the project quantises a dream)."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def dream_array(image: np.ndarray, **options) -> np.ndarray:
    """Dream one uint8 (H, W, 3) RGB array; returns uint8 (H, W, 3) RGB (resized if ``max_side``)."""
    opts, rest = split_options(DreamOptions, options)
    if rest:
        raise DreamError(f"unknown option {sorted(rest)[0]!r} for dream_array")
    image = resize_max_side(np.asarray(image), opts.max_side)
    return to_uint8(dream_frame(make_dreamer(opts), image, opts, frame=0))


def dream_frame(dreamer: Dreamer, image, opts: DreamOptions, frame: int, steps=None, rng=None,
                 strength=None):
    from .schedules import as_schedule

    octaves = int(round(as_schedule(opts.octaves, name="octaves")(frame)))
    steps_now = steps if steps is not None else int(round(as_schedule(opts.steps, name="steps")(frame)))
    step_size = float(as_schedule(opts.step_size, name="step size")(frame))
    check_dream_settings(octaves=octaves, octave_scale=opts.octave_scale, steps=steps_now, step_size=step_size)
    return dreamer.dream(image, octaves=octaves, octave_scale=opts.octave_scale, steps=steps_now,
                         step_size=step_size, weights=opts.objective.weights_at(frame),
                         rng=rng if rng is not None else frame_rng(opts.seed, frame), strength=strength)


def frame_rng(seed: int, frame: int) -> np.random.Generator:
    """The random rolls of one frame: depends only on (seed, frame), so a resumed render matches."""
    return np.random.default_rng([seed, frame])


def default_output(input_path: str | os.PathLike, suffix: str) -> str:
    """``<stem>_dream<suffix>`` next to the input (never the input itself)."""
    path = Path(input_path)
    return str(path.with_name(f"{path.stem}_dream{suffix}"))


def dream_image(input: str | os.PathLike, output: str | os.PathLike | None = None, **options) -> str:
    """Dream a still image file and write the result; returns the output path.

    Grayscale and RGBA inputs are converted to RGB (alpha is dropped). Output defaults to
    ``<stem>_dream.png`` beside the input. Options: those of :class:`DreamOptions`.
    """
    opts, rest = split_options(DreamOptions, options)
    if rest:
        raise DreamError(f"unknown option {sorted(rest)[0]!r} for a still image")
    from . import media

    output = str(output) if output is not None else default_output(input, ".png")
    kind = media.check_output(output, input)
    if kind != "image":
        raise DreamError(f"cannot write a still image to {output}: use .png, .jpg or another image extension")
    image = media.read_image(input)
    dreamed = dream_array(image, **{f.name: getattr(opts, f.name) for f in fields(opts) if f.init})
    media.write_image(output, dreamed)
    return output


def validate_model_options(opts: DreamOptions) -> None:
    """Fail fast on a bad model or layer, before any decoding: builds (and caches) the model."""
    make_dreamer(opts)


def parse_fps(value) -> "Fraction | None":
    """--fps as an exact fraction: 25, 29.97 or 30000/1001."""
    from fractions import Fraction

    if value is None:
        return None
    try:
        fps = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError):
        raise DreamError(f"fps {value!r} is not a number: give e.g. 25, 29.97 or 30000/1001") from None
    if fps <= 0:
        raise DreamError(f"fps must be positive, got {value!r}")
    return fps


def plain_value(value):
    return value if value is None or isinstance(value, (int, float, str, bool)) else repr(value)


def package_version() -> str:
    from . import __version__

    return __version__


def file_identity(path) -> dict:
    stat = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": stat.st_size, "mtime": int(stat.st_mtime)}
