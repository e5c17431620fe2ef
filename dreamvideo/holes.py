"""Holes in frames: damage masks (read, grown, checked), smooth and Telea filling, and optical flow completed
through a hole from the motion around it (see :mod:`dreamvideo.fill` for how a video's holes are filled).
Frames are uint8 (H, W, 3) RGB; masks (H, W) bool, True where damaged."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from . import cuts, motion
from .errors import DreamError

log = logging.getLogger(__name__)

# The mask is grown by this many pixels before filling: the edge of a logo or a speck is soft, and a pixel
# half covered by it is damaged too.
GROW = 2
# DIS matches 8 px patches: the flow is unreliable this far outside a hole as well, and is replaced there.
FLOW_MARGIN = 6
# The inpainting radius for what no frame shows (OpenCV's Telea method), pixels.
INPAINT_RADIUS = 5


def as_mask(mask, height: int, width: int, name: str = "mask") -> np.ndarray:
    """A damage mask as (height, width) bool, True where damaged (white).

    ``mask``: (h, w) or (h, w, 1/3/4) array: uint8 (white >= 128 counts as damaged), bool, or float in
    [0, 1] (>= 0.5). A mask of another size with the frame's aspect ratio (within 1%) is scaled to the
    frame (area interpolation, then any pixel at least a quarter covered counts as damaged: a scaled
    thin line must not vanish) and the scaling is logged; any other size is a DreamError.
    """
    if not isinstance(mask, np.ndarray) or mask.ndim not in (2, 3) or (mask.ndim == 3 and mask.shape[2]
                                                                        not in (1, 3, 4)):
        got = getattr(mask, "shape", type(mask).__name__)
        raise DreamError(f"{name} must be a grayscale picture (H, W) or (H, W, 3), got {got}")
    if mask.ndim == 3:
        mask = mask[..., :3].mean(axis=2) if mask.shape[2] > 1 else mask[..., 0]
    if mask.dtype == np.bool_:
        level = mask.astype(np.float32)
    elif mask.dtype.kind in "ui":
        level = mask.astype(np.float32) / 255.0
    elif mask.dtype.kind == "f":
        level = np.nan_to_num(mask.astype(np.float32))
        if mask.size and float(level.max()) > 1.5:
            level = level / 255.0
    else:
        raise DreamError(f"{name} has dtype {mask.dtype}; give a grayscale picture (uint8, bool or float 0-1)")
    mask_h, mask_w = level.shape
    if (mask_h, mask_w) != (height, width):
        if abs(mask_w / mask_h - width / height) > 0.01 * width / height:
            raise DreamError(f"{name} is {mask_w}x{mask_h} but the frames are {width}x{height}; give a mask of "
                             "the frames' size (or at least their aspect ratio, to be scaled)")
        log.info("%s is %dx%d: scaled to the frames' %dx%d", name, mask_w, mask_h, width, height)
        level = cv2.resize(level, (width, height), interpolation=cv2.INTER_AREA)
        return level >= 0.25
    return level >= 0.5


def grow_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    """(H, W) bool mask dilated by ``pixels`` (a disc), bool."""
    if pixels <= 0 or not mask.any():
        return mask
    size = 2 * pixels + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.dilate(mask.view(np.uint8), disc).view(np.bool_)


def check_fixed_mask(mask: np.ndarray, name: str = "mask") -> None:
    """DreamError for a fixed (still) mask that leaves nothing to do or nothing to fill from."""
    if not mask.any():
        raise DreamError(f"{name} has no white pixel, so there is nothing to restore; white marks the damage "
                         "(invert the mask if it is the other way round)")
    if mask.all():
        raise DreamError(f"{name} is white everywhere, so no pixel is left to restore from; white marks only "
                         "the damage")


# ------------------------------------------------------------------------------------------ smooth fill

def fill_smooth(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill the unknown pixels of ``values`` smoothly from the known ones (push-pull interpolation).

    ``values``: (H, W) or (H, W, C) float32; ``known``: (H, W) bool. Known pixels are kept; each unknown one
    gets a blend of coarser and coarser averages of the known pixels around it, so a hole takes the colours
    (or the flow) of its edges and varies smoothly inside. With no known pixel at all the result is 0.
    Returns float32 of the shape of ``values``.
    """
    values = values.astype(np.float32, copy=False)
    weight = known.astype(np.float32)
    if weight.all():
        return values.copy()
    channels = values.shape[2] if values.ndim == 3 else 0
    premultiplied = values * (weight[..., None] if channels else weight)
    levels = [(premultiplied, weight)]
    while min(levels[-1][1].shape) > 1 and levels[-1][1].min() == 0.0:
        top, top_weight = levels[-1]
        size = (max(1, top.shape[1] // 2), max(1, top.shape[0] // 2))
        # INTER_AREA averages 2x2 blocks: premultiplied values stay premultiplied.
        levels.append((cv2.resize(top, size, interpolation=cv2.INTER_AREA),
                       cv2.resize(top_weight, size, interpolation=cv2.INTER_AREA)))
    total_weight = float(weight.sum())
    total = premultiplied.reshape(-1, channels or 1).sum(axis=0) if channels else float(premultiplied.sum())
    filled = None
    for level, level_weight in reversed(levels):
        normalised = level / (np.maximum(level_weight, 1e-6)[..., None] if channels else
                              np.maximum(level_weight, 1e-6))
        if filled is None:
            # The coarsest level may still have empty cells (a strip of known pixels along one side): they take
            # the mean of all known pixels, not 0.
            empty = level_weight <= 0.0
            if empty.any() and total_weight > 0:
                normalised[empty] = total / total_weight
            filled = normalised
            continue
        coarse = cv2.resize(filled, (level.shape[1], level.shape[0]), interpolation=cv2.INTER_LINEAR)
        coarse = coarse.reshape(level.shape)
        # A block with half its pixels known is trusted fully; emptier ones lean on the coarser level.
        alpha = np.minimum(level_weight * 2.0, 1.0)
        if channels:
            alpha = alpha[..., None]
        filled = alpha * normalised + (1.0 - alpha) * coarse
    out = values.copy()
    out[~known] = filled[~known]
    return out


def inpaint(frame: np.ndarray, mask: np.ndarray, radius: int = INPAINT_RADIUS) -> np.ndarray:
    """``cv2.inpaint`` (Telea) of uint8 (H, W, 3) RGB ``frame`` where (H, W) bool ``mask``; only the box
    around the mask is worked on. Returns uint8 (H, W, 3)."""
    if not mask.any():
        return frame.copy()
    y0, y1, x0, x1 = _box(mask, 3 * radius, frame.shape)
    out = frame.copy()
    out[y0:y1, x0:x1] = cv2.inpaint(np.ascontiguousarray(frame[y0:y1, x0:x1]),
                                    mask[y0:y1, x0:x1].astype(np.uint8), radius, cv2.INPAINT_TELEA)
    return out


def _box(mask: np.ndarray, margin: int, shape) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return (max(0, rows[0] - margin), min(shape[0], rows[-1] + 1 + margin),
            max(0, cols[0] - margin), min(shape[1], cols[-1] + 1 + margin))


@dataclass
class PairFlow:
    """The motion between frames i and i + 1, holes filled in: ``forward`` (pixels of i to i + 1) and
    ``backward`` (pixels of i + 1 to i), (H, W, 2) float32; their consistency weights for the pixels of
    i (``forward_weight``) and of i + 1 (``backward_weight``), (H, W) float32 in [0, 1]; ``cut``: whether
    i + 1 starts a new shot."""

    forward: np.ndarray
    backward: np.ndarray
    forward_weight: np.ndarray
    backward_weight: np.ndarray
    cut: bool
    # How uncertain each flow is, (H, W) float32 pixels a frame: inside a hole, the spread of the flow around
    # it that the hole was filled from (0 where the flow was measured); None without a hole.
    forward_doubt: np.ndarray | None = None
    backward_doubt: np.ndarray | None = None


def raw_flows(previous: np.ndarray, current: np.ndarray, previous_hole=None, current_hole=None, *,
              method: str = "dis", preset: str = "medium") -> tuple[np.ndarray, np.ndarray, bool]:
    """(forward, backward, cut) between two uint8 RGB frames; holes ((H, W) bool or None) are filled
    smoothly first, so the damage inside them does not pull the flow along with it."""
    frames = []
    for frame, hole in ((previous, previous_hole), (current, current_hole)):
        if hole is not None and hole.any():
            frame = np.clip(fill_smooth(frame.astype(np.float32), ~hole), 0, 255).astype(np.uint8)
        frames.append(frame)
    forward, backward = motion.flow_pair(frames[0], frames[1], method, preset)
    cut = (cuts.is_scene_cut(frames[0], frames[1], None, backward=backward)
           and cuts.is_scene_cut(frames[0], frames[1], motion.consistency_weight(forward, backward),
                                   backward=backward))
    return forward, backward, cut


def complete_flows(forward: np.ndarray, backward: np.ndarray, previous_hole, current_hole, cut: bool = False, *,
                   previous_motion=(), current_motion=()) -> PairFlow:
    """Replace each flow inside its own frame's hole (grown by FLOW_MARGIN) by the motion around it
    (:func:`complete_flow`), and judge both with the forward-backward check. Holes: (H, W) bool or None.
    ``previous_motion``, ``current_motion``: the evidence of the frames around frame i and frame i + 1 for
    :func:`complete_flow` (see :class:`Sighting`), nearest first; empty: none."""
    forward, forward_doubt = complete_flow(forward, previous_hole, previous_motion, sign=1.0)
    backward, backward_doubt = complete_flow(backward, current_hole, current_motion, sign=-1.0)
    # Judged on smoothed flows: DIS's noise on smooth texture fails the motion-boundary test on a tenth of the
    # pixels of a plain pan, and a refused step sends a pixel that was seen to a guess.
    smooth = [cv2.GaussianBlur(flow, (0, 0), cuts.CONSISTENCY_FLOW_SIGMA) for flow in (forward, backward)]
    return PairFlow(forward, backward, motion.consistency_weight(*smooth, frame="previous", soft_edge=0),
                    motion.consistency_weight(*smooth, frame="current", soft_edge=0), cut, forward_doubt,
                    backward_doubt)


@dataclass
class Sighting:
    """What another frame says about how its pixels move: frame ``offset`` frames after the one whose flow is
    completed (negative: before), ``velocity`` (H, W, 2) float32, where each of its pixels goes in the next
    frame (its forward flow, or minus its backward flow), ``measured`` (H, W) bool, where that was measured
    (outside its own hole)."""

    offset: int
    velocity: np.ndarray
    measured: np.ndarray


def complete_flow(flow: np.ndarray, hole, sightings=(), sign: float = 1.0) -> tuple[np.ndarray, np.ndarray | None]:
    """One flow with its hole ((H, W) bool or None) grown by FLOW_MARGIN filled from the motion around it:
    (flow (H, W, 2) float32, doubt (H, W) float32 pixels or None without a hole).

    Around each hole the measured flow of a band LAYER_BAND px wide is split into two motion layers (k-means)
    when they differ by LAYER_SPLIT px or more; each hidden pixel takes the flow of its layer, filled in
    smoothly from that layer's part of the band alone, so a hole at a motion boundary gets the one motion or
    the other and not a blend of both, which fits neither. Which layer a hidden pixel belongs to is asked of
    the frames around (``sightings``: :class:`Sighting`, nearest first; ``sign``: +1 if ``flow`` is a
    forward flow, -1 if backward): moving with layer k, it was at x - j v_k j frames before and will be at
    x + j v_k j frames after, and where the nearest frame that shows that place measured it moving with
    layer k, that is a vote for k, with the other layer, against. Pixels the votes leave undecided go to the
    layer of the nearest band pixel. One motion around a hole (and with it a fixed logo over a static shot)
    is filled smoothly from the whole surroundings, as before layers.

    The doubt is the spread (the standard deviation's length) of the flow a pixel was filled from: within its
    layer where the votes decided, the whole band's (both layers) where they did not, so that a chain along
    guessed motion is not trusted for long (fill.DOUBT)."""
    if hole is None or not hole.any():
        return flow, None
    grown = grow_mask(hole, FLOW_MARGIN)
    known = ~grown
    filled = fill_smooth(np.concatenate([flow, np.square(flow)], axis=2), known)
    out = filled[..., :2]
    doubt = _spread(filled)
    count, labels = cv2.connectedComponents(grown.view(np.uint8), connectivity=8)
    for component in range(1, count):
        _complete_layers(flow, labels == component, grown, out, doubt, sightings, sign)
    doubt[known] = 0.0
    return out, doubt


# Motion layers around a hole: the band of measured flow they are taken from (pixels beyond the grown hole),
# how far apart two clusters must be to count as two motions (pixels a frame), the smaller one's least share
# of the band, how many frames each way are asked which layer a hidden pixel belongs to, and how far from
# their own damage those frames' flow counts as measured (closer than FLOW_MARGIN: only the flow's layer is
# asked of it, not its value).
LAYER_BAND = 16
LAYER_SPLIT = 1.0
LAYER_SHARE = 0.1
SIGHTING_FRAMES = 8
SIGHTING_MARGIN = 2


def _spread(filled: np.ndarray) -> np.ndarray:
    """The standard deviation's length of a flow filled with its squares, (H, W, 4) -> (H, W) float32."""
    return np.sqrt(np.maximum(filled[..., 2:] - np.square(filled[..., :2]), 0.0).sum(axis=2))


def _complete_layers(flow, component, grown, out, doubt, sightings, sign) -> None:
    """Fill one grown hole (``component``) of ``out``/``doubt`` in place by motion layers, if its band has two."""
    height, width = component.shape
    rows, columns = np.nonzero(component)
    pad = LAYER_BAND + 2
    y0, y1 = max(0, rows.min() - pad), min(height, rows.max() + 1 + pad)
    x0, x1 = max(0, columns.min() - pad), min(width, columns.max() + 1 + pad)
    inner = component[y0:y1, x0:x1]
    band = grow_mask(inner, LAYER_BAND) & ~grown[y0:y1, x0:x1]
    box_flow = flow[y0:y1, x0:x1]
    vectors = np.ascontiguousarray(box_flow[band], np.float32)
    if len(vectors) < 16:
        return
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.05)
    cv2.setRNGSeed(0)  # k-means++ seeds from OpenCV's generator: the same frames give the same layers
    _, assigned, centres = cv2.kmeans(vectors, 2, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    assigned = assigned.ravel()
    if (np.linalg.norm(centres[0] - centres[1]) < LAYER_SPLIT
            or min(assigned.mean(), 1 - assigned.mean()) < LAYER_SHARE):
        return
    layer_of_band = np.full(inner.shape, -1, np.int8)
    layer_of_band[band] = assigned
    layers, distances = [], []
    for k in (0, 1):
        member = layer_of_band == k
        layers.append(fill_smooth(np.concatenate([box_flow, np.square(box_flow)], axis=2), member))
        distances.append(cv2.distanceTransform((~member).view(np.uint8), cv2.DIST_L2, 5))
    hidden_rows, hidden_columns = np.nonzero(inner)
    nearest = (distances[1][hidden_rows, hidden_columns] < distances[0][hidden_rows, hidden_columns]).astype(np.int8)
    votes = _votes(centres * sign, hidden_rows + y0, hidden_columns + x0, sightings)
    decided = votes[:, 0] != votes[:, 1]
    chosen = np.where(decided, np.argmax(votes, axis=1), nearest)
    both = np.concatenate([box_flow, np.square(box_flow)], axis=2)
    whole = fill_smooth(both, band)
    for k in (0, 1):
        mine = chosen == k
        r, c = hidden_rows[mine], hidden_columns[mine]
        out[r + y0, c + x0] = layers[k][r, c, :2]
        doubt[r + y0, c + x0] = np.where(decided[mine], _spread(layers[k][r, c][None])[0],
                                         _spread(whole[r, c][None])[0])


def _votes(velocities: np.ndarray, rows: np.ndarray, columns: np.ndarray, sightings) -> np.ndarray:
    """(N, 2) int votes of ``sightings`` for each of two layers moving ``velocities`` (2, 2) px a frame
    (forward), for the pixels (rows, columns): each direction in time gives its nearest frame that measured
    the place the pixel would be at under a layer's motion, +1 if it moved with that layer there, -1 if with
    the other (which also says, wrongly, that a pixel hidden there behind the other layer is not of its own:
    counting only votes for did worse on the benchmark's clips)."""
    votes = np.zeros((rows.size, 2), np.int32)
    points = np.stack([columns, rows], axis=-1).astype(np.float32)
    for k in (0, 1):
        for direction in (-1, 1):
            open_ = np.ones(rows.size, bool)
            for sighting in sightings:
                if np.sign(sighting.offset) != direction or abs(sighting.offset) > SIGHTING_FRAMES:
                    continue
                there = points + sighting.offset * velocities[k]
                height, width = sighting.measured.shape
                inside = ((there[:, 0] >= 0) & (there[:, 0] <= width - 1) & (there[:, 1] >= 0)
                          & (there[:, 1] <= height - 1))
                xi = np.clip(np.rint(there[:, 0]).astype(np.int64), 0, width - 1)
                yi = np.clip(np.rint(there[:, 1]).astype(np.int64), 0, height - 1)
                seen = open_ & inside & sighting.measured[yi, xi]
                moving = sighting.velocity[yi[seen], xi[seen]]
                mine = (np.linalg.norm(moving - velocities[k], axis=1)
                        < np.linalg.norm(moving - velocities[1 - k], axis=1))
                votes[np.flatnonzero(seen), k] += np.where(mine, 1, -1)
                open_ &= ~seen
    return votes


# ------------------------------------------------------------------------------------------ the window
