"""Render farm: segments of a render dreamed on Ray workers; the driver owns the output.

Modules: ``plan`` (where a render is cut), ``connect`` (Ray, local or a cluster), ``worker`` (what a task
runs), ``driver`` (this one: tasks out, frames back, the work folder and the output).

A video's frames are cut into segments (``segment`` frames each). A segment's frames depend only on the
settings, the seed and its frame range, so the order in which workers finish changes nothing:

* the first segment, and a segment that starts at a scene cut, starts with a full dream, as the single
  process does there;
* any other segment starts ``warmup`` frames early, from a full dream; those frames are not written.
  Its first ``overlap`` frames are cross-faded with the previous segment, which dreams that many frames
  past its own end: weight (j + 1) / (overlap + 1) for the new segment at its j-th frame, so a seam is a
  gradual hand-over, not a jump;
* a planned boundary moves to a scene cut within a quarter of a segment of it: the dream restarts at a
  cut anyway, so that seam needs no warm-up and no cross-fade.

Workers get source frames (and mask strengths) through Ray's object store and return dreamed frames: they
need no access to the input or output paths. A Ray task per segment; each worker process keeps its loaded
model between tasks (:func:`dreamvideo.dreaming.make_dreamer`). If a worker dies, Ray runs its segment
again. The driver stores finished frames in the render's work folder (:class:`dreamvideo.render.FrameStore`;
the halves of a cross-fade as ``head-``/``tail-`` files until both are there) and writes them to the sink in
order as soon as they are contiguous. A driver killed and rerun skips the segments whose frames are stored.

A job whose frames cannot be split (a still) runs as one task. Ray is imported only in :mod:`.connect`,
and only for a render on Ray.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from typing import Callable, Iterator

import numpy as np

from ..dreaming import cross_fade
from ..errors import DreamError
from ..options import FarmOptions
from .connect import connected, threads_per_worker
from .plan import Segment, auto_segment, boundary_window, plan_segments, planned_boundaries
from .worker import dream_frames

logger = logging.getLogger(__name__)

TASK_RETRIES = 3


def render_on_ray(jobs: list, farm: FarmOptions, *, quiet: bool | None = None,
                  order: Callable[[list], list] | None = None, max_in_flight: int | None = None,
                  on_segment: Callable[[object, Segment], None] | None = None) -> None:
    """Render jobs (:class:`dreamvideo.render.Job`: a splittable one in segments, any other as one task) on
    Ray, all sharing the workers and one progress bar.

    ``order`` (tests): reorders each video's segments before they are sent out (all are collected first);
    ``max_in_flight``: tasks running at once (default twice the cluster's CPUs); ``on_segment(job, segment)``
    is called after a segment's frames are stored.
    """
    from tqdm import tqdm

    if quiet is None:
        quiet = all(job.quiet for job in jobs)
    with connected(farm) as ray:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        threads = threads_per_worker(farm)
        remote = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(dream_frames)
        runs = []
        try:
            for job in jobs:
                runs.append(_SegmentedRun(job, farm, cpus, order, on_segment) if job.splittable else _WholeRun(job))
        except BaseException:
            for run in runs:
                run.abandon()  # no work folder left behind by the inputs before the one that failed
            raise
        limit = max_in_flight or 2 * cpus
        with contextlib.ExitStack() as stack, tqdm(total=sum(run.total for run in runs), disable=quiet,
                                                   unit="frame", desc="dreaming", dynamic_ncols=True) as bar:
            for run in runs:
                run.open(stack, bar)
            in_flight: dict = {}
            try:
                for run in runs:
                    for accept, args in run.tasks():
                        while len(in_flight) >= limit:
                            _collect_one(ray, in_flight)
                        in_flight[remote.remote(*args, threads)] = accept
                while in_flight:
                    _collect_one(ray, in_flight)
                for run in runs:
                    run.check_complete()
            except BaseException:
                for ref in in_flight:
                    with contextlib.suppress(Exception):
                        ray.cancel(ref, force=True)
                for run in runs:
                    run.abandon()
                raise
        for run in runs:
            run.finish()


def _for_workers(job):
    """The job as sent to the workers: ``precision="auto"`` decided once, on the driver, so workers on CPUs
    with and without bfloat16 instructions dream the same way."""
    from ..models import resolve_precision

    if job.dream_opts.precision != "auto":
        return job
    sent = copy.copy(job)
    sent.dream_opts = copy.copy(job.dream_opts)
    auto = resolve_precision(job.dream_opts.model, "auto")
    sent.dream_opts.precision = "bfloat16" if auto == "mixed_bfloat16" else "float32"
    return sent


def _collect_one(ray, in_flight: dict) -> None:
    """Wait for one task and hand its result on; a task's error becomes a DreamError."""
    ready, _ = ray.wait(list(in_flight), num_returns=1)
    accept = in_flight.pop(ready[0])
    try:
        result = ray.get(ready[0])
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, DreamError):
            raise DreamError(str(cause)) from None
        raise DreamError(f"a worker failed: {cause if cause is not None else exc}") from None
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
        raise DreamError(f"a worker died {TASK_RETRIES + 1} times on the same task; last: {exc}") from None
    accept(result)


