"""End-to-end tests of ``dreamvideo VIDEO``: bad inputs and outputs, MP4/GIF/PNG outputs, blend, time range.

Clips are generated (conftest: 18 frames, 64x48, 30000/1001 fps, AAC sine track); the real third-party
clips in ../shared/media are used only when present.
"""

import logging
import os
import shutil
from fractions import Fraction

import numpy as np
import pytest

from conftest import CLIP_FRAMES, moving_frames, published, record_dream_frames, shared_media

NTSC = Fraction(30000, 1001)


@pytest.fixture()
def clip(tmp_path, moving_clip):
    """A private copy of the generated clip with audio, alone in its folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    return shutil.copy(moving_clip, folder / "walk.mp4")


def decodable_frame_count(path) -> int:
    """Frames PyAV itself decodes from ``path`` (a second opinion for damaged files)."""
    import av

    count = 0
    with av.open(str(path)) as container:
        try:
            for packet in container.demux(video=0):
                try:
                    count += len(packet.decode())
                except av.FFmpegError:
                    pass
        except (av.FFmpegError, EOFError):
            pass
    return count


def dream_options(tiny_model_file, **extra):
    from dreamvideo.options import DreamOptions

    return DreamOptions(model=tiny_model_file, layer=["conv3"], octaves=1, steps=2, quiet=True, **extra)


# ------------------------------------------------------------------------------------------ bad inputs


@pytest.mark.parametrize("case", ["missing", "text", "empty", "audio_only"])
def test_bad_inputs_are_one_line_errors_naming_the_file(cli, tmp_path, snapshot, tiny_args, sine_audio_file,
                                                        case):
    folder = tmp_path / "in"
    folder.mkdir()
    if case == "missing":
        path, needle = folder / "gone.mp4", "not found"
    elif case == "text":
        path, needle = folder / "notes.mp4", "not a video"
        path.write_text("dear diary\n" * 50)
    elif case == "empty":
        path, needle = folder / "blank.mp4", "empty"
        path.write_bytes(b"")
    else:
        path, needle = folder / "tone.m4a", "no video"
        shutil.copy(sine_audio_file, path)
    before = snapshot(tmp_path)
    cli(path, *tiny_args).assert_user_error(path.name, needle)
    cli(path, "-o", tmp_path / "out.mp4", *tiny_args).assert_user_error(path.name)
    assert snapshot(tmp_path) == before


def test_output_equal_to_input_is_refused(cli, clip, snapshot, tiny_args):
    before, original = snapshot(os.path.dirname(clip)), open(clip, "rb").read()
    cli(clip, "-o", clip, *tiny_args).assert_user_error("walk.mp4", "input")
    assert snapshot(os.path.dirname(clip)) == before and open(clip, "rb").read() == original


@pytest.mark.parametrize("output, needle", [("missing/out.mp4", "does not exist"), ("missing/frames/", "missing"),
                                            ("out.xyz", ".xyz"), ("out.png", "out.png")])
def test_bad_outputs_are_refused_before_any_work(cli, clip, tmp_path, snapshot, tiny_args, output, needle):
    before = snapshot(tmp_path)
    cli(clip, "-o", f"{tmp_path}/{output}", *tiny_args).assert_user_error(needle)
    assert snapshot(tmp_path) == before


def test_video_flags_on_a_still_are_refused(cli, tmp_path, random_image, tiny_args, snapshot):
    import cv2

    still = tmp_path / "still.png"
    cv2.imwrite(str(still), random_image(32, 32))
    before = snapshot(tmp_path)
    cli(still, "--blend", "0.5", *tiny_args).assert_user_error("--blend", "still.png")
    cli(still, "--start", "2f", *tiny_args).assert_user_error("--start", "still.png")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("flags, needle", [(["--start", "100f"], "100f"), (["--quality", "99"], "99"),
                                           (["--blend", "2"], "blend"), (["--end", "0.0"], "end"),
                                           (["--fps", "0"], "fps"), (["--start", "soon"], "soon"),
                                           (["--anchor", "1.5"], "anchor"), (["--colour-match", "-1"], "colour match"),
                                           (["--steady", "2"], "steady"),
                                           (["--carried-octaves", "0"], "carried-octaves"),
                                           (["--carried-octaves", "most"], "carried-octaves"),
                                           (["--range-limit", "tanh"], "tanh"), (["--normalize", "max"], "max")])
def test_bad_video_settings_leave_nothing_behind(cli, clip, tmp_path, snapshot, tiny_args, flags, needle):
    """Every user error, early or late, leaves the folder as it was: no output, temp or work folder."""
    before = snapshot(tmp_path)
    line = cli(clip, "-o", tmp_path / "out.mp4", *tiny_args, *flags).assert_user_error(needle)
    if flags[0] == "--start" and flags[1] == "100f":
        assert "walk.mp4" in line  # past the end: say of which file
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------------------------------ outputs


def test_mp4_keeps_frame_count_exact_rate_and_audio_with_the_embedded_model(cli, clip, tmp_path, facts):
    assert facts.frame_count(clip) == CLIP_FRAMES and facts.exact_fps(clip) == NTSC  # the fixture is right
    output = tmp_path / "out.mp4"
    result = cli(clip, "-o", output, "--steps", "1", "--octaves", "1", "--max-side", "64", "-q")
    assert result.code == 0, result.err
    assert facts.video_codec(output) == "h264"
    assert facts.frame_count(output) == CLIP_FRAMES
    assert facts.exact_fps(output) == NTSC
    assert facts.has_audio(output)
    frames = facts.decoded_frames(output)
    assert len(frames) == CLIP_FRAMES and frames[0].shape == (48, 64, 3)
    assert published(tmp_path) == ["in", "out.mp4"]  # no temp file, no work folder


def test_default_output_is_stem_dream_mp4_beside_the_input(cli, clip, tiny_args, tmp_path, monkeypatch, facts):
    monkeypatch.chdir(tmp_path)
    assert cli(clip, *tiny_args).code == 0
    folder = os.path.dirname(clip)
    assert published(folder) == ["walk.mp4", "walk_dream.mp4"]
    assert facts.frame_count(os.path.join(folder, "walk_dream.mp4")) == CLIP_FRAMES


def test_silent_input_gives_silent_mp4(cli, silent_clip, tmp_path, tiny_args, facts):
    output = tmp_path / "out.mp4"
    assert cli(silent_clip, "-o", output, *tiny_args).code == 0
    assert not facts.has_audio(output)
    assert facts.frame_count(output) == CLIP_FRAMES and facts.exact_fps(output) == NTSC


def test_gif_output(cli, clip, tmp_path, tiny_args, facts):
    output = tmp_path / "out.gif"
    assert cli(clip, "-o", output, *tiny_args).code == 0
    count, loop, _ = facts.gif(output)
    assert count == CLIP_FRAMES and loop == 0
    assert published(tmp_path) == ["in", "out.gif"]


def test_output_permissions_follow_the_umask(cli, clip, tmp_path, tiny_args):
    previous = os.umask(0o022)
    try:
        for name in ("out.mp4", "out.gif", "frames/"):
            assert cli(clip, "-o", f"{tmp_path}/{name}", *tiny_args, "--end", "3f").code == 0
    finally:
        os.umask(previous)
    assert (tmp_path / "out.mp4").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "out.gif").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "frames").stat().st_mode & 0o777 == 0o755


def test_blend_0_dreams_each_frame_alone(cli, clip, tmp_path, tiny_args, tiny_model_file, facts):
    """Known answer: with --blend 0, frame i is the dream of source frame i (seeded by i)."""
    from dreamvideo import media
    from dreamvideo.arrays import float255_to_uint8 as to_uint8
    from dreamvideo.dreaming import dream_frame, make_dreamer

    assert cli(clip, "-o", f"{tmp_path}/alone/", *tiny_args, "--blend", "0").code == 0
    assert cli(clip, "-o", f"{tmp_path}/carried/", *tiny_args).code == 0
    alone = facts.png_frames(tmp_path / "alone")
    carried = facts.png_frames(tmp_path / "carried")
    assert len(alone) == len(carried) == CLIP_FRAMES

    options = dream_options(tiny_model_file)
    dreamer = make_dreamer(options)
    sources = list(media.read_frames(clip))
    for index in (0, 1, CLIP_FRAMES - 1):
        expected = to_uint8(dream_frame(dreamer, sources[index].astype(np.float32), options, index))
        assert np.array_equal(alone[index], expected), f"frame {index}"
    # The first frame has nothing to carry; every later one starts from the carried dream instead.
    assert np.array_equal(carried[0], alone[0])
    for index in range(1, CLIP_FRAMES):
        assert not np.array_equal(carried[index], alone[index]), f"frame {index}"


def test_carried_frames_use_fewer_steps_and_a_scene_cut_starts_afresh(cli, tmp_path, tiny_args, monkeypatch):
    from dreamvideo import media, video

    cut_at = 6
    path = tmp_path / "cut.mp4"
    first, second = list(moving_frames(cut_at, seed=1)), list(moving_frames(12 - cut_at, seed=99))
    with media.open_sink(path, fps=24, quality=10) as sink:
        for frame in first + [255 - f for f in second]:
            sink.write(frame)
    calls = record_dream_frames(video, monkeypatch)
    octaves = {}
    recording = video.dream_frame

    def record_octaves(dreamer, image, opts, frame, *args, dream_octaves=None, **kwargs):
        octaves[frame] = dream_octaves
        return recording(dreamer, image, opts, frame, *args, dream_octaves=dream_octaves, **kwargs)

    monkeypatch.setattr(video, "dream_frame", record_octaves)
    assert cli(path, "-o", f"{tmp_path}/out/", *tiny_args, "--steps", "10").code == 0
    # None: the full --steps; carried frames get 10% of 10 (--carried-steps unset).
    expected = {i: (None if i in (0, cut_at) else 1) for i in range(12)}
    assert dict(calls) == expected and len(calls) == 12
    # Carried frames dream the two octaves just below the full size; fresh ones all of them (None).
    assert octaves == {i: (None if i in (0, cut_at) else slice(-3, -1)) for i in range(12)}
    calls.clear()
    assert cli(path, "-o", f"{tmp_path}/out2/", *tiny_args, "--carried-steps", "3", "--carried-octaves", "1").code == 0
    assert [dict(calls)[i] for i in (0, 1, cut_at, cut_at + 1)] == [None, 3, None, 3]
    assert [octaves[i] for i in (0, 1, cut_at, cut_at + 1)] == [None, slice(-2, -1), None, slice(-2, -1)]
    assert cli(path, "-o", f"{tmp_path}/out3/", *tiny_args, "--carried-octaves", "all").code == 0
    assert octaves[1] is None


@pytest.mark.parametrize("start, end, first, count", [("2f", "7f", 2, 5), ("0.1", "0.3", 3, 6),
                                                      ("0.1s", None, 3, CLIP_FRAMES - 3), (None, "4f", 0, 4)])
def test_start_and_end_select_frames(cli, clip, tmp_path, tiny_args, tiny_model_file, facts, start, end, first,
                                     count):
    """Seconds are rounded to the nearest frame at 30000/1001 fps: 0.1 s is frame 3, 0.3 s frame 9."""
    from dreamvideo import media
    from dreamvideo.arrays import float255_to_uint8 as to_uint8
    from dreamvideo.dreaming import dream_frame, make_dreamer

    flags = (["--start", start] if start else []) + (["--end", end] if end else [])
    assert cli(clip, "-o", f"{tmp_path}/out/", *tiny_args, "--blend", "0", *flags).code == 0
    frames = facts.png_frames(tmp_path / "out")
    assert len(frames) == count
    # The first output frame is the dream of source frame `first` (the first frame of the render).
    options = dream_options(tiny_model_file)
    source = list(media.read_frames(clip))[first]
    expected = to_uint8(dream_frame(make_dreamer(options), source.astype(np.float32), options, 0))
    assert np.array_equal(frames[0], expected)


@pytest.fixture(scope="module")
def late_tone_clip(tmp_path_factory):
    """The 18-frame clip (0.6 s) with audio that is silent until 0.4 s, then a 440 Hz tone."""
    from conftest import _write_clip, write_tone

    folder = tmp_path_factory.mktemp("late_tone")
    audio = write_tone(folder / "late_tone.m4a", seconds=1, silent_until=0.4)
    return _write_clip(folder / "late_tone.mp4", audio_from=audio)


def rms(samples) -> float:
    return float(np.sqrt(np.mean(np.square(samples))))


def test_start_cuts_the_audio_too(cli, late_tone_clip, tmp_path, tiny_args, facts):
    """Known answer: from frame 6 (0.2 s), the tone that starts 0.4 s into the source starts 0.2 s in."""
    whole = facts.audio_samples(late_tone_clip)  # 8000 samples a second
    assert rms(whole[240:1360]) < 0.01 and rms(whole[3440:4560]) > 0.2  # the fixture is right
    output = tmp_path / "out.mp4"
    assert cli(late_tone_clip, "-o", output, *tiny_args, "--start", "6f", "--end", "18f").code == 0
    assert facts.frame_count(output) == 12
    assert abs(facts.duration(output) - 12 / float(NTSC)) < 0.05
    samples = facts.audio_samples(output)
    assert len(samples) / 8000 == pytest.approx(12 / float(NTSC), abs=0.06)
    assert rms(samples[240:1360]) < 0.01  # 0.03-0.17 s: still the silence
    assert rms(samples[1840:2960]) > 0.2  # 0.23-0.37 s: the tone


def test_fps_resamples_to_an_exact_rate(cli, clip, tmp_path, tiny_args, facts):
    output = tmp_path / "out.mp4"
    assert cli(clip, "-o", output, *tiny_args, "--fps", "15").code == 0
    assert facts.exact_fps(output) == 15
    assert facts.frame_count(output) == round(CLIP_FRAMES / float(NTSC) * 15)


def test_flow_and_flow_preset_change_the_carried_frames(cli, clip, tmp_path, tiny_args, facts, monkeypatch):
    from dreamvideo import motion

    asked = []
    real_flow_pair = motion.flow_pair

    def spy(previous, frame, method="dis", preset="medium", *args, **kwargs):
        asked.append((method, preset))
        return real_flow_pair(previous, frame, method, preset, *args, **kwargs)

    monkeypatch.setattr(motion, "flow_pair", spy)
    renders = {}
    for flags in (("--flow", "dis"), ("--flow-preset", "ultrafast"), ("--flow", "farneback")):
        asked.clear()
        name = "_".join(flags).strip("-")
        assert cli(clip, "-o", f"{tmp_path}/{name}/", *tiny_args, *flags, "--end", "4f").code == 0
        assert set(asked) == {{"dis": ("dis", "medium"), "ultrafast": ("dis", "ultrafast"),
                              "farneback": ("farneback", "medium")}[flags[1]]}
        renders[flags[1]] = facts.png_frames(tmp_path / name)
    assert [len(frames) for frames in renders.values()] == [4, 4, 4]
    dis, ultrafast, farneback = renders["dis"], renders["ultrafast"], renders["farneback"]
    assert np.array_equal(dis[0], ultrafast[0]) and np.array_equal(dis[0], farneback[0])  # nothing carried yet
    for index in range(1, 4):  # the carried frames follow each method's own flow
        assert not np.array_equal(dis[index], ultrafast[index]), f"frame {index}"
        assert not np.array_equal(dis[index], farneback[index]), f"frame {index}"


def test_quality_reaches_the_encoder(cli, silent_clip, tmp_path, tiny_args, facts):
    sizes = {}
    for crf in ("4", "40"):
        output = tmp_path / f"crf{crf}.mp4"
        assert cli(silent_clip, "-o", output, *tiny_args, "--quality", crf).code == 0
        assert facts.frame_count(output) == CLIP_FRAMES
        sizes[crf] = output.stat().st_size
    # A dream is all fine detail: near-lossless CRF 4 takes several times the bytes of CRF 40.
    assert sizes["4"] > 4 * sizes["40"], sizes


def test_truncated_video_renders_what_decodes_and_warns_once(cli, moving_clip, tmp_path, tiny_args, facts,
                                                            caplog):
    data = open(moving_clip, "rb").read()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    decodable = decodable_frame_count(half)
    assert 0 < decodable < CLIP_FRAMES
    output = tmp_path / "out.mp4"
    with caplog.at_level(logging.INFO, logger="dreamvideo"):
        result = cli(half, "-o", output, *tiny_args)
    assert result.code == 0, result.err
    assert facts.frame_count(output) == decodable
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "half.mp4" in warnings[0].getMessage()
    assert published(tmp_path) == ["half.mp4", "out.mp4"]


# ------------------------------------------------------------------------------------------ real clips


def shared_clip(name):
    return shared_media("clips", name)


def test_real_clip_with_fractional_rate_and_audio(cli, tmp_path, tiny_args, facts):
    source = shared_clip("realshort.mp4")  # 36 frames at 45000/1499 with AAC mono
    output = tmp_path / "out.mp4"
    assert cli(source, "-o", output, *tiny_args, "--max-side", "48", "--steps", "1").code == 0
    assert facts.frame_count(output) == 36
    assert facts.exact_fps(output) == Fraction(45000, 1499)
    assert facts.has_audio(output)


def test_real_animated_gif_to_png_frames(cli, tmp_path, tiny_args, facts):
    source = shared_clip("newtonscradle.gif")  # 36 frames with per-frame delays
    assert cli(source, "-o", f"{tmp_path}/frames/", *tiny_args, "--max-side", "40", "--steps", "1").code == 0
    frames = facts.png_frames(tmp_path / "frames")
    assert len(frames) == 36 and frames[0].shape == (30, 40, 3)


@pytest.mark.parametrize("flag, value, needle", [("--steps", "0:(2), 3:(0)", "frame 3"),
                                                 ("--octave-scale", "0:(1.4), 4:(0.9)", "frame 4"),
                                                 ("--step-size", "0:(1), 2:(-1)", "frame 1")])  # 0 at frame 1
def test_bad_schedules_fail_before_any_frame_naming_the_frame(cli, clip, tmp_path, snapshot, tiny_args, flag,
                                                              value, needle):
    before = snapshot(tmp_path)
    cli(clip, "-o", tmp_path / "out.mp4", *tiny_args, flag, value).assert_user_error(needle)
    assert snapshot(tmp_path) == before


def test_octave_scale_follows_keyframes(cli, clip, tmp_path, tiny_args):
    import cv2

    def render(name, scale):
        out = tmp_path / name
        result = cli(clip, "-o", f"{out}/", *tiny_args, "--octaves", "2", "--blend", "0", "--octave-scale", scale)
        assert result.code == 0, result.err
        return [cv2.imread(str(p)) for p in sorted(out.glob("frame_*.png"))]

    keyed, constant = render("keyed", "0:(1.2), 3:(2.0)"), render("constant", "1.2")
    assert (keyed[0] == constant[0]).all()  # frame 0: both 1.2
    assert not (keyed[-1] == constant[-1]).all()  # later: 2.0 against 1.2


def test_repeated_source_pictures_repeat_the_dream_without_dreaming(cli, tmp_path, tiny_args, monkeypatch):
    import cv2

    from dreamvideo import media, video

    pictures = list(moving_frames(4, seed=3))
    sequence = [0, 0, 1, 2, 2, 2, 3]  # as a dropped-frame AVI resampled to its rate looks
    path = tmp_path / "repeats.mp4"
    with media.open_sink(path, fps=10, quality=0) as sink:  # lossless: repeats stay identical
        for i in sequence:
            sink.write(pictures[i])
    calls = record_dream_frames(video, monkeypatch)
    assert cli(path, "-o", f"{tmp_path}/out/", *tiny_args).code == 0
    assert [frame for frame, _ in calls] == [0, 2, 3, 6]
    frames = [cv2.imread(str(p)) for p in sorted((tmp_path / "out").glob("frame_*.png"))]
    assert len(frames) == 7
    assert (frames[0] == frames[1]).all() and (frames[3] == frames[4]).all() and (frames[4] == frames[5]).all()
    assert not (frames[1] == frames[2]).all()


# ------------------------------------------------------------------------------------- the dream over time


def render_frames(frames, folder, tiny_model_file, dream=None, **video_options):
    """Dream a list of frames with the tiny model at the project's defaults (but 1 octave, 2 steps)."""
    from dreamvideo.options import VideoOptions
    from dreamvideo.video import dream_frames

    dream_frames(iter(frames), f"{folder}/", total=len(frames), fps=25,
                 dream_opts=dream_options(tiny_model_file, **(dream or {})),
                 carry_opts=VideoOptions(**video_options), output_opts=VideoOptions(**video_options),
                 source={"test": str(folder)})


