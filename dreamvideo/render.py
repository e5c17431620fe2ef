"""The frame loop: source -> carry -> blend -> dream kernel -> sink, with progress and resume.

Only this module knows about time. Each output frame is made the same way whatever the source:

* a *source* yields frames (a video's decoded frames; for a zoom, nothing after the first);
* a *recipe* (video, zoom, still) says how a frame is made: its *carry* turns (frame index, source frame,
  previous source frame, previous dream) into the image the kernel starts from and the steps it needs,
  its *dream* runs the kernel on that, and its *state* is what they keep between frames;
* the dream kernel runs; the result is quantised to uint8 once, so what is carried, stored and encoded
  is the same array whether a render ran in one go or was resumed;
* the *sink* encodes frames as they come.

A *job* (:class:`Job`) is one render, checked before any work: its output, its frames, its recipe and its
sink. :func:`run` renders any job in this process; the render farm takes the same jobs.

Resume: every finished frame is stored as a PNG in a work folder beside the output
(``.<output name>.dreamvideo-work/``) together with the render's resolved settings and, when the recipe
keeps state between frames (``state``: an object with ``snapshot() -> dict`` and ``restore(dict | None)``),
that state after the frame as JSON. Rerunning the same command replays the stored frames into the sink,
restores the state stored with the last of them, and dreams on from the first missing one; different
settings are refused (``--restart`` discards the old frames). The work folder is removed once the output
is complete.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

import numpy as np

from .errors import DreamError
from .version import __version__

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass
class CarryResult:
    """What the kernel starts a frame from: float32 (H, W, 3) in [0, 255] and the steps to run."""

    start: np.ndarray
    steps: int | None  # None: the frame's scheduled --steps
    strength: np.ndarray | None = None  # (H, W) float32 [0, 1] per-pixel dream strength (--mask), or None
    source: np.ndarray | None = None  # the source frame being dreamed, uint8 (H, W, 3), where the dream needs it


# carry(frame_index, source_frame, previous_source, previous_dream) -> CarryResult, or None to repeat the
# previous dream as it is (a source frame that repeats the previous one exactly)
Carry = Callable[[int, np.ndarray, "np.ndarray | None", "np.ndarray | None"], "CarryResult | None"]
# dream(frame_index, carry_result) -> uint8 (H, W, 3)
DreamFn = Callable[[int, CarryResult], np.ndarray]


class Recipe(NamedTuple):
    """How a render makes each frame: ``carry`` and ``dream`` (see above) and ``state``, what they keep
    between frames (an object with ``snapshot() -> dict`` and ``restore(dict | None)``), or None."""

    carry: Carry
    dream: DreamFn
    state: object = None


class Job:
    """One render, checked and resolved before any frame is dreamed. A recipe module's job provides:

    ``output``, ``total`` (frames it writes), ``restart``, ``quiet``, ``description`` (the progress bar's),
    ``splittable`` (whether its frames can be dreamed in independent segments: a video's can, a zoom's
    cannot, each frame feeding the next), ``resumable`` (whether finished frames are kept in a work folder),
    and the methods below.
    """

    description = "dreaming"
    progress = True  # a progress bar over the frames (a still of one frame has none)
    splittable = False
    resumable = True

    def settings(self) -> dict:
        """The resolved settings that decide the frames (what a resumed render must match)."""
        raise NotImplementedError

    def frames(self, first: int = 0, stop: int | None = None) -> Iterable:
        """The source frames [first, stop): uint8 (H, W, 3) RGB, or None where the recipe has no source."""
        raise NotImplementedError

    def recipe(self, first: int = 0, mask=None) -> Recipe:
        """The recipe of this render, from render frame ``first`` (``mask``: per-frame strengths to use
        instead of reading the mask file, as a farm worker gets them)."""
        raise NotImplementedError

    def open_sink(self, store: "FrameStore | None"):
        """The output, as a context manager with ``write(frame)``; ``store`` holds the finished frames."""
        raise NotImplementedError

    def finish(self) -> None:
        """After the last frame: write the render file."""


def run(job: Job) -> str:
    """Render ``job`` in this process, resuming from its work folder; returns the output path."""
    recipe = job.recipe()
    store = FrameStore(job.output, job.settings(), restart=job.restart) if job.resumable else None
    try:
        with job.open_sink(store) as sink:
            run_loop(job.frames(), recipe, sink, store, total=job.total, quiet=job.quiet or not job.progress,
                     description=job.description)
    except BaseException:
        if store is not None and store.finished() == 0:
            store.remove()  # nothing to resume: leave nothing behind
        raise
    if store is not None:
        store.remove()
    job.finish()
    return job.output


def file_identity(path) -> dict:
    """What identifies an input file for resuming: its resolved path, size and modification time."""
    stat = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": stat.st_size, "mtime": int(stat.st_mtime)}


def resume_settings(output: str, source: dict, recorded: dict) -> dict:
    """What a work folder's frames were made with: the version, the output, the source, the options."""
    return {"version": __version__, "output": output, **source, **recorded}


def work_folder(output: str | os.PathLike) -> Path:
    """Where a render of ``output`` keeps its finished frames: ``.<output name>.dreamvideo-work/`` beside it."""
    output = Path(output)
    name = output.name or output.resolve().name
    return output.resolve().parent / f".{name}.dreamvideo-work"


class FrameStore:
    """Finished frames of one render, as PNGs in a work folder next to the output."""

    def __init__(self, output: str | os.PathLike, settings: dict, restart: bool = False):
        self.folder = work_folder(output)
        self.settings = json.loads(json.dumps(settings, default=str))
        settings_file = self.folder / "settings.json"
        if self.folder.is_dir() and not restart:
            try:
                stored = json.loads(settings_file.read_text())
            except (OSError, ValueError):
                stored = None
            if stored != self.settings:
                changed = _first_difference(stored, self.settings)
                raise DreamError(
                    f"{self.folder} holds frames of an earlier render with other settings ({changed}): rerun "
                    "with the same settings to resume, or add --restart to discard those frames")
        elif self.folder.is_dir():
            self.remove(strict=True)
        if self.folder.is_symlink() and not self.folder.is_dir():
            self.folder.unlink()  # a link to a folder that is gone: nothing to resume from
        try:
            self.folder.mkdir(exist_ok=True)
        except OSError as exc:
            from .media.files import io_error

            raise io_error(self.folder, exc, "creating the work folder") from None
        if not settings_file.exists():
            _write_json(settings_file, self.settings, indent=1, sort_keys=True)

    def path(self, index: int, kind: str = "") -> Path:
        """The PNG of finished frame ``index``; with a ``kind`` (e.g. "head-"), of a partial result."""
        return self.folder / f"{kind}{index:06d}.png"

    def finished(self) -> int:
        """How many frames, from the first, are stored without a gap."""
        count = 0
        while self.path(count).exists():
            count += 1
        return count

    def load(self, index: int, kind: str = "") -> np.ndarray:
        from .media import read_image

        return read_image(self.path(index, kind))

    def state_path(self, index: int) -> Path:
        return self.folder / f"{index:06d}.json"

    def load_state(self, index: int) -> dict | None:
        """The recipe's state stored after frame ``index``, or None if none was stored."""
        try:
            return json.loads(self.state_path(index).read_text())
        except (OSError, ValueError):
            return None

    def save(self, index: int, frame: np.ndarray, kind: str = "", state: dict | None = None) -> None:
        import cv2

        if state is not None:  # before the frame: a stored frame always has its state beside it
            _write_json(self.state_path(index), state)
        # Fast PNG (compression 1): these are scratch files, written once per frame on the hot path.
        temp = self.folder / f"{kind}{index:06d}.tmp.png"
        if not cv2.imwrite(str(temp), np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            raise DreamError(f"cannot write {temp}: is the disk full?")
        os.replace(temp, self.path(index, kind))

    def remove(self, strict: bool = False) -> None:
        """Remove the work folder. A symbolic link (a work folder put on another disk, say) is removed
        itself; what it points to is left as it is (nothing is deleted through a link)."""
        if self.folder.is_symlink():
            logger.warning("%s is a symbolic link: removed the link, left the frames in %s", self.folder,
                           os.path.realpath(self.folder))
            self.folder.unlink()
            return
        try:
            shutil.rmtree(self.folder, ignore_errors=not strict)
        except OSError as exc:
            from .media.files import io_error

            raise io_error(self.folder, exc, "removing the old frames (--restart)") from None


def _write_json(path: Path, data, **dump_options) -> None:
    """Write ``data`` as JSON to a temporary name beside ``path``, then rename it: never half written."""
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(data, **dump_options))
    os.replace(temp, path)


def _first_difference(stored, current) -> str:
    if not isinstance(stored, dict):
        return "no readable settings file"
    for key in sorted(set(stored) | set(current)):
        if stored.get(key) != current.get(key):
            return f"{key} was {stored.get(key)!r}, now {current.get(key)!r}"
    return "unknown difference"


def run_loop(source: Iterable, recipe: Recipe, sink, store: FrameStore | None, *, total: int | None = None,
             quiet: bool = False, description: str = "dreaming", first_index: int = 0,
             on_frame: Callable[[int, np.ndarray, np.ndarray], None] | None = None) -> int:
    """Run the frame loop until the source ends; returns the number of frames written to the sink.

    source: uint8 (H, W, 3) RGB frames (or None for a zoom). Frames already in ``store`` are not dreamed
    again: they are read back, written to the sink, and become the "previous dream" of the next frame; the
    recipe's state is restored from the last of them. ``first_index``: the frame number of the source's
    first frame (a segment of a render farm starts inside the render; schedules and seeds follow it).
    ``on_frame(index, source frame, dream)`` is called for every frame (for measurements).
    """
    from tqdm import tqdm

    carry, dream, state = recipe
    finished = store.finished() if store is not None else 0
    if finished:
        logger.info("resuming: %d finished frames found in %s", finished, store.folder)
    previous_source = previous_dream = None
    count = 0
    with tqdm(total=total, disable=quiet, unit="frame", desc=description, dynamic_ncols=True) as bar:
        for index, frame in enumerate(source, first_index):
            if index < finished:
                result = store.load(index)
                if frame is not None and result.shape != frame.shape:
                    raise DreamError(f"stored frame {store.path(index)} does not match the source's size; "
                                     "rerun with --restart")
                if state is not None and index == finished - 1:
                    state.restore(store.load_state(index))
            else:
                carried = carry(index, frame, previous_source, previous_dream)
                result = previous_dream if carried is None else dream(index, carried)
                if store is not None:
                    store.save(index, result, state=state.snapshot() if state is not None else None)
            sink.write(result)
            if on_frame is not None:
                on_frame(index, frame, result)
            previous_source, previous_dream = frame, result
            count += 1
            bar.update(1)
    if count == 0:
        raise DreamError("no frame could be decoded from the input")
    return count


def repeat_none(count: int) -> Iterator[None]:
    """A source for zooms: ``count`` frames with no source image."""
    for _ in range(count):
        yield None
