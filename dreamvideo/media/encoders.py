"""Video files encoded in-process with PyAV: MP4 (H.264 or HEVC), GIF, animated WebP, WebM (VP9), MOV (ProRes).

Each sink writes a temporary file beside the output and renames it into place when complete; audio from
another file is added in a second quick pass (audio.py) once the length of the video is known.
"""

from __future__ import annotations

import errno
import logging
import os
from fractions import Fraction
from typing import Optional

import av
import numpy as np

from ..errors import DreamError
from ..runtime import cpu_flags
from .audio import mux_with_audio
from .files import PathLike, existing_file, io_error, publish, remove_quietly, temp_beside
from .probe import open_container
from .sinks import Sink

logger = logging.getLogger("dreamvideo.media")

_GIF_FASTEST_FPS = 50  # GIF delays under 2 cs are slowed down to 10 cs by most viewers
_RGB_TO_YUV = (av.video.reformatter.Interpolation.BICUBIC | av.video.reformatter.Interpolation.ACCURATE_RND
               | av.video.reformatter.Interpolation.FULL_CHR_H_INT)
_BT709 = 1  # AVCOL_PRI_BT709 = AVCOL_TRC_BT709 = AVCOL_SPC_BT709
_LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG


class VideoSink(Sink):
    """Frames encoded by one PyAV video encoder into one container; subclasses set the codec."""

    container_format = ""
    encoder = ""
    pixel_format = "yuv420p"
    even_size = True  # 4:2:0 and 4:2:2 need even sides: one more row/column, a copy of the last one
    audio_copy: frozenset = frozenset()  # audio codecs the container takes as they are
    audio_encoder: Optional[str] = None  # else re-encoded with this; None: no audio in this container
    muxer_options: dict = {}
    codec_tag: Optional[str] = None

    def __init__(self, path: PathLike, fps: Fraction, *, quality: int, loop: bool, codec: Optional[str],
                 audio_from: Optional[PathLike], audio_start: float) -> None:
        self.audio_from, self._audio_codec = (self._audio_source(path, audio_from, audio_start)
                                              if self.audio_encoder else (None, None))
        super().__init__(path, fps)
        self.quality, self.loop, self.audio_start = quality, loop, audio_start
        self._tmp = temp_beside(self.path, self.path.suffix)
        self._container = None
        self._stream = None

    @staticmethod
    def _audio_source(path: PathLike, audio_from: Optional[PathLike],
                      audio_start: float) -> tuple[Optional[PathLike], Optional[str]]:
        """(`audio_from`, its audio codec) if it has audio that starts before `audio_start`, else (None, None);
        checked before any temp file."""
        if audio_from is None:
            return None, None
        existing_file(audio_from)
        with open_container(audio_from, audio_from) as container:
            if not container.streams.audio:
                logger.info("%s has no audio; %s will be silent", audio_from, path)
                return None, None
            codec = container.streams.audio[0].codec_context.name
            duration = container.duration / av.time_base if container.duration else None
        if duration is not None and audio_start >= duration:
            logger.warning("%s: audio_start %.3f s is past the end of its audio (%.3f s); %s will be silent",
                           audio_from, audio_start, duration, path)
            return None, None
        return audio_from, codec

    # -- what subclasses choose

    def encoder_options(self) -> dict:
        return {}

    def prepare(self, frame: np.ndarray) -> "av.VideoFrame":
        """The RGB frame as the encoder takes it (default: BT.709 limited-range YUV)."""
        picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
        return picture.reformat(format=self.pixel_format, dst_colorspace="ITU709", dst_color_range="MPEG",
                                interpolation=_RGB_TO_YUV)

    # -- Sink

    def _start(self, width: int, height: int) -> None:
        self._container = av.open(self._tmp, "w", format=self.container_format, options=self.muxer_options)
        stream = self._container.add_stream(self.encoder, rate=self.fps, options=self.encoder_options())
        stream.width, stream.height = width, height
        stream.pix_fmt = self.pixel_format
        stream.codec_context.time_base = 1 / self.fps
        if self.codec_tag:
            stream.codec_context.codec_tag = self.codec_tag
        if self.pixel_format.startswith("yuv"):
            context = stream.codec_context
            context.color_primaries = context.color_trc = context.colorspace = _BT709
            context.color_range = _LIMITED_RANGE
        self._stream = stream

    def check_size(self, width: int, height: int) -> None:
        """DreamError if the encoder cannot take frames of this size (checked before it is opened)."""

    def _write(self, frame: np.ndarray) -> None:
        if self.even_size and (frame.shape[0] % 2 or frame.shape[1] % 2):
            frame = np.pad(frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0)), mode="edge")
        try:
            if self._container is None:
                try:
                    self.check_size(frame.shape[1], frame.shape[0])
                except DreamError:
                    self.abort()
                    raise
                self._start(frame.shape[1], frame.shape[0])
            picture = self.prepare(np.ascontiguousarray(frame))
            picture.pts = self.frames_written
            self._encode(picture)
        except av.FFmpegError as exc:
            self.abort()
            raise self._error(exc) from None

    def _encode(self, picture: "av.VideoFrame") -> None:
        for packet in self._stream.encode(picture):
            self._container.mux(packet)

    def _error(self, exc: Exception) -> DreamError:
        code = getattr(exc, "errno", None)
        if code in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS):
            return io_error(self.path, OSError(code, getattr(exc, "strerror", None) or str(exc)))
        return DreamError(f"{self.path}: encoding failed ({getattr(exc, 'strerror', None) or exc})")

    def _close(self) -> None:
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
            self._container = None
            if self.audio_from is not None:
                self._add_audio()
        except av.FFmpegError as exc:
            raise self._error(exc) from None
        publish(self._tmp, self.path)

    def _add_audio(self) -> None:
        muxed = temp_beside(self.path, self.path.suffix)
        try:
            mux_with_audio(self._tmp, self.audio_from, self._audio_codec, self.audio_start,
                           Fraction(self.frames_written) / self.fps, muxed, self.container_format, self.audio_copy,
                           self.audio_encoder, self.muxer_options, self.path)
            os.replace(muxed, self._tmp)
        finally:
            remove_quietly(muxed)

    def _abort(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except (av.FFmpegError, OSError):
                pass
            self._container = None
        remove_quietly(self._tmp)


_MP4_AUDIO = frozenset({"aac", "mp3", "alac", "ac3", "eac3"})


# x264's AVX-512 code reads memory it did not write: on an AVX-512 CPU the same frames encoded twice in one
# process came out different at many sizes (96x72, 192x144, 200x150, 720x404; decoded pixels up to 59 grey
# levels apart), at any thread count, and the same with AVX2 as the limit (or no assembly at all). So there x264
# is held to AVX2, which every AVX-512 CPU has: "AVX2" names x264's whole set up to it (SSE to AVX, FMA3, BMI1/2,
# LZCNT). Elsewhere x264 picks its own.
X264_WITHOUT_AVX512 = "asm=avx2"


class Mp4Sink(VideoSink):
    """MP4 with H.264 (libx264, default) or HEVC (libx265, tagged hvc1 for Apple players), yuv420p, BT.709.

    Odd widths/heights are made even by repeating the last column/row (one pixel more than given).
    The source's audio is copied when MP4 takes its codec (AAC, MP3, ALAC, AC-3, E-AC-3), else
    re-encoded to AAC; the moov atom goes first (+faststart).
    """

    kind = "mp4"
    container_format = "mp4"
    audio_copy = _MP4_AUDIO
    audio_encoder = "aac"
    muxer_options = {"movflags": "+faststart"}

    def __init__(self, path: PathLike, fps: Fraction, **kwargs) -> None:
        super().__init__(path, fps, **kwargs)
        self.hevc = kwargs.get("codec") == "hevc"
        self.encoder = "libx265" if self.hevc else "libx264"
        self.codec_tag = "hvc1" if self.hevc else None

    def check_size(self, width: int, height: int) -> None:
        # Measured with PyAV 18.1's libx265: frames narrower than 64 px (one coding tree unit) corrupt the
        # heap ("corrupted size vs. prev_size") a few files later; 64 px and wider encode cleanly.
        if self.hevc and width < 64:
            raise DreamError(f"{self.path}: HEVC needs frames at least 64 px wide, these are {width} px; "
                             "use --codec h264")

    def encoder_options(self) -> dict:
        options = {"crf": str(self.quality), "preset": "medium"}
        if self.hevc:
            options["x265-params"] = "log-level=error"
        elif "avx512f" in cpu_flags():
            options["x264-params"] = X264_WITHOUT_AVX512
        return options


class WebmSink(VideoSink):
    """WebM with VP9 (libvpx-vp9) at constant quality (`quality` is its CRF); audio copied if Opus or
    Vorbis, else re-encoded to Opus."""

    kind = "webm"
    container_format = "webm"
    encoder = "libvpx-vp9"
    audio_copy = frozenset({"opus", "vorbis"})
    audio_encoder = "libopus"

    def encoder_options(self) -> dict:
        return {"crf": str(self.quality), "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"}


class MovSink(VideoSink):
    """QuickTime MOV with Apple ProRes 422 (prores_ks, 10-bit 4:2:2) for editing software; audio copied
    when MOV takes it (AAC, MP3, ALAC, AC-3, PCM), else AAC."""

    kind = "mov"
    container_format = "mov"
    encoder = "prores_ks"
    pixel_format = "yuv422p10le"
    codec_tag = "apcn"
    audio_copy = _MP4_AUDIO | {"pcm_s16le", "pcm_s24le"}
    audio_encoder = "aac"

    def encoder_options(self) -> dict:
        return {"profile": "2"}  # 2: ProRes 422 (standard)


class GifSink(VideoSink):
    """Animated GIF with one palette made from all frames (palettegen + paletteuse in one filter graph).

    128 colours and the lightest ordered (Bayer) dither: against 256 colours with bayer_scale=3, a
    120-frame 512x512 dream zoom takes 19% less (24.2 MB, not 29.9) and a panned photo 24% less, at the
    same mean error on the photo (2.6 grey levels) and 0.8 more on the dream, whose dense texture hides
    the coarser palette (scripts/benchmark_zoom.py). Error diffusion (sierra2_4a) is larger still and
    crawls from frame to frame; an ordered dither stays put. No dither at all saves almost nothing more
    and bands smooth gradients.

    Frame delays are whole centiseconds: each frame's timestamp is rounded, so at 30 fps the delays
    run 3, 3, 4 cs and the average rate is kept. Above 50 fps most viewers slow down. The filter graph
    keeps every frame in memory until the palette is known: fine for GIF-sized clips.
    """

    kind = "gif"
    container_format = "gif"
    encoder = "gif"
    pixel_format = "pal8"
    even_size = False
    palettegen = "max_colors=128:stats_mode=full"
    paletteuse = "dither=bayer:bayer_scale=5:diff_mode=rectangle"

    def __init__(self, path: PathLike, fps: Fraction, **kwargs) -> None:
        super().__init__(path, fps, **kwargs)
        self.muxer_options = {"loop": "0" if self.loop else "-1"}
        self._graph = None
        if fps > _GIF_FASTEST_FPS:
            logger.warning("%s: %.3g fps is faster than GIF viewers play (50 fps at most); "
                           "most will show it slower", self.path, float(fps))

    def _start(self, width: int, height: int) -> None:
        super()._start(width, height)
        graph = av.filter.Graph()
        source = graph.add_buffer(width=width, height=height, format="rgb24", time_base=1 / self.fps)
        split = graph.add("split")
        palette = graph.add("palettegen", self.palettegen)
        use = graph.add("paletteuse", self.paletteuse)
        sink = graph.add("buffersink")
        source.link_to(split)
        split.link_to(use, 0, 0)
        split.link_to(palette, 1, 0)
        palette.link_to(use, 0, 1)
        use.link_to(sink)
        graph.configure()
        self._graph = graph

    def prepare(self, frame: np.ndarray) -> "av.VideoFrame":
        return av.VideoFrame.from_ndarray(frame, format="rgb24")

    def _encode(self, picture: "av.VideoFrame") -> None:
        picture.time_base = 1 / self.fps
        self._graph.push(picture)  # encoded at the end, once the palette is made from every frame

    def _close(self) -> None:
        try:
            self._graph.push(None)
            while True:
                try:
                    picture = self._graph.pull()
                except (av.error.EOFError, av.error.BlockingIOError):
                    break
                for packet in self._stream.encode(picture):
                    self._container.mux(packet)
        except av.FFmpegError as exc:
            raise self._error(exc) from None
        super()._close()


class WebpSink(VideoSink):
    """Animated WebP (libwebp_anim), lossy at quality 60, looping like a GIF; plays in browsers and chats.

    A dense dream zoom takes a fraction of the GIF's bytes at a higher fidelity (scripts/benchmark_media.py).
    """

    kind = "webp"
    container_format = "webp"
    encoder = "libwebp_anim"
    pixel_format = "yuv420p"
    even_size = False

    def __init__(self, path: PathLike, fps: Fraction, **kwargs) -> None:
        super().__init__(path, fps, **kwargs)
        self.muxer_options = {"loop": "0" if self.loop else "1"}

    # libwebp's lossy quality, 0-100. On a 48-frame 256x256 dream zoom (scripts/benchmark_media.py) quality 60
    # took 0.22 of the GIF's bytes at a mean SSIM of 0.892 to the rendered frames (the GIF: 0.841); 75 took 0.27.
    quality_percent = 60

    def encoder_options(self) -> dict:
        return {"quality": str(self.quality_percent), "lossless": "0", "compression_level": "4"}

    def prepare(self, frame: np.ndarray) -> "av.VideoFrame":
        return av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="yuv420p", dst_colorspace="ITU601",
                                                                          interpolation=_RGB_TO_YUV)


VIDEO_SINKS = {"mp4": Mp4Sink, "gif": GifSink, "webp": WebpSink, "webm": WebmSink, "mov": MovSink}