class _WholeRun:
    """A job whose frames cannot be split (a still), dreamed as one task."""

    def __init__(self, job):
        self.job = job
        self.total = job.total

    def open(self, stack, bar):
        self.bar = bar

    def tasks(self) -> Iterator[tuple]:
        yield self.accept, (_for_workers(self.job), 0, list(self.job.frames()), None)

    def accept(self, frames: list) -> None:
        with self.job.open_sink(None) as sink:
            for frame in frames:
                sink.write(frame)
        self.job.finish()
        self.bar.update(len(frames))

    def check_complete(self):
        pass

    def abandon(self):
        pass

    def finish(self):
        pass


class _SegmentedRun:
    """One splittable job (a video) on the farm: its segment plan, work folder, sink, and frames sent out and
    taken back."""

    def __init__(self, job, farm: FarmOptions, cpus: int, order, on_segment):
        from ..render import FrameStore

        self.job, self.order, self.on_segment = job, order, on_segment
        self.total = job.total
        segment = farm.segment or auto_segment(job.total, farm.workers or cpus, farm.overlap)
        settings = {**job.settings(), "farm": {"segment": segment, "warmup": farm.warmup, "overlap": farm.overlap}}
        self.store = FrameStore(job.output, settings, restart=job.restart)
        try:
            cuts = self._cuts_near(planned_boundaries(job.total, segment, farm.overlap),
                                   boundary_window(segment, farm.overlap))
        except BaseException:
            self.abandon()
            raise
        self.plan = plan_segments(job.total, segment, farm.warmup, farm.overlap, cuts)
        self.cursor = 0
        self.fresh: dict[int, np.ndarray] = {}

    def _cuts_near(self, planned: list[int], window: int) -> set[int]:
        """Scene cuts among the frames within ``window`` of a planned boundary (decoded on the driver)."""
        from ..video import starts_new_shot

        wanted = sorted({i for p in planned for i in range(p - window, p + window + 1) if 0 < i < self.total})
        cuts = set()
        runs = []  # [first, last] of each stretch of wanted frames: only those (and the frame before) decode
        for index in wanted:
            if runs and index == runs[-1][1] + 1:
                runs[-1][1] = index
            else:
                runs.append([index, index])
        for first, last in runs:
            frames = self.job.frames(first - 1, last + 1)
            try:
                previous = None
                for index, frame in enumerate(frames, first - 1):
                    if previous is not None and starts_new_shot(previous, frame, self.job.video_opts):
                        cuts.add(index)
                    previous = frame
            finally:
                frames.close()
        if cuts:
            logger.info("%s: segment boundaries moved to the scene cuts at frames %s", self.job.input,
                        ", ".join(map(str, sorted(cuts))))
        return cuts

    def _kind(self, segment: Segment, index: int) -> str:
        """Which part of ``segment`` frame ``index`` is: its own (""), a cross-fade head or tail."""
        if index < segment.start + segment.fade:
            return "head-"
        return "tail-" if index >= segment.end else ""

    def _is_done(self, segment: Segment) -> bool:
        for index in range(segment.start, segment.stop):
            if self.store.path(index).exists():
                continue
            kind = self._kind(segment, index)
            if not kind or not self.store.path(index, kind).exists():
                return False
        return True

    def open(self, stack, bar):
        self.bar = bar
        self.sink = stack.enter_context(self.job.open_sink())
        done = self.store.finished()
        bar.update(sum(1 for i in range(self.total) if self.store.path(i).exists()))
        if done:
            logger.info("resuming: %d finished frames found in %s", done, self.store.folder)
        self._flush()

    def tasks(self) -> Iterator[tuple]:
        """(accept, task arguments) for each segment not yet done, as its source frames are decoded."""
        todo = [s for s in self.plan if not self._is_done(s)]
        skipped = len(self.plan) - len(todo)
        logger.info("%s: %d segments%s", self.job.input, len(self.plan),
                    f", {skipped} already finished" if skipped else "")
        if not todo:
            return
        if self.order is not None:
            yield from self.order(list(self._segment_calls(todo)))
        else:
            yield from self._segment_calls(todo)

    def _segment_calls(self, todo: list[Segment]) -> Iterator[tuple]:
        buffers = {s.index: [] for s in todo}
        sent = _for_workers(self.job)
        first, last = min(s.begin for s in todo), max(s.stop for s in todo)
        frames = self.job.frames(first)  # a resumed render skips what its finished segments needed
        try:
            for index, frame in enumerate(frames, first):
                for segment in todo:
                    if segment.begin <= index < segment.stop:
                        buffers[segment.index].append(frame)
                        if index == segment.stop - 1:
                            segment_frames = buffers.pop(segment.index)
                            yield (lambda frames, segment=segment: self.accept(segment, frames),
                                   (sent, segment.begin, segment_frames, self._strengths(segment, *frame.shape[:2])))
                if index >= last - 1:
                    break
        finally:
            frames.close()
        if buffers:
            raise DreamError(f"{self.job.input} ended before frame {min(s.stop for s in todo if s.index in buffers)}"
                             "; the file may be damaged")

    def _strengths(self, segment: Segment, height: int, width: int):
        if self.job.dream_opts.mask is None:
            return None
        mask = self.job.mask(first=segment.begin)
        return [mask.strength(i, height, width) for i in range(segment.stop - segment.begin)]

    def accept(self, segment: Segment, frames: list) -> None:
        """Store a segment's dreamed frames [begin, stop), cross-fade its seams, write what is contiguous."""
        if len(frames) != segment.stop - segment.begin:
            raise DreamError(f"segment {segment.index} of {self.job.input} came back with {len(frames)} frames, "
                             f"expected {segment.stop - segment.begin}")
        for index, frame in zip(range(segment.begin, segment.stop), frames):
            if index < segment.start or self.store.path(index).exists():
                continue  # warm-up, or finished by an earlier run
            kind = self._kind(segment, index)
            if not kind:
                self._save(index, frame)
                continue
            other = "tail-" if kind == "head-" else "head-"
            if not self.store.path(index, other).exists():
                self.store.save(index, frame, kind)
                continue
            # A seam frame: weight of the later segment rises over its first `fade` frames.
            seam, fade = (segment.start, segment.fade) if kind == "head-" else (segment.end, segment.stop - segment.end)
            partner = self.store.load(index, other)
            head, tail = (frame, partner) if kind == "head-" else (partner, frame)
            self._save(index, cross_fade(tail, head, (index - seam + 1) / (fade + 1)))
            self.store.path(index, other).unlink()
        if self.on_segment is not None:
            self.on_segment(self.job, segment)
        self._flush()

    def _save(self, index: int, frame: np.ndarray) -> None:
        self.store.save(index, frame)
        self.fresh[index] = frame
        self.bar.update(1)

    def _flush(self) -> None:
        while self.cursor < self.total and self.store.path(self.cursor).exists():
            frame = self.fresh.pop(self.cursor, None)
            self.sink.write(frame if frame is not None else self.store.load(self.cursor))
            self.cursor += 1

    def check_complete(self):
        if self.cursor != self.total:
            raise DreamError(f"{self.job.input}: frame {self.cursor} is missing after every segment came back")

    def abandon(self):
        if not any(self.store.folder.glob("*.png")):
            self.store.remove()  # nothing to resume: leave nothing behind

    def finish(self):
        self.store.remove()
        self.job.finish()
