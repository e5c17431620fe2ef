"""open_sink: the sink for an output path, chosen by its kind.

It sits above sinks.py (the interface, PNG folders, stills) and encoders.py (the video files) so that
both of those import only downward.
"""

from __future__ import annotations

import logging
import os
from typing import Optional

from ..errors import DreamError
from .encoders import VIDEO_SINKS, VideoSink
from .files import PathLike, remove_stale_partials
from .outputs import check_output
from .rates import Rate, as_rate
from .sinks import DEFAULT_CRF, FramesSink, ImageSink, Sink, check_codec, check_quality

logger = logging.getLogger("dreamvideo.media")


def open_sink(
    path: PathLike,
    *,
    fps: Rate,
    audio_from: Optional[PathLike] = None,
    audio_start: float = 0.0,
    quality: int = DEFAULT_CRF,
    loop: bool = True,
    codec: Optional[str] = None,
) -> Sink:
    """Open an output for frames; the kind comes from output_kind(path, animated=True).

    Kinds: .mp4 (H.264, or HEVC with codec="hevc"), .gif, .webp (animated), .webm (VP9), .mov (ProRes
    422 HQ), a folder of PNGs (a path ending in '/'), or a still (.png .jpg ...: the last frame).
    fps: frames per second (Fraction, int, float or 'num/den'; kept exact).
    audio_from: MP4, WebM and MOV: a video or audio file whose first audio stream is added, starting at
        `audio_start` seconds into it and cut to the video's length; copied when the container takes
        the codec, else re-encoded (AAC; Opus for WebM). Ignored for other kinds.
    quality: MP4 and WebM: the CRF, 0 (lossless) to 51 (worst); default 18. GIF, WebP, MOV ignore it.
    loop: GIF and WebP: loop forever (True) or play once.
    DreamError for a bad path, rate, quality, codec or a missing audio file. Temporary files that an
    earlier writer of the same output left behind when it was killed are removed first.
    """
    kind = check_output(path, animated=True)
    codec = check_codec(codec, kind, path)
    remove_stale_partials(path)
    rate = as_rate(fps, os.fspath(path))
    if kind in VIDEO_SINKS:
        quality = check_quality(quality, path)
        if audio_start < 0:
            raise DreamError(f"{path}: audio_start must be 0 or more seconds, got {audio_start!r}")
        sink_class: type[VideoSink] = VIDEO_SINKS[kind]
        return sink_class(path, rate, quality=quality, loop=loop, codec=codec, audio_from=audio_from,
                          audio_start=float(audio_start))
    if audio_from is not None:
        logger.debug("%s: a %s output has no audio; ignoring audio_from=%s", path, kind, audio_from)
    if kind == "frames":
        return FramesSink(path, rate)
    return ImageSink(path, rate)
