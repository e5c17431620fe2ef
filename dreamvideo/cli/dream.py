"""``dreamvideo INPUT...`` (stills and videos), ``dreamvideo render FILE``, ``measure`` and ``models``."""

from __future__ import annotations

from .. import api
from ..options import DREAM, DreamOptions, FarmOptions, VideoOptions
from .flags import Parser, add_declared, group, wrote

PREVIEW_HELP = ("quick look: longest side at most 256 px, a third of the steps, at most 3 octaves (videos: the "
                "first 5 s); writes <name>_preview.<ext>")


def build_main_parser() -> Parser:
    parser = Parser(
        prog="dreamvideo",
        description="DeepDream for videos and stills. 'dreamvideo INPUT' dreams a still image or every frame "
                    "of a video. Other commands: 'dreamvideo zoom --help' (infinite zoom), "
                    "'dreamvideo models' (the models and their layers).",
    )
    parser.add_argument("input", nargs="+",
                        help="image (.png .jpg ...) or video (.mp4 .mov .avi .mpg .webm .gif ...); a file named like "
                             "a command (models, zoom, render, measure, audio, gan, studio) as ./NAME; several are dreamed one "
                             "after another, or at once with --workers/--ray")
    parser.add_argument("-o", "--output",
                        help="stills: .png, .jpg, ... (default <stem>_dream.png); videos: .mp4 (H.264 with the "
                             "source's audio; --codec hevc for HEVC), .gif, .webp (animated), .webm (VP9), .mov "
                             "(ProRes 422), or a folder ending in / for numbered PNG frames "
                             "(default <stem>_dream.mp4). Written beside the input by default, never over it")
    add_dream_flags(parser)
    add_declared(parser, VideoOptions, FarmOptions)
    return parser


def add_dream_flags(parser: Parser, rendering: bool = True) -> None:
    """The model and kernel flags; ``rendering=False`` (for ``measure``) leaves out those that only matter
    when making pictures."""
    skip = () if rendering else ("mask",)
    add_declared(parser, DreamOptions, skip=skip + ("quiet",))
    if rendering:
        group(parser, DREAM).add_argument("--preview", action="store_true", help=PREVIEW_HELP)
    add_declared(parser, DreamOptions, skip=skip)  # quiet, last in its group


def run_main(args) -> int:
    options = vars(args).copy()
    inputs, output = options.pop("input"), options.pop("output")
    for path in api.dream_files(inputs, output, **options):
        wrote(path, args.quiet)
    return 0


def build_render_parser() -> Parser:
    parser = Parser(prog="dreamvideo render",
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
    return wrote(api.render_file(args.file, args.output, preview=args.preview, restart=args.restart,
                                 quiet=args.quiet), args.quiet)


def build_measure_parser() -> Parser:
    parser = Parser(prog="dreamvideo measure",
                    description="How close images are to a guide or style image, in the objectives' own terms: "
                                "guide similarity (higher is closer), style distance (lower is closer). Compare "
                                "a guided or styled dream with a plain one.")
    parser.add_argument("images", nargs="+", help="images to measure")
    add_dream_flags(parser, rendering=False)
    return parser


def run_measure(args) -> int:
    options = vars(args).copy()
    images = options.pop("images")
    for path, values in api.measure(images, **options).items():
        print(path + ": " + ", ".join(f"{name} {'similarity' if name.startswith('guide') else 'distance'} "
                                      f"{value:.4f}" for name, value in values.items()))
    return 0


def build_models_parser() -> Parser:
    return Parser(prog="dreamvideo models", description="List the models, their layers and whether they work offline.")


def run_models(args) -> int:
    for spec in api.list_models():
        status = "available offline" if spec.available_offline() else \
            f"needs a download (weights not cached at {spec.weights_path()})"
        print(f"{spec.name}: {spec.description}")
        print(f"  status: {status}")
        print(f"  default layers: {', '.join(spec.default_layers)}")
        for layer, note in spec.layer_notes:
            print(f"    {layer}: {note}")
        print(f"  layers: {', '.join(spec.layers)}")
    print("A Keras model file (--model path/to/model.keras) works too: it receives RGB in [0, 255].")
    return 0
