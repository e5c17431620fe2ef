"""Keras applications with ImageNet weights, which Keras downloads once into its cache."""

from __future__ import annotations

import socket
from typing import Sequence

from ..errors import DreamError
from .registry import ModelSpec


def _network_reachable(url: str, timeout: float = 3.0) -> bool:
    host = url.split("/")[2]
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def build(spec: ModelSpec, layers: Sequence[str]):
    """The application cut to the outputs of `layers`; offline and uncached, a DreamError naming the file."""
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
