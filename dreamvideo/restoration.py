"""Restore: ``dreamvideo restore INPUT``: masked regions, dust and flicker, as a recipe of the frame loop (named
restoration.py, not restore.py, so that ``dv.restore``, the API call, is not shadowed by a module of that name).

A video streams through the frame loop (:mod:`dreamvideo.render`) like a dream: resumable from its work
folder, the audio kept, a render file written. Its source reads the input (steadied by :mod:`dreamvideo.deflicker`
with ``deflicker``) into a window of ``radius`` frames each side; its carry fills each frame from that window
(:class:`dreamvideo.fill.Restorer`), from the input and the restored frame before it, so a resumed render
makes the same frames as one that never stopped; the pixels that are guesses are the recipe's state. The dust
found (``dust_mask``) is kept in the work folder beside each frame and written as a second video.

A still is filled by ``cv2.inpaint`` or, with ``prior``, a Deep Image Prior (:mod:`dreamvideo.restore_still`).
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass, field
from fractions import Fraction

import cv2
import numpy as np

from .declare import take
from .errors import DreamError
from .options import RestoreOptions
from .render import CarryResult, Job, Recipe, file_identity, resume_settings

logger = logging.getLogger(__name__)

DUST_KIND = "dust-"  # the work folder's name prefix of a frame's dust mask


def default_restore_output(input_path, suffix: str) -> str:
    """``<stem>_restored<suffix>`` beside the input."""
    path = os.fspath(input_path)
    stem, _ = os.path.splitext(path)
    return f"{stem}_restored{suffix}"


def prepare_restore(input, output, options: dict, preview: bool = False):
    """Check a restoration's input, mask, output and options (DreamError on any problem) before any work;
    returns the job for :func:`dreamvideo.render.run`. ``preview``: at most PREVIEW_MAX_SIDE px, written as
    ``<name>_preview``."""
    from . import media
    from .options import PREVIEW_MAX_SIDE, preview_output

    if preview:
        options = {**options, "max_side": min(options.get("max_side") or PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE)}
        suffix = ".mp4" if media.is_video_path(input) else ".png"
        output = preview_output(str(output) if output is not None else default_restore_output(input, suffix))
    opts, = take(options, RestoreOptions, what="restore")
    if media.is_video_path(input):
        return _prepare_video(str(input), output, opts)
    return _prepare_still(str(input), output, opts)


def _first_frame(path: str, max_side) -> np.ndarray:
    from . import media

    reader = media.read_frames(path, end_frame=1, max_side=max_side)
    try:
        frame = next(iter(reader), None)
    finally:
        reader.close()
    if frame is None:
        raise DreamError(f"{path}: no frame could be decoded")
    return frame


def _check_still_mask(path: str, height: int, width: int) -> np.ndarray:
    """The fixed mask at the frames' size, (H, W) bool; DreamError for one that is empty or all white."""
    from . import fill, media

    mask = fill.as_mask(media.read_image(path), height, width, f"mask {path}")
    fill.check_fixed_mask(mask, f"mask {path}")
    return mask


def _prepare_video(input: str, output, opts: RestoreOptions) -> "RestoreJob":
    from . import media

    if opts.prior:
        raise DreamError("--prior fills a still image; a video is filled from its own frames along the flow")
    if opts.mask is None and not opts.dust and not opts.deflicker:
        raise DreamError("nothing to restore: give --mask MASK, --dust or --deflicker")
    if opts.dust_mask is not None and not opts.dust:
        raise DreamError("--dust-mask writes what --dust finds: add --dust")
    output = str(output) if output is not None else default_restore_output(input, ".mp4")
    media.check_codec(opts.codec, media.check_animation_output(output, input, "restored video"), output)
    if opts.dust_mask is not None:
        media.check_animation_output(opts.dust_mask, input, "dust mask")
        if os.path.abspath(opts.dust_mask) == os.path.abspath(output):
            raise DreamError(f"--dust-mask {opts.dust_mask} is the output itself; give it another name")
    info = media.probe_video(input)
    total = media.count_frames(input, info.fps)
    if total == 0:
        raise DreamError(f"{input}: no frame could be decoded")
    height, width = _first_frame(input, opts.max_side).shape[:2]
    still_mask = None
    if opts.mask is not None:
        if media.is_video_path(opts.mask):
            count = media.count_frames(opts.mask, info.fps)
            if count != total:
                raise DreamError(f"mask video {opts.mask} has {count} frames at {info.fps} fps and {input} has "
                                 f"{total}: give a mask video with the same frame count (or a still mask)")
        else:
            still_mask = _check_still_mask(opts.mask, height, width)
    return RestoreJob(input, output, opts, info.fps, total, info.has_audio, still_mask)