def static_frames(count):
    """A still scene: one picture with a grey level of noise per frame, so every frame is carried and dreamed."""
    from conftest import random_picture

    base = random_picture(48, 64, seed=5).astype(np.int16)
    rng = np.random.default_rng(0)
    return [np.clip(base + rng.integers(-1, 2, base.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def strengths(frames, folder, facts):
    return [float(np.abs(d.astype(np.float32) - f).mean()) for f, d in zip(frames, facts.png_frames(folder))]


def test_a_static_clip_holds_its_dream_strength(tmp_path, tiny_model_file, facts):
    """On a still scene the dream settles at the defaults: its strength at frame 200 is within 15% of that at
    frame 40."""
    frames = static_frames(201)
    render_frames(frames, tmp_path / "out", tiny_model_file)
    strength = strengths(frames, tmp_path / "out", facts)
    assert strength[40] > 2.0  # there is a dream to hold
    assert abs(strength[200] / strength[40] - 1) <= 0.15, (strength[40], strength[200])


def test_steady_holds_a_dream_that_would_build_up_at_its_first_strength(tmp_path, tiny_model_file, facts):
    """Settings that make a carried dream pile up (nothing given back to the source, little let go):
    left alone the dream grows several times over 80 frames; held, every frame from 10 on stays within 20%
    of the first full dream's strength."""
    frames = static_frames(81)
    build_up = dict(anchor=0.0, blend=0.95)
    render_frames(frames, tmp_path / "free", tiny_model_file, steady=0.0, **build_up)
    render_frames(frames, tmp_path / "held", tiny_model_file, steady=1.0, **build_up)
    free, held = strengths(frames, tmp_path / "free", facts), strengths(frames, tmp_path / "held", facts)
    assert free[80] > 3 * free[0]  # there is a build-up to hold back
    assert held[0] == free[0]  # the first frame is a full dream either way
    assert all(abs(s / held[0] - 1) <= 0.2 for s in held[10:]), [round(s / held[0], 2) for s in held]


def test_steady_follows_a_keyframed_step_size(tmp_path, tiny_model_file, facts):
    """The hold keeps the strength per unit of step size: a step size keyframed from 1 to 4 still makes the
    dream about 4 times as strong by the end, and a constant one keeps it flat."""
    frames = static_frames(81)
    render_frames(frames, tmp_path / "ramp", tiny_model_file, dream=dict(step_size="0:(1), 80:(4)"), steady=1.0)
    render_frames(frames, tmp_path / "flat", tiny_model_file, dream=dict(step_size=1.0), steady=1.0)
    ramp, flat = strengths(frames, tmp_path / "ramp", facts), strengths(frames, tmp_path / "flat", facts)
    assert ramp[0] == flat[0]
    assert 3.0 <= ramp[80] / ramp[0] <= 5.2, ramp[80] / ramp[0]
    assert 0.8 <= flat[80] / flat[0] <= 1.2, flat[80] / flat[0]


def test_the_carry_trusts_flat_static_regions_more_than_the_raw_check_and_still_finds_disocclusions():
    """The carry's consistency weight (flows smoothed before the forward-backward check) refuses at most 3/4
    as many pixels as the check on the raw flows on a static-camera clip with flat walls, and still refuses
    the background a moving square uncovers."""
    from conftest import random_picture
    from dreamvideo import media, motion
    from dreamvideo.options import VideoOptions
    from dreamvideo.video import flow_and_cut

    frames = list(media.read_frames(shared_clip("test.webm"), end_frame=12, max_side=256))
    raw, carry = [], []
    for previous, frame in zip(frames, frames[1:]):
        raw.append((motion.consistency_weight(*motion.flow_pair(previous, frame)) < 0.5).mean())
        carry.append((flow_and_cut(previous, frame, VideoOptions())[1] < 0.5).mean())
    assert np.mean(raw) > 0.15  # the raw check refuses much of a static shot
    assert np.mean(carry) <= 0.75 * np.mean(raw), (raw, carry)

    background, square = random_picture(96, 128, seed=3), random_picture(32, 32, seed=4)
    moved = []
    for left in (40, 48):  # the square moves 8 px right: columns 40-47 of rows 32-63 are uncovered
        frame = background.copy()
        frame[32:64, left:left + 32] = square
        moved.append(frame)
    weight = flow_and_cut(*moved, VideoOptions())[1]
    assert (weight[34:62, 40:47] < 0.5).mean() > 0.9
    assert (weight[:, 100:] < 0.5).mean() < 0.1  # the static background far from it is trusted


def test_colour_match_moves_each_frame_to_its_source_colours(tmp_path, tiny_model_file, facts):
    from dreamvideo import colour

    frames = list(moving_frames(6))
    render_frames(frames, tmp_path / "plain", tiny_model_file, dream=dict(step_size=20.0), colour_match=0.0)
    render_frames(frames, tmp_path / "matched", tiny_model_file, dream=dict(step_size=20.0), colour_match=1.0)
    plain, matched = facts.png_frames(tmp_path / "plain"), facts.png_frames(tmp_path / "matched")
    for index in (0, 5):
        source = colour.colour_stats(frames[index])
        far, near = colour.colour_stats(plain[index]), colour.colour_stats(matched[index])
        # Known answer: fully matched, the LAB mean and spread are the source's (up to uint8 rounding
        # and out-of-gamut clipping); the unmatched dream is measurably elsewhere.
        np.testing.assert_allclose(near.mean, source.mean, atol=1.0)
        np.testing.assert_allclose(near.std, source.std, rtol=0.1, atol=1.0)
        assert np.abs(far.mean - source.mean).max() + np.abs(far.std - source.std).max() > 3.0
