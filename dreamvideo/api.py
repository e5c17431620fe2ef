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
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import DreamError
from .media import resize_max_side
from .kernel import Dreamer, check_dream_settings
from .models import DEFAULT_MODEL, REGISTRY, is_model_file, load_model
from .objectives import Objective, as_objective

logger = logging.getLogger(__name__)


@dataclass
class DreamOptions:
    """The kernel, model and objective options shared by every command (the CLI's common flags).

    The objective is built from ``layer`` (specs, see :mod:`dreamvideo.objectives`, or an Objective),
    ``guide``/``style`` images with their weights and layers, and ``tv`` (smoothing: subtracts ``tv``
    times the total variation). Without ``layer``, the model's default layers are dreamed unless a guide
    or style is given, which then leads alone. ``mask``: a grayscale image or video scaling how strongly
    each pixel is dreamed (black: untouched, white: full strength).
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
    quiet: bool = False
    objective: Objective = field(init=False, repr=False, default=None)

    def __post_init__(self):
        if self.model not in REGISTRY and not is_model_file(str(self.model)):
            raise DreamError(f"unknown model {self.model!r}: choose one of {', '.join(REGISTRY)} "
                             "or give the path of a .keras model file")
        self.objective = build_objective(self)
        check_positive_int("max side", self.max_side, allow_none=True)
        check_positive_int("tile size", self.tile_size)
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


_DREAMERS: dict[tuple, Dreamer] = {}


def make_dreamer(options: DreamOptions) -> Dreamer:
    """The Dreamer for these options, reused while they stay the same (building a model takes seconds)."""
    key = (options.model, options.objective.key(), options.precision, options.tile_size)
    if key not in _DREAMERS:
        from . import media

        if len(_DREAMERS) >= 4:
            _DREAMERS.pop(next(iter(_DREAMERS)))
        feature_model = load_model(options.model, options.objective.layers, options.precision)
        _DREAMERS[key] = Dreamer(feature_model, options.objective, options.tile_size, media.read_image)
    return _DREAMERS[key]


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float [0, 255] -> uint8, rounded (the one place the project quantises a dream)."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def dream_array(image: np.ndarray, **options) -> np.ndarray:
    """Dream one uint8 (H, W, 3) RGB array; returns uint8 (H, W, 3) RGB (resized if ``max_side``)."""
    opts, rest = split_options(DreamOptions, options)
    if rest:
        raise DreamError(f"unknown option {sorted(rest)[0]!r} for dream_array")
    return _dream_still(image, opts)


def _dream_still(image: np.ndarray, opts: DreamOptions) -> np.ndarray:
    check_schedules(opts, 1)
    image = resize_max_side(np.asarray(image), opts.max_side)
    strength = MaskSource(opts.mask).strength(0, *image.shape[:2])
    dreamer = make_dreamer(opts)
    result = to_uint8(dream_frame(dreamer, image, opts, frame=0, strength=strength))
    log_closeness(dreamer, image, result)
    return result


def measure(images: Sequence[str | os.PathLike], **options) -> dict[str, dict[str, float]]:
    """Closeness of image files to the guide and/or style of ``options`` (see objectives.closeness).

    Returns {path: {"guide": similarity (higher is closer), "style": distance (lower is closer)}}.
    Images are read like inputs (``max_side`` applies), so a dream and its input compare fairly.
    """
    from . import media

    opts, rest = split_options(DreamOptions, options)
    if rest:
        raise DreamError(f"unknown option {sorted(rest)[0]!r} for measure")
    if opts.guide is None and opts.style is None:
        raise DreamError("measure needs a --guide or a --style image to compare with")
    dreamer = make_dreamer(opts)
    return {str(path): dreamer.closeness(resize_max_side(media.read_image(path), opts.max_side).astype(np.float32))
            for path in images}


def log_closeness(dreamer: Dreamer, before: np.ndarray, after: np.ndarray) -> None:
    """Log how much closer to the guide/style images the dream came (nothing without such terms)."""
    if not any(t.kind in ("guide", "style") for t in dreamer.objective.terms):
        return
    start, end = dreamer.closeness(before), dreamer.closeness(after)
    for name in start:
        better = "higher" if name.startswith("guide") else "lower"
        logger.info("%s %s: input %.4f -> result %.4f (%s is closer)",
                    name, "similarity" if name.startswith("guide") else "distance", start[name], end[name], better)


def check_schedules(opts: DreamOptions, frames: int) -> None:
    """Check the scheduled kernel settings over every frame before any work (DreamError names the frame)."""
    from .schedules import as_schedule, validate

    validate(as_schedule(opts.octaves, name="octaves"), frames, minimum=1, integer=True)
    validate(as_schedule(opts.steps, name="steps"), frames, minimum=1, integer=True)
    validate(as_schedule(opts.step_size, name="step size"), frames, strictly_positive=True)
    scales = validate(as_schedule(opts.octave_scale, name="octave scale"), frames)
    if (scales <= 1.0).any():
        first = int(np.argmax(scales <= 1.0))
        raise DreamError(f"octave scale must be above 1, but is {scales[first]} at frame {first}")


def carried_steps_schedule(carried_steps, steps, share: float, frames: int):
    """Steps per octave for frames that start from a carried dream, as a function of the frame number.

    ``carried_steps`` (number, keyframes, callable or None) wins; None means ``share`` of ``steps``, at
    least 1. Checked over ``frames`` frames (whole numbers of at least 1) before any work.
    """
    from .schedules import as_schedule, validate

    if carried_steps is not None:
        carried = as_schedule(carried_steps, name="carried steps")
        validate(carried, frames, minimum=1, integer=True)
        return lambda frame: int(round(carried(frame)))
    full = as_schedule(steps, name="steps")
    return lambda frame: max(1, int(round(full(frame) * share)))


def dream_frame(dreamer: Dreamer, image, opts: DreamOptions, frame: int, steps=None, rng=None,
                 strength=None):
    from .schedules import as_schedule

    octaves = int(round(as_schedule(opts.octaves, name="octaves")(frame)))
    steps_now = steps if steps is not None else int(round(as_schedule(opts.steps, name="steps")(frame)))
    step_size = float(as_schedule(opts.step_size, name="step size")(frame))
    octave_scale = float(as_schedule(opts.octave_scale, name="octave scale")(frame))
    check_dream_settings(octaves=octaves, octave_scale=octave_scale, steps=steps_now, step_size=step_size)
    return dreamer.dream(image, octaves=octaves, octave_scale=octave_scale, steps=steps_now,
                         step_size=step_size, weights=opts.objective.weights_at(frame),
                         rng=rng if rng is not None else frame_rng(opts.seed, frame), strength=strength)


def mask_to_strength(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 (h, w, 3) mask -> float32 (height, width) dream strength in [0, 1] (its gray level)."""
    import cv2

    gray = mask.astype(np.float32).mean(axis=2) / 255.0
    if gray.shape != (height, width):
        gray = cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)
    return np.clip(gray, 0.0, 1.0)


