"""The Python API: one call per job, with the CLI's options as keyword arguments of the same names.

    import dreamvideo as dv
    dv.dream_image("photo.jpg", "dream.png", layer=["block4_conv3", "block3_conv3:0.5"], steps=10)
    dv.render_video("clip.mp4", "clip_dream.mp4", max_side=480)
    dv.render_zoom("start.png", "zoom.gif", frames=120, zoom="0:(1.02), 60:(1.05)")

Every CLI command is one call here: ``dreamvideo INPUT...`` is :func:`dream_files` (one still:
:func:`dream_image`, one video: :func:`render_video`), ``zoom`` :func:`render_zoom`, ``render``
:func:`render_file`, ``measure`` :func:`measure`, ``models`` :func:`list_models`, ``gan ...`` the calls of
:mod:`dreamvideo.gan`, ``audio`` :func:`analyse_audio`. ``objective=`` is accepted wherever ``layer=`` is.
Images returned or accepted as arrays are numpy uint8 (H, W, 3) RGB.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

import numpy as np

from . import gan  # noqa: F401  (dv.gan.train, walk, morph, animate)
from .declare import declared, refuse_unknown, split, take
from .errors import DreamError
from .options import DreamOptions, FarmOptions, VideoOptions

logger = logging.getLogger(__name__)

__all__ = ["analyse_audio", "dream_array", "dream_files", "dream_image", "gan", "list_models", "measure",
           "render_file", "render_video", "render_zoom", "restore"]


def dream_array(image: np.ndarray, **options) -> np.ndarray:
    """Dream one uint8 (H, W, 3) RGB array; returns uint8 (H, W, 3) RGB (resized if ``max_side``)."""
    from .still import dream_still

    opts, = take(options, DreamOptions, what="dream_array")
    return dream_still(image, opts)


def dream_image(input: str | os.PathLike, output: str | os.PathLike | None = None, *, preview: bool = False,
                **options) -> str:
    """Dream a still image file and write the result; returns the output path.

    Grayscale and RGBA inputs are converted to RGB (alpha is composited over white). Output defaults to
    ``<stem>_dream.png`` beside the input. ``preview``: a quick look at reduced size and steps, written
    as ``<name>_preview.<ext>``. Options: those of :class:`~dreamvideo.options.DreamOptions`, and
    ``workers``/``ray_address`` to dream it on Ray (:class:`~dreamvideo.options.FarmOptions`). A render
    file with every setting is written beside the output (``<output>.dreamvideo.json``).
    """
    return dream_files([input], output, preview=preview, **options)[0]


def render_video(input: str | os.PathLike, output: str | os.PathLike | None = None, *, preview: bool = False,
                 **options) -> str:
    """Dream every frame of a video, carrying the dream along the optical flow; returns the output path.

    Output by extension: ``.mp4`` (H.264 with the source's audio), ``.gif``, ``.webp``, ``.webm``, ``.mov``,
    or a folder of PNG frames (a path ending in ``/`` or an existing folder). Default: ``<stem>_dream.mp4``
    beside the input. Options: those of :class:`~dreamvideo.options.DreamOptions`,
    :class:`~dreamvideo.options.VideoOptions` and :class:`~dreamvideo.options.FarmOptions` (``workers``
    or ``ray_address`` split the video into segments dreamed on Ray, see :mod:`dreamvideo.farm`).
    ``preview``: a quick look at reduced size and steps (the first 5 s unless start/end are given),
    written as ``<name>_preview``.
    """
    from .video import prepare_video

    farm_keywords, options = split(options, FarmOptions)
    farm, = take(farm_keywords, FarmOptions, what="a video")
    return _render([prepare_video(input, output, options, preview)], farm)[0]


def render_zoom(input: str | os.PathLike | None = None, output: str | os.PathLike | None = None, *,
                preview: bool = False, **options) -> str:
    """Render an infinite-zoom animation; returns the output path.

    input: a start image, or None to start from seeded noise on a ``size`` canvas. output: ``.gif``,
    ``.mp4``, ``.webp``, ``.webm``, ``.mov`` or a folder of PNGs (default ``<stem>_zoom.gif`` beside the
    input, or ``zoom.gif``). Options: those of :class:`~dreamvideo.options.DreamOptions` and
    :class:`~dreamvideo.options.ZoomOptions` (see :mod:`dreamvideo.zoom`).
    """
    from .zoom import prepare_zoom

    return _render([prepare_zoom(input, output, options, preview)], FarmOptions())[0]


def restore(input: str | os.PathLike, output: str | os.PathLike | None = None, *, preview: bool = False,
            **options) -> str:
    """Restore a video or a still: fill a mask, remove dust and scratches, steady flicker; returns the output path.

    ``mask``: a grayscale picture (a fixed region, such as a logo) or video (a moving region, the same frame
    count), white where damaged; ``dust``, ``dust_mask``, ``deflicker``, ``prior`` and the rest: see
    :class:`~dreamvideo.options.RestoreOptions`. Output: default ``<stem>_restored.mp4`` (or ``.png`` for a
    still) beside the input; a video keeps its audio and resumes like a render. ``preview``: at most 256 px,
    written as ``<name>_preview``. See :mod:`dreamvideo.restoration`.
    """
    from .render import run
    from .restoration import prepare_restore

    return run(prepare_restore(input, output, options, preview))


def dream_files(inputs: Sequence[str | os.PathLike], output: str | os.PathLike | None = None, *,
                preview: bool = False, **options) -> list[str]:
    """Dream several stills and videos with the same options; returns their output paths.

    Each output goes beside its input (``<stem>_dream.png`` / ``.mp4``), or to ``output`` when there is
    one input. Video options apply to the videos only (given for a single still, one that is not its
    default is an error). With ``workers`` or ``ray_address`` (see :class:`~dreamvideo.options.FarmOptions`)
    everything is dreamed on Ray at once: videos in segments, stills as one task each, under one progress
    bar. Without, one after another in this process.
    """
    from . import media
    from .still import prepare_still
    from .video import prepare_video

    farm_keywords, video_keywords, dream_keywords, rest = split(options, FarmOptions, VideoOptions, DreamOptions)
    farm, = take(farm_keywords, FarmOptions, what="dream_files")
    refuse_unknown(rest, "dream_files")
    inputs = list(inputs)
    if not inputs:
        raise DreamError("no input given")
    if output is not None and len(inputs) > 1:
        raise DreamError(f"-o/output names one file, and {len(inputs)} inputs were given: leave it out and "
                         "each output is written beside its input")
    if len(inputs) == 1 and not media.is_video_path(inputs[0]):  # with several inputs they apply to the videos
        defaults = {opt.name: opt.default for opt in declared(VideoOptions)}
        changed = [k for k, v in video_keywords.items() if v != defaults[k]]
        if changed:
            raise DreamError(f"--{changed[0].replace('_', '-')} applies to videos, and {inputs[0]} is a still image")
    jobs = [prepare_video(path, output, {**dream_keywords, **video_keywords}, preview) if media.is_video_path(path)
            else prepare_still(path, output, dream_keywords, preview) for path in inputs]
    return _render(jobs, farm)


def _render(jobs: list, farm: FarmOptions) -> list[str]:
    """Run prepared jobs: on Ray when ``farm`` says so, else one after another in this process (the one
    place that chooses)."""
    from .writeguard import guarded

    with guarded(jobs):
        if farm.distributed:
            from .farm import render_on_ray

            render_on_ray(jobs, farm)
            return [job.output for job in jobs]
        from .render import run

        return [run(job) for job in jobs]


def render_file(path: str | os.PathLike, output: str | os.PathLike | None = None, *, preview: bool = False,
                restart: bool = False, quiet: bool = False) -> str:
    """Render again from a render file (``<output>.dreamvideo.json``); returns the output path.

    ``output``: write there instead of the output the file names; ``preview``: a quick look at reduced
    size and steps; ``restart``: discard the finished frames of an interrupted render of that output.
    On the same machine and version the frames come out identical.
    """
    from .renderfile import read_render_file

    # The file decides nothing about where to write unless the user named the output.
    command, input_path, recorded_output, options = read_render_file(path, allow_outside=output is not None)
    options["quiet"] = quiet
    if command != "still":
        options["restart"] = restart
    function = {"still": dream_image, "video": render_video, "zoom": render_zoom, "restore": restore}[command]
    return function(input_path, output or recorded_output, preview=preview, **options)


def measure(images: Sequence[str | os.PathLike], **options) -> dict[str, dict[str, float]]:
    """Closeness of image files to the guide and/or style of ``options`` (see objectives.closeness).

    Returns {path: {"guide": similarity (higher is closer), "style": distance (lower is closer)}}.
    Images are read like inputs (``max_side`` applies), so a dream and its input compare fairly.
    """
    from . import media
    from .dreaming import make_dreamer

    opts, = take(options, DreamOptions, what="measure")
    if opts.mask is not None:
        raise DreamError("measure takes no --mask: it compares whole pictures")
    if opts.guide is None and opts.style is None:
        raise DreamError("measure needs a --guide or a --style image to compare with")
    dreamer = make_dreamer(opts)
    return {str(path): dreamer.closeness(media.resize_max_side(media.read_image(path), opts.max_side)
                                         .astype(np.float32)) for path in images}


def analyse_audio(input: str | os.PathLike, **options):
    """A sound's per-frame features (:class:`dreamvideo.music.Features`: ``features["bass"]`` is float64
    (frames,) in 0..1, ``features.keyframes("bass")`` its keyframe string), the call of ``dreamvideo audio``.

    input: a sound file or a video with a sound track (any format PyAV reads). Options: those of
    :class:`~dreamvideo.options.AudioOptions`: ``fps`` (24), ``plot`` (a PNG to draw the waveform and the
    features into), ``attack``/``release`` (smoothing, seconds), ``feature`` (names, checked), and
    ``synth_beat`` (write the project's drum loop of ``bpm`` and ``seconds`` to ``input``, a new .wav, first).
    """
    from . import music
    from .media.sound import write_sound
    from .options import AudioOptions

    opts, = take(options, AudioOptions, what="analyse_audio")
    for name in opts.feature or ():
        music.check_feature(name)
    if opts.synth_beat:
        if os.path.exists(input):
            raise DreamError(f"{input}: already exists; --synth-beat writes a new file, give another name")
        if not str(input).lower().endswith(".wav"):
            raise DreamError(f"{input}: --synth-beat writes a WAV file; give a name ending in .wav")
        beat = music.synth_beat(float(opts.seconds), float(opts.bpm))
        write_sound(input, beat.samples, beat.rate)
        logger.info("wrote %s: %.1f s of the synthesised drum loop at %g BPM", input, opts.seconds, opts.bpm)
    features = music.analyse(input, opts.fps, attack=opts.attack, release=opts.release)
    if opts.plot is not None:
        music.plot(input, features, opts.plot)
        logger.info("wrote %s", opts.plot)
    return features


def list_models() -> list:
    """The registered backbones (:class:`dreamvideo.models.ModelSpec`: name, description, layers, default
    layers, whether their weights are here offline)."""
    from .models import list_models as registered

    return registered()
