"""FeatureModel, the one interface of every backbone, and the preprocessing each kind of weights expects."""

from __future__ import annotations

from typing import Callable, Sequence

# The Caffe-trained VGG weights (both HED's and Keras's) expect BGR minus these means.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


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


def _caffe_preprocess(images):
    import tensorflow as tf

    mean = tf.constant(_CAFFE_MEAN_BGR, dtype=tf.float32)
    return images[..., ::-1] - mean


def _tf_preprocess(images):
    return images / 127.5 - 1.0


#: RGB float32 [0, 255] -> what the weights were trained on, by ModelSpec.preprocessing.
PREPROCESS = {"caffe": _caffe_preprocess, "tf": _tf_preprocess, "none": lambda images: images}
