"""GAN animations: a latent walk, a morph by latent arithmetic, and both dreamed as a video.

Frames are generated at the GAN's size, upscaled ``scale`` times (Lanczos) and written by the project's
sinks (``.gif``, ``.mp4``, a ``frames/`` folder); with ``dream=True`` they go through the video path
instead (:func:`dreamvideo.video.dream_frames`: optical-flow carry, blend, dream kernel), so the dream moves
with the GAN's motion.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DreamError
from .. import limits
from ..declare import declared, option, parse_fps, take
from ..options import CarryOptions, DreamOptions, OutputOptions
from . import checkpoint
from .latent import INVERT_STEPS, Inverter, keyframe_latents, slerp, walk_latents

logger = logging.getLogger(__name__)

GENERATE_BATCH = 32
ANIMATION = "animation"
# Dream options that matter without --dream too.
WITHOUT_DREAM = ("seed", "quiet", "max_side")


@dataclass
class AnimationOptions(OutputOptions):
    """What walks and morphs share: frames, rate, upscaling, the output, and the dream switch (with
    ``dream``, the frames go through the video path and take the video carry's options too)."""

    frames: int = option(120, "frames", "int", group=ANIMATION, maximum=limits.MAX_FRAMES, metavar="N")
    fps: Any = option(24, "frame rate", "fps", group=ANIMATION, metavar="RATE")
    scale: int = option(4, "Lanczos upscaling of the GAN's pictures", "int", group=ANIMATION,
                        maximum=limits.MAX_SCALE, metavar="N")
    dream: bool = option(False, "dream the frames as a video (optical-flow carry and every dream option below)",
                         "bool", group=ANIMATION)


@dataclass
class WalkOptions(AnimationOptions):
    """``gan walk``: ``keyframes`` random latents visited; ``loop``: return to the first."""

    keyframes: int = option(6, "random latents the walk visits, at least 2", "int", minimum=2,
                            maximum=limits.MAX_KEYFRAMES, group=ANIMATION,
                            metavar="N")
    loop: bool = option(True, "return to the first latent, seamlessly", "bool", group=ANIMATION)


@dataclass
class MorphOptions(AnimationOptions):
    """``gan morph``: ``from_dir``/``to_dir`` pictures whose mean latents give the direction of change;
    ``invert_steps``: gradient steps of the inversion."""

    frames: int = option(60, "frames", "int", group=ANIMATION, maximum=limits.MAX_FRAMES, metavar="N")
    from_dir: str | None = option(None, "pictures of the starting group", "path", group="morph", metavar="DIR",
                                  aliases=("--from",))
    to_dir: str | None = option(None, "pictures of the group to move toward", "path", group="morph",
                                metavar="DIR", aliases=("--to",))
    invert_steps: int = option(INVERT_STEPS, "gradient steps finding each picture's latent", "int", group="morph",
                               maximum=limits.MAX_STEPS,
                               metavar="N")


def _split(options: dict, extra_cls, what: str, preview: bool, output: str | None):
    """(DreamOptions, the recipe's options, the carry's options, output): checked, with the preview's
    reductions if asked."""
    from ..options import preview_options, preview_output

    if preview:
        options = preview_options(options)
        output = preview_output(output) if output is not None else None
    dream_opts, extra, carry = take(options, DreamOptions, extra_cls, CarryOptions, what=f"gan {what}")
    if not extra.dream:
        defaults = {o.name: o.default for cls in (DreamOptions, CarryOptions) for o in declared(cls)
                    if o.name not in WITHOUT_DREAM}
        unused = [key for key, value in options.items() if key in defaults and value != defaults[key]]
        if unused:
            raise DreamError(f"--{unused[0].replace('_', '-')} applies to the dream: add --dream, or leave it out")
    return dream_opts, extra, carry, output


def upscale(frame: np.ndarray, scale: int) -> np.ndarray:
    """uint8 (S, S, 3) -> (S * scale, S * scale, 3), Lanczos."""
    import cv2

    if scale == 1:
        return frame
    side = frame.shape[0] * scale
    return cv2.resize(frame, (side, side), interpolation=cv2.INTER_LANCZOS4)  # uint8 in, saturated uint8 out


def generate(generator, latents: np.ndarray) -> np.ndarray:
    """uint8 (N, S, S, 3) pictures of float32 latents (N, latent_dim), in batches (inference mode)."""
    from .data import tanh_to_uint8

    return np.concatenate([tanh_to_uint8(generator(latents[i:i + GENERATE_BATCH], training=False))
                           for i in range(0, len(latents), GENERATE_BATCH)])


def generate_frames(generator, latents_between, total: int):
    """The uint8 (S, S, 3) pictures of frames 0..total-1, one at a time, generated a batch at a time:
    ``latents_between(i, j)`` gives the float32 latents (j - i, latent_dim) of frames i..j-1. Memory stays
    that of one batch however long the animation."""
    for start in range(0, total, GENERATE_BATCH):
        yield from generate(generator, latents_between(start, min(total, start + GENERATE_BATCH)))


def _check_scaled(meta: dict, opts: AnimationOptions) -> None:
    side = int(meta["options"]["size"]) * opts.scale
    limits.check_canvas(side, side, f"the GAN's {meta['options']['size']} px pictures scaled up {opts.scale} times")


def _write(frames_small, total: int, output: str, dream_opts: DreamOptions, opts: AnimationOptions,
           carry: CarryOptions, source: dict, reads: list) -> str:
    """Upscale and write the ``total`` frames of the iterable ``frames_small``, or dream them as a video
    (``opts.dream``), holding the output's lock (checked against ``reads`` again under it)."""
    from ..writeguard import guarded_output

    with guarded_output(output, reads):
        return _write_frames(frames_small, total, output, dream_opts, opts, carry, source)


def _write_frames(frames_small, total: int, output: str, dream_opts: DreamOptions, opts: AnimationOptions,
                  carry: CarryOptions, source: dict) -> str:
    from .. import media

    fps = parse_fps(opts.fps)
    frames = (media.resize_max_side(upscale(frame, opts.scale), dream_opts.max_side) for frame in frames_small)
    if opts.dream:
        from ..video import dream_frames

        dream_frames(frames, output, total=total, fps=fps, dream_opts=dream_opts, carry_opts=carry,
                     output_opts=opts, source=source)
        return output
    from tqdm import tqdm

    with media.open_sink(output, fps=fps, quality=opts.quality, codec=opts.codec) as sink:
        for frame in tqdm(frames, total=total, disable=dream_opts.quiet, unit="frame",
                          desc="writing", dynamic_ncols=True):
            sink.write(frame)
    return output


def _check_output(output: str, *reads: tuple[str, object]) -> list[tuple[str, object]]:
    """The output's kind and its writes (the output, temporary names, work folder, render file) against every
    file or folder the command reads, before any work; returns ``reads`` (for :func:`_write`'s lock)."""
    from ..media.outputs import check_animation_output
    from ..writeguard import check_outputs_apart, written_paths

    reads = [(what, path) for what, path in reads if path is not None]
    for _, path in reads or [(None, None)]:
        check_animation_output(output, path if path is None or os.path.isfile(path) else None, "animation")
    check_outputs_apart(written_paths(output), reads)
    return reads


def walk(gan_file: str | os.PathLike, output: str | os.PathLike | None = None, *, preview: bool = False,
         **options) -> str:
    """Walk the latent space of the GAN in ``gan_file`` (a ``.gan`` model) into an animation; returns the
    output path.

    ``keyframes`` random latents (from ``seed``) are visited along great circles at constant angular
    speed; with ``loop`` the walk returns to the first, seamlessly. Output: ``.gif`` (default
    ``<model stem>_walk.gif`` beside the model), ``.mp4`` or a folder ending in ``/``. Options: those of
    :class:`WalkOptions`, and with ``dream=True`` every dream option (:class:`DreamOptions`; ``max_side``
    caps the upscaled frames). ``preview``: the dream's quick-look settings, written as ``<name>_preview``.
    """
    output = str(output) if output is not None else str(Path(gan_file).with_name(Path(gan_file).stem + "_walk.gif"))
    dream_opts, opts, carry, output = _split(options, WalkOptions, "walk", preview, output)
    reads = _check_output(output, ("GAN model", gan_file))
    generator, meta = checkpoint.load_generator(gan_file)
    _check_scaled(meta, opts)
    keyframes = keyframe_latents(opts.keyframes, meta["options"]["latent_dim"], dream_opts.seed)
    frames = generate_frames(generator, lambda i, j: walk_latents(keyframes, opts.frames, opts.loop, i, j),
                             opts.frames)
    source = {"command": "gan walk", "model": _identity(gan_file), "keyframes": opts.keyframes, "loop": opts.loop,
              "frames": opts.frames, "scale": opts.scale, "fps": str(parse_fps(opts.fps))}
    return _write(frames, opts.frames, output, dream_opts, opts, carry, source, reads)


def morph(gan_file: str | os.PathLike, face: str | os.PathLike, other: str | os.PathLike | None = None,
          output: str | os.PathLike | None = None, *, preview: bool = False, **options) -> str:
    """Morph a face by latent arithmetic in the GAN of ``gan_file``; returns the output path.

    ``face`` is inverted into the GAN's latent space (see :class:`Inverter`). With ``other`` (a second
    face), the animation goes from the first face's latent to the second's along a great circle; with
    ``from_dir`` and ``to_dir``, it adds a * (mean latent of to_dir - mean latent of from_dir), a from 0
    to 1. The first frame is the reconstruction of ``face``. Output: ``.gif`` (default
    ``<face stem>_morph.gif`` beside the face), ``.mp4`` or a folder. Options: :class:`MorphOptions`, and
    with ``dream=True`` every dream option; ``preview`` as for :func:`walk`.
    """
    from ..media import read_image
    from .data import load_images, square

    output = str(output) if output is not None else str(Path(face).with_name(Path(face).stem + "_morph.gif"))
    dream_opts, opts, carry, output = _split(options, MorphOptions, "morph", preview, output)
    folders = (opts.from_dir, opts.to_dir)
    if other is None and None in folders:
        if folders == (None, None):
            raise DreamError("morph needs a second face or two folders: give FACE2, or --from DIR_A --to DIR_B")
        raise DreamError(f"morph needs both --from and --to folders, got only --{'from' if opts.from_dir else 'to'}")
    if other is not None and folders != (None, None):
        raise DreamError("morph takes a second face or --from/--to folders, not both")
    reads = _check_output(output, ("GAN model", gan_file), ("face", face), ("second face", other),
                          ("--from folder", opts.from_dir), ("--to folder", opts.to_dir))
    generator, meta = checkpoint.load_generator(gan_file)
    _check_scaled(meta, opts)
    size = int(meta["options"]["size"])
    faces = np.stack([square(read_image(path), size) for path in (face, other) if path is not None])
    groups = [] if other is not None else [load_images(opts.from_dir, size), load_images(opts.to_dir, size)]
    inverter = Inverter(generator, steps=opts.invert_steps, seed=dream_opts.seed)
    # One batch for everything: the faces and both folders are inverted together.
    latents = inverter.invert(np.concatenate([faces] + groups))
    start = latents[0]
    amounts = np.linspace(0.0, 1.0, opts.frames) if opts.frames > 1 else np.zeros(1)
    if other is None:
        count_a = len(groups[0])
        group_a, group_b = latents[len(faces):len(faces) + count_a], latents[len(faces) + count_a:]
        direction = group_b.mean(axis=0) - group_a.mean(axis=0)

    def latents_between(i: int, j: int) -> np.ndarray:
        if other is not None:
            # Along the great circle, not the straight line: halfway between two latents the line passes
            # nearer the origin, where pictures are faint and blurred; the circle keeps a latent's length.
            path = np.stack([slerp(start, latents[1], a) for a in amounts[i:j]])
        else:
            path = start[None] + amounts[i:j, None] * direction[None]
        if i == 0:
            path[0] = start
        return path.astype(np.float32)

    frames = generate_frames(generator, latents_between, opts.frames)
    source = {"command": "gan morph", "model": _identity(gan_file), "face": _identity(face),
              "other": _identity(other) if other is not None else None, "from_dir": opts.from_dir,
              "to_dir": opts.to_dir, "invert_steps": opts.invert_steps, "frames": opts.frames,
              "scale": opts.scale, "fps": str(parse_fps(opts.fps))}
    return _write(frames, opts.frames, output, dream_opts, opts, carry, source, reads)


def _identity(path) -> dict:
    from ..render import file_identity

    return file_identity(path)