@dataclass
class RestoreJob(Job):
    """One video restoration, checked (see :func:`prepare_restore`)."""

    input: str
    output: str
    opts: RestoreOptions
    fps: Fraction
    total: int
    has_audio: bool
    # A still mask as checked (and scaled, if it was) at the frames' size: read once, said once.
    still_mask: np.ndarray | None = field(default=None, repr=False)

    description = "restoring"

    def __post_init__(self):
        self._restorer = None
        self._store = None
        self._found: dict[int, np.ndarray] = {}

    @property
    def restart(self) -> bool:
        return self.opts.restart

    @property
    def quiet(self) -> bool:
        return self.opts.quiet

    @property
    def fills(self) -> bool:
        return self.opts.mask is not None or self.opts.dust

    def settings(self) -> dict:
        source = {"command": "restore", "input": file_identity(self.input), "fps": str(self.fps)}
        if self.opts.mask is not None:
            source["mask_file"] = file_identity(self.opts.mask)
        return resume_settings(self.output, source, self.opts.recorded(frames=self.total))

    def _input_frames(self):
        from . import deflicker, media

        frames = media.read_frames(self.input, fps=self.fps, max_side=self.opts.max_side)
        if self.opts.deflicker:
            frames = deflicker.deflicker(frames, sigma=self.opts.deflicker_frames, method=self.opts.flow,
                                         preset=self.opts.flow_preset)
        return frames

    def _masks(self):
        from . import media

        if self.opts.mask is None:
            return None
        if media.is_video_path(self.opts.mask):
            return media.read_frames(self.opts.mask, fps=self.fps)
        return self.still_mask

    def frames(self, first: int = 0, stop: int | None = None):
        """The input frames (deflickered if asked), read ``radius`` frames ahead into the fill's window."""
        from .fill import Restorer

        if not self.fills:
            yield from self._input_frames()
            return
        o = self.opts
        self._restorer = restorer = Restorer(self._input_frames(), self._masks(), dust=o.dust, radius=o.radius,
                                             grow=o.grow, method=o.flow, preset=o.flow_preset)
        index = 0
        while restorer.has(index):
            yield restorer.clip.frame[index]
            restorer.forget_before(index)
            index += 1
        restorer.finish()

    def recipe(self, first: int = 0, mask=None) -> Recipe:
        guesses = Guesses()

        def carry(index, frame, previous_source, previous_restored):
            if not self.fills:
                return CarryResult(frame, None, source=frame)
            previous = None
            if previous_restored is not None and index - 1 not in self._restorer.clip.restored:
                # Resumed: the frame before comes from the work folder, its guesses from the state.
                previous = (previous_restored, guesses.mask if guesses.mask is not None
                            else np.ones(frame.shape[:2], bool))
            restored, guesses.mask = self._restorer.fill(index, previous)
            if self.opts.dust_mask is not None:
                found = np.repeat((self._restorer.dust(index).astype(np.uint8) * 255)[..., None], 3, axis=2)
                if self._store is not None:  # before the frame itself: a stored frame has its dust beside it
                    self._store.save(index, found, kind=DUST_KIND)
                else:
                    self._found[index] = found
            return CarryResult(restored, None, source=restored)

        def dream(index, carried):
            return carried.source

        return Recipe(carry, dream, guesses if self.fills else None)

    def open_sink(self, store=None):
        from .video import open_video_sink

        self._store = store
        sink = open_video_sink(self.output, self.fps, self.input if self.has_audio else None, 0.0, self.opts)
        if self.opts.dust_mask is None:
            return sink
        return _WithDustMask(sink, open_video_sink(self.opts.dust_mask, self.fps, None, 0.0, self.opts), self)

    def dust_found(self, index: int) -> np.ndarray:
        if self._store is not None:
            return self._store.load(index, DUST_KIND)
        return self._found.pop(index)

    def finish(self) -> None:
        from .renderfile import write_render_file

        write_render_file("restore", self.input, self.output, self.opts.recorded(frames=self.total))


