"""Scene cuts: where motion no longer explains a frame from the one before, and a carried dream (or a
restoration's search along the flow) must start afresh. Plain functions of numpy frames."""

from __future__ import annotations

import logging
import numbers
from typing import NamedTuple

import cv2
import numpy as np

from . import motion
from .arrays import check_image as _check_image
from .errors import DreamError

log = logging.getLogger(__name__)

# DIS flow is noisy on flat, static regions (a wall, a dark sleeve): the noise's own gradient fails the
# forward-backward check's motion-boundary test, and there the new source frame would replace the carried
# dream, to be dreamed afresh the next frame: flicker. On the first 12 frames of test.webm at 256 px the raw
# check refuses 15-31% of the pixels of a static shot; on flows blurred by this sigma, 8-20% (pixels: DIS
# works on 8 px patches at any frame size). At 256 px, 30 frames, --steady 1 (E_warp against the input's own,
# as in scripts/benchmark_video.py): test.webm 2.60 -> 1.78, realshort.mp4 1.66 -> 1.42, newtonscradle.gif
# 1.70 -> 1.54; blurring only the flow the warp uses changes nothing (2.61 on test.webm).
CONSISTENCY_FLOW_SIGMA = 3.0


def flow_and_cut(previous: np.ndarray, frame: np.ndarray, method: str = "dis", preset: str = "medium"):
    """The backward flow from ``frame`` to ``previous`` (uint8 (H, W, 3) source frames, (H, W, 2) float32),
    the consistency weight of the carry ((H, W) float32 in [0, 1]), and whether ``frame`` starts a new shot:
    the one decision the video carry, the farm's segment planning and restoration share.

    The scene-cut test sees the consistency of the flows as computed (it is tuned on them); the weight is
    judged on flows smoothed by CONSISTENCY_FLOW_SIGMA (see there). A warp uses the flow as is.
    """
    forward, backward = motion.flow_pair(previous, frame, method, preset)
    # A cut needs motion to leave the change unexplained as well as the flow to fail: test the first (no
    # weight) before paying for the raw flows' own consistency check, which only a candidate needs.
    cut = (is_scene_cut(previous, frame, None, backward=backward)
           and is_scene_cut(previous, frame, motion.consistency_weight(forward, backward), backward=backward))
    smooth = [cv2.GaussianBlur(flow, (0, 0), CONSISTENCY_FLOW_SIGMA) for flow in (forward, backward)]
    return backward, motion.consistency_weight(*smooth), cut


class SceneCutScores(NamedTuple):
    """The numbers :func:`is_scene_cut` decides on, for logging and tuning.

    ``unreliable``: fraction of pixels whose consistency weight is below 0.5.
    ``difference``: mean absolute difference between the current frame and the previous one (warped by
    the backward flow when one is given), as a fraction of full scale (0-1).
    ``unexplained``: ``difference`` divided by how much the two frames vary around their own means; about 1
    (or more) for two unrelated pictures, well below 1 when motion explains the change.
    """

    unreliable: float
    difference: float
    unexplained: float


