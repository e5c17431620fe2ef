"""Every size bound of a render in one place, and the checks that hold them before any work starts.

A limit is far above what a real render uses and low enough that a hostile or mistyped value fails in
milliseconds with one line, instead of running for hours, filling the memory or overflowing a C integer.
Each check raises :class:`DreamError` naming the setting, the value (shortened) and the limit.

Plain Python and numpy only: the CLI, the API, render files and the studio check values here first.
"""

from __future__ import annotations

import math
import numbers
import os
from fractions import Fraction

from .errors import DreamError

# Gradient steps per octave (and carried steps): 10,000 steps of a 512 px VGG16 octave take about a day.
MAX_STEPS = 10_000
# Octaves of one dream: at the default scale of 1.4 the 32nd octave is 1/46,000 of the image.
MAX_OCTAVES = 32
# Size ratio between octaves (above 1): beyond 16 the smaller octaves are a few pixels.
MAX_OCTAVE_SCALE = 16.0
# Frames of a zoom, a GAN walk or morph, a video render (9 hours at 30 fps). Every schedule is checked at
# every frame before the first is dreamed, so this also bounds that check.
MAX_FRAMES = 1_000_000
# A channel number in a layer spec (block4_conv3/12): the largest layer of the built-in models has 2,048
# channels; a model file may have more, but not this many.
MAX_CHANNEL = 65_535
# Pixels of any picture decoded or made: a still, a video frame, a zoom canvas, a GAN frame scaled up
# (about 8000x8000; decoding it and its conversions stays well under 2 GiB).
MAX_PIXELS = 64_000_000
# Longest side of a picture in pixels, and of --size, --max-side, --tile-size.
MAX_SIDE = 16_384
# Render-farm workers on this machine, and frames per segment / warm-up / overlap.
MAX_WORKERS = 256
# GAN: latent vector length (the generator's first layer grows with it), and elements of any one weight
# array in a .gan file (the largest in a 128 px DCGAN with a 1,024-long latent is 16.8 M).
MAX_LATENT_DIM = 1024
# GAN: random latents a walk visits (10,000 latents of 1,024 floats: 80 MB).
MAX_KEYFRAMES = 10_000
MAX_WEIGHT_ELEMENTS = 64_000_000
# GAN: upscaling of the generator's pictures (--scale), epochs, batch size, inversion steps.
MAX_SCALE = 64
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 4096
# Frame rates: a frame every 10 seconds to 1,000 frames a second.
MIN_FPS = Fraction(1, 10)
MAX_FPS = Fraction(1000)
# --start/--end in seconds: 1,000 hours.
MAX_SECONDS = 3_600_000
# Zoom motion per frame: magnification (either way), degrees, pixels, and the centre in picture widths.
MAX_ZOOM = 16.0
MAX_ANGLE = 360.0
MAX_TRANSLATE = float(16_384)
MAX_CENTER = 100.0
# Seeds: what numpy's and TensorFlow's generators take whole (a 64-bit signed number, not negative).
MAX_SEED = 2**63 - 1
# Characters of one number written in a keyframe string, an expression or a frame index (a float has 17
# significant digits; an exponent and a sign fit in the rest).
MAX_NUMBER_CHARS = 40
# Characters of one keyframe string (a Python function saved frame by frame: about 25 per frame).
MAX_SCHEDULE_CHARS = 4_000_000
# Step size in 0-255 grey levels per step, and the weight of any term (layer, guide, style, tv): beyond,
# a float32 gradient overflows or one term is all there is.
MAX_STEP_SIZE = 255.0
MAX_WEIGHT = 1e6
# JSON: nesting depth of a render file or a .gan's metadata (a render file itself nests 5 deep), and the
# bytes of a render file read.
MAX_JSON_DEPTH = 32
MAX_RENDER_FILE_BYTES = 64 * 1024**2
# Bytes of a file name (not the whole path) given as an output: its work folder, render file and
# temporary names add up to 40 bytes to it, and most file systems allow 255.
MAX_NAME_BYTES = 255
DERIVED_NAME_BYTES = 40


# Whether OpenCV's decoders refuse pictures over MAX_PIXELS before allocating: they read the limit from the
# environment when OpenCV loads, so not if a program imported cv2 before dreamvideo (set by the next function).
OPENCV_HOLDS_PIXEL_LIMIT = False


