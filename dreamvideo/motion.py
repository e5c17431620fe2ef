"""Moving pictures between frames: optical flow, warps, the consistency mask, blends, zooms.

OpenCV and numpy only. Every function is a plain function of its inputs; nothing here knows about time.

Conventions:

- Public images are numpy (H, W, 3) RGB. Each function says which dtypes it takes; BGR never leaves
  this module (the flow only ever sees grayscale).
- Flow is (H, W, 2) float32 (dx, dy) in pixels, OpenCV's layout. A *backward* flow ``b`` between
  ``previous`` and ``current`` gives, for each pixel x of ``current``, the offset to where it came from in
  ``previous``: ``current(x) ~ previous(x + b(x))``, which is what ``warp(previous, b)`` computes.
  A *forward* flow ``f`` is the same thing the other way round: ``previous(x) ~ current(x + f(x))``.
- Borders are reflected with ``cv2.BORDER_REFLECT_101`` (``gfedcb|abcdefgh|gfedcba``: the edge pixel is
  not repeated) everywhere, so a warp never invents a constant colour at the edge of the picture.
"""

from __future__ import annotations

import logging
import numbers
from functools import lru_cache

import cv2
import numpy as np

from .arrays import check_image as _check_image, unit_interval
from .errors import DreamError

log = logging.getLogger(__name__)

BORDER = cv2.BORDER_REFLECT_101

FLOW_METHODS = ("dis", "farneback")
DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}

# Farneback parameters: a 5-level pyramid so motions of 10-20 px at 480p are still found, a 15 px
# Gaussian-weighted window (more robust to noise than a box), 3 iterations per level, and the 5-pixel
# polynomial expansion with sigma 1.1 from OpenCV's documentation. Picked from a small grid on
# Middlebury RubberWhale: average endpoint error 0.33 px there (OpenCV's sample settings: 0.36).
_FARNEBACK = dict(pyr_scale=0.5, levels=5, winsize=15, iterations=3, poly_n=5, poly_sigma=1.1,
                  flags=cv2.OPTFLOW_FARNEBACK_GAUSSIAN)


# ---------------------------------------------------------------------------------------------- helpers

def check_flow(flow, name: str = "flow", shape=None) -> np.ndarray:
    if not isinstance(flow, np.ndarray) or flow.ndim != 3 or flow.shape[2] != 2:
        got = getattr(flow, "shape", type(flow).__name__)
        raise DreamError(f"{name} must be an (H, W, 2) array of (dx, dy) pixel offsets, got {got}")
    if shape is not None and flow.shape[:2] != tuple(shape[:2]):
        raise DreamError(f"{name} is {flow.shape[1]}x{flow.shape[0]} but the image is "
                         f"{shape[1]}x{shape[0]}; compute the flow on frames of the same size")
    return flow if flow.dtype == np.float32 else flow.astype(np.float32)


def _interpolation(name: str) -> int:
    try:
        return INTERPOLATIONS[name]
    except (KeyError, TypeError):
        raise DreamError(f"unknown interpolation {name!r}; use one of {', '.join(INTERPOLATIONS)}") from None


def _gray_pair(previous, current) -> tuple[np.ndarray, np.ndarray]:
    """Both frames as uint8 grayscale, converted with one shared scale so their brightness agrees.

    uint8 frames are used as they are. Other dtypes are mapped linearly from the pair's joint
    [min, max] to [0, 255]: the flow only needs relative brightness, and a shared scale keeps a global
    brightness change between the two frames visible to it.
    """
    previous = _check_image(previous, "previous frame")
    current = _check_image(current, "current frame")
    if previous.shape != current.shape:
        raise DreamError(f"previous frame is {previous.shape} but current frame is {current.shape}; "
                         "optical flow needs two frames of the same size")
    pair = []
    if previous.dtype == np.uint8 and current.dtype == np.uint8:
        scale, offset = None, 0.0
    else:
        lo = float(min(previous.min(), current.min()))
        hi = float(max(previous.max(), current.max()))
        scale, offset = 255.0 / max(hi - lo, 1e-12), -lo * 255.0 / max(hi - lo, 1e-12)
    for frame in (previous, current):
        if scale is not None:
            frame = cv2.convertScaleAbs(frame.astype(np.float32, copy=False), alpha=scale, beta=offset)
        if frame.ndim == 3 and frame.shape[2] == 3:
            frame = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        elif frame.ndim == 3:
            frame = frame[:, :, 0]
        pair.append(np.ascontiguousarray(frame))
    return pair[0], pair[1]


