"""dreamvideo.steady: the dream strength and the hold that keeps a carried dream at its shot's strength."""

import numpy as np
import pytest

from dreamvideo.errors import DreamError
from dreamvideo.steady import GAIN_LIMITS, StrengthHold, dream_strength


def test_dream_strength_is_the_mean_absolute_difference_weighted_by_the_mask():
    source = np.full((2, 4, 3), 100, np.uint8)
    dream = source.copy()
    dream[:, :2] = 130  # left half 30 brighter in every channel
    dream[:, 2:, 0] = 40  # right half 60 darker in red only: 20 on the channel mean
    assert dream_strength(dream, source) == pytest.approx((30 + 20) / 2)
    left = np.zeros((2, 4), np.float32)
    left[:, :2] = 1.0
    assert dream_strength(dream, source, left) == pytest.approx(30)
    assert dream_strength(dream, source, np.zeros((2, 4), np.float32)) == 0.0
    with pytest.raises(DreamError):
        dream_strength(dream, source[:, :3])


def test_hold_scales_only_the_difference_from_the_source_by_its_gain():
    source = np.full((3, 3, 3), 100, np.uint8)
    start = np.full((3, 3, 3), 110, np.float32)
    hold = StrengthHold(1.0)
    np.testing.assert_array_equal(hold.apply(start, source), start)  # no shot yet: nothing to hold
    hold.start_shot(start, source, scale=2.0)
    assert hold.reference == pytest.approx(5.0) and hold.gain == 1.0  # 10 grey levels per 2 units
    hold.gain = 1.5
    np.testing.assert_allclose(hold.apply(start, source), 115.0)
    np.testing.assert_allclose(hold.apply(source.astype(np.float32), source), 100.0)  # no dream, nothing scaled


def test_hold_moves_its_gain_toward_the_reference_by_the_amount_and_within_limits():
    source = np.zeros((2, 2, 3), np.float32)
    for amount, expected in ((1.0, 0.5), (0.5, 0.5 ** 0.5), (0.0, 1.0)):
        hold = StrengthHold(amount)
        hold.start_shot(source + 10, source, scale=1.0)
        hold.update(source + 20, source, scale=1.0)  # twice as strong as the reference
        assert hold.gain == pytest.approx(expected)
    hold = StrengthHold(1.0)
    hold.start_shot(source + 10, source, scale=1.0)
    hold.update(source + 10, source, scale=4.0)  # a quarter of the reference per unit: gain x4
    assert hold.gain == pytest.approx(4.0)
    hold.update(source + 10, source, scale=4.0)
    assert hold.gain == GAIN_LIMITS[1]
    hold.update(source, source, scale=1.0)  # no dream at all (a black mask): no update
    assert hold.gain == GAIN_LIMITS[1]
    hold.start_shot(source + 3, source, scale=1.0)  # a new shot starts over
    assert (hold.reference, hold.gain) == (3.0, 1.0)


def test_hold_snapshot_restores_exactly_and_nothing_stored_waits_for_the_next_shot():
    source = np.zeros((2, 2, 3), np.float32)
    hold = StrengthHold(0.5)
    hold.start_shot(source + 7, source, scale=3.0)
    hold.update(source + 9, source, scale=3.0)
    other = StrengthHold(0.5)
    other.restore(hold.snapshot())
    assert (other.reference, other.gain) == (hold.reference, hold.gain)
    other.restore(None)
    assert not other.active
    np.testing.assert_array_equal(other.apply(source + 5, source), source + 5)


def test_frame_store_keeps_the_state_beside_each_frame(tmp_path):
    from dreamvideo.render import FrameStore

    store = FrameStore(tmp_path / "out.mp4", {"a": 1})
    store.save(0, np.zeros((4, 4, 3), np.uint8), state={"reference": 0.1, "gain": 1.25})
    store.save(1, np.zeros((4, 4, 3), np.uint8))
    assert store.load_state(0) == {"reference": 0.1, "gain": 1.25}
    assert store.load_state(1) is None and store.finished() == 2
