"""Colour matching, for every recipe: CIELAB mean and spread (Reinhard et al.), and chroma alone.

OpenCV and numpy only. Images are (H, W, 3) RGB; the LAB conversions say RGB explicitly, so BGR never
appears.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from .arrays import check_image as _check_image, float255_to_uint8, unit_interval
from .errors import DreamError


class ColourStats(NamedTuple):
    """Per-channel mean and standard deviation of an image in CIELAB: float64 arrays of (L*, a*, b*),
    L* in 0-100 and a*, b* roughly -128..127, whatever the image's dtype."""

    mean: np.ndarray
    std: np.ndarray


def _to_lab(image, name: str) -> np.ndarray:
    image = _check_image(image, name, channels=(3,))
    if image.dtype == np.uint8:
        rgb = image.astype(np.float32) * np.float32(1 / 255)
    elif image.dtype.kind == "f":
        if image.size and float(image.max()) > 1.5:
            raise DreamError(f"{name} is float with values up to {float(image.max()):.1f}; colour matching "
                             "takes floats in 0-1 (divide by 255) or uint8")
        rgb = image.astype(np.float32)
    else:
        raise DreamError(f"{name} must be uint8 (0-255) or float (0-1) RGB, got {image.dtype}")
    # Float input gives true CIELAB units; OpenCV's uint8 Lab is rescaled and would lose precision.
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)


def colour_stats(image) -> ColourStats:
    """Mean and standard deviation of each CIELAB channel of ``image``.

    ``image``: (H, W, 3) RGB, uint8 0-255 or float in [0, 1] (sRGB, D65 white, as OpenCV converts it).
    """
    return _lab_stats(_to_lab(image, "image"))


def _lab_stats(lab: np.ndarray) -> ColourStats:
    pixels = lab.reshape(-1, 3)
    return ColourStats(pixels.mean(axis=0, dtype=np.float64), pixels.std(axis=0, dtype=np.float64))


def match_colour(image, stats: ColourStats, strength: float = 1.0) -> np.ndarray:
    """Pull the colours of ``image`` toward ``stats`` (from :func:`colour_stats` of a reference).

    Reinhard et al., "Color Transfer between Images" (2001), in CIELAB rather than their l-alpha-beta:
    each channel is shifted and scaled so its mean and standard deviation become the reference's.
    ``strength`` in [0, 1] interpolates in LAB between unchanged (0) and fully matched (1); a little
    each frame keeps a feedback loop from drifting in colour. ``image``: (H, W, 3) RGB, uint8 0-255 or
    float in [0, 1]. Returns the same dtype and range (out-of-gamut colours are clipped).
    """
    strength = unit_interval(strength, "colour match strength")
    try:
        ref_mean, ref_std = (np.asarray(v, dtype=np.float64).reshape(3) for v in stats)
    except (TypeError, ValueError):
        raise DreamError("colour stats must come from colour_stats(reference): a (mean, std) pair of "
                         "3 LAB values each") from None
    image = _check_image(image, "image", channels=(3,))
    if strength == 0.0:
        return image.copy()
    lab = _to_lab(image, "image")
    own = _lab_stats(lab)
    # A flat channel has no spread to scale; cap the gain so it cannot amplify noise without bound.
    gain = np.clip(ref_std / np.maximum(own.std, 1e-6), 0.0, 10.0)
    gain = 1.0 + strength * (gain - 1.0)
    offset = strength * ref_mean + (1.0 - strength) * own.mean - gain * own.mean
    lab = lab * gain.astype(np.float32) + offset.astype(np.float32)
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    np.clip(rgb, 0.0, 1.0, out=rgb)
    if image.dtype == np.uint8:
        return (rgb * 255.0 + 0.5).astype(np.uint8)
    return rgb.astype(image.dtype, copy=False)


def mean_chroma(image: np.ndarray) -> float:
    """Mean CIELAB chroma sqrt(a*^2 + b*^2) of uint8 (H, W, 3) RGB (0 for greys)."""
    lab = cv2.cvtColor(image.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def match_chroma(image: np.ndarray, chroma: float, strength: float = 1.0) -> np.ndarray:
    """Scale a* and b* of uint8 RGB ``image`` about grey so its mean chroma moves toward ``chroma``.

    ``strength`` in [0, 1] as in :func:`match_colour`. L* is kept; hues are kept; colours pushed out of
    gamut are clipped. The gain is capped to 0.5..2 so a grey frame is not blown up. Returns uint8 (H, W, 3).
    """
    lab = cv2.cvtColor(image.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)
    own = float(np.hypot(lab[..., 1], lab[..., 2]).mean())
    if own < 1e-3 or strength <= 0:
        return image
    gain = 1.0 + strength * (float(np.clip(chroma / own, 0.5, 2.0)) - 1.0)
    lab[..., 1:] *= np.float32(gain)
    return float255_to_uint8(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255.0)
