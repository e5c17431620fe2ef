"""``dreamvideo gan train|walk|morph``, and the compact ``dreamvideo gan --image_dir DIR --output_file X``."""

from __future__ import annotations

from .. import api
from ..options import CarryOptions
from .dream import add_dream_flags
from .flags import Parser, add_declared, wrote

GAN_COMMANDS = ("train", "walk", "morph")


def build_gan_parser(command: str | None) -> Parser:
    from ..gan import MorphOptions, TrainOptions, WalkOptions

    if command == "train":
        parser = Parser(prog="dreamvideo gan train",
                        description="Train a DCGAN on the pictures in a folder (recursively; centre-cropped, "
                                    "resized). Rerun the same command to resume from the last checkpoint.")
        parser.add_argument("image_dir", help="folder of pictures")
        parser.add_argument("-o", "--output", help="model file (default <IMAGE_DIR>.gan beside the folder); a "
                                                   "sample grid <name>.samples.png is written beside it")
        add_declared(parser, TrainOptions)
        return parser
    if command in ("walk", "morph"):
        walk = command == "walk"
        parser = Parser(
            prog=f"dreamvideo gan {command}",
            description="Walk a trained GAN's latent space into an animation (.gif, .mp4 or frames/)." if walk else
            "Morph a face: invert it into the GAN's latent space and move it toward a second face, or along the "
            "direction from the pictures of --from to those of --to.")
        parser.add_argument("gan_file", metavar="MODEL", help="a .gan model made by 'dreamvideo gan train' (--model "
                                                               "is the dream's backbone, for --dream)")
        if not walk:
            parser.add_argument("face", help="picture of the face to start from")
            parser.add_argument("other", nargs="?", help="second face to morph into (or use --from and --to)")
        parser.add_argument("-o", "--output", help=".gif (default <name>_walk.gif or <face>_morph.gif), .mp4, or "
                                                   "a folder ending in / for PNG frames")
        add_declared(parser, WalkOptions if walk else MorphOptions, CarryOptions)
        add_dream_flags(parser)
        return parser
    parser = Parser(prog="dreamvideo gan",
                    description="Train a GAN on a folder of pictures, then walk its latent space into an "
                                "animation. The steps one by one: 'dreamvideo gan train --help', "
                                "'dreamvideo gan walk --help', 'dreamvideo gan morph --help'.")
    parser.add_argument("--image_dir", "--image-dir", required=True, metavar="DIR", help="folder of pictures")
    parser.add_argument("--output_file", "--output-file", required=True, metavar="FILE",
                        help="the animation: .gif, .mp4, or a folder ending in /; the model is kept as "
                             "<DIR>.gan beside the folder (rerun to resume or to train more)")
    add_declared(parser, TrainOptions)
    add_declared(parser, WalkOptions, skip=("dream", "restart", "codec"))
    return parser


def run_gan(args) -> int:
    options = vars(args).copy()
    command = options.pop("gan_command")
    if command == "train":
        output = api.gan.train(options.pop("image_dir"), options.pop("output"), **options)
    elif command == "walk":
        output = api.gan.walk(options.pop("gan_file"), options.pop("output"), **options)
    elif command == "morph":
        output = api.gan.morph(options.pop("gan_file"), options.pop("face"), options.pop("other"),
                               options.pop("output"), **options)
    else:
        output = api.gan.animate(options.pop("image_dir"), options.pop("output_file"), **options)
    return wrote(output, args.quiet)
