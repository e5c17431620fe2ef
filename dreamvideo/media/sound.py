"""Sound as numbers: the first audio stream of any file PyAV reads, mixed to mono float32; and WAV out.

Sample 0 is the file's start time (the time video frame 0 of the same file is shown at), so features
computed from these samples line up with the file's own pictures: a stream that starts late is padded
with silence in front, one that starts early (an encoder's priming samples) is cut.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from fractions import Fraction
from typing import Optional

import av
import numpy as np

from ..errors import DreamError
from .files import PathLike, existing_file, io_error, written_atomically
from .probe import start_offset, stream_time

logger = logging.getLogger("dreamvideo.media")


@dataclasses.dataclass(frozen=True, eq=False)
class Sound:
    """A mono sound track.

    samples: float32 (n,), nominally -1..1 (a mix of the channels: their mean). rate: samples per second.
    name: where it came from, for messages.
    """

    samples: np.ndarray
    rate: int
    name: str = "sound"

    @property
    def seconds(self) -> Fraction:
        """The length in seconds, exactly."""
        return Fraction(len(self.samples), self.rate)


def _open(path: PathLike, name: str):
    try:
        return av.open(os.fspath(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise DreamError(f"{name}: not a sound or video file FFmpeg can read, or damaged ({reason})") from None
    except OSError as exc:
        raise io_error(name, exc, "reading") from None


def read_sound(path: PathLike) -> Sound:
    """The first audio stream of `path` (a sound file or a video's own track) as a mono `Sound`.

    Channels are averaged; the rate is the stream's own. DreamError, naming the file, if it is missing or
    empty, FFmpeg cannot read it, it has no audio stream, or no audio sample of it decodes. Packets that do
    not decode are skipped (their time stays silent), with one warning.
    """
    name = os.fspath(path)
    existing_file(path)
    with _open(path, name) as container:
        if not container.streams.audio:
            kind = "video" if container.streams.video else "file"
            raise DreamError(f"{name}: this {kind} has no audio track; give the sound with --audio FILE")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate
        if not rate:
            raise DreamError(f"{name}: its audio stream has no sample rate; re-encode it (e.g. to WAV)")
        zero = start_offset(container)
        resampler = av.AudioResampler(format="fltp", rate=rate)  # planar float, the channels kept
        pieces: list[np.ndarray] = []
        position = 0  # samples placed so far, sample 0 at the file's start time
        problems: list[str] = []
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except (av.FFmpegError, OSError, EOFError) as exc:
                problems.append(f"reading stopped: {exc}")
                break
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                problems.append(f"a packet did not decode: {exc}")
                continue
            for frame in frames:
                start = None
                if frame.pts is not None:
                    start = int(round(stream_time(frame.pts, stream, zero) * rate))
                for piece in resampler.resample(frame):
                    position = _place(pieces, piece.to_ndarray().mean(axis=0, dtype=np.float32), start, position)
                    start = None  # a resampler may split a frame; later pieces follow on
        for piece in resampler.resample(None):
            position = _place(pieces, piece.to_ndarray().mean(axis=0, dtype=np.float32), None, position)
    if problems:
        logger.warning("%s: %d audio problem(s), the first: %s", name, len(problems), problems[0])
    if position == 0:
        raise DreamError(f"{name}: no audio sample of it decodes (an empty or damaged audio track)")
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return Sound(np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0), int(rate), name)


def _place(pieces: list, mono: np.ndarray, start: Optional[int], position: int) -> int:
    """Append `mono` at sample `start` (None: right after the last piece), padding a gap with silence and
    dropping what would overlap samples already placed. Returns the new end."""
    if start is not None and start > position:
        pieces.append(np.zeros(start - position, np.float32))
        position = start
    elif start is not None and start < position:
        mono = mono[position - start:]
    pieces.append(mono)
    return position + len(mono)


def write_sound(path: PathLike, samples: np.ndarray, rate: int) -> None:
    """Write float samples, (n,) mono or (channels, n), -1..1 (clipped), as 16-bit PCM WAV, atomically."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 1:
        samples = samples[None, :]
    if samples.ndim != 2 or samples.shape[0] not in (1, 2) or not samples.shape[1]:
        raise DreamError(f"{path}: sound samples must be (n,) or (2, n) with n > 0, got shape {samples.shape}")
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or not 1000 <= rate <= 384000:
        raise DreamError(f"{path}: sample rate must be a whole number from 1000 to 384000, got {rate!r}")
    pcm = np.round(np.clip(np.nan_to_num(samples), -1.0, 1.0) * 32767).astype(np.int16)
    layout = "mono" if pcm.shape[0] == 1 else "stereo"
    with written_atomically(path, ".wav") as tmp, av.open(tmp, "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=int(rate), layout=layout)
        step = 4096
        for first in range(0, pcm.shape[1], step):
            block = np.ascontiguousarray(pcm[:, first:first + step].T).reshape(1, -1)  # packed s16
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout=layout)
            frame.sample_rate = int(rate)
            frame.pts = first
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
