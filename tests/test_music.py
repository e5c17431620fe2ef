"""Per-frame audio features: known answers on sounds made with numpy and written as WAV by PyAV."""

import logging
from fractions import Fraction

import numpy as np
import pytest

from dreamvideo import music
from dreamvideo.errors import DreamError
from dreamvideo.media.sound import Sound, read_sound, write_sound

RATE = 44100


def click_track(seconds: float, bpm: float, rate: int = RATE) -> tuple[np.ndarray, np.ndarray]:
    """(float32 samples, the clicks' first samples): 1.5 ms clicks of 3 kHz, the first at sample 0."""
    samples = np.zeros(int(seconds * rate), np.float32)
    click = (np.hanning(64) * np.sin(2 * np.pi * 3000 * np.arange(64) / rate)).astype(np.float32)
    firsts = np.array([round(Fraction(60 * k, 1) / Fraction(bpm) * rate) for k in range(int(seconds * bpm / 60))])
    for first in firsts:
        samples[first:first + 64] += click[:len(samples) - first]
    return samples, firsts


def sine(hz: float, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


@pytest.fixture(scope="module")
def three_minutes_of_clicks(tmp_path_factory):
    """A 120 BPM click track of three minutes, as a WAV file read back: (path, the clicks' first samples)."""
    samples, firsts = click_track(180, 120)
    path = tmp_path_factory.mktemp("music") / "clicks.wav"
    write_sound(path, samples, RATE)
    return path, firsts


def test_frame_starts_are_exact_rational_times():
    fps = Fraction(30000, 1001)
    frames = 3 * 60 * 30  # three minutes and more: 5400 frames
    starts = music.frame_starts(frames, RATE, fps)
    assert starts.dtype == np.int64 and starts.shape == (frames + 1,)
    exact = [int(Fraction(i) * RATE / fps + Fraction(1, 2)) for i in range(frames + 1)]  # halves up
    assert starts.tolist() == exact
    # the drift of a script that takes int(1000 / fps) ms a frame: 33 ms instead of 33.37 ms
    naive_seconds = frames * int(1000 / fps) / 1000
    assert float(starts[-1] / RATE) - naive_seconds > 1.8
    assert set(np.diff(starts).tolist()) == {1471, 1472}  # 44100 * 1001 / 30000 = 1471.47


def test_click_track_beats_every_12th_frame_at_24_fps_over_three_minutes(three_minutes_of_clicks):
    path, firsts = three_minutes_of_clicks
    features = music.analyse(path, 24)
    assert len(features) == 180 * 24
    assert abs(features.tempo - 120) < 0.5
    beats = features.beat_frames
    assert len(beats) == len(firsts) == 360
    assert np.abs(beats - np.arange(360) * 12).max() <= 1
    # the clicks fall on frame starts here, and each beat is found in the frame that holds it
    assert (beats == np.arange(360) * 12).mean() > 0.95
    pulse = features["beat"]
    assert pulse[beats].tolist() == [1.0] * 360
    assert pulse[13] == pytest.approx(1 - 1 / 12) and pulse[23] == pytest.approx(1 / 12)


def test_click_track_beats_do_not_drift_at_ntsc_rate(three_minutes_of_clicks):
    path, firsts = three_minutes_of_clicks
    fps = Fraction(30000, 1001)
    features = music.analyse(path, fps)
    starts = music.frame_starts(len(features), RATE, fps)
    holding = np.searchsorted(starts, firsts, side="right") - 1  # the frame that holds each click
    assert len(features.beat_frames) == 360
    assert np.abs(features.beat_frames - holding).max() <= 1
    # the same error at the end as at the start: no drift over three minutes
    errors = features.beat_times - firsts / RATE
    assert np.abs(errors).max() < 0.006
    assert abs(errors[-60:].mean() - errors[:60].mean()) < 0.001
    # a drifting frame clock (int(1000 / fps) ms a frame) would put the last beat 54 frames off
    assert abs(features.beat_frames[-1] - round(179.5 * 30000 / 1001)) <= 1


def test_a_60_hz_sine_is_bass_and_a_6_khz_sine_treble_frame_by_frame():
    # one second of each, in frames of 1837.5 samples at 24 fps: frame 24 starts at sample 44100 exactly
    samples = np.concatenate([sine(60, 1), sine(6000, 1)])
    features = music.analyse(Sound(samples, RATE), 24)
    assert len(features) == 48
    bass, high = features["bass"], features["high"]
    assert bass[:24].min() > 0.9 and high[:24].max() == 0.0
    assert high[24:].min() > 0.9 and bass[24:].max() == 0.0
    assert features["mid"].max() == 0.0
    assert features["rms"].min() > 0.99  # the same loudness throughout


def test_rms_follows_the_level_frame_by_frame():
    loud, quiet = sine(960, 1, 0.5), sine(960, 1, 0.125)  # 40 periods a frame at 24 fps
    features = music.analyse(Sound(np.concatenate([loud, quiet]), RATE), 24)
    rms = features["rms"]
    assert rms[:24] == pytest.approx(np.ones(24), abs=1e-3)
    assert rms[24:] == pytest.approx(np.full(24, 0.25), abs=1e-3)


def test_silence_gives_zeros_not_nan(tmp_path, caplog):
    path = tmp_path / "silence.wav"
    write_sound(path, np.zeros(RATE * 2), RATE)
    with caplog.at_level(logging.WARNING):
        features = music.analyse(path, 24)
    assert len(features) == 48 and features.tempo is None and len(features.beat_frames) == 0
    for name in music.FEATURES:
        assert features[name].tolist() == [0.0] * 48
    assert "is silent" in caplog.text


def test_audio_shorter_than_the_render_is_silent_past_its_end(caplog):
    samples, _ = click_track(2, 120)
    with caplog.at_level(logging.WARNING):
        features = music.analyse(Sound(samples, RATE, "clicks"), 24, frames=72)
    assert len(features) == 72
    assert "frames 48 to 71 are silent" in caplog.text
    for name in ("rms", "onset", "bass", "mid", "high"):
        assert features[name][48:].tolist() == [0.0] * 24
        assert features[name][:48].max() == 1.0
    # the last beat (frame 36) decays over one beat interval, to 0 at frame 48
    assert features.beat_frames.tolist() == [0, 12, 24, 36]
    assert features["beat"][47] == pytest.approx(1 / 12) and features["beat"][48:].max() == 0.0


def test_start_frame_takes_a_slice_of_the_same_values():
    samples, _ = click_track(4, 120)
    whole = music.analyse(Sound(samples, RATE), 24)
    part = music.analyse(Sound(samples, RATE), 24, start_frame=30, frames=40)
    for name in music.FEATURES:
        assert part[name].tolist() == whole[name][30:70].tolist()
    assert part.beat_frames.tolist() == [6, 18, 30]  # frames 36, 48 and 60 of the track


def test_onset_and_bands_stay_in_the_frame_of_the_sound():
    samples = np.zeros(RATE * 2, np.float32)
    starts = music.frame_starts(48, RATE, 24)
    samples[starts[20] + 300:starts[21] - 300] = sine(60, 1)[:int(starts[21] - starts[20]) - 600]
    features = music.analyse(Sound(samples, RATE), 24)
    assert np.flatnonzero(features["bass"]).tolist() == [20]
    assert np.flatnonzero(features["rms"]).tolist() == [20]
    assert int(np.argmax(features["onset"])) == 20


def test_smoothing_attack_and_release():
    fps = Fraction(24)
    step = np.array([0.0] * 4 + [1.0] * 20 + [0.0] * 24)
    rise = 1 - np.exp(-1 / (0.25 * 24))
    fall = 1 - np.exp(-1 / (0.5 * 24))
    smoothed = music.smooth(step, fps, attack=0.25, release=0.5)
    assert smoothed[4] == pytest.approx(rise)
    assert smoothed[5] == pytest.approx(rise + (1 - rise) * rise)
    peak = smoothed[23]
    assert smoothed[24] == pytest.approx(peak * (1 - fall))
    assert music.smooth(step, fps).tolist() == step.tolist()
    # analyse normalises after smoothing: the smoothed feature still reaches 1
    samples, _ = click_track(4, 120)
    features = music.analyse(Sound(samples, RATE), 24, attack=0.1, release=0.3)
    assert features["onset"].max() == 1.0 and features["onset"][1] > 0.5


def test_keyframes_read_back_as_a_schedule():
    from dreamvideo.schedules import as_schedule

    values = np.array([0.0, 0.5, 1 / 3, 1.0, 2e-5])
    text = music.keyframes(values)
    assert text == "0:(0), 1:(0.5), 2:(0.3333), 3:(1), 4:(0)"
    schedule = as_schedule(text, name="zoom")
    assert [schedule(i) for i in range(5)] == [0.0, 0.5, 0.3333, 1.0, 0.0]
    features = music.analyse(Sound(sine(60, 0.5), RATE), 24)
    assert features.keyframes("bass").startswith("0:(1), 1:(1)")


def test_a_video_s_own_track_is_read(tmp_path):
    from conftest import SAMPLES

    sound = read_sound(SAMPLES / "coffee_pan.mp4")
    assert sound.rate == 44100 and sound.samples.dtype == np.float32
    assert abs(float(sound.seconds) - 2.0) < 0.05
    features = music.analyse(SAMPLES / "coffee_pan.mp4", 24)
    assert len(features) >= 48 and features["rms"].max() == 1.0
    assert features.tempo is None  # a steady chord: its flickering flux is no beat


def test_channels_are_mixed_to_mono(tmp_path):
    path = tmp_path / "stereo.wav"
    left = sine(440, 0.5)
    write_sound(path, np.stack([left, np.zeros_like(left)]), RATE)
    sound = read_sound(path)
    assert sound.samples.shape == left.shape
    assert np.abs(sound.samples - left / 2).max() < 1e-4  # 16-bit PCM


def test_bad_input_gives_one_line_errors(tmp_path):
    from dreamvideo import media

    silent_video = tmp_path / "no_sound.mp4"
    with media.open_sink(str(silent_video), fps=24) as sink:
        for _ in range(3):
            sink.write(np.zeros((32, 32, 3), np.uint8))
    garbage = tmp_path / "noise.wav"
    garbage.write_bytes(b"not a sound at all" * 100)
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    cases = [(silent_video, "has no audio track; give the sound with --audio FILE"),
             (garbage, "not a sound or video file FFmpeg can read"),
             (empty, "file is empty"),
             (tmp_path / "missing.wav", "file not found")]
    for path, expected in cases:
        with pytest.raises(DreamError, match=expected) as error:
            music.analyse(path, 24)
        assert "\n" not in str(error.value) and str(path) in str(error.value)
    sound = Sound(sine(60, 0.5), RATE)
    with pytest.raises(DreamError, match="unknown audio feature 'treble': use one of rms, onset, bass, mid, high"):
        music.analyse(sound, 24)["treble"]
    with pytest.raises(DreamError, match="frame rate"):
        music.analyse(sound, "fast")
    with pytest.raises(DreamError, match="attack"):
        music.analyse(sound, 24, attack=-1)


def test_synthesised_beat_has_a_kick_snare_and_hats():
    beat = music.synth_beat(4, 120)
    assert beat.rate == 44100 and len(beat.samples) == 4 * 44100
    assert np.abs(beat.samples).max() == pytest.approx(0.8)
    assert np.array_equal(beat.samples, music.synth_beat(4, 120).samples)  # seeded
    features = music.analyse(beat, 24)
    assert abs(features.tempo - 120) < 1
    assert features.beat_frames.tolist() == list(range(0, 96, 12))
    bass, mid, high = features["bass"], features["mid"], features["high"]
    kicks = np.arange(0, 96, 12)
    assert bass[kicks].min() > 0.9 and bass[kicks + 10].max() < 0.1  # each kick has faded by the next
    snares = np.arange(12, 96, 24)
    assert mid[snares].min() > 0.9 and mid[snares - 12].max() < 0.1  # on beats 2 and 4 only
    assert high[kicks + 6].min() > 0.1 and bass[kicks + 6].max() < 0.3  # the off-beat hats: treble alone
    with pytest.raises(DreamError, match="bpm"):
        music.synth_beat(4, 1000)


def test_plot_draws_every_feature_on_one_time_axis(tmp_path):
    from dreamvideo import media

    beat = music.synth_beat(2, 120)
    features = music.analyse(beat, 24)
    path = tmp_path / "beat.png"
    music.plot(beat, features, path, width=600)
    image = media.read_image(path)
    assert image.shape[1] == 600 and image.shape[0] > 300
    # every feature's row has ink; a silent track's rows stay blank
    silent = music.analyse(Sound(np.zeros(RATE, np.float32), RATE), 24)
    music.plot(Sound(np.zeros(RATE, np.float32), RATE), silent, tmp_path / "silent.png", width=600)
    blank = media.read_image(tmp_path / "silent.png")
    assert (image < 200).sum() > 2 * (blank < 200).sum()
    with pytest.raises(DreamError, match="width"):
        music.plot(beat, features, path, width=10)


def test_a_real_clip_s_track_gives_one_value_a_frame_at_its_own_rate():
    from conftest import shared_media

    from dreamvideo import media

    clip = shared_media("clips", "realshort.mp4")  # AAC mono at 48 kHz, 45000/1499 fps, silent for 0.36 s
    info = media.probe_video(clip)
    features = music.analyse(clip, info.fps)
    assert len(features) == info.frame_count == 36
    assert features["rms"][:10].max() == 0.0 and features["rms"][11:].min() > 0.1  # frame 10: the first sound
    with pytest.raises(DreamError, match="cityCC0.mpg: this video has no audio track"):
        music.analyse(shared_media("clips", "cityCC0.mpg"), 25)


def test_schedules_read_the_sound_s_features_frame_by_frame():
    import pickle

    from dreamvideo.schedules import as_schedule, validate

    samples = np.zeros(RATE * 2, np.float32)
    starts = music.frame_starts(48, RATE, 24)
    for frame in (5, 6, 30):  # a 60 Hz tone in frames 5, 6 and 30 only
        samples[starts[frame]:starts[frame + 1]] = sine(60, 0.05, 0.5)[:starts[frame + 1] - starts[frame]]
    features = music.analyse(Sound(samples, RATE), 24)
    zoom = as_schedule("1 + 0.1*bass", name="zoom")
    assert zoom.sound_variables == {"bass"}
    with pytest.raises(DreamError, match="zoom: '1 \\+ 0.1\\*bass' uses 'bass', a feature of the sound track: give "
                                         "--audio FILE"):
        zoom(0)
    values = validate(zoom.with_sound(features), 48, strictly_positive=True)
    assert np.flatnonzero(values != 1.0).tolist() == [5, 6, 30]  # the zoom changes where the bass is
    assert values.max() == pytest.approx(1.1)
    # keyframes mix with features and t; past the end of the sound every feature is 0
    mixed = as_schedule("0:(1 + bass), 24:(t/24 + bass)", name="angle").with_sound(features)
    assert mixed(0) == 1.0 and mixed(30) == pytest.approx(30 / 24 + features["bass"][30])
    assert mixed(60) == pytest.approx(60 / 24)
    # a render farm's workers get the values with the schedule
    copy = pickle.loads(pickle.dumps(zoom.with_sound(features)))
    assert [copy(i) for i in range(48)] == values.tolist() and str(copy) == "1 + 0.1*bass"
    with pytest.raises(DreamError, match="unknown variable 'treble' at character 5 of '1 \\+ treble'; use t "
                                         "\\(the frame number\\), rms \\(loudness\\)"):
        as_schedule("1 + treble", name="zoom")
    assert music.FEATURES == ("rms", "onset", "bass", "mid", "high", "beat")


def test_objective_weights_read_the_sound():
    from dreamvideo import objectives

    objective = objectives.layers("block4_conv3:0.5*beat", "block3_conv3")
    assert objective.sound_variables == {"beat"}
    with pytest.raises(DreamError, match="uses 'beat'"):
        objective.weights_at(0)
    beat = {"beat": np.array([1.0, 0.5, 0.0])}
    bound = objective.with_sound(beat)
    assert [bound.weights_at(i) for i in range(3)] == [[0.5, 1.0], [0.25, 1.0], [0.0, 1.0]]
    assert bound.specs() == ["block4_conv3:0.5*beat", "block3_conv3"]  # render files keep the expression
