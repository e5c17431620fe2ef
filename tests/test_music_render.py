"""Renders that follow a sound: zooms and videos whose schedules use rms, onset, bass, mid, high, beat."""

import json

import numpy as np
import pytest

from conftest import SAMPLES

from dreamvideo import media, music
from dreamvideo.errors import DreamError
from dreamvideo.media.sound import write_sound

RATE = 44100
CUP = SAMPLES / "coffee.png"


@pytest.fixture()
def tiny(tiny_model_file):
    return ["--model", tiny_model_file, "--layer", "conv3", "--octaves", "1", "--steps", "1", "--max-side", "48",
            "-q"]


@pytest.fixture()
def beat_wav(tmp_path):
    path = tmp_path / "beat.wav"
    beat = music.synth_beat(2, 120)
    write_sound(path, beat.samples, beat.rate)
    return path


def bass_bursts(path, frames=(5, 6, 30), total=48):
    """A WAV of `total` frames at 24 fps, silent but for a 60 Hz tone in `frames`."""
    starts = music.frame_starts(total, RATE, 24)
    samples = np.zeros(int(starts[-1]), np.float32)
    tone = 0.5 * np.sin(2 * np.pi * 60 * np.arange(4000) / RATE)
    for frame in frames:
        samples[starts[frame]:starts[frame + 1]] = tone[:starts[frame + 1] - starts[frame]]
    write_sound(path, samples, RATE)
    return path


def record_zooms(monkeypatch) -> list:
    from dreamvideo import motion

    zooms = []
    real = motion.affine_warp

    def recording(image, **kwargs):
        zooms.append(kwargs["zoom"])
        return real(image, **kwargs)

    monkeypatch.setattr(motion, "affine_warp", recording)
    return zooms


def test_bass_changes_the_zoom_on_exactly_the_frames_where_the_bass_is(tmp_path, tiny_model_file, monkeypatch):
    import dreamvideo as dv

    sound = bass_bursts(tmp_path / "bursts.wav")
    zooms = record_zooms(monkeypatch)
    dv.render_zoom(CUP, tmp_path / "zoom.gif", audio=sound, zoom="1 + 0.1*bass", model=tiny_model_file,
                   layer=["conv3"], octaves=1, steps=1, max_side=32, quiet=True)
    assert len(zooms) == 47  # frames 1..47 are carried; the length is the sound's: 2 s at 24 fps
    changed = [frame for frame, zoom in enumerate(zooms, start=1) if zoom != 1.0]
    assert changed == [5, 6, 30]
    assert max(zooms) == pytest.approx(1.1)


def test_zoom_with_audio_has_the_music_and_its_length_and_renders_again_the_same(cli, tmp_path, tiny, beat_wav,
                                                                                  facts):
    output = tmp_path / "pulse.mp4"
    result = cli("zoom", CUP, "--audio", beat_wav, "-o", output, "--zoom", "1.005 + 0.03*beat", *tiny)
    assert result.code == 0, result.err
    assert facts.frame_count(output) == 48 and facts.has_audio(output)
    sound = media.sound.read_sound(output)
    assert abs(len(sound.samples) / sound.rate - 2.0) < 0.05
    record = json.loads((tmp_path / "pulse.mp4.dreamvideo.json").read_text())
    options = record["options"]
    assert options["audio"] == "beat.wav" and options["zoom"] == "1.005 + 0.03*beat"
    assert options["audio_sha256"] == music.file_sha256(beat_wav) and options["frames"] == 48
    # the zoom factors, from the render file: they peak on the beat frames
    from dreamvideo.schedules import as_schedule

    features = music.analyse(beat_wav, 24)
    zooms = np.array([as_schedule(options["zoom"]).with_sound(features)(i) for i in range(48)])
    assert np.flatnonzero(zooms == zooms.max()).tolist() == features.beat_frames.tolist() == list(range(0, 48, 12))
    again = tmp_path / "again.mp4"
    assert cli("render", tmp_path / "pulse.mp4.dreamvideo.json", "-o", again, "-q").code == 0
    first, second = list(media.read_frames(output)), list(media.read_frames(again))
    assert len(first) == len(second) == 48 and all(np.array_equal(a, b) for a, b in zip(first, second))
    # another sound under the same name is refused: the frames would differ
    write_sound(beat_wav, music.synth_beat(2, 100).samples, RATE)
    result = cli("render", tmp_path / "pulse.mp4.dreamvideo.json", "-o", tmp_path / "third.mp4", "-q")
    assert result.code == 2 and "its content differs from the one the render file records" in result.err


