"""Media in and out: stills, video probing and decoding, and sinks for MP4, GIF and PNG folders.

Every public image is a ``numpy.ndarray`` of dtype uint8, shape (H, W, 3), RGB, values 0-255.
Video goes through the ffmpeg binary that ships inside imageio-ffmpeg (never a system ffmpeg);
stills go through OpenCV, whose BGR order never leaves this module.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import logging
import os
import re
import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional, Union

import cv2
import imageio_ffmpeg
import numpy as np

from .errors import DreamError

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]
Rate = Union[Fraction, float, int, str]

#: Extensions read and written as single still images.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: What an output path can be: a still image, an MP4, a GIF, or a folder of numbered PNGs.
OUTPUT_KINDS = ("image", "mp4", "gif", "frames")
#: Default H.264 constant rate factor for MP4 output (0 = lossless, 51 = worst; 18 looks lossless).
DEFAULT_CRF = 18

# Audio codecs the MP4 muxer takes as they are; anything else is re-encoded to AAC.
_MP4_AUDIO_COPY = frozenset({"aac", "mp3", "alac", "ac3", "eac3"})
_PER_FRAME_DELAY_CODECS = frozenset({"gif", "apng", "webp"})
_GIF_FASTEST_FPS = 50  # GIF delays under 2 cs are slowed down to 10 cs by most viewers
_SUPPORTED_OUTPUTS = ".mp4, .gif, " + ", ".join(IMAGE_EXTENSIONS) + " or a folder path ending in '/'"


# ---------------------------------------------------------------------------------------------
# small helpers


def _ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


_FFMPEG_BOILERPLATE = re.compile(r"^(Conversion failed!|Exiting with exit code)")


def _last_line(text: str) -> str:
    """ffmpeg's most telling line: the last one that is not boilerplate, without [tag @ 0x...]."""
    lines = [re.sub(r"^(\[[^\]]*\]\s*)+", "", line.strip()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    telling = [line for line in lines if not _FFMPEG_BOILERPLATE.match(line)]
    return (telling or lines or ["no message"])[-1]


def _existing_file(path: PathLike) -> Path:
    """The path of an input file that exists and is not empty, else DreamError."""
    p = Path(path)
    if not p.exists():
        raise DreamError(f"{path}: file not found; check the path")
    if p.is_dir():
        raise DreamError(f"{path}: is a folder, not a file; give an image or video file")
    if p.stat().st_size == 0:
        raise DreamError(f"{path}: file is empty (0 bytes); re-export or copy it again")
    return p


def _check_rgb_frame(frame: object, where: PathLike) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise DreamError(f"{where}: frames must be uint8 (H, W, 3) RGB arrays, got {dtype} {shape}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise DreamError(f"{where}: frame has no pixels (shape {frame.shape})")
    return frame


def _as_rate(value: Rate, what: str) -> Fraction:
    """A positive frame rate as an exact Fraction (decimals such as 29.97 snap to 30000/1001)."""
    try:
        if isinstance(value, float) or (isinstance(value, str) and "." in value and "/" not in value):
            # decimals are approximations: 29.97 means 30000/1001, 23.976 means 24000/1001
            rate = _tidy_rate(Fraction(value).limit_denominator(1001), tolerance=Fraction(1, 10**4))
        else:
            rate = Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise DreamError(f"{what}: frame rate {value!r} is not a number; give e.g. 24 or 30000/1001") from None
    if rate <= 0:
        raise DreamError(f"{what}: frame rate must be positive, got {value!r}")
    return rate


def _tidy_rate(rate: Fraction, tolerance: Fraction = Fraction(1, 100000)) -> Fraction:
    """Snap a rate within `tolerance` (relative) of a whole or NTSC (N*1000/1001) rate onto it.

    AVI stores microseconds per frame, so 15 fps arrives as 1000000/66667; this turns it back into 15.
    45000/1499 (30.02 fps) is 7e-4 away from 30 and stays as it is.
    """
    for candidate in (Fraction(round(rate)), Fraction(round(rate * Fraction(1001, 1000)) * 1000, 1001)):
        if candidate > 0 and abs(rate - candidate) <= candidate * tolerance:
            return candidate
    return rate


def _round_half_up(x: Fraction) -> int:
    """Round to nearest, halves away from zero (ffmpeg's AV_ROUND_NEAR_INF)."""
    n = int((abs(x) * 2 + 1) // 2)
    return n if x >= 0 else -n


def fit_size(width: int, height: int, max_side: Optional[int]) -> tuple[int, int]:
    """(width, height) in pixels scaled down so the longest side is at most `max_side`, never up.

    Aspect ratio is kept up to rounding; each side stays at least 1. `max_side=None` keeps the size.
    """
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _render_rate(rate: Fraction) -> str:
    return f"{rate.numerator}/{rate.denominator}"


# ---------------------------------------------------------------------------------------------
# stills


def resize_max_side(image: np.ndarray, max_side: Optional[int]) -> np.ndarray:
    """Downscale (never upscale) uint8 (H, W, 3) RGB so its longest side is at most `max_side` (area filter)."""
    width, height = fit_size(image.shape[1], image.shape[0], max_side)
    if (width, height) == (image.shape[1], image.shape[0]):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def is_video_path(path: PathLike) -> bool:
    """True unless the extension is a still image's (.png .jpg .jpeg .bmp .tif .tiff .webp).

    GIFs and anything unknown count as video, so ffmpeg gets to try them.
    """
    return Path(path).suffix.lower() not in IMAGE_EXTENSIONS


def _exif_orientation_present(data: bytes) -> bool:
    return b"Exif\x00\x00" in data[:65536]


def read_image(path: PathLike) -> np.ndarray:
    """Read a still image as uint8 (H, W, 3) RGB, values 0-255.

    Grayscale is replicated to three channels; an alpha channel is composited over white (so
    transparent areas become white, not black); 16-bit images are scaled to 8 bits (value / 257,
    rounded); float images are taken as 0-1. JPEG EXIF orientation is applied.
    Raises DreamError for a missing, empty or unreadable file.
    """
    p = _existing_file(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DreamError(f"{path}: cannot read the file ({exc.strerror}); check its permissions") from None
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DreamError(f"{path}: not an image OpenCV can read; give a {', '.join(IMAGE_EXTENSIONS)} file")
    has_alpha = image.ndim == 3 and image.shape[2] == 4
    if not has_alpha and _exif_orientation_present(data):
        # IMREAD_UNCHANGED ignores EXIF orientation; this flag set honours it and keeps the bit depth.
        oriented = cv2.imdecode(buffer, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
        if oriented is not None:
            image = oriented

    image = _to_unit_range_float_or_uint8(image)
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels == 1:
        rgb = np.repeat(image, 3, axis=2)
    elif channels == 2:  # gray + alpha
        gray, alpha = image[:, :, :1], image[:, :, 1:2]
        rgb = _over_white(np.repeat(gray, 3, axis=2), alpha)
    elif channels == 3:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif channels == 4:
        rgb = _over_white(cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2RGB), image[:, :, 3:4])
    else:
        raise DreamError(f"{path}: image has {channels} channels; save it as RGB or grayscale")
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def _to_unit_range_float_or_uint8(image: np.ndarray) -> np.ndarray:
    """Any decoded depth -> uint8 0-255."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        return np.clip(np.rint(np.nan_to_num(image) * 255.0), 0, 255).astype(np.uint8)
    if image.dtype == np.int8:
        return (image.astype(np.int16) + 128).astype(np.uint8)
    info = np.iinfo(image.dtype)
    scaled = (image.astype(np.float64) - info.min) / (info.max - info.min) * 255.0
    return np.rint(scaled).astype(np.uint8)


def _over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float32) / 255.0
    out = rgb.astype(np.float32) * a + 255.0 * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _encode_image(path: PathLike, image: np.ndarray) -> bytes:
    ext = Path(path).suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise DreamError(f"{path}: cannot save a still as '{ext or 'no extension'}'; use one of {', '.join(IMAGE_EXTENSIONS)}")
    params: list[int] = []
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, 95]
    elif ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 95]
    elif ext == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    codec_ext = {".jpeg": ".jpg", ".tif": ".tiff"}.get(ext, ext)
    ok, encoded = cv2.imencode(codec_ext, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise DreamError(f"{path}: OpenCV could not encode a '{ext}' image; try .png")
    return encoded.tobytes()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(temp: PathLike, path: PathLike) -> None:
    """Move a finished temporary file or folder into place, with the permissions a new one would get.

    mkstemp/mkdtemp create private (0600/0700) entries; the output should be readable like any other.
    """
    mode = 0o777 if os.path.isdir(temp) else 0o666
    os.chmod(temp, mode & ~_umask())
    os.replace(temp, path)


def write_bytes_atomically(path: PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary name beside ``path``, then move it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        _publish(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise


def write_image(path: PathLike, image: np.ndarray) -> None:
    """Save uint8 (H, W, 3) RGB `image` to `path`, format from the extension.

    Supported: .png .jpg .jpeg .bmp .tif .tiff .webp (JPEG and WebP at quality 95). The file is
    written under a temporary name in the same folder and renamed into place, so `path` never
    holds a half-written image. DreamError for a bad array, extension or missing folder.
    """
    _check_rgb_frame(image, path)
    p = Path(path)
    data = _encode_image(p, np.ascontiguousarray(image))
    if not p.parent.is_dir():
        raise DreamError(f"{path}: folder {p.parent} does not exist; create it first")
    write_bytes_atomically(p, data)


# ---------------------------------------------------------------------------------------------
# output paths


def _looks_like_folder(path: PathLike) -> bool:
    text = os.fspath(path)
    return text.endswith("/") or text.endswith(os.sep) or os.path.isdir(text)


def output_kind(path: PathLike) -> str:
    """What `path` asks for, one of OUTPUT_KINDS.

    "frames" for a path ending in '/' (or os.sep) or an existing folder; "mp4" and "gif" by
    extension; "image" for .png .jpg .jpeg .bmp .tif .tiff .webp. DreamError otherwise.
    """
    if _looks_like_folder(path):
        return "frames"
    ext = Path(path).suffix.lower()
    if ext == ".mp4":
        return "mp4"
    if ext == ".gif":
        return "gif"
    if ext in IMAGE_EXTENSIONS:
        return "image"
    raise DreamError(f"{path}: unsupported output type '{ext or 'no extension'}'; use {_SUPPORTED_OUTPUTS}")


def check_output(output: PathLike, input: Optional[PathLike] = None) -> str:  # noqa: A002 - API name
    """Check an output path before any expensive work; return its kind (see output_kind).

    DreamError if the extension is unsupported, if the folder it goes in does not exist (for
    "frames", the folder's parent), or if it is the same file as `input`.
    """
    kind = output_kind(output)
    out = Path(os.fspath(output).rstrip("/" + os.sep) or os.fspath(output))
    parent = out.resolve().parent
    if not parent.is_dir():
        raise DreamError(f"{output}: folder {parent} does not exist; create it first")
    if kind == "frames" and out.exists() and not out.is_dir():
        raise DreamError(f"{output}: is a file, not a folder; give a folder path for numbered PNGs")
    if not os.access(parent, os.W_OK):
        raise DreamError(f"{output}: cannot write into folder {parent}; check its permissions")
    if input is not None:
        same = out.resolve() == Path(input).resolve()
        if not same and out.exists() and Path(input).exists():
            same = os.path.samefile(out, input)
        if same:
            raise DreamError(f"{output}: is the input file itself; choose another output name")
    return kind


# ---------------------------------------------------------------------------------------------
# probing


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What probe_video found out about the first video stream of a file.

    fps: frames per second that read_frames(fps=None) delivers, an exact Fraction.
    width, height: pixels per frame as displayed (after the rotation is applied).
    rotation: degrees (0, 90, 180, 270) the player turns stored frames counter-clockwise
        (ffmpeg's display-matrix convention); read_frames already applies it.
    duration: seconds of video (from packet timestamps, else the container header), or None.
    frame_count: frames read_frames(fps=None) yields (see count_frames), or an estimate, or None.
    has_audio, audio_codec: whether there is an audio stream and its ffmpeg codec name.
    video_codec: ffmpeg's name for the video codec.
    """

    fps: Fraction
    width: int
    height: int
    rotation: int
    duration: Optional[float]
    frame_count: Optional[int]
    has_audio: bool
    audio_codec: Optional[str]
    video_codec: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class _Header:
    has_video: bool
    video_codec: Optional[str]
    coded_size: Optional[tuple[int, int]]  # as decoded, before rotation
    rotation: int
    rate: Optional[Fraction]  # ffmpeg's guess for the stream (r_frame_rate family)
    duration: Optional[float]  # container header
    audio_codec: Optional[str]


@dataclasses.dataclass(frozen=True)
class _Timeline:
    """Decodable frames and their time span in seconds, from a packet scan (no decoding)."""

    frames: int
    start: Fraction
    end: Fraction

    def count_at(self, rate: Fraction) -> int:
        # ffmpeg's fps filter emits one frame per output tick from round(start*rate) up to
        # round(end*rate), rounding to nearest; the count follows from the two ends alone.
        return max(0, _round_half_up(self.end * rate) - _round_half_up(self.start * rate))


_STREAM_LINE = re.compile(r"^\s*Stream #\d+:\d+\S*: (Video|Audio|Subtitle|Data|Attachment): (.*)$")
_GRAPH_LINE = re.compile(r"input from stream \d+:\d+ @ [^\]]*\] w:(\d+) h:(\d+) pixfmt:\S+ tb:(\d+)/(\d+) fr:(\d+)/(\d+)")
_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)
_ROTATE_TAG = re.compile(r"^\s*rotate\s*:\s*(-?\d+)")
_SIZE = re.compile(r"(?<![\w.])([1-9]\d*)x([1-9]\d*)(?![\w.])")
_RATE_WORD = re.compile(r"(\d+(?:\.\d+)?)(k?) (fps|tbr)")


def _cache_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _read_header(key: tuple[str, int, int]) -> _Header:
    """Parse `ffmpeg -i` (verbose, decoding one frame) for stream facts."""
    path = key[0]
    cmd = [_ffmpeg(), "-hide_banner", "-nostdin", "-v", "verbose", "-i", path,
           "-map", "0:V:0?", "-frames:v", "1", "-f", "null", "-"]
    run = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    text = run.stderr.decode("utf-8", "replace")
    if "Input #0" not in text:
        raise DreamError(f"{path}: not a video ffmpeg can read, or damaged ({_last_line(text)})")

    input_part = text.split("Input #0", 1)[1].split("Stream mapping:", 1)[0].split("Output #0", 1)[0]
    lines = input_part.splitlines()
    duration = None
    for line in lines:
        m = _DURATION.match(line)
        if m:
            duration = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
            break
    video_codec = audio_codec = None
    has_video = False
    coded_size = None
    rotation = 0
    header_rate = None
    i = 0
    while i < len(lines):
        m = _STREAM_LINE.match(lines[i])
        if m is None:
            i += 1
            continue
        kind, rest = m[1], m[2]
        block = []
        j = i + 1
        while j < len(lines) and not _STREAM_LINE.match(lines[j]):
            block.append(lines[j])
            j += 1
        if kind == "Video" and not has_video and "attached pic" not in rest:
            has_video = True
            video_codec = rest.split(",")[0].split()[0]
            size = _SIZE.search(rest)
            coded_size = (int(size[1]), int(size[2])) if size else None
            rotation = _parse_rotation(block)
            header_rate = _parse_header_rate(rest)
        elif kind == "Audio" and audio_codec is None:
            audio_codec = rest.split(",")[0].split()[0]
        i = j

    rate = header_rate
    graph = _GRAPH_LINE.search(text)
    if graph:
        coded_size = (int(graph[1]), int(graph[2]))
        if int(graph[5]) > 0 and int(graph[6]) > 0:
            rate = Fraction(int(graph[5]), int(graph[6]))
    return _Header(has_video, video_codec, coded_size, rotation, rate, duration, audio_codec)


def _parse_rotation(block: list[str]) -> int:
    for line in block:
        m = _ROTATION.search(line)
        if m:
            return round(float(m[1])) % 360
    for line in block:
        m = _ROTATE_TAG.match(line)
        if m:  # the old 'rotate' tag turns clockwise
            return (-int(m[1])) % 360
    return 0


def _parse_header_rate(stream_text: str) -> Optional[Fraction]:
    found = {word: (float(num) * (1000 if k else 1)) for num, k, word in _RATE_WORD.findall(stream_text)}
    value = found.get("fps") or found.get("tbr")
    if not value:
        return None
    return _tidy_rate(Fraction(value).limit_denominator(1001), tolerance=Fraction(1, 1000))


@functools.lru_cache(maxsize=64)
def _scan_packets(key: tuple[str, int, int]) -> Optional[_Timeline]:
    """Walk the video packets with `-c copy -f framecrc` (reads the file, decodes nothing).

    Empty packets (AVI's dropped frames) decode to nothing and are not counted. The last frame
    lasts its packet's duration, except that a duration of one tick after a longer gap is taken
    to be made up and the gap is used instead, as ffmpeg itself does when decoding.
    """
    cmd = [_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-i", key[0],
           "-map", "0:V:0", "-c", "copy", "-f", "framecrc", "-"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    time_base = None
    frames = 0
    first = None
    last = prev = None  # (pts, duration) of the latest two frames in presentation order
    nopts = -(2**63)
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode("ascii", "replace")
        if line.startswith("#tb 0:"):
            num, den = line.split(":", 1)[1].strip().split("/")
            time_base = Fraction(int(num), int(den))
            continue
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split(",")
        try:
            dts, pts, duration, size = (int(f) for f in fields[1:5])
        except ValueError:
            continue
        if size <= 0:
            continue
        if pts == nopts:
            pts = dts
        if pts == nopts:
            continue
        frames += 1
        first = pts if first is None else min(first, pts)
        if last is None or pts > last[0]:
            prev, last = last, (pts, duration)
        elif prev is None or pts > prev[0]:
            prev = (pts, duration)
    proc.wait()
    if time_base is None or frames == 0 or first is None or last is None:
        return None
    last_pts, last_duration = last
    gap = last_pts - prev[0] if prev is not None else 0
    if last_duration <= 0 or (last_duration == 1 and gap > 2):
        last_duration = gap if gap > 0 else 1
    return _Timeline(frames, first * time_base, (last_pts + last_duration) * time_base)


def _source_rate(header: _Header, timeline: Optional[_Timeline]) -> Optional[Fraction]:
    """The constant rate read_frames(fps=None) resamples to.

    ffmpeg's rate for the stream (its r_frame_rate, snapped when within 1e-5 of a whole or NTSC
    rate), as ffmpeg itself would resample a variable-rate input: an AVI with dropped frames keeps
    its 15 fps and repeats frames over the gaps, so the output has the source's rate and duration.
    Only an implausible stream rate (above 120 fps and over 4x the mean rate of the decodable
    frames, e.g. a container's time base) falls back to the mean rate. Animations with per-frame
    delays (GIF, APNG, animated WebP) always use the mean rate: ffmpeg's guess for them is their
    time base or a near miss.
    """
    nominal = _tidy_rate(header.rate) if header.rate else None
    if timeline is None or timeline.frames < 2 or timeline.end <= timeline.start:
        return nominal
    mean = Fraction(timeline.frames) / (timeline.end - timeline.start)
    delay_based = header.video_codec in _PER_FRAME_DELAY_CODECS
    if nominal is not None and not delay_based and (nominal <= 120 or nominal <= 4 * mean):
        return nominal
    tidy = _tidy_rate(mean)
    if tidy.denominator > 1001:
        short = tidy.limit_denominator(1001)
        if timeline.count_at(short) == timeline.frames:
            tidy = short
    return tidy


def _probe(path: PathLike) -> tuple[VideoInfo, Optional[_Timeline]]:
    p = _existing_file(path)
    key = _cache_key(p)
    header = _read_header(key)
    if not header.has_video:
        if header.audio_codec:
            raise DreamError(f"{path}: has audio but no video stream; give a video or an image")
        raise DreamError(f"{path}: has no video stream ffmpeg can decode; give a video or an image")
    if header.coded_size is None:
        raise DreamError(f"{path}: ffmpeg could not tell the frame size; the video may be damaged")
    timeline = _scan_packets(key)
    rate = _source_rate(header, timeline)
    if rate is None:
        raise DreamError(f"{path}: ffmpeg could not tell the frame rate; pass fps explicitly or re-encode it")
    width, height = header.coded_size
    if header.rotation in (90, 270):
        width, height = height, width
    if timeline is not None:
        duration: Optional[float] = float(timeline.end - timeline.start)
        frame_count: Optional[int] = timeline.count_at(rate)
    else:
        duration = header.duration
        frame_count = round(duration * rate) if duration else None
    info = VideoInfo(
        fps=rate, width=width, height=height, rotation=header.rotation, duration=duration,
        frame_count=frame_count, has_audio=header.audio_codec is not None,
        audio_codec=header.audio_codec, video_codec=header.video_codec,
    )
    return info, timeline


def probe_video(path: PathLike) -> VideoInfo:
    """Facts about the first video stream of `path` (a GIF counts as video); see VideoInfo.

    Runs ffmpeg twice: once decoding a single frame for stream facts, once walking the packets
    (no decoding) for the frame timeline. Results are cached per (path, size, mtime).
    DreamError for a missing, empty or unreadable file, or one with no video stream.
    """
    return _probe(path)[0]


def count_frames(path: PathLike, fps: Optional[Rate] = None) -> int:
    """How many frames read_frames(path, fps=fps) yields, without decoding.

    Computed from packet timestamps the way ffmpeg's fps filter counts: exact for the clips and
    rates tested (constant-rate video, AVI with dropped frames, GIF, WebM). If the packet walk
    fails it falls back to a full decode pass. For damaged files, read_frames may yield fewer.
    """
    info, timeline = _probe(path)
    rate = info.fps if fps is None else _as_rate(fps, os.fspath(path))
    if timeline is not None:
        return timeline.count_at(rate)
    return sum(1 for _ in read_frames(path, fps=rate, max_side=8))


# ---------------------------------------------------------------------------------------------
# decoding


def read_frames(
    path: PathLike,
    *,
    start_frame: int = 0,
    end_frame: Optional[int] = None,
    fps: Optional[Rate] = None,
    max_side: Optional[int] = None,
) -> Iterator[np.ndarray]:
    """Yield the frames of a video one at a time as uint8 (H, W, 3) RGB arrays (writable).

    Frames come from an ffmpeg subprocess through a pipe, so memory does not grow with length.
    Rotation metadata is applied. Output is always at a constant rate: `fps` (a Fraction, float,
    int or 'num/den' string) if given, else probe_video(path).fps; ffmpeg's fps filter drops or
    repeats frames to hold it, so variable-rate sources keep their timing. `max_side` scales
    down (area interpolation, never up) so the longest side is at most that many pixels.
    `start_frame`/`end_frame` (end exclusive) index frames at the output rate; the frames before
    `start_frame` are still decoded. A truncated or damaged file yields what decodes and logs
    one warning. The ffmpeg process is ended if the iterator is closed early. Transparency
    (e.g. in GIFs) is dropped, not composited.
    """
    info = probe_video(path)  # validates the file before the generator starts
    name = os.fspath(path)
    rate = info.fps if fps is None else _as_rate(fps, name)
    if max_side is not None and (not isinstance(max_side, (int, np.integer)) or max_side < 1):
        raise DreamError(f"{name}: max_side must be a positive whole number of pixels, got {max_side!r}")
    if start_frame < 0 or (end_frame is not None and end_frame < start_frame):
        raise DreamError(f"{name}: frame range {start_frame}..{end_frame} is invalid; need 0 <= start <= end")
    width, height = fit_size(info.width, info.height, max_side)
    return _frame_stream(os.path.abspath(name), name, rate, width, height, start_frame, end_frame)


def _frame_stream(abspath: str, name: str, rate: Fraction, width: int, height: int,
                  start_frame: int, end_frame: Optional[int]) -> Iterator[np.ndarray]:
    if end_frame is not None and end_frame == start_frame:
        return
    filters = [f"fps={_render_rate(rate)}"]
    if start_frame or end_frame is not None:
        trim = [f"start_frame={start_frame}"] + ([f"end_frame={end_frame}"] if end_frame is not None else [])
        filters.append("trim=" + ":".join(trim))
    filters.append(f"scale={width}:{height}:flags=area+accurate_rnd+full_chroma_int")
    filters.append("format=rgb24")
    cmd = [_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-i", abspath,
           "-map", "0:V:0", "-an", "-sn", "-dn", "-vf", ",".join(filters),
           "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    frame_bytes = width * height * 3
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
    assert proc.stdout is not None
    yielded = 0
    finished = False
    try:
        while True:
            buffer = bytearray(frame_bytes)
            view = memoryview(buffer)
            got = 0
            while got < frame_bytes:
                n = proc.stdout.readinto(view[got:])
                if not n:
                    break
                got += n
            if got < frame_bytes:
                break
            yielded += 1
            yield np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, 3)
        finished = True
    finally:
        if not finished:
            proc.kill()
        proc.stdout.close()
        returncode = proc.wait()
        errors.seek(0)
        message = errors.read().decode("utf-8", "replace")
        errors.close()
    if returncode != 0 or message.strip():
        logger.warning("%s: the video looks truncated or damaged; read %d frames (ffmpeg: %s)",
                       name, yielded, _last_line(message))


# ---------------------------------------------------------------------------------------------
# sinks


def _remove_quietly(path: PathLike) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:  # a leftover temp file is not worth failing for
        logger.debug("could not remove %s: %s", path, exc)


class Sink:
    """Takes uint8 (H, W, 3) RGB frames one at a time and saves them to an output path.

    write(frame) adds a frame (all frames the same size); close() finishes and moves the result
    into place, so the output appears only when complete; abort() drops everything written so
    far. As a context manager it closes on success and aborts on an exception.
    """

    kind = ""

    def __init__(self, path: PathLike, fps: Fraction) -> None:
        self.path = Path(path)
        self.fps = fps
        self.frames_written = 0
        self.size: Optional[tuple[int, int]] = None  # (width, height) of the frames given
        self._done = False

    def write(self, frame: np.ndarray) -> None:
        if self._done:
            raise DreamError(f"{self.path}: this output is already closed; open a new sink")
        _check_rgb_frame(frame, self.path)
        size = (frame.shape[1], frame.shape[0])
        if self.size is None:
            self.size = size
        elif size != self.size:
            raise DreamError(f"{self.path}: frame {self.frames_written + 1} is {size[0]}x{size[1]}, "
                             f"earlier frames were {self.size[0]}x{self.size[1]}; keep one size")
        self._write(frame)
        self.frames_written += 1

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self.frames_written == 0:
                raise DreamError(f"{self.path}: no frames were written, nothing to save")
            self._close()
        except BaseException:
            self._abort()
            raise

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._abort()

    def __enter__(self) -> "Sink":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        try:
            if not self._done:
                self.abort()
        except Exception:
            pass

    # subclasses fill these in
    def _write(self, frame: np.ndarray) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _abort(self) -> None:
        raise NotImplementedError


class _FfmpegSink(Sink):
    """Streams frames to ffmpeg's stdin; ffmpeg writes a temporary file next to the output."""

    def __init__(self, path: PathLike, fps: Fraction) -> None:
        super().__init__(path, fps)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=f".partial{self.path.suffix}",
                                   dir=self.path.parent)
        os.close(fd)
        self._tmp = tmp
        self._errors = tempfile.TemporaryFile()
        self._proc: Optional[subprocess.Popen] = None

    def _output_args(self, width: int, height: int) -> list[str]:
        raise NotImplementedError

    def _input_size(self, frame: np.ndarray) -> tuple[int, int]:
        return frame.shape[1], frame.shape[0]

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def _start(self, frame: np.ndarray) -> None:
        width, height = self._input_size(frame)
        cmd = [_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-framerate", _render_rate(self.fps), "-i", "pipe:0"]
        cmd += self._output_args(width, height)
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._errors)

    def _ffmpeg_message(self) -> str:
        self._errors.seek(0)
        return _last_line(self._errors.read().decode("utf-8", "replace"))

    def _write(self, frame: np.ndarray) -> None:
        if self._proc is None:
            self._start(frame)
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(self._prepare(frame)).data)
        except (BrokenPipeError, OSError):
            self._proc.wait()
            message = self._ffmpeg_message()
            self.abort()
            raise DreamError(f"{self.path}: ffmpeg stopped while writing ({message})") from None

    def _finish_encoder(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        if self._proc.wait() != 0:
            raise DreamError(f"{self.path}: ffmpeg failed ({self._ffmpeg_message()})")

    def _close(self) -> None:
        self._finish_encoder()
        _publish(self._tmp, self.path)
        self._errors.close()

    def _abort(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._proc is not None and self._proc.stdin is not None:
            try:
                self._proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
        _remove_quietly(self._tmp)
        self._errors.close()


class Mp4Sink(_FfmpegSink):
    """H.264 (libx264) yuv420p MP4 at an exact rational rate, optionally with another file's audio.

    Odd widths/heights are made even by repeating the last column/row (one pixel more than given).
    Colours are converted with BT.709 and tagged so. Audio, when asked for, is muxed in a second
    quick pass once the length of the video is known.
    """

    kind = "mp4"

    def __init__(self, path: PathLike, fps: Fraction, crf: int, audio_from: Optional[PathLike],
                 audio_start: float) -> None:
        audio_codec = None
        if audio_from is not None:  # checked before any temp file exists
            header = _read_header(_cache_key(_existing_file(audio_from)))
            audio_codec = header.audio_codec
            if audio_codec is None:
                logger.info("%s has no audio; %s will be silent", audio_from, path)
            elif header.duration is not None and audio_start >= header.duration:
                logger.warning("%s: audio_start %.3f s is past the end of its audio (%.3f s); %s will be silent",
                               audio_from, audio_start, header.duration, path)
                audio_codec = None
        super().__init__(path, fps)
        self.crf = crf
        self.audio_from = audio_from
        self.audio_start = audio_start
        self.audio_codec: Optional[str] = audio_codec

    def _input_size(self, frame: np.ndarray) -> tuple[int, int]:
        return frame.shape[1] + frame.shape[1] % 2, frame.shape[0] + frame.shape[0] % 2

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        pad_rows, pad_cols = frame.shape[0] % 2, frame.shape[1] % 2
        if pad_rows or pad_cols:
            frame = np.pad(frame, ((0, pad_rows), (0, pad_cols), (0, 0)), mode="edge")
        return frame

    def _output_args(self, width: int, height: int) -> list[str]:
        args = ["-vf", "scale=out_color_matrix=bt709:out_range=tv:flags=accurate_rnd+full_chroma_int,format=yuv420p",
                "-c:v", "libx264", "-preset", "medium", "-crf", str(self.crf), "-pix_fmt", "yuv420p",
                "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]
        if self.audio_codec is None:
            args += ["-movflags", "+faststart"]
        return args + ["-f", "mp4", self._tmp]

    def _close(self) -> None:
        self._finish_encoder()
        if self.audio_codec is not None:
            self._mux_audio()
        _publish(self._tmp, self.path)
        self._errors.close()

    def _mux_audio(self) -> None:
        seconds = Fraction(self.frames_written) / self.fps
        duration = f"{float(seconds):.6f}"
        fd, muxed = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial.mp4", dir=self.path.parent)
        os.close(fd)
        attempts = ["copy", "aac"] if self.audio_codec in _MP4_AUDIO_COPY else ["aac"]
        try:
            for codec in attempts:
                cmd = [_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", self._tmp,
                       "-ss", f"{self.audio_start:.6f}", "-i", os.path.abspath(self.audio_from),
                       "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy"]
                cmd += ["-c:a", "copy"] if codec == "copy" else ["-c:a", "aac", "-b:a", "192k"]
                cmd += ["-t", duration, "-movflags", "+faststart", "-f", "mp4", muxed]
                run = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                if run.returncode == 0:
                    os.replace(muxed, self._tmp)
                    return
                message = _last_line(run.stderr.decode("utf-8", "replace"))
                logger.debug("muxing audio from %s with -c:a %s failed: %s", self.audio_from, codec, message)
            raise DreamError(f"{self.path}: could not add the audio of {self.audio_from} ({message})")
        finally:
            _remove_quietly(muxed)


class GifSink(_FfmpegSink):
    """Animated GIF with one palette made from all frames (palettegen + paletteuse in one graph).

    128 colours and the lightest ordered (Bayer) dither: against 256 colours with bayer_scale=3, a
    120-frame 512x512 dream zoom takes 19% less (24.2 MB, not 29.9) and a panned photo 24% less, at the
    same mean error on the photo (2.6 grey levels) and 0.8 more on the dream, whose dense texture hides
    the coarser palette (scripts/benchmark_zoom.py). Error diffusion (sierra2_4a) is larger still and
    crawls from frame to frame; an ordered dither stays put. No dither at all saves almost nothing more
    and bands smooth gradients.

    Frame delays are whole centiseconds: ffmpeg rounds each frame's timestamp, so at 30 fps the
    delays run 3, 3, 4 cs and the average rate is kept. Above 50 fps most viewers slow down.
    ffmpeg keeps every frame in memory until the palette is known: fine for GIF-sized clips.
    """

    kind = "gif"

    def __init__(self, path: PathLike, fps: Fraction, loop: bool) -> None:
        super().__init__(path, fps)
        self.loop = loop
        if fps > _GIF_FASTEST_FPS:
            logger.warning("%s: %.3g fps is faster than GIF viewers play (50 fps at most); "
                           "most will show it slower", self.path, float(fps))

    def _output_args(self, width: int, height: int) -> list[str]:
        graph = ("[0:v]split[a][b];[a]palettegen=max_colors=128:stats_mode=full[p];"
                 "[b][p]paletteuse=dither=bayer:bayer_scale=5:diff_mode=rectangle")
        return ["-filter_complex", graph, "-loop", "0" if self.loop else "-1", "-f", "gif", self._tmp]


class FramesSink(Sink):
    """Numbered PNGs frame_000001.png, frame_000002.png, ... in a folder.

    A new folder is filled under a temporary name next to it and renamed on close. Into an
    existing folder each PNG is written under a temporary name and renamed, so no PNG is ever
    half-written; abort removes the PNGs this sink wrote.
    """

    kind = "frames"

    def __init__(self, path: PathLike, fps: Fraction) -> None:
        folder = Path(os.fspath(path).rstrip("/" + os.sep) or os.fspath(path))
        super().__init__(folder, fps)
        self._existing = folder.is_dir()
        if self._existing:
            self._target = folder
            stale = sum(1 for _ in folder.glob("frame_*.png"))
            if stale:
                logger.warning("%s already holds %d frame_*.png files; new frames overwrite those with the same number",
                               folder, stale)
        else:
            self._target = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
        self._written: list[Path] = []

    @staticmethod
    def frame_name(index: int) -> str:
        """File name of frame `index` (1-based): frame_000001.png."""
        return f"frame_{index:06d}.png"

    def _write(self, frame: np.ndarray) -> None:
        target = self._target / self.frame_name(self.frames_written + 1)
        write_image(target, frame)
        self._written.append(target)

    def _close(self) -> None:
        if not self._existing:
            if self.path.exists():
                raise DreamError(f"{self.path}: appeared while rendering; move it away and render again")
            _publish(self._target, self.path)

    def _abort(self) -> None:
        if self._existing:
            for written in self._written:
                _remove_quietly(written)
        else:
            shutil.rmtree(self._target, ignore_errors=True)


class ImageSink(Sink):
    """A single still: keeps the last frame given and writes it on close."""

    kind = "image"

    def __init__(self, path: PathLike, fps: Fraction) -> None:
        super().__init__(path, fps)
        self._last: Optional[np.ndarray] = None

    def _write(self, frame: np.ndarray) -> None:
        self._last = frame.copy()

    def _close(self) -> None:
        assert self._last is not None
        write_image(self.path, self._last)

    def _abort(self) -> None:
        self._last = None


def _remove_stale_partials(path: PathLike) -> None:
    """Delete ``.NAME.*.partial*`` beside ``path``: the temporary output of a writer that was killed."""
    target = Path(os.fspath(path).rstrip("/\\"))
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.partial*"):
        logger.debug("removing %s, left by an interrupted writer", stale)
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            _remove_quietly(stale)


def open_sink(
    path: PathLike,
    *,
    fps: Rate,
    audio_from: Optional[PathLike] = None,
    audio_start: float = 0.0,
    quality: int = DEFAULT_CRF,
    loop: bool = True,
) -> Sink:
    """Open an output for frames; the kind comes from output_kind(path).

    fps: frames per second (Fraction, int, float or 'num/den'; kept exact for MP4).
    audio_from: MP4 only: a video or audio file whose first audio stream is added, starting at
        `audio_start` seconds into it and cut to the video's length; copied when MP4 takes the
        codec (aac, mp3, alac, ac3, eac3), else re-encoded to AAC. Ignored for other kinds.
    quality: MP4 only: the x264 CRF, 0 (lossless) to 51 (worst); default 18.
    loop: GIF only: loop forever (True) or play once.
    DreamError for a bad path, rate, quality or a missing audio file. Temporary files that an earlier
    writer of the same output left behind when it was killed are removed first.
    """
    kind = check_output(path)
    _remove_stale_partials(path)
    rate = _as_rate(fps, os.fspath(path))
    if kind == "mp4":
        if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 0 <= quality <= 51:
            raise DreamError(f"{path}: quality (x264 CRF) must be a whole number from 0 to 51, got {quality!r}")
        if audio_start < 0:
            raise DreamError(f"{path}: audio_start must be 0 or more seconds, got {audio_start!r}")
        return Mp4Sink(path, rate, int(quality), audio_from, float(audio_start))
    if audio_from is not None:
        logger.debug("%s: a %s output has no audio; ignoring audio_from=%s", path, kind, audio_from)
    if kind == "gif":
        return GifSink(path, rate, loop)
    if kind == "frames":
        return FramesSink(path, rate)
    return ImageSink(path, rate)
