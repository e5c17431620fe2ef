"""Command line: ``dreamvideo INPUT``, ``dreamvideo zoom``, ``dreamvideo models``.

The only module that prints for users or picks exit codes. Every flag's destination is the keyword of the
same name in the Python API (dashes become underscores).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .errors import DreamError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

COMMANDS = ("models", "zoom")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


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


def add_dream_options(parser: argparse.ArgumentParser) -> None:
    """The model and kernel flags shared by every command (fields of api.DreamOptions)."""
    group = parser.add_argument_group("dream (model and gradient ascent)")
    group.add_argument("--model", default="vgg16", metavar="NAME|FILE",
                       help="backbone: vgg16 (default, embedded, offline), inception_v3, vgg19, vgg16_imagenet "
                            "(ImageNet weights, downloaded once), or a .keras file; see 'dreamvideo models'")
    group.add_argument("--layer", action="append", metavar="SPEC",
                       help="layer to amplify, repeatable: NAME, NAME:WEIGHT, NAME/CHANNELS[:WEIGHT] "
                            "(channels like 12 or 12,40-47; WEIGHT a number or keyframes). "
                            "Default: the model's own (vgg16: block4_conv3)")
    group.add_argument("--octaves", type=_int_or_schedule, default=4, metavar="N",
                       help="number of scales, smallest first (default 4)")
    group.add_argument("--octave-scale", type=_number, default=1.4, metavar="X",
                       help="size ratio between octaves, above 1 (default 1.4)")
    group.add_argument("--steps", type=_int_or_schedule, default=10, metavar="N",
                       help="gradient steps per octave (default 10)")
    group.add_argument("--step-size", type=_number_or_schedule, default=1.5, metavar="X",
                       help="step length in 0-255 pixel units along the normalised gradient (default 1.5)")
    group.add_argument("--seed", type=int, default=0, help="random seed; same seed, same result (default 0)")
    group.add_argument("--max-side", type=_positive_int, metavar="PX",
                       help="downscale so the longest side is at most PX pixels")
    group.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                       help="compute type: auto = bfloat16 where the CPU has bf16 instructions (default)")
    group.add_argument("--tile-size", type=_positive_int, default=512, metavar="PX",
                       help="largest tile fed to the network at once; bounds memory (default 512)")
    group.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")


def build_still_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dreamvideo",
        description="DeepDream for videos and stills. dreamvideo INPUT dreams a still image or every frame "
                    "of a video. Other commands: 'dreamvideo zoom --help' (infinite zoom), "
                    "'dreamvideo models' (available models and their layers).",
    )
    parser.add_argument("input", help="image (.png .jpg ...) or video (.mp4 .mov .avi .mpg .webm .gif ...)")
    parser.add_argument("-o", "--output", help="output file: .png/.jpg for stills; .mp4, .gif or a folder "
                                               "(ending in /) of PNG frames for videos. Default: "
                                               "<input stem>_dream.png or .mp4 beside the input")
    add_dream_options(parser)
    return parser


def build_models_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog="dreamvideo models",
                                   description="List the models, their layers and whether they work offline.")


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


def run_still(args) -> int:
    from . import api

    options = vars(args).copy()
    output = api.dream_image(options.pop("input"), options.pop("output"), **options)
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
    command = argv[0] if argv and argv[0] in COMMANDS and not os.path.exists(argv[0]) else None
    if command == "models":
        parser, runner, argv = build_models_parser(), run_models, argv[1:]
    else:
        parser, runner = build_still_parser(), run_still
    args = parser.parse_args(argv)
    _configure_logging(getattr(args, "quiet", False))
    try:
        return runner(args)
    except DreamError as exc:
        print(f"dreamvideo: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("dreamvideo: interrupted; finished frames are kept, rerun the same command to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
