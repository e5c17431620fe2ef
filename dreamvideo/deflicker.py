"""Deflicker: each frame's brightness and colour steadied by a per-frame gain and offset of the low frequencies.

Between consecutive frames, a small blurred copy of each (ANALYSIS_SIDE px) is compared along the optical
flow, over the pixels the consistency check trusts: per colour channel, the gain and offset that map the
previous frame's levels onto the current one's (the median ratio, then the median of what it leaves). Motion does not enter it,
only what changed in the pixels that moved. Chained along the shot these give each frame's levels relative to
the shot's first frame; their Gaussian average over neighbouring frames of the same shot (SIGMA frames) is
what the frame is mapped to. A scene cut starts a new chain and no average reaches across it.

Streaming: a frame is given out once the SIGMA * 2 frames after it are known (or the stream ended), so memory
holds that many frames. OpenCV and numpy only.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Iterable, Iterator

import cv2
import numpy as np

from . import cuts, motion
from .errors import DreamError

# The analysis copy's longer side: the low frequencies, where flicker lives, survive; compression noise and
# small moving detail do not.
ANALYSIS_SIDE = 128
# Frames of the temporal Gaussian: random per-frame flicker averages out as about 1 / sqrt(2 sqrt(pi) SIGMA)
# (a sixth of it at 16, inside a long shot), while a slow change of exposure is kept by the local line.
SIGMA = 16.0
# Levels below and above these (0-255) are clipped in some frame: they say nothing about a gain.
DARK, BRIGHT = 8.0, 247.0
# A gain is kept within these limits, an offset within +-OFFSET_LIMIT grey levels (a failed fit must not
# turn a frame black).
GAIN_LIMITS = (0.5, 2.0)
OFFSET_LIMIT = 64.0


def analysis_copy(frame: np.ndarray) -> np.ndarray:
    """A small, blurred copy of uint8 (H, W, 3) ``frame``: uint8 (h, w, 3), longer side ANALYSIS_SIDE."""
    height, width = frame.shape[:2]
    scale = min(1.0, ANALYSIS_SIDE / max(height, width))
    size = (max(16, int(round(width * scale))), max(16, int(round(height * scale))))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (0, 0), 1.0)


def relative_levels(previous: np.ndarray, current: np.ndarray, *, method: str = "dis", preset: str = "medium"
                    ) -> tuple[np.ndarray, np.ndarray, bool]:
    """(gain, offset, cut): per RGB channel, ``current ~ gain * previous + offset`` over the pixels the flow
    carries reliably from one analysis copy (:func:`analysis_copy`) to the other (the gain: the median ratio;
    the offset: the median of what it leaves), and whether ``current``
    starts a new shot. Gains and offsets: (3,) float64 (offsets in grey levels 0-255)."""
    forward, backward = motion.flow_pair(previous, current, method, preset)
    weight = motion.consistency_weight(forward, backward, soft_edge=0)
    cut = cuts.is_scene_cut(previous, current, weight, backward=backward)
    carried = motion.warp(previous, backward).astype(np.float64)
    now = current.astype(np.float64)
    usable = (weight > 0.5) & (carried.min(axis=2) > DARK) & (carried.max(axis=2) < BRIGHT) \
        & (now.min(axis=2) > DARK) & (now.max(axis=2) < BRIGHT)
    gain, offset = np.ones(3), np.zeros(3)
    if cut or usable.sum() < 0.05 * usable.size:
        return gain, offset, cut
    for channel in range(3):
        x, y = carried[..., channel][usable], now[..., channel][usable]
        # The median ratio, not a fit of means and spreads: the warp's interpolation smooths the carried copy,
        # and a ratio of spreads then reads every step as a slight gain (+7% over the 36 frames of
        # realshort.mp4, whose brightness fell by 5%).
        gain[channel] = float(np.clip(np.median(y / x), *GAIN_LIMITS))
        # What the gain leaves (a lift of the blacks, say) is the offset.
        offset[channel] = float(np.clip(np.median(y - gain[channel] * x), -OFFSET_LIMIT, OFFSET_LIMIT))
    return gain, offset, cut


def _lut(gain: np.ndarray, offset: np.ndarray) -> np.ndarray:
    levels = np.arange(256, dtype=np.float64)[:, None] * gain[None, :] + offset[None, :]
    return np.clip(levels + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)


def deflicker(frames: Iterable[np.ndarray], *, sigma: float = SIGMA, method: str = "dis",
              preset: str = "medium") -> Iterator[np.ndarray]:
    """Steady the brightness and colour of a stream of uint8 (H, W, 3) RGB frames; yields one frame per frame.

    ``sigma``: frames of the temporal Gaussian the levels are averaged over (> 0). Frames are held back
    2 * sigma frames (see the module's docstring).
    """
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise DreamError(f"deflicker sigma must be a number of frames > 0, got {sigma!r}")
    reach = int(math.ceil(2 * sigma))
    levels: dict[int, tuple] = {}  # frame -> (shot, log gain (3,), offset (3,)): levels = e^gain * shot's + offset
    pending: deque = deque()  # (frame number, frame) not yet given out
    previous_small = None
    shot = 0
    log_gain, offset = np.zeros(3), np.zeros(3)
    index = -1
    for index, frame in enumerate(frames):
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise DreamError(f"frame {index} must be uint8 (H, W, 3) RGB, got "
                             f"{getattr(frame, 'shape', type(frame).__name__)}")
        small = analysis_copy(frame)
        if previous_small is not None:
            if small.shape != previous_small.shape:
                raise DreamError(f"frame {index} is {frame.shape} but the frames before it were not")
            gain, step_offset, cut = relative_levels(previous_small, small, method=method, preset=preset)
            if cut:
                shot += 1
                log_gain, offset = np.zeros(3), np.zeros(3)
            else:
                log_gain, offset = log_gain + np.log(gain), gain * offset + step_offset
        previous_small = small
        levels[index] = (shot, log_gain.copy(), offset.copy())
        pending.append((index, frame))
        while pending and pending[0][0] + reach <= index:
            yield _steadied(levels, *pending.popleft(), sigma, reach)
            for key in [k for k in levels if k < pending[0][0] - reach] if pending else []:
                del levels[key]
    while pending:
        yield _steadied(levels, *pending.popleft(), sigma, reach)


def _steadied(levels: dict, position: int, frame: np.ndarray, sigma: float, reach: int) -> np.ndarray:
    shot, log_gain, offset = levels[position]
    offsets, values, weights = [], [], []
    for other in range(position - reach, position + reach + 1):
        if other in levels and levels[other][0] == shot:
            offsets.append(other - position)
            values.append(np.concatenate([levels[other][1], levels[other][2]]))
            weights.append(math.exp(-0.5 * ((other - position) / sigma) ** 2))
    target = _local_line(np.asarray(offsets, np.float64), np.asarray(values), np.asarray(weights))
    target_gain, target_offset = np.exp(target[:3]), target[3:]
    # Undo the frame's own levels, then apply the average's: y' = T(M^-1(y)).
    gain = target_gain / np.exp(log_gain)
    return cv2.LUT(frame, _lut(gain, target_offset - gain * offset))


def _local_line(times: np.ndarray, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The value at time 0 of the weighted least-squares line through ``values`` (n, k) at ``times`` (n,):
    a Gaussian average that keeps a steady trend (a slow fade) at the ends of a shot, where the window is
    one-sided and a plain average would pull the ends toward the middle."""
    total = weights.sum()
    mean_t = (weights * times).sum() / total
    mean_v = (weights[:, None] * values).sum(axis=0) / total
    spread = (weights * (times - mean_t) ** 2).sum()
    if spread < 1e-9:
        return mean_v
    slope = (weights[:, None] * (times - mean_t)[:, None] * (values - mean_v)).sum(axis=0) / spread
    return mean_v - slope * mean_t
