"""Scene cuts: unrelated pictures are cuts, moved, flashed or noisy ones are not, on known answers and on the
real clips' known cuts."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import shared_media
from dreamvideo import DreamError, cuts, motion
from test_motion import periodic_texture


def cut_check(previous, current):
    forward, backward = motion.flow_pair(previous, current)
    weight = motion.consistency_weight(forward, backward)
    return cuts.is_scene_cut(previous, current, weight, backward=backward)


def test_shifted_texture_is_not_a_cut_but_an_unrelated_picture_is():
    previous = periodic_texture(96, 128, seed=3)
    assert not cut_check(previous, periodic_texture(96, 128, (4.0, 2.5), seed=3))
    assert cut_check(previous, periodic_texture(96, 128, seed=4))
    assert not cut_check(previous, previous)


def test_scene_cut_scores_tell_the_two_cases_apart():
    previous = periodic_texture(96, 128, seed=3)
    for current, is_cut in ((periodic_texture(96, 128, (4.0, 2.5), seed=3), False),
                            (periodic_texture(96, 128, seed=4), True)):
        forward, backward = motion.flow_pair(previous, current)
        weight = motion.consistency_weight(forward, backward)
        scores = cuts.scene_cut_scores(previous, current, weight, backward=backward)
        if is_cut:
            assert scores.unreliable > 0.8 and scores.unexplained > 0.8
        else:
            assert scores.unreliable < 0.2 and scores.unexplained < 0.2


def test_a_brightness_flash_is_not_a_cut():
    previous = periodic_texture(96, 128, seed=3)
    flash = np.clip(previous.astype(int) + 40, 0, 255).astype(np.uint8)
    assert not cut_check(previous, flash)


def test_nearly_identical_noisy_flat_frames_are_not_a_cut():
    rng = np.random.default_rng(5)
    previous = (40 + rng.normal(0, 1.0, (64, 80, 3))).clip(0, 255).astype(np.uint8)
    current = (40 + rng.normal(0, 1.0, (64, 80, 3))).clip(0, 255).astype(np.uint8)
    assert not cut_check(previous, current)
    # The flow does fail here: only the minimum difference keeps this from being called a cut.
    forward, backward = motion.flow_pair(previous, current)
    weight = motion.consistency_weight(forward, backward)
    assert cuts.is_scene_cut(previous, current, weight, backward=backward, min_difference=0.0)


def test_is_scene_cut_rejects_bad_arguments():
    frame = periodic_texture(32, 32)
    with pytest.raises(DreamError):
        cuts.is_scene_cut(frame, periodic_texture(32, 40), None)
    with pytest.raises(DreamError):
        cuts.is_scene_cut(frame, frame, np.ones((5, 5), np.float32))
    with pytest.raises(DreamError):
        cuts.is_scene_cut(frame, frame, None, unexplained_ratio=-1)


def read_clip(name, start, stop):
    path = shared_media("clips", name)
    from dreamvideo import media

    # Half size keeps the test fast; the thresholds hold there too (margins measured at both sizes).
    # Frames at the clip's constant rate (tree.avi: its 68 pictures held over 449 frames at 15 fps).
    frames = []
    for index, frame in enumerate(media.read_frames(path)):
        if index >= stop:
            break
        if index >= start:
            frames.append(cv2.resize(np.asarray(frame), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
    return frames


# Windows with each clip's hardest pairs (largest scores in a full scan at full size, see is_scene_cut):
# the cut of cityCC0.mpg at frame 116, the hand moving fast in tree.avi (395-442), the wave in
# test.webm (60), all of realshort.mp4.
@pytest.mark.parametrize("name, start, stop, cuts", [
    ("cityCC0.mpg", 96, 136, [116]), ("realshort.mp4", 0, 36, []), ("tree.avi", 385, 449, []),
    ("test.webm", 45, 80, []),
])
def test_scene_cuts_in_real_clips(name, start, stop, cuts):
    frames = read_clip(name, start, stop)
    assert len(frames) == stop - start
    found = [start + index for index in range(1, len(frames)) if cut_check(frames[index - 1], frames[index])]
    assert found == cuts
