"""Training pictures for the GAN: read a folder recursively, centre-crop to square, resize.

Images are uint8 (N, S, S, 3) RGB 0-255 here; the model works in float32 [-1, 1] (see :func:`to_model`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..arrays import check_finite
from ..errors import DreamError
from ..limits import shown

logger = logging.getLogger(__name__)

SIZES = (32, 64, 128)


def check_size(size) -> int:
    """The GAN's picture side: 32, 64 or 128 px (the architectures built by :mod:`.model`)."""
    if isinstance(size, bool) or size not in SIZES:
        raise DreamError(f"size {shown(size)} is not a GAN size: choose 32, 64 or 128")
    return int(size)


def image_files(folder: str | os.PathLike) -> list[Path]:
    """Every file below ``folder`` (recursively, hidden files and folders left out), sorted by path."""
    root = Path(folder)
    if not root.is_dir():
        raise DreamError(f"image folder not found: {folder}")
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files += [Path(dirpath) / name for name in filenames if not name.startswith(".")]
    return sorted(files)


def square(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop uint8 (H, W, 3) to a square and resize it to (size, size, 3) (area down, Lanczos up)."""
    import cv2

    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = image[top:top + side, left:left + side]
    if side == size:
        return np.ascontiguousarray(crop)
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LANCZOS4
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def load_images(folder: str | os.PathLike, size: int) -> np.ndarray:
    """Every readable still below ``folder`` as uint8 (N, size, size, 3) RGB, in path order.

    Grayscale becomes RGB, alpha is composited over white (the still reader's rules). Files that are not
    readable images are skipped with a warning naming them; DreamError if none is left.
    """
    from ..media import IMAGE_EXTENSIONS, read_image

    size = check_size(size)
    files = image_files(folder)
    images, skipped = [], []
    for path in files:
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append(path)
            continue
        try:
            images.append(square(read_image(path), size))
        except DreamError:
            skipped.append(path)
    if skipped:
        names = ", ".join(str(p) for p in skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        logger.warning("skipped %d file(s) that are not readable images: %s", len(skipped), names)
    if not images:
        what = "is empty" if not files else "holds no readable image"
        raise DreamError(f"image folder {folder} {what}: put .png or .jpg pictures in it")
    return np.stack(images)


def to_model(images: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] -> float32 [-1, 1] (the generator's tanh range)."""
    return images.astype(np.float32) / 127.5 - 1.0


def tanh_to_uint8(images) -> np.ndarray:
    """float [-1, 1] (the generator's tanh range) -> uint8 [0, 255], rounded and clipped; DreamError for
    NaN or infinity."""
    images = np.asarray(images, np.float32)
    check_finite(images, "the GAN's picture")
    return np.clip(np.rint((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


