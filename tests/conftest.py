"""Shared fixtures: a tiny random-weight model for the kernel's logic, and paths to shared media."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def make_tiny_keras_model(seed=0):
    """Three small conv layers with a pooling step: receptive field 10 px, deterministic weights."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(None, None, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(2, padding="same")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv3")(x)
    return keras.Model(inputs, x, name="tiny")


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    make_tiny_keras_model().save(path)
    return str(path)


@pytest.fixture()
def random_image():
    def make(height=48, width=64, seed=0):
        rng = np.random.default_rng(seed)
        # Smooth-ish content: random noise blurred by upsampling, so features are not pure noise.
        small = rng.uniform(0, 255, (height // 4 + 1, width // 4 + 1, 3)).astype(np.float32)
        import cv2

        return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)

    return make
