"""Every option of the renders, declared once (see :mod:`dreamvideo.declare`): the CLI's flags, the API's
keywords, the render files' fields, the studio's form and the checks are all made from these classes.

Plain functions of their inputs: no TensorFlow, no I/O beyond checking that a named file exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import limits
from .declare import Options, option
from .errors import DreamError
from .models import DEFAULT_MODEL, REGISTRY, STYLE_MODEL, is_model_file
from .motion import DIS_PRESETS, FLOW_METHODS
from .objectives import Objective, as_objective

# Gradient step shapes the kernel knows (see dreamvideo.kernel).
NORMALIZATIONS = ("mean", "lap")
RANGE_LIMITS = ("clip", "soft")

DREAM = "dream (model and gradient ascent)"
VIDEO = "video (ignored for stills)"
ZOOM = "zoom"
OUTPUT = "animation output"
FARM = 'render farm (Ray; pip install "dreamvideo[ray]")'
SOUND = "sound (the features of a sound track in any schedule)"
ZOOM_FRAMES = 120  # a zoom's length without --frames or --audio
RESTORE = "restoration"

# A carried frame already holds the dream: this share of --steps keeps it alive (see --carried-steps).
# Each frame keeps blend * weight of the previous dream and adds these few steps; scripts/benchmark_video.py
# measures how strong the carried dream settles with it (at the defaults, 0.9-1.0x an independent dream).
# 10%: one step of mobilenet_v1's default 10 (VGG16's 6 steps at 20% were one step too). At 20% (two steps) a
# carried frame cost 9.4-12.3% of a naive one at 256 px on three of the shared clips (target 10%); at 10%, 5.5-7.5%.
VIDEO_CARRIED_SHARE = 0.1
# Each zoom frame must invent new detail where the picture was magnified: a larger share than a video's.
ZOOM_CARRIED_SHARE = 0.3


@dataclass
class DreamOptions(Options):
    """The kernel, model and objective options shared by every command (the CLI's common flags).

    The objective is built from ``layer`` (specs, see :mod:`dreamvideo.objectives`, or an Objective; the
    API also takes it as ``objective=``), ``guide``/``style`` images with their weights and layers, and
    ``tv``. Without ``layer``, the model's default layers are dreamed unless a guide or style is given,
    which then leads alone. ``normalize``, ``decorrelate`` and ``range_limit`` shape each gradient step
    (see :mod:`dreamvideo.kernel`).
    """

    # None: DEFAULT_MODEL, or STYLE_MODEL for a style that leads alone (see default_model).
    model: str | None = option(None, "backbone: mobilenet_v1 (default: ImageNet MobileNetV1, embedded, offline; eyes "
                               "and animal faces), vgg16 (embedded, offline; the default when --style leads alone, "
                               "where its features match a style more closely), inception_v3, vgg19, vgg16_imagenet "
                               "(ImageNet weights, downloaded once), or a .keras file; see 'dreamvideo models'",
                               "text", group=DREAM, metavar="NAME|FILE")
    layer: Any = option(None, "layer to amplify, repeatable: NAME, NAME:WEIGHT, NAME/CHANNELS[:WEIGHT] (channels "
                        "like 12 or 12,40-47; WEIGHT a number or keyframes). Default: the model's own (mobilenet_v1: "
                        "conv_pw_7_relu, conv_pw_11_relu; vgg16: block4_conv3)", "objective", group=DREAM, metavar="SPEC", recorded=False)
    guide: str | None = option(None, "steer the dream toward this image's features (Google's guided DeepDream); "
                               "without --layer the guide leads alone", "path", group=DREAM, metavar="IMAGE",
                               recorded=False)
    guide_weight: Any = option(1.0, "weight of the guide term (number or keyframes)", "schedule", group=DREAM,
                               minimum=-limits.MAX_WEIGHT, maximum=limits.MAX_WEIGHT,
                               metavar="X", recorded=False)
    guide_layer: Any = option(None, "layer(s) compared with the guide, repeatable (default: the model's dream "
                              "layers)", "list", group=DREAM, metavar="NAME", recorded=False)
    style: str | None = option(None, "paint this image's style (Gram matrices of its features, Gatys et al.); "
                               "without --layer the style leads alone", "path", group=DREAM, metavar="IMAGE",
                               recorded=False)
    style_weight: Any = option(1.0, "weight of the style term (number or keyframes)", "schedule", group=DREAM,
                               minimum=-limits.MAX_WEIGHT, maximum=limits.MAX_WEIGHT,
                               metavar="X", recorded=False)
    style_layer: Any = option(None, "layer(s) whose Gram matrices are matched, repeatable (default for vgg: "
                              "block1_conv1 ... block5_conv1)", "list", group=DREAM, metavar="NAME", recorded=False)
    tv: Any = option(0.0, "smoothing: subtract X times the total variation", "schedule", group=DREAM, metavar="X",
                     minimum=-limits.MAX_WEIGHT, maximum=limits.MAX_WEIGHT,
                     recorded=False)
    mask: str | None = option(None, "grayscale mask scaling how strongly each pixel is dreamed: black untouched, "
                              "white full; a video mask needs the same frame count as the render", "path",
                              group=DREAM, metavar="IMAGE|VIDEO")
    # Octaves, steps and step size were chosen on the looks panel (samples/looks.png) for mobilenet_v1: about the
    # old default's strength, eyes and animal faces, nothing clipped.
    octaves: Any = option(5, "number of scales, smallest first", "schedule", integer=True, minimum=1,
                          maximum=limits.MAX_OCTAVES, group=DREAM, metavar="N")
    octave_scale: Any = option(1.4, "size ratio between octaves, above 1", "schedule", group=DREAM, metavar="X",
                               maximum=limits.MAX_OCTAVE_SCALE)
    steps: Any = option(10, "gradient steps per octave", "schedule", integer=True, minimum=1, maximum=limits.MAX_STEPS,
                         group=DREAM,
                        metavar="N")
    step_size: Any = option(2.0, "step length in 0-255 pixel units along the normalised gradient", "schedule",
                            positive=True, maximum=limits.MAX_STEP_SIZE, group=DREAM, metavar="X")
    seed: int = option(0, "random seed; same seed, same result", "seed", group=DREAM)
    max_side: int | None = option(None, "downscale so the longest side is at most PX pixels", "int", group=DREAM,
                                  maximum=limits.MAX_SIDE,
                                  metavar="PX")
    precision: str = option("auto", "compute type: auto = bfloat16 where the CPU has bf16 instructions, except for "
                            "mobilenet_v1, which stays float32", "choice",
                            choices=("auto", "float32", "bfloat16"), group=DREAM)
    tile_size: int = option(512, "largest tile fed to the network at once; bounds memory", "int", group=DREAM,
                            maximum=limits.MAX_SIDE,
                            metavar="PX")
    normalize: str = option("mean", "gradient normalisation: mean (divide by its mean absolute value) or lap "
                            "(every band of a Laplacian pyramid at equal strength, as Google's 2015 notebook; "
                            "larger, smoother patterns)", "choice", choices=NORMALIZATIONS, group=DREAM)
    decorrelate: bool = option(True, "take steps in a colour-decorrelated space (ImageNet's colour covariance): "
                               "mostly lightness, natural colours instead of neon halos", "bool", group=DREAM)
    range_limit: str = option("soft", "keep pixels in 0-255: clip, or soft (steps shrink near 0 and 255, so "
                              "colours do not pile up clipped)", "choice", choices=RANGE_LIMITS, group=DREAM)
    quiet: bool = option(False, "no progress bar or messages", "bool", group=DREAM, recorded=False,
                        aliases=("-q",))
    objective: Objective = field(init=False, repr=False, default=None)

    def __post_init__(self):
        if self.model is None:
            self.model = default_model(self.style, self.guide, self.layer)
        if not isinstance(self.model, (str, os.PathLike)) or (self.model not in REGISTRY
                                                              and not is_model_file(str(self.model))):
            raise DreamError(f"unknown model {limits.shown(self.model)}: choose one of {', '.join(REGISTRY)} "
                             "or give the path of a .keras model file")
        super().__post_init__()
        self.objective = build_objective(self)
        if self.mask is not None:
            from .media.files import regular_file

            regular_file(self.mask, "mask file")

    def check_schedules(self, frames: int) -> None:
        super().check_schedules(frames)
        scales = self.schedule("octave_scale")
        for frame in range(frames):
            if scales(frame) <= 1.0:
                raise DreamError(f"octave scale must be above 1, but is {scales(frame)} at frame {frame}")

    def sound_variables(self) -> frozenset:
        return super().sound_variables() | self.objective.sound_variables

    def bind_sound(self, features) -> None:
        super().bind_sound(features)
        self.objective = self.objective.with_sound(features)

    def recorded(self, frames: int | None = None) -> dict:
        """The options as plain JSON values, for render files and resume checks. The objective is saved
        whole, so ``layer``, ``guide``, ``style`` and ``tv`` are folded into it."""
        return {**super().recorded(frames), "objective": self.objective.to_dicts(frames)}

    resolved = recorded


def default_model(style, guide, layer) -> str:
    """The model used when none is named: STYLE_MODEL when a style leads alone (Gram-matrix style comes out
    closer to the style image on its features, measured), else DEFAULT_MODEL."""
    if style is not None and guide is None and layer in (None, []):
        return STYLE_MODEL
    return DEFAULT_MODEL


def build_objective(opts: DreamOptions) -> Objective:
    """The objective that ``opts`` describe (see :class:`DreamOptions`)."""
    from . import objectives

    if isinstance(opts.layer, Objective):
        objective = opts.layer
    elif opts.layer not in (None, []) or (opts.guide is None and opts.style is None):
        spec = REGISTRY.get(opts.model)
        if opts.layer in (None, []) and spec is None:
            raise DreamError(f"model {opts.model} is a file: name the layers to dream with --layer")
        objective = as_objective(opts.layer or None, spec.default_layers if spec else ())
    else:
        objective = None
    for kind, image, weight, layer_names in (("guide", opts.guide, opts.guide_weight, opts.guide_layer),
                                             ("style", opts.style, opts.style_weight, opts.style_layer)):
        if image is None:
            continue
        term = getattr(objectives, kind)(image, layer_names, weight)
        objective = term if objective is None else objective + term
    tv_weight = opts.schedule("tv")
    if not (tv_weight.is_constant and tv_weight(0) == 0.0):
        objective = objective - objectives.tv(opts.tv)
    spec = REGISTRY.get(opts.model)
    dream_layers = spec.default_layers if spec else tuple(t.layers[0] for t in objective.terms if t.kind == "layer")
    style_layers = spec.style_layers if spec else dream_layers
    if not dream_layers and any(t.kind in ("guide", "style") and not t.layers for t in objective.terms):
        raise DreamError(f"model {opts.model} is a file: name the guide/style layers with --guide-layer/--style-layer")
    return objectives.with_default_layers(objective, dream_layers, style_layers)


@dataclass
class OutputOptions(Options):
    """How an animation is encoded, and whether an interrupted render of it starts over."""

    quality: int = option(18, "MP4/WebM quality: the H.264/HEVC/VP9 CRF, 0 (lossless) to 51 (worst)", "count",
                          maximum=51, group=OUTPUT, metavar="CRF")
    codec: str | None = option(None, "video codec of an .mp4: h264 (default) or hevc (smaller files, slower to "
                               "encode; frames at least 64 px wide)", "choice", choices=("h264", "hevc"),
                               group=OUTPUT)
    restart: bool = option(False, "discard finished frames of an earlier, interrupted render of this output",
                           "bool", group=OUTPUT, recorded=False)


@dataclass
class CarryOptions(Options):
    """How a video's previous dream is carried onto each new frame (the video recipe's own options; a GAN
    animation dreamed as a video takes them too)."""

    blend: Any = option(0.9, "share of the previous dream, carried by optical flow, in each new frame's start "
                        "image, 0..1; 0 dreams every frame independently", "schedule", minimum=0.0, maximum=1.0,
                        group=VIDEO, metavar="X")
    carried_steps: Any = option(None, f"steps per octave for carried frames (default: {VIDEO_CARRIED_SHARE:.0%} of "
                                "--steps, at least 1); the first frame and frames after a scene cut use --steps",
                                "schedule", integer=True, minimum=1, maximum=limits.MAX_STEPS, group=VIDEO, metavar="N")
    carried_octaves: int | str | None = option(
        2, "carried frames dream only the N octaves just below the full size and add their changes, scaled up, "
        "to the carried frame: the full size costs most and the carried dream already holds its fine detail, the "
        "smallest octaves its coarse shapes; 'all' dreams every octave, the full size included", "int_or_all",
        nullable=True, maximum=limits.MAX_OCTAVES, group=VIDEO, metavar="N")
    # 0 since mobilenet_v1 became the default (scripts/benchmark_video.py, 256 px, 2 Dec 2026): giving half the
    # coarse changes back made its dream flicker on static shots (test.webm: E_warp 3.3x the input's own,
    # target 2x; 1.7x without), while --steady alone keeps the dream's chroma within 5% over 400 frames.
    anchor: float = option(0.0, "0..1: share of the carried dream's coarse changes (blur of 1/16 of the frame) "
                           "given back to the new source frame each frame, so colour casts do not build up",
                           "number", minimum=0.0, maximum=1.0, group=VIDEO, metavar="X")
    colour_match: float = option(0.0, "0..1: pull each dreamed frame's CIELAB mean and spread toward its source "
                                 "frame's", "number", minimum=0.0, maximum=1.0, group=VIDEO, metavar="X")
    # Half the strength error corrected a frame (in log terms): the windows stay as flat as with a full
    # correction, and the frame-to-frame strength wobbles less (128 px, 200 frames: 1.3% against 1.5% on the
    # generated clip, 2.2% against 3.1% on cityCC0.mpg).
    steady: float = option(0.5, "0..1: hold carried frames at the dream strength of their shot's first full "
                           "dream, correcting this share of the difference each frame, so long clips neither "
                           "build up nor fade; 0 lets the dream settle where it will", "number", minimum=0.0,
                           maximum=1.0, group=VIDEO, metavar="X")
    flow: str = option("dis", "optical flow method", "choice", choices=FLOW_METHODS, group=VIDEO)
    flow_preset: str = option("medium", "DIS flow preset", "choice", choices=tuple(DIS_PRESETS), group=VIDEO)


@dataclass
class SoundOptions(Options):
    """The sound a render follows: its features may be used in any schedule (see :mod:`dreamvideo.music`)."""

    audio: str | None = option(None, "a sound file (any format PyAV reads) whose per-frame features rms, onset, "
                               "bass, mid, high and beat (each 0..1) any schedule may use, e.g. --zoom \"1.005 + "
                               "0.03*beat\"; it is also the output's sound (a video: instead of its own track, "
                               "which is what the features come from without --audio)", "path", group=SOUND,
                               metavar="FILE")
    audio_sha256: str | None = option(None, "the SHA-256 of --audio's content (64 hex digits): refuse a file "
                                      "that differs (render files record it)", "text", group=SOUND, metavar="HEX")
    audio_attack: float = option(0.0, "smooth the sound's features: seconds to rise toward a louder value",
                                 "number", minimum=0.0, maximum=60.0, group=SOUND, metavar="S")
    audio_release: float = option(0.0, "smooth the sound's features: seconds to fall toward a quieter value",
                                  "number", minimum=0.0, maximum=60.0, group=SOUND, metavar="S")


@dataclass
class AudioOptions(Options):
    """Options of ``dreamvideo audio FILE``: the features printed as keyframe strings, and their plot."""

    fps: Any = option(24, "frame rate the features are computed for (25, 29.97, 30000/1001)", "fps",
                      metavar="RATE")
    feature: Any = option(None, "print only this feature, repeatable: rms, onset, bass, mid, high or beat",
                          "list", metavar="NAME")
    plot: str | None = option(None, "also draw the waveform and the features on one time axis into this PNG",
                              "path", metavar="PNG")
    attack: float = option(0.0, "smoothing: seconds to rise toward a louder value", "number", minimum=0.0,
                           maximum=60.0, metavar="S")
    release: float = option(0.0, "smoothing: seconds to fall toward a quieter value", "number", minimum=0.0,
                            maximum=60.0, metavar="S")
    synth_beat: bool = option(False, "first write a drum loop the project synthesises (kick, snare, hi-hats) "
                              "to FILE, a new .wav", "bool")
    bpm: float = option(120.0, "tempo of --synth-beat", "number", minimum=30.0, maximum=300.0)
    seconds: float = option(4.0, "length of --synth-beat", "number", minimum=0.1, maximum=3600.0, metavar="S")


@dataclass
class VideoOptions(CarryOptions, OutputOptions, SoundOptions):
    """Options of ``dreamvideo VIDEO`` beyond the dream options (the CLI's video flags)."""

    start: Any = option(None, "start at T: seconds (12.5) or a frame number (300f)", "text", group=VIDEO,
                        metavar="T")
    end: Any = option(None, "stop before T: seconds (20) or a frame number (480f)", "text", group=VIDEO,
                      metavar="T")
    fps: Any = option(None, "resample to this frame rate (25, 29.97, 30000/1001); default: the source's exact "
                      "rate", "fps", group=VIDEO, metavar="RATE")


@dataclass
class ZoomOptions(OutputOptions, SoundOptions):
    """Options of ``dreamvideo zoom`` beyond the dream options (see :mod:`dreamvideo.zoom`)."""

    frames: int | None = option(None, f"frames to render (default: as long as --audio at --fps, else "
                                f"{ZOOM_FRAMES})", "int", maximum=limits.MAX_FRAMES,
                                group=ZOOM)
    fps: Any = option(24, "frame rate of the output", "fps", group=ZOOM, metavar="RATE")
    size: str = option("512x512", "canvas when starting from noise (--max-side caps it)", "text", group=ZOOM,
                       metavar="WxH")
    zoom: Any = option(1.02, "magnification per frame, above 0; above 1 moves in", "schedule", positive=True,
                       minimum=1 / limits.MAX_ZOOM, maximum=limits.MAX_ZOOM,
                       group=ZOOM, metavar="X")
    angle: Any = option(0.0, "rotation per frame in degrees, counter-clockwise", "schedule", group=ZOOM,
                        minimum=-limits.MAX_ANGLE, maximum=limits.MAX_ANGLE,
                        metavar="DEG")
    translate_x: Any = option(0.0, "shift per frame in pixels, positive moves the picture right", "schedule",
                              minimum=-limits.MAX_TRANSLATE, maximum=limits.MAX_TRANSLATE,
                              group=ZOOM, metavar="PX")
    translate_y: Any = option(0.0, "shift per frame in pixels, positive moves the picture down", "schedule",
                              minimum=-limits.MAX_TRANSLATE, maximum=limits.MAX_TRANSLATE,
                              group=ZOOM, metavar="PX")
    center_x: Any = option(0.5, "zoom centre as a fraction of the width", "schedule", group=ZOOM, metavar="X",
                           minimum=-limits.MAX_CENTER, maximum=limits.MAX_CENTER)
    center_y: Any = option(0.5, "zoom centre as a fraction of the height", "schedule", group=ZOOM, metavar="Y",
                           minimum=-limits.MAX_CENTER, maximum=limits.MAX_CENTER)
    carried_steps: Any = option(None, f"steps per octave after the first frame (default: {ZOOM_CARRIED_SHARE:.0%} "
                                "of --steps, at least 1)", "schedule", integer=True, minimum=1, maximum=limits.MAX_STEPS, group=ZOOM,
                                metavar="N")
    colour_match: Any = option(1.0, "pull each frame's LAB colour statistics toward the reference, 0 (off) to 1",
                               "schedule", minimum=0.0, maximum=1.0, group=ZOOM, metavar="X")
    colour_reference: str | None = option(None, "image whose colours to keep (default: the first frame)", "path",
                                          group=ZOOM, metavar="IMAGE")
    loop: bool = option(False, "make the animation loop seamlessly (renders --loop-fade extra frames and "
                        "cross-fades them into the head)", "bool", group=ZOOM)
    loop_fade: int | None = option(None, "frames cross-faded for --loop (default: a quarter of --frames, at most "
                                   "24)", "int", maximum=limits.MAX_FRAMES, group=ZOOM, metavar="N")
    interpolation: str = option("lanczos", "resampling of the per-frame warp", "choice",
                                choices=("lanczos", "cubic", "linear"), group=ZOOM)

    def __post_init__(self):
        super().__post_init__()
        if self.loop and self.loop_fade is not None and self.frames is not None and not 0 < self.loop_fade < self.frames:
            raise DreamError(f"loop fade must be between 1 and frames - 1 ({self.frames - 1}), got {self.loop_fade}")

    @property
    def fade(self) -> int:
        """Frames rendered past the end and cross-faded into the head (0 without ``loop``)."""
        if not self.loop:
            return 0
        fade = self.loop_fade if self.loop_fade is not None else min(24, max(1, self.frames // 4))
        if not 0 < fade < self.frames:
            raise DreamError(f"loop fade must be between 1 and frames - 1 ({self.frames - 1}), got {fade}")
        return fade


# Segment defaults of the render farm, measured by scripts/benchmark_distributed.py --quick --sweep
# (samples/coffee_pan.mp4 at 128x96, --segment 16, 2 seams): worst seam pair's E_warp / median of the
# pairs inside segments, and dream strength after / before each seam:
#   warmup 0, overlap 0: 25.7, 0.59-0.60;  4, 2: 3.27, 0.82-0.83;  8, 4: 1.75, 0.91-0.94;
#   12, 8: 1.18, 0.96-0.99 (targets <= 1.5 and within 10%); the single process on the same pairs: 1.08.
# At the default dream settings (320x240, --segment 16), 12 and 8 gave 1.18-1.32 (the single process on the
# same pairs: 1.15-1.18) and 0.93-0.96 strength; 12 + 8 frames a seam cost 1.08 frames dreamed per frame
# written for a 1-minute 30 fps clip on 8 workers.
FARM_WARMUP = 12
FARM_OVERLAP = 8


@dataclass
class FarmOptions(Options):
    """Options of a render on Ray (the CLI's farm flags); see :mod:`dreamvideo.farm`. Without ``workers``
    or ``ray_address`` the render is one process and Ray is not imported."""

    workers: int | None = option(None, "start a local Ray with N workers (listening on 127.0.0.1 "
                                 "only), each with cores/N TensorFlow threads; a video is split into segments dreamed "
                                 "in parallel", "int", maximum=limits.MAX_WORKERS, group=FARM, metavar="N", recorded=False)
    ray_address: str | None = option(None, "join a running Ray cluster instead: auto (this machine's 'ray "
                                     "start'), host:6379 or ray://host:10001", "text", group=FARM,
                                     metavar="ADDRESS", recorded=False, aliases=("--ray",))
    segment: int | None = option(None, "frames per segment (default: the frames split evenly over the workers, "
                                 "in rounds of at most 240 frames a segment)", "int", maximum=limits.MAX_FRAMES, group=FARM,
                                 metavar="FRAMES")
    warmup: int = option(FARM_WARMUP, "frames a segment dreams before its first one, not written", "count",
                         maximum=limits.MAX_FRAMES, group=FARM, metavar="FRAMES")
    overlap: int = option(FARM_OVERLAP, "frames cross-faded with the previous segment at each seam", "count",
                          maximum=limits.MAX_FRAMES, group=FARM, metavar="FRAMES")

    def __post_init__(self):
        super().__post_init__()
        if self.segment is not None and self.segment <= self.overlap:
            raise DreamError(f"segment ({self.segment} frames) must be longer than the overlap "
                             f"({self.overlap} frames): give a larger --segment or a smaller --overlap")
        if self.workers is not None and self.ray_address is not None:
            raise DreamError("give --workers (a local Ray) or --ray ADDRESS (a running cluster), not both")
        if self.ray_address is not None and not str(self.ray_address).strip():
            raise DreamError("--ray needs an address: auto, host:port or ray://host:10001")

    @property
    def distributed(self) -> bool:
        return self.workers is not None or self.ray_address is not None


@dataclass
class RestoreOptions(OutputOptions):
    """Options of ``dreamvideo restore`` (see :mod:`dreamvideo.restoration`)."""

    mask: str | None = option(None, "grayscale image (a fixed region, such as a logo) or video (a moving region, "
                              "the same frame count): white marks what to restore", "path", group=RESTORE,
                              metavar="MASK")
    dust: bool = option(False, "video: find dust and scratches by themselves (one-frame outliers against both "
                        "neighbouring frames along the flow, shaped like specks or thin vertical lines) and fill "
                        "them", "bool", group=RESTORE)
    dust_mask: str | None = option(None, "video: also write what --dust found, white on black, to this video "
                                   "file", "path", group=RESTORE, metavar="FILE")
    deflicker: bool = option(False, "video: steady brightness and colour flicker (a gain and offset a frame, "
                             "smoothed over --deflicker-frames; scene cuts respected)", "bool", group=RESTORE)
    deflicker_frames: float = option(16.0, "video: frames of the temporal Gaussian deflicker smooths over",
                                     "number", minimum=1.0, maximum=100.0, group=RESTORE, metavar="N")
    prior: bool = option(False, "still: fill the mask with a Deep Image Prior (a small network fitted to the "
                         "picture itself, minutes on a CPU) instead of cv2.inpaint", "bool", group=RESTORE)
    prior_steps: int = option(600, "still: fitting steps of the Deep Image Prior", "int", maximum=100000,
                              group=RESTORE, metavar="N")
    radius: int = option(8, "video: frames searched before and after a frame for what its mask hides", "int",
                         maximum=60, group=RESTORE, metavar="FRAMES")
    grow: int = option(2, "pixels the mask (and the dust found) is grown by before filling", "count", maximum=64,
                       group=RESTORE, metavar="PX")
    flow: str = option("dis", "optical flow method", "choice", choices=FLOW_METHODS, group=RESTORE)
    flow_preset: str = option("medium", "DIS flow preset", "choice", choices=tuple(DIS_PRESETS), group=RESTORE)
    max_side: int | None = option(None, "downscale so the longest side is at most PX pixels", "int",
                                  group=RESTORE, metavar="PX")
    seed: int = option(0, "still: seed of the Deep Image Prior (the same seed gives the same pixels)", "seed",
                       group=RESTORE)
    quiet: bool = option(False, "no progress bar or messages", "bool", group=RESTORE, recorded=False,
                         aliases=("-q",))


# -------------------------------------------------------------------------------- outputs and previews


def default_output(input_path: str | os.PathLike, suffix: str) -> str:
    """``<stem>_dream<suffix>`` next to the input (never the input itself)."""
    path = Path(input_path)
    return str(path.with_name(f"{path.stem}_dream{suffix}"))


PREVIEW_MAX_SIDE = 256
PREVIEW_SECONDS = 5


def preview_options(options: dict, video: bool = False) -> dict:
    """Settings for a quick look: longest side at most 256 px, a third of the steps, at most 3 octaves,
    and for a video with no --start/--end, its first 5 seconds."""
    from .schedules import as_schedule

    out = dict(options)
    out["max_side"] = min(options.get("max_side") or PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE)
    steps = options.get("steps", DreamOptions.steps)
    octaves = options.get("octaves", DreamOptions.octaves)
    out["steps"] = max(1, int(round(as_schedule(steps, name="steps")(0) / 3)))
    out["octaves"] = min(3, int(round(as_schedule(octaves, name="octaves")(0))))
    if video and options.get("start") is None and options.get("end") is None:
        out["end"] = f"{PREVIEW_SECONDS}s"
    return out


def preview_output(output: str) -> str:
    """``out.mp4`` -> ``out_preview.mp4``; ``frames/`` -> ``frames_preview/``."""
    if output.endswith(("/", "\\")):
        return output.rstrip("/\\") + "_preview/"
    path = Path(output)
    return str(path.with_name(f"{path.stem}_preview{path.suffix}"))
