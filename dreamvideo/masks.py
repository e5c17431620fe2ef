"""``--mask``: how strongly each pixel of each frame is dreamed, from a grayscale still or video."""

from __future__ import annotations

import numpy as np

from .errors import DreamError


def mask_to_strength(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 (h, w, 3) mask -> float32 (height, width) dream strength in [0, 1] (its gray level)."""
    import cv2

    gray = mask.astype(np.float32).mean(axis=2) / 255.0
    if gray.shape != (height, width):
        gray = cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)
    return np.clip(gray, 0.0, 1.0)


class MaskSource:
    """Per-frame dream strength from ``--mask``: a still (every frame) or a video (frame by frame).

    A mask video must have as many frames as the frames being dreamed (at the same rate).
    """

    def __init__(self, path: str | None, *, frames: int | None = None, fps=None, start_frame: int = 0):
        from . import media

        self.path = path
        self._still = None
        self._still_strength = None
        self._frames = None
        self._position = 0
        if path is None:
            return
        if media.is_video_path(path):
            count = media.count_frames(path, fps)
            if frames is not None and count - start_frame < frames:
                raise DreamError(f"mask video {path} has {count} frames at {fps} fps; the render needs "
                                 f"{frames} from frame {start_frame}: give a mask with the same frame count")
            self._frames = media.read_frames(path, start_frame=start_frame, fps=fps)
        else:
            self._still = media.read_image(path)

    def strength(self, index: int, height: int, width: int) -> np.ndarray | None:
        """The strength of frame ``index`` or None for no mask.

        Indices count from the render's first frame and must not go backwards (a resumed render
        skips ahead; the mask video is read past the skipped frames).
        """
        if self.path is None:
            return None
        if self._still is not None:
            # A still mask is the same for every frame: convert it once per frame size, not per frame.
            if self._still_strength is None or self._still_strength.shape != (height, width):
                self._still_strength = mask_to_strength(self._still, height, width)
            return self._still_strength
        frame = None
        while self._position <= index:
            frame = next(self._frames, None)
            self._position += 1
            if frame is None:
                raise DreamError(f"mask video {self.path} ran out of frames at frame {index}")
        if frame is None:
            raise DreamError(f"mask frame {index} was asked for twice")
        return mask_to_strength(frame, height, width)


