"""The TensorFlow gradient-ascent kernel: octaves, random roll, tiles, normalised steps. No I/O.

Images here are RGB float32 in [0, 255] (the models preprocess internally), shape (H, W, 3).

One step rolls the image by a random offset, splits it into tiles of at most ``tile_size`` pixels a
side, adds up the gradient of the objective over the tiles, rolls the gradient back, normalises it and
moves the image ``step_size`` along it, within [0, 255]. The roll moves tile seams and the image border to
new places every step, so neither leaves a mark; tiles keep the memory bounded by the tile, not the image.

How a step is shaped (keywords of :meth:`Dreamer.dream`, each traced once):

- ``normalize="mean"`` divides the gradient by its mean absolute value; ``"lap"`` first splits it into a
  Laplacian pyramid and scales every band to unit RMS before joining them (the normalisation of Google's
  2015 TensorFlow DeepDream notebook), so coarse patterns are not drowned by pixel-scale noise; either
  way the result has a mean absolute value of 1, so ``step_size`` keeps its meaning.
- ``decorrelate=True`` takes the step in a colour-decorrelated space: the gradient is projected onto the
  principal axes of the colours of ImageNet photos, each axis is normalised on its own, and the result
  is mapped back with those axes' spreads (:data:`IMAGENET_COLOUR_SQRT`), so a white-noise gradient
  becomes a step whose colour covariance is that of natural photos (mostly lightness, little chroma),
  instead of equal swings in R, G and B, which read as neon.
- ``range_limit="clip"`` clips to [0, 255]; ``"soft"`` shrinks the part of a step that heads toward 0 or
  255 in proportion to the room left, within :data:`SOFT_MARGIN` grey levels of the bound, so pixels
  approach the bounds without piling up on them (a final clip stays as a guard).

:meth:`Dreamer.dream` runs the steps over octaves, smallest first, and carries only the *detail* the dream
added (dream minus the resized input) from one octave to the next, so the input's own fine detail, lost by
downscaling, comes back at full resolution (the scheme of Google's original DeepDream notebook).

The step is one ``tf.function`` with a fixed input signature: image size, step size, roll, term weights
and strength mask are all tensors, so none of them re-traces.
"""

from __future__ import annotations

import logging
import math
from typing import Sequence

import numpy as np

from .errors import DreamError
from .models import FeatureModel
from .objectives import Objective
from .options import NORMALIZATIONS, RANGE_LIMITS, DreamOptions

logger = logging.getLogger(__name__)
# Square root of the RGB covariance of ImageNet photos (RGB in [0, 1]), columns along its principal axes
# (lightness first, then two chroma axes), as published with the feature-visualisation work of Olah,
# Mordvintsev and Schubert (2017). Its columns are orthogonal: C^T C is diagonal.
IMAGENET_COLOUR_SQRT = np.array([[0.26, 0.09, 0.02],
                                 [0.27, 0.00, -0.05],
                                 [0.27, -0.09, 0.03]], np.float32)
# Within this many grey levels of 0 or 255, range_limit="soft" shrinks steps toward the bound.
SOFT_MARGIN = 32.0
LAPLACIAN_LEVELS = 4


