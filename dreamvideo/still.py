"""Stills: one picture dreamed as frame 0 of a render, with the same options and the same kernel call."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import float255_to_uint8
from .dreaming import dream_frame, log_closeness, make_dreamer
from .errors import DreamError
from .masks import MaskSource
from .options import DreamOptions, default_output, preview_options, preview_output
from .render import CarryResult, Job, Recipe


def dream_still(image: np.ndarray, opts: DreamOptions) -> np.ndarray:
    """Dream one picture as frame 0: uint8 (H, W, 3) RGB in, uint8 (H, W, 3) RGB out (resized if max_side)."""
    from .media import resize_max_side

    opts.check_schedules(1)
    image = resize_max_side(np.asarray(image), opts.max_side)
    strength = MaskSource(opts.mask).strength(0, *image.shape[:2])
    dreamer = make_dreamer(opts)
    result = float255_to_uint8(dream_frame(dreamer, image, opts, frame=0, strength=strength))
    log_closeness(dreamer, image, result)
    return result


@dataclass
class StillJob(Job):
    """One still render, checked, before any dreaming (one frame, no work folder)."""

    input: str
    output: str
    dream_opts: DreamOptions

    total = 1
    progress = False
    resumable = False
    restart = False

    @property
    def quiet(self) -> bool:
        return self.dream_opts.quiet

    def frames(self, first: int = 0, stop: int | None = None):
        from .media import read_image

        yield read_image(self.input)

    def recipe(self, first: int = 0, mask=None) -> Recipe:
        return Recipe(lambda index, frame, *_: CarryResult(frame, None, source=frame),
                      lambda index, carried: dream_still(carried.source, self.dream_opts))

    def open_sink(self, store=None):
        return _StillSink(self.output)

    def finish(self) -> None:
        from .renderfile import write_render_file

        write_render_file("still", self.input, self.output, self.dream_opts.recorded(frames=1))  # a still is frame 0


def prepare_still(input, output, options: dict, preview: bool = False) -> StillJob:
    """Check a still render's options and output (DreamError on any problem) without dreaming."""
    from . import media
    from .declare import take

    output = str(output) if output is not None else default_output(input, ".png")
    if preview:
        options, output = preview_options(options), preview_output(output)
    opts, = take(options, DreamOptions, what="a still image")
    opts.check_schedules(1)
    kind = media.check_output(output, input)
    if kind != "image":
        raise DreamError(f"cannot write a still image to {output}: use .png, .jpg or another image extension")
    return StillJob(str(input), output, opts)


class _StillSink:
    """The output of a still: the picture written once, atomically, by media.write_image."""

    def __init__(self, path: str):
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def write(self, frame: np.ndarray) -> None:
        from .media import write_image

        write_image(self.path, frame)
