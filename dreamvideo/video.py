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

from .animation import MaskSource, carried_steps_schedule, check_schedules, dream_frame, make_dreamer, \
    prepare_animation, to_uint8
from .options import FarmOptions, check_positive_int, default_output, file_identity, package_version, parse_fps, \
    plain_value, split_options
from .errors import DreamError
from .renderfile import write_render_file

logger = logging.getLogger(__name__)

# A carried frame already holds the dream: this share of --steps keeps it alive (see --carried-steps).
# Together with the default blend it sets how strong the carried dream settles: each frame keeps
# blend * weight of the previous dream and adds these few steps. Measured by scripts/benchmark_video.py
# (6 steps of 2.0, 3 octaves, 256 px, 30 frames of three clips), blend 0.9 with 20% of the steps
# (1 of 6) settled at 1.0-1.5x the strength of an independent full dream, with a warping error 7-11%
# of the naive one; 0.85 with 30% (2 of 6) overshot to 1.3-1.7x, flickered more (11-16%) and cost twice
# the kernel time. Over 400 frames those settings still built up (issue 9: up to 2.6x the naive strength
# at 128 px); carried frames now dream only the two octaves below the full size (VideoOptions.carried_octaves)
# and give half of the carried dream's coarse changes back to the source (VideoOptions.anchor). Leaving out
# the smallest octave too (it re-dreams coarse shapes the carried dream already holds) cut the carried
# frame's CPU time by a fifth at 256 px, 4 octaves (0.40 -> 0.31 s on test.webm, 0.34 -> 0.30 s on the
# generated clip), with E_warp against the input's 1.64 -> 1.78 on test.webm and 0.69 -> 0.66, 0.77 -> 0.72,
# 1.42 -> 1.38 on the generated clip, cityCC0.mpg and realshort.mp4.
CARRIED_STEPS_SHARE = 0.2
# The carried dream is resampled every frame, and bilinear resampling softens it a little each time: over 30
# frames of samples/coffee_pan.mp4 (192 px) the mean |Laplacian| of the dream fell from 25.8 to 9.3 with
# bilinear warps and to 14.7 with bicubic ones (carried frames dreaming every octave but the largest).
CARRY_INTERPOLATION = "cubic"
# DIS flow is noisy on flat, static regions (a wall, a dark sleeve): the noise's own gradient fails the
# forward-backward check's motion-boundary test, and there the new source frame replaced the carried dream,
# which was dreamed afresh the next frame: flicker. On the first 12 frames of test.webm at 256 px the check
# refused 15-31% of the pixels of a static shot; on flows blurred by this sigma, 8-20% (pixels: DIS works on
# 8 px patches at any frame size). Measured at 256 px, 30 frames, --steady 1 (E_warp against the input's own,
# as in scripts/benchmark_video.py): test.webm 2.60 -> 1.78, realshort.mp4 1.66 -> 1.42, newtonscradle.gif
# 1.70 -> 1.54; blurring only the flow the warp uses changed nothing (2.61 on test.webm).
CONSISTENCY_FLOW_SIGMA = 3.0


@dataclass
class VideoOptions:
    """Options of ``dreamvideo VIDEO`` beyond the dream options (the CLI's video flags)."""

    blend: Any = 0.9
    carried_steps: Any = None
    carried_octaves: int | str | None = 2  # the octaves just below the full size; "all"; None: all below it
    anchor: float = 0.5
    colour_match: float = 0.0
    # Half the strength error corrected a frame (in log terms): the windows stay as flat as with a full
    # correction, and the frame-to-frame strength wobbles less (128 px, 200 frames: 1.3% against 1.5% on the
    # generated clip, 2.2% against 3.1% on cityCC0.mpg).
    steady: float = 0.5
    flow: str = "dis"
    flow_preset: str = "medium"
    start: Any = None
    end: Any = None
    fps: Any = None
    quality: int = 18
    codec: str | None = None
    restart: bool = False