class Guesses:
    """The recipe's state: which pixels of the last restored frame are guesses, (H, W) bool or None;
    stored with each frame (a PNG in base64) so a resumed render treats them as the first run did."""

    def __init__(self):
        self.mask = None

    def snapshot(self) -> dict:
        if self.mask is None:
            return {}
        ok, png = cv2.imencode(".png", self.mask.astype(np.uint8) * 255)
        return {"guessed_png": base64.b64encode(png.tobytes()).decode("ascii")}

    def restore(self, state: dict | None) -> None:
        self.mask = None
        if state and "guessed_png" in state:
            png = np.frombuffer(base64.b64decode(state["guessed_png"]), np.uint8)
            self.mask = cv2.imdecode(png, cv2.IMREAD_GRAYSCALE) > 127


class _WithDustMask:
    """The restored video's sink, and beside it the dust mask's, written frame for frame."""

    def __init__(self, sink, dust_sink, job: RestoreJob):
        self.sink, self.dust_sink, self.job = sink, dust_sink, job
        self.index = 0

    def __enter__(self):
        self.sink.__enter__()
        try:
            self.dust_sink.__enter__()
        except BaseException:
            self.sink.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info):
        try:
            self.dust_sink.__exit__(*exc_info)
        finally:
            self.sink.__exit__(*exc_info)
        return False

    def write(self, frame: np.ndarray) -> None:
        self.sink.write(frame)
        self.dust_sink.write(self.job.dust_found(self.index))
        self.index += 1


# ------------------------------------------------------------------------------------------------- stills

def _prepare_still(input: str, output, opts: RestoreOptions) -> "RestoreStillJob":
    from . import media

    if opts.dust or opts.dust_mask is not None:
        raise DreamError(f"--dust needs a video: dust is found as what differs from the frames before and "
                         f"after, and {input} is a still image; mark the specks with --mask instead")
    if opts.deflicker:
        raise DreamError(f"--deflicker needs a video, and {input} is a still image")
    if opts.mask is None:
        raise DreamError(f"restoring the still {input} needs --mask MASK (white marks what to fill)")
    if media.is_video_path(opts.mask):
        raise DreamError(f"mask {opts.mask} is a video, and {input} is a still image: give a mask picture")
    output = str(output) if output is not None else default_restore_output(input, ".png")
    if media.check_output(output, input) != "image":
        raise DreamError(f"cannot write a still image to {output}: use .png, .jpg or another image extension")
    image = media.resize_max_side(media.read_image(input), opts.max_side)
    mask = _check_still_mask(opts.mask, *image.shape[:2])
    return RestoreStillJob(input, output, opts, image, mask)


@dataclass
class RestoreStillJob(Job):
    """One still restoration, checked: one frame, no work folder."""

    input: str
    output: str
    opts: RestoreOptions
    image: np.ndarray
    mask: np.ndarray

    total = 1
    progress = False
    resumable = False
    restart = False
    description = "restoring"

    @property
    def quiet(self) -> bool:
        return self.opts.quiet

    def settings(self) -> dict:
        return {}

    def frames(self, first: int = 0, stop: int | None = None):
        yield self.image

    def recipe(self, first: int = 0, mask=None) -> Recipe:
        return Recipe(lambda index, frame, *_: CarryResult(frame, None, source=frame),
                      lambda index, carried: restore_still_image(carried.source, self.mask, self.opts))

    def open_sink(self, store=None):
        from .still import _StillSink

        return _StillSink(self.output)

    def finish(self) -> None:
        from .renderfile import write_render_file

        write_render_file("restore", self.input, self.output, self.opts.recorded(frames=1))


def restore_still_image(image: np.ndarray, mask: np.ndarray, opts: RestoreOptions) -> np.ndarray:
    """Fill (H, W) bool ``mask`` of uint8 (H, W, 3) RGB ``image``: cv2.inpaint, or the Deep Image Prior with
    ``opts.prior``. Returns uint8 (H, W, 3)."""
    from . import fill

    if opts.prior:
        from .restore_still import deep_image_prior

        return deep_image_prior(image, mask, iterations=opts.prior_steps, seed=opts.seed, grow=opts.grow,
                                quiet=opts.quiet)
    return fill.inpaint(image, fill.grow_mask(mask, opts.grow))
