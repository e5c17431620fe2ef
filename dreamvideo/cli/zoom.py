"""``dreamvideo zoom [IMAGE]``: the infinite zoom."""

from __future__ import annotations

from .. import api
from ..options import ZoomOptions
from .dream import add_dream_flags
from .flags import Parser, add_declared, wrote


def build_zoom_parser() -> Parser:
    parser = Parser(
        prog="dreamvideo zoom",
        description="Infinite zoom: dream, move the dream (zoom/rotate/translate), dream again. Motion values "
                    "are per frame; each takes a number or Deforum-style keyframes like "
                    "\"0:(1.02), 60:(1.05), 119:(1.0)\" (prefix \"cubic:\" for smooth curves, expressions "
                    "of t allowed).")
    parser.add_argument("input", nargs="?", help="start image (default: seeded noise on a --size canvas)")
    parser.add_argument("-o", "--output", help=".gif (default), .mp4, .webp (animated), .webm, .mov, or a folder "
                                               "ending in / for PNG frames; default <stem>_zoom.gif or zoom.gif")
    add_declared(parser, ZoomOptions, skip=("quality", "codec", "restart"))
    add_dream_flags(parser)
    add_declared(parser, ZoomOptions)  # the output group last
    return parser


def run_zoom(args) -> int:
    options = vars(args).copy()
    return wrote(api.render_zoom(options.pop("input"), options.pop("output"), **options), args.quiet)
