import numpy as np
import pytest

from dreamvideo import DreamError
from dreamvideo.kernel import (IMAGENET_COLOUR_SQRT, SOFT_MARGIN, Dreamer, check_dream_settings, check_step_shape,
                               limit_range, octave_sizes, shape_gradient)
from dreamvideo.models import load_model
from dreamvideo.objectives import layers


@pytest.fixture(scope="module")
def tiny_dreamer(tiny_model_file):
    objective = layers("conv2", "conv3:0.5")
    return Dreamer(load_model(tiny_model_file, objective.layers, "float32"), objective, tile_size=512)


def test_objective_rises_over_steps(tiny_dreamer, random_image):
    image = random_image().astype(np.float32)
    before = tiny_dreamer.loss(image)
    after_one = tiny_dreamer.loss(tiny_dreamer.dream(image, octaves=1, steps=1, step_size=2.0))
    after_three = tiny_dreamer.loss(tiny_dreamer.dream(image, octaves=1, steps=3, step_size=2.0))
    assert before < after_one < after_three


def test_shape_dtype_and_range_survive(tiny_dreamer, random_image):
    image = random_image(37, 53)
    out = tiny_dreamer.dream(image, octaves=2, steps=2, step_size=50.0)
    assert out.shape == image.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 255.0
    # A big step must push some pixels to the clip limits: the clip is what keeps the range.
    assert (out == 0.0).any() or (out == 255.0).any()


def test_no_retrace_across_sizes_step_sizes_and_weights(tiny_dreamer, random_image):
    tiny_dreamer.dream(random_image(32, 40), octaves=1, steps=1)
    traces = tiny_dreamer.trace_count
    for (h, w), step, weights in [((48, 64), 0.5, [1.0, 0.5]), ((71, 33), 3.0, [0.2, 2.0]),
                                  ((96, 96), 1.0, [1.0, -1.0])]:
        tiny_dreamer.dream(random_image(h, w), octaves=2, steps=2, step_size=step, weights=weights)
    assert tiny_dreamer.trace_count == traces


def test_tiled_and_untiled_gradients_agree_away_from_tile_borders(tiny_model_file, random_image):
    objective = layers("conv3")
    model = load_model(tiny_model_file, objective.layers, "float32")
    image = random_image(64, 64).astype(np.float32)
    whole = Dreamer(model, objective, tile_size=64).gradient(image)
    tiled = Dreamer(model, objective, tile_size=32).gradient(image)  # 2x2 tiles, seams at 32
    # The tiny model's receptive field reaches 5 px (with the pooling, up to 10): stay 12 px from seams.
    far = np.ones((64, 64), bool)
    far[32 - 12:32 + 12, :] = False
    far[:, 32 - 12:32 + 12] = False
    assert np.abs(whole).max() > 0
    np.testing.assert_allclose(tiled[far], whole[far], rtol=1e-4, atol=1e-6 * np.abs(whole).max())
    # Near the seams they differ: the tiles really were computed separately.
    assert not np.allclose(tiled[~far], whole[~far], rtol=1e-4, atol=1e-6 * np.abs(whole).max())


def test_the_one_tile_step_gives_the_tiled_steps_values_bit_for_bit(tiny_model_file, random_image):
    import tensorflow as tf

    objective = layers("conv2", "conv3:0.5")
    dreamer = Dreamer(load_model(tiny_model_file, objective.layers, "float32"), objective, tile_size=64)
    image = tf.constant(random_image(48, 64).astype(np.float32))
    arguments = (tf.constant(2.0), tf.constant([5, 9], tf.int32), tf.constant([1.0, 0.5]), tf.ones([48, 64, 1]))
    tiled = dreamer._step_fn("mean", True, "soft", tiled=True)(image, *arguments).numpy()
    whole = dreamer._step_fn("mean", True, "soft", tiled=False)(image, *arguments).numpy()
    assert np.abs(tiled - image.numpy()).max() > 0.5  # the step moved the picture
    np.testing.assert_array_equal(whole, tiled)


def test_a_dream_larger_than_a_tile_is_computed_tile_by_tile(tiny_model_file, random_image):
    objective = layers("conv3")
    model = load_model(tiny_model_file, objective.layers, "float32")
    image = random_image(64, 64)
    one_tile = Dreamer(model, objective, tile_size=64).dream(image, octaves=1, steps=3, seed=1)
    four_tiles = Dreamer(model, objective, tile_size=32).dream(image, octaves=1, steps=3, seed=1)
    # The tiles see no context across their seams, so the steps differ there.
    assert np.abs(four_tiles - one_tile).max() > 0.5


