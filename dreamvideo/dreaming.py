"""What every recipe shares to dream one frame: the cached Dreamer, the frame's scheduled kernel settings,
its random rolls, and the one place a dream is quantised.

Below the recipes (video.py, zoom.py, still.py) and above the kernel; it never imports them.
"""

from __future__ import annotations

import logging

import numpy as np

from .arrays import float255_to_uint8
from .kernel import Dreamer
from .models import load_model
from .options import DreamOptions

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


def cross_fade(first: np.ndarray, second: np.ndarray, weight: float) -> np.ndarray:
    """(1 - weight) * first + weight * second of two uint8 (H, W, 3) frames, quantised: a uint8 frame (the
    one cross-fade: a zoom's loop and the farm's seams)."""
    return float255_to_uint8((1.0 - weight) * first.astype(np.float32) + weight * second.astype(np.float32))


def carried_steps_schedule(carried_steps, steps, share: float):
    """Steps per octave for frames that start from a carried dream, as a function of the frame number.

    ``carried_steps`` (a parsed schedule, or None) wins; None means ``share`` of ``steps``, at least 1.
    """
    if carried_steps is not None:
        return lambda frame: int(round(carried_steps(frame)))
    return lambda frame: max(1, int(round(steps(frame) * share)))


def dream_frame(dreamer: Dreamer, image, opts: DreamOptions, frame: int, steps=None, rng=None,
                strength=None, dream_octaves=None):
    """Dream one frame with the options' settings at frame ``frame`` (float32 (H, W, 3) in [0, 255] out).

    ``steps``: steps per octave instead of the scheduled ones; ``dream_octaves``: dream only the smallest
    this many octaves (negative: all but the largest -n; a slice: those octaves, smallest first; None: all);
    both for frames that start from a carried dream. The schedules were checked over the render's frames
    (:meth:`DreamOptions.check_schedules`) before the first one.
    """
    return dreamer.dream(image, octaves=int(round(opts.schedule("octaves")(frame))),
                         octave_scale=float(opts.schedule("octave_scale")(frame)),
                         steps=steps if steps is not None else int(round(opts.schedule("steps")(frame))),
                         step_size=float(opts.schedule("step_size")(frame)),
                         weights=opts.objective.weights_at(frame),
                         rng=rng if rng is not None else frame_rng(opts.seed, frame), strength=strength,
                         dream_octaves=dream_octaves, normalize=opts.normalize, decorrelate=opts.decorrelate,
                         range_limit=opts.range_limit)


def frame_rng(seed: int, frame: int) -> np.random.Generator:
    """The random rolls of one frame: depends only on (seed, frame), so a resumed render matches."""
    return np.random.default_rng([seed, frame])


def log_closeness(dreamer: Dreamer, before: np.ndarray, after: np.ndarray) -> None:
    """Log how much closer to the guide/style images the dream came (nothing without such terms)."""
    if not any(t.kind in ("guide", "style") for t in dreamer.objective.terms):
        return
    start, end = dreamer.closeness(before), dreamer.closeness(after)
    for name in start:
        better = "higher" if name.startswith("guide") else "lower"
        logger.info("%s %s: input %.4f -> result %.4f (%s is closer)",
                    name, "similarity" if name.startswith("guide") else "distance", start[name], end[name], better)
