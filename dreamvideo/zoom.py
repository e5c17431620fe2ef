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

Seamless loop (``loop=True``): ``loop_fade`` extra frames are rendered past the end, with the motion
schedules repeating (frame N + i moves like frame i). Output frame i < loop_fade is a cross-fade from
rendered frame N + i to rendered frame i, so the last output frame (rendered N - 1) is followed by
rendered frame N, exactly as in the unbroken feedback loop; the cross-fade then hands over to the head.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace

import numpy as np

from .declare import parse_fps, take
from .arrays import float255_to_uint8
from .dreaming import carried_steps_schedule, cross_fade, dream_frame, frame_rng, make_dreamer
from .errors import DreamError
from .colour import match_chroma, mean_chroma
from .options import ZOOM_CARRIED_SHARE, ZOOM_FRAMES, DreamOptions, ZoomOptions, default_output, preview_options, \
    preview_output
from .render import CarryResult, Job, Recipe, file_identity, repeat_none, resume_settings

logger = logging.getLogger(__name__)


def parse_size(text: str) -> tuple[int, int]:
    """``WxH`` -> (width, height), both at least 16 px, within limits.MAX_SIDE and limits.MAX_PIXELS."""
    from . import limits

    try:
        parts = str(text).lower().split("x")
        for part in parts:
            limits.check_number_text(part, "size")
        width, height = (int(part) for part in parts)
    except ValueError:
        raise DreamError(f"size {limits.shown(text)} is not WIDTHxHEIGHT, e.g. 512x512") from None
    if width < 16 or height < 16:
        raise DreamError(f"size {text!r} is too small: at least 16x16")
    limits.check_canvas(width, height)
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
    return float255_to_uint8(canvas)


class ColourReference:
    """The colours a zoom keeps (the zoom recipe's state): CIELAB statistics and mean chroma of the
    ``--colour-reference`` image, or of the first frame once it is dreamed."""

    def __init__(self, image: np.ndarray | None = None):
        self.stats = self.chroma = None
        if image is not None:
            self.take(image)

    def take(self, image: np.ndarray) -> None:
        from .colour import colour_stats

        self.stats, self.chroma = colour_stats(image), mean_chroma(image)

    def snapshot(self) -> dict:
        if self.stats is None:
            return {}
        return {"mean": self.stats.mean.tolist(), "std": self.stats.std.tolist(), "chroma": self.chroma}

    def restore(self, state: dict | None) -> None:
        from .colour import ColourStats

        if state:
            self.stats = ColourStats(np.array(state["mean"], np.float64), np.array(state["std"], np.float64))
            self.chroma = state["chroma"]


@dataclass
class ZoomJob(Job):
    """One zoom render, checked, before any frame is dreamed. It renders ``frames + fade`` frames: with
    ``loop``, the last ``fade`` are cross-faded into the head (see the module's docstring)."""

    input: str | None
    output: str
    dream_opts: DreamOptions
    zoom_opts: ZoomOptions

    description = "zooming"

    def __post_init__(self):
        self.frames_out = self.zoom_opts.frames
        self.fade = self.zoom_opts.fade
        self.total = self.frames_out + self.fade

    @property
    def restart(self) -> bool:
        return self.zoom_opts.restart

    @property
    def quiet(self) -> bool:
        return self.dream_opts.quiet

    def recorded(self) -> dict:
        return {**self.dream_opts.recorded(frames=self.total), **self.zoom_opts.recorded(frames=self.total)}

    def settings(self) -> dict:
        source = {"command": "zoom", "input": file_identity(self.input) if self.input else None}
        return resume_settings(self.output, source, self.recorded())

    def frames(self, first: int = 0, stop: int | None = None):
        return repeat_none((self.total if stop is None else stop) - first)

    def start_image(self) -> np.ndarray:
        from . import media

        if self.input is not None:
            return media.resize_max_side(media.read_image(self.input), self.dream_opts.max_side)
        width, height = parse_size(self.zoom_opts.size)
        scale = min(1.0, (self.dream_opts.max_side or max(width, height)) / max(width, height))
        return noise_canvas(max(16, round(width * scale)), max(16, round(height * scale)), self.dream_opts.seed)

    def recipe(self, first: int = 0, mask=None) -> Recipe:
        return zoom_recipe(self.start_image(), self.dream_opts, self.zoom_opts)

    def open_sink(self, store=None):
        from . import media

        def open_output():
            return media.open_sink(self.output, fps=parse_fps(self.zoom_opts.fps), quality=self.zoom_opts.quality,
                                   codec=self.zoom_opts.codec, loop=True, audio_from=self.zoom_opts.audio)

        return open_output() if self.fade == 0 else _LoopedOutput(open_output, store, self.frames_out, self.fade)

    def finish(self) -> None:
        from .renderfile import write_render_file

        write_render_file("zoom", self.input, self.output, self.recorded())


