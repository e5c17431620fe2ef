"""Still images in and out: uint8 (H, W, 3) RGB arrays, through OpenCV (BGR never leaves this module).

Pillow reads only the header first, so a file that claims an absurd size is refused before any pixel is
decoded (a decompression bomb), whatever its format.
"""

from __future__ import annotations

import logging
import os
import struct
import warnings
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from .. import limits
from ..errors import DreamError
from .files import PathLike, check_rgb_frame, existing_file, io_error, write_bytes_atomically
from .rates import fit_size

logger = logging.getLogger("dreamvideo.media")

#: Extensions read and written as single still images.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: Largest picture read, in pixels: :data:`dreamvideo.limits.MAX_PIXELS` (OpenCV's decoders hold it too).
from ..limits import MAX_PIXELS  # noqa: E402


def check_pixel_count(width: int, height: int, where: PathLike) -> None:
    """DreamError if a picture of width x height is larger than MAX_PIXELS (or has no pixels)."""
    if width < 1 or height < 1:
        raise DreamError(f"{where}: the picture size {width}x{height} has no pixels; the file is damaged")
    if width * height > MAX_PIXELS:
        raise DreamError(f"{where}: the picture claims {width}x{height} pixels, more than the {MAX_PIXELS:,} "
                         "allowed (a damaged file or a decompression bomb); scale it down first")


def resize_max_side(image: np.ndarray, max_side: Optional[int]) -> np.ndarray:
    """Downscale (never upscale) uint8 (H, W, 3) RGB so its longest side is at most `max_side` (area filter)."""
    width, height = fit_size(image.shape[1], image.shape[0], max_side)
    if (width, height) == (image.shape[1], image.shape[0]):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def animated_image_frames(path: PathLike) -> int:
    """How many frames an existing .png/.webp (APNG, animated WebP) or .gif holds per its header; 1 for a still.

    0 if Pillow cannot tell (not an image it knows, or damaged).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return int(getattr(image, "n_frames", 1))
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError,
            EOFError, struct.error):
        return 0


def is_video_path(path: PathLike) -> bool:
    """True unless the extension is a still image's (.png .jpg .jpeg .bmp .tif .tiff .webp).

    GIFs and anything unknown count as video, so the decoder gets to try them. An existing animated
    PNG (APNG) or animated WebP counts as a video too.
    """
    suffix = Path(path).suffix.lower()
    if suffix in (".png", ".webp") and os.path.isfile(path):
        return animated_image_frames(path) > 1
    return suffix not in IMAGE_EXTENSIONS


def _header_size(path: PathLike) -> Optional[tuple[int, int]]:
    """(width, height) from the file's header without decoding pixels; None if Pillow does not know it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return image.size
    except Image.DecompressionBombError:
        raise DreamError(f"{path}: the picture claims more than {MAX_PIXELS:,} pixels (a damaged file or a "
                         "decompression bomb); scale it down first") from None
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, EOFError, struct.error):
        return None


def _opencv_claims(path: Path) -> bool:
    """Whether one of OpenCV's decoders recognises the file by its signature (no pixels are decoded)."""
    try:
        return bool(cv2.haveImageReader(str(path)))
    except (cv2.error, UnicodeError):
        return True