def _dis(preset: str):
    # A fresh object per call (creating one takes microseconds): a reused DIS object was seen to return
    # flows differing by ~1e-3 px depending on its call history, and a resumed render must reproduce an
    # unbroken one exactly.
    return cv2.DISOpticalFlow_create(DIS_PRESETS[preset])


def check_flow_method(method: str, preset: str = "medium") -> None:
    """DreamError unless ``method`` (and for "dis", ``preset``) name a flow this module computes."""
    if method not in FLOW_METHODS:
        raise DreamError(f"unknown optical flow method {method!r}; use one of {', '.join(FLOW_METHODS)}")
    if method == "dis" and preset not in DIS_PRESETS:
        raise DreamError(f"unknown DIS preset {preset!r}; use one of {', '.join(DIS_PRESETS)}")


def _flow_gray(source: np.ndarray, target: np.ndarray, method: str, preset: str) -> np.ndarray:
    """Flow f with source(x) ~ target(x + f(x)), both uint8 grayscale."""
    if method == "dis":
        try:
            # Passing None matters: DIS takes a flow argument of the right size as its initial guess.
            return _dis(preset).calc(source, target, None)
        except cv2.error:
            height, width = source.shape
            if min(height, width) < 16:
                raise DreamError(f"frames of {width}x{height} are too small for DIS optical flow; use "
                                 "frames of at least 16x16 or method 'farneback'") from None
            raise
    return cv2.calcOpticalFlowFarneback(source, target, None, **_FARNEBACK)


# ------------------------------------------------------------------------------------------ optical flow

def backward_flow(previous, current, method: str = "dis", preset: str = "medium") -> np.ndarray:
    """Optical flow from each pixel of ``current`` back to where it came from in ``previous``.

    ``previous``, ``current``: source frames, (H, W, 3) RGB or (H, W) gray; uint8 0-255, or any float
    dtype in any range (scaled to 0-255 by the pair's joint min/max). ``method``: "dis" (OpenCV's dense
    inverse search; ``preset`` "ultrafast", "fast" or "medium") or "farneback" (``preset`` ignored).
    Returns (H, W, 2) float32 (dx, dy) in pixels such that ``warp(previous, flow)`` ~ ``current``.
    """
    check_flow_method(method, preset)
    gray_previous, gray_current = _gray_pair(previous, current)
    return _flow_gray(gray_current, gray_previous, method, preset)


def forward_flow(previous, current, method: str = "dis", preset: str = "medium") -> np.ndarray:
    """Optical flow from each pixel of ``previous`` to where it went in ``current``.

    Same inputs as :func:`backward_flow`. Returns (H, W, 2) float32 (dx, dy) in pixels such that
    ``warp(current, flow)`` ~ ``previous``.
    """
    check_flow_method(method, preset)
    gray_previous, gray_current = _gray_pair(previous, current)
    return _flow_gray(gray_previous, gray_current, method, preset)


def flow_pair(previous, current, method: str = "dis",
              preset: str = "medium") -> tuple[np.ndarray, np.ndarray]:
    """Both flows between two source frames, converting them to grayscale once.

    Same inputs as :func:`backward_flow`. Returns ``(forward, backward)``, each (H, W, 2) float32 (dx, dy)
    in pixels; pass them to :func:`consistency_weight` in that order.
    """
    check_flow_method(method, preset)
    gray_previous, gray_current = _gray_pair(previous, current)
    forward = _flow_gray(gray_previous, gray_current, method, preset)
    backward = _flow_gray(gray_current, gray_previous, method, preset)
    return forward, backward


# ----------------------------------------------------------------------------------------------- warping

_REMAP_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int16), np.dtype(np.float32),
                 np.dtype(np.float64))


@lru_cache(maxsize=8)
def pixel_grid(height: int, width: int) -> np.ndarray:
    """(H, W, 2) float32 with grid[y, x] = (x, y); cached because building it costs as much as a remap."""
    grid = np.empty((height, width, 2), np.float32)
    grid[..., 0] = np.arange(width, dtype=np.float32)[None, :]
    grid[..., 1] = np.arange(height, dtype=np.float32)[:, None]
    grid.flags.writeable = False
    return grid


