"""Unit tests of dreamvideo.objectives: layer specs, the algebra of terms and weights, render-file dicts,
and what each kind of term does to an image (known directions, measured on the tiny random-weight model).

The term tests dream the same 48x64 picture for 3 steps at one octave, with and without the term, and
compare a measurement that does not come from the term under test where possible (total variation in
numpy, channel means from the feature model) or the objectives' own ``closeness``.
"""

import cv2
import numpy as np
import pytest

from dreamvideo import DreamError, media
from dreamvideo.kernel import Dreamer
from dreamvideo.models import load_model
from dreamvideo.objectives import Objective, from_dicts, guide, layers, parse_layer_spec, style, tv

DREAM = dict(octaves=1, steps=3, step_size=3.0, seed=0)


def smooth_picture(height=48, width=64, seed=0, cells=4):
    """uint8 (H, W, 3): uniform noise on a coarse grid, upsampled bicubically (a texture, not white noise)."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, (height // cells + 1, width // cells + 1, 3)).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


def write_png(path, rgb):
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))
    return str(path)


def total_variation(image) -> float:
    """Mean squared neighbour difference on 0-1 RGB, in numpy (a second opinion on the tv term)."""
    pixels = np.asarray(image, np.float64) / 255.0
    return float(np.mean(np.diff(pixels, axis=0) ** 2) + np.mean(np.diff(pixels, axis=1) ** 2))


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """The picture to dream, and the target images of guide/style terms (vertical green stripes, a text file)."""
    folder = tmp_path_factory.mktemp("objective_images")
    stripes = np.zeros((48, 64, 3), np.uint8)
    stripes[:, ::4] = 255
    stripes[..., 1] = 80
    text = folder / "notes.png"
    text.write_text("this is not a picture\n")
    return {"source": smooth_picture(), "stripes": write_png(folder / "stripes.png", stripes), "text": str(text)}


@pytest.fixture(scope="module")
def make_dreamer(tiny_model_file):
    def make(objective: Objective) -> Dreamer:
        model = load_model(tiny_model_file, objective.layers, "float32")
        return Dreamer(model, objective, tile_size=512, read_image=media.read_image)

    return make


# ------------------------------------------------------------------------------------------ layer specs


@pytest.mark.parametrize("spec, name, channels, weight", [
    ("block4_conv3", "block4_conv3", None, 1.0),
    (" block3_conv3:0.5 ", "block3_conv3", None, 0.5),
    ("block4_conv3/12", "block4_conv3", (12,), 1.0),
    ("block4_conv3/12,40-43:2", "block4_conv3", (12, 40, 41, 42, 43), 2.0),
    ("block4_conv3/ 5, 3-4, 5", "block4_conv3", (5, 3, 4), 1.0),  # spaces allowed, repeats dropped, order kept
    ("mixed3:-0.25", "mixed3", None, -0.25),
])
def test_layer_spec_name_channels_and_weight(spec, name, channels, weight):
    term = parse_layer_spec(spec)
    assert term.kind == "layer" and term.layers == (name,) and term.channels == channels and term.image is None
    assert Objective([term]).weights_at(0) == [weight]


def test_keyframed_layer_weight_follows_its_keyframes():
    term = parse_layer_spec("block3_conv3:0:(1), 99:(0)")  # everything after the first colon is the weight
    objective = Objective([term])
    assert term.layers == ("block3_conv3",)
    assert objective.weights_at(0) == [1.0]
    assert objective.weights_at(99) == [0.0]
    assert objective.weights_at(33) == pytest.approx([1 - 33 / 99])
    assert objective.weights_at(500) == [0.0]  # held after the last keyframe


def test_spec_text_parses_back_to_the_same_term():
    for text in ("block4_conv3", "block4_conv3/3,7:0.5", "block3_conv3:0:(1), 99:(0)"):
        term = parse_layer_spec(text)
        again = parse_layer_spec(term.spec())
        assert again.key() == term.key()
        assert [Objective([again]).weights_at(f) for f in (0, 40, 99)] == \
               [Objective([term]).weights_at(f) for f in (0, 40, 99)]
    assert parse_layer_spec("block4_conv3:1").spec() == "block4_conv3"  # weight 1 is not written


@pytest.mark.parametrize("spec, needle", [
    ("block4_conv3/", "channels"),
    ("block4_conv3/x", "channels"),
    ("block4_conv3/1,,2", "channels"),
    ("block4_conv3/-3", "channels"),
    ("block4_conv3/9-3", "backwards"),
    ("block4_conv3:", "nothing after ':'"),
    (":0.5", "no layer name"),
    ("/12", "no layer name"),
])
def test_bad_layer_specs_name_the_spec(spec, needle):
    with pytest.raises(DreamError) as error:
        parse_layer_spec(spec)
    assert repr(spec) in str(error.value) and needle in str(error.value)


@pytest.mark.parametrize("spec, weight_text, position", [
    ("block4_conv3:0:(1", "0:(1", "character 3"),
    ("block4_conv3:abc", "abc", "character 1"),
    ("block4_conv3:0:(1), 0:(2)", "0:(1), 0:(2)", "character"),
])
def test_bad_layer_weights_name_the_layer_the_weight_and_the_position(spec, weight_text, position):
    with pytest.raises(DreamError) as error:
        parse_layer_spec(spec)
    message = str(error.value)
    assert "block4_conv3" in message and weight_text in message and position in message


# ------------------------------------------------------------------------------------------ algebra


def test_numbers_scale_and_add_terms():
    a, b = layers("a"), layers("b")
    mixed = 0.7 * a + 0.3 * b
    assert [t.layers for t in mixed.terms] == [("a",), ("b",)]
    assert mixed.weights_at(0) == pytest.approx([0.7, 0.3])
    assert (a * 2 * 3).weights_at(0) == [6.0]
    assert (-a).weights_at(0) == [-1.0]
    assert layers("a:0.5", "b").weights_at(0) == [0.5, 1.0]
    assert (2 * layers("a:0.5")).weights_at(7) == [1.0]


def test_subtracting_tv_gives_it_a_negative_weight():
    smooth = layers("a") - 0.2 * tv()
    assert [t.kind for t in smooth.terms] == ["layer", "tv"]
    assert smooth.weights_at(0) == pytest.approx([1.0, -0.2])
    assert smooth.layers == ("a",)  # tv reads no layer


def test_schedule_factors_change_weights_over_frames():
    a, b = layers("block3_conv3"), layers("block5_conv1")
    morph = a * "0:(1), 99:(0)" + b * "0:(0), 99:(1)"
    assert morph.weights_at(0) == [1.0, 0.0]
    assert morph.weights_at(99) == [0.0, 1.0]
    assert morph.weights_at(33) == pytest.approx([66 / 99, 33 / 99])
    # A scaled schedule and a callable factor.
    assert (0.5 * (a * "0:(2), 10:(4)")).weights_at(10) == pytest.approx([2.0])
    ramp = a * (lambda frame: frame / 10)
    assert ramp.weights_at(0) == [0.0] and ramp.weights_at(5) == [0.5]


def test_multiplying_by_keyframes_keeps_the_keyframe_text():
    """Weight 1 times keyframes is those keyframes: render files keep the artist's text, not 100 samples."""
    morph = layers("block3_conv3") * "0:(1), 99:(0)"
    assert morph.to_dicts() == [{"kind": "layer", "weight": "0:(1), 99:(0)", "layers": ["block3_conv3"]}]