class MaskSource:
    """Per-frame dream strength from ``--mask``: a still (every frame) or a video (frame by frame).

    A mask video must have as many frames as the frames being dreamed (at the same rate).
    """

    def __init__(self, path: str | None, *, frames: int | None = None, fps=None, start_frame: int = 0):
        from . import media

        self.path = path
        self._still = None
        self._still_strength = None
        self._frames = None
        self._position = 0
        if path is None:
            return
        if media.is_video_path(path):
            count = media.count_frames(path, fps)
            if frames is not None and count - start_frame < frames:
                raise DreamError(f"mask video {path} has {count} frames at {fps} fps; the render needs "
                                 f"{frames} from frame {start_frame}: give a mask with the same frame count")
            self._frames = media.read_frames(path, start_frame=start_frame, fps=fps)
        else:
            self._still = media.read_image(path)

    def strength(self, index: int, height: int, width: int) -> np.ndarray | None:
        """The strength of frame ``index`` or None for no mask.

        Indices count from the render's first frame and must not go backwards (a resumed render
        skips ahead; the mask video is read past the skipped frames).
        """
        if self.path is None:
            return None
        if self._still is not None:
            # A still mask is the same for every frame: convert it once per frame size, not per frame.
            if self._still_strength is None or self._still_strength.shape != (height, width):
                self._still_strength = mask_to_strength(self._still, height, width)
            return self._still_strength
        frame = None
        while self._position <= index:
            frame = next(self._frames, None)
            self._position += 1
            if frame is None:
                raise DreamError(f"mask video {self.path} ran out of frames at frame {index}")
        if frame is None:
            raise DreamError(f"mask frame {index} was asked for twice")
        return mask_to_strength(frame, height, width)