class Dreamer:
    """Gradient ascent of ``objective`` on ``model``'s features.

    ``tile_size``: the largest tile side in pixels fed to the network at once (memory grows with its
    square; 512 keeps a VGG16 step under about 1.5 GiB). ``read_image(path) -> uint8 (H, W, 3)`` reads
    the images of guide and style terms (the kernel does no I/O itself).
    """

    def __init__(self, model: FeatureModel, objective: Objective, tile_size: int = 512, read_image=None):
        import tensorflow as tf

        missing = [layer for layer in objective.layers if layer not in model.layers]
        if missing:
            raise DreamError(f"the model was built without layer {missing[0]!r}")
        if tile_size < model.min_side:
            raise DreamError(f"tile size {tile_size} is below the model's minimum of {model.min_side} px")
        self.model = model
        self.objective = objective
        self.tile_size = int(tile_size)
        self.trace_count = 0
        self._layer_index = {name: model.layers.index(name) for name in objective.layers}
        _check_channels(model, objective)
        # Guide and style terms compare against features of their images, computed once here.
        self._targets = objective.prepare(self._features_by_layer, read_image)
        spec = [
            tf.TensorSpec([None, None, 3], tf.float32, name="image"),
            tf.TensorSpec([], tf.float32, name="step_size"),
            tf.TensorSpec([2], tf.int32, name="shift"),
            tf.TensorSpec([len(objective.terms)], tf.float32, name="weights"),
            tf.TensorSpec([None, None, 1], tf.float32, name="strength"),
        ]
        self._step_spec = spec
        self._step_fns = {}
        self._gradient_fn = tf.function(self._gradient_graph, input_signature=spec[:1] + spec[2:4])
        self._loss_fn = tf.function(self._loss_graph, input_signature=[spec[0], spec[3]])

    # -- graph code (runs once per trace) ---------------------------------------------------------

    def _features_by_layer(self, images):
        outputs = self.model.features(images)
        return {name: outputs[i] for name, i in self._layer_index.items()}

    def _tile_loss(self, tile, weights, area_fraction):
        activations = self._features_by_layer(tile[None])
        return self.objective.loss(activations, weights, area_fraction, tile, self._targets)

    def _tiled_gradient(self, image, weights):
        """Gradient of the objective over the whole image, computed tile by tile."""
        import tensorflow as tf

        shape = tf.shape(image)
        height, width = shape[0], shape[1]
        rows = (height + self.tile_size - 1) // self.tile_size
        cols = (width + self.tile_size - 1) // self.tile_size
        total_area = tf.cast(height * width, tf.float32)
        # The tiles partition the image, so their gradients are joined (bit for bit the same result),
        # not added into a full-size zero-padded copy per tile: on a 4096x2160 image (40 tiles) those
        # copies cost 9% of the step's CPU time. TensorArray.concat joins along the first axis, so a
        # row's tiles are stored transposed.
        strips = tf.TensorArray(tf.float32, size=rows, infer_shape=False)
        # Tiles of equal size (boundaries at i * H / rows), not full tiles and a thin remainder.
        for r in tf.range(rows):
            y0 = r * height // rows
            y1 = (r + 1) * height // rows
            strip = tf.TensorArray(tf.float32, size=cols, infer_shape=False)
            for c in tf.range(cols):
                x0 = c * width // cols
                x1 = (c + 1) * width // cols
                tile = image[y0:y1, x0:x1]
                with tf.GradientTape() as tape:
                    tape.watch(tile)
                    area = tf.cast((y1 - y0) * (x1 - x0), tf.float32) / total_area
                    loss = self._tile_loss(tile, weights, area)
                strip = strip.write(c, tf.transpose(tape.gradient(loss, tile), [1, 0, 2]))
            strips = strips.write(r, tf.transpose(strip.concat(), [1, 0, 2]))
        return tf.ensure_shape(strips.concat(), [None, None, 3])

    def _whole_gradient(self, image, weights):
        """Gradient of the objective over an image that fits in one tile: the tiled gradient's values, bit
        for bit (the one tile is the whole image and its area fraction 1), without the tile loops, which
        cost a second of tracing and a little time every step."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = self._tile_loss(image, weights, tf.constant(1.0))
        return tape.gradient(loss, image)

    def _gradient_graph(self, image, shift, weights, tiled: bool = True):
        import tensorflow as tf

        self.trace_count += 1
        rolled = tf.roll(image, shift, axis=[0, 1])
        gradient = self._tiled_gradient(rolled, weights) if tiled else self._whole_gradient(rolled, weights)
        return tf.roll(gradient, -shift, axis=[0, 1])

    def _step_fn(self, normalize: str, decorrelate: bool, range_limit: str, tiled: bool = True):
        """The traced step for one way of shaping it (each combination is traced once, the one-tile step
        only for images that fit in a tile, the tiled one only for larger ones)."""
        import tensorflow as tf

        key = (normalize, bool(decorrelate), range_limit, bool(tiled))
        if key not in self._step_fns:
            def step(image, step_size, shift, weights, strength):
                gradient = self._gradient_graph(image, shift, weights, tiled)
                update = step_size * strength * shape_gradient(gradient, normalize, decorrelate)
                return limit_range(image, update, range_limit)
            # The one-tile step has no loops or branches on tensors, so AutoGraph (which rewrites the Python
            # of every function it calls, a second of tracing) has nothing to convert in it.
            self._step_fns[key] = tf.function(step, input_signature=self._step_spec, autograph=tiled)
        return self._step_fns[key]

    def _loss_graph(self, image, weights):
        self.trace_count += 1
        return self._tile_loss(image, weights, 1.0)

    # -- eager API --------------------------------------------------------------------------------

    def gradient(self, image: np.ndarray, shift=(0, 0), weights: Sequence[float] | None = None) -> np.ndarray:
        """Raw (unnormalised) gradient of the objective, (H, W, 3) float32, for an image in [0, 255]."""
        import tensorflow as tf

        weights = self.objective.weights_at(0) if weights is None else weights
        return self._gradient_fn(tf.constant(image, tf.float32), tf.constant(shift, tf.int32),
                                 tf.constant(weights, tf.float32)).numpy()

    def loss(self, image: np.ndarray, weights: Sequence[float] | None = None) -> float:
        """The objective's value on the whole image (untiled), for tests and logs."""
        import tensorflow as tf

        weights = self.objective.weights_at(0) if weights is None else weights
        return float(self._loss_fn(tf.constant(image, tf.float32), tf.constant(weights, tf.float32)))

    def closeness(self, image: np.ndarray) -> dict[str, float]:
        """Closeness of ``image`` (float [0, 255]) to the guide and style images (see objectives.closeness)."""
        import tensorflow as tf

        from .objectives import closeness

        activations = self._features_by_layer(tf.constant(np.asarray(image, np.float32)[None]))
        return closeness(self.objective, activations, self._targets)

    def dream(self, image: np.ndarray, *, octaves: int = DreamOptions.octaves,
              octave_scale: float = DreamOptions.octave_scale, steps: int = DreamOptions.steps,
              step_size: float = DreamOptions.step_size, seed: int | None = DreamOptions.seed,
              weights: Sequence[float] | None = None, strength: np.ndarray | None = None,
              rng: np.random.Generator | None = None, dream_octaves: int | None = None,
              normalize: str = DreamOptions.normalize, decorrelate: bool = DreamOptions.decorrelate,
              range_limit: str = DreamOptions.range_limit) -> np.ndarray:
        """Dream ``image`` and return the result.

        image: (H, W, 3) RGB, uint8 0-255 or float32 in [0, 255]. Returns float32 (H, W, 3) in [0, 255].
        octaves: number of scales, each ``octave_scale`` times the previous, smallest first.
        steps: gradient steps per octave. step_size: pixels (of 255) per step along the gradient
        normalised to a mean absolute value of 1. weights: the objective's term weights (default: at
        frame 0). strength: optional (H, W) float32 in [0, 1] scaling each pixel's step (0 = untouched).
        seed / rng: the random rolls; the same seed gives the same result. dream_octaves: dream only
        the smallest this many octaves (a negative number: all but the largest -n; a ``slice``: those
        octaves, smallest first, e.g. ``slice(-3, -1)`` the two below the full size; None: all; at least
        one always, the smallest when the choice is empty), e.g. for a frame that already holds a dream;
        when the full size is left out, the changes made at the last dreamed octave are scaled up and added
        to ``image``, so its own fine detail stays sharp.
        normalize, decorrelate, range_limit: how each step is shaped (see the module docstring).
        """
        import tensorflow as tf

        check_dream_settings(octaves=octaves, octave_scale=octave_scale, steps=steps, step_size=step_size)
        check_step_shape(normalize=normalize, decorrelate=decorrelate, range_limit=range_limit)
        if dream_octaves is not None and not isinstance(dream_octaves, slice) and (
                isinstance(dream_octaves, bool) or not isinstance(dream_octaves, (int, np.integer))):
            raise DreamError(f"dream octaves must be a whole number or a slice, got {dream_octaves!r}")
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise DreamError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
        base = tf.constant(image, tf.float32)
        height, width = image.shape[:2]
        rng = rng if rng is not None else np.random.default_rng(seed)
        weights_t = tf.constant(self.objective.weights_at(0) if weights is None else weights, tf.float32)
        step_t = tf.constant(step_size, tf.float32)
        strength_full = None if strength is None else tf.constant(np.asarray(strength, np.float32)[..., None])

        detail = None
        result = base
        sizes = octave_sizes(height, width, octaves, octave_scale, self.model.min_side)
        chosen = dream_octaves if isinstance(dream_octaves, slice) else slice(dream_octaves)
        sizes = sizes[chosen] or sizes[:1]
        for size in sizes:
            scaled_base = base if size == (height, width) else tf.image.resize(base, size, method="area")
            start = scaled_base if detail is None else scaled_base + tf.image.resize(detail, size)
            if strength_full is None:
                scaled_strength = tf.ones([size[0], size[1], 1], tf.float32)
            else:
                scaled_strength = tf.image.resize(strength_full, size)
            current = start
            step_fn = self._step_fn(normalize, decorrelate, range_limit,
                                    tiled=len(tile_grid(size[0], size[1], self.tile_size)) > 1)
            for _ in range(steps):
                shift = rng.integers(0, [size[0], size[1]], dtype=np.int32)
                current = step_fn(current, step_t, tf.constant(shift), weights_t, scaled_strength)
            detail = current - scaled_base
            result = current
        if sizes[-1] != (height, width):
            result = tf.clip_by_value(base + tf.image.resize(detail, (height, width)), 0.0, 255.0)
        return result.numpy()


