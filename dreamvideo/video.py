"""Video: dream every frame, carrying the previous dream along the optical flow of the source.

For each new frame the previous *dream* is warped onto it with the backward optical flow computed between
the two *source* frames, then blended with the new source frame where a forward-backward consistency
check trusts the flow (elsewhere: disocclusions, objects entering, the new frame shows through). The
blend is then dreamed with fewer steps than the first frame, since the dream is already there. A scene cut
restarts the dream from the new frame.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from .declare import parse_fps, take
from .arrays import float255_to_uint8
from .dreaming import carried_steps_schedule, dream_frame, make_dreamer
from .errors import DreamError
from .masks import MaskSource
from .options import (VIDEO_CARRIED_SHARE, CarryOptions, DreamOptions, OutputOptions, VideoOptions, default_output,
                      preview_options, preview_output)
from .render import CarryResult, Job, Recipe, file_identity, resume_settings

logger = logging.getLogger(__name__)

# Carried frames dream only the two octaves below the full size (--carried-octaves) and give half of the
# carried dream's coarse changes back to the source (--anchor), so a long clip neither builds up nor
# drifts in colour. Leaving out the smallest octave too (it re-dreams coarse shapes the carried dream already
# holds) cuts a carried frame's CPU time by a fifth at 256 px, 4 octaves (0.40 -> 0.31 s on test.webm, 0.34 ->
# 0.30 s on the generated clip), with E_warp against the input's 1.64 -> 1.78 on test.webm and 0.69 -> 0.66,
# 0.77 -> 0.72, 1.42 -> 1.38 on the generated clip, cityCC0.mpg and realshort.mp4.
# The carried dream is resampled every frame, and bilinear resampling softens it a little each time: over 30
# frames of samples/coffee_pan.mp4 (192 px) the mean |Laplacian| of the dream falls from 25.8 to 9.3 with
# bilinear warps and to 14.7 with bicubic ones (carried frames dreaming every octave but the largest).
CARRY_INTERPOLATION = "cubic"


def parse_time(value, fps, name: str) -> int | None:
    """A --start/--end value as a frame index: seconds (``12.5``, ``12.5s``) or a frame number (``300f``)."""
    if value is None:
        return None
    from . import limits

    text = str(value).strip().lower()
    try:
        limits.check_number_text(text, name)
        if text.endswith("f"):
            frame = int(text[:-1])
        else:
            seconds = float(text[:-1] if text.endswith("s") else text)
            if not np.isfinite(seconds):
                raise ValueError
            if seconds < 0:
                raise DreamError(f"{name} {value!r} is negative")
            limits.check_seconds(name, seconds, value)
            frame = int(round(seconds * float(fps)))
    except DreamError:  # a ValueError too: the limit's own message, not "not a time"
        raise
    except ValueError:
        raise DreamError(f"{name} {limits.shown(value)} is not a time: give seconds (12.5) or a frame number "
                         "(300f)") from None
    if frame < 0:
        raise DreamError(f"{name} {value!r} is negative")
    limits.check_whole(f"{name} frame", frame, limits.MAX_FRAMES * 100, 0)
    return frame



@dataclass
class VideoJob(Job):
    """One video render, checked and resolved, before any frame is dreamed (shared by the single process
    and the render farm). Frame numbers count from the render's first frame (``start`` in the source)."""

    input: str
    output: str
    dream_opts: DreamOptions
    video_opts: VideoOptions
    fps: Any
    start: int
    end: int | None
    total: int
    has_audio: bool

    splittable = True

    @property
    def restart(self) -> bool:
        return self.video_opts.restart

    @property
    def quiet(self) -> bool:
        return self.dream_opts.quiet

    def recorded(self) -> dict:
        """Every resolved option as plain values (the render file, and what a resume must match)."""
        return recorded_options(self.dream_opts, self.video_opts, frames=self.total)

    def source(self) -> dict:
        """What identifies the source frames (for resuming, with the options)."""
        return {"command": "video", "input": file_identity(self.input), "fps": str(self.fps),
                "start_frame": self.start, "end_frame": self.end}

    def settings(self) -> dict:
        return resume_settings(self.output, self.source(), self.recorded())

    def frames(self, first: int = 0, stop: int | None = None):
        """The source frames to dream, render frames [first, stop) (seeking, not decoding the ones before):
        uint8 (H, W, 3) RGB, at the render's rate and size."""
        from . import media

        end = self.end if stop is None else self.start + stop
        return media.read_frames(self.input, start_frame=self.start + first, end_frame=end,
                                 fps=self.video_opts.fps and self.fps, max_side=self.dream_opts.max_side)

    def mask(self, first: int = 0) -> MaskSource:
        """The --mask strengths from render frame ``first`` on."""
        return MaskSource(self.dream_opts.mask, frames=self.total - first, fps=self.fps,
                          start_frame=self.start + first)

    def recipe(self, first: int = 0, mask=None) -> Recipe:
        return frame_recipe(self.dream_opts, self.video_opts, mask if mask is not None else self.mask(first))

    def open_sink(self, store=None):
        return open_video_sink(self.output, self.fps, self.input if self.has_audio else None,
                               self.start / float(self.fps), self.video_opts)

    def finish(self) -> None:
        from .renderfile import write_render_file

        write_render_file("video", self.input, self.output, self.recorded())


