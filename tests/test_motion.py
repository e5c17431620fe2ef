"""Tests for dreamvideo.motion: known answers from textures moved by known amounts."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from conftest import shared_media
from dreamvideo import DreamError, motion



# --------------------------------------------------------------------------------------------- helpers

def periodic_texture(height, width, shift=(0.0, 0.0), *, seed=0, sigma=2.0, channels=3):
    """Smooth random RGB uint8 texture, periodic, with its content moved by ``shift`` = (dx, dy) pixels.

    Built in the Fourier domain, so a sub-pixel shift is exact (a phase ramp), not an interpolation:
    the moved texture satisfies moved(x) = texture(x - shift) exactly, up to rounding to uint8.
    """
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((height, width, channels))
    ky = np.fft.fftfreq(height)[:, None, None]
    kx = np.fft.fftfreq(width)[None, :, None]
    spectrum = np.fft.fft2(noise, axes=(0, 1)) * np.exp(-2 * np.pi**2 * sigma**2 * (kx**2 + ky**2))
    base = np.fft.ifft2(spectrum, axes=(0, 1)).real
    lo, hi = base.min(), base.max()
    dx, dy = shift
    moved = np.fft.ifft2(spectrum * np.exp(-2j * np.pi * (kx * dx + ky * dy)), axes=(0, 1)).real
    # A margin so the moved texture (which can overshoot the base's range a little) still fits.
    image = (moved - lo) / (hi - lo) * 215 + 20
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def blob(height, width, x, y, radius=3.0):
    """float32 (H, W) Gaussian spot centred at (x, y)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * radius**2)).astype(np.float32)


def centroid(image, near=None, radius=12):
    """Intensity centroid (x, y), optionally of the window of ``radius`` px about ``near`` = (x, y)
    (reflected borders make mirror copies of a spot, which a whole-image centroid would average in)."""
    image = np.asarray(image, dtype=np.float64)
    if near is not None:
        x0, y0 = int(round(near[0])) - radius, int(round(near[1])) - radius
        x, y = centroid(image[y0:y0 + 2 * radius + 1, x0:x0 + 2 * radius + 1])
        return x + x0, y + y0
    if image.ndim == 3:
        image = image.mean(axis=2)
    image = np.clip(image - 0.1 * image.max(), 0, None)
    yy, xx = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    return (xx * image).sum() / image.sum(), (yy * image).sum() / image.sum()


INTERIOR = (slice(16, -16), slice(16, -16))


# ------------------------------------------------------------------------------------------ optical flow

@pytest.mark.parametrize("method", ["dis", "farneback"])
@pytest.mark.parametrize("shift", [(3.0, -2.0), (1.5, 0.75), (-2.25, 1.5)])
def test_flow_recovers_a_known_shift(method, shift):
    previous = periodic_texture(96, 128)
    current = periodic_texture(96, 128, shift)
    dx, dy = shift
    backward = motion.backward_flow(previous, current, method)
    forward = motion.forward_flow(previous, current, method)
    assert backward.shape == (96, 128, 2) and backward.dtype == np.float32
    backward_error = np.abs(backward[INTERIOR] - (-dx, -dy))
    forward_error = np.abs(forward[INTERIOR] - (dx, dy))
    assert backward_error.mean() < 0.1 and np.percentile(backward_error, 99) < 0.2
    assert forward_error.mean() < 0.1 and np.percentile(forward_error, 99) < 0.2


@pytest.mark.parametrize("shift", [(3.0, -2.0), (1.5, 0.75)])
def test_warp_with_backward_flow_reproduces_the_current_frame(shift):
    previous = periodic_texture(96, 128)
    current = periodic_texture(96, 128, shift)
    flow = motion.backward_flow(previous, current)
    carried = motion.warp(previous, flow)
    assert carried.dtype == np.uint8 and carried.shape == current.shape
    error = np.abs(carried.astype(np.float32) - current)[INTERIOR]
    assert error.mean() < 1.5
    # Without the flow the frames are far apart: the test can tell a good warp from none.
    assert np.abs(previous.astype(np.float32) - current)[INTERIOR].mean() > 8 * error.mean()


def test_flow_pair_matches_the_single_direction_functions():
    previous = periodic_texture(64, 80)
    current = periodic_texture(64, 80, (2.0, 1.0))
    forward, backward = motion.flow_pair(previous, current, "dis", "fast")
    # Not bit-exact: a reused OpenCV DIS object differs from a fresh one by ~1e-3 px.
    np.testing.assert_allclose(forward, motion.forward_flow(previous, current, "dis", "fast"), atol=0.01)
    np.testing.assert_allclose(backward, motion.backward_flow(previous, current, "dis", "fast"), atol=0.01)
    assert np.abs(forward[INTERIOR] - (2.0, 1.0)).max() < 0.2
    assert np.abs(backward[INTERIOR] - (-2.0, -1.0)).max() < 0.2