def _check_channels(model: FeatureModel, objective: Objective) -> None:
    """Every channel a layer term names exists in its layer (a gather past the end fails deep in TensorFlow)."""
    from .limits import check_channels_exist

    outputs = getattr(model.keras_model, "outputs", None) or []
    for term in objective.terms:
        if term.kind != "layer" or not term.channels or term.layers[0] not in model.layers:
            continue
        index = model.layers.index(term.layers[0])
        available = outputs[index].shape[-1] if index < len(outputs) else None
        if available:
            check_channels_exist(term.channels, int(available), term.layers[0])


def shape_gradient(gradient, normalize: str = "mean", decorrelate: bool = False):
    """The step direction for a raw (H, W, 3) float32 gradient tensor: mean absolute value 1.

    See the module docstring for ``normalize`` ("mean" or "lap") and ``decorrelate``. Works eagerly and
    inside a traced function; returns a float32 tensor of the same shape.
    """
    import tensorflow as tf

    gradient = tf.convert_to_tensor(gradient, tf.float32)
    if decorrelate:
        axes = tf.constant(IMAGENET_COLOUR_SQRT)
        # Coordinates along the principal colour axes (C^T g), each normalised on its own, then mapped
        # back through C: the step's colour spread follows the photos' own.
        along = tf.tensordot(gradient, axes, [[2], [0]])
        along /= tf.reduce_mean(tf.abs(along), axis=[0, 1], keepdims=True) + 1e-8
        gradient = tf.tensordot(along, axes, [[2], [1]])
    if normalize == "lap":
        gradient = laplacian_normalize(gradient)
    return gradient / (tf.reduce_mean(tf.abs(gradient)) + 1e-8)


