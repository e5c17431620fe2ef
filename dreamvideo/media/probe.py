"""Facts about a video file from PyAV's typed values: rate, size, rotation, pixel aspect, duration, audio.

A GIF, an animated PNG or an animated WebP counts as video. FFmpeg 8.1's WebP decoder does not decode
animated WebP, so those files are read with Pillow (see decode.py); everything else goes through PyAV.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from fractions import Fraction
from pathlib import Path
from typing import Optional

import av

from ..errors import DreamError
from .files import PathLike, existing_file, io_error
from .images import animated_image_frames, check_pixel_count
from .rates import round_half_up, tidy_rate
from .sources import decoded_frames, pillow_frames

# Animations whose frames each carry their own delay: their nominal rate is a time base, not a rate.
PER_FRAME_DELAY_CODECS = frozenset({"gif", "apng", "webp"})


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What probe_video found out about the first video stream of a file.

    fps: frames per second that read_frames(fps=None) delivers, an exact Fraction.
    width, height: pixels per frame as displayed (sample aspect ratio and rotation applied).
    rotation: degrees (0, 90, 180, 270) the player turns stored frames counter-clockwise
        (FFmpeg's display-matrix convention); read_frames already applies it.
    duration: seconds of video (from packet timestamps, else the container header), or None.
    frame_count: frames read_frames(fps=None) yields (see count_frames), or an estimate, or None.
    has_audio, audio_codec: whether there is an audio stream and its FFmpeg codec name.
    video_codec: FFmpeg's name for the video codec.
    sample_aspect_ratio: width of a stored pixel over its height (1 for square pixels).
    """

    fps: Fraction
    width: int
    height: int
    rotation: int
    duration: Optional[float]
    frame_count: Optional[int]
    has_audio: bool
    audio_codec: Optional[str]
    video_codec: Optional[str] = None
    sample_aspect_ratio: Fraction = Fraction(1)


@dataclasses.dataclass(frozen=True)
class Timeline:
    """Decodable frames and their time span in seconds (from the file's start), from a packet scan."""

    frames: int
    start: Fraction
    end: Fraction
    last: Fraction  # the start of the last frame
    damaged: bool = False  # reading the packets stopped early with an error

    def count_at(self, rate: Fraction) -> int:
        # FFmpeg's fps filter emits one frame per output tick from round(start*rate) up to
        # round(end*rate), rounding to nearest; the count follows from the two ends alone.
        return max(0, round_half_up(self.end * rate) - round_half_up(self.start * rate))


@dataclasses.dataclass(frozen=True)
class Header:
    """Stream facts, the first decodable frame included (it carries the rotation)."""

    video_codec: str
    stored_size: tuple[int, int]  # (width, height) as decoded, before aspect and rotation
    rotation: int
    sample_aspect_ratio: Fraction
    rate: Optional[Fraction]  # FFmpeg's guess for the stream (av_guess_frame_rate)
    duration: Optional[float]  # container header
    audio_codec: Optional[str]
    first_time: Fraction  # presentation time of the first decodable frame, seconds from the file's start
    pillow: bool = False  # an animated WebP, decoded with Pillow


