"""Checks and conversions of the numpy arrays that motion.py, colour.py and the recipes take and give.

They sit below both, so neither imports the other for them.
"""

from __future__ import annotations

import numpy as np

from .errors import DreamError


def unit_interval(value, name: str) -> float:
    """``value`` as a float in [0, 1], or a DreamError naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DreamError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise DreamError(f"{name} must be in [0, 1], got {number}")
    return number


def check_image(image, name: str, *, channels=(1, 3)) -> np.ndarray:
    """An (H, W) or (H, W, C) numpy array with C in ``channels``, or a DreamError naming ``name``."""
    if not isinstance(image, np.ndarray):
        raise DreamError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.ndim == 2 and 1 in channels:
        return image
    if image.ndim == 3 and image.shape[2] in channels:
        return image
    want = " or ".join(f"(H, W, {c})" for c in channels)
    raise DreamError(f"{name} must have shape {want}, got {image.shape}")


NOT_FINITE = ("came out with NaN or infinite values (the dream diverged, or the model's weights are damaged); "
              "lower --step-size or the weights, or check the model")


def check_finite(image, what: str = "a frame") -> None:
    """DreamError if float ``image`` holds NaN or an infinity: converted to uint8 it would be written as
    arbitrary grey levels (NaN has no uint8 value), silently."""
    if not np.isfinite(image).all():
        raise DreamError(f"{what} {NOT_FINITE}")


def float255_to_uint8(image: np.ndarray) -> np.ndarray:
    """float [0, 255] -> uint8, rounded to the nearest value and clipped; DreamError for NaN or infinity."""
    check_finite(image)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
