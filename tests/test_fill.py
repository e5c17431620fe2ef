"""The restoration algorithms: flow-guided fill, dust and scratches, deflicker, and the Deep Image Prior, with known
answers."""

import logging

import cv2
import numpy as np
import pytest

from dreamvideo import deflicker, dust, fill
from dreamvideo.errors import DreamError


def texture(height, width, seed=0):
    """A smooth random RGB texture, uint8, with detail at two scales (flow finds it, inpainting cannot guess it)."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    for sigma, amount in ((1.5, 0.4), (5.0, 1.0)):
        image += amount * cv2.GaussianBlur(rng.random((height, width, 3), dtype=np.float32), (0, 0), sigma)
    return cv2.normalize(image, None, 30, 225, cv2.NORM_MINMAX).astype(np.uint8)


def panned(frames=12, height=48, width=64, step=2, seed=0):
    """A texture panned ``step`` px a frame to the left: frame t shows big[:, step * t : step * t + width]."""
    big = texture(height, width + step * frames, seed)
    return [big[:, step * t:step * t + width].copy() for t in range(frames)]


def psnr(a, b, where):
    error = np.square(a.astype(np.float64) - b.astype(np.float64))[where].mean()
    return 10 * np.log10(255.0 ** 2 / max(error, 1e-12))


def moving_square(frames, height, width, size=12):
    masks = []
    for t in range(frames):
        mask = np.zeros((height, width), bool)
        x = 8 + 3 * t
        mask[16:16 + size, x:x + size] = True
        masks.append(mask)
    return masks


# ------------------------------------------------------------------------------------------------- fill

def test_moving_hole_is_filled_from_the_frames_that_show_it():
    clean = panned()
    masks = moving_square(len(clean), *clean[0].shape[:2])
    damaged = [frame.copy() for frame in clean]
    for frame, mask in zip(damaged, masks):
        frame[mask] = (255, 0, 255)
    restored = list(fill.fill_video(damaged, masks))
    assert len(restored) == len(clean)
    assert all(r.dtype == np.uint8 and r.shape == clean[0].shape for r in restored)
    ours = np.mean([psnr(r, c, m) for r, c, m in zip(restored, clean, masks)])
    telea = np.mean([psnr(fill.inpaint(d, fill.grow_mask(m, 2)), c, m)
                     for d, c, m in zip(damaged, clean, masks)])
    assert ours > 35.0, ours
    assert ours > telea + 10.0, (ours, telea)
    # Outside the grown mask nothing changes.
    for r, d, m in zip(restored, damaged, masks):
        outside = ~fill.grow_mask(m, fill.GROW)
        assert np.array_equal(r[outside], d[outside])



@pytest.mark.parametrize("radius", [1, 4])
def test_a_moving_hole_is_filled_with_a_radius_under_the_frames_asked_how_they_move(radius):
    clean = panned(frames=16)
    masks = moving_square(len(clean), *clean[0].shape[:2])
    damaged = [frame.copy() for frame in clean]
    for frame, mask in zip(damaged, masks):
        frame[mask] = (255, 0, 255)
    restored = list(fill.fill_video(damaged, masks, radius=radius))
    assert len(restored) == len(clean)
    assert np.mean([psnr(r, c, m) for r, c, m in zip(restored, clean, masks)]) > 30.0

def test_fixed_mask_on_a_pan_is_filled_and_what_no_frame_shows_is_inpainted():
    clean = panned(frames=8, step=4)
    logo = np.zeros(clean[0].shape[:2], np.uint8)
    logo[10:30, 24:36] = 255
    damaged = [frame.copy() for frame in clean]
    for frame in damaged:
        frame[logo > 0] = 255
    restored = list(fill.fill_video(damaged, logo))
    inside = logo > 0
    # The pan shows what is behind the logo in the neighbouring frames; no white is left anywhere.
    assert np.mean([psnr(r, c, inside) for r, c in zip(restored, clean)]) > 30.0
    static = [clean[0].copy() for _ in range(6)]
    for frame in static:
        frame[inside] = 255
    guessed = list(fill.fill_video(static, logo))
    # A static shot never shows it: cv2.inpaint's guess, steady from frame to frame.
    assert all((g[inside] < 250).all() for g in guessed)
    assert max(np.abs(g.astype(int) - guessed[0]).max() for g in guessed) <= 1

def test_what_no_frame_shows_is_a_smooth_guess_that_moves_less_with_its_hole_than_telea():
    telea_change, smooth_change, telea_psnr, smooth_psnr = [], [], [], []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        grain = cv2.GaussianBlur(rng.random((48, 64, 3), dtype=np.float32), (0, 0), 1.0)
        truth = cv2.normalize(grain, None, 30, 225, cv2.NORM_MINMAX).astype(np.uint8)
        ours, telea, holes_ = [], [], []
        for shift in (0, 2):  # the same picture, its hole 2 px further right; a lone frame shows nothing of it
            hole = np.zeros((48, 64), bool)
            hole[14:34, 20 + shift:40 + shift] = True
            damaged = truth.copy()
            damaged[hole] = 255
            ours.append(next(fill.fill_video([damaged], hole)))
            telea.append(fill.inpaint(damaged, fill.grow_mask(hole, fill.GROW)))
            holes_.append(hole)
        both = holes_[0] & holes_[1]
        smooth_change.append(np.abs(ours[0][both].astype(int) - ours[1][both]).mean())
        telea_change.append(np.abs(telea[0][both].astype(int) - telea[1][both]).mean())
        smooth_psnr.append(psnr(ours[0], truth, holes_[0]))
        telea_psnr.append(psnr(telea[0], truth, holes_[0]))
    # The grain Telea draws in from the edge moves with the hole; the blurred guess changes less, and is no
    # further from the truth (measured: a change of 3.2-4.6 grey levels against 4.7-6.0, +0.1 to +0.4 dB).
    assert np.mean(smooth_change) < 0.85 * np.mean(telea_change), (smooth_change, telea_change)
    assert np.mean(smooth_psnr) > np.mean(telea_psnr) + 0.1, (smooth_psnr, telea_psnr)



def fine_pan(frames, seed, height=48, width=64):
    """A texture of fine grain (1 px) panned 1 px a frame: across a cut from one such pan to another, the
    raw flows fail (a cut is found), yet once smoothed, as the fill judges them, they look consistent enough
    for a chain to cross into the other shot."""
    rng = np.random.default_rng(seed)
    grain = cv2.GaussianBlur(rng.random((height, width + frames, 3), dtype=np.float32), (0, 0), 0.7)
    big = cv2.normalize(grain, None, 30, 225, cv2.NORM_MINMAX).astype(np.uint8)
    return [big[:, t:t + width].copy() for t in range(frames)]


def test_a_scene_cut_ends_the_search():
    clip = fine_pan(6, seed=1) + fine_pan(6, seed=2)
    masks = moving_square(len(clip), *clip[0].shape[:2])
    damaged = [frame.copy() for frame in clip]
    for frame, mask in zip(damaged, masks):
        frame[mask] = 0
    restorer = fill.Restorer(iter(damaged), iter(masks))
    assert restorer.has(11)
    assert [restorer.clip.raw(index)[2] for index in range(11)] == [index == 5 for index in range(11)]
    restored = list(fill.fill_video(damaged, masks))
    # The frames on each side of the cut are filled from their own shot (from the other: below 20 dB).
    for index in (4, 5, 6, 7):
        assert psnr(restored[index], clip[index], masks[index]) > 35.0, index


def test_the_flow_filled_into_a_hole_is_doubted_where_its_surroundings_disagree():
    from dreamvideo import holes

    hole = np.zeros((48, 64), bool)
    hole[16:32, 24:40] = True
    uniform = np.zeros((48, 64, 2), np.float32)
    uniform[..., 0] = 3.0
    split = np.zeros((48, 64, 2), np.float32)
    split[:, :32, 0] = 4.0  # the left half moves, the right half stands still
    calm = holes.complete_flows(uniform, uniform.copy(), hole, hole)
    torn = holes.complete_flows(split, split.copy(), hole, hole)
    assert np.abs(calm.backward[hole] - (3.0, 0.0)).max() < 1e-3
    assert calm.backward_doubt.max() < 0.05 and calm.forward_doubt.max() < 0.05
    # Inside the hole the motion is a mixture of 4 and 0 px: a spread of up to 2 px; none where it was measured.
    assert 1.2 < torn.backward_doubt[hole].mean() <= 2.01, torn.backward_doubt[hole].mean()
    assert (torn.backward_doubt[~holes.grow_mask(hole, holes.FLOW_MARGIN)] == 0).all()
    assert holes.complete_flows(split, split, None, None).backward_doubt is None


def test_a_fill_that_comes_out_nan_is_an_error_not_grey_levels(monkeypatch):
    # NaN has no uint8 value: converted, it would be written as arbitrary grey levels, silently.
    sample = fill._sample
    monkeypatch.setattr(fill, "_sample", lambda image, positions: sample(image, positions) * np.float32("nan"))
    clean = panned(frames=4)
    masks = moving_square(len(clean), *clean[0].shape[:2])
    with pytest.raises(DreamError, match="NaN"):
        list(fill.fill_video(clean, masks))


def boundary_sightings(offsets, edge=24, speed=4.0, shape=(48, 64)):
    """Frames around one whose left part (x < edge) moves ``speed`` px a frame to the right, in front of a
    still right part: at offset j the edge is at edge + speed * j. Sightings measured everywhere."""
    from dreamvideo import holes

    found = []
    for offset in offsets:
        velocity = np.zeros(shape + (2,), np.float32)
        velocity[:, :int(edge + speed * offset), 0] = speed
        found.append(holes.Sighting(offset, velocity, np.ones(shape, bool)))
    return found


def test_a_hole_at_a_motion_boundary_gets_one_motion_or_the_other_and_the_frames_around_say_which():
    from dreamvideo import holes

    flow = np.zeros((48, 64, 2), np.float32)
    flow[:, :24, 0] = 4.0  # forward flow: the left part moves 4 px right, the edge at x = 24 is inside the hole
    truth = flow.copy()
    hole = np.zeros((48, 64), bool)
    hole[8:40, 16:48] = True
    flow[hole] = (-7.0, 5.0)  # what the damage did to the flow
    blended, _ = holes.complete_flow(flow, hole)  # no frame around: the nearest band pixel's layer
    values = blended[hole, 0]
    assert np.abs(blended[hole, 1]).max() < 0.05
    # One motion or the other, never the blend of both that fits neither.
    assert (np.minimum(np.abs(values - 4.0), np.abs(values)) < 0.3).mean() > 0.97
    told, doubt = holes.complete_flow(flow, hole, boundary_sightings((-1, 1, -2, 2)))
    error = np.linalg.norm(told - truth, axis=2)[hole]
    assert error.mean() < 0.15 and (error > 1.0).mean() < 0.02, (error.mean(), (error > 1.0).mean())
    assert np.linalg.norm(blended - truth, axis=2)[hole].mean() > 3 * error.mean()
    assert doubt[hole].max() < 0.5  # the frames around decided: no doubt left
    assert (doubt[~holes.grow_mask(hole, holes.FLOW_MARGIN)] == 0).all()


def test_a_blob_over_a_panned_texture_and_a_moving_square_gets_each_its_own_motion():
    from dreamvideo import holes

    rng = np.random.default_rng(5)
    height, width, frames = 72, 128, 16
    big = texture(height, width + 2 * frames, seed=3)
    square = cv2.normalize(cv2.GaussianBlur(rng.random((40, 40, 3), dtype=np.float32), (0, 0), 1.5), None, 10,
                           110, cv2.NORM_MINMAX).astype(np.uint8)
    clip, holes_, inside_square = [], [], []
    for t in range(frames):
        frame = big[:, 2 * t:2 * t + width].copy()  # the background pans 2 px a frame to the left
        x = 4 + 3 * t  # the square moves 3 px a frame to the right
        frame[16:56, x:x + 40] = square
        on_square = np.zeros((height, width), bool)
        on_square[16:56, x:x + 40] = True
        blob = np.zeros((height, width), np.uint8)
        cv2.ellipse(blob, (x + 40, 36), (12, 16), 0, 0, 360, 255, -1)  # over the square's right edge
        hole = blob > 0
        frame[hole] = 128
        clip.append(frame)
        holes_.append(hole)
        inside_square.append(on_square)
    clip_ = fill._Clip(iter(clip), lambda index: holes_[index], given=lambda index: holes_[index], method="dis",
                       preset="medium")
    assert clip_.has(frames - 1)
    index = 7
    pair = clip_.pair(index)
    hole = holes_[index + 1]
    truth = np.where(inside_square[index + 1][..., None], np.float32((-3.0, 0.0)), np.float32((2.0, 0.0)))
    error = np.linalg.norm(pair.backward - truth, axis=2)[hole]
    smooth = fill_smooth_flow(clip_.raw(index)[1], hole)
    smooth_error = np.linalg.norm(smooth - truth, axis=2)[hole]
    assert error.mean() < 0.8, error.mean()
    assert smooth_error.mean() > 2 * error.mean(), (smooth_error.mean(), error.mean())


def fill_smooth_flow(flow, hole):
    from dreamvideo import holes

    return holes.fill_smooth(flow, ~holes.grow_mask(hole, holes.FLOW_MARGIN))


def test_a_chain_through_doubtful_flow_is_not_trusted():
    frames = panned(frames=3)
    hole = np.zeros((48, 64), bool)
    hole[16:32, 24:40] = True
    clip = fill._Clip(iter(frames), lambda index: hole, method="dis", preset="medium")
    assert clip.has(2)
    still = np.zeros((48, 64, 2), np.float32)
    ones = np.ones((48, 64), np.float32)
    doubt = np.where(hole, 0.6 * fill.DOUBT, 0.0).astype(np.float32)
    pair = fill.PairFlow(still, still, ones, ones, False, doubt, doubt)
    clip.pair = lambda index, *rest: pair
    rows, columns = np.nonzero(hole)
    steps = list(fill._chain(clip, 2, (rows, columns), -1, 2))
    assert len(steps) == 2
    assert steps[0][2].all()  # one step: 0.6 DOUBT px of doubt
    assert not steps[1][2].any()  # two steps: 1.2 DOUBT px


def test_a_guess_the_flow_cannot_carry_keeps_half_of_the_one_before():
    hole = np.zeros((48, 64), bool)
    hole[16:32, 24:40] = True
    frames = []
    for _ in range(3):
        frame = np.full((48, 64, 3), 100, np.uint8)
        frame[hole] = 255
        frames.append(frame)
    clip = fill._Clip(iter(frames), lambda index: hole, method="dis", preset="medium")
    assert clip.has(2)
    still = np.zeros((48, 64, 2), np.float32)
    never = np.zeros((48, 64), np.float32)  # no step is reliable: nothing is carried whole, nothing is seen
    clip.pair = lambda index, *rest: fill.PairFlow(still, still, never, never, False)
    before = np.full((48, 64, 3), 100, np.uint8)
    before[hole] = 200  # the frame before guessed 200 in the hole
    clip.restored[0], clip.guessed[0] = before, hole
    restored, guessed = fill.fill_frame(clip, 1, radius=1)
    # A new guess from the surroundings alone would be 100: it is the mean of that and the old one.
    assert np.abs(restored[hole].astype(int) - 150).max() <= 1, np.unique(restored[hole])
    assert guessed[hole].all()
    assert (restored[~hole] == 100).all()
    # The first frame has no frame before: its guess is the surroundings' alone.
    first, _ = fill.fill_frame(clip, 0, radius=1)
    assert np.abs(first[hole].astype(int) - 100).max() <= 1


def test_what_a_frame_shows_where_the_frame_before_guessed_fades_in():
    truth = texture(48, 64, seed=4)
    hole = np.zeros((48, 64), bool)
    hole[16:32, 24:40] = True
    masks = [hole if index < 12 else np.zeros_like(hole) for index in range(14)]  # a static shot, damaged to 11
    damaged = []
    for mask in masks:
        frame = truth.copy()
        frame[mask] = 255
        damaged.append(frame)
    restored = list(fill.fill_video(damaged, masks))  # radius 8: frame 4 is the first to reach frame 12
    error = [np.abs(frame[hole].astype(float) - truth[hole]).mean() for frame in restored]
    assert min(error[:4]) > 10.0, error  # frames 0-3: a guess
    # Then each frame takes half of what frame 12 shows and half of the frame before.
    for index in (4, 5, 6):
        expected = (truth[hole].astype(float) + restored[index - 1][hole]) / 2
        assert np.abs(restored[index][hole] - expected).max() <= 1.0, index
    assert error[9] < 1.0 and error[12] == 0.0, error


def test_a_mask_video_is_followed_frame_by_frame_and_must_be_as_long():
    clean = panned(frames=6)
    masks = moving_square(6, *clean[0].shape[:2])
    with pytest.raises(DreamError, match="mask video has 4 frames"):
        list(fill.fill_video(clean, masks[:4]))


def test_a_longer_mask_video_is_used_up_to_the_frames_with_a_warning(caplog):
    clean = panned(frames=5)
    masks = moving_square(7, *clean[0].shape[:2])
    with caplog.at_level(logging.WARNING, logger="dreamvideo.fill"):
        assert len(list(fill.fill_video(clean, masks))) == 5
    assert "more frames than the video" in caplog.text


# ------------------------------------------------------------------------------------------------ masks

def test_mask_of_another_size_with_the_frames_aspect_is_scaled(caplog):
    small = np.zeros((24, 32), np.uint8)
    small[4:8, 10:20] = 255
    with caplog.at_level(logging.INFO, logger="dreamvideo.holes"):
        scaled = fill.as_mask(small, 48, 64)
    assert scaled.shape == (48, 64) and scaled.dtype == bool
    assert scaled[8:16, 20:40].all() and scaled.sum() == 8 * 20
    assert "scaled" in caplog.text


def test_mask_of_another_shape_is_refused():
    with pytest.raises(DreamError, match="is 50x50 but the frames are 64x48"):
        fill.as_mask(np.zeros((50, 50), np.uint8), 48, 64)


@pytest.mark.parametrize("value, message", [(0, "no white pixel"), (255, "white everywhere")])
def test_empty_or_all_white_fixed_mask_is_refused(value, message):
    clean = panned(frames=3)
    with pytest.raises(DreamError, match=message):
        list(fill.fill_video(clean, np.full((48, 64), value, np.uint8)))


@pytest.mark.parametrize("mask", ["mask.png", np.zeros((4, 4, 2)), np.zeros(5), np.zeros((48, 64), object)])
def test_a_mask_that_is_not_a_picture_is_refused(mask):
    with pytest.raises(DreamError):
        fill.as_mask(mask, 48, 64)


def test_mask_levels_colour_and_float_masks():
    mask = np.zeros((4, 4, 3), np.uint8)
    mask[0, 0] = 255
    mask[1, 1] = 100  # dark grey: not damaged
    assert fill.as_mask(mask, 4, 4).sum() == 1
    assert fill.as_mask(np.eye(4, dtype=np.float32), 4, 4).sum() == 4


def test_fill_smooth_keeps_known_pixels_and_interpolates_a_ramp():
    ramp = np.tile(np.linspace(0, 100, 32, dtype=np.float32), (32, 1))
    known = np.ones((32, 32), bool)
    known[10:20, 10:20] = False
    filled = fill.fill_smooth(ramp, known)
    assert np.array_equal(filled[known], ramp[known])
    assert np.abs(filled[~known] - ramp[~known]).max() < 12.0


# ------------------------------------------------------------------------------------------------- dust

def test_a_speck_on_one_frame_is_found_and_a_static_edge_is_not():
    height, width = 48, 64
    frame = texture(height, width)
    frame[:, 32:] //= 3  # a hard vertical edge, in every frame
    clip = [frame.copy() for _ in range(3)]
    clip[1][20:24, 10:14] = 0  # a speck
    clip[1][5:40, 50] = 250  # a one-frame scratch
    found = [spots for _, spots in fill.restore_video(clip, dust=True)]
    assert found[1][20:24, 10:14].all() and found[1][5:40, 50].all()
    assert not found[1][:, 30:34].any()  # the edge
    assert found[1].sum() < 3 * (16 + 35)
    assert not found[0].any() and not found[2].any()  # no neighbour on one side: not searched
    restored = [frame for frame, _ in fill.restore_video(clip, dust=True)]
    assert np.abs(restored[1].astype(int) - frame)[20:24, 10:14].max() < 20


def test_a_moving_object_is_not_dust():
    clean = panned(frames=5)
    found = [spots for _, spots in fill.restore_video(clean, dust=True)]
    assert sum(int(f.sum()) for f in found) <= 0.005 * clean[0].shape[0] * clean[0].shape[1] * 5
    big = np.zeros((48, 64), np.float32)
    big[10:40, 10:40] = 100.0  # far larger than a speck, not thin: a flow failure
    assert not dust.dust_shapes(big).any()


def test_restore_video_needs_something_to_do():
    with pytest.raises(DreamError, match="nothing to restore"):
        list(fill.restore_video(panned(frames=3)))


# -------------------------------------------------------------------------------------------- deflicker

def means(frames):
    return np.array([f.astype(np.float64).mean() for f in frames])


def test_a_gain_flicker_is_removed():
    clean = panned(frames=40, step=1)
    gains = 1.0 + 0.12 * np.where(np.arange(40) % 2, 1.0, -1.0)
    flickered = [np.clip(f * g, 0, 255).astype(np.uint8) for f, g in zip(clean, gains)]
    steadied = list(deflicker.deflicker(flickered))
    added = np.abs(means(flickered) - means(clean)).mean()
    left = np.abs(means(steadied) - means(clean)).mean()
    assert left < 0.2 * added, (left, added)


def test_a_clip_without_flicker_is_left_within_one_grey_level():
    clean = panned(frames=30, step=1)
    steadied = list(deflicker.deflicker(clean))
    assert len(steadied) == 30
    assert np.abs(means(steadied) - means(clean)).max() <= 1.0


def test_deflicker_keeps_each_shot_at_its_own_level():
    dark = [np.clip(f * 0.6, 0, 255).astype(np.uint8) for f in panned(frames=15, step=1, seed=3)]
    bright = [255 - f // 2 for f in panned(frames=15, step=1, seed=4)]
    clip = dark + bright
    steadied = list(deflicker.deflicker(clip))
    assert np.abs(means(steadied) - means(clip)).max() <= 1.5


def test_deflicker_keeps_a_fade_that_starts_at_a_cut():
    steady = panned(frames=15, step=1, seed=3)
    fading = [np.clip(f * g, 0, 255).astype(np.uint8)
              for f, g in zip(panned(frames=15, step=1, seed=4), np.linspace(1.0, 0.6, 15))]
    clip = steady + fading
    steadied = list(deflicker.deflicker(clip))
    # Each shot is held to its own line: an average across the cut would tilt the steady shot by the fade
    # (14 grey levels) and bend the fade.
    assert np.abs(means(steadied) - means(clip)).max() <= 3.0


def test_deflicker_refuses_a_bad_sigma_and_bad_frames():
    with pytest.raises(DreamError, match="sigma"):
        list(deflicker.deflicker(panned(frames=2), sigma=0))
    with pytest.raises(DreamError, match="frame 0 must be uint8"):
        list(deflicker.deflicker([np.zeros((8, 8))]))


# ---------------------------------------------------------------------------------------- Deep Image Prior

def test_deep_image_prior_fills_only_the_mask():
    from dreamvideo import restore_still

    image = texture(32, 32)
    mask = np.zeros((32, 32), bool)
    mask[12:18, 12:18] = True
    damaged = image.copy()
    damaged[mask] = 0
    out = restore_still.deep_image_prior(damaged, mask, iterations=30, quiet=True)
    assert out.shape == image.shape and out.dtype == np.uint8
    grown = fill.grow_mask(mask, fill.GROW)
    assert np.array_equal(out[~grown], damaged[~grown])
    assert out[mask].mean() > 20  # the black hole was painted over
    with pytest.raises(DreamError, match="iterations"):
        restore_still.deep_image_prior(damaged, mask, iterations=0)


def test_a_deep_image_prior_that_comes_out_nan_is_an_error(monkeypatch):
    from dreamvideo import restore_still

    hourglass = restore_still._hourglass

    def diverging(keras, input_channels):
        network = hourglass(keras, input_channels)
        inputs = keras.Input((None, None, input_channels))
        return keras.Model(inputs, network(inputs) * float("nan"))

    monkeypatch.setattr(restore_still, "_hourglass", diverging)
    image = texture(32, 32)
    mask = np.zeros((32, 32), bool)
    mask[12:18, 12:18] = True
    with pytest.raises(DreamError, match="NaN"):
        restore_still.deep_image_prior(image, mask, iterations=1, quiet=True)
