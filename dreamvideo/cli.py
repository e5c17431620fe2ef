"""Command line: ``dreamvideo INPUT``, ``dreamvideo zoom``, ``dreamvideo models``.

The only module that prints for users or picks exit codes. Every flag's destination is the keyword of the
same name in the Python API (dashes become underscores).
"""

from __future__ import annotations

import argparse
import re
import logging
import os
import sys
from dataclasses import fields

from .options import DreamOptions, FarmOptions
from .errors import DreamError
from .kernel import NORMALIZATIONS, RANGE_LIMITS
from .video import CARRIED_STEPS_SHARE, VideoOptions
from .zoom import CARRIED_STEPS_SHARE as ZOOM_CARRIED_SHARE
from .zoom import ZoomOptions

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

COMMANDS = ("models", "zoom", "render", "measure", "gan")
GAN_COMMANDS = ("train", "walk", "morph")


class _Parser(argparse.ArgumentParser):
    """argparse, except that a bad flag is a user error like any other: one line, exit code 2."""

    def error(self, message):
        raise DreamError(f"{message} (see '{self.prog} --help')")


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _positive_int_or_all(text: str):
    return "all" if text.strip().lower() == "all" else _positive_int(text)


def _count(text: str) -> int:
    return _whole_number(text, 0)


def _int_or_schedule(text: str):
    """A whole number, or a keyframe string (checked when the render starts)."""
    try:
        value = int(text)
    except ValueError:
        return text if ":" in text else _fail(f"expected a whole number or keyframes, got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _number_or_schedule(text: str):
    try:
        return float(text)
    except ValueError:
        return text if ":" in text else _fail(f"expected a number or keyframes, got {text!r}")


def _fail(message: str):
    raise argparse.ArgumentTypeError(message)


def add_dream_options(parser: argparse.ArgumentParser, rendering: bool = True) -> None:
    """The model and kernel flags shared by every command (fields of options.DreamOptions).

    ``rendering=False`` (for ``measure``) leaves out the flags that only matter when making pictures.
    """
    group = parser.add_argument_group("dream (model and gradient ascent)")
    group.add_argument("--model", default="vgg16", metavar="NAME|FILE",
                       help="backbone: vgg16 (default, embedded, offline), inception_v3, vgg19, vgg16_imagenet "
                            "(ImageNet weights, downloaded once), or a .keras file; see 'dreamvideo models'")
    group.add_argument("--layer", action="append", metavar="SPEC",
                       help="layer to amplify, repeatable: NAME, NAME:WEIGHT, NAME/CHANNELS[:WEIGHT] "
                            "(channels like 12 or 12,40-47; WEIGHT a number or keyframes). "
                            "Default: the model's own (vgg16: block4_conv3)")
    group.add_argument("--guide", metavar="IMAGE",
                       help="steer the dream toward this image's features (Google's guided DeepDream); without "
                            "--layer the guide leads alone")
    group.add_argument("--guide-weight", type=_number_or_schedule, default=1.0, metavar="X",
                       help="weight of the guide term (number or keyframes; default 1)")
    group.add_argument("--guide-layer", action="append", metavar="NAME",
                       help="layer(s) compared with the guide, repeatable (default: the model's dream layers)")
    group.add_argument("--style", metavar="IMAGE",
                       help="paint this image's style (Gram matrices of its features, Gatys et al.); without "
                            "--layer the style leads alone")
    group.add_argument("--style-weight", type=_number_or_schedule, default=1.0, metavar="X",
                       help="weight of the style term (number or keyframes; default 1)")
    group.add_argument("--style-layer", action="append", metavar="NAME",
                       help="layer(s) whose Gram matrices are matched, repeatable (default for vgg: "
                            "block1_conv1 ... block5_conv1)")
    group.add_argument("--tv", type=_number_or_schedule, default=0.0, metavar="X",
                       help="smoothing: subtract X times the total variation (default 0)")
    if rendering:
        group.add_argument("--mask", metavar="IMAGE|VIDEO",
                           help="grayscale mask scaling how strongly each pixel is dreamed: black untouched, "
                                "white full; a video mask needs the same frame count as the render")
    group.add_argument("--octaves", type=_int_or_schedule, default=4, metavar="N",
                       help="number of scales, smallest first (default 4)")
    group.add_argument("--octave-scale", type=_number_or_schedule, default=1.4, metavar="X",
                       help="size ratio between octaves, above 1 (default 1.4)")
    group.add_argument("--steps", type=_int_or_schedule, default=6, metavar="N",
                       help="gradient steps per octave (default 6)")
    group.add_argument("--step-size", type=_number_or_schedule, default=2.0, metavar="X",
                       help="step length in 0-255 pixel units along the normalised gradient (default 2)")
    group.add_argument("--seed", type=int, default=0, help="random seed; same seed, same result (default 0)")
    group.add_argument("--max-side", type=_positive_int, metavar="PX",
                       help="downscale so the longest side is at most PX pixels")
    group.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                       help="compute type: auto = bfloat16 where the CPU has bf16 instructions (default)")
    group.add_argument("--normalize", choices=NORMALIZATIONS, default="mean",
                       help="gradient normalisation: mean (divide by its mean absolute value) or lap (every band "
                            "of a Laplacian pyramid at equal strength, as Google's 2015 notebook; larger, smoother "
                            "patterns) (default mean)")
    group.add_argument("--decorrelate", action=argparse.BooleanOptionalAction, default=True,
                       help="take steps in a colour-decorrelated space (ImageNet's colour covariance): mostly "
                            "lightness, natural colours instead of neon halos (default %(default)s)")
    group.add_argument("--range-limit", choices=RANGE_LIMITS, default="soft",
                       help="keep pixels in 0-255: clip, or soft (steps shrink near 0 and 255, so colours do not "
                            "pile up clipped) (default soft)")
    group.add_argument("--tile-size", type=_positive_int, default=512, metavar="PX",
                       help="largest tile fed to the network at once; bounds memory (default 512)")
    if rendering:
        group.add_argument("--preview", action="store_true",
                           help="quick look: longest side at most 256 px, a third of the steps, at most 3 "
                                "octaves (videos: the first 5 s); writes <name>_preview.<ext>")
    group.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")


