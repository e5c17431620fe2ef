"""dreamvideo: DeepDream for videos, stills and infinite zooms.

    import dreamvideo as dv
    dv.dream_image("photo.jpg", "dream.png", steps=10)

The package, from the top down (a module imports only from below itself):

    api.py          the façade: one call per job (every CLI command is one call)
    cli/            argparse: flags made from the option declarations, one module per command family
    farm/           Ray: plan (segments), connect, watchdog, worker, driver
    video.py, zoom.py, still.py   the recipes: how a frame is carried and dreamed, as a render.Job
    restoration.py  the restore recipe: fill.py (flow-guided fill), dust.py, deflicker.py, restore_still.py (DIP)
    render.py       the frame loop, run(job), the work folder (resume)
    renderfile.py   render files: every setting of a render, written beside its output, read back
    dreaming.py     the cached Dreamer, one frame dreamed with its scheduled settings, cross-fade
    masks.py        --mask strengths per frame
    steady.py       the strength hold of carried frames
    options.py      every option declared once (DreamOptions, VideoOptions, ZoomOptions, FarmOptions)
    declare.py      how an option is declared and checked; take(), the one "unknown option" error
    kernel.py       the TensorFlow gradient-ascent kernel: octaves, roll, tiles, step; no I/O
    objectives.py   what to maximise: layers, channels, guide, style, smoothness; composable
    models/         backbones: the embedded networks, Keras applications, a user's file; runtime.py: TF
    motion.py       OpenCV: flow, warp, consistency, blend, affine zoom; cuts.py: scene cuts; colour.py: colours
    metrics.py      warping error (E_warp) and other measures of a render
    music.py        per-frame features of a sound track (loudness, onsets, bands, beats) for schedules
    schedules.py    values over time; keyframes.py: their text; expressions.py: the safe expression compiler
    media/          still I/O, probing, decoding and encoding on PyAV, one job a module
    gan/            DCGAN training, latent walks, inversion and morphs
    arrays.py       checks and conversions of numpy images shared by the modules above
    errors.py, version.py
"""

import os as _os

# TensorFlow's start-up chatter (CUDA probing, oneDNN notices) is not for our users.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# OpenCV checks every decoder's picture size against OPENCV_IO_MAX_IMAGE_PIXELS before it allocates (it reads
# it when it loads): the pixel limit holds for formats whose header Pillow cannot read (an RLE HDR, say).
from . import limits as _limits  # noqa: E402  (plain Python: it loads no OpenCV)

_limits.hold_pixel_limit_in_opencv()

from .version import __version__  # noqa: E402,F401
from .errors import DreamError  # noqa: E402,F401
from .api import (analyse_audio, dream_array, dream_files, dream_image, gan, list_models, measure,  # noqa: E402,F401
                  render_file, render_video, render_zoom, restore)
from .objectives import Objective, guide, layers, style, tv  # noqa: E402,F401
