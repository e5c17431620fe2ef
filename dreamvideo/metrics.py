"""How temporally stable a rendered video is: the warping error of Lai et al. (2018).

Wei-Sheng Lai, Jia-Bin Huang, Oliver Wang, Eli Shechtman, Ersin Yumer, Ming-Hsuan Yang, "Learning Blind
Video Temporal Consistency", ECCV 2018, section 5 (E_warp), and the authors' evaluation scripts
(github.com/phoenix104104/fast_blind_video_consistency: evaluate_WarpError.py, utils.detect_occlusion),
read to pin down the flow direction and the mask. Flow here is OpenCV's (DIS or Farneback), not FlowNet2,
so values are comparable between our own renders, not with the paper's tables.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

import numpy as np

from . import motion
from .errors import DreamError

log = logging.getLogger(__name__)


def pair_warping_error(previous_output, current_output, forward, mask) -> float:
    """Warping error of one pair of output frames, given the flow and mask from the input frames.

    E = sum_x M(x) ||O_prev(x) - O_cur(x + F(x))||^2 / sum_x M(x), where x runs over the pixels of the
    PREVIOUS frame, ``F = forward`` is the flow from the previous input frame to the current one (so
    ``O_cur(x + F(x))`` is :func:`dreamvideo.motion.warp` of the current output by the forward flow), the
    squared norm sums the three RGB channels, and M is ``mask`` (the previous frame's non-occlusion mask,
    :func:`dreamvideo.motion.consistency_weight` with ``frame="previous"``, ``soft_edge=0``).

    ``previous_output``, ``current_output``: (H, W, 3) RGB, uint8 0-255 or float in [0, 1] (uint8 is
    divided by 255). ``forward``: (H, W, 2) float32. ``mask``: (H, W) in [0, 1].
    Returns the error in squared [0, 1] RGB units, or NaN when the mask is empty.
    """
    previous_output = _as_unit_rgb(previous_output, "previous output frame")
    current_output = _as_unit_rgb(current_output, "current output frame")
    if previous_output.shape != current_output.shape:
        raise DreamError(f"output frames change size from {previous_output.shape} to {current_output.shape}")
    mask = np.asarray(mask, dtype=np.float32)
    if mask.shape != previous_output.shape[:2]:
        raise DreamError(f"mask is {mask.shape} but the frames are {previous_output.shape[:2]}")
    total = float(mask.sum(dtype=np.float64))
    if total <= 0.0:
        return math.nan
    warped = motion.warp(current_output, forward)
    squared = np.square(previous_output - warped).sum(axis=2)
    return float((squared * mask).sum(dtype=np.float64) / total)


class WarpingError:
    """E_warp accumulated one frame at a time, for a renderer that wants it online.

    ``add(input_frame, output_frame)`` with each new pair of frames (uint8 (H, W, 3) RGB: the source
    frame and the rendered frame made from it) returns that step's error (None for the first frame) and
    keeps only the previous pair. ``value`` is E_warp so far (NaN before two frames).
    """

    def __init__(self, *, method: str = "dis", preset: str = "medium"):
        motion.check_flow_method(method, preset)
        self.method = method
        self.preset = preset
        self.errors: list[float] = []
        self.frames = 0
        self._previous = None

    def add(self, input_frame, output_frame) -> float | None:
        index = self.frames
        input_frame = _check_uint8_rgb(input_frame, f"input frame {index}")
        output_frame = _check_uint8_rgb(output_frame, f"output frame {index}")
        if input_frame.shape != output_frame.shape:
            raise DreamError(f"input frame {index} is {input_frame.shape[1]}x{input_frame.shape[0]} but "
                             f"output frame {index} is {output_frame.shape[1]}x{output_frame.shape[0]}; "
                             "compare a render with the video it was made from, at the same size")
        previous = self._previous
        if previous is not None and previous[0].shape != input_frame.shape:
            raise DreamError(f"frame {index} is {input_frame.shape} but frame {index - 1} was "
                             f"{previous[0].shape}; all frames must have one size")
        # Copies: a reader may hand out the same buffer for every frame.
        self._previous = (input_frame.copy(), output_frame.copy())
        self.frames += 1
        if previous is None:
            return None
        previous_input, previous_output = previous
        forward, backward = motion.flow_pair(previous_input, input_frame, self.method, self.preset)
        mask = motion.consistency_weight(forward, backward, frame="previous", soft_edge=0)
        error = pair_warping_error(previous_output, output_frame, forward, mask)
        if math.isnan(error):
            log.warning("warping error: no reliable pixel between frames %d and %d; pair skipped",
                        index - 1, index)
            return None
        self.errors.append(error)
        return error

    @property
    def value(self) -> float:
        return float(np.mean(self.errors)) if self.errors else math.nan


def warping_error(input_frames: Iterable, output_frames: Iterable, *, method: str = "dis",
                  preset: str = "medium") -> float:
    """E_warp of Lai et al. (2018): how much a processed video flickers against its input's motion.

    For each pair of consecutive frames t-1, t:

        E_t = sum_x M(x) ||O_{t-1}(x) - O_t(x + F(x))||^2 / sum_x M(x)

    with O the OUTPUT frames as RGB in [0, 1], x the pixels of frame t-1, F the FORWARD flow from input
    frame t-1 to input frame t (computed on the INPUT frames, with :func:`dreamvideo.motion.flow_pair`
    and ``method``/``preset``), and M the non-occlusion mask of frame t-1's pixels from the
    forward-backward check on those input flows (``consistency_weight(..., frame="previous",
    soft_edge=0)``). ||.||^2 sums the three channels. E_warp is the mean of E_t over the pairs; a pair
    with no reliable pixel is skipped (logged). Note: the authors' released script stores the mask as a
    3-channel image and so divides by three times the pixel count; divide by 3 to compare with it.

    ``input_frames``, ``output_frames``: iterables of uint8 (H, W, 3) RGB frames, consumed one at a time
    (generators are fine; nothing but the previous pair is kept). They must pair up one to one and have
    the same size. Returns E_warp (NaN if no pair had a reliable pixel); DreamError for fewer than two
    frames or mismatched inputs.
    """
    accumulator = WarpingError(method=method, preset=preset)
    inputs, outputs = iter(input_frames), iter(output_frames)
    count = 0
    while True:
        input_frame = next(inputs, None)
        output_frame = next(outputs, None)
        if input_frame is None or output_frame is None:
            break
        accumulator.add(input_frame, output_frame)
        count += 1
    if input_frame is not None or output_frame is not None:
        longer, shorter = ("input", "output") if input_frame is not None else ("output", "input")
        raise DreamError(f"the {longer} has more frames than the {shorter}, which ends after {count}; "
                         "pass the video a render was made from, frame for frame")
    if count < 2:
        raise DreamError(f"the warping error needs at least 2 frames, got {count}")
    return accumulator.value


def _check_uint8_rgb(frame, name: str) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        got = getattr(frame, "shape", type(frame).__name__)
        raise DreamError(f"{name} must be an (H, W, 3) RGB array, got {got}")
    if frame.dtype != np.uint8:
        raise DreamError(f"{name} must be uint8 0-255, got {frame.dtype}")
    return frame


def _as_unit_rgb(frame, name: str) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        got = getattr(frame, "shape", type(frame).__name__)
        raise DreamError(f"{name} must be an (H, W, 3) RGB array, got {got}")
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) * np.float32(1 / 255)
    if frame.dtype.kind == "f":
        return frame.astype(np.float32, copy=False)
    raise DreamError(f"{name} must be uint8 0-255 or float 0-1, got {frame.dtype}")