def _use_api_defaults(parser: argparse.ArgumentParser, *option_classes) -> argparse.ArgumentParser:
    """Take every flag's default from the API's option dataclasses, so the two cannot disagree.

    A help text's "(default X)" is rewritten to show that value.
    """
    defaults = {}
    for cls in option_classes:
        defaults.update({f.name: f.default for f in fields(cls) if f.init})
    for action in parser._actions:
        if action.dest in defaults and not isinstance(action, argparse._AppendAction):
            action.default = defaults[action.dest]
            if action.help and action.default not in (None, False):
                action.help = re.sub(r"\(default [^)%:]*\)", "(default %(default)s)", action.help)
    return parser


def build_main_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dreamvideo",
        description="DeepDream for videos and stills. 'dreamvideo INPUT' dreams a still image or every frame "
                    "of a video. Other commands: 'dreamvideo zoom --help' (infinite zoom), "
                    "'dreamvideo models' (the models and their layers).",
    )
    parser.add_argument("input", nargs="+",
                        help="image (.png .jpg ...) or video (.mp4 .mov .avi .mpg .webm .gif ...); a file named like "
                             f"a command ({', '.join(COMMANDS)}) as ./NAME; several are dreamed one after another, "
                             "or at once with --workers/--ray")
    parser.add_argument("-o", "--output",
                        help="stills: .png, .jpg, ... (default <stem>_dream.png); videos: .mp4 (H.264 with the "
                             "source's audio; --codec hevc for HEVC), .gif, .webp (animated), .webm (VP9), .mov "
                             "(ProRes 422), or a folder ending in / for numbered PNG frames "
                             "(default <stem>_dream.mp4). Written beside the input by default, never over it")
    add_dream_options(parser)
    group = parser.add_argument_group("video (ignored for stills)")
    group.add_argument("--blend", type=_number_or_schedule, default=0.85, metavar="X",
                       help="share of the previous dream, carried by optical flow, in each new frame's start "
                            "image, 0..1; 0 dreams every frame independently (default 0.85)")
    group.add_argument("--carried-steps", type=_int_or_schedule, metavar="N",
                       help=f"steps per octave for carried frames (default: {round(CARRIED_STEPS_SHARE * 100)}%% of --steps, at "
                            "least 1); the "
                            "first frame and frames after a scene cut use --steps")
    group.add_argument("--carried-octaves", type=_positive_int_or_all, metavar="N",
                       help="carried frames dream only the N octaves just below the full size and add their "
                            "changes, scaled up, to the carried frame: the full size costs most and the carried "
                            "dream already holds its fine detail, the smallest octaves its coarse shapes "
                            "(default 2); 'all' dreams every octave, the full size included")
    group.add_argument("--anchor", type=float, default=0.5, metavar="X",
                       help="0..1: share of the carried dream's coarse changes (blur of 1/16 of the frame) given "
                            "back to the new source frame each frame, so colour casts do not build up (default 0.5)")
    group.add_argument("--colour-match", type=float, default=0.0, metavar="X",
                       help="0..1: pull each dreamed frame's CIELAB mean and spread toward its source frame's "
                            "(default 0)")
    group.add_argument("--steady", type=float, default=0.5, metavar="X",
                       help="0..1: hold carried frames at the dream strength of their shot's first full dream, "
                            "correcting this share of the difference each frame, so long clips neither build "
                            "up nor fade; 0 lets the dream settle where it will (default 0.5)")
    group.add_argument("--flow", choices=("dis", "farneback"), default="dis",
                       help="optical flow method (default dis)")
    group.add_argument("--flow-preset", choices=("ultrafast", "fast", "medium"), default="medium",
                       help="DIS flow preset (default medium)")
    group.add_argument("--start", metavar="T", help="start at T: seconds (12.5) or a frame number (300f)")
    group.add_argument("--end", metavar="T", help="stop before T: seconds (20) or a frame number (480f)")
    group.add_argument("--fps", metavar="RATE", help="resample to this frame rate (25, 29.97, 30000/1001); "
                                                     "default: the source's exact rate")
    add_output_options(parser)
    add_farm_options(parser)
    return _use_api_defaults(parser, DreamOptions, VideoOptions, FarmOptions)


