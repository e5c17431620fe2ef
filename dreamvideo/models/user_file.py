"""A user's own Keras model file (``.keras`` or ``.h5``), cut at the layers asked for."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

from ..errors import DreamError
from ..runtime import import_tensorflow
from .features import PREPROCESS, FeatureModel
from .registry import validate_layers

logger = logging.getLogger("dreamvideo.models")


def load(path: str):
    """The Keras model in the file at `path`, uncompiled; DreamError when it is missing or unreadable."""
    import_tensorflow()
    import keras

    from ..media.files import regular_file

    regular_file(path, "model file")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise DreamError(f"cannot read Keras model {path}: {str(exc).splitlines()[0] if str(exc) else exc}") \
            from exc


def spatial_layer_names(keras_model) -> list[str]:
    """The names of the layers with (N, H, W, C) outputs, the ones a dream can amplify."""
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


def cut(path: str, layers: Sequence[str], policy: str) -> FeatureModel:
    """The model in the file at `path` cut to the outputs of `layers`; it always computes in its own dtype."""
    import keras

    base = load(path)
    validate_layers(path, spatial_layer_names(base), layers)
    inputs = base.inputs[0] if len(base.inputs) == 1 else base.inputs
    model = keras.Model(inputs, [base.get_layer(name).output for name in layers], name="user_model")
    if policy != "float32":
        logger.info("user model %s runs in its own dtype; bfloat16 applies to built-in models only", path)
    # A user's model receives RGB in [0, 255]; any preprocessing belongs inside the model.
    return FeatureModel(Path(path).name, model, layers, PREPROCESS["none"], 16, "float32")
