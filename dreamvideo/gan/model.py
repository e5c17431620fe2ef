"""The DCGAN networks (Radford et al. 2016), built with Keras, and their FLOP counts.

Generator: latent z (float32, ``latent_dim``) -> a dense 4x4x256 map, then stride-2 transposed
convolutions (kernel 4) that double the side and halve the channels, each with batch norm and ReLU, and a
last one to 3 channels with tanh: an RGB image in [-1, 1] of side 32, 64 or 128.
Discriminator: the mirror: stride-2 convolutions (kernel 4) with LeakyReLU(0.2) and batch norm (none on the
first, as in the paper) down to 4x4x256, then one logit.

The paper's generator uses ReLU and its discriminator LeakyReLU; so do these. Widths are kept small
(256 channels at 4x4, halving per doubling of the side) so that a CPU trains one in minutes.
"""

from __future__ import annotations

import math

TOP_CHANNELS = 256  # channels of the 4x4 map at the generator's start and the discriminator's end
BN_MOMENTUM = 0.9  # Keras's 0.99 leaves the moving statistics far behind after a few hundred steps


def _upsamplings(size: int) -> int:
    return int(math.log2(size // 4))


def build_generator(size: int, latent_dim: int):
    import keras
    from keras import layers

    z = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(4 * 4 * TOP_CHANNELS, use_bias=False, name="project")(z)
    x = layers.Reshape((4, 4, TOP_CHANNELS))(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.ReLU()(x)
    channels = TOP_CHANNELS
    for i in range(_upsamplings(size) - 1):
        channels //= 2
        x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", use_bias=False, name=f"up{i + 1}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh", name="to_rgb")(x)
    return keras.Model(z, x, name=f"generator{size}")


def build_discriminator(size: int):
    import keras
    from keras import layers

    image = keras.Input(shape=(size, size, 3), name="image")
    x = image
    steps = _upsamplings(size)
    for i in range(steps):
        channels = TOP_CHANNELS >> (steps - 1 - i)
        x = layers.Conv2D(channels, 4, strides=2, padding="same", use_bias=i == 0, name=f"down{i + 1}")(x)
        if i > 0:
            x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(1, name="logit")(x)
    return keras.Model(image, x, name=f"discriminator{size}")


def forward_flops(model) -> float:
    """FLOPs (2 x multiply-adds) of one sample's forward pass through the dense and conv layers.

    Conv2D: 2 * kh * kw * C_in * C_out per output position; Conv2DTranspose: the same per *input*
    position (each input pixel is spread over a kh x kw window); Dense: 2 * inputs * outputs. Batch norm,
    activations and the loss are left out (a few percent at most).
    """
    from keras import layers

    total = 0.0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2DTranspose):
            kh, kw, cout, cin = layer.kernel.shape
            _, h, w, _ = layer.input.shape
            total += 2.0 * kh * kw * cin * cout * h * w
        elif isinstance(layer, layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, h, w, _ = layer.output.shape
            total += 2.0 * kh * kw * cin * cout * h * w
        elif isinstance(layer, layers.Dense):
            cin, cout = layer.kernel.shape
            total += 2.0 * cin * cout
    return total


def train_step_flops(generator, discriminator) -> float:
    """FLOPs per training image of one step (see training.py): forward G and D on real and fake, then the
    generator's gradient through D and G and the discriminator's through D twice, a backward pass costing
    about two forwards: 3 G + 7 D."""
    return 3.0 * forward_flops(generator) + 7.0 * forward_flops(discriminator)