def add_farm_options(parser: argparse.ArgumentParser) -> None:
    """The render farm's flags (fields of options.FarmOptions)."""
    group = parser.add_argument_group("render farm (Ray; pip install \"dreamvideo[ray]\")")
    group.add_argument("--workers", type=_positive_int, metavar="N",
                       help="start a local Ray with N workers (listening on 127.0.0.1 only), each with cores/N "
                            "TensorFlow threads; a video is split into segments dreamed in parallel")
    group.add_argument("--ray", "--ray-address", dest="ray_address", metavar="ADDRESS",
                       help="join a running Ray cluster instead: auto (this machine's 'ray start'), host:6379 "
                            "or ray://host:10001")
    group.add_argument("--segment", type=_positive_int, metavar="FRAMES",
                       help="frames per segment (default: the frames split evenly over the workers, in rounds "
                            "of at most 240 frames a segment)")
    group.add_argument("--warmup", type=_count, default=12, metavar="FRAMES",
                       help="frames a segment dreams before its first one, not written (default 12)")
    group.add_argument("--overlap", type=_count, default=8, metavar="FRAMES",
                       help="frames cross-faded with the previous segment at each seam (default 8)")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("animation output")
    group.add_argument("--quality", type=int, default=18, metavar="CRF",
                       help="MP4/WebM quality: the H.264/HEVC/VP9 CRF, 0 (lossless) to 51 (worst); default 18")
    group.add_argument("--codec", choices=("h264", "hevc"), default=None,
                       help="video codec of an .mp4: h264 (default) or hevc (smaller files, slower to encode; "
                            "frames at least 64 px wide)")
    group.add_argument("--restart", action="store_true",
                       help="discard finished frames of an earlier, interrupted render of this output")


