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
from typing import Sequence

import numpy as np

from .animation import StillJob, dream_still, make_dreamer
# Older scripts and tests import these helpers from the façade.
from .animation import MaskSource, check_schedules, dream_frame, log_closeness, to_uint8  # noqa: F401
from .errors import DreamError
from .media import resize_max_side
from .options import DreamOptions, FarmOptions, default_output, preview_options, preview_output, split_options

logger = logging.getLogger(__name__)

__all__ = ["DreamOptions", "dream_array", "dream_files", "dream_image", "measure"]


def dream_array(image: np.ndarray, **options) -> np.ndarray:
    """Dream one uint8 (H, W, 3) RGB array; returns uint8 (H, W, 3) RGB (resized if ``max_side``)."""
    opts, rest = split_options(DreamOptions, options)
    if rest:
        raise DreamError(f"unknown option {sorted(rest)[0]!r} for dream_array")
    return dream_still(image, opts)


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


def dream_image(input: str | os.PathLike, output: str | os.PathLike | None = None, *, preview: bool = False,
                **options) -> str:
    """Dream a still image file and write the result; returns the output path.

    Grayscale and RGBA inputs are converted to RGB (alpha is composited over white). Output defaults to
    ``<stem>_dream.png`` beside the input. ``preview``: a quick look at reduced size and steps, written
    as ``<name>_preview.<ext>``. Options: those of :class:`DreamOptions`, and ``workers``/``ray_address``
    to dream it on Ray (:class:`dreamvideo.options.FarmOptions`). A render file with every setting is
    written beside the output (``<output>.dreamvideo.json``, see ``dreamvideo render``).
    """
    return dream_files([input], output, preview=preview, **options)[0]


def dream_files(inputs: Sequence[str | os.PathLike], output: str | os.PathLike | None = None, *,
                preview: bool = False, **options) -> list[str]:
    """Dream several stills and videos with the same options; returns their output paths.

    Each output goes beside its input (``<stem>_dream.png`` / ``.mp4``), or to ``output`` when there is
    one input. Video options apply to the videos only. With ``workers`` or ``ray_address`` (see
    :class:`dreamvideo.options.FarmOptions`) everything is dreamed on Ray at once: videos in segments,
    stills as one task each, under one progress bar. Without, one after another in this process.
    """
    from dataclasses import fields

    from . import media
    from .video import prepare_video, render_job

    farm, options = split_options(FarmOptions, options)
    farm.check()
    inputs = list(inputs)
    if not inputs:
        raise DreamError("no input given")
    if output is not None and len(inputs) > 1:
        raise DreamError(f"-o/output names one file, and {len(inputs)} inputs were given: leave it out and "
                         "each output is written beside its input")
    dream_keys = {f.name for f in fields(DreamOptions) if f.init}
    jobs = [prepare_video(path, output, options, preview) if media.is_video_path(path) else
            prepare_still(path, output, {k: v for k, v in options.items() if k in dream_keys}, preview)
            for path in inputs]
    if farm.distributed:
        from .farm import render_on_ray

        render_on_ray(jobs, farm)
    else:
        for job in jobs:
            if isinstance(job, StillJob):
                job.write(dream_still(job.read(), job.opts))
            else:
                render_job(job)
    return [job.output for job in jobs]


def prepare_still(input, output, options: dict, preview: bool = False) -> StillJob:
    """Check a still render's options and output (DreamError on any problem) without dreaming."""
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
    return StillJob(str(input), output, opts)