def prepare_zoom(input: str | os.PathLike | None, output: str | os.PathLike | None, options: dict,
                 preview: bool = False) -> ZoomJob:
    """Check a zoom render's input, output and options (DreamError on any problem) without dreaming."""
    from . import media, music
    from .media.sound import read_sound
    if output is None:
        output = default_output(input, ".gif").replace("_dream.gif", "_zoom.gif") if input else "zoom.gif"
    output = str(output)
    if preview:
        options, output = preview_options(options), preview_output(output)
    dream_opts, zoom_opts = take(options, DreamOptions, ZoomOptions, what="a zoom")
    media.check_codec(zoom_opts.codec, media.check_animation_output(output, input, "zoom"), output)
    fps = parse_fps(zoom_opts.fps)
    if zoom_opts.frames is None:  # as long as the music, or the usual length
        frames = ZOOM_FRAMES if zoom_opts.audio is None else max(1, music.frame_count(
            read_sound(zoom_opts.audio), fps))
        zoom_opts = replace(zoom_opts, frames=frames)
    music.follow_sound(zoom_opts, None, fps, frames=zoom_opts.frames, options=(dream_opts, zoom_opts))
    # Frames past the end (the loop's fade) repeat the schedules from frame 0.
    dream_opts.check_schedules(zoom_opts.frames)
    zoom_opts.check_schedules(zoom_opts.frames)
    return ZoomJob(None if input is None else str(input), output, dream_opts, zoom_opts)


def zoom_recipe(start_image: np.ndarray, dream_opts: DreamOptions, zoom_opts: ZoomOptions) -> Recipe:
    """Carry (the affine move of the previous dream), dream and colour coherence of a zoom; its state is
    the :class:`ColourReference`."""
    from . import colour, media, motion

    frames = zoom_opts.frames

    def periodic(name):
        schedule = zoom_opts.schedule(name)
        return lambda index: float(schedule(index % frames))

    zoom, angle, shift_x, shift_y, centre_x, centre_y, colour_strength = (periodic(name) for name in (
        "zoom", "angle", "translate_x", "translate_y", "center_x", "center_y", "colour_match"))
    carried_steps = carried_steps_schedule(
        None if zoom_opts.carried_steps is None else zoom_opts.schedule("carried_steps"),
        dream_opts.schedule("steps"), ZOOM_CARRIED_SHARE)
    reference = ColourReference(None if zoom_opts.colour_reference is None else
                                media.read_image(zoom_opts.colour_reference))
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
        result = float255_to_uint8(dream_frame(dreamer, carry_result.start, dream_opts, index % frames,
                                          steps=carry_result.steps, rng=frame_rng(dream_opts.seed, index)))
        strength = colour_strength(index)
        if reference.stats is not None and strength > 0:
            result = float255_to_uint8(colour.match_colour(result, reference.stats, strength))
            result = match_chroma(result, reference.chroma, strength)
        if reference.stats is None:
            reference.take(result)  # the first frame's colours are kept
        return result

    return Recipe(carry, dream, reference)


class _LoopedOutput:
    """The output of a looping zoom: nothing while the frames are rendered (each is in the work folder);
    once the last is done, the looped frames (see :func:`loop_frames`) go to the real output."""

    def __init__(self, open_output, store, frames: int, fade: int):
        self.open_output, self.store, self.frames, self.fade = open_output, store, frames, fade

    def __enter__(self):
        return self

    def write(self, frame) -> None:
        pass

    def __exit__(self, exc_type, *exc_info):
        if exc_type is None:
            with self.open_output() as sink:
                for frame in loop_frames(self.store.load, self.frames, self.fade):
                    sink.write(frame)
        return False


def loop_frames(load, frames: int, fade: int):
    """The looped output: frames 0..frames-1, the first ``fade`` cross-faded from frames + i.

    ``load(i)`` returns rendered frame i, uint8 (H, W, 3). Yields uint8 frames.
    """
    for index in range(frames):
        frame = load(index)
        if index < fade:
            # Weight of the tail frame: 1 at index 0 (pure continuation of the last frame), falling to 0.
            tail_weight = 1.0 - index / fade
            frame = cross_fade(frame, load(frames + index), tail_weight)
        yield frame