def build_zoom_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dreamvideo zoom",
        description="Infinite zoom: dream, move the dream (zoom/rotate/translate), dream again. Motion values "
                    "are per frame; each takes a number or Deforum-style keyframes like "
                    "\"0:(1.02), 60:(1.05), 119:(1.0)\" (prefix \"cubic:\" for smooth curves, expressions "
                    "of t allowed).")
    parser.add_argument("input", nargs="?", help="start image (default: seeded noise on a --size canvas)")
    parser.add_argument("-o", "--output", help=".gif (default), .mp4, .webp (animated), .webm, .mov, or a folder "
                                               "ending in / for PNG frames; default <stem>_zoom.gif or zoom.gif")
    group = parser.add_argument_group("zoom")
    group.add_argument("--frames", type=_positive_int, default=120, help="frames to render (default 120)")
    group.add_argument("--fps", default="24", metavar="RATE", help="frame rate of the output (default 24)")
    group.add_argument("--size", default="512x512", metavar="WxH",
                       help="canvas when starting from noise (default 512x512; --max-side caps it)")
    group.add_argument("--zoom", type=_number_or_schedule, default=1.02, metavar="X",
                       help="magnification per frame, above 0; above 1 moves in (default 1.02)")
    group.add_argument("--angle", type=_number_or_schedule, default=0.0, metavar="DEG",
                       help="rotation per frame in degrees, counter-clockwise (default 0)")
    group.add_argument("--translate-x", type=_number_or_schedule, default=0.0, metavar="PX",
                       help="shift per frame in pixels, positive moves the picture right (default 0)")
    group.add_argument("--translate-y", type=_number_or_schedule, default=0.0, metavar="PX",
                       help="shift per frame in pixels, positive moves the picture down (default 0)")
    group.add_argument("--center-x", type=_number_or_schedule, default=0.5, metavar="X",
                       help="zoom centre as a fraction of the width (default 0.5)")
    group.add_argument("--center-y", type=_number_or_schedule, default=0.5, metavar="Y",
                       help="zoom centre as a fraction of the height (default 0.5)")
    group.add_argument("--carried-steps", type=_int_or_schedule, metavar="N",
                       help=f"steps per octave after the first frame (default: {round(ZOOM_CARRIED_SHARE * 100)}%% of "
                            "--steps, at least 1)")
    group.add_argument("--colour-match", type=_number_or_schedule, default=1.0, metavar="X",
                       help="pull each frame's LAB colour statistics toward the reference, 0 (off) to 1 "
                            "(default 1)")
    group.add_argument("--colour-reference", metavar="IMAGE",
                       help="image whose colours to keep (default: the first frame)")
    group.add_argument("--loop", action="store_true",
                       help="make the animation loop seamlessly (renders --overlap extra frames and "
                            "cross-fades them into the head)")
    group.add_argument("--overlap", type=_positive_int, metavar="N",
                       help="frames cross-faded for --loop (default: a quarter of --frames, at most 24)")
    group.add_argument("--interpolation", choices=("lanczos", "cubic", "linear"), default="lanczos",
                       help="resampling of the per-frame warp (default lanczos)")
    add_dream_options(parser)
    add_output_options(parser)
    return _use_api_defaults(parser, DreamOptions, ZoomOptions)


def build_models_parser() -> argparse.ArgumentParser:
    return _Parser(prog="dreamvideo models",
                   description="List the models, their layers and whether they work offline.")


def build_render_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dreamvideo render",
                     description="Render again from a render file (<output>.dreamvideo.json, written beside every "
                                 "output): same settings, same frames on the same machine and version.")
    parser.add_argument("file", help="a .dreamvideo.json render file")
    parser.add_argument("-o", "--output", help="write here instead of the output named in the file")
    parser.add_argument("--preview", action="store_true", help="quick look at reduced size and steps")
    parser.add_argument("--restart", action="store_true",
                        help="discard finished frames of an interrupted render of this output")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")
    return parser


def run_render(args) -> int:
    from . import api, renderfile, video, zoom

    command, input_path, output, options = renderfile.read_render_file(args.file)
    options["quiet"] = args.quiet
    if command != "still":
        options["restart"] = args.restart
    function = {"still": api.dream_image, "video": video.render_video, "zoom": zoom.render_zoom}[command]
    output = function(input_path, args.output or output, preview=args.preview, **options)
    if not args.quiet:
        print(f"wrote {output}", file=sys.stderr)
    return 0


def build_measure_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dreamvideo measure",
                     description="How close images are to a guide or style image, in the objectives' own terms: "
                                 "guide similarity (higher is closer), style distance (lower is closer). Compare "
                                 "a guided or styled dream with a plain one.")
    parser.add_argument("images", nargs="+", help="images to measure")
    add_dream_options(parser, rendering=False)
    return _use_api_defaults(parser, DreamOptions)


def run_measure(args) -> int:
    from . import api

    options = vars(args).copy()
    images = options.pop("images")
    for path, values in api.measure(images, **options).items():
        print(path + ": " + ", ".join(f"{name} {'similarity' if name.startswith('guide') else 'distance'} "
                                      f"{value:.4f}" for name, value in values.items()))
    return 0


def run_models(args) -> int:
    from .models import list_models

    for spec in list_models():
        status = "available offline" if spec.available_offline() else \
            f"needs a download (weights not cached at {spec.weights_path()})"
        print(f"{spec.name}: {spec.description}")
        print(f"  status: {status}")
        print(f"  default layers: {', '.join(spec.default_layers)}")
        print(f"  layers: {', '.join(spec.layers)}")
    print("A Keras model file (--model path/to/model.keras) works too: it receives RGB in [0, 255].")
    return 0


