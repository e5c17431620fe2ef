"""dreamvideo: DeepDream for videos, stills and infinite zooms."""

__version__ = "0.1.0"

from .errors import DreamError  # noqa: F401
