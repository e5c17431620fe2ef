"""Frames of a video as uint8 (H, W, 3) RGB arrays at a constant rate, decoded in-process with PyAV.

The constant rate is made as FFmpeg's fps filter makes it: output tick n shows the last picture whose
time, rounded to the nearest tick, is at or before n; pictures are repeated over gaps and dropped when
they come faster than the rate. Reading from a later start seeks to the keyframe before it.
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from typing import Iterator, Optional

import av
import cv2
import numpy as np

from ..errors import DreamError
from .files import PathLike
from .images import over_white
from .probe import Header, Timeline, open_container, probe, seek_stream, stream_time, video_stream
from .rates import Rate, as_rate, fit_size, round_half_up
from .sources import decoded_frames, pillow_frames

logger = logging.getLogger("dreamvideo.media")

# Area averaging when scaling down, with ACCURATE_RND | FULL_CHR_H_INT (the encoder's flags too). swscale's fast
# YUV -> RGB path is not only a level off here and there: it is biased, every frame of an H.264 clip came out
# 1.1-1.3 grey levels darker per channel than what was written (so each restore or dream of a decoded clip, read
# back, lost about a level); with these flags -0.2 to +0.1. Cost: about 7 CPU ms more per 1080p frame (8.4
# against 1.4 ms for the conversion alone), nothing beside a dream's or a fill's seconds.
_SCALE_FLAGS = (av.video.reformatter.Interpolation.AREA | av.video.reformatter.Interpolation.ACCURATE_RND
                | av.video.reformatter.Interpolation.FULL_CHR_H_INT)


class FrameReader:
    """An iterator of frames (see read_frames) that owns an open PyAV container.

    decoded: how many pictures the decoder has produced so far (a seek makes this small).
    closed: True once the container is closed (at the end, on close(), or when garbage collected).
    """

    def __init__(self, path: str, name: str, header: Header, timeline: Optional[Timeline], rate: Fraction,
                 size: tuple[int, int], start_frame: int, end_frame: Optional[int]) -> None:
        self.path, self.name, self.header, self.timeline = path, name, header, timeline
        self.rate, self.size = rate, size
        self.start_frame, self.end_frame = start_frame, end_frame
        self.decoded = 0
        self.container = None
        self._frames = self._resampled()

    def __iter__(self) -> "FrameReader":
        return self

    def __next__(self) -> np.ndarray:
        return next(self._frames)

    def close(self) -> None:
        """Stop reading: the decoder and the file are closed at once."""
        self._frames.close()
        self._close_container()

    @property
    def closed(self) -> bool:
        return self.container is None

    def _close_container(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None

    # -- pictures and their times

    def _pictures(self, seek_to: Optional[Fraction], errors: list[str]) -> Iterator[tuple[Fraction, object]]:
        """(seconds from the file's start, picture) in presentation order; a picture is an av.VideoFrame
        or an RGBA array. `seek_to`: start at the keyframe at or before this time."""
        if self.header.pillow:
            for time, rgba in pillow_frames(self.path, self.name):
                self.decoded += 1
                yield time, rgba
            return
        self.container = open_container(self.path, self.name)
        stream = video_stream(self.container, self.name)
        zero = seek_stream(self.container, stream, seek_to or 0)
        fallback_step = 1 / self.rate
        time = None
        threads = self.timeline is not None and not self.timeline.damaged
        for frame in decoded_frames(self.container, stream, self.name, errors, threads=threads):
            self.decoded += 1
            stamp = frame.pts if frame.pts is not None else frame.dts
            time = stream_time(stamp, stream, zero) if stamp is not None else \
                (time + fallback_step if time is not None else self.header.first_time)
            yield time, frame

    def _picture_end(self, last_time: Fraction, last_picture: object) -> Fraction:
        """When the last picture stops showing: the packet scan's end if it was reached, else one frame on."""
        if self.timeline is not None and last_time >= self.timeline.last:
            return self.timeline.end
        duration = getattr(last_picture, "duration", None)
        time_base = getattr(last_picture, "time_base", None)
        if duration and time_base:
            return last_time + duration * time_base
        return last_time + 1 / self.rate

    # -- resampling to the constant rate

    def _resampled(self) -> Iterator[np.ndarray]:
        if self.end_frame is not None and self.end_frame <= self.start_frame:
            return
        first_tick = round_half_up(self.header.first_time * self.rate)
        seek_to = None
        if self.start_frame > 0 and not self.header.pillow:
            seek_to = Fraction(first_tick + self.start_frame, self.rate)
        errors: list[str] = []
        try:
            try:
                yield from self._ticks(first_tick, seek_to, errors)
                return
            except _SeekMissed:
                self._close_container()
            except av.FFmpegError as exc:  # some demuxers cannot seek
                logger.debug("%s: seeking failed (%s); decoding from the start", self.name, exc)
                self._close_container()
            errors.clear()
            yield from self._ticks(first_tick, None, errors)
        finally:
            self._close_container()

    def _ticks(self, first_tick: int, seek_to: Optional[Fraction], errors: list[str]) -> Iterator[np.ndarray]:
        target = first_tick + self.start_frame
        stop = None if self.end_frame is None else first_tick + self.end_frame
        current = current_rgb = next_tick = last_time = None
        yielded = 0

        def hold_until(limit: int) -> Iterator[np.ndarray]:
            """The current picture for each tick before `limit` (and before `stop`), from the target on."""
            nonlocal next_tick, current_rgb, yielded
            limit = limit if stop is None else min(limit, stop)
            while next_tick < limit:
                if next_tick >= target:
                    if current_rgb is None:
                        current_rgb = self._rgb(current)
                        yield current_rgb
                    else:
                        yield current_rgb.copy()  # a repeat, writable on its own
                    yielded += 1
                next_tick += 1

        for time, picture in self._pictures(seek_to, errors):
            tick = round_half_up(time * self.rate)
            if current is None:
                if seek_to is not None and tick > target:
                    raise _SeekMissed
                next_tick = tick
            else:
                yield from hold_until(tick)
                if stop is not None and next_tick >= stop:
                    return
            current, current_rgb = picture, None  # one that falls on the same tick replaces it
            last_time = time
        if current is None:
            if errors:
                logger.warning("%s: the video looks truncated or damaged; read 0 frames (%s)", self.name, errors[-1])
            return
        yield from hold_until(round_half_up(self._picture_end(last_time, current) * self.rate))
        truncated = self.timeline is not None and last_time < self.timeline.last
        if errors or truncated:
            reason = errors[-1] if errors else "it ends early"
            logger.warning("%s: the video looks truncated or damaged; read %d frames (%s)", self.name, yielded, reason)

    # -- one picture to RGB at the output size

    def _rgb(self, picture) -> np.ndarray:
        width, height = self.size
        turns = self.header.rotation // 90
        if turns % 2:
            width, height = height, width
        if isinstance(picture, np.ndarray):
            rgb = over_white(picture[:, :, :3], picture[:, :, 3:4])
            if rgb.shape[:2] != (height, width):
                rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        else:
            fmt = picture.format
            alpha = fmt.has_palette or any(c.is_alpha for c in fmt.components)
            converted = picture.reformat(width, height, "rgba" if alpha else "rgb24", interpolation=_SCALE_FLAGS,
                                         src_color_range=picture.color_range or None, dst_color_range="JPEG")
            array = converted.to_ndarray()
            rgb = over_white(array[:, :, :3], array[:, :, 3:4]) if alpha else array
        if turns:
            rgb = np.rot90(rgb, turns)
        rgb = np.ascontiguousarray(rgb)
        return rgb if rgb.flags.writeable else rgb.copy()


class _SeekMissed(Exception):
    """The seek landed after the wanted frame: decode from the start instead."""


def read_frames(
    path: PathLike,
    *,
    start_frame: int = 0,
    end_frame: Optional[int] = None,
    fps: Optional[Rate] = None,
    max_side: Optional[int] = None,
) -> FrameReader:
    """The frames of a video one at a time as uint8 (H, W, 3) RGB arrays (writable), an iterator.

    Frames are decoded in-process by PyAV, so memory does not grow with length. Rotation metadata and
    non-square pixels are applied (frames are shown at their display aspect); transparency (GIF, APNG,
    animated WebP) is composited over white. Output is always at a constant rate: `fps` (a Fraction,
    float, int or 'num/den' string) if given, else probe_video(path).fps; pictures are dropped or
    repeated to hold it as FFmpeg's fps filter does, so variable-rate sources keep their timing.
    `max_side` scales down (area interpolation, never up) so the longest side is at most that many
    pixels. `start_frame`/`end_frame` (end exclusive) index frames at the output rate; a later start
    seeks to the keyframe before it instead of decoding from the beginning. A truncated or damaged
    file yields what decodes and logs one warning. close() closes the decoder and the file at once.
    """
    info, header, timeline = probe(path)  # validates the file before any frame is asked for
    name = os.fspath(path)
    rate = info.fps if fps is None else as_rate(fps, name)
    if max_side is not None and (isinstance(max_side, bool) or not isinstance(max_side, (int, np.integer))
                                 or max_side < 1):
        raise DreamError(f"{name}: max_side must be a positive whole number of pixels, got {max_side!r}")
    if start_frame < 0 or (end_frame is not None and end_frame < start_frame):
        raise DreamError(f"{name}: frame range {start_frame}..{end_frame} is invalid; need 0 <= start <= end")
    size = fit_size(info.width, info.height, max_side)
    return FrameReader(os.path.abspath(name), name, header, timeline, rate, size, start_frame, end_frame)


def count_frames(path: PathLike, fps: Optional[Rate] = None) -> int:
    """How many frames read_frames(path, fps=fps) yields, without decoding.

    Computed from packet timestamps the way FFmpeg's fps filter counts: exact for the clips and
    rates tested (constant-rate video, AVI with dropped frames, GIF, WebM). If the packet walk
    fails it falls back to a full decode pass. For damaged files, read_frames may yield fewer.
    """
    info, _, timeline = probe(path)
    rate = info.fps if fps is None else as_rate(fps, os.fspath(path))
    if timeline is not None:
        return timeline.count_at(rate)
    return sum(1 for _ in read_frames(path, fps=rate, max_side=8))