def prepare_video(input: str | os.PathLike, output: str | os.PathLike | None, options: dict,
                  preview: bool = False) -> VideoJob:
    """Check a video render's input, output and options (DreamError on any problem) without dreaming."""
    from . import media, music
    output = str(output) if output is not None else default_output(input, ".mp4")
    if preview:
        options, output = preview_options(options, video=True), preview_output(output)
    dream_opts, video_opts = take(options, DreamOptions, VideoOptions, what="a video")
    media.check_codec(video_opts.codec, media.check_animation_output(output, input, "video"), output)
    info = media.probe_video(input)
    fps = parse_fps(video_opts.fps) or info.fps
    start = parse_time(video_opts.start, fps, "start") or 0
    end = parse_time(video_opts.end, fps, "end")
    if end is not None and end <= start:
        raise DreamError(f"end ({video_opts.end}) must come after start ({video_opts.start or 0})")
    count = media.count_frames(input, fps)
    total = _expected_frames(count, start, end)
    if total == 0:
        raise DreamError(f"start {video_opts.start} is at or past the end of {input} ({count} frames at {fps} fps)")
    music.follow_sound(video_opts, input, fps, frames=total, start_frame=start, options=(dream_opts, video_opts))
    check_schedules(dream_opts, video_opts, total)
    if dream_opts.mask is not None:
        MaskSource(dream_opts.mask, frames=total, fps=fps, start_frame=start)  # checks it before any work
    return VideoJob(str(input), output, dream_opts, video_opts, fps, start, end, total, info.has_audio)


def check_schedules(dream_opts: DreamOptions, carry_opts: CarryOptions, total: int) -> None:
    """Check every scheduled setting over ``total`` frames, before any work (DreamError names the frame)."""
    dream_opts.check_schedules(total)
    carry_opts.check_schedules(total)


def frame_recipe(dream_opts: DreamOptions, carry_opts: CarryOptions, mask) -> Recipe:
    """The carry and dream steps of the frame loop (see :mod:`dreamvideo.render`) for a video, and the
    state they keep between frames (a :class:`~dreamvideo.steady.StrengthHold`, for the loop to store).

    ``mask``: an object with ``strength(index, height, width)`` (a :class:`MaskSource`), indices counting
    from the render's first frame.
    """
    from . import colour, motion
    from .steady import StrengthHold

    blend_schedule = carry_opts.schedule("blend")
    carried_steps = carried_steps_schedule(None if carry_opts.carried_steps is None else carry_opts.schedule("carried_steps"),
                                           dream_opts.schedule("steps"), VIDEO_CARRIED_SHARE)
    hold = StrengthHold(carry_opts.steady)
    steps_schedule, step_size_schedule = dream_opts.schedule("steps"), dream_opts.schedule("step_size")
    carried_sizes = carried_octaves(carry_opts.carried_octaves)
    dreamer = make_dreamer(dream_opts)

    def carry(index, frame, previous_source, previous_dream):
        amount = float(blend_schedule(index))
        strength = mask.strength(index, *frame.shape[:2])
        if previous_dream is None or amount == 0.0:
            return CarryResult(frame.astype(np.float32), None, strength, frame)
        if np.array_equal(frame, previous_source):
            # A repeated picture (a dropped frame filled in by the constant-rate resampling, a freeze
            # frame): the carried dream would be the previous one again, so repeat it without dreaming.
            return None
        backward, weight, cut = flow_and_cut(previous_source, frame, carry_opts)
        if cut:
            logger.info("scene cut at frame %d: the dream starts afresh", index)
            return CarryResult(frame.astype(np.float32), None, strength, frame)
        if strength is not None:
            weight = weight * strength  # where the mask is black, the new frame shows as it is
        carried_dream = motion.warp(previous_dream, backward, CARRY_INTERPOLATION)
        start_image = motion.blend(carried_dream.astype(np.float32), frame.astype(np.float32), weight, amount)
        start_image = hold.apply(motion.reanchor(start_image, frame, carry_opts.anchor), frame)
        return CarryResult(start_image, carried_steps(index), strength, frame)

    def dream(index, carried_result):
        carried = carried_result.steps is not None
        result = float255_to_uint8(dream_frame(dreamer, carried_result.start, dream_opts, index,
                                          steps=carried_result.steps, strength=carried_result.strength,
                                          dream_octaves=carried_sizes if carried else None))
        if carry_opts.colour_match > 0.0:
            result = colour.match_colour(result, colour.colour_stats(carried_result.source), carry_opts.colour_match)
        # The hold's reference is per unit of the frame's scheduled steps * step size (see dreamvideo.steady).
        scale = float(steps_schedule(index)) * float(step_size_schedule(index))
        (hold.update if carried else hold.start_shot)(result, carried_result.source, scale, carried_result.strength)
        return result

    return Recipe(carry, dream, hold)