def run_main(args) -> int:
    from . import api, media

    options = vars(args).copy()
    inputs, output = options.pop("input"), options.pop("output")
    still_keys = {f.name for cls in (DreamOptions, FarmOptions) for f in fields(cls) if f.init} | {"preview"}
    if len(inputs) == 1 and not media.is_video_path(inputs[0]):  # with several inputs they apply to the videos
        defaults = vars(build_main_parser().parse_args(inputs))
        changed = [k for k in options if k not in still_keys and options[k] != defaults[k]]
        if changed:
            raise DreamError(f"--{changed[0].replace('_', '-')} applies to videos, and {inputs[0]} is a still image")
    for path in api.dream_files(inputs, output, **options):
        if not args.quiet:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def run_zoom(args) -> int:
    from .zoom import render_zoom

    options = vars(args).copy()
    output = render_zoom(options.pop("input"), options.pop("output"), **options)
    if not args.quiet:
        print(f"wrote {output}", file=sys.stderr)
    return 0

# -- gan ---------------------------------------------------------------------------------------------


def _add_gan_train_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training")
    group.add_argument("--size", type=int, default=64, metavar="PX",
                       help="picture side the GAN makes: 32, 64 or 128 (default 64)")
    group.add_argument("--epochs", type=_positive_int, default=50, metavar="N",
                       help="passes over the pictures in all, counting a resumed run's (default 50)")
    group.add_argument("--batch-size", type=_positive_int, default=32, metavar="N",
                       help="pictures per step (default 32)")
    group.add_argument("--latent-dim", type=_positive_int, default=100, metavar="N",
                       help="length of the latent vector (default 100)")
    group.add_argument("--flip", action=argparse.BooleanOptionalAction, default=True,
                       help="augment with horizontal flips (default on)")


def _add_gan_animation_options(parser: argparse.ArgumentParser, walk: bool, dream: bool = True) -> None:
    group = parser.add_argument_group("animation")
    group.add_argument("--frames", type=_positive_int, default=120, metavar="N", help="frames (default 120)")
    if walk:
        group.add_argument("--keyframes", type=_positive_int, default=6, metavar="N",
                           help="random latents the walk visits, at least 2 (default 6)")
        group.add_argument("--loop", action=argparse.BooleanOptionalAction, default=True,
                           help="return to the first latent, seamlessly (default on)")
    group.add_argument("--fps", default="24", metavar="RATE", help="frame rate (default 24)")
    group.add_argument("--scale", type=_positive_int, default=4, metavar="N",
                       help="Lanczos upscaling of the GAN's pictures (default 4)")
    group.add_argument("--quality", type=int, default=18, metavar="CRF",
                       help="MP4 quality: H.264 CRF, 0 (lossless) to 51 (worst); default 18")
    if not dream:
        return
    group.add_argument("--dream", action="store_true",
                       help="dream the frames as a video (optical-flow carry and every dream option below)")
    group.add_argument("--blend", type=_number_or_schedule, default=0.9, metavar="X",
                       help="with --dream: share of the carried dream in each new frame, 0..1 (default 0.9)")
    group.add_argument("--carried-steps", type=_int_or_schedule, metavar="N",
                       help="with --dream: steps per octave for carried frames (default: a share of --steps)")
    group.add_argument("--flow", choices=("dis", "farneback"), default="dis", help="with --dream: optical flow")
    group.add_argument("--flow-preset", choices=("ultrafast", "fast", "medium"), default="medium",
                       help="with --dream: DIS flow preset (default medium)")
    group.add_argument("--restart", action="store_true",
                       help="with --dream: discard finished frames of an interrupted render of this output")


