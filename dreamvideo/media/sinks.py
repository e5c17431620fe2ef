"""Where frames go: the Sink interface, a folder of numbered PNGs, a single still, and the quality checks.

The video files (MP4, GIF, WebP, WebM, MOV) are encoded by encoders.py; writers.open_sink picks one.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import DreamError
from .files import PathLike, check_rgb_frame, io_error, publish, remove_quietly
from .images import write_image

logger = logging.getLogger("dreamvideo.media")

#: Default constant rate factor for x264/x265/VP9 output (0 = lossless; 18 looks lossless with x264).
DEFAULT_CRF = 18
#: Video codecs an MP4 can be written with (--codec).
MP4_CODECS = ("h264", "hevc")


class Sink:
    """Takes uint8 (H, W, 3) RGB frames one at a time and saves them to an output path.

    write(frame) adds a frame (all frames the same size); close() finishes and moves the result
    into place, so the output appears only when complete; abort() drops everything written so
    far. As a context manager it closes on success and aborts on an exception.
    """

    kind = ""

    def __init__(self, path: PathLike, fps: Fraction) -> None:
        self.path = Path(path)
        self.fps = fps
        self.frames_written = 0
        self.size: Optional[tuple[int, int]] = None  # (width, height) of the frames given
        self._done = False

    def write(self, frame: np.ndarray) -> None:
        if self._done:
            raise DreamError(f"{self.path}: this output is already closed; open a new sink")
        check_rgb_frame(frame, self.path)
        size = (frame.shape[1], frame.shape[0])
        if self.size is None:
            self.size = size
        elif size != self.size:
            raise DreamError(f"{self.path}: frame {self.frames_written + 1} is {size[0]}x{size[1]}, "
                             f"earlier frames were {self.size[0]}x{self.size[1]}; keep one size")
        try:
            self._write(frame)
        except OSError as exc:
            self.abort()
            raise io_error(self.path, exc) from None
        self.frames_written += 1

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self.frames_written == 0:
                raise DreamError(f"{self.path}: no frames were written, nothing to save")
            self._close()
        except OSError as exc:
            self._abort()
            raise io_error(self.path, exc) from None
        except BaseException:
            self._abort()
            raise

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._abort()

    def __enter__(self) -> "Sink":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        try:
            if not self._done:
                self.abort()
        except Exception:
            pass

    # subclasses fill these in
    def _write(self, frame: np.ndarray) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _abort(self) -> None:
        raise NotImplementedError


class FramesSink(Sink):
    """Numbered PNGs frame_000001.png, frame_000002.png, ... in a folder.

    A new folder is filled under a temporary name next to it and renamed on close. Into an
    existing folder each PNG is written under a temporary name and renamed, so no PNG is ever
    half-written; abort removes the PNGs this sink wrote.
    """

    kind = "frames"

    def __init__(self, path: PathLike, fps: Fraction) -> None:
        folder = Path(os.fspath(path).rstrip("/" + os.sep) or os.fspath(path))
        super().__init__(folder, fps)
        self._existing = folder.is_dir()
        if self._existing:
            self._target = folder
            stale = sum(1 for _ in folder.glob("frame_*.png"))
            if stale:
                logger.warning("%s already holds %d frame_*.png files; new frames overwrite those with the same number",
                               folder, stale)
        else:
            try:
                self._target = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
            except OSError as exc:
                raise io_error(folder, exc, "creating a temporary folder") from None
        self._written: list[Path] = []

    @staticmethod
    def frame_name(index: int) -> str:
        """File name of frame `index` (1-based): frame_000001.png."""
        return f"frame_{index:06d}.png"

    def _write(self, frame: np.ndarray) -> None:
        target = self._target / self.frame_name(self.frames_written + 1)
        write_image(target, frame)
        self._written.append(target)

    def _close(self) -> None:
        if not self._existing:
            if self.path.exists():
                raise DreamError(f"{self.path}: appeared while rendering; move it away and render again")
            publish(self._target, self.path)

    def _abort(self) -> None:
        if self._existing:
            for written in self._written:
                remove_quietly(written)
        else:
            shutil.rmtree(self._target, ignore_errors=True)


class ImageSink(Sink):
    """A single still: keeps the last frame given and writes it on close."""

    kind = "image"

    def __init__(self, path: PathLike, fps: Fraction) -> None:
        super().__init__(path, fps)
        self._last: Optional[np.ndarray] = None

    def _write(self, frame: np.ndarray) -> None:
        self._last = frame.copy()

    def _close(self) -> None:
        assert self._last is not None
        write_image(self.path, self._last)

    def _abort(self) -> None:
        self._last = None


def check_quality(quality: object, where: PathLike) -> int:
    """`quality` as a CRF (a whole number 0-51), else DreamError."""
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 0 <= quality <= 51:
        raise DreamError(f"{where}: quality (CRF) must be a whole number from 0 to 51, got {quality!r}")
    return int(quality)


def check_codec(codec: Optional[str], kind: str, where: PathLike) -> Optional[str]:
    """`codec` checked against the output kind: only an MP4 takes one (h264 or hevc); None is the default."""
    if codec is None:
        return None
    text = str(codec).lower()
    if kind != "mp4":
        raise DreamError(f"{where}: --codec chooses the codec of an .mp4 output; a {kind} output has its own")
    if text not in MP4_CODECS:
        raise DreamError(f"{where}: codec {codec!r} is not offered; use one of {', '.join(MP4_CODECS)}")
    return text