def scene_cut_scores(previous, current, weight=None, *, backward=None) -> SceneCutScores:
    """Measure how badly motion explains ``current`` from ``previous``; see :func:`is_scene_cut`."""
    previous = _check_image(previous, "previous frame")
    current = _check_image(current, "current frame")
    if previous.shape != current.shape:
        raise DreamError(f"previous frame is {previous.shape} but current frame is {current.shape}; "
                         "scene cuts are detected between frames of the same size")
    full_scale = _full_scale(previous, "previous frame")
    if _full_scale(current, "current frame") != full_scale:
        raise DreamError(f"previous frame is {previous.dtype} but current frame is {current.dtype}; "
                         "pass both as uint8 (0-255) or both as float (0-1)")
    # Every other pixel in each direction: a quarter of the work, and the means hardly move.
    if backward is None:
        previous = previous[::2, ::2]
    else:
        backward = motion.check_flow(backward, "backward flow", shape=current.shape)
        height, width = backward.shape[:2]
        coordinates = cv2.add(backward[::2, ::2], motion.pixel_grid(height, width)[::2, ::2])
        previous = cv2.remap(previous, coordinates, None, cv2.INTER_LINEAR, borderMode=motion.BORDER)
    previous_f = previous.astype(np.float32).reshape(current[::2, ::2].shape) / full_scale
    current_f = current[::2, ::2].astype(np.float32) / full_scale
    difference = float(cv2.absdiff(previous_f, current_f).mean())
    spread = 0.5 * (_mean_absolute_deviation(previous_f) + _mean_absolute_deviation(current_f))
    unexplained = difference / max(spread, 1e-6)
    if weight is None:
        unreliable = float("nan")
    else:
        weight = np.asarray(weight)
        if weight.shape != current.shape[:2]:
            raise DreamError(f"consistency weight is {weight.shape} but the frame is {current.shape[:2]}")
        unreliable = float((weight < 0.5).mean())
    return SceneCutScores(unreliable, difference, unexplained)


def is_scene_cut(previous, current, weight, *, backward=None, unreliable_fraction: float = 0.5,
                 unexplained_ratio: float = 0.6, min_difference: float = 0.015) -> bool:
    """Whether ``current`` starts a new shot, so the dream should restart instead of being carried.

    ``previous``, ``current``: SOURCE frames (H, W, 3) RGB, uint8 0-255 or float in [0, 1].
    ``weight``: their :func:`consistency_weight` (H, W), or None to skip the flow-failure test.
    ``backward``: their backward flow; strongly recommended: without it the raw frame difference stands
    in for the motion-compensated one, and fast motion looks more like a cut.

    A cut needs all of: the flow fails (at least ``unreliable_fraction`` of the pixels have weight < 0.5),
    motion leaves the change unexplained (the mean absolute residual ``|warp(previous, backward) - current|``
    is at least ``unexplained_ratio`` times the frames' mean absolute deviation around their own means,
    which is what two unrelated pictures give), and the residual is at least ``min_difference`` of full
    scale (so near-identical dark, noisy frames, where flow fails for want of texture, are not a cut).

    Tuned on every pair of frames of four real clips at full size (cityCC0.mpg, realshort.mp4,
    tree.avi, test.webm). At the one hard cut (cityCC0.mpg, frames 115 -> 116, counting from 0) with
    DIS "medium": unreliable 0.98, unexplained 1.00, difference 0.17. Over all other pairs, unexplained
    stays at or below 0.29 (0.43 with Farneback, 0.47 without ``backward``) while unreliable alone
    reaches 0.75 (test.webm: static camera, flat walls), so flow failure alone is not taken for a cut.
    Nor is a difference alone: a flash of +40 grey levels scores unexplained 1.7 but unreliable 0.07.
    """
    for name, value in (("unreliable_fraction", unreliable_fraction),
                        ("unexplained_ratio", unexplained_ratio), ("min_difference", min_difference)):
        if not isinstance(value, numbers.Real) or not value >= 0:
            raise DreamError(f"{name} must be a number >= 0, got {value!r}")
    scores = scene_cut_scores(previous, current, weight, backward=backward)
    cut = (scores.unexplained >= unexplained_ratio and scores.difference >= min_difference
           and not scores.unreliable < unreliable_fraction)  # written so that NaN (no weight) passes
    if cut:
        log.debug("scene cut: %s", scores)
    return cut


def _full_scale(image: np.ndarray, name: str) -> float:
    if image.dtype == np.uint8:
        return 255.0
    if image.dtype.kind == "f":
        return 1.0
    raise DreamError(f"{name} must be uint8 (0-255) or float (0-1), got {image.dtype}")


def _mean_absolute_deviation(image: np.ndarray) -> float:
    means = image.reshape(-1, image.shape[-1] if image.ndim == 3 else 1).mean(axis=0)
    return float(np.abs(image - means.reshape((1, 1, -1) if image.ndim == 3 else ())).mean())
