"""Colour matching: CIELAB statistics and their transfer, and chroma alone."""

import cv2
import numpy as np
import pytest

from dreamvideo import DreamError, colour
from dreamvideo.colour import match_chroma, mean_chroma

from test_motion import periodic_texture


def colour_pair():
    reference = periodic_texture(64, 80, seed=9, sigma=3.0).astype(np.float32) / 255
    reference = 0.25 + 0.5 * reference  # well inside the gamut, so nothing clips
    cast = reference * np.float32([1.1, 0.95, 0.7]) + np.float32([0.03, 0.0, 0.0])
    return reference, np.clip(cast, 0, 1).astype(np.float32)


def test_colour_stats_of_a_known_colour():
    grey = np.full((8, 8, 3), 0.5, np.float32)
    stats = colour.colour_stats(grey)
    assert stats.mean.shape == (3,) and stats.std.shape == (3,)
    assert abs(stats.mean[0] - 53.39) < 0.1  # CIELAB L* of sRGB mid grey
    assert np.abs(stats.mean[1:]).max() < 0.01 and np.abs(stats.std).max() < 1e-3
    red = colour.colour_stats(np.full((4, 4, 3), [255, 0, 0], np.uint8))
    np.testing.assert_allclose(red.mean, [53.24, 80.09, 67.20], atol=0.3)


def test_match_colour_brings_a_cast_back_to_the_reference():
    reference, cast = colour_pair()
    target = colour.colour_stats(reference)
    before = colour.colour_stats(cast)
    assert np.abs(before.mean - target.mean).max() > 5  # the cast is real
    matched = colour.match_colour(cast, target)
    assert matched.dtype == np.float32 and matched.shape == cast.shape
    after = colour.colour_stats(matched)
    tolerance = 0.01 * np.maximum(np.abs(target.mean), 10.0)  # 1%, of at least 10 LAB units
    assert (np.abs(after.mean - target.mean) <= tolerance).all()
    assert (np.abs(after.std - target.std) <= 0.02 * target.std + 0.05).all()
    as_uint8 = colour.match_colour(np.rint(cast * 255).astype(np.uint8), target)
    assert as_uint8.dtype == np.uint8
    assert (np.abs(colour.colour_stats(as_uint8).mean - target.mean) <= tolerance).all()


def test_match_colour_strength():
    reference, cast = colour_pair()
    target = colour.colour_stats(reference)
    np.testing.assert_array_equal(colour.match_colour(cast, target, strength=0.0), cast)
    uint8_cast = np.rint(cast * 255).astype(np.uint8)
    np.testing.assert_array_equal(colour.match_colour(uint8_cast, target, strength=0.0), uint8_cast)
    half = colour.colour_stats(colour.match_colour(cast, target, strength=0.5)).mean
    before = colour.colour_stats(cast).mean
    np.testing.assert_allclose(half, (before + target.mean) / 2, atol=0.3)


def test_match_colour_rejects_bad_input():
    reference, cast = colour_pair()
    stats = colour.colour_stats(reference)
    with pytest.raises(DreamError):
        colour.match_colour(cast, stats, strength=1.5)
    with pytest.raises(DreamError):
        colour.match_colour(cast * 255, stats)  # floats must be 0-1
    with pytest.raises(DreamError):
        colour.match_colour(cast, "warm")
    with pytest.raises(DreamError):
        colour.colour_stats(cast[..., 0])


def test_match_chroma_reaches_the_target_chroma_and_keeps_lightness(random_image):
    image = (random_image(48, 64, seed=4).astype(np.float32) * 0.5 + 64).astype(np.uint8)  # in gamut
    own = mean_chroma(image)
    target = own * 1.3
    matched = match_chroma(image, target, strength=1.0)
    assert mean_chroma(matched) == pytest.approx(target, rel=0.03)
    assert np.array_equal(match_chroma(image, target, strength=0.0), image)
    half = mean_chroma(match_chroma(image, target, strength=0.5))
    assert own < half < mean_chroma(matched)
    lightness = lambda im: cv2.cvtColor(im.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)[..., 0].mean()
    assert lightness(matched) == pytest.approx(lightness(image), abs=0.5)
