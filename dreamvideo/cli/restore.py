"""``dreamvideo restore INPUT``: fill masked regions, remove dust and scratches, steady flicker."""

from __future__ import annotations

from .. import api
from ..options import RestoreOptions
from .flags import Parser, add_declared, wrote


def build_restore_parser() -> Parser:
    parser = Parser(
        prog="dreamvideo restore",
        description="Restore a video or a photo. A video's masked pixels are filled from the nearest frames "
                    "before and after that show them, carried along the optical flow; what no frame shows is "
                    "inpainted. --dust finds dust and scratches by themselves, --deflicker steadies flicker. A "
                    "video resumes like a render and keeps its audio; a still is inpainted, or filled by a Deep "
                    "Image Prior with --prior.")
    parser.add_argument("input", help="a video or a still image")
    parser.add_argument("-o", "--output", help="default <stem>_restored.mp4 (or .png for a still) beside the "
                                               "input; .mp4, .gif, .webp, .webm, .mov or a folder ending in /")
    parser.add_argument("--preview", action="store_true", help="a quick look: at most 256 px, written as "
                                                               "<name>_preview")
    add_declared(parser, RestoreOptions)
    return parser


def run_restore(args) -> int:
    options = vars(args).copy()
    return wrote(api.restore(options.pop("input"), options.pop("output"), **options), args.quiet)
