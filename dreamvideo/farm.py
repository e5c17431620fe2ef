"""Render farm: segments of a render dreamed on Ray workers; the driver owns the output.

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
model between tasks (:func:`dreamvideo.animation.make_dreamer`). If a worker dies, Ray runs its segment
again. The driver stores finished frames in the render's work folder (:class:`dreamvideo.render.FrameStore`;
the halves of a cross-fade as ``head-``/``tail-`` files until both are there) and writes them to the sink in
order as soon as they are contiguous. A driver killed and rerun skips the segments whose frames are stored.

Stills run as one task each. Ray is imported only here, and only for a render on Ray.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import socket
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from .errors import DreamError
from .options import FarmOptions

logger = logging.getLogger(__name__)

RAY_MISSING = 'a render on Ray (--workers, --ray) needs Ray: pip install "dreamvideo[ray]"'
LOOPBACK = "127.0.0.1"
# An automatic segment splits the frames evenly over the workers, but stays short enough that a
# killed render loses little and a slow worker does not hold the end back.
MAX_AUTO_SEGMENT = 240
# The local Ray's shared-memory store: frames of the segments in flight; Ray spills to disk beyond it.
LOCAL_OBJECT_STORE_BYTES = 512 * 1024 ** 2
CONNECT_TIMEOUT_S = 10.0
TASK_RETRIES = 3


# ------------------------------------------------------------------------------------------ segment plan


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


def cross_fade(tail: np.ndarray, head: np.ndarray, weight: float) -> np.ndarray:
    """(1 - weight) * tail + weight * head, for uint8 (H, W, 3) frames; uint8 result."""
    mixed = (1.0 - weight) * tail.astype(np.float32) + weight * head.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------ worker side


class _ShippedMask:
    """Mask strengths computed by the driver, one per dreamed frame (or None: no mask)."""

    def __init__(self, first: int, strengths):
        self.first, self.strengths = first, strengths

    def strength(self, index, height, width):
        return None if self.strengths is None else self.strengths[index - self.first]


class _FrameList:
    """A sink that keeps the frames."""

    def __init__(self):
        self.frames = []

    def write(self, frame):
        self.frames.append(frame)


def _use_threads(threads: int) -> None:
    """TensorFlow threads for this worker process (ignored once TensorFlow has started)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass


def dream_segment(dream_opts, video_opts, first: int, frames: list, strengths, threads: int) -> list:
    """Dream the source frames of one segment, the first being render frame ``first``; returns uint8 frames.

    Runs on a Ray worker; the same frame loop as a single-process render, from a full dream.
    """
    from .render import run_loop
    from .video import frame_recipe

    _use_threads(threads)
    carry, dream, _ = frame_recipe(dream_opts, video_opts, _ShippedMask(first, strengths))
    sink = _FrameList()
    run_loop(frames, carry, dream, sink, None, quiet=True, first_index=first)
    return sink.frames


def dream_still_task(opts, image: np.ndarray, threads: int) -> np.ndarray:
    """Dream one still on a Ray worker: uint8 (H, W, 3) RGB in and out."""
    from .animation import dream_still

    _use_threads(threads)
    return dream_still(image, opts)


# ------------------------------------------------------------------------------------------ driver side


def import_ray(loopback: bool = False):
    """Ray, or a DreamError saying how to install it. ``loopback``: nodes started from this process will
    listen on 127.0.0.1 only."""
    if loopback:
        # Ray on Linux binds the machine's network address unless this is set when Ray is imported;
        # with it, the loopback address. Ray also turns a node address of 127.0.0.1 into the machine's
        # address unless it is set. Child processes (raylet, GCS, workers) inherit it.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    try:
        import ray
    except ImportError:
        raise DreamError(RAY_MISSING) from None
    if loopback:
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False  # Ray was imported before the variable was set
    return ray


def _check_reachable(ray, address: str) -> None:
    """A DreamError within seconds when nothing listens at the address (ray.init would wait minutes)."""
    target = address
    if address == "auto":
        try:
            from ray._private.services import canonicalize_bootstrap_address

            target = canonicalize_bootstrap_address("auto")
        except Exception:  # noqa: BLE001 - Ray's own search failed: it has no cluster to offer
            target = None
        if not target:
            raise DreamError("--ray auto: no running Ray cluster found on this machine; start one with "
                             "'ray start --head', or give its address")
    host_port = target.split("://", 1)[-1]
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise DreamError(f"--ray {address!r} is not an address: give auto, host:port or ray://host:10001")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise DreamError(f"--ray {address}: no Ray cluster answers at {host_port} ({exc.strerror or exc}); "
                         "is 'ray start --head' running there?") from None


