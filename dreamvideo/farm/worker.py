"""What runs on a Ray worker: a job's frames dreamed by its own recipe, from frames the driver ships (a
worker needs no access to the input or output paths). Each worker process keeps its loaded model between
tasks (:func:`dreamvideo.dreaming.make_dreamer`)."""

from __future__ import annotations


class ShippedMask:
    """Mask strengths computed by the driver, one per dreamed frame (or None: no mask)."""

    def __init__(self, first: int, strengths):
        self.first, self.strengths = first, strengths

    def strength(self, index, height, width):
        return None if self.strengths is None else self.strengths[index - self.first]


class FrameList:
    """A sink that keeps the frames."""

    def __init__(self):
        self.frames = []

    def write(self, frame):
        self.frames.append(frame)


def dream_frames(job, first: int, frames: list, strengths, threads: int) -> list:
    """Dream the source frames of one segment of ``job``, the first being render frame ``first``; returns
    uint8 frames. The same frame loop as a single-process render, starting from a full dream."""
    from ..render import run_loop
    from ..runtime import use_threads

    use_threads(threads)
    sink = FrameList()
    run_loop(frames, job.recipe(first, ShippedMask(first, strengths)), sink, None, quiet=True, first_index=first)
    return sink.frames