def test_seed_makes_runs_reproducible(tiny_dreamer, random_image):
    image = random_image()
    a = tiny_dreamer.dream(image, octaves=2, steps=3, seed=7)
    b = tiny_dreamer.dream(image, octaves=2, steps=3, seed=7)
    c = tiny_dreamer.dream(image, octaves=2, steps=3, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_strength_zero_leaves_pixels_untouched(tiny_dreamer, random_image):
    image = random_image().astype(np.float32)
    strength = np.ones(image.shape[:2], np.float32)
    strength[:, :32] = 0.0
    out = tiny_dreamer.dream(image, octaves=1, steps=3, strength=strength)
    np.testing.assert_allclose(out[:, :30], image[:, :30], atol=1e-3)
    assert np.abs(out[:, 34:] - image[:, 34:]).mean() > 0.5


def test_octave_sizes_smallest_first_and_clamped():
    assert octave_sizes(100, 200, 3, 2.0, 10) == [(25, 50), (50, 100), (100, 200)]
    # The 12x25 octave would be under the model's 20 px minimum: dropped.
    assert octave_sizes(100, 200, 4, 2.0, 20) == [(25, 50), (50, 100), (100, 200)]
    assert octave_sizes(10, 10, 3, 2.0, 32) == [(10, 10)]


@pytest.mark.parametrize("kwargs", [dict(octaves=0), dict(steps=-1), dict(steps=1.5), dict(octave_scale=1.0),
                                    dict(step_size=0), dict(step_size=float("nan"))])
def test_bad_settings_raise(kwargs):
    with pytest.raises(DreamError):
        check_dream_settings(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(normalize="max"), dict(decorrelate="yes"), dict(range_limit="tanh")])
def test_bad_step_shapes_raise(kwargs, tiny_dreamer, random_image):
    with pytest.raises(DreamError):
        check_step_shape(**kwargs)
    with pytest.raises(DreamError):
        tiny_dreamer.dream(random_image(), octaves=1, steps=1, **kwargs)


@pytest.mark.parametrize("normalize, decorrelate", [("mean", False), ("lap", False), ("mean", True), ("lap", True)])
def test_every_step_shape_has_mean_absolute_value_one(normalize, decorrelate):
    gradient = np.random.default_rng(1).normal(0, 7, (37, 53, 3)).astype(np.float32)
    shaped = shape_gradient(gradient, normalize, decorrelate).numpy()
    assert shaped.shape == gradient.shape and shaped.dtype == np.float32
    assert np.mean(np.abs(shaped)) == pytest.approx(1.0, rel=1e-4)


def test_decorrelated_step_has_the_colour_covariance_of_imagenet_photos():
    """Known answer: a white-noise gradient (channels independent, equal spread) becomes a step whose
    colour covariance is C C^T, C the square root of ImageNet's colour covariance."""
    gradient = np.random.default_rng(0).normal(size=(256, 256, 3)).astype(np.float32)
    step = shape_gradient(gradient, "mean", decorrelate=True).numpy().reshape(-1, 3)
    expected = IMAGENET_COLOUR_SQRT @ IMAGENET_COLOUR_SQRT.T
    covariance = np.cov(step.T)
    # Same shape of covariance, up to the overall scale that the normalisation sets.
    np.testing.assert_allclose(covariance / np.trace(covariance), expected / np.trace(expected), atol=0.01)
    # Mostly lightness: the channels move together (correlations 0.8-0.9), unlike the white gradient's 0.
    assert np.corrcoef(step.T)[0, 1] > 0.85 and abs(np.corrcoef(gradient.reshape(-1, 3).T)[0, 1]) < 0.01
    plain = shape_gradient(gradient, "mean").numpy().reshape(-1, 3)
    assert abs(np.corrcoef(plain.T)[0, 1]) < 0.01


def test_laplacian_normalisation_gives_every_band_the_same_weight():
    """Known answer: a checkerboard lives in the finest band alone and a constant in the coarsest alone,
    so after each band is scaled to unit RMS, 10 + 0.1 * checkerboard becomes 1 + checkerboard."""
    y, x = np.mgrid[:45, :62]
    checkerboard = np.repeat(((-1.0) ** (x + y))[..., None], 3, axis=2)
    gradient = (10.0 + 0.1 * checkerboard).astype(np.float32)
    np.testing.assert_allclose(shape_gradient(gradient, "lap").numpy(), 1.0 + checkerboard, atol=0.02)
    # The mean-absolute normalisation keeps the proportions: the checkerboard stays a ripple of 1%.
    np.testing.assert_allclose(shape_gradient(gradient, "mean").numpy(), gradient / 10.0, rtol=1e-5)