def carried_octaves(count: int | str | None) -> slice | None:
    """Which octaves a carried frame dreams (``dream_octaves`` of the kernel) for ``--carried-octaves``
    ``count``: the ``count`` octaves just below the full size (all of them when there are fewer; with a
    single octave, that one); "all": every octave, the full size included; None: every one but the full
    size."""
    if count == "all":
        return None
    return slice(None if count is None else -(count + 1), -1)


def flow_and_cut(previous: np.ndarray, frame: np.ndarray, carry_opts: CarryOptions):
    """The backward flow, the carry's consistency weight and whether ``frame`` starts a new shot, with the
    render's flow method (see :func:`dreamvideo.cuts.flow_and_cut`)."""
    from .cuts import flow_and_cut as decide

    return decide(previous, frame, carry_opts.flow, carry_opts.flow_preset)


def starts_new_shot(previous: np.ndarray, frame: np.ndarray, carry_opts: CarryOptions) -> bool:
    """Whether the carry restarts the dream at ``frame`` (a scene cut after source frame ``previous``)."""
    return not np.array_equal(previous, frame) and flow_and_cut(previous, frame, carry_opts)[2]


@dataclass
class FramesJob(Job):
    """The video recipe on frames made elsewhere (a GAN's): uint8 (H, W, 3) RGB frames, ``total`` of them;
    ``source`` identifies them for resuming."""

    frame_source: Iterable
    output: str
    dream_opts: DreamOptions
    carry_opts: CarryOptions
    output_opts: OutputOptions
    fps: Any
    total: int
    source: dict

    @property
    def restart(self) -> bool:
        return self.output_opts.restart

    @property
    def quiet(self) -> bool:
        return self.dream_opts.quiet

    def settings(self) -> dict:
        return resume_settings(self.output, self.source, recorded_options(self.dream_opts, self.carry_opts,
                                                                          self.output_opts, frames=self.total))

    def frames(self, first: int = 0, stop: int | None = None):
        return self.frame_source

    def recipe(self, first: int = 0, mask=None) -> Recipe:
        return frame_recipe(self.dream_opts, self.carry_opts, MaskSource(self.dream_opts.mask, frames=self.total,
                                                                         fps=self.fps))

    def open_sink(self, store=None):
        return open_video_sink(self.output, self.fps, None, 0.0, self.output_opts)


def dream_frames(frames: Iterable[np.ndarray], output: str, *, total: int, fps, dream_opts: DreamOptions,
                 carry_opts: CarryOptions, output_opts: OutputOptions, source: dict) -> None:
    """The video frame loop on any source of uint8 (H, W, 3) RGB frames: flow carry, blend, dream, sink
    (the GAN's ``--dream``), resumable like a video render."""
    from .render import run

    check_schedules(dream_opts, carry_opts, total)
    run(FramesJob(frames, output, dream_opts, carry_opts, output_opts, fps, total, source))


def open_video_sink(output: str, fps, audio_from, audio_start: float, output_opts: OutputOptions):
    """The sink of a video render: its output, at ``fps``, with the audio of ``audio_from`` (or None), or of
    ``--audio`` when the options have one (it replaces the video's own track)."""
    from . import media

    audio_from = getattr(output_opts, "audio", None) or audio_from

    return media.open_sink(output, fps=fps, audio_from=audio_from, audio_start=audio_start,
                           quality=output_opts.quality, codec=output_opts.codec)


def recorded_options(dream_opts: DreamOptions, *recipe_opts, frames: int) -> dict:
    """Every resolved option of a render as plain values (render file and resume settings)."""
    out = dream_opts.recorded(frames=frames)
    for opts in recipe_opts:
        out.update(opts.recorded(frames=frames))
    return out


def _expected_frames(count: int, start: int, end: int | None) -> int:
    """Frames the render will make: the source's count at the output rate, cut to [start, end)."""
    return max(0, min(count, end if end is not None else count) - start)
