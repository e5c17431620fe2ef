"""Command line: ``dreamvideo INPUT``, ``dreamvideo zoom``, ``restore``, ``render``, ``measure``, ``models``,
``audio``, ``gan``, ``studio``.

The only package that prints for users or picks exit codes. Each command parses its flags (made from the
option declarations, so a flag's destination is the API keyword of the same name) and makes one call of
:mod:`dreamvideo.api`; it decides nothing else.
"""

from __future__ import annotations

import logging
import os
import sys

from ..errors import DreamError
from . import audio, dream, gan, restore, studio, zoom

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

# command name -> (parser builder, runner); "gan" has subcommands of its own
COMMANDS = {"models": (dream.build_models_parser, dream.run_models),
            "zoom": (zoom.build_zoom_parser, zoom.run_zoom),
            "render": (dream.build_render_parser, dream.run_render),
            "measure": (dream.build_measure_parser, dream.run_measure),
            "audio": (audio.build_audio_parser, audio.run_audio),
            "restore": (restore.build_restore_parser, restore.run_restore),
            "gan": (None, gan.run_gan),
            "studio": (studio.build_studio_parser, studio.run_studio)}


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
    gan_command = None
    if command == "gan":
        gan_command = argv[1] if len(argv) > 1 and argv[1] in gan.GAN_COMMANDS else None
        parser, runner, argv = gan.build_gan_parser(gan_command), gan.run_gan, argv[2 if gan_command else 1:]
        parser.set_defaults(gan_command=gan_command)
    elif command is not None:
        build, runner = COMMANDS[command]
        parser, argv = build(), argv[1:]
    else:
        parser, runner = dream.build_main_parser(), dream.run_main
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
