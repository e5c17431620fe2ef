"""The TensorFlow gradient-ascent kernel: octaves, random roll, tiles, normalised steps. No I/O.

Images here are RGB float32 in [0, 255] (the models preprocess internally), shape (H, W, 3).

One step (:meth:`Dreamer.step`) rolls the image by a random offset, splits it into tiles of at most
``tile_size`` pixels a side, adds up the gradient of the objective over the tiles, rolls the gradient
back, divides it by its mean absolute value and moves the image ``step_size`` along it, clipped to
[0, 255]. The roll moves tile seams and the image border to new places every step, so neither leaves a
mark; tiles keep the memory bounded by the tile, not the image.

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

logger = logging.getLogger(__name__)


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
        # Guide and style terms compare against features of their images, computed once here.
        self._targets = objective.prepare(self._features_by_layer, read_image)
        spec = [
            tf.TensorSpec([None, None, 3], tf.float32, name="image"),
            tf.TensorSpec([], tf.float32, name="step_size"),
            tf.TensorSpec([2], tf.int32, name="shift"),
            tf.TensorSpec([len(objective.terms)], tf.float32, name="weights"),
            tf.TensorSpec([None, None, 1], tf.float32, name="strength"),
        ]
        self._step_fn = tf.function(self._step_graph, input_signature=spec)
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

    def _gradient_graph(self, image, shift, weights):
        import tensorflow as tf

        self.trace_count += 1
        rolled = tf.roll(image, shift, axis=[0, 1])
        return tf.roll(self._tiled_gradient(rolled, weights), -shift, axis=[0, 1])

    def _step_graph(self, image, step_size, shift, weights, strength):
        import tensorflow as tf

        gradient = self._gradient_graph(image, shift, weights)
        gradient /= tf.reduce_mean(tf.abs(gradient)) + 1e-8
        return tf.clip_by_value(image + step_size * strength * gradient, 0.0, 255.0)

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

    def dream(self, image: np.ndarray, *, octaves: int = 3, octave_scale: float = 1.4, steps: int = 10,
              step_size: float = 1.5, seed: int | None = 0, weights: Sequence[float] | None = None,
              strength: np.ndarray | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
        """Dream ``image`` and return the result.

        image: (H, W, 3) RGB, uint8 0-255 or float32 in [0, 255]. Returns float32 (H, W, 3) in [0, 255].
        octaves: number of scales, each ``octave_scale`` times the previous, smallest first.
        steps: gradient steps per octave. step_size: pixels (of 255) per step along the gradient
        normalised to a mean absolute value of 1. weights: the objective's term weights (default: at
        frame 0). strength: optional (H, W) float32 in [0, 1] scaling each pixel's step (0 = untouched).
        seed / rng: the random rolls; the same seed gives the same result.
        """
        import tensorflow as tf

        check_dream_settings(octaves=octaves, octave_scale=octave_scale, steps=steps, step_size=step_size)
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
        for size in octave_sizes(height, width, octaves, octave_scale, self.model.min_side):
            scaled_base = base if size == (height, width) else tf.image.resize(base, size, method="area")
            start = scaled_base if detail is None else scaled_base + tf.image.resize(detail, size)
            if strength_full is None:
                scaled_strength = tf.ones([size[0], size[1], 1], tf.float32)
            else:
                scaled_strength = tf.image.resize(strength_full, size)
            current = start
            for _ in range(steps):
                shift = rng.integers(0, [size[0], size[1]], dtype=np.int32)
                current = self._step_fn(current, step_t, tf.constant(shift), weights_t, scaled_strength)
            detail = current - scaled_base
            result = current
        return result.numpy()


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