def warp(image, flow, interpolation: str = "linear") -> np.ndarray:
    """Sample ``image`` at each pixel moved by ``flow``: out(x) = image(x + flow(x)).

    ``image``: (H, W), (H, W, 1), (H, W, 2) (a flow field), (H, W, 3) or (H, W, 4); uint8, uint16,
    int16, float32 or float64, in any range. ``flow``: (H, W, 2) float32 (dx, dy) in pixels, e.g.
    from :func:`backward_flow`. ``interpolation``: "nearest", "linear", "cubic" or "lanczos".
    Positions outside the picture are reflected (BORDER_REFLECT_101). Returns the same shape and dtype
    as ``image``.
    """
    image = _check_image(image, "image", channels=(1, 2, 3, 4))
    flow = check_flow(flow, shape=image.shape)
    if image.dtype not in _REMAP_DTYPES:
        raise DreamError(f"cannot warp an image of dtype {image.dtype}; use uint8 or float32")
    coordinates = cv2.add(flow, pixel_grid(*flow.shape[:2]))
    out = cv2.remap(image, coordinates, None, _interpolation(interpolation), borderMode=BORDER)
    return out.reshape(image.shape)


# ------------------------------------------------------------------------------------ consistency mask

def consistency_weight(forward, backward, *, frame: str = "current", soft_edge: int = 2) -> np.ndarray:
    """How far each pixel carried between two frames can be trusted, from the forward-backward check.

    ``forward``, ``backward``: (H, W, 2) float32 flows between the same two frames, as returned by
    :func:`flow_pair`. ``frame``: whose pixels the weight is for: "current" (the default: the pixels a
    backward warp fills in, what the frame loop blends) or "previous" (the pixels of the earlier frame,
    what the warping-error metric masks).

    With ``out`` the flow leaving the judged frame (``backward`` for "current") and ``back`` the other
    one sampled where ``out`` lands, ``back~(x) = back(x + out(x))``, a pixel is unreliable where

    - the two flows do not cancel: |out + back~|^2 > 0.01 (|out|^2 + |back~|^2) + 0.5 (occlusion or
      disocclusion),
    - the flow changes sharply: |grad out|^2 > 0.01 |out|^2 + 0.002 (motion boundary), or
    - ``x + out(x)`` falls outside the other frame.

    These are the tests of Ruder, Dosovitskiy and Brox, "Artistic style transfer for videos" (2016),
    as used for the warping error of Lai et al., "Learning Blind Video Temporal Consistency" (2018);
    the gradient is the one-sided pixel difference used in Lai et al.'s released evaluation code.

    ``soft_edge``: the reliable region is shrunk by this many pixels and then box-blurred by the same
    radius, so every unreliable pixel stays exactly 0 and the weight rises to 1 over 2 * soft_edge
    pixels; 0 gives the hard 0/1 mask. Returns (H, W) float32 in [0, 1], 1 where the carried pixel is
    trustworthy. It is a blend weight: it never scales a flow.
    """
    forward = check_flow(forward, "forward flow")
    backward = check_flow(backward, "backward flow", shape=forward.shape)
    if frame == "current":
        outgoing, returning = backward, forward
    elif frame == "previous":
        outgoing, returning = forward, backward
    else:
        raise DreamError(f"unknown frame {frame!r} for the consistency weight; use 'current' or 'previous'")
    if not isinstance(soft_edge, (int, np.integer)) or soft_edge < 0:
        raise DreamError(f"soft_edge must be a whole number of pixels >= 0, got {soft_edge!r}")

    height, width = outgoing.shape[:2]
    landing = cv2.add(outgoing, pixel_grid(height, width))
    returning_there = cv2.remap(returning, landing, None, cv2.INTER_LINEAR, borderMode=BORDER)

    # Work on strided views of the components: numpy never copies the interleaved arrays apart.
    out_x, out_y = outgoing[..., 0], outgoing[..., 1]
    back_x, back_y = returning_there[..., 0], returning_there[..., 1]
    outgoing_sq = out_x * out_x + out_y * out_y
    sum_x, sum_y = out_x + back_x, out_y + back_y
    returning_sq = back_x * back_x + back_y * back_y
    unreliable = sum_x * sum_x + sum_y * sum_y > 0.01 * (outgoing_sq + returning_sq) + 0.5

    gradient_sq = np.zeros((height, width), np.float32)
    for component in (out_x, out_y):
        step = component[:, 1:] - component[:, :-1]
        gradient_sq[:, :-1] += step * step
        step = component[1:, :] - component[:-1, :]
        gradient_sq[:-1, :] += step * step
    unreliable |= gradient_sq > 0.01 * outgoing_sq + 0.002

    land_x, land_y = landing[..., 0], landing[..., 1]
    unreliable |= (land_x < 0) | (land_x > width - 1) | (land_y < 0) | (land_y > height - 1)

    weight = np.logical_not(unreliable).astype(np.float32)
    if soft_edge:
        size = 2 * soft_edge + 1
        kernel = np.ones((size, size), np.uint8)
        # The default border of erode does not erode, so the picture's own edges stay reliable.
        weight = cv2.erode(weight, kernel)
        weight = cv2.blur(weight, (size, size), borderType=BORDER)
    return weight