def test_layers_are_distinct_in_first_use_order():
    objective = layers("b", "a:0.5", "b/3") + guide(__file__, "c") + style(__file__, ["a", "d"]) + tv()
    assert objective.layers == ("b", "a", "c", "d")


def test_objectives_refuse_what_is_not_an_objective():
    with pytest.raises(DreamError):
        Objective([])
    with pytest.raises(TypeError):
        layers("a") + 1
    with pytest.raises(TypeError):
        layers("a") * layers("b")
    with pytest.raises(DreamError, match="weight"):
        layers("a") * "0:(1"


# ------------------------------------------------------------------------------------------ render-file dicts


def test_to_dicts_and_from_dicts_round_trip(pictures):
    objective = (layers("block4_conv3/3,7-9:0:(1), 99:(0.5)", "block3_conv3:0.5")
                 + guide(pictures["stripes"], ["block4_conv3"], weight="0:(0), 50:(2)")
                 + style(pictures["stripes"], ("block1_conv1", "block2_conv1"), weight=3)
                 - 0.1 * tv())
    dicts = objective.to_dicts()
    assert dicts == [
        {"kind": "layer", "weight": "0:(1), 99:(0.5)", "layers": ["block4_conv3"], "channels": [3, 7, 8, 9]},
        {"kind": "layer", "weight": 0.5, "layers": ["block3_conv3"]},
        {"kind": "guide", "weight": "0:(0), 50:(2)", "layers": ["block4_conv3"], "image": pictures["stripes"]},
        {"kind": "style", "weight": 3.0, "layers": ["block1_conv1", "block2_conv1"], "image": pictures["stripes"]},
        {"kind": "tv", "weight": -0.1},
    ]
    again = from_dicts(dicts)
    assert again.key() == objective.key()
    assert again.to_dicts() == dicts
    for frame in (0, 25, 50, 99, 150):
        assert again.weights_at(frame) == pytest.approx(objective.weights_at(frame))


