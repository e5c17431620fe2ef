"""Media in and out, one job a module, on PyAV (FFmpeg's libraries in-process) and OpenCV.

Every public image is a ``numpy.ndarray`` of dtype uint8, shape (H, W, 3), RGB, values 0-255.

- images.py: still images in and out (OpenCV; Pillow reads headers first, against decompression bombs)
- probe.py: facts about a video (rate, size, rotation, pixel aspect, duration, audio)
- sources.py, decode.py: pictures out of a file; frames at a constant rate, seeking, scaling
- sinks.py, encoders.py, audio.py: outputs (PNG folder, still; MP4, GIF, WebP, WebM, MOV with audio)
- writers.py: open_sink, which picks the sink for an output path
- outputs.py, files.py, rates.py: output kinds, atomic files and I/O errors, exact rates
"""

from .decode import FrameReader, count_frames, read_frames
from .encoders import GifSink, MovSink, Mp4Sink, VideoSink, WebmSink, WebpSink
from .files import write_bytes_atomically
from .images import IMAGE_EXTENSIONS, MAX_PIXELS, is_video_path, read_image, resize_max_side, write_image
from .outputs import OUTPUT_KINDS, check_animation_output, check_output, output_kind
from .probe import VideoInfo, probe_video
from .rates import fit_size
from .sinks import DEFAULT_CRF, MP4_CODECS, FramesSink, ImageSink, Sink, check_codec, check_quality
from .writers import open_sink

__all__ = [
    "DEFAULT_CRF", "FrameReader", "FramesSink", "GifSink", "IMAGE_EXTENSIONS", "ImageSink", "MAX_PIXELS",
    "MP4_CODECS", "MovSink", "Mp4Sink", "OUTPUT_KINDS", "Sink", "VideoInfo", "VideoSink", "WebmSink", "WebpSink",
    "check_animation_output", "check_codec", "check_output", "check_quality", "count_frames", "fit_size",
    "is_video_path", "open_sink", "output_kind", "probe_video", "read_frames", "read_image", "resize_max_side",
    "write_bytes_atomically", "write_image",
]
