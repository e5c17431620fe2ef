"""dreamvideo: DeepDream for videos, stills and infinite zooms.

    import dreamvideo as dv
    dv.dream_image("photo.jpg", "dream.png", steps=10)
"""

import os as _os

# TensorFlow's start-up chatter (CUDA probing, oneDNN notices) is not for our users.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from .errors import DreamError  # noqa: E402,F401
from .api import dream_array, dream_files, dream_image  # noqa: E402,F401
from .objectives import Objective, guide, layers, style, tv  # noqa: E402,F401
from .video import render_video  # noqa: E402,F401
from .zoom import render_zoom  # noqa: E402,F401
from . import gan  # noqa: E402,F401
