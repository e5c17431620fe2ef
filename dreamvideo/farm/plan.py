"""The segment plan of a render farm: where a render is cut, how far each segment warms up and
cross-fades (see :mod:`dreamvideo.farm`). Plain arithmetic on frame numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

# An automatic segment splits the frames evenly over the workers, but stays short enough that a
# killed render loses little and a slow worker does not hold the end back.
MAX_AUTO_SEGMENT = 240



@dataclass(frozen=True)
class Segment:
    """One segment of a render; frame numbers count from the render's first frame.

    It owns the output frames [start, end) and dreams [begin, stop): ``begin`` < ``start`` by the warm-up,
    ``stop`` > ``end`` by the next segment's cross-fade. Its frames [start, start + fade) are cross-faded
    with the previous segment's.
    """

    index: int
    start: int
    end: int
    begin: int
    stop: int
    fade: int


def auto_segment(total: int, workers: int, overlap: int) -> int:
    """The default segment length: the frames split evenly over the workers, in as few rounds (a segment
    for each worker) as keep segments at most MAX_AUTO_SEGMENT frames, so every worker gets as many."""
    workers = max(1, workers)
    rounds = math.ceil(total / (workers * MAX_AUTO_SEGMENT))
    return max(overlap + 1, math.ceil(total / (workers * rounds)))


def boundary_window(segment: int, overlap: int) -> int:
    """How far a planned boundary may move to a scene cut: a quarter segment, keeping segments > overlap."""
    return max(0, min(segment // 4, (segment - overlap - 1) // 2))


def planned_boundaries(total: int, segment: int, overlap: int) -> list[int]:
    """Every ``segment`` frames; a last piece shorter than half a segment joins the one before it."""
    planned = list(range(segment, total, segment))
    if planned and total - planned[-1] < max(segment // 2, overlap + 1 + boundary_window(segment, overlap)):
        planned.pop()
    return planned


def plan_segments(total: int, segment: int, warmup: int, overlap: int, cuts=()) -> list[Segment]:
    """Cut ``total`` frames into segments (see the module's docstring). ``cuts``: frames that start a new
    shot (as detected near the planned boundaries)."""
    cuts = sorted(set(cuts))
    window = boundary_window(segment, overlap)
    bounds: list[int] = []
    for planned in planned_boundaries(total, segment, overlap):
        near = [c for c in cuts if abs(c - planned) <= window and c > (bounds[-1] if bounds else 0)]
        bounds.append(min(near, key=lambda c: (abs(c - planned), c)) if near else planned)
    edges = [0, *bounds, total]
    seamed = [k > 0 and edges[k] not in cuts for k in range(len(edges) - 1)]
    fades = [min(overlap, edges[k + 1] - edges[k]) if seamed[k] else 0 for k in range(len(edges) - 1)]
    segments = []
    for k in range(len(edges) - 1):
        start, end = edges[k], edges[k + 1]
        begin = start
        if seamed[k]:
            # No use warming up across a cut: the dream restarts there.
            begin = max([0, start - warmup] + [c for c in cuts if c <= start])
        stop = end + (fades[k + 1] if k + 1 < len(fades) else 0)
        segments.append(Segment(k, start, end, begin, stop, fades[k]))
    return segments


def dreamed_per_written(segments: list[Segment]) -> float:
    """Frames dreamed divided by frames written: the farm's overhead (1.0 for one segment)."""
    written = sum(s.end - s.start for s in segments)
    return sum(s.stop - s.begin for s in segments) / written
