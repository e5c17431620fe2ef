"""Frame rates as exact fractions, and sizes."""

from __future__ import annotations

from fractions import Fraction
from typing import Optional, Union

from ..errors import DreamError

Rate = Union[Fraction, float, int, str]


def as_rate(value: Rate, what: str) -> Fraction:
    """A positive frame rate as an exact Fraction (decimals such as 29.97 snap to 30000/1001)."""
    try:
        if isinstance(value, float) or (isinstance(value, str) and "." in value and "/" not in value):
            # decimals are approximations: 29.97 means 30000/1001, 23.976 means 24000/1001
            rate = tidy_rate(Fraction(value).limit_denominator(1001), tolerance=Fraction(1, 10**4))
        else:
            rate = Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        raise DreamError(f"{what}: frame rate {value!r} is not a number; give e.g. 24 or 30000/1001") from None
    if rate <= 0:
        raise DreamError(f"{what}: frame rate must be positive, got {value!r}")
    return rate


def tidy_rate(rate: Fraction, tolerance: Fraction = Fraction(1, 100000)) -> Fraction:
    """Snap a rate within `tolerance` (relative) of a whole or NTSC (N*1000/1001) rate onto it.

    AVI stores microseconds per frame, so 15 fps arrives as 1000000/66667; this turns it back into 15.
    45000/1499 (30.02 fps) is 7e-4 away from 30 and stays as it is.
    """
    for candidate in (Fraction(round(rate)), Fraction(round(rate * Fraction(1001, 1000)) * 1000, 1001)):
        if candidate > 0 and abs(rate - candidate) <= candidate * tolerance:
            return candidate
    return rate


def round_half_up(x: Fraction) -> int:
    """Round to nearest, halves away from zero (ffmpeg's AV_ROUND_NEAR_INF)."""
    n = int((abs(x) * 2 + 1) // 2)
    return n if x >= 0 else -n


def fit_size(width: int, height: int, max_side: Optional[int]) -> tuple[int, int]:
    """(width, height) in pixels scaled down so the longest side is at most `max_side`, never up.

    Aspect ratio is kept up to rounding; each side stays at least 1. `max_side=None` keeps the size.
    """
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))