def parse_time(value, fps, name: str) -> int | None:
    """A --start/--end value as a frame index: seconds (``12.5``, ``12.5s``) or a frame number (``300f``)."""
    if value is None:
        return None
    text = str(value).strip().lower()
    try:
        if text.endswith("f"):
            frame = int(text[:-1])
        else:
            seconds = float(text[:-1] if text.endswith("s") else text)
            if not np.isfinite(seconds):
                raise ValueError
            frame = int(round(seconds * float(fps)))
    except ValueError:
        raise DreamError(f"{name} {value!r} is not a time: give seconds (12.5) or a frame number (300f)") \
            from None
    if frame < 0:
        raise DreamError(f"{name} {value!r} is negative")
    return frame


@dataclass
class VideoJob:
    """One video render, checked and resolved, before any frame is dreamed (shared by the single process
    and the render farm). Frame numbers count from the render's first frame (``start`` in the source)."""

    input: str
    output: str
    dream_opts: Any
    video_opts: VideoOptions
    fps: Any
    start: int
    end: int | None
    total: int
    has_audio: bool
    plain_options: dict

    def source(self) -> dict:
        """What identifies the source frames (for resuming, with the options)."""
        return {"command": "video", "input": file_identity(self.input), "fps": str(self.fps),
                "start_frame": self.start, "end_frame": self.end}

    def settings(self) -> dict:
        """The resolved settings that decide the frames (what a resumed render must match)."""
        return resume_settings(self.output, self.source(), self.plain_options)

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

    def open_sink(self):
        return open_video_sink(self.output, self.fps, self.input if self.has_audio else None,
                               self.start / float(self.fps), self.video_opts)

    def finish(self) -> None:
        write_render_file("video", self.input, self.output, self.plain_options)


def prepare_video(input: str | os.PathLike, output: str | os.PathLike | None, options: dict,
                  preview: bool = False) -> VideoJob:
    """Check a video render's input, output and options (DreamError on any problem) without dreaming."""
    from . import media

    output = str(output) if output is not None else default_output(input, ".mp4")
    dream_opts, video_opts, output = prepare_animation(input, output, options, VideoOptions, preview=preview,
                                                       what="video")
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
    check_video_options(dream_opts, video_opts, total)
    if dream_opts.mask is not None:
        MaskSource(dream_opts.mask, frames=total, fps=fps, start_frame=start)  # checks it before any work
    plain_options = video_plain_options(dream_opts, video_opts, total)
    return VideoJob(str(input), output, dream_opts, video_opts, fps, start, end, total, info.has_audio,
                    plain_options)


def frame_recipe(dream_opts, video_opts: VideoOptions, mask):
    """The carry and dream steps of the frame loop (see :mod:`dreamvideo.render`) for a video, and the
    state they keep between frames (a :class:`~dreamvideo.steady.StrengthHold`, for the loop to store).

    ``mask``: an object with ``strength(index, height, width)`` (a :class:`MaskSource`), indices counting
    from the render's first frame.
    """
    from . import motion
    from .render import CarryResult
    from .schedules import as_schedule
    from .steady import StrengthHold

    blend_schedule = as_schedule(video_opts.blend, name="blend")
    carried_steps = carried_steps_schedule(video_opts.carried_steps, dream_opts.steps, CARRIED_STEPS_SHARE, 1)
    anchor = motion.unit_interval(video_opts.anchor, "anchor")
    colour_match = motion.unit_interval(video_opts.colour_match, "colour match")
    hold = StrengthHold(motion.unit_interval(video_opts.steady, "steady"))
    steps_schedule = as_schedule(dream_opts.steps, name="steps")
    step_size_schedule = as_schedule(dream_opts.step_size, name="step size")
    carried_sizes = carried_octaves(video_opts.carried_octaves)
    dreamer = make_dreamer(dream_opts)

    def carry(index, frame, previous_source, previous_dream):
        amount = float(blend_schedule(index))
        if not 0.0 <= amount <= 1.0:
            raise DreamError(f"blend must be between 0 and 1, got {amount} at frame {index}")
        strength = mask.strength(index, *frame.shape[:2])
        if previous_dream is None or amount == 0.0:
            return CarryResult(frame.astype(np.float32), None, strength, frame)
        if np.array_equal(frame, previous_source):
            # A repeated picture (a dropped frame filled in by the constant-rate resampling, a freeze
            # frame): the carried dream would be the previous one again, so repeat it without dreaming.
            return None
        backward, weight, cut = flow_and_cut(previous_source, frame, video_opts)
        if cut:
            logger.info("scene cut at frame %d: the dream starts afresh", index)
            return CarryResult(frame.astype(np.float32), None, strength, frame)
        if strength is not None:
            weight = weight * strength  # where the mask is black, the new frame shows as it is
        carried_dream = motion.warp(previous_dream, backward, CARRY_INTERPOLATION)
        start_image = motion.blend(carried_dream.astype(np.float32), frame.astype(np.float32), weight, amount)
        start_image = hold.apply(motion.reanchor(start_image, frame, anchor), frame)
        return CarryResult(start_image, carried_steps(index), strength, frame)

    def dream(index, carried_result):
        carried = carried_result.steps is not None
        result = to_uint8(dream_frame(dreamer, carried_result.start, dream_opts, index,
                                      steps=carried_result.steps, strength=carried_result.strength,
                                      dream_octaves=carried_sizes if carried else None))
        if colour_match > 0.0:
            result = motion.match_colour(result, motion.colour_stats(carried_result.source), colour_match)
        # The hold's reference is per unit of the frame's scheduled steps * step size (see dreamvideo.steady).
        scale = float(steps_schedule(index)) * float(step_size_schedule(index))
        (hold.update if carried else hold.start_shot)(result, carried_result.source, scale, carried_result.strength)
        return result

    return carry, dream, hold


