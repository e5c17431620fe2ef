"""Pictures out of a file, in presentation order, with their times: PyAV's decoder or, for animated WebP, Pillow.

The two frame sources below know nothing of rates or sizes; decode.py resamples and scales what they give.
"""

from __future__ import annotations

import logging
import warnings
from fractions import Fraction
from typing import Iterator, Optional

import av
import numpy as np

from ..errors import DreamError
from .files import PathLike

logger = logging.getLogger("dreamvideo.media")


def decoded_frames(container, stream, name: PathLike, errors: list[str], threads: bool = False
                   ) -> Iterator["av.VideoFrame"]:
    """The frames FFmpeg decodes from `stream`, skipping damaged packets.

    A packet that does not decode is skipped, as FFmpeg's own tools do; a file that cannot be read
    further ends the frames. Each problem is appended to `errors` (the caller decides whether to warn).
    `threads`: decode several frames at once (faster, but a damaged packet can then take the frames
    decoding beside it along; use it for files whose packets all read).
    """
    if threads:
        stream.thread_type = "AUTO"
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except (av.FFmpegError, OSError, EOFError) as exc:
            errors.append(f"reading stopped: {exc}")
            try:  # the pictures still inside the decoder
                yield from stream.codec_context.decode(None)
            except av.FFmpegError:
                pass
            return
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:
            errors.append(f"a packet did not decode: {exc}")
            continue
        yield from frames


def pillow_frames(path: PathLike, name: PathLike, end: bool = False) -> Iterator[tuple[Fraction, Optional[np.ndarray]]]:
    """(start time in seconds, uint8 (H, W, 4) RGBA) for each frame of an animation Pillow reads.

    With `end`, a last (end time, None) follows. Used for animated WebP, which FFmpeg 8.1 does not decode.
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                time = Fraction(0)
                for index in range(getattr(image, "n_frames", 1)):
                    image.seek(index)
                    rgba = np.asarray(image.convert("RGBA"))
                    yield time, rgba
                    time += Fraction(int(image.info.get("duration") or 100), 1000)
                if end:
                    yield time, None
    except (OSError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise DreamError(f"{name}: the animation cannot be read ({exc})") from None
