"""Dust and scratches: short-lived outliers that neither neighbouring frame, moved along the flow, explains.

A pixel of frame t is an outlier when it is brighter than the brightest, or darker than the darkest, of the
3x3 neighbourhoods it comes from in frames t - 1 and t + 1 (each warped onto t by the flow), by more than a
threshold: the rank-ordered detector of film restoration (Kokaram, "Motion Picture Restoration", 1998), whose
3x3 range forgives the flow a pixel of error at edges. Outliers are kept only in the shapes dust and
scratches take: small specks, and thin lines close to vertical (a scratch runs along the film). A moving
object the flow failed on leaves larger, rounder outliers, which are dropped.

OpenCV and numpy; plain functions of their inputs.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import motion
from .errors import DreamError

# Grey levels (0-255) by which a pixel must lie outside what both neighbours show: above the noise of
# compressed footage (most clean pixels of the shared clips stay within 10), below the contrast of dust.
DUST_THRESHOLD = 24.0
# The share of a neighbour's 3x3 spread its range is widened by: the whole spread forgives a flow a pixel off
# at every edge but hides a scratch lying along one; half of it keeps 90% of the damaged pixels.
RANGE_SHARE = 0.5
# A speck is at most this share of the frame's longer side across (25 px at 854x480).
SPECK_SIZE = 0.03
# A scratch is at most this many pixels wide (at 480 rows; scaled with the height) and at least
# SCRATCH_LENGTH of the frame's height long, and at least 4 times longer than it is wide.
SCRATCH_WIDTH = 8
SCRATCH_LENGTH = 0.08
# Pixels added to those sizes: in 4:2:0 video (every H.264 clip) a speck's colour reaches a chroma sample on each
# side, and the colour outliers around it (the score takes the largest of R, G and B) widen it by up to 2 px.
CHROMA_SPREAD = 2
# Around a kept outlier, pixels above this share of the threshold join it: a speck's soft edge.
EDGE_SHARE = 0.4


def _luma(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)


def outlier_score(previous: np.ndarray, current: np.ndarray, following: np.ndarray, backward: np.ndarray,
                  forward: np.ndarray) -> np.ndarray:
    """How far each pixel of ``current`` lies outside the range its neighbours show, in grey levels.

    ``previous``, ``current``, ``following``: uint8 (H, W, 3) RGB frames t - 1, t, t + 1. ``backward``: the
    flow from the pixels of t to t - 1; ``forward``: from the pixels of t to t + 1 ((H, W, 2) float32 each).
    Returns (H, W) float32 >= 0: 0 inside the range, else the distance to it (the largest over R, G and B).
    """
    for name, frame in (("previous", previous), ("current", current), ("following", following)):
        if not isinstance(frame, np.ndarray) or frame.shape != current.shape or frame.ndim != 3:
            raise DreamError(f"{name} frame must be uint8 (H, W, 3) like the current frame")
    kernel = np.ones((3, 3), np.uint8)
    before = motion.warp(previous.astype(np.float32), backward)
    after = motion.warp(following.astype(np.float32), forward)
    # Each neighbour's range: its own value widened by RANGE_SHARE of the spread of its 3x3 neighbourhood.
    low = np.minimum(before - RANGE_SHARE * (before - cv2.erode(before, kernel)),
                     after - RANGE_SHARE * (after - cv2.erode(after, kernel)))
    high = np.maximum(before + RANGE_SHARE * (cv2.dilate(before, kernel) - before),
                      after + RANGE_SHARE * (cv2.dilate(after, kernel) - after))
    now = current.astype(np.float32)
    # Per channel, then the largest: a dark speck on a red wall changes red far more than it changes luma.
    return np.maximum(np.maximum(now - high, low - now), 0.0).max(axis=2)


def dust_shapes(score: np.ndarray, *, threshold: float = DUST_THRESHOLD) -> np.ndarray:
    """The outliers of ``score`` (from :func:`outlier_score`) shaped like specks or scratches, (H, W) bool."""
    height, width = score.shape
    strong = (score > threshold).astype(np.uint8)
    if not strong.any():
        return np.zeros(score.shape, bool)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(strong, connectivity=8)
    box_w = stats[:, cv2.CC_STAT_WIDTH]
    box_h = stats[:, cv2.CC_STAT_HEIGHT]
    area = stats[:, cv2.CC_STAT_AREA]
    speck = max(4, int(round(SPECK_SIZE * max(height, width)))) + CHROMA_SPREAD
    line_width = max(2, int(round(SCRATCH_WIDTH * height / 480))) + CHROMA_SPREAD
    is_speck = (np.maximum(box_w, box_h) <= speck) & (area <= speck * speck)
    # A scratch may lean a little: its mean width (area over height) is what must stay thin.
    is_scratch = (area <= line_width * box_h) & (box_h >= SCRATCH_LENGTH * height) & (box_h >= 4 * box_w)
    keep = is_speck | is_scratch
    keep[0] = False
    found = keep[labels]
    if found.any():
        # The soft edge of a speck: weaker outliers touching it belong to it.
        edge = cv2.dilate(found.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        found |= edge & (score > EDGE_SHARE * threshold)
    return found


def detect_dust(previous, current, following, backward, forward, *, threshold: float = DUST_THRESHOLD
                ) -> np.ndarray:
    """Dust and scratches on ``current`` (one-frame outliers in their shapes), (H, W) bool.

    Arguments as for :func:`outlier_score`; ``threshold``: grey levels, as for :func:`dust_shapes`.
    """
    return dust_shapes(outlier_score(previous, current, following, backward, forward), threshold=threshold)
