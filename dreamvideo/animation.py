"""What every render shares: the cached Dreamer, one frame dreamed with its scheduled settings, mask
strengths, per-frame random generators and the common start of a video or zoom render.

Below the recipes (video.py, zoom.py, stills in api.py) and above the kernel; it never imports them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .errors import DreamError
from .kernel import Dreamer, check_dream_settings
from .models import load_model
from .options import DreamOptions, check_quality, preview_options, preview_output, split_options

logger = logging.getLogger(__name__)


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


def log_closeness(dreamer: Dreamer, before: np.ndarray, after: np.ndarray) -> None:
    """Log how much closer to the guide/style images the dream came (nothing without such terms)."""
    if not any(t.kind in ("guide", "style") for t in dreamer.objective.terms):
        return
    start, end = dreamer.closeness(before), dreamer.closeness(after)
    for name in start:
        better = "higher" if name.startswith("guide") else "lower"
        logger.info("%s %s: input %.4f -> result %.4f (%s is closer)",
                    name, "similarity" if name.startswith("guide") else "distance", start[name], end[name], better)


def dream_still(image: np.ndarray, opts: DreamOptions) -> np.ndarray:
    """Dream one picture as frame 0: uint8 (H, W, 3) RGB in, uint8 (H, W, 3) RGB out (resized if max_side)."""
    from .media import resize_max_side

    check_schedules(opts, 1)
    image = resize_max_side(np.asarray(image), opts.max_side)
    strength = MaskSource(opts.mask).strength(0, *image.shape[:2])
    dreamer = make_dreamer(opts)
    result = to_uint8(dream_frame(dreamer, image, opts, frame=0, strength=strength))
    log_closeness(dreamer, image, result)
    return result


@dataclass
class StillJob:
    """One still render, checked, before any dreaming (shared by the single process and the render farm)."""

    input: str
    output: str
    opts: DreamOptions

    def read(self) -> np.ndarray:
        from .media import read_image

        return read_image(self.input)

    def write(self, result: np.ndarray) -> None:
        """Write the dreamed uint8 (H, W, 3) RGB picture and its render file."""
        from .media import write_image
        from .renderfile import write_render_file

        write_image(self.output, result)
        write_render_file("still", self.input, self.output, self.opts.resolved(frames=1))  # a still is frame 0


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
                 strength=None, dream_octaves=None):
    """Dream one frame with the options' settings at frame ``frame`` (float32 (H, W, 3) in [0, 255] out).

    ``steps``: steps per octave instead of the scheduled ones; ``dream_octaves``: dream only the smallest
    this many octaves (negative: all but the largest -n; a slice: those octaves, smallest first; None: all);
    both for frames that start from a carried dream.
    """
    from .schedules import as_schedule

    octaves = int(round(as_schedule(opts.octaves, name="octaves")(frame)))
    steps_now = steps if steps is not None else int(round(as_schedule(opts.steps, name="steps")(frame)))
    step_size = float(as_schedule(opts.step_size, name="step size")(frame))
    octave_scale = float(as_schedule(opts.octave_scale, name="octave scale")(frame))
    check_dream_settings(octaves=octaves, octave_scale=octave_scale, steps=steps_now, step_size=step_size)
    return dreamer.dream(image, octaves=octaves, octave_scale=octave_scale, steps=steps_now,
                         step_size=step_size, weights=opts.objective.weights_at(frame),
                         rng=rng if rng is not None else frame_rng(opts.seed, frame), strength=strength,
                         dream_octaves=dream_octaves, normalize=opts.normalize, decorrelate=opts.decorrelate,
                         range_limit=opts.range_limit)


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
    media.check_codec(extra.codec, check_animation_output(output, input, what), output)
    return dream_opts, extra, output


def check_animation_output(output: str, input, what: str) -> str:
    """The kind of an animation's output (see media.output_kind), checked before any work: DreamError for a
    still image type, or for the input file itself."""
    from . import media

    kind = media.check_output(output, input, animated=True)
    if kind == "image":
        raise DreamError(f"cannot write a {what} to {output}: use .mp4, .gif, .webp, .webm, .mov or a folder "
                         "ending in /")
    return kind