def test_callable_weights_are_written_frame_by_frame():
    objective = layers("a") * (lambda frame: frame * 0.25)
    with pytest.raises(DreamError, match="frames"):
        objective.to_dicts()
    dicts = objective.to_dicts(frames=4)
    assert dicts == [{"kind": "layer", "weight": "0:(0.0), 1:(0.25), 2:(0.5), 3:(0.75)", "layers": ["a"]}]
    assert [from_dicts(dicts).weights_at(f) for f in range(4)] == [[0.0], [0.25], [0.5], [0.75]]


@pytest.mark.parametrize("items, needle", [
    ([{"kind": "colour", "weight": 1}], "colour"),
    ([{"weight": 1}], "None"),
    ([], "at least one term"),
    ([{"kind": "layer", "layers": ["a"], "weight": "0:("}], "weight"),
    ([{"kind": "layer", "layers": ["a"], "weight": [1]}], "weight"),
    ([{"kind": "layer", "layers": 5}], "layers"),
    ([{"kind": "layer", "layers": ["a", "b"]}], "layers"),
    ([{"kind": "layer"}], "layers"),
    ([{"kind": "layer", "layers": ["a"], "channels": "3"}], "channels"),
    ([{"kind": "layer", "layers": ["a"], "channels": [-1]}], "channels"),
    ([{"kind": "guide", "layers": ["a"], "image": 3}], "image"),
    ([{"kind": "style", "layers": ["a"]}], "image"),
    ([{"kind": "tv", "weight": 1, "colour": 2}], "colour"),
    (["layer"], "term 1"),
])
def test_from_dicts_refuses_bad_terms(items, needle):
    with pytest.raises(DreamError, match=needle):
        from_dicts(items)


# ------------------------------------------------------------------------------------------ what terms do


def test_guide_raises_the_guide_closeness_more_than_plain_dreaming(make_dreamer, pictures):
    source = pictures["source"]
    guided = make_dreamer(guide(pictures["stripes"], "conv3"))
    plain = make_dreamer(layers("conv3"))

    def similarity(image):
        return guided.closeness(image)["guide"]

    before = similarity(source)
    with_guide = similarity(guided.dream(source, **DREAM))
    without = similarity(plain.dream(source, **DREAM))
    assert with_guide > before + 0.005
    assert with_guide - before > 3 * (without - before)
    assert 0 < before < with_guide <= 1.0  # a mean of cosine similarities


def test_style_lowers_the_gram_distance(make_dreamer, pictures):
    source = pictures["source"]
    styled = make_dreamer(style(pictures["stripes"], ("conv1", "conv2")))
    plain = make_dreamer(layers("conv3"))

    def distance(image):
        return styled.closeness(image)["style"]

    before = distance(source)
    after = distance(styled.dream(source, **DREAM))
    assert after < 0.9 * before
    assert after < distance(plain.dream(source, **DREAM))