def frame_rng(seed: int, frame: int) -> np.random.Generator:
    """The random rolls of one frame: depends only on (seed, frame), so a resumed render matches."""
    return np.random.default_rng([seed, frame])


def default_output(input_path: str | os.PathLike, suffix: str) -> str:
    """``<stem>_dream<suffix>`` next to the input (never the input itself)."""
    path = Path(input_path)
    return str(path.with_name(f"{path.stem}_dream{suffix}"))


def dream_image(input: str | os.PathLike, output: str | os.PathLike | None = None, *, preview: bool = False,
                **options) -> str:
    """Dream a still image file and write the result; returns the output path.

    Grayscale and RGBA inputs are converted to RGB (alpha is composited over white). Output defaults to
    ``<stem>_dream.png`` beside the input. ``preview``: a quick look at reduced size and steps, written
    as ``<name>_preview.<ext>``. Options: those of :class:`DreamOptions`. A render file with every
    setting is written beside the output (``<output>.dreamvideo.json``, see ``dreamvideo render``).
    """
    from . import media

    output = str(output) if output is not None else default_output(input, ".png")
    if preview:
        options, output = preview_options(options), preview_output(output)
    opts, rest = split_options(DreamOptions, options)
    if rest:
        raise DreamError(f"unknown option {sorted(rest)[0]!r} for a still image")
    kind = media.check_output(output, input)
    if kind != "image":
        raise DreamError(f"cannot write a still image to {output}: use .png, .jpg or another image extension")
    image = media.read_image(input)
    media.write_image(output, _dream_still(image, opts))
    from .renderfile import write_render_file

    write_render_file("still", input, output, opts.resolved(frames=1))  # a still is frame 0 alone
    return output


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


# -- render files ------------------------------------------------------------------------------------

PREVIEW_MAX_SIDE = 256
PREVIEW_SECONDS = 5


def prepare_animation(input, output: str, options: dict, extra_options, *, preview: bool, what: str):
    """The shared start of a video or zoom render: options split and checked, output checked.

    Returns (DreamOptions, the ``extra_options`` dataclass, output path, preview-renamed if asked).
    """
    from . import media

    if preview:
        options, output = preview_options(options, video=what == "video"), preview_output(output)
    dream_opts, rest = split_options(DreamOptions, options)
    extra, rest = split_options(extra_options, rest)
    if rest:
        raise DreamError(f"unknown option {sorted(rest)[0]!r} for a {what}")
    check_quality(extra.quality)
    if media.check_output(output, input) == "image":
        raise DreamError(f"cannot write a {what} to {output}: use .mp4, .gif or a folder ending in /")
    return dream_opts, extra, output


def preview_options(options: dict, video: bool = False) -> dict:
    """Settings for a quick look: longest side at most 256 px, a third of the steps, at most 3 octaves,
    and for a video with no --start/--end, its first 5 seconds."""
    from .schedules import as_schedule

    out = dict(options)
    out["max_side"] = min(options.get("max_side") or PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE)
    steps = options.get("steps", 10)
    out["steps"] = max(1, int(round(as_schedule(steps, name="steps")(0) / 3)))
    out["octaves"] = min(3, int(round(as_schedule(options.get("octaves", 4), name="octaves")(0))))
    if video and options.get("start") is None and options.get("end") is None:
        out["end"] = f"{PREVIEW_SECONDS}s"
    return out


def preview_output(output: str) -> str:
    """``out.mp4`` -> ``out_preview.mp4``; ``frames/`` -> ``frames_preview/``."""
    if output.endswith(("/", "\\")):
        return output.rstrip("/\\") + "_preview/"
    path = Path(output)
    return str(path.with_name(f"{path.stem}_preview{path.suffix}"))
