"""Restoration of moving pictures: masked regions filled along the optical flow, dust and scratches found and
filled, flicker steadied. Plain functions and generators of numpy frames; nothing here reads or writes files.

Frames are uint8 (H, W, 3) RGB; masks are (H, W) bool (True: damaged), or anything :func:`as_mask` takes.
Every generator holds a bounded window of frames (``radius`` after the one it yields, and ``radius`` but at least
SIGHTING_FRAMES before it), so a long clip streams in constant memory.

How a damaged pixel of frame t is filled (:func:`fill_video`):

1. Optical flow between consecutive frames, computed on frames whose holes were first filled smoothly from
   their surroundings (so the damage does not drag the flow), and then replaced inside the holes (grown by a
   few pixels, where the flow's patches saw the damage) by the flow of the surroundings, filled in smoothly
   (a push-pull interpolation): the motion of what is hidden is guessed from what moves around it. Where two
   motions meet at a hole, each hidden pixel gets one of them (:func:`dreamvideo.holes.complete_flow`), the one
   the frames around say it moves with, instead of a blend of both.
2. The flows are chained from t to t +- 1, t +- 2, ... up to ``radius`` frames, in both directions, and the
   forward-backward consistency check is kept along the chain. The nearest frames first: at each distance,
   a pixel takes the mean of the frames before and after whose chains are consistent, land inside the
   picture and land outside that frame's own damage; a scene cut ends a chain. The frame before is the
   already restored one (the frames before it are taken as they are), so what was seen once is carried on for
   as long as the flow holds it, and a frame depends only on the input and the restored frame before it.
3. What no frame shows is carried from the restored frame before along the flow if it can be (so a guess is
   stable in time), else filled with ``cv2.inpaint`` (Telea), blurred (the detail it would draw is invented),
   and mixed with the guess before. A guess gives way gradually: what a frame shows where the frame before
   guessed keeps part of the guess, and counts as a guess itself until it has faded in.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Iterable, Iterator

import cv2
import numpy as np

from .arrays import float255_to_uint8
from .errors import DreamError
from .holes import (GROW, SIGHTING_FRAMES, SIGHTING_MARGIN, PairFlow, Sighting, _box, as_mask,  # noqa: F401
                    check_fixed_mask, complete_flows, fill_smooth, grow_mask, inpaint, raw_flows)

log = logging.getLogger(__name__)

# Frames searched on each side of the frame being filled. Anything seen in the past is carried on by the
# restored previous frame anyway; the future is searched this far (a blob moving 3 px a frame uncovers a
# 50 px wide stripe in 8 frames).
FILL_RADIUS = 8
# A chained pixel is trusted while every step's consistency weight is at least this.
RELIABLE = 0.5
# The ring outside a hole whose change from the previous frame a carried guess follows, pixels.
RING = 3
# A chain is trusted while the flow it followed through holes is certain to this many pixels, summed over its
# steps (the spread of the flow around each hole, PairFlow.forward_doubt). A hand passing a fixed logo in a
# static shot gives the flow inside the logo the hand's motion on one side and none on the other: chains along
# that mixture fetched pieces of hand from frames where the logo's background was never seen (test.webm,
# 36 frames at 320 px: E_warp 1.33x the clean clip's, 1.18x with this limit; 1.11x at 3 px, but then
# newtonscradle.gif's moving blobs, left to guesses, went from 1.16x to 1.23x).
DOUBT = 6.0
# What no frame shows and no reliable flow carries is cv2.inpaint's guess blurred by this Gaussian sigma, pixels.
# Telea draws the hole's edges into it, and as the hole or what is around it moves those strokes change from
# frame to frame; the detail is invented anyway, and a smooth guess is nearer the truth in the mean (36 frames at
# 320 px, E_warp against the clean clip's: test.webm's moving blobs 1.233x -> 1.198x, the generated pan's 2.19x ->
# 1.90x, test.webm's logo 1.096x -> 1.053x, but newtonscradle.gif's blobs 1.156x -> 1.165x; in-mask PSNR within
# 0.6 dB either way, +0.07 dB on average).
GUESS_BLUR = 3.0
# The share of the restored frame before's guess that a pixel keeps when that guess is not carried whole:
# - where the flow into the frame before is not reliable enough to carry it (a hand passing behind a blob, a
#   completed flow that fails the motion-boundary test), a new guess keeps this share of the old one, carried
#   along that flow anyway (moving blobs' E_warp: test.webm 1.198x -> 1.180x, the generated pan 1.90x -> 1.78x,
#   newtonscradle.gif 1.165x -> 1.117x, the others 0.02-0.04x lower; logo within 0.01x; in-mask PSNR +0.12 dB
#   on average). Carrying the old guess whole instead (1) did worse: 1.25x on test.webm, 2.21x on the pan;
# - where a frame shows what the frame before guessed, what it shows fades in: the pixel keeps this share of
#   the guess and is a guess itself, so the next frame mixes again, and the guess is gone in a few frames.
GUESS_MEMORY = 0.5


# ------------------------------------------------------------------------------------------------ masks

@lru_cache(maxsize=8)
def _grid(height: int, width: int) -> np.ndarray:
    grid = np.empty((height, width, 2), np.float32)
    grid[..., 0] = np.arange(width, dtype=np.float32)[None, :]
    grid[..., 1] = np.arange(height, dtype=np.float32)[:, None]
    grid.flags.writeable = False
    return grid


def _sample(image: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``image`` (H, W[, C]) sampled bilinearly at absolute (x, y) ``positions`` (N, 2) float32: (N[, C])."""
    count = positions.shape[0]
    # remap takes maps under 32767 rows: lay the points out as rows of 1024.
    rows = max(1, -(-count // 1024))
    padded = np.zeros((rows * 1024, 2), np.float32)
    padded[:count] = positions
    out = cv2.remap(image, padded.reshape(rows, 1024, 2), None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape((rows * 1024,) + image.shape[2:])[:count]


# ------------------------------------------------------------------------------------------------ flows

class _Clip:
    """The frames of a stream around the one being worked on, with what is computed from them, computed
    once each and forgotten once no later frame needs it. ``masks(index, clip)`` gives a frame's damage."""

    def __init__(self, frames: Iterable[np.ndarray], masks, *, given=None, method: str, preset: str):
        self._frames = iter(frames)
        self._masks = masks  # callable(index) -> (H, W) bool: the damage to fill
        self._given = given  # callable(index) -> (H, W) bool or None: damage known before any flow
        self.method, self.preset = method, preset
        self.frame: dict[int, np.ndarray] = {}
        self.restored: dict[int, np.ndarray] = {}
        self.guessed: dict[int, np.ndarray] = {}
        self._raw: dict[int, tuple] = {}
        self._pair: dict[int, PairFlow] = {}
        self._mask: dict[int, np.ndarray] = {}
        self.end: int | None = None  # the number of frames, once the stream is exhausted
        self._read = 0

    def has(self, index: int) -> bool:
        """Whether frame ``index`` exists (reading ahead as far as needed)."""
        while index >= self._read and self.end is None:
            frame = next(self._frames, None)
            if frame is None:
                self.end = self._read
                break
            if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 \
                    or frame.dtype != np.uint8:
                raise DreamError(f"frame {self._read} must be uint8 (H, W, 3) RGB, got "
                                 f"{getattr(frame, 'shape', type(frame).__name__)}")
            if self._read and frame.shape != self.frame.get(self._read - 1, frame).shape:
                raise DreamError(f"frame {self._read} is {frame.shape} but the frames before it were not")
            self.frame[self._read] = frame
            self._read += 1
        return 0 <= index < self._read

    def given(self, index: int):
        return None if self._given is None else self._given(index)

    def raw(self, index: int) -> tuple:
        """(forward, backward, cut) between frames index and index + 1."""
        if index not in self._raw:
            self._raw[index] = raw_flows(self.frame[index], self.frame[index + 1], self.given(index),
                                         self.given(index + 1), method=self.method, preset=self.preset)
        return self._raw[index]

    def mask(self, index: int) -> np.ndarray:
        if index not in self._mask:
            self._mask[index] = self._masks(index)
        return self._mask[index]

    def pair(self, index: int) -> PairFlow:
        if index not in self._pair:
            forward, backward, cut = self.raw(index)
            previous_hole, current_hole = self.mask(index), self.mask(index + 1)
            self._pair[index] = complete_flows(
                forward, backward, previous_hole, current_hole, cut,
                previous_motion=() if cut or not previous_hole.any() else self.sightings(index),
                current_motion=() if cut or not current_hole.any() else self.sightings(index + 1))
        return self._pair[index]

    def sightings(self, index: int) -> list[Sighting]:
        """How the frames up to SIGHTING_FRAMES before and after frame ``index`` move, where they were measured
        (outside their damage), nearest first; a scene cut ends each direction."""
        found = []
        for direction in (-1, 1):
            for distance in range(1, SIGHTING_FRAMES + 1):
                other = index + direction * distance
                # The pair before ``other`` gives its velocity (minus its backward flow); no pair from there to
                # ``index`` may be a cut.
                if other < 1 or not self.has(other) or self.raw(other - 1)[2] or (
                        direction < 0 and self.raw(other)[2]):
                    break
                found.append((distance, Sighting(other - index, -self.raw(other - 1)[1],
                                                 ~grow_mask(self.mask(other), SIGHTING_MARGIN))))
        return [sighting for _, sighting in sorted(found, key=lambda pair: pair[0])]

    def forget_before(self, index: int) -> None:
        for store in (self.frame, self.restored, self.guessed, self._raw, self._pair, self._mask):
            for key in [k for k in store if k < index]:
                del store[key]


def _chain(clip: _Clip, target: int, points: tuple[np.ndarray, np.ndarray], direction: int, radius: int):
    """Candidates for the pixels ``points`` (rows, columns) of frame ``target`` from the frames ``direction``
    (+1 or -1) away, nearest first: yields (values (N, 3) float32, usable (N,) bool, reliable (N,) bool,
    inside (N,) bool) for each distance 1, 2, ...; ``inside``: the chain lands inside the picture;
    ``reliable``: inside, consistent and certain to DOUBT pixels, whatever the source's damage; ``usable``:
    reliable, and undamaged in the source."""
    rows, columns = points
    height, width = clip.frame[target].shape[:2]
    positions = reliable = None
    index = target
    for _ in range(radius):
        source = index + direction
        if not clip.has(source):
            return
        pair = clip.pair(min(index, source))
        if pair.cut:
            return
        flow, weight = (pair.forward, pair.forward_weight) if direction > 0 else (pair.backward,
                                                                                  pair.backward_weight)
        doubt_map = pair.forward_doubt if direction > 0 else pair.backward_doubt  # None: no hole
        if positions is None:
            doubt = np.zeros(rows.shape, np.float32)
            if doubt_map is not None:
                doubt += doubt_map[rows, columns]
            positions = np.stack([columns, rows], axis=-1).astype(np.float32) + flow[rows, columns]
            reliable = weight[rows, columns] >= RELIABLE
        else:
            reliable &= _sample(weight, positions) >= RELIABLE
            if doubt_map is not None:
                doubt += _sample(doubt_map, positions)
            positions = positions + _sample(flow, positions)
        reliable &= doubt <= DOUBT
        x, y = positions[:, 0], positions[:, 1]
        inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
        reliable &= inside
        if direction < 0 and source == target - 1 and source in clip.restored:
            image, damage = clip.restored[source], clip.guessed[source]
        else:
            image, damage = clip.frame[source], clip.mask(source)
        damaged = _sample(damage.astype(np.float32), positions) > 0.01
        values = _sample(image, positions).astype(np.float32)
        yield values, reliable & ~damaged, reliable.copy(), inside
        index = source


def fill_frame(clip: _Clip, target: int, radius: int = FILL_RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """Fill frame ``target`` of the window where its mask says; returns (uint8 (H, W, 3) restored frame,
    (H, W) bool pixels that are guesses, whole or in part: what no frame showed, and what fades in)."""
    frame = clip.frame[target]
    mask = clip.mask(target)
    guessed = np.zeros(mask.shape, bool)
    if not mask.any():
        return frame, guessed
    rows, columns = np.nonzero(mask)
    unknown = np.ones(rows.shape, bool)
    out = frame[rows, columns].astype(np.float32)
    before = _chain(clip, target, (rows, columns), -1, radius)
    chains = [before, _chain(clip, target, (rows, columns), +1, radius)]
    nearest_before = None
    while unknown.any() and chains:
        total = np.zeros(out.shape, np.float32)
        count = np.zeros(unknown.shape, np.float32)
        for chain in list(chains):
            candidate = next(chain, None)
            if candidate is None:
                chains.remove(chain)
                continue
            values, usable, reliable, inside = candidate
            if chain is before and nearest_before is None and target - 1 in clip.restored:
                # The restored frame before, where it was a guess: reliable there, but not usable.
                nearest_before = (values, reliable, inside, reliable & ~usable)
            usable = usable & unknown
            total[usable] += values[usable]
            count += usable
        found = count > 0
        out[found] = total[found] / count[found][:, None]
        unknown &= ~found
    if nearest_before is not None:
        # What a frame shows where the frame before had a guess fades in: it keeps GUESS_MEMORY of the guess, and
        # stays a (part) guess, so the frame after takes it from where it is shown again, not from this one.
        values, _, _, was_guessed = nearest_before
        revealed = was_guessed & ~unknown
        out[revealed] = (1.0 - GUESS_MEMORY) * out[revealed] + GUESS_MEMORY * values[revealed]
        guessed[rows[revealed], columns[revealed]] = True
    if unknown.any() and nearest_before is not None:
        # What no frame shows: the restored previous frame's guess, carried along the flow, keeps it steady.
        values, reliable, _, _ = nearest_before
        carried = unknown & reliable
        if carried.any():
            values = values + _boundary_change(clip, target, mask, rows, columns)
        out[carried] = values[carried]
        guessed[rows[carried], columns[carried]] = True
        unknown &= ~carried
    restored = frame.copy()
    restored[rows, columns] = float255_to_uint8(out)
    if unknown.any():
        rest = np.zeros(mask.shape, bool)
        rest[rows[unknown], columns[unknown]] = True
        restored = _blurred_guess(restored, rest)
        guessed |= rest
        if nearest_before is not None:
            # Where the flow is too doubtful to carry the guess of the frame before whole, half of it is kept:
            # guesses become a running mean instead of a new one each frame.
            values, _, inside, _ = nearest_before
            kept = unknown & inside
            kept_rows, kept_columns = rows[kept], columns[kept]
            restored[kept_rows, kept_columns] = float255_to_uint8(
                (1.0 - GUESS_MEMORY) * restored[kept_rows, kept_columns] + GUESS_MEMORY * values[kept])
    return restored, guessed


def _blurred_guess(frame: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) ``frame`` with (H, W) bool ``hole`` filled by ``cv2.inpaint`` and then blurred there
    (GUESS_BLUR); only the box around the hole is worked on."""
    out = inpaint(frame, hole)
    y0, y1, x0, x1 = _box(hole, int(3 * GUESS_BLUR) + 1, frame.shape)
    inner = hole[y0:y1, x0:x1]
    out[y0:y1, x0:x1][inner] = cv2.GaussianBlur(out[y0:y1, x0:x1], (0, 0), GUESS_BLUR)[inner]
    return out


def _boundary_change(clip: _Clip, target: int, mask: np.ndarray, rows: np.ndarray, columns: np.ndarray
                     ) -> np.ndarray:
    """How the ring just outside the hole changed from the restored previous frame (carried along the flow) to
    this one, filled smoothly into the hole: (N, 3) float32 for the pixels (rows, columns). Added to a carried
    guess, it lets the guess follow its surroundings (a hand passing, a change of light) and stays 0 while
    they stay as they were, so a guess of a static shot does not change."""
    frame = clip.frame[target]
    pair = clip.pair(target - 1)
    ring = grow_mask(mask, RING) & ~mask
    y0, y1, x0, x1 = _box(ring | mask, 1, frame.shape)
    box_ring = ring[y0:y1, x0:x1]
    ring_rows, ring_columns = np.nonzero(box_ring)
    rows_full, columns_full = ring_rows + y0, ring_columns + x0
    positions = np.stack([columns_full, rows_full], axis=-1).astype(np.float32) + pair.backward[rows_full, columns_full]
    trusted = pair.backward_weight[rows_full, columns_full] >= RELIABLE
    trusted &= _sample(clip.guessed[target - 1].astype(np.float32), positions) < 0.01
    change = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
    known = np.zeros(box_ring.shape, bool)
    previous = _sample(clip.restored[target - 1], positions).astype(np.float32)
    change[ring_rows[trusted], ring_columns[trusted]] = frame[rows_full[trusted], columns_full[trusted]] - previous[trusted]
    known[ring_rows[trusted], ring_columns[trusted]] = True
    if not known.any():
        return np.zeros((rows.size, 3), np.float32)
    return fill_smooth(change, known)[rows - y0, columns - x0]


def fill_video(frames: Iterable[np.ndarray], masks, *, radius: int = FILL_RADIUS, grow: int = GROW,
               method: str = "dis", preset: str = "medium") -> Iterator[np.ndarray]:
    """Restore the masked regions of a stream of frames from the frames around them, along the flow.

    ``frames``: uint8 (H, W, 3) RGB, an iterable (read ``radius`` frames ahead). ``masks``: one mask for
    every frame (an array, see :func:`as_mask`) or an iterable of masks, one per frame (a moving region).
    ``radius``: frames searched each way; ``grow``: pixels the mask is grown by. Yields uint8 (H, W, 3)
    frames, one per input frame.
    """
    for restored, _ in restore_video(frames, masks, radius=radius, grow=grow, method=method, preset=preset):
        yield restored


def restore_video(frames: Iterable[np.ndarray], mask=None, *, dust: bool = False, radius: int = FILL_RADIUS,
                  grow: int = GROW, method: str = "dis", preset: str = "medium",
                  dust_threshold: float | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Fill a mask and/or dust and scratches found by themselves; yields (restored uint8 (H, W, 3), the dust
    found on that frame, (H, W) bool, all False without ``dust``) for each frame.

    ``mask``: None, one mask for every frame, or an iterable of one mask per frame (see :func:`fill_video`).
    ``dust``: find one-frame outliers (:mod:`dreamvideo.dust`) and fill them too; the first and last frame,
    and a frame next to a scene cut, lack a neighbour on one side and are not searched.
    """
    restorer = Restorer(frames, mask, dust=dust, radius=radius, grow=grow, method=method, preset=preset,
                        dust_threshold=dust_threshold)
    index = 0
    while restorer.has(index):
        restored, _ = restorer.fill(index)
        yield restored, restorer.dust(index)
        restorer.forget_before(index)
        index += 1
    restorer.finish()


class Restorer:
    """The restoration of one stream of frames, frame by frame in order, with a window of ``radius`` frames
    each side (see :func:`restore_video` for the arguments).

    ``fill(index, previous)`` restores frame ``index``; ``previous``: the restored frame before it and the
    pixels of it that are guesses (see :func:`fill_frame`), when they were made elsewhere (a resumed render has them on disk),
    else those of the last ``fill``. It depends only on the input frames and that previous frame, so a
    render resumed at any frame makes the same frames as one that never stopped.
    """

    def __init__(self, frames: Iterable[np.ndarray], mask=None, *, dust: bool = False, radius: int = FILL_RADIUS,
                 grow: int = GROW, method: str = "dis", preset: str = "medium", dust_threshold: float | None = None):
        if mask is None and not dust:
            raise DreamError("nothing to restore: give a mask, or ask for dust")
        self.radius, self.grow, self.find_dust = radius, grow, dust
        self.dust_threshold = dust_threshold
        frames = iter(frames)
        first = next(frames, None)
        self._moving_masks = None if mask is None or isinstance(mask, np.ndarray) or not isinstance(mask, Iterable) \
            else iter(mask)
        self._still = None
        self._moving: dict[int, np.ndarray] = {}
        self._found: dict[int, np.ndarray] = {}
        self._has_mask = mask is not None
        if first is not None:
            if not isinstance(first, np.ndarray) or first.ndim != 3 or first.shape[2] != 3:
                raise DreamError(f"frame 0 must be uint8 (H, W, 3) RGB, got "
                                 f"{getattr(first, 'shape', type(first).__name__)}")
            self.shape = first.shape[:2]
            if mask is not None and self._moving_masks is None:
                self._still = grow_mask(as_mask(mask, *self.shape), grow)
                check_fixed_mask(self._still)
            self._empty = np.zeros(self.shape, bool)
        self.clip = _Clip(_chained(first, frames) if first is not None else iter(()), self._damage,
                          given=self._given if mask is not None else None, method=method, preset=preset)

    def has(self, index: int) -> bool:
        return self.clip.has(index)

    def _given(self, index: int) -> np.ndarray | None:
        if self._moving_masks is None:
            return self._still
        while index not in self._moving:
            read = max(self._moving, default=-1) + 1
            picture = next(self._moving_masks, None)
            if picture is None:
                raise DreamError(f"the mask video has {read} frames but the video has more; give a mask with "
                                 "the same frame count")
            self._moving[read] = grow_mask(as_mask(picture, *self.shape, f"mask frame {read}"), self.grow)
        return self._moving[index]

    def dust(self, index: int) -> np.ndarray:
        """The dust and scratches found on frame ``index``: (H, W) bool (all False without dust)."""
        from . import dust as dust_module

        if not self.find_dust:
            return self._empty
        if index not in self._found:
            self._found[index] = self._empty
            clip = self.clip
            if index > 0 and clip.has(index + 1):
                before, after = clip.raw(index - 1), clip.raw(index)
                if not (before[2] or after[2]):
                    kwargs = {} if self.dust_threshold is None else {"threshold": self.dust_threshold}
                    self._found[index] = dust_module.detect_dust(clip.frame[index - 1], clip.frame[index],
                                                                 clip.frame[index + 1], before[1], after[0], **kwargs)
        return self._found[index]

    def _damage(self, index: int) -> np.ndarray:
        known = self._given(index) if self._has_mask else None
        if not self.find_dust:
            return known
        spots = grow_mask(self.dust(index), self.grow)
        return spots if known is None else known | spots

    def fill(self, index: int, previous: tuple[np.ndarray, np.ndarray] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """(restored uint8 (H, W, 3), (H, W) bool guessed pixels) of frame ``index`` (see the class)."""
        if previous is not None and index > 0:
            self.clip.restored[index - 1], self.clip.guessed[index - 1] = previous
        restored, guessed = fill_frame(self.clip, index, self.radius)
        self.clip.restored[index], self.clip.guessed[index] = restored, guessed
        return restored, guessed

    def forget_before(self, index: int) -> None:
        """Drop what no frame after ``index`` needs."""
        # A pair's flow through holes asks the frames up to SIGHTING_FRAMES before it how they move, and the
        # newest pair a later frame needs is ``radius`` ahead: with a radius under SIGHTING_FRAMES those frames
        # must still be here (they were forgotten, and a moving mask with --radius 4 was a KeyError).
        keep = max(self.radius, SIGHTING_FRAMES)
        self.clip.forget_before(index - keep)
        for store in (self._moving, self._found):
            for key in [k for k in store if k < index - keep - 1]:
                del store[key]

    def finish(self) -> None:
        """After the last frame: warn if a mask video had frames left."""
        if self._moving_masks is not None and next(self._moving_masks, None) is not None:
            log.warning("the mask video has more frames than the video; the extra ones were not used")


def _chained(first, rest):
    yield first
    yield from rest