def test_a_feature_without_a_sound_is_a_one_line_error(cli, tmp_path, tiny):
    result = cli("zoom", CUP, "-o", tmp_path / "z.gif", "--frames", "3", "--zoom", "1 + 0.1*bass", *tiny)
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "dreamvideo: error: 'bass' is a feature of the sound track: give the sound with --audio FILE"]
    result = cli("zoom", CUP, "-o", tmp_path / "z.gif", "--frames", "3", "--angle", "0.5*treble", *tiny)
    assert result.code == 2 and "unknown variable 'treble'" in result.err and "beat (1 on a beat" in result.err


def test_a_video_follows_its_own_track_or_the_audio_given(tmp_path, tiny_model_file, beat_wav):
    from dreamvideo.video import prepare_video

    clip = SAMPLES / "coffee_pan.mp4"
    job = prepare_video(clip, tmp_path / "out.mp4", dict(step_size="1 + 3*rms", model=tiny_model_file,
                                                         layer=["conv3"], quiet=True))
    step_size = job.dream_opts.schedule("step_size")
    rms = music.analyse(clip, job.fps, frames=job.total)["rms"]
    assert [step_size(i) for i in range(job.total)] == pytest.approx((1 + 3 * rms).tolist())
    assert max(step_size(i) for i in range(job.total)) == pytest.approx(4.0)  # harder where it is louder
    # --start takes the features of the same frames of the track
    later = prepare_video(clip, tmp_path / "out.mp4", dict(step_size="1 + 3*rms", start="24f",
                                                           model=tiny_model_file, layer=["conv3"], quiet=True))
    assert [later.dream_opts.schedule("step_size")(i) for i in range(later.total)] == pytest.approx(
        (1 + 3 * rms[24:]).tolist())
    # --audio replaces the track: the beat's features, and the output's sound
    beat = prepare_video(clip, tmp_path / "out.mp4", dict(step_size="1 + beat", audio=str(beat_wav),
                                                          model=tiny_model_file, layer=["conv3"], quiet=True))
    values = [beat.dream_opts.schedule("step_size")(i) for i in range(beat.total)]
    assert [i for i, v in enumerate(values) if v == 2.0] == [0, 12, 24, 36]


def test_a_video_without_sound_is_refused_for_a_feature(tmp_path, tiny_model_file):
    from dreamvideo.video import prepare_video

    silent = tmp_path / "silent.mp4"
    with media.open_sink(str(silent), fps=24) as sink:
        for _ in range(4):
            sink.write(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(DreamError, match="silent.mp4: this video has no audio track; give the sound with --audio"):
        prepare_video(silent, tmp_path / "out.mp4", dict(step_size="1 + rms", model=tiny_model_file,
                                                         layer=["conv3"]))
    # without a feature in any schedule, the sound is not needed
    prepare_video(silent, tmp_path / "out.mp4", dict(step_size="1 + t/10", model=tiny_model_file, layer=["conv3"]))


def test_audio_command_prints_keyframes_and_plots(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("audio", "beat.wav", "--synth-beat", "--seconds", "2", "--fps", "24", "--plot", "beat.png")
    assert result.code == 0, result.err
    lines = result.out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == list(music.FEATURES)
    beat_line = lines[-1]
    assert beat_line.startswith("beat: 0:(1), 1:(0.9167)") and beat_line.count(":(1)") == 4
    assert media.read_image(tmp_path / "beat.png").shape[1] == 1200
    only = cli("audio", "beat.wav", "--feature", "bass", "--feature", "beat").out.strip().splitlines()
    assert [line.split(":")[0] for line in only] == ["bass", "beat"] and only[1] == beat_line
    for argv, message in ((("beat.wav", "--synth-beat"), "already exists"),
                          (("beat.wav", "--feature", "treble"), "unknown audio feature 'treble'"),
                          (("nothing.wav",), "file not found")):
        result = cli("audio", *argv)
        assert result.code == 2 and message in result.err and len(result.err.strip().splitlines()) == 1


def test_a_video_s_output_carries_the_audio_given(tmp_path, tiny_model_file, beat_wav, facts):
    import dreamvideo as dv

    silent = tmp_path / "silent.mp4"
    with media.open_sink(str(silent), fps=24) as sink:
        for index in range(6):
            sink.write(np.full((32, 32, 3), 40 * index, np.uint8))
    output = dv.render_video(silent, tmp_path / "out.mp4", audio=str(beat_wav), step_size="1 + beat",
                             model=tiny_model_file, layer=["conv3"], octaves=1, steps=1, quiet=True)
    assert facts.frame_count(output) == 6 and facts.has_audio(output)
    sound = media.sound.read_sound(output)
    assert abs(len(sound.samples) / sound.rate - 0.25) < 0.03  # cut to the video's 6 frames