def test_closeness_of_the_guide_image_to_itself_is_one_and_its_style_distance_zero(make_dreamer, pictures):
    objective = guide(pictures["stripes"], "conv3") + style(pictures["stripes"], ("conv1", "conv3"))
    dreamer = make_dreamer(objective)
    itself = media.read_image(pictures["stripes"]).astype(np.float32)
    measured = dreamer.closeness(itself)
    assert set(measured) == {"guide", "style"}
    assert measured["guide"] == pytest.approx(1.0, abs=1e-4)
    assert measured["style"] == pytest.approx(0.0, abs=1e-5)
    assert dreamer.closeness(pictures["source"])["style"] > 0.05


def test_several_guides_are_numbered(make_dreamer, pictures):
    objective = guide(pictures["stripes"], "conv3") + guide(pictures["stripes"], "conv2") + layers("conv1")
    assert set(make_dreamer(objective).closeness(pictures["source"])) == {"guide", "guide 2"}


def test_negative_tv_makes_the_dream_smoother(make_dreamer, pictures):
    source = pictures["source"]
    smooth = make_dreamer(layers("conv3") - tv())
    plain = make_dreamer(layers("conv3"))
    smoothed = smooth.dream(source, **DREAM)
    rough = plain.dream(source, **DREAM)
    assert total_variation(smoothed) < 0.8 * total_variation(rough)
    assert np.abs(smoothed - source).mean() > 0.5  # it still dreamed


def test_the_tv_term_value_is_the_total_variation(make_dreamer, pictures):
    dreamer = make_dreamer(layers("conv1") * 0.0 + tv())
    source = pictures["source"].astype(np.float32)
    # loss() is the whole objective on the whole image: 0 x conv1 + 1 x tv.
    assert dreamer.loss(source) == pytest.approx(total_variation(source), rel=1e-4)


@pytest.mark.parametrize("channel", [3, 14])
def test_dreaming_one_channel_raises_that_channel_most(make_dreamer, pictures, tiny_model_file, channel):
    source = pictures["source"]
    dreamer = make_dreamer(layers(f"conv3/{channel}"))
    import tensorflow as tf

    features = load_model(tiny_model_file, ["conv3"], "float32").features

    def channel_means(image):
        return features(tf.constant(np.asarray(image, np.float32)[None]))[0].numpy().mean(axis=(0, 1, 2))

    gain = channel_means(dreamer.dream(source, **DREAM)) - channel_means(source)
    assert gain.shape == (16,)
    assert int(np.argmax(gain)) == channel, np.round(gain, 3)
    assert gain[channel] > 1.2 * np.delete(gain, channel).max()


# ------------------------------------------------------------------------------------------ target images


@pytest.mark.parametrize("make", [guide, style])
def test_missing_target_image_names_the_file(make, tmp_path):
    missing = tmp_path / "gone" / "flowers.jpg"
    with pytest.raises(DreamError) as error:
        make(missing, "conv3")
    assert str(missing) in str(error.value) and "not found" in str(error.value)


@pytest.mark.parametrize("make", [guide, style])
def test_target_that_is_not_an_image_names_the_file(make, make_dreamer, pictures):
    with pytest.raises(DreamError) as error:
        make_dreamer(make(pictures["text"], "conv3"))
    assert pictures["text"] in str(error.value) and "not an image" in str(error.value)


def test_target_that_is_a_folder_names_it(tmp_path):
    with pytest.raises(DreamError) as error:
        guide(tmp_path, "conv3")
    assert str(tmp_path) in str(error.value)


def test_not_an_image_through_the_api_is_a_dream_error(tiny_model_file, pictures):
    from dreamvideo.api import dream_array

    with pytest.raises(DreamError) as error:
        dream_array(pictures["source"], model=tiny_model_file, layer=["conv3"], style=pictures["text"],
                    style_layer=["conv2"], octaves=1, steps=1, quiet=True)
    assert pictures["text"] in str(error.value)
