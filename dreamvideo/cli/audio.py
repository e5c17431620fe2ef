"""``dreamvideo audio FILE``: the sound's per-frame features as keyframe strings, and a plot of them."""

from __future__ import annotations

from .. import api
from ..options import AudioOptions
from .flags import Parser, add_declared


def build_audio_parser() -> Parser:
    parser = Parser(
        prog="dreamvideo audio",
        description="Print a sound's per-frame features (rms, onset, bass, mid, high, beat; each 0..1) as "
                    "keyframe strings, one line each, and with --plot draw them under the waveform. The same "
                    "names can be used in any schedule of a render given --audio FILE, e.g. --zoom "
                    "\"1.005 + 0.03*beat\".")
    parser.add_argument("input", help="a sound file, or a video with a sound track (any format PyAV reads); "
                                      "with --synth-beat, the WAV file to write first")
    add_declared(parser, AudioOptions)
    return parser


def run_audio(args) -> int:
    options = vars(args).copy()
    features = api.analyse_audio(options.pop("input"), **options)
    for name in args.feature or features.names:
        print(f"{name}: {features.keyframes(name)}")
    return 0