def _blur_down(image, kernel):
    """Binomial 5x5 blur and every other pixel kept; borders reflected (zero padding would put a step
    at the border into the finest band)."""
    import tensorflow as tf

    padded = tf.pad(image, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="REFLECT")
    return tf.nn.depthwise_conv2d(padded, kernel, [1, 2, 2, 1], "VALID")


def laplacian_normalize(gradient, levels: int = LAPLACIAN_LEVELS):
    """Scale each band of a Laplacian pyramid of ``gradient`` to unit RMS and join the bands again.

    ``gradient``: (H, W, 3) float32, at least 3 px a side. ``levels``: bands, the finest first and the
    remaining low-pass last (4, as in the 2015 DeepDream notebook); each coarser level is a binomial
    blur at half the size, brought back up bilinearly. Returns a float32 tensor of the same shape.
    Without the scaling, the split and the join are exact inverses.
    """
    import tensorflow as tf

    row = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float32)
    kernel = tf.constant(np.tile((np.outer(row, row) / 256.0)[:, :, None, None], [1, 1, 3, 1]))
    gradient = tf.convert_to_tensor(gradient, tf.float32)
    current = gradient[None]
    bands = []
    for _ in range(levels - 1):
        small = _blur_down(current, kernel)
        bands.append(current - tf.image.resize(small, tf.shape(current)[1:3]))
        current = small
    bands.append(current)
    # The floor, relative to the whole gradient, keeps a band that is only rounding noise (e.g. the fine
    # bands of a constant) from being blown up to unit RMS.
    floor = 1e-5 * tf.sqrt(tf.reduce_mean(tf.square(gradient))) + 1e-12
    bands = [band / (tf.sqrt(tf.reduce_mean(tf.square(band))) + floor) for band in bands]
    joined = bands[-1]
    for band in reversed(bands[:-1]):
        joined = tf.image.resize(joined, tf.shape(band)[1:3]) + band
    return joined[0]