# ----------------------------------------------------------------------------------------------- blending

def blend(carried, frame, weight, amount: float) -> np.ndarray:
    """Mix the carried (warped) dream into the new frame: frame + amount * weight * (carried - frame).

    ``carried``, ``frame``: (H, W, 3) (or (H, W)) arrays of any numeric dtype on the SAME scale (both
    0-255, or both 0-1; the function cannot tell them apart). ``weight``: (H, W) in [0, 1], e.g. from
    :func:`consistency_weight`, or None for 1 everywhere. ``amount``: in [0, 1]; 0 returns the frame,
    1 the carried image wherever weight is 1. Returns float32 on the inputs' scale.
    """
    carried = _check_image(carried, "carried image", channels=(1, 2, 3, 4))
    frame = _check_image(frame, "frame", channels=(1, 2, 3, 4))
    if carried.shape != frame.shape:
        raise DreamError(f"carried image is {carried.shape} but the frame is {frame.shape}; "
                         "warp the previous dream onto the new frame's size first")
    amount = unit_interval(amount, "blend amount")
    frame32 = frame.astype(np.float32)
    if weight is None:
        factor = np.float32(amount)
    else:
        weight = np.asarray(weight, dtype=np.float32)
        if weight.shape != frame.shape[:2]:
            raise DreamError(f"blend weight is {weight.shape} but the frame is {frame.shape[:2]}; "
                             "use an (H, W) weight such as consistency_weight's")
        factor = weight * np.float32(amount)
        if frame.ndim == 3:
            factor = factor[..., None]
    return frame32 + factor * (carried.astype(np.float32) - frame32)


