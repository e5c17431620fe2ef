"""Paths through the latent space and GAN inversion. Latents are float32 numpy vectors (latent_dim,).

* :func:`slerp` and :func:`walk_latents`: a closed (or open) tour of random keyframe latents along great
  circles of the sphere of radius sqrt(latent_dim), where a Gaussian latent's norm concentrates, at
  constant angular speed: every frame turns the latent by the same angle, across keyframes too.
* :func:`invert`: the latent whose generated picture best matches a given one, by gradient descent on z
  (Adam) of a pixel loss plus a feature loss in the embedded VGG16: the kernel's machinery pointed at the
  latent instead of the pixels.
"""

from __future__ import annotations

import numpy as np

from ..errors import DreamError
from .data import to_model

INVERT_STEPS = 200
INVERT_RATE = 0.1
FEATURE_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3")
FEATURE_WEIGHT = 0.1


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation from ``a`` (t = 0) to ``b`` (t = 1) along the great circle between their
    directions, the norm interpolated linearly. Falls back to a straight line for (anti)parallel vectors."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0)
    omega = np.arccos(cos)
    if np.sin(omega) < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    direction = (np.sin((1 - t) * omega) * a / na + np.sin(t * omega) * b / nb) / np.sin(omega)
    return (direction * ((1 - t) * na + t * nb)).astype(np.float32)


def keyframe_latents(count: int, latent_dim: int, seed: int) -> np.ndarray:
    """``count`` random latents (count, latent_dim) float32 from ``seed``, put on the sphere of radius
    sqrt(latent_dim)."""
    z = np.random.default_rng([seed, 7]).standard_normal((count, latent_dim))
    return (z / np.linalg.norm(z, axis=1, keepdims=True) * np.sqrt(latent_dim)).astype(np.float32)


def walk_latents(keyframes: np.ndarray, frames: int, loop: bool = True, start: int = 0,
                 stop: int | None = None) -> np.ndarray:
    """(frames, latent_dim) float32 latents through ``keyframes`` (K, latent_dim) in order, at constant
    angular speed. ``loop``: the tour returns to the first keyframe, and the frame after the last would be
    the first (so a looping GIF has no seam); otherwise the last frame is the last keyframe.
    ``start``/``stop``: only the latents of frames start..stop-1 of that walk (a long walk in pieces)."""
    keyframes = np.asarray(keyframes, np.float32)
    if frames < 1:
        raise DreamError(f"frames must be at least 1, got {frames}")
    if len(keyframes) < 2:
        raise DreamError(f"a walk needs at least 2 keyframes, got {len(keyframes)}")
    points = np.concatenate([keyframes, keyframes[:1]]) if loop else keyframes
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    angles = np.arccos(np.clip(np.sum(unit[:-1] * unit[1:], axis=1), -1.0, 1.0))
    ends = np.concatenate([[0.0], np.cumsum(angles)])
    total = ends[-1]
    stop = frames if stop is None else min(stop, frames)
    positions = np.arange(start, stop) * total / (frames if loop else max(frames - 1, 1))
    out = np.empty((len(positions), keyframes.shape[1]), np.float32)
    for i, position in enumerate(positions):
        segment = min(int(np.searchsorted(ends, position, side="right")) - 1, len(angles) - 1)
        t = (position - ends[segment]) / angles[segment] if angles[segment] > 0 else 0.0
        out[i] = slerp(points[segment], points[segment + 1], float(np.clip(t, 0.0, 1.0)))
    return out


class Inverter:
    """Finds latents for pictures: ``invert(images)`` -> (N, latent_dim) float32.

    images: uint8 (N, S, S, 3) at the generator's size. The loss is the mean squared pixel error in
    [-1, 1] plus FEATURE_WEIGHT times the VGG16 feature errors (each layer's normalised by the target's
    mean square), minimised by Adam on z from seeded Gaussian starts for ``steps`` steps. One compiled
    step for any batch size.
    """

    def __init__(self, generator, steps: int = INVERT_STEPS, seed: int = 0, rate: float = INVERT_RATE):
        import tensorflow as tf

        from ..models import load_model

        self.generator = generator
        self.steps = int(steps)
        self.seed = seed
        self.rate = rate
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.features = load_model("vgg16", FEATURE_LAYERS, precision="float32")
        size = int(generator.outputs[0].shape[1])
        latent = tf.TensorSpec([None, self.latent_dim], tf.float32)
        self._step = tf.function(self._step_graph, input_signature=[
            latent, latent, latent, tf.TensorSpec([], tf.float32),
            tf.TensorSpec([None, size, size, 3], tf.float32)] + [tf.TensorSpec(None, tf.float32)] * len(FEATURE_LAYERS))

    def _loss(self, z, target, target_features):
        import tensorflow as tf

        picture = self.generator(z, training=False)
        loss = tf.reduce_mean(tf.square(picture - target), axis=[1, 2, 3])
        features = self.features.features((picture + 1.0) * 127.5)
        for got, want in zip(features, target_features):
            scale = tf.reduce_mean(tf.square(want), axis=[1, 2, 3]) + 1e-6
            loss += FEATURE_WEIGHT / len(FEATURE_LAYERS) * tf.reduce_mean(tf.square(got - want), axis=[1, 2, 3]) / scale
        return loss

    def _step_graph(self, z, m, v, t, target, *target_features):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(z)
            loss = tf.reduce_sum(self._loss(z, target, target_features))
        grad = tape.gradient(loss, z)
        b1, b2 = 0.9, 0.999
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * tf.square(grad)
        step = self.rate * tf.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return z - step * m / (tf.sqrt(v) + 1e-8), m, v, loss

    def invert(self, images: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        images = np.asarray(images)
        target = tf.constant(to_model(images))
        target_features = self.features.features(tf.constant(images.astype(np.float32)))
        z = tf.constant(np.random.default_rng([self.seed, 11]).standard_normal((len(images), self.latent_dim)),
                        tf.float32)
        m = v = tf.zeros_like(z)
        for t in range(1, self.steps + 1):
            z, m, v, _ = self._step(z, m, v, tf.constant(float(t)), target, *target_features)
        return z.numpy()