def read_image(path: PathLike) -> np.ndarray:
    """Read a still image as uint8 (H, W, 3) RGB, values 0-255.

    Grayscale is replicated to three channels; an alpha channel is composited over white (so
    transparent areas become white, not black); 16-bit images are scaled to 8 bits (value / 257,
    rounded); float images are taken as 0-1; CMYK JPEGs are converted to RGB. JPEG EXIF orientation is
    applied. Of an animated PNG or WebP, the first frame is read. Raises DreamError for a missing,
    empty, unreadable or damaged file, or one larger than MAX_PIXELS.
    """
    p = existing_file(path)
    size = _header_size(p)
    if size is not None:
        check_pixel_count(*size, path)
    elif not limits.OPENCV_HOLDS_PIXEL_LIMIT and _opencv_claims(p):
        raise DreamError(f"{path}: its picture size cannot be read before decoding, and OpenCV was loaded before "
                         f"dreamvideo, so its decoders do not hold the {MAX_PIXELS:,}-pixel limit: import dreamvideo "
                         "before cv2, or convert the picture to PNG")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise io_error(path, exc, "reading") from None
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        if "pixels" in str(exc) or "validateInputImageSize" in str(exc):
            raise DreamError(f"{path}: the picture claims more than {MAX_PIXELS:,} pixels (a damaged file or a "
                             "decompression bomb); scale it down first") from None
        image = None
    if image is None:
        raise DreamError(f"{path}: not an image OpenCV can read, or damaged; give a "
                         f"{', '.join(IMAGE_EXTENSIONS)} file")
    has_alpha = image.ndim == 3 and image.shape[2] == 4
    if not has_alpha and b"Exif\x00\x00" in data[:65536]:
        # IMREAD_UNCHANGED ignores EXIF orientation; this flag set honours it and keeps the bit depth.
        try:
            oriented = cv2.imdecode(buffer, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
        except cv2.error:
            oriented = None
        if oriented is not None:
            image = oriented
    return to_rgb(image, path, bgr=True)


def to_rgb(image: np.ndarray, where: PathLike, bgr: bool = False) -> np.ndarray:
    """Any decoded picture, (H, W) or (H, W, 1-4) of any depth, as uint8 (H, W, 3) RGB over white.

    `bgr`: the colour channels come in OpenCV's order (B, G, R[, A]).
    """
    image = full_range_to_uint8(image)
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels == 1:
        rgb = np.repeat(image, 3, axis=2)
    elif channels == 2:  # gray + alpha
        rgb = over_white(np.repeat(image[:, :, :1], 3, axis=2), image[:, :, 1:2])
    elif channels in (3, 4):
        colour = image[:, :, 2::-1] if bgr else image[:, :, :3]
        rgb = over_white(colour, image[:, :, 3:4]) if channels == 4 else colour
    else:
        raise DreamError(f"{where}: image has {channels} channels; save it as RGB or grayscale")
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def full_range_to_uint8(image: np.ndarray) -> np.ndarray:
    """Any decoded depth, its dtype's full range (float: 0-1) -> uint8 0-255.

    16-bit: value / 257 rounded; float: 0-1 scaled by 255, rounded and clipped; other integers: their
    dtype's range scaled onto 0-255. uint8 is returned as it is.
    """
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return cv2.convertScaleAbs(image, alpha=1 / 257) if image.ndim == 2 or image.shape[2] <= 4 else \
            ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        return np.clip(np.rint(np.nan_to_num(image) * 255.0), 0, 255).astype(np.uint8)
    if image.dtype == np.int8:
        return (image.astype(np.int16) + 128).astype(np.uint8)
    info = np.iinfo(image.dtype)
    scaled = (image.astype(np.float64) - info.min) / (info.max - info.min) * 255.0
    return np.rint(scaled).astype(np.uint8)


def over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) with uint8 alpha (H, W, 1), 255 opaque, composited over white."""
    a = alpha.astype(np.float32) / 255.0
    out = rgb.astype(np.float32) * a + 255.0 * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _encode_image(path: PathLike, image: np.ndarray) -> bytes:
    ext = Path(path).suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise DreamError(f"{path}: cannot save a still as '{ext or 'no extension'}'; "
                         f"use one of {', '.join(IMAGE_EXTENSIONS)}")
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


def write_image(path: PathLike, image: np.ndarray) -> None:
    """Save uint8 (H, W, 3) RGB `image` to `path`, format from the extension.

    Supported: .png .jpg .jpeg .bmp .tif .tiff .webp (JPEG and WebP at quality 95). The file is
    written under a temporary name in the same folder and renamed into place, so `path` never
    holds a half-written image. DreamError for a bad array, extension, missing folder or a full disk.
    """
    check_rgb_frame(image, path)
    p = Path(path)
    data = _encode_image(p, np.ascontiguousarray(image))
    if not p.parent.is_dir():
        raise DreamError(f"{path}: folder {p.parent} does not exist; create it first")
    write_bytes_atomically(p, data)