def test_soft_range_limit_shrinks_steps_toward_the_bounds():
    image = np.array([[[250.0, 5.0, 128.0]]], np.float32)
    update = np.array([[[2.0, -2.0, 2.0]]], np.float32)
    soft = limit_range(image, update, "soft").numpy()
    np.testing.assert_allclose(soft[0, 0], [250 + 2 * 5 / SOFT_MARGIN, 5 - 2 * 5 / SOFT_MARGIN, 130.0], rtol=1e-6)
    # Away from the bound nothing is held back, and a huge step is still kept in range.
    away = limit_range(image, -update * 100, "soft").numpy()
    np.testing.assert_allclose(away[0, 0], [50.0, 205.0, 0.0])
    np.testing.assert_allclose(limit_range(image, update * 10, "clip").numpy()[0, 0], [255.0, 0.0, 148.0])


def test_soft_range_limit_leaves_fewer_pixels_on_the_bounds(tiny_dreamer, random_image):
    image = random_image(48, 64)
    on_bounds = {}
    for limit in ("clip", "soft"):
        out = tiny_dreamer.dream(image, octaves=1, steps=8, step_size=4.0, range_limit=limit)
        on_bounds[limit] = float(((out <= 0.5) | (out >= 254.5)).mean())
    assert on_bounds["clip"] > 0.05 and on_bounds["soft"] < on_bounds["clip"] / 3


def test_dream_octaves_adds_the_scaled_up_changes_of_the_smallest_octaves(tiny_dreamer, random_image):
    """Known answer: dreaming only the smallest of 3 octaves is the one-octave dream of the image scaled
    down, whose changes, scaled up again, are added to the full-size image."""
    import tensorflow as tf

    image = random_image(48, 64).astype(np.float32)
    size = octave_sizes(48, 64, 3, 1.4, tiny_dreamer.model.min_side)[0]
    small = tf.image.resize(image, size, method="area").numpy()
    changes = tiny_dreamer.dream(small, octaves=1, steps=2, seed=4) - small
    expected = np.clip(image + tf.image.resize(changes, (48, 64)).numpy(), 0, 255)
    only_smallest = tiny_dreamer.dream(image, octaves=3, steps=2, seed=4, dream_octaves=1)
    np.testing.assert_allclose(only_smallest, expected, atol=1e-3)
    # -1: all but the largest; 3 (or more): all of them
    assert not np.allclose(tiny_dreamer.dream(image, octaves=3, steps=2, seed=4, dream_octaves=-1), only_smallest)
    np.testing.assert_array_equal(tiny_dreamer.dream(image, octaves=3, steps=2, seed=4, dream_octaves=5),
                                  tiny_dreamer.dream(image, octaves=3, steps=2, seed=4))


def test_a_slice_of_octaves_dreams_those_alone_from_the_image_scaled_down(tiny_dreamer, random_image):
    """Known answer: slice(-2, -1) of 3 octaves (the one just below the full size, what a carried frame
    dreams) is the one-octave dream of the image scaled to that size, its changes scaled up and added."""
    import tensorflow as tf

    image = random_image(48, 64).astype(np.float32)
    size = octave_sizes(48, 64, 3, 1.4, tiny_dreamer.model.min_side)[1]
    small = tf.image.resize(image, size, method="area").numpy()
    changes = tiny_dreamer.dream(small, octaves=1, steps=2, seed=4) - small
    expected = np.clip(image + tf.image.resize(changes, (48, 64)).numpy(), 0, 255)
    middle = tiny_dreamer.dream(image, octaves=3, steps=2, seed=4, dream_octaves=slice(-2, -1))
    np.testing.assert_allclose(middle, expected, atol=1e-3)
    # a slice past the smallest octave takes what there is: here, every octave below the full size
    np.testing.assert_array_equal(tiny_dreamer.dream(image, octaves=3, steps=2, seed=4, dream_octaves=slice(-9, -1)),
                                  tiny_dreamer.dream(image, octaves=3, steps=2, seed=4, dream_octaves=-1))


def test_bfloat16_gradient_matches_float32_on_embedded_model(random_image):
    objective = layers("block4_conv3")
    image = random_image(96, 128, seed=3).astype(np.float32)
    model32 = load_model("vgg16", objective.layers, "float32")
    model16 = load_model("vgg16", objective.layers, "bfloat16")
    # The convolutions really compute in bfloat16 (with float32 variables), and only in the bf16 model.
    convs16 = [layer for layer in model16.keras_model.layers if hasattr(layer, "kernel")]
    assert convs16 and all(layer.compute_dtype == "bfloat16" for layer in convs16)
    assert all(layer.variable_dtype == "float32" for layer in convs16)
    assert all(layer.compute_dtype == "float32" for layer in model32.keras_model.layers if hasattr(layer, "kernel"))
    g32 = Dreamer(model32, objective).gradient(image)
    g16 = Dreamer(model16, objective).gradient(image)
    # Close in direction, but not the same numbers: identical gradients would mean float32 in disguise.
    assert not np.array_equal(g32, g16)
    cosine = float((g32 * g16).sum() / np.linalg.norm(g32) / np.linalg.norm(g16))
    assert cosine >= 0.99, cosine