def carried_octaves(count: int | str | None) -> slice | None:
    """Which octaves a carried frame dreams (``dream_octaves`` of the kernel) for ``--carried-octaves``
    ``count``: the ``count`` octaves just below the full size (all of them when there are fewer; with a
    single octave, that one); "all": every octave, the full size included; None: every one but the full
    size."""
    if count == "all":
        return None
    return slice(None if count is None else -(count + 1), -1)


def check_carried_octaves(count) -> None:
    if count != "all":
        check_positive_int("carried octaves", count, allow_none=True)


def flow_and_cut(previous: np.ndarray, frame: np.ndarray, video_opts: VideoOptions):
    """The backward flow from ``frame`` to ``previous`` (source frames), the carry's consistency weight, and
    whether ``frame`` starts a new shot: the carry's one decision, shared with the farm's segment planning.

    The scene-cut test sees the consistency of the flows as computed (it was tuned on them); the carry's
    weight is judged on flows smoothed by CONSISTENCY_FLOW_SIGMA (see there). The warp uses the flow as is.
    """
    import cv2

    from . import motion

    forward, backward = motion.flow_pair(previous, frame, video_opts.flow, video_opts.flow_preset)
    # A cut needs motion to leave the change unexplained as well as the flow to fail: test the first (no
    # weight) before paying for the raw flows' own consistency check, which only a candidate needs.
    cut = (motion.is_scene_cut(previous, frame, None, backward=backward)
           and motion.is_scene_cut(previous, frame, motion.consistency_weight(forward, backward), backward=backward))
    smooth = [cv2.GaussianBlur(flow, (0, 0), CONSISTENCY_FLOW_SIGMA) for flow in (forward, backward)]
    return backward, motion.consistency_weight(*smooth), cut


def starts_new_shot(previous: np.ndarray, frame: np.ndarray, video_opts: VideoOptions) -> bool:
    """Whether the carry restarts the dream at ``frame`` (a scene cut after source frame ``previous``)."""
    return not np.array_equal(previous, frame) and flow_and_cut(previous, frame, video_opts)[2]


def render_video(input: str | os.PathLike, output: str | os.PathLike | None = None, *, preview: bool = False,
                 **options) -> str:
    """Dream every frame of a video, carrying the dream along the optical flow; returns the output path.

    Output by extension: ``.mp4`` (H.264 with the source's audio), ``.gif``, or a folder of PNG frames
    (a path ending in ``/`` or an existing folder). Default: ``<stem>_dream.mp4`` beside the input.
    Options: those of :class:`DreamOptions`, :class:`VideoOptions` and :class:`FarmOptions` (``workers``
    or ``ray_address`` split the video into segments dreamed on Ray, see :mod:`dreamvideo.farm`).
    ``preview``: a quick look at reduced size and steps (the first 5 s unless start/end are given),
    written as ``<name>_preview``.
    """
    farm_opts, options = split_options(FarmOptions, options)
    farm_opts.check()
    job = prepare_video(input, output, options, preview)
    if farm_opts.distributed:
        from .farm import render_on_ray

        render_on_ray([job], farm_opts)
        return job.output
    return render_job(job)