def limit_range(image, update, range_limit: str = "clip"):
    """``image + update`` kept within [0, 255]: clipped, or with ``"soft"`` each part of ``update``
    heading toward a bound shrunk by (room left) / SOFT_MARGIN where less than SOFT_MARGIN is left."""
    import tensorflow as tf

    if range_limit == "soft":
        room = tf.where(update > 0, 255.0 - image, image)
        update *= tf.clip_by_value(room / SOFT_MARGIN, 0.0, 1.0)
    return tf.clip_by_value(image + update, 0.0, 255.0)


def check_step_shape(*, normalize="mean", decorrelate=False, range_limit="clip") -> None:
    """Raise DreamError for a step shape the kernel does not know."""
    if normalize not in NORMALIZATIONS:
        raise DreamError(f"unknown normalisation {normalize!r}; use one of {', '.join(NORMALIZATIONS)}")
    if not isinstance(decorrelate, (bool, np.bool_)):
        raise DreamError(f"decorrelate must be true or false, got {decorrelate!r}")
    if range_limit not in RANGE_LIMITS:
        raise DreamError(f"unknown range limit {range_limit!r}; use one of {', '.join(RANGE_LIMITS)}")


def tile_grid(height: int, width: int, tile_size: int) -> list[tuple[int, int, int, int]]:
    """The tiles a step splits a (height, width) image into, as (y0, y1, x0, x1) pixel bounds.

    ceil(height / tile_size) rows and ceil(width / tile_size) columns of equal size (boundaries at
    i * height // rows), not full tiles and a thin remainder; the same rule as the step's graph.
    """
    rows = -(-height // tile_size)
    cols = -(-width // tile_size)
    return [(r * height // rows, (r + 1) * height // rows, c * width // cols, (c + 1) * width // cols)
            for r in range(rows) for c in range(cols)]


def octave_sizes(height: int, width: int, octaves: int, octave_scale: float, min_side: int) -> list:
    """(h, w) of each octave, smallest first, the last being (height, width).

    Octaves whose shorter side would fall below ``min_side`` are dropped (with a log line): the
    network's deepest layers need some feature map to work on.
    """
    sizes = []
    for k in range(octaves - 1, -1, -1):
        factor = octave_scale ** -k
        size = (max(1, round(height * factor)), max(1, round(width * factor)))
        if min(size) >= min_side or k == 0:
            sizes.append(size)
    if len(sizes) < octaves:
        logger.info("using %d of %d octaves: smaller ones would be under %d px", len(sizes), octaves, min_side)
    return sizes


def check_dream_settings(*, octaves=1, octave_scale=1.4, steps=1, step_size=1.0) -> None:
    """Raise DreamError for settings the kernel cannot use (counts must be whole and positive)."""
    for name, value in (("octaves", octaves), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise DreamError(f"{name} must be a whole number of at least 1, got {value!r}")
    if not (isinstance(octave_scale, (int, float)) and math.isfinite(octave_scale) and octave_scale > 1.0):
        raise DreamError(f"octave scale must be a number above 1, got {octave_scale!r}")
    if not (isinstance(step_size, (int, float)) and math.isfinite(step_size) and step_size > 0):
        raise DreamError(f"step size must be a positive number, got {step_size!r}")
