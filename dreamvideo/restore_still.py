"""Stills: a masked region filled by a Deep Image Prior, a small convolutional network fitted to the picture itself.

Ulyanov, Vedaldi and Lempitsky, "Deep Image Prior" (CVPR 2018): an hourglass network maps a fixed random
input to an image and is fitted, from random weights, to the known pixels only; its structure fills the hole
with the picture's own textures before it could fit noise. No pretrained weights. Only the box around the
mask (with a margin as wide as the hole, at least CONTEXT px) is fitted, so the cost follows the hole, not
the photo; the result is pasted back, outside the mask the photo is left exactly as it was.
"""

from __future__ import annotations

import logging

import numpy as np

from .arrays import float255_to_uint8
from .errors import DreamError
from .fill import GROW, _box, as_mask, check_fixed_mask, grow_mask

log = logging.getLogger(__name__)

ITERATIONS = 600
# Adam at 0.01 (the paper's rate, with batch normalisation) saturated this smaller net's sigmoid within 20 steps (a
# 64 px hole came out (255, 255, 0)); at 0.001 it fits: 14.8 dB in the hole after 300 steps, cv2.inpaint 17.7.
LEARNING_RATE = 0.001
CHANNELS = (16, 32, 64, 64)  # per level of the hourglass, finest first
INPUT_CHANNELS = 16
CONTEXT = 48  # px of picture kept around the hole, at least


def deep_image_prior(image: np.ndarray, mask, *, iterations: int = ITERATIONS, seed: int = 0, grow: int = GROW,
                     quiet: bool = False) -> np.ndarray:
    """Fill ``mask`` (white: damaged; see :func:`dreamvideo.restore.as_mask`) of uint8 (H, W, 3) RGB ``image``
    with a Deep Image Prior fitted for ``iterations`` steps (Adam), with a tqdm progress bar unless ``quiet``.
    The same seed gives the same pixels on the same machine. Returns uint8 (H, W, 3)."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise DreamError(f"the picture must be uint8 (H, W, 3) RGB, got {getattr(image, 'shape', type(image))}")
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise DreamError(f"prior iterations must be a whole number >= 1, got {iterations!r}")
    height, width = image.shape[:2]
    hole = grow_mask(as_mask(mask, height, width), grow)
    check_fixed_mask(hole)
    rows, columns = np.nonzero(hole)
    margin = max(CONTEXT, int(np.ptp(rows)) + 1, int(np.ptp(columns)) + 1)
    y0, y1, x0, x1 = _box(hole, margin, image.shape)
    crop, crop_hole = image[y0:y1, x0:x1], hole[y0:y1, x0:x1]
    filled = _fit(crop, crop_hole, iterations, seed, quiet)
    out = image.copy()
    out[y0:y1, x0:x1][crop_hole] = filled[crop_hole]
    return out


def _fit(crop: np.ndarray, hole: np.ndarray, iterations: int, seed: int, quiet: bool) -> np.ndarray:
    from tqdm import tqdm

    from .runtime import import_tensorflow

    tf = import_tensorflow()
    import keras

    height, width = crop.shape[:2]
    step = 2 ** len(CHANNELS)
    # The hourglass halves the size at each level: pad (reflected) to a multiple of 2^levels.
    pad_h, pad_w = -height % step, -width % step
    target = np.pad(crop.astype(np.float32) / 255.0, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect")
    known = np.pad((~hole).astype(np.float32), ((0, pad_h), (0, pad_w)), mode="constant")[..., None]
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    noise = tf.constant(rng.uniform(0, 0.1, (1, *target.shape[:2], INPUT_CHANNELS)).astype(np.float32))
    network = _hourglass(keras, INPUT_CHANNELS)
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    target_t, known_t = tf.constant(target[None]), tf.constant(known[None])
    jitter = tf.random.Generator.from_seed(seed)

    @tf.function
    def train_step():
        # A little fresh noise on the input each step, as in the paper: it keeps the fit from settling on noise.
        inputs = noise + jitter.normal(tf.shape(noise), stddev=1 / 30)
        with tf.GradientTape() as tape:
            output = network(inputs, training=True)
            loss = tf.reduce_sum(tf.square(output - target_t) * known_t) / tf.reduce_sum(known_t)
        gradients = tape.gradient(loss, network.trainable_variables)
        optimizer.apply_gradients(zip(gradients, network.trainable_variables))
        return loss

    with tqdm(range(iterations), disable=quiet, desc="deep image prior", unit="step", dynamic_ncols=True) as bar:
        for index in bar:
            loss = train_step()
            if index % 50 == 0:
                bar.set_postfix(loss=f"{float(loss):.5f}")
    output = network(noise, training=False).numpy()[0, :height, :width]
    return float255_to_uint8(output * 255.0)


def _hourglass(keras, input_channels: int):
    """The encoder-decoder with skip connections of the paper's inpainting experiments, smaller: strided
    3x3 convolutions down, bilinear upsampling and 3x3 convolutions up, 4-channel skips, LeakyReLU (no batch
    normalisation: the batch is one picture, and it doubled the time of a step)."""
    layers = keras.layers

    def leaky(x):
        # max(x, 0.2 x), LeakyReLU's value: TensorFlow's graph optimiser fuses Conv2D + BiasAdd + LeakyRelu
        # for oneDNN and then fails on the training graph, whose gradient needs the unfused BiasAdd ("remapper
        # failed: ... missing node", printed on every fit); a maximum is not fused.
        return layers.Maximum()([x, layers.Rescaling(0.2)(x)])

    inputs = keras.Input((None, None, input_channels))
    x = inputs
    skips = []
    for channels in CHANNELS:
        skips.append(leaky(layers.Conv2D(4, 1)(x)))
        x = leaky(layers.Conv2D(channels, 3, 2, padding="same")(x))
        x = leaky(layers.Conv2D(channels, 3, padding="same")(x))
    for channels, skip in zip(reversed(CHANNELS), reversed(skips)):
        x = layers.UpSampling2D(2, interpolation="bilinear")(x)
        x = layers.Concatenate()([x, skip])
        x = leaky(layers.Conv2D(channels, 3, padding="same")(x))
    outputs = layers.Conv2D(3, 1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="deep_image_prior")
