"""Tests for dreamvideo.metrics: the warping error on sequences with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dreamvideo import DreamError, metrics


def texture(height, width, shift=(0.0, 0.0), seed=0, sigma=2.0):
    """Smooth periodic uint8 RGB texture with its content moved by ``shift`` (exact, via the FFT)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((height, width, 3))
    ky = np.fft.fftfreq(height)[:, None, None]
    kx = np.fft.fftfreq(width)[None, :, None]
    spectrum = np.fft.fft2(noise, axes=(0, 1)) * np.exp(-2 * np.pi**2 * sigma**2 * (kx**2 + ky**2))
    base = np.fft.ifft2(spectrum, axes=(0, 1)).real
    moved = np.fft.ifft2(spectrum * np.exp(-2j * np.pi * (kx * shift[0] + ky * shift[1])), axes=(0, 1)).real
    image = (moved - base.min()) / (base.max() - base.min()) * 215 + 20
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def moving_sequence(count=4, step=(2.0, 1.0)):
    return [texture(72, 96, (step[0] * t, step[1] * t)) for t in range(count)]


def test_pair_warping_error_hand_computed():
    previous = np.zeros((2, 3, 3), np.float32)
    previous[..., 2] = 0.1
    current = np.zeros((2, 3, 3), np.float32)
    current[..., 0] = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
    forward = np.zeros((2, 3, 2), np.float32)
    forward[..., 0] = 1.0  # each pixel of the previous frame moved one pixel right
    mask = np.array([[1, 1, 0], [0, 1, 1]], np.float32)
    # current sampled at x + 1 (reflect-101 past the right edge): red [[.2, .3, .2], [.5, .6, .5]];
    # masked pixels: red .2, .3, .6, .5 plus blue .1 each -> (.04 + .09 + .36 + .25 + 4 * .01) / 4
    error = metrics.pair_warping_error(previous, current, forward, mask)
    assert error == pytest.approx(0.78 / 4, abs=1e-6)
    assert math.isnan(metrics.pair_warping_error(previous, current, forward, np.zeros((2, 3))))


def test_pair_warping_error_takes_uint8_as_0_to_255():
    previous = np.full((4, 4, 3), 100, np.uint8)
    current = np.full((4, 4, 3), 151, np.uint8)
    error = metrics.pair_warping_error(previous, current, np.zeros((4, 4, 2), np.float32), np.ones((4, 4)))
    assert error == pytest.approx(3 * 0.2**2, rel=1e-5)


def test_output_that_follows_the_input_motion_has_no_warping_error():
    inputs = moving_sequence()
    assert metrics.warping_error(inputs, inputs) < 1e-4
    # Any per-pixel function of the input moves with it too.
    assert metrics.warping_error(inputs, [255 - frame for frame in inputs]) < 1e-4


def test_output_that_ignores_the_input_motion_has_a_large_warping_error():
    inputs = moving_sequence()
    still = [inputs[0]] * len(inputs)
    # F comes from the INPUT: a still output over moving input is inconsistent, and the other way round.
    assert metrics.warping_error(inputs, still) > 0.01
    assert metrics.warping_error(still, inputs) > 0.01


def test_independent_noise_has_a_large_warping_error():
    rng = np.random.default_rng(1)
    inputs = moving_sequence()
    noise = [rng.integers(0, 256, frame.shape, dtype=np.uint8) for frame in inputs]
    # Two independent uniform values differ by 1/6 squared on average: 0.5 summed over RGB.
    assert metrics.warping_error(inputs, noise) == pytest.approx(0.5, abs=0.05)


def test_static_input_and_flat_outputs_give_the_exact_error():
    still = [texture(48, 64)] * 3
    outputs = [np.full((48, 64, 3), value, np.uint8) for value in (100, 126, 100)]
    assert metrics.warping_error(still, outputs) == pytest.approx(3 * (26 / 255) ** 2, rel=1e-4)


def test_warping_error_streams_and_matches_the_online_accumulator():
    inputs = moving_sequence(5)
    rng = np.random.default_rng(2)
    outputs = [np.clip(frame.astype(int) + rng.integers(-20, 21, frame.shape), 0, 255).astype(np.uint8)
               for frame in inputs]
    batch = metrics.warping_error((frame for frame in inputs), (frame for frame in outputs))
    online = metrics.WarpingError()
    steps = [online.add(i, o) for i, o in zip(inputs, outputs)]
    assert steps[0] is None and all(step > 0 for step in steps[1:])
    assert online.value == pytest.approx(batch, rel=1e-6)
    assert online.value == pytest.approx(np.mean(steps[1:]), rel=1e-6)
    assert math.isnan(metrics.WarpingError().value)


def test_warping_error_keeps_its_own_copy_of_reused_buffers():
    inputs = moving_sequence()
    buffer = np.empty_like(inputs[0])

    def reused():
        for frame in inputs:
            buffer[...] = frame
            yield buffer

    assert metrics.warping_error(reused(), inputs) < 1e-4


def test_warping_error_rejects_mismatched_or_bad_frames():
    inputs = moving_sequence(3)
    with pytest.raises(DreamError, match="more frames"):
        metrics.warping_error(inputs, inputs[:2])
    with pytest.raises(DreamError, match="more frames"):
        metrics.warping_error(inputs[:2], inputs)
    with pytest.raises(DreamError):
        metrics.warping_error(inputs, [frame[:-1] for frame in inputs])
    with pytest.raises(DreamError):
        metrics.warping_error(inputs, [frame.astype(np.float32) / 255 for frame in inputs])
    with pytest.raises(DreamError):
        metrics.warping_error([frame[..., 0] for frame in inputs], [frame[..., 0] for frame in inputs])
    with pytest.raises(DreamError, match="at least 2"):
        metrics.warping_error(inputs[:1], inputs[:1])
    with pytest.raises(DreamError):
        metrics.warping_error([inputs[0], texture(40, 40)], [inputs[0], texture(40, 40)])
    with pytest.raises(DreamError):
        metrics.warping_error(inputs, inputs, method="raft")