def test_flow_accepts_float_frames_in_any_range():
    previous = periodic_texture(64, 80)
    current = periodic_texture(64, 80, (2.0, -1.0))
    as_uint8 = motion.backward_flow(previous, current)
    as_float = motion.backward_flow(previous.astype(np.float32) / 255.0 * 7.0 - 3.0,
                                    current.astype(np.float32) / 255.0 * 7.0 - 3.0)
    assert np.abs(as_float[INTERIOR] - as_uint8[INTERIOR]).mean() < 0.1
    assert np.abs(as_float[INTERIOR] - (-2.0, 1.0)).mean() < 0.1


def test_flow_of_identical_frames_is_zero():
    frame = periodic_texture(64, 80)
    forward, backward = motion.flow_pair(frame, frame)
    assert np.abs(forward).max() < 1e-3 and np.abs(backward).max() < 1e-3


@pytest.mark.parametrize("kwargs, words", [
    ({"method": "lucas"}, ["dis", "farneback"]),
    ({"method": "dis", "preset": "slow"}, ["ultrafast", "fast", "medium"]),
])
def test_unknown_flow_method_or_preset_lists_the_valid_ones(kwargs, words):
    frame = periodic_texture(32, 32)
    for function in (motion.backward_flow, motion.forward_flow, motion.flow_pair):
        with pytest.raises(DreamError) as caught:
            function(frame, frame, **kwargs)
        assert all(word in str(caught.value) for word in words)


def test_flow_rejects_frames_of_different_sizes_or_shapes():
    with pytest.raises(DreamError):
        motion.backward_flow(periodic_texture(32, 32), periodic_texture(32, 40))
    with pytest.raises(DreamError):
        motion.forward_flow(np.zeros((32, 32, 5), np.uint8), np.zeros((32, 32, 5), np.uint8))
    with pytest.raises(DreamError):
        motion.flow_pair([[0]], [[0]])
    tiny = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(DreamError, match="farneback"):
        motion.flow_pair(tiny, tiny)
    assert motion.flow_pair(tiny, tiny, "farneback")[0].shape == (8, 8, 2)


def rubber_whale():
    folder = shared_media("flow", "RubberWhale")
    frame10 = cv2.cvtColor(cv2.imread(str(folder / "frame10.png")), cv2.COLOR_BGR2RGB)
    frame11 = cv2.cvtColor(cv2.imread(str(folder / "frame11.png")), cv2.COLOR_BGR2RGB)
    truth = cv2.readOpticalFlow(str(folder / "flow10.flo"))
    known = (np.abs(truth) < 1e9).all(axis=2)
    return frame10, frame11, truth, known


def endpoint_error(flow, truth, where):
    return float(np.linalg.norm(flow - truth, axis=2)[where].mean())


@pytest.mark.parametrize("method, limit", [("dis", 0.4), ("farneback", 0.4)])
def test_flow_on_middlebury_rubberwhale(method, limit):
    frame10, frame11, truth, known = rubber_whale()  # truth: frame 10 -> frame 11, a forward flow
    forward = motion.forward_flow(frame10, frame11, method)
    assert endpoint_error(forward, truth, known) < limit
    assert endpoint_error(np.zeros_like(truth), truth, known) > 1.0  # the data really move
    # With the frames swapped, "where each pixel of frame 10 came from in frame 11" is the same flow.
    backward = motion.backward_flow(frame11, frame10, method)
    assert endpoint_error(backward, truth, known) < limit


def test_consistency_mask_keeps_the_better_flow_on_rubberwhale():
    frame10, frame11, truth, known = rubber_whale()
    forward, backward = motion.flow_pair(frame10, frame11)
    mask = motion.consistency_weight(forward, backward, frame="previous", soft_edge=0) > 0.5
    assert 0.5 < mask.mean() < 0.99
    assert endpoint_error(forward, truth, known & mask) < 0.85 * endpoint_error(forward, truth, known)


# ------------------------------------------------------------------------------------------------- warp

