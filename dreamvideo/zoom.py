"""Infinite zoom: dream, move the dream a little (zoom, rotate, translate), dream again.

Motion values are PER FRAME: ``zoom=1.02`` magnifies each frame 1.02x relative to the one before, whatever
the fps; ``angle`` is degrees per frame (counter-clockwise), ``translate_x``/``translate_y`` pixels per
frame (the picture moves right/down for positive values), ``center_x``/``center_y`` the zoom centre as a
fraction of the width/height. Each may be a number, a keyframe string (``"0:(1.02), 60:(1.05)"``) or a
callable of the frame number. To keep a speed when changing fps, convert with powers:
``dreamvideo.schedules.per_frame_rate(1.04, 30, fps)`` gives 1.04 ** (30 / fps).

Colour coherence: a feedback loop drifts (colours saturate, the picture darkens or burns out), so every
frame's CIELAB mean and spread are pulled toward a reference: the first frame, or ``colour_reference``;
then its mean chroma too: matching a* and b* one by one leaves the mean chroma free to creep up (+5.0% over
120 frames of 512x512 from samples/coffee.png), as the dream turns the greys into colours while the spread
of a* and b* stays put.

Seamless loop (``loop=True``): ``overlap`` extra frames are rendered past the end, with the motion
schedules repeating (frame N + i moves like frame i). Output frame i < overlap is a cross-fade from
rendered frame N + i to rendered frame i, so the last output frame (rendered N - 1) is followed by
rendered frame N, exactly as in the unbroken feedback loop; the cross-fade then hands over to the head.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .animation import carried_steps_schedule, check_schedules, dream_frame, frame_rng, make_dreamer, \
    prepare_animation, to_uint8
from .options import default_output, file_identity, package_version, parse_fps, plain_value
from .errors import DreamError
from .renderfile import write_render_file
from .colour import match_chroma, mean_chroma

logger = logging.getLogger(__name__)

# Each zoom frame must invent new detail where the picture was magnified: a larger share of --steps than
# a video's carried frames (see --carried-steps).
CARRIED_STEPS_SHARE = 0.3


@dataclass
class ZoomOptions:
    """Options of ``dreamvideo zoom`` beyond the dream options."""

    frames: int = 120
    fps: Any = 24
    size: str = "512x512"
    zoom: Any = 1.02
    angle: Any = 0.0
    translate_x: Any = 0.0
    translate_y: Any = 0.0
    center_x: Any = 0.5
    center_y: Any = 0.5
    carried_steps: Any = None
    colour_match: Any = 1.0
    colour_reference: str | None = None
    loop: bool = False
    overlap: int | None = None
    interpolation: str = "lanczos"
    quality: int = 18
    codec: str | None = None
    restart: bool = False


def parse_size(text: str) -> tuple[int, int]:
    """``WxH`` -> (width, height), both at least 16 px."""
    try:
        width, height = (int(part) for part in str(text).lower().split("x"))
    except ValueError:
        raise DreamError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 512x512") from None
    if width < 16 or height < 16:
        raise DreamError(f"size {text!r} is too small: at least 16x16")
    return width, height


def noise_canvas(width: int, height: int, seed: int) -> np.ndarray:
    """A seeded start image: soft coloured clouds over grey, uint8 (height, width, 3).

    Pure white noise gives the network nothing to grab at the low octaves; a few octaves of smooth noise
    (each finer one fainter) do.
    """
    import cv2

    rng = np.random.default_rng(seed)
    canvas = np.full((height, width, 3), 128.0, np.float32)
    for cells, amplitude in ((4, 40.0), (16, 20.0), (64, 10.0)):
        small = rng.normal(0.0, amplitude, (cells, cells, 3)).astype(np.float32)
        canvas += cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return to_uint8(canvas)


def render_zoom(input: str | os.PathLike | None = None, output: str | os.PathLike | None = None, *,
                preview: bool = False, **options) -> str:
    """Render an infinite-zoom animation; returns the output path.

    input: a start image, or None to start from seeded noise on a ``size`` canvas. output: ``.gif``,
    ``.mp4`` or a folder of PNGs (default ``<stem>_zoom.gif`` beside the input, or ``zoom.gif``).
    Options: those of :class:`DreamOptions` and :class:`ZoomOptions` (see the module docstring).
    """
    from . import media, motion
    from .render import CarryResult, FrameStore, repeat_none, run_loop
    from .schedules import as_schedule, validate

    if output is None:
        output = default_output(input, ".gif").replace("_dream.gif", "_zoom.gif") if input else "zoom.gif"
    output = str(output)
    dream_opts, zoom_opts, output = prepare_animation(input, output, options, ZoomOptions, preview=preview,
                                                      what="zoom")
    frames = zoom_opts.frames
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 1:
        raise DreamError(f"frames must be a whole number of at least 1, got {frames!r}")
    fps = parse_fps(zoom_opts.fps)
    overlap = 0
    if zoom_opts.loop:
        overlap = zoom_opts.overlap if zoom_opts.overlap is not None else min(24, max(1, frames // 4))
        if not 0 < overlap < frames:
            raise DreamError(f"overlap must be between 1 and frames - 1 ({frames - 1}), got {overlap}")
    rendered = frames + overlap
    check_schedules(dream_opts, frames)  # frames past the end repeat the schedules from frame 0

    def periodic(name, value, **checks):
        schedule = as_schedule(value, name=name)
        validate(schedule, frames, **checks)
        return lambda index: float(schedule(index % frames))

    zoom = periodic("zoom", zoom_opts.zoom, strictly_positive=True)
    angle = periodic("angle", zoom_opts.angle)
    shift_x = periodic("translate x", zoom_opts.translate_x)
    shift_y = periodic("translate y", zoom_opts.translate_y)
    centre_x = periodic("center x", zoom_opts.center_x)
    centre_y = periodic("center y", zoom_opts.center_y)
    colour = periodic("colour match", zoom_opts.colour_match, minimum=0.0, maximum=1.0)
    carried_steps = carried_steps_schedule(zoom_opts.carried_steps, dream_opts.steps, CARRIED_STEPS_SHARE, frames)

    if input is not None:
        start_image = media.resize_max_side(media.read_image(input), dream_opts.max_side)
    else:
        width, height = parse_size(zoom_opts.size)
        scale = min(1.0, (dream_opts.max_side or max(width, height)) / max(width, height))
        start_image = noise_canvas(max(16, round(width * scale)), max(16, round(height * scale)), dream_opts.seed)
    reference = {"stats": None, "chroma": None}
    if zoom_opts.colour_reference is not None:
        reference_image = media.read_image(zoom_opts.colour_reference)
        reference["stats"] = motion.colour_stats(reference_image)
        reference["chroma"] = mean_chroma(reference_image)
    dreamer = make_dreamer(dream_opts)
    height, width = start_image.shape[:2]

    def carry(index, _source, _previous_source, previous_dream):
        if previous_dream is None:
            return CarryResult(start_image.astype(np.float32), None)
        moved = motion.affine_warp(previous_dream, zoom=zoom(index), angle=angle(index),
                                   translate=(shift_x(index), shift_y(index)),
                                   center=motion.relative_center((height, width), (centre_x(index), centre_y(index))),
                                   interpolation=zoom_opts.interpolation)
        return CarryResult(moved.astype(np.float32), carried_steps(index % frames))

    def dream(index, carry_result):
        result = to_uint8(dream_frame(dreamer, carry_result.start, dream_opts, index % frames,
                                       steps=carry_result.steps, rng=frame_rng(dream_opts.seed, index)))
        strength = colour(index)
        if reference["stats"] is not None and strength > 0:
            result = to_uint8(motion.match_colour(result, reference["stats"], strength))
            result = match_chroma(result, reference["chroma"], strength)
        return result

    def remember_reference(index, _source, result):
        if index == 0 and reference["stats"] is None:
            reference["stats"] = motion.colour_stats(result)
            reference["chroma"] = mean_chroma(result)

    plain_options = {**dream_opts.resolved(frames=rendered),
                     **{k: plain_value(v, rendered) for k, v in vars(zoom_opts).items() if k != "restart"}}
    settings = {"command": "zoom", "version": package_version(), "output": output,
                "input": file_identity(input) if input else None, **plain_options}
    store = FrameStore(output, settings, restart=zoom_opts.restart)

    if overlap == 0:
        with media.open_sink(output, fps=fps, quality=zoom_opts.quality, codec=zoom_opts.codec, loop=True) as sink:
            run_loop(repeat_none(rendered), carry, dream, sink, store, total=rendered,
                     quiet=dream_opts.quiet, description="zooming", on_frame=remember_reference)
    else:
        run_loop(repeat_none(rendered), carry, dream, _NullSink(), store, total=rendered,
                 quiet=dream_opts.quiet, description="zooming", on_frame=remember_reference)
        with media.open_sink(output, fps=fps, quality=zoom_opts.quality, codec=zoom_opts.codec, loop=True) as sink:
            for frame in loop_frames(store.load, frames, overlap):
                sink.write(frame)
    store.remove()
    write_render_file("zoom", input, output, plain_options)
    return output


def loop_frames(load, frames: int, overlap: int):
    """The looped output: frames 0..frames-1, the first ``overlap`` cross-faded from frames + i.

    ``load(i)`` returns rendered frame i, uint8 (H, W, 3). Yields uint8 frames.
    """
    for index in range(frames):
        frame = load(index)
        if index < overlap:
            # Weight of the tail frame: 1 at index 0 (pure continuation of the last frame), falling to 0.
            tail_weight = 1.0 - index / overlap
            frame = to_uint8(tail_weight * load(frames + index).astype(np.float32)
                             + (1.0 - tail_weight) * frame.astype(np.float32))
        yield frame


class _NullSink:
    def write(self, frame):
        pass