def reanchor(start, frame, amount: float = 1.0, scale: float = 1 / 16) -> np.ndarray:
    """Give the carried start image the new frame's low frequencies back: start - amount * L(start - frame).

    ``start`` (the blend of a carried dream with ``frame``) and ``frame``: (H, W, 3) arrays on the same
    scale (both 0-255, or both 0-1). L is a Gaussian blur with sigma ``scale`` times the longer side
    (reflected borders), so what the carried dream changed at scales coarser than that (colour casts,
    brightened or darkened regions that would otherwise ride along with the objects and grow) is taken
    back out by ``amount`` in [0, 1], while its finer detail, the dream's patterns, is kept.
    Returns float32 on the inputs' scale.
    """
    start = _check_image(start, "start image", channels=(3,))
    frame = _check_image(frame, "frame", channels=(3,))
    if start.shape != frame.shape:
        raise DreamError(f"start image is {start.shape} but the frame is {frame.shape}")
    amount = unit_interval(amount, "re-anchor amount")
    if not (isinstance(scale, numbers.Real) and scale > 0):
        raise DreamError(f"re-anchor scale must be a number > 0, got {scale!r}")
    start = start.astype(np.float32, copy=False)
    if amount == 0.0:
        return start
    difference = start - frame.astype(np.float32, copy=False)
    sigma = float(scale) * max(start.shape[:2])
    # A blur this wide (120 px at 1080p, a ~960-tap kernel) is as good on a copy shrunk so that sigma is about
    # 8 px, and 300x cheaper there (8.0 s against 26 ms a 1080p frame, at most 0.07 grey levels apart).
    factor = max(1, int(sigma // 8))
    if factor == 1:
        low = cv2.GaussianBlur(difference, (0, 0), sigma, borderType=BORDER)
    else:
        height, width = difference.shape[:2]
        small = cv2.resize(difference, (max(1, width // factor), max(1, height // factor)),
                           interpolation=cv2.INTER_AREA)
        low = cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma / factor, borderType=BORDER), (width, height),
                         interpolation=cv2.INTER_LINEAR)
    return start - np.float32(amount) * low


# ------------------------------------------------------------------------------ zoom, rotate, translate

def relative_center(shape, relative=(0.5, 0.5)) -> tuple[float, float]:
    """A centre given as fractions of the picture, in pixels for :func:`affine_warp`.

    ``shape``: an image's shape (H, W, ...) or the image itself. ``relative``: (x, y) with (0, 0) the
    centre of the top-left pixel and (1, 1) that of the bottom-right one. Returns (x, y) in pixels.
    """
    if isinstance(shape, np.ndarray):
        shape = shape.shape
    height, width = shape[:2]
    try:
        rx, ry = (float(v) for v in relative)
    except (TypeError, ValueError):
        raise DreamError(f"relative centre must be two numbers (x, y) in 0..1, got {relative!r}") from None
    return rx * (width - 1), ry * (height - 1)


def affine_warp(image, *, zoom: float = 1.0, angle: float = 0.0, translate=(0.0, 0.0), center=None,
                interpolation: str = "lanczos") -> np.ndarray:
    """Zoom, rotate and move a picture in one resampling, for infinite-zoom animations.

    ``image``: (H, W, 3) or (H, W); uint8 0-255 or float (any range). ``zoom``: > 0; above 1 magnifies
    (the camera moves in) about ``center``. ``angle``: degrees, counter-clockwise on screen.
    ``translate``: (dx, dy) pixels the content moves by (right and down), applied after zoom and rotation.
    ``center``: (x, y) in pixels, default the middle of the picture ((W - 1) / 2, (H - 1) / 2); see
    :func:`relative_center` for fractions. ``interpolation``: "lanczos" (default), "cubic", "linear" or
    "nearest".

    Lanczos-4 is the default because a zoom animation resamples its own output hundreds of times: the
    8x8 windowed-sinc kernel keeps fine detail that bilinear or bicubic would blur away a little more
    each frame. Its negative lobes overshoot at sharp edges, so "lanczos" and "cubic" results are clipped
    to the input image's own min..max; otherwise the ringing would grow from frame to frame in a
    feedback loop. Borders are reflected (BORDER_REFLECT_101), so no constant-colour border appears for
    zoom < 1 or any rotation.
    Returns the same shape and dtype.
    """
    image = _check_image(image, "image", channels=(1, 3, 4))
    try:
        zoom = float(zoom)
        angle = float(angle)
        dx, dy = (float(v) for v in translate)
    except (TypeError, ValueError):
        raise DreamError(f"zoom and angle must be numbers and translate a pair (dx, dy); got zoom={zoom!r}, "
                         f"angle={angle!r}, translate={translate!r}") from None
    if not zoom > 0 or not np.isfinite(zoom):
        raise DreamError(f"zoom must be a number > 0 (1 = unchanged, 1.05 = move in by 5%), got {zoom}")
    height, width = image.shape[:2]
    if center is None:
        center = ((width - 1) / 2.0, (height - 1) / 2.0)
    try:
        cx, cy = (float(v) for v in center)
    except (TypeError, ValueError):
        raise DreamError(f"center must be (x, y) in pixels, got {center!r}") from None
    # The forward map: a content point p goes to zoom * R(angle) (p - c) + c + translate.
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, zoom)
    matrix[0, 2] += dx
    matrix[1, 2] += dy
    out = cv2.warpAffine(image, matrix, (width, height), flags=_interpolation(interpolation),
                         borderMode=BORDER)
    if interpolation in ("lanczos", "cubic"):
        out = np.clip(out, image.min(), image.max(), out=out)
    return out.reshape(image.shape)