@contextlib.contextmanager
def connected(farm: FarmOptions):
    """Ray, connected: a local Ray on the loopback address with ``farm.workers`` CPUs, or the cluster at
    ``farm.ray_address``; an existing connection is used as it is. Shuts down what it started."""
    ray = import_ray(loopback=farm.workers is not None)
    if ray.is_initialized():
        yield ray
        return
    # Ray's own notices (start-up, token files) are not for our users; its errors still show.
    common = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                  configure_logging=True)
    if farm.workers is not None:
        ray.init(address="local", num_cpus=farm.workers, _node_ip_address=LOOPBACK,
                 object_store_memory=LOCAL_OBJECT_STORE_BYTES, **common)
    else:
        _check_reachable(ray, str(farm.ray_address))
        try:
            ray.init(address=farm.ray_address, **common)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise DreamError(f"--ray {farm.ray_address}: cannot join the cluster: {exc}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _threads_per_worker(farm: FarmOptions) -> int:
    """cores / N TensorFlow threads for N local workers; one per task (per CPU) on a cluster."""
    if farm.workers is None:
        return 1
    return max(1, (os.cpu_count() or 1) // farm.workers)


def render_on_ray(jobs: list, farm: FarmOptions, *, quiet: bool | None = None,
                  order: Callable[[list], list] | None = None, max_in_flight: int | None = None,
                  on_segment: Callable[[object, Segment], None] | None = None) -> None:
    """Render video jobs (:class:`dreamvideo.video.VideoJob`) and stills (:class:`dreamvideo.animation.StillJob`)
    on Ray, all sharing the workers and one progress bar.

    ``order`` (tests): reorders each video's segments before they are sent out (all are collected first);
    ``max_in_flight``: tasks running at once (default twice the cluster's CPUs); ``on_segment(job, segment)``
    is called after a segment's frames are stored.
    """
    from tqdm import tqdm

    farm.check()
    if quiet is None:
        quiet = all(job_options(job).quiet for job in jobs)
    with connected(farm) as ray:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        threads = _threads_per_worker(farm)
        remote_segment = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(dream_segment)
        remote_still = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(dream_still_task)
        runs = []
        try:
            for job in jobs:
                runs.append(_VideoRun(job, farm, cpus, order, on_segment) if hasattr(job, "total") else
                            _StillRun(job))
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
                    for call in run.tasks():
                        while len(in_flight) >= limit:
                            _collect_one(ray, in_flight)
                        if isinstance(run, _VideoRun):
                            segment, args = call
                            ref = remote_segment.remote(*args, threads)
                            in_flight[ref] = (lambda frames, run=run, segment=segment: run.accept(segment, frames))
                        else:
                            in_flight[remote_still.remote(*call, threads)] = run.accept
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


def job_options(job):
    return job.dream_opts if hasattr(job, "dream_opts") else job.opts


def _for_workers(opts):
    """The dream options as sent to the workers: ``precision="auto"`` decided once, on the driver, so
    workers on CPUs with and without bfloat16 instructions dream the same way."""
    from .models import cpu_has_bf16

    if opts.precision != "auto":
        return opts
    sent = copy.copy(opts)
    sent.precision = "bfloat16" if cpu_has_bf16() else "float32"
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


class _StillRun:
    """A still image, dreamed as one task."""

    total = 1

    def __init__(self, job):
        self.job = job

    def open(self, stack, bar):
        self.bar = bar

    def tasks(self) -> Iterator[tuple]:
        yield (_for_workers(self.job.opts), self.job.read())

    def accept(self, result):
        self.job.write(result)
        self.bar.update(1)

    def check_complete(self):
        pass

    def abandon(self):
        pass

    def finish(self):
        pass


class _VideoRun:
    """One video on the farm: its segment plan, work folder, sink, and frames sent out and taken back."""

    def __init__(self, job, farm: FarmOptions, cpus: int, order, on_segment):
        from .render import FrameStore

        self.job, self.order, self.on_segment = job, order, on_segment
        self.total = job.total
        segment = farm.segment or auto_segment(job.total, farm.workers or cpus, farm.overlap)
        settings = {**job.settings(), "farm": {"segment": segment, "warmup": farm.warmup, "overlap": farm.overlap}}
        self.store = FrameStore(job.output, settings, restart=job.video_opts.restart)
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
        from .video import starts_new_shot

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
        """(segment, task arguments) for each segment not yet done, as its source frames are decoded."""
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
        dream_opts = _for_workers(self.job.dream_opts)
        first, last = min(s.begin for s in todo), max(s.stop for s in todo)
        frames = self.job.frames(first)  # a resumed render skips what its finished segments needed
        try:
            for index, frame in enumerate(frames, first):
                for segment in todo:
                    if segment.begin <= index < segment.stop:
                        buffers[segment.index].append(frame)
                        if index == segment.stop - 1:
                            segment_frames = buffers.pop(segment.index)
                            yield segment, (dream_opts, self.job.video_opts, segment.begin, segment_frames,
                                            self._strengths(segment, *frame.shape[:2]))
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