def build_gan_parser(command: str | None) -> argparse.ArgumentParser:
    """``dreamvideo gan train|walk|morph``, or the compact ``dreamvideo gan --image_dir DIR --output_file X``."""
    from .gan import MorphOptions, TrainOptions, WalkOptions

    if command == "train":
        parser = _Parser(prog="dreamvideo gan train",
                         description="Train a DCGAN on the pictures in a folder (recursively; centre-cropped, "
                                     "resized). Rerun the same command to resume from the last checkpoint.")
        parser.add_argument("image_dir", help="folder of pictures")
        parser.add_argument("-o", "--output", help="model file (default <IMAGE_DIR>.gan beside the folder); a "
                                                   "sample grid <name>.samples.png is written beside it")
        _add_gan_train_options(parser)
        parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same model (default 0)")
        parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")
        return _use_api_defaults(parser, TrainOptions)
    if command in ("walk", "morph"):
        walk = command == "walk"
        parser = _Parser(
            prog=f"dreamvideo gan {command}",
            description="Walk a trained GAN's latent space into an animation (.gif, .mp4 or frames/)." if walk else
            "Morph a face: invert it into the GAN's latent space and move it toward a second face, or along the "
            "direction from the pictures of --from to those of --to.")
        parser.add_argument("gan_file", metavar="MODEL", help="a .gan model made by 'dreamvideo gan train' (--model "
                                                               "is the dream's backbone, for --dream)")
        if not walk:
            parser.add_argument("face", help="picture of the face to start from")
            parser.add_argument("other", nargs="?", help="second face to morph into (or use --from and --to)")
            group = parser.add_argument_group("morph")
            group.add_argument("--from-dir", "--from", metavar="DIR", help="pictures of the starting group")
            group.add_argument("--to-dir", "--to", metavar="DIR", help="pictures of the group to move toward")
            group.add_argument("--invert-steps", type=_positive_int, default=200, metavar="N",
                               help="gradient steps finding each picture's latent (default 200)")
        parser.add_argument("-o", "--output", help=".gif (default <name>_walk.gif or <face>_morph.gif), .mp4, or "
                                                   "a folder ending in / for PNG frames")
        _add_gan_animation_options(parser, walk)
        add_dream_options(parser)
        return _use_api_defaults(parser, DreamOptions, WalkOptions if walk else MorphOptions)
    parser = _Parser(prog="dreamvideo gan",
                     description="Train a GAN on a folder of pictures, then walk its latent space into an "
                                 "animation. The steps one by one: 'dreamvideo gan train --help', "
                                 "'dreamvideo gan walk --help', 'dreamvideo gan morph --help'.")
    parser.add_argument("--image_dir", "--image-dir", required=True, metavar="DIR", help="folder of pictures")
    parser.add_argument("--output_file", "--output-file", required=True, metavar="FILE",
                        help="the animation: .gif, .mp4, or a folder ending in /; the model is kept as "
                             "<DIR>.gan beside the folder (rerun to resume or to train more)")
    _add_gan_train_options(parser)
    _add_gan_animation_options(parser, walk=True, dream=False)
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")
    return _use_api_defaults(parser, TrainOptions, WalkOptions)


def run_gan(args) -> int:
    from . import gan

    options = vars(args).copy()
    command = options.pop("gan_command")
    if command == "train":
        output = gan.train(options.pop("image_dir"), options.pop("output"), **options)
    elif command == "walk":
        output = gan.walk(options.pop("gan_file"), options.pop("output"), **options)
    elif command == "morph":
        output = gan.morph(options.pop("gan_file"), options.pop("face"), options.pop("other"), options.pop("output"),
                           **options)
    else:
        output = gan.animate(options.pop("image_dir"), options.pop("output_file"), **options)
    if not args.quiet:
        print(f"wrote {output}", file=sys.stderr)
    return 0


def _configure_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="dreamvideo: %(message)s")
    # TensorFlow and Keras are chatty; their INFO lines are not for our users.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 success, 2 user error, 130 interrupted)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = list(sys.argv[1:] if argv is None else argv)
    # A command name always means the command, even when a file or folder of that name is here (a "models"
    # folder is common); a picture named like a command is given as ./zoom.
    command = argv[0] if argv and argv[0] in COMMANDS else None
    if command == "models":
        parser, runner, argv = build_models_parser(), run_models, argv[1:]
    elif command == "measure":
        parser, runner, argv = build_measure_parser(), run_measure, argv[1:]
    elif command == "render":
        parser, runner, argv = build_render_parser(), run_render, argv[1:]
    elif command == "zoom":
        parser, runner, argv = build_zoom_parser(), run_zoom, argv[1:]
    elif command == "gan":
        gan_command = argv[1] if len(argv) > 1 and argv[1] in GAN_COMMANDS else None
        parser, runner, argv = build_gan_parser(gan_command), run_gan, argv[2 if gan_command else 1:]
        parser.set_defaults(gan_command=gan_command)
    else:
        parser, runner = build_main_parser(), run_main
    try:
        args = parser.parse_args(argv)
        _configure_logging(getattr(args, "quiet", False))
        return runner(args)
    except DreamError as exc:
        print(f"dreamvideo: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        training = command == "gan" and gan_command in ("train", None)  # walk and morph keep frames
        kept = "the last checkpoint is kept" if training else "finished frames are kept"
        print(f"dreamvideo: interrupted; {kept}, rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