@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("channels", [None, 1, 3])
def test_warp_by_a_whole_pixel_flow_is_an_exact_shift(dtype, channels):
    image = periodic_texture(40, 50, channels=1 if channels in (None, 1) else 3).astype(dtype)
    if channels is None:
        image = image[..., 0]
    flow = np.zeros((40, 50, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2.0, -1.0
    out = motion.warp(image, flow)
    assert out.shape == image.shape and out.dtype == image.dtype
    # out(x, y) = image(x + 2, y - 1)
    np.testing.assert_allclose(out[1:, :-2], image[:-1, 2:], atol=1e-4)
    np.testing.assert_array_equal(motion.warp(image, np.zeros_like(flow)), image)


def test_warp_reflects_at_the_border():
    image = np.arange(5, dtype=np.float32)[None, :].repeat(3, axis=0)
    flow = np.zeros((3, 5, 2), np.float32)
    flow[..., 0] = 2.0
    # reflect-101: positions 5, 6 read columns 3, 2 (the edge column 4 is not repeated)
    np.testing.assert_array_equal(motion.warp(image, flow)[0], [2, 3, 4, 3, 2])


def test_warp_rejects_bad_flow_and_settings():
    image = periodic_texture(20, 30)
    with pytest.raises(DreamError):
        motion.warp(image, np.zeros((20, 31, 2), np.float32))
    with pytest.raises(DreamError):
        motion.warp(image, np.zeros((20, 30), np.float32))
    with pytest.raises(DreamError) as caught:
        motion.warp(image, np.zeros((20, 30, 2), np.float32), interpolation="bicubic")
    assert "lanczos" in str(caught.value)


# ------------------------------------------------------------------------------------ consistency weight

def test_consistency_weight_is_one_for_a_pure_shift():
    previous = periodic_texture(96, 128)
    current = periodic_texture(96, 128, (3.0, -2.0))
    forward, backward = motion.flow_pair(previous, current)
    weight = motion.consistency_weight(forward, backward)
    assert weight.shape == (96, 128) and weight.dtype == np.float32
    assert weight.min() >= 0.0 and weight.max() <= 1.0
    assert weight[INTERIOR].min() > 0.99
    # Moved right by 3: the current frame's left 3 columns come from outside the previous frame.
    assert weight[:, :3].max() == 0.0


def moving_square_frames(step=6):
    """Two frames: a textured square (rows 30-65, columns 40-75) moves ``step`` px right over a still,
    differently textured background."""
    background = periodic_texture(96, 128, seed=1)
    square = periodic_texture(36, 36, seed=2, sigma=1.5)
    frames = []
    for left in (40, 40 + step):
        frame = background.copy()
        frame[30:66, left:left + 36] = square
        frames.append(frame)
    return frames


def moving_square_flows(step=6):
    """The exact forward and backward flows of :func:`moving_square_frames`."""
    forward = np.zeros((96, 128, 2), np.float32)
    backward = np.zeros((96, 128, 2), np.float32)
    forward[30:66, 40:76, 0] = step
    backward[30:66, 40 + step:76 + step, 0] = -step
    return forward, backward


def test_consistency_weight_of_exact_flows_marks_exactly_the_uncovered_strip():
    forward, backward = moving_square_flows(step=6)
    hard = motion.consistency_weight(forward, backward, soft_edge=0)
    expected = np.ones((96, 128), np.float32)
    expected[30:66, 40:46] = 0  # background uncovered behind the square: not in the previous frame
    # Motion boundaries: where the backward flow jumps between a pixel and its right or lower neighbour.
    expected[30:66, 45] = expected[30:66, 81] = 0
    expected[29, 46:82] = expected[65, 46:82] = 0
    np.testing.assert_array_equal(hard, expected)
    # Pixels of the previous frame: the strip the square moves onto is hidden in the current frame.
    previous = motion.consistency_weight(forward, backward, frame="previous", soft_edge=0)
    assert previous[30:66, 76:82].max() == 0 and previous[30:65, 40:75].min() == 1
    # The soft edge keeps every rejected pixel at exactly 0 and ramps up over 2 * soft_edge pixels.
    soft = motion.consistency_weight(forward, backward, soft_edge=2)
    assert soft[hard == 0].max() == 0.0
    assert (soft <= hard).all()
    assert 0 < soft[47, 47] < 1 and soft[47, 60] == 1.0


def test_consistency_weight_is_zero_where_background_is_uncovered():
    previous, current = moving_square_frames(step=6)
    forward, backward = motion.flow_pair(previous, current)
    assert np.abs(backward[40:56, 54:74, 0] + 6).mean() < 0.2  # DIS follows the square
    weight = motion.consistency_weight(forward, backward)
    assert weight[34:62, 40:46].mean() < 0.1  # background the square covered in the previous frame
    assert weight[5:22, 5:120].mean() > 0.95  # plain background far from the square
    assert weight[38:58, 52:74].mean() > 0.9  # inside the moving square
    previous_weight = motion.consistency_weight(forward, backward, frame="previous")
    assert previous_weight[34:62, 76:82].mean() < 0.1  # where the square is about to cover


def test_consistency_weight_rejects_bad_arguments():
    flow = np.zeros((10, 12, 2), np.float32)
    with pytest.raises(DreamError):
        motion.consistency_weight(flow, np.zeros((10, 13, 2), np.float32))
    with pytest.raises(DreamError):
        motion.consistency_weight(flow, flow, frame="next")
    with pytest.raises(DreamError):
        motion.consistency_weight(flow, flow, soft_edge=-1)


# ------------------------------------------------------------------------------------------------ blend

def test_blend_known_values_and_edge_cases():
    carried = np.full((4, 5, 3), 200, np.uint8)
    frame = np.full((4, 5, 3), 100, np.uint8)
    weight = np.zeros((4, 5), np.float32)
    weight[:, 2:] = 1.0
    weight[:, 4] = 0.5
    out = motion.blend(carried, frame, weight, 0.5)
    assert out.dtype == np.float32 and out.shape == frame.shape
    np.testing.assert_allclose(out[:, 0], 100)
    np.testing.assert_allclose(out[:, 2], 150)
    np.testing.assert_allclose(out[:, 4], 125)
    np.testing.assert_allclose(motion.blend(carried, frame, None, 1.0), 200)
    np.testing.assert_allclose(motion.blend(carried, frame, None, 0.0), 100)
    np.testing.assert_allclose(motion.blend(carried, frame, weight, 0.0), 100)
    gray = motion.blend(carried[..., 0].astype(np.float32), frame[..., 0], weight, 1.0)
    np.testing.assert_allclose(gray[:, 4], 150)


@pytest.mark.parametrize("amount", [-0.1, 1.5, "lots", float("nan")])
def test_blend_rejects_amounts_outside_zero_to_one(amount):
    image = np.zeros((4, 5, 3), np.float32)
    with pytest.raises(DreamError):
        motion.blend(image, image, None, amount)


def test_reanchor_gives_back_the_coarse_change_and_keeps_the_detail():
    """Known answer: a carried start = frame + a uniform cast of +30 + a checkerboard of +-10. A blur
    keeps the cast and removes the checkerboard, so re-anchoring fully leaves frame + checkerboard."""
    y, x = np.mgrid[:48, :64]
    frame = np.repeat((60 + x + y)[..., None], 3, axis=2).astype(np.float32)
    checkerboard = np.repeat((10.0 * (-1.0) ** (x + y))[..., None], 3, axis=2)
    start = frame + 30.0 + checkerboard
    np.testing.assert_allclose(motion.reanchor(start, frame, 1.0), frame + checkerboard, atol=0.05)
    np.testing.assert_allclose(motion.reanchor(start, frame, 0.5), frame + 15.0 + checkerboard, atol=0.05)
    np.testing.assert_array_equal(motion.reanchor(start, frame, 0.0), start)
    # uint8 frames work on the same 0-255 scale
    np.testing.assert_allclose(motion.reanchor(start, frame.astype(np.uint8), 1.0), frame + checkerboard, atol=0.05)


@pytest.mark.parametrize("amount, scale", [(1.5, 0.1), (-0.1, 0.1), ("x", 0.1), (1.0, 0.0)])
def test_reanchor_rejects_bad_settings(amount, scale):
    image = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(DreamError):
        motion.reanchor(image, image, amount, scale)
    with pytest.raises(DreamError):
        motion.reanchor(image, np.zeros((8, 9, 3), np.float32))


def test_blend_rejects_mismatched_shapes():
    image = np.zeros((4, 5, 3), np.float32)
    with pytest.raises(DreamError):
        motion.blend(image, np.zeros((4, 6, 3), np.float32), None, 0.5)
    with pytest.raises(DreamError):
        motion.blend(image, image, np.ones((5, 4), np.float32), 0.5)


# ---------------------------------------------------------------------------------------- affine warp

def test_affine_warp_identity():
    image = periodic_texture(48, 64)
    out = motion.affine_warp(image)
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.abs(out.astype(int) - image).max() <= 1
    floats = image.astype(np.float32) / 255
    np.testing.assert_allclose(motion.affine_warp(floats, interpolation="cubic"), floats, atol=1e-3)


def test_affine_warp_zoom_two_about_the_centre_doubles_distances():
    height, width = 81, 101
    cx, cy = (width - 1) / 2, (height - 1) / 2
    image = blob(height, width, cx + 12, cy + 8)
    out = motion.affine_warp(image, zoom=2.0)
    x, y = centroid(out)
    assert abs(x - (cx + 24)) < 0.3 and abs(y - (cy + 16)) < 0.3
    # About another centre: that point stays put, distances from it double.
    out = motion.affine_warp(image, zoom=2.0, center=(cx + 2, cy + 8))
    x, y = centroid(out)
    assert abs(x - (cx + 22)) < 0.3 and abs(y - (cy + 8)) < 0.3


def test_affine_warp_zoom_below_one_shrinks():
    image = blob(81, 101, 50 + 20, 40)
    x, y = centroid(motion.affine_warp(image, zoom=0.5), near=(60, 40))
    assert abs(x - 60) < 0.3 and abs(y - 40) < 0.3
    x, y = centroid(motion.affine_warp(image, zoom=0.5, center=(0, 0)), near=(35, 20))
    assert abs(x - 35) < 0.3 and abs(y - 20) < 0.3


def test_affine_warp_rotates_counter_clockwise():
    size = 65
    image = periodic_texture(size, size, seed=7)
    out = motion.affine_warp(image, angle=90.0)
    # np.rot90 turns the picture 90 degrees counter-clockwise as displayed.
    assert np.abs(out.astype(int) - np.rot90(image)).max() <= 2
    x, y = centroid(motion.affine_warp(blob(size, size, 32 + 15, 32), angle=90.0))
    assert abs(x - 32) < 0.3 and abs(y - (32 - 15)) < 0.3  # right of centre goes to above it


def test_affine_warp_translate_moves_content():
    image = blob(60, 80, 30, 30)
    x, y = centroid(motion.affine_warp(image, translate=(5.0, -3.0)))
    assert abs(x - 35) < 0.2 and abs(y - 27) < 0.2
    # translate is applied after the zoom: the blob's zoomed position moves by exactly (dx, dy)
    x0, y0 = centroid(motion.affine_warp(image, zoom=1.5, angle=10.0))
    x1, y1 = centroid(motion.affine_warp(image, zoom=1.5, angle=10.0, translate=(4.0, 2.0)))
    assert abs(x1 - x0 - 4) < 0.2 and abs(y1 - y0 - 2) < 0.2


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_affine_warp_never_leaves_constant_borders(dtype):
    image = periodic_texture(72, 96, seed=8, sigma=1.5)
    image = image.astype(np.float32) / 255 if dtype == np.float32 else image
    out = motion.affine_warp(image, zoom=0.8, angle=30.0)
    assert out.dtype == image.dtype and out.shape == image.shape
    for line in (out[0], out[-1], out[:, 0], out[:, -1]):
        assert line.astype(np.float32).std(axis=0).min() > 0.02 * float(image.max())
    # No fill colour anywhere: every pixel is within the picture's own range and not black.
    assert out.min() >= image.min() and out.max() <= image.max()
    for corner in (out[:6, :6], out[-6:, -6:], out[:6, -6:], out[-6:, :6]):
        assert corner.astype(np.float32).std() > 0.02 * float(image.max())


def test_affine_warp_clips_lanczos_overshoot_to_the_input_range():
    image = np.zeros((40, 40), np.float32)
    image[:, 20:] = 1.0
    out = motion.affine_warp(image, zoom=1.37, angle=7.0)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert 0.2 < out.mean() < 0.8  # still the edge, not a clipped blank
    as_uint8 = motion.affine_warp((image * 200 + 20).astype(np.uint8), zoom=1.37, angle=7.0)
    assert as_uint8.min() >= 20 and as_uint8.max() <= 220


@pytest.mark.parametrize("zoom", [0.0, -1.0, float("nan")])
def test_affine_warp_rejects_non_positive_zoom(zoom):
    with pytest.raises(DreamError):
        motion.affine_warp(periodic_texture(16, 16), zoom=zoom)


def test_affine_warp_rejects_bad_arguments():
    image = periodic_texture(16, 16)
    with pytest.raises(DreamError):
        motion.affine_warp(image, translate=5)
    with pytest.raises(DreamError):
        motion.affine_warp(image, center="middle")
    with pytest.raises(DreamError):
        motion.affine_warp(image, interpolation="area")


def test_relative_center():
    image = np.zeros((101, 201, 3), np.uint8)
    assert motion.relative_center(image) == (100.0, 50.0)
    assert motion.relative_center(image.shape, (0.0, 1.0)) == (0.0, 100.0)
    with pytest.raises(DreamError):
        motion.relative_center(image, "centre")