def open_container(path: PathLike, name: PathLike) -> "av.container.InputContainer":
    """PyAV's input container for `path`; DreamError naming `name` if FFmpeg cannot open it."""
    try:
        return av.open(os.fspath(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise DreamError(f"{name}: not a video FFmpeg can read, or damaged ({_reason(exc)})") from None
    except OSError as exc:
        raise io_error(name, exc, "reading") from None


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def video_stream(container, name: PathLike) -> "av.video.stream.VideoStream":
    """The first video stream that is not a cover picture; DreamError if there is none."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    if container.streams.audio:
        raise DreamError(f"{name}: has audio but no video stream; give a video or an image")
    raise DreamError(f"{name}: has no video stream FFmpeg can decode; give a video or an image")


def start_offset(container) -> Fraction:
    """The file's start time in seconds: timestamps count from here, as FFmpeg's tools count them."""
    return Fraction(container.start_time, av.time_base) if container.start_time is not None else Fraction(0)


def stream_time(ticks: int, stream, zero: Fraction) -> Fraction:
    return ticks * stream.time_base - zero


def seek_stream(container, stream, seconds: Fraction) -> Fraction:
    """Seek `stream` to the last keyframe at or before `seconds` (from the file's start; no seek at 0).
    Returns the file's start offset, for :func:`stream_time`."""
    zero = start_offset(container)
    if seconds > 0:
        container.seek(int((seconds + zero) / stream.time_base), stream=stream, backward=True)
    return zero


def _cache_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def is_animated_webp(path: PathLike) -> bool:
    return Path(path).suffix.lower() == ".webp" and animated_image_frames(path) > 1


@functools.lru_cache(maxsize=64)
def read_header(key: tuple[str, int, int], name: str) -> Header:
    path = key[0]
    if is_animated_webp(path):
        return _pillow_header(path, name)
    with open_container(path, name) as container:
        stream = video_stream(container, name)
        context = stream.codec_context
        if context is None:
            raise DreamError(f"{name}: its video codec is unknown to FFmpeg; re-encode it (e.g. to H.264)")
        check_pixel_count(context.width or 1, context.height or 1, name)
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        duration = container.duration / av.time_base if container.duration else None
        zero = start_offset(container)
        first = None
        for frame in decoded_frames(container, stream, name, errors=[]):
            first = frame
            break
        if first is None:
            raise DreamError(f"{name}: no frame of its video decodes (zero frames, or damaged)")
        check_pixel_count(first.width, first.height, name)
        aspect = stream.sample_aspect_ratio or context.sample_aspect_ratio
        aspect = Fraction(aspect) if aspect and aspect > 0 else Fraction(1)
        rotation = round(first.rotation or 0) % 360
        rotation = rotation if rotation in (90, 180, 270) else 0
        stamp = first.pts if first.pts is not None else first.dts
        first_time = stream_time(stamp, stream, zero) if stamp is not None else Fraction(0)
        rate = Fraction(stream.guessed_rate) if stream.guessed_rate else None
        return Header(context.name, (first.width, first.height), rotation, aspect, rate, duration, audio, first_time)


def _pillow_header(path: str, name: str) -> Header:
    first = next(pillow_frames(path, name), None)
    if first is None:
        raise DreamError(f"{name}: no frame of the animation decodes (damaged)")
    height, width = first[1].shape[:2]
    return Header("webp", (width, height), 0, Fraction(1), None, None, None, Fraction(0), pillow=True)


@functools.lru_cache(maxsize=64)
def _pillow_timeline(key: tuple[str, int, int], name: str) -> Optional[Timeline]:
    """The frame timeline of an animation Pillow reads (animated WebP), from its frame delays."""
    times = [t for t, _ in pillow_frames(key[0], name, end=True)]
    return Timeline(len(times) - 1, times[0], times[-1], times[-2]) if len(times) > 1 else None


@functools.lru_cache(maxsize=64)
def scan_packets(key: tuple[str, int, int], name: str) -> Optional[Timeline]:
    """Walk the video packets (reads the file, decodes nothing) for the frame timeline.

    Empty packets (AVI's dropped frames) decode to nothing and are not counted. The last frame
    lasts its packet's duration, except that a duration of one tick after a longer gap is taken
    to be made up and the gap is used instead, as FFmpeg itself does when decoding.
    """
    path = key[0]
    frames = 0
    damaged = False
    first = None
    last = prev = None  # (pts, duration) of the latest two frames in presentation order
    with open_container(path, name) as container:
        stream = video_stream(container, name)
        zero = start_offset(container)
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                pts = packet.pts if packet.pts is not None else packet.dts
                if pts is None:
                    continue
                frames += 1
                first = pts if first is None else min(first, pts)
                if last is None or pts > last[0]:
                    prev, last = last, (pts, packet.duration or 0)
                elif prev is None or pts > prev[0]:
                    prev = (pts, packet.duration or 0)
        except (av.FFmpegError, OSError, EOFError):
            damaged = True  # a damaged tail: the timeline is what came before it
        if frames == 0 or first is None or last is None:
            return None
        last_pts, last_duration = last
        gap = last_pts - prev[0] if prev is not None else 0
        if last_duration <= 0 or (last_duration == 1 and gap > 2):
            last_duration = gap if gap > 0 else 1
        end = stream_time(last_pts + last_duration, stream, zero)
        if stream.duration:  # the packets stop well before the length the header gives: cut short
            damaged = damaged or end < Fraction(95, 100) * stream_time(stream.duration, stream, Fraction(0))
        return Timeline(frames, stream_time(first, stream, zero), end, stream_time(last_pts, stream, zero), damaged)


def source_rate(header: Header, timeline: Optional[Timeline]) -> Optional[Fraction]:
    """The constant rate read_frames(fps=None) resamples to.

    FFmpeg's rate for the stream (av_guess_frame_rate, snapped when within 1e-5 of a whole or NTSC
    rate), as FFmpeg itself would resample a variable-rate input: an AVI with dropped frames keeps
    its 15 fps and repeats frames over the gaps, so the output has the source's rate and duration.
    Only an implausible stream rate (above 120 fps and over 4x the mean rate of the decodable
    frames, e.g. a container's time base) falls back to the mean rate. Animations with per-frame
    delays (GIF, APNG, animated WebP) always use the mean rate: FFmpeg's guess for them is their
    time base or a near miss.
    """
    nominal = tidy_rate(header.rate) if header.rate else None
    if timeline is None or timeline.frames < 2 or timeline.end <= timeline.start:
        return nominal
    mean = Fraction(timeline.frames) / (timeline.end - timeline.start)
    delay_based = header.video_codec in PER_FRAME_DELAY_CODECS
    if nominal is not None and not delay_based and (nominal <= 120 or nominal <= 4 * mean):
        return nominal
    tidy = tidy_rate(mean)
    if tidy.denominator > 1001:
        short = tidy.limit_denominator(1001)
        if timeline.count_at(short) == timeline.frames:
            tidy = short
    return tidy


def probe(path: PathLike) -> tuple[VideoInfo, Header, Optional[Timeline]]:
    p = existing_file(path)
    name = os.fspath(path)
    key = _cache_key(p)
    header = read_header(key, name)
    timeline = _pillow_timeline(key, name) if header.pillow else scan_packets(key, name)
    rate = source_rate(header, timeline)
    if rate is None:
        raise DreamError(f"{name}: FFmpeg could not tell the frame rate; pass fps explicitly or re-encode it")
    width, height = display_size(header)
    if timeline is not None:
        duration: Optional[float] = float(timeline.end - timeline.start)
        frame_count: Optional[int] = timeline.count_at(rate)
    else:
        duration = header.duration
        frame_count = round(duration * rate) if duration else None
    info = VideoInfo(fps=rate, width=width, height=height, rotation=header.rotation, duration=duration,
                     frame_count=frame_count, has_audio=header.audio_codec is not None,
                     audio_codec=header.audio_codec, video_codec=header.video_codec,
                     sample_aspect_ratio=header.sample_aspect_ratio)
    return info, header, timeline


def display_size(header: Header) -> tuple[int, int]:
    """(width, height) as shown: stored pixels stretched by their aspect ratio, then turned."""
    width, height = header.stored_size
    if header.sample_aspect_ratio != 1:
        width = max(1, round_half_up(width * header.sample_aspect_ratio))
    return (height, width) if header.rotation in (90, 270) else (width, height)


def probe_video(path: PathLike) -> VideoInfo:
    """Facts about the first video stream of `path` (a GIF counts as video); see VideoInfo.

    Opens the file twice with PyAV: once decoding a single frame for stream facts, once walking the
    packets (no decoding) for the frame timeline. Results are cached per (path, size, mtime).
    DreamError for a missing, empty, unreadable or damaged file, one with no video stream or no
    decodable frame, or one whose frames are larger than MAX_PIXELS.
    """
    return probe(path)[0]