def hold_pixel_limit_in_opencv() -> bool:
    """Set OPENCV_IO_MAX_IMAGE_PIXELS for OpenCV to read when it loads (``import dreamvideo`` calls this first);
    record in OPENCV_HOLDS_PIXEL_LIMIT whether it will hold (False when cv2 was loaded before with a larger
    limit: then a picture whose size Pillow cannot read from its header is refused, see media.images)."""
    import sys

    global OPENCV_HOLDS_PIXEL_LIMIT
    if "cv2" in sys.modules:
        try:
            OPENCV_HOLDS_PIXEL_LIMIT = 0 < int(os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", "")) <= MAX_PIXELS
        except ValueError:
            OPENCV_HOLDS_PIXEL_LIMIT = False
    else:
        os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"] = str(MAX_PIXELS)
        OPENCV_HOLDS_PIXEL_LIMIT = True
    return OPENCV_HOLDS_PIXEL_LIMIT


def shown(value) -> str:
    """A value for a one-line message: at most 40 characters."""
    text = repr(value) if not isinstance(value, numbers.Integral) or isinstance(value, bool) else str(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


def check_whole(name: str, value, maximum: int, minimum: int = 1, *, allow_none: bool = False) -> None:
    """DreamError unless ``value`` is a whole number (int or numpy integer, not bool) in [minimum, maximum]."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DreamError(f"{name} must be a whole number from {minimum:,} to {maximum:,}, got {shown(value)}")
    if value < minimum:
        raise DreamError(f"{name} must be at least {minimum:,}, got {shown(value)}")
    if value > maximum:
        raise DreamError(f"{name} {shown(value)} is above the limit of {maximum:,}")


def check_number(name: str, value, minimum: float | None = None, maximum: float | None = None, *,
                 above: bool = False) -> float:
    """``value`` as a float; DreamError unless it is a finite real number in range.

    ``above``: ``minimum`` itself is refused (the value must be greater).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DreamError(f"{name} must be a number, got {shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise DreamError(f"{name} must be a finite number, got {shown(value)}")
    if minimum is not None and (number <= minimum if above else number < minimum):
        raise DreamError(f"{name} must be {'above' if above else 'at least'} {minimum:g}, got {shown(value)}")
    if maximum is not None and number > maximum:
        raise DreamError(f"{name} {shown(value)} is above the limit of {maximum:g}")
    return number


def check_steps(value, name: str = "steps") -> None:
    check_whole(name, value, MAX_STEPS)


def check_octaves(value, name: str = "octaves") -> None:
    check_whole(name, value, MAX_OCTAVES)


def check_octave_scale(value) -> float:
    return check_number("octave scale", value, 1.0, MAX_OCTAVE_SCALE, above=True)


def check_step_size(value) -> float:
    return check_number("step size", value, 0.0, MAX_STEP_SIZE, above=True)


def check_weight(name: str, value) -> float:
    """A term's weight: finite, |weight| at most MAX_WEIGHT (negative weights are allowed: they suppress)."""
    number = check_number(name, value)
    if abs(number) > MAX_WEIGHT:
        raise DreamError(f"{name} {shown(value)} is beyond the limit of +-{MAX_WEIGHT:g}")
    return number


def check_frames(value, name: str = "frames") -> None:
    check_whole(name, value, MAX_FRAMES)


def check_seed(value) -> None:
    check_whole("seed", value, MAX_SEED, 0)


def check_channel(channel: int, where: str) -> None:
    """One channel number of a layer spec, before a range of them is expanded."""
    if channel > MAX_CHANNEL:
        raise DreamError(f"{where}: channel {shown(channel)} is above the limit of {MAX_CHANNEL:,}")


def check_channel_range(low: int, high: int, where: str) -> None:
    """A channel range low-high of a layer spec (both inclusive), before it is expanded."""
    check_channel(low, where)
    check_channel(high, where)


def check_channels_exist(channels, available: int, layer: str) -> None:
    """Every chosen channel is one the layer has (0 .. available - 1)."""
    missing = [c for c in channels if c >= available]
    if missing:
        raise DreamError(f"layer {layer} has {available} channels (0-{available - 1}); channel {missing[0]} "
                         "does not exist")


def check_pixels(width: int, height: int, where) -> None:
    """A picture of width x height: at least one pixel, at most MAX_PIXELS."""
    if width < 1 or height < 1:
        raise DreamError(f"{where}: the picture size {width}x{height} has no pixels; the file is damaged")
    if width * height > MAX_PIXELS:
        raise DreamError(f"{where}: the picture is {shown(width)}x{shown(height)} pixels, more than the "
                         f"{MAX_PIXELS:,} allowed (a damaged file or a decompression bomb); scale it down first")


def check_canvas(width: int, height: int, name: str = "size") -> None:
    """A picture the render makes (a zoom's --size, a GAN frame scaled up): each side and the pixel count."""
    for side in (width, height):
        check_whole(f"{name} ({shown(width)}x{shown(height)}) side", side, MAX_SIDE, 1)
    if width * height > MAX_PIXELS:
        raise DreamError(f"{name} {width}x{height} is {width * height:,} pixels, above the limit of "
                         f"{MAX_PIXELS:,}")


def check_side(name: str, value, *, allow_none: bool = False) -> None:
    """A length in pixels (--max-side, --tile-size): a whole number from 1 to MAX_SIDE."""
    check_whole(name, value, MAX_SIDE, allow_none=allow_none)


def check_workers(value) -> None:
    check_whole("workers", value, MAX_WORKERS, allow_none=True)


def check_latent_dim(value) -> None:
    check_whole("latent dim", value, MAX_LATENT_DIM)


def check_weight_shape(shape, where) -> None:
    """The shape of one stored weight array, before it is read (a .gan file can claim any shape)."""
    if any(not isinstance(n, numbers.Integral) or n < 0 for n in shape):
        raise DreamError(f"{where}: a weight has the impossible shape {shown(tuple(shape))}")
    elements = math.prod(int(n) for n in shape)
    if elements > MAX_WEIGHT_ELEMENTS:
        raise DreamError(f"{where}: a weight of shape {shown(tuple(shape))} has {elements:,} elements, above the "
                         f"limit of {MAX_WEIGHT_ELEMENTS:,}; the file is damaged or not a dreamvideo GAN")


def check_fps(fps: Fraction, value=None) -> Fraction:
    """A frame rate (an exact Fraction) between MIN_FPS and MAX_FPS; ``value``: what the user wrote."""
    written = shown(value if value is not None else fps)
    if not MIN_FPS <= fps <= MAX_FPS:
        raise DreamError(f"fps {written} is outside {float(MIN_FPS):g}-{float(MAX_FPS):g} frames a second")
    if fps.denominator > 1_000_000:
        raise DreamError(f"fps {written} is too finely divided: give e.g. 25, 29.97 or 30000/1001")
    return fps


def check_seconds(name: str, seconds: float, value) -> None:
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_SECONDS):
        raise DreamError(f"{name} {shown(value)} is outside 0 to {MAX_SECONDS:,} seconds")


def check_number_text(text: str, where: str) -> None:
    """A number as written (a keyframe's frame number, a literal, a frame index) before it is converted."""
    if len(text) > MAX_NUMBER_CHARS:
        raise DreamError(f"{where}: the number {shown(text)} is longer than {MAX_NUMBER_CHARS} characters")


def check_schedule_text(text: str, name: str) -> None:
    if len(text) > MAX_SCHEDULE_CHARS:
        raise DreamError(f"{name}: the schedule is {len(text):,} characters long, above the limit of "
                         f"{MAX_SCHEDULE_CHARS:,}")


def check_output_name(path) -> None:
    """An output's file name: valid UTF-8 (the encoders and the PNG writer need it) and short enough that
    its derived names (work folder, render file, temporary names) fit in MAX_NAME_BYTES."""
    raw = os.fsencode(path).rstrip(b"/" + os.sep.encode())
    try:
        os.fsdecode(raw).encode("utf-8")
    except UnicodeEncodeError:
        raise DreamError(f"{os.fsdecode(raw)!r}: the output name is not valid UTF-8; rename it or choose another") \
            from None
    name = os.path.basename(raw)
    if len(name) + DERIVED_NAME_BYTES > MAX_NAME_BYTES:
        raise DreamError(f"output name {shown(os.fsdecode(name))} is {len(name)} bytes long; at most "
                         f"{MAX_NAME_BYTES - DERIVED_NAME_BYTES} fit with the work folder and temporary names")


def check_input_name(path, what: str = "input") -> None:
    """An input's path: valid UTF-8 (FFmpeg and OpenCV take text paths)."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        raise DreamError(f"{shown(os.fspath(path))}: the {what} is not valid UTF-8 text; rename the file or "
                         "write it again") from None