def render_job(job: VideoJob) -> str:
    """Render a prepared video (checked by prepare_video) in this process; returns the output path."""
    carry, dream, hold = frame_recipe(job.dream_opts, job.video_opts, job.mask())
    _run_frames(job.frames(), carry, dream, hold, job.output, job.settings(), job.open_sink, job.video_opts.restart,
                job.total, job.dream_opts.quiet)
    job.finish()
    return job.output


def dream_frames(frames: Iterable[np.ndarray], output: str, *, total: int, fps, dream_opts, video_opts,
                 source: dict, start_frame: int = 0, audio_from=None, audio_start: float = 0.0) -> dict:
    """The video frame loop on any source of uint8 (H, W, 3) RGB frames: flow carry, blend, dream, sink.

    ``total``: the frames the source yields; ``source``: what identifies it (for resuming, with the
    options); ``start_frame``: where a --mask video starts. Used by the GAN's ``--dream``; render_video
    runs the same loop on its prepared job. Returns the resolved options as plain values (for the render file).
    """
    check_video_options(dream_opts, video_opts, total)
    mask = MaskSource(dream_opts.mask, frames=total, fps=fps, start_frame=start_frame)
    carry, dream, hold = frame_recipe(dream_opts, video_opts, mask)
    plain_options = video_plain_options(dream_opts, video_opts, total)
    _run_frames(frames, carry, dream, hold, output, resume_settings(output, source, plain_options),
                lambda: open_video_sink(output, fps, audio_from, audio_start, video_opts), video_opts.restart,
                total, dream_opts.quiet)
    return plain_options


def _run_frames(frames, carry, dream, state, output: str, settings: dict, open_sink, restart: bool, total: int,
                quiet: bool) -> None:
    """The frame loop with its work folder (resume) and sink; the folder goes once the output is complete."""
    from .render import FrameStore, run_loop

    store = FrameStore(output, settings, restart=restart)
    with open_sink() as sink:
        run_loop(frames, carry, dream, sink, store, total=total, quiet=quiet, state=state)
    store.remove()


def check_video_options(dream_opts, video_opts: VideoOptions, total: int) -> None:
    """Check the flow method and every scheduled setting over ``total`` frames, before any work."""
    from . import motion
    from .schedules import as_schedule, validate

    motion.check_flow_method(video_opts.flow, video_opts.flow_preset)
    validate(as_schedule(video_opts.blend, name="blend"), total, minimum=0.0, maximum=1.0)
    check_schedules(dream_opts, total)
    carried_steps_schedule(video_opts.carried_steps, dream_opts.steps, CARRIED_STEPS_SHARE, total)
    check_carried_octaves(video_opts.carried_octaves)
    motion.unit_interval(video_opts.anchor, "anchor")
    motion.unit_interval(video_opts.colour_match, "colour match")
    motion.unit_interval(video_opts.steady, "steady")


def open_video_sink(output: str, fps, audio_from, audio_start: float, video_opts: VideoOptions):
    """The sink of a video render: its output, at ``fps``, with the audio of ``audio_from`` (or None)."""
    from . import media

    return media.open_sink(output, fps=fps, audio_from=audio_from, audio_start=audio_start,
                           quality=video_opts.quality, codec=video_opts.codec)


def video_plain_options(dream_opts, video_opts: VideoOptions, total: int) -> dict:
    """Every resolved option of a video render as plain values (render file and resume settings)."""
    return {**dream_opts.resolved(frames=total),
            **{k: plain_value(v, total) for k, v in vars(video_opts).items() if k != "restart"}}


def resume_settings(output: str, source: dict, plain_options: dict) -> dict:
    return {"version": package_version(), "output": output, **source, **plain_options}


def _expected_frames(count: int, start: int, end: int | None) -> int:
    """Frames the render will make: the source's count at the output rate, cut to [start, end)."""
    return max(0, min(count, end if end is not None else count) - start)


