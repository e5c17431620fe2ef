"""End-to-end tests of ``dreamvideo zoom`` and ``dreamvideo.zoom.render_zoom``.

Motion is checked with known answers: with a vanishing step size (1e-6 moves no pixel by half a level)
and colour matching off, the dream is the identity, so each frame must be exactly the previous one moved
by ``motion.affine_warp`` with the scheduled values.
"""

import os

import numpy as np
import pytest

from conftest import SAMPLES, published, record_dream_frames

CAT = SAMPLES / "chelsea.png"
STILL_DREAM = ["--octaves", "1", "--steps", "1", "--step-size", "1e-6", "--colour-match", "0"]


@pytest.fixture()
def tiny(tiny_model_file):
    return ["--model", tiny_model_file, "--layer", "conv3", "-q"]


@pytest.fixture()
def tiny_kwargs(tiny_model_file):
    return dict(model=tiny_model_file, layer=["conv3"], quiet=True)


def border_is_constant(frame) -> bool:
    """True if any outermost row or column is a single colour (what a constant border fill leaves)."""
    edges = (frame[0], frame[-1], frame[:, 0], frame[:, -1])
    return any((edge == edge[0]).all() for edge in edges)


def mean_abs(a, b) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


# ------------------------------------------------------------------------------------------ outputs


def test_gif_from_a_sample_still_with_the_embedded_model(cli, tmp_path, facts):
    output = tmp_path / "zoom.gif"
    result = cli("zoom", CAT, "-o", output, "--frames", "6", "--max-side", "48", "--steps", "1",
                 "--octaves", "1", "-q")
    assert result.code == 0, result.err
    count, loop, netscape = facts.gif(output)
    assert count == 6 and loop == 0 and netscape  # 0 = loop forever, in the NETSCAPE2.0 extension
    assert published(tmp_path) == ["zoom.gif"]


def test_mp4_is_h264_with_the_frame_count_and_rate(cli, tmp_path, tiny, facts):
    output = tmp_path / "zoom.mp4"
    result = cli("zoom", CAT, "-o", output, "--frames", "6", "--max-side", "48", "--fps", "30000/1001",
                 "--steps", "2", "--octaves", "1", *tiny)
    assert result.code == 0, result.err
    assert facts.video_codec(output) == "h264"
    assert facts.frame_count(output) == 6
    assert str(facts.exact_fps(output)) == "30000/1001"
    assert not facts.has_audio(output)
    frames = facts.decoded_frames(output)
    assert frames[0].shape == (32, 48, 3)


def test_from_noise_without_an_image(cli, tmp_path, tiny, facts, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("zoom", "--size", "64x40", "--frames", "4", "--steps", "2", "--octaves", "1", *tiny)
    assert result.code == 0, result.err
    assert published(tmp_path) == ["zoom.gif"]  # the default name, in the working folder
    assert facts.gif(tmp_path / "zoom.gif")[0] == 4
    assert cli("zoom", "-o", f"{tmp_path}/frames/", "--size", "64x40", "--frames", "3", *tiny).code == 0
    frames = facts.png_frames(tmp_path / "frames")
    assert len(frames) == 3 and frames[0].shape == (40, 64, 3)
    assert frames[0].std() > 5  # coloured clouds, not a flat canvas


def test_default_output_is_stem_zoom_gif_beside_the_input(tmp_path, tiny_kwargs, facts):
    import shutil

    from dreamvideo.api import render_zoom

    still = shutil.copy(CAT, tmp_path / "cat.png")
    output = render_zoom(still, frames=2, max_side=32, octaves=1, steps=1, **tiny_kwargs)
    assert output == str(tmp_path / "cat_zoom.gif")
    assert published(tmp_path) == ["cat.png", "cat_zoom.gif"]


# ------------------------------------------------------------------------------------------ motion


def test_translate_x_keyframes_move_the_picture_right_by_the_scheduled_pixels(cli, tmp_path, tiny, facts):
    result = cli("zoom", "-o", f"{tmp_path}/out/", "--size", "48x32", "--frames", "4", "--zoom", "1",
                 "--translate-x", "0:(0), 1:(2), 3:(6)", *STILL_DREAM, *tiny)
    assert result.code == 0, result.err
    frames = facts.png_frames(tmp_path / "out")
    for index, shift in ((1, 2), (2, 4), (3, 6)):
        previous, frame = frames[index - 1], frames[index]
        assert np.array_equal(frame[:, shift:], previous[:, :-shift]), f"frame {index}"


def test_translate_y_keyframes_move_the_picture_down_by_the_scheduled_pixels(cli, tmp_path, tiny, facts):
    result = cli("zoom", "-o", f"{tmp_path}/out/", "--size", "48x32", "--frames", "4", "--zoom", "1",
                 "--translate-y", "0:(0), 1:(2), 3:(6)", *STILL_DREAM, *tiny)
    assert result.code == 0, result.err
    frames = facts.png_frames(tmp_path / "out")
    assert len(frames) == 4
    for index, shift in ((1, 2), (2, 4), (3, 6)):
        previous, frame = frames[index - 1], frames[index]
        assert np.array_equal(frame[shift:], previous[:-shift]), f"frame {index}"


def test_zoom_about_a_corner_given_by_center_x_and_center_y(cli, tmp_path, tiny, facts):
    """Known answer: 2x about the bottom-left corner (x 0, y 1) sends pixel (x, y) to (2x, 2y - (H - 1))."""
    result = cli("zoom", "-o", f"{tmp_path}/out/", "--size", "48x32", "--frames", "2", "--zoom", "2",
                 "--center-x", "0", "--center-y", "1", *STILL_DREAM, *tiny)
    assert result.code == 0, result.err
    first, second = facts.png_frames(tmp_path / "out")
    # Even output pixels fall exactly on input pixels, where Lanczos returns the input value itself.
    assert np.array_equal(second[31::-2, 0::2], first[31:15:-1, 0:24])
    assert not np.array_equal(second[31::-2, 0::2], first[15::-1, 0:24])


@pytest.mark.parametrize("interpolation", ["linear", "cubic"])
def test_interpolation_is_the_one_the_warp_uses(cli, tmp_path, tiny, facts, interpolation):
    from dreamvideo import motion

    result = cli("zoom", "-o", f"{tmp_path}/out/", "--size", "48x32", "--frames", "3", "--zoom", "1.1",
                 "--angle", "7", "--interpolation", interpolation, *STILL_DREAM, *tiny)
    assert result.code == 0, result.err
    frames = facts.png_frames(tmp_path / "out")
    assert len(frames) == 3
    for index in (1, 2):
        moved = lambda how: motion.affine_warp(frames[index - 1], zoom=1.1, angle=7, interpolation=how)  # noqa
        assert np.array_equal(frames[index], moved(interpolation)), f"frame {index}"
        assert not np.array_equal(frames[index], moved("lanczos")), f"frame {index}"


def test_half_turn_about_the_default_centre_is_an_exact_flip(cli, tmp_path, tiny, facts):
    """--center-x/y 0.5 is the middle of the picture: a 180-degree turn about it maps pixels onto pixels."""
    result = cli("zoom", "-o", f"{tmp_path}/out/", "--size", "48x32", "--frames", "2", "--zoom", "1",
                 "--angle", "180", *STILL_DREAM, *tiny)
    assert result.code == 0, result.err
    first, second = facts.png_frames(tmp_path / "out")
    assert np.array_equal(second, first[::-1, ::-1])


ZOOM_KEYS = "0:(1.0), 4:(1.08)"
ANGLE_KEYS = "0:(0), 4:(8)"
SHIFT_KEYS = "0:(0), 4:(-4)"


def scheduled_chain(first, frames):
    """The known answer: each frame is the previous one moved by the keyframed values of its index."""
    from dreamvideo import motion
    from dreamvideo.schedules import as_schedule

    zoom, angle, shift = (as_schedule(k) for k in (ZOOM_KEYS, ANGLE_KEYS, SHIFT_KEYS))
    chain = [first]
    for index in range(1, frames):
        chain.append(motion.affine_warp(chain[-1], zoom=zoom(index), angle=angle(index),
                                        translate=(shift(index), 0.0)))
    return chain


def test_zoom_angle_translate_keyframes_from_the_cli_follow_the_schedule(cli, tmp_path, tiny, facts):
    result = cli("zoom", "-o", f"{tmp_path}/out/", "--size", "48x32", "--frames", "5", "--zoom", ZOOM_KEYS,
                 "--angle", ANGLE_KEYS, "--translate-x", SHIFT_KEYS, "--interpolation", "lanczos",
                 *STILL_DREAM, *tiny)
    assert result.code == 0, result.err
    frames = facts.png_frames(tmp_path / "out")
    expected = scheduled_chain(frames[0], 5)
    for index in range(1, 5):
        assert mean_abs(frames[index], expected[index]) < 0.5, f"frame {index}"


def test_api_keyframe_strings_callables_and_cli_agree(cli, tmp_path, tiny, tiny_kwargs, facts):
    from dreamvideo.schedules import as_schedule
    from dreamvideo.api import render_zoom

    common = dict(size="48x32", frames=5, octaves=1, steps=1, step_size=1e-6, colour_match=0, **tiny_kwargs)
    render_zoom(None, f"{tmp_path}/strings/", zoom=ZOOM_KEYS, angle=ANGLE_KEYS, translate_x=SHIFT_KEYS,
                **common)
    zoom_values = as_schedule(ZOOM_KEYS)
    render_zoom(None, f"{tmp_path}/callables/", zoom=lambda t: zoom_values(t), angle=lambda t: 2.0 * t,
                translate_x=lambda t: -1.0 * t, **common)
    render_zoom(None, f"{tmp_path}/constant/", zoom=1.02, **common)
    assert cli("zoom", "-o", f"{tmp_path}/cli/", "--size", "48x32", "--frames", "5", "--zoom", ZOOM_KEYS,
               "--angle", ANGLE_KEYS, "--translate-x", SHIFT_KEYS, *STILL_DREAM, *tiny).code == 0

    strings, callables, constant, from_cli = (facts.png_frames(tmp_path / name)
                                              for name in ("strings", "callables", "constant", "cli"))
    assert len(strings) == len(callables) == len(constant) == len(from_cli) == 5
    for index in range(5):
        assert np.array_equal(strings[index], callables[index]), f"frame {index}"
        assert np.array_equal(strings[index], from_cli[index]), f"frame {index}"
    assert not np.array_equal(strings[4], constant[4])
    expected = scheduled_chain(strings[0], 5)
    assert mean_abs(strings[4], expected[4]) < 0.5


# ------------------------------------------------------------------------------------------ bad settings


@pytest.mark.parametrize("flag, text, position", [("--zoom", "0:(1.02), 10(1.05)", "character 13"),
                                                  ("--angle", "0:(0), 5:(3", "character 10"),
                                                  ("--translate-x", "0:(0), 5:(2 +* 3)", "character")])
def test_bad_keyframe_strings_fail_with_the_position(cli, tmp_path, tiny, snapshot, flag, text, position):
    line = cli("zoom", "-o", tmp_path / "out.gif", "--frames", "6", flag, text, *tiny).assert_user_error(position)
    assert flag.lstrip("-").replace("-", " ") in line  # names the parameter
    assert snapshot(tmp_path) == []


def test_bad_keyframe_string_through_the_api(tmp_path, tiny_kwargs):
    from dreamvideo import DreamError
    from dreamvideo.api import render_zoom

    with pytest.raises(DreamError, match="character 9"):
        render_zoom(None, tmp_path / "out.gif", frames=4, zoom="0:(1.0) 5:(2)", **tiny_kwargs)
    with pytest.raises(DreamError, match="zoom"):
        render_zoom(None, tmp_path / "out.gif", frames=4, zoom=lambda t: 1.0 - t, **tiny_kwargs)
    with pytest.raises(DreamError, match="frames"):
        render_zoom(None, tmp_path / "out.gif", frames=0, **tiny_kwargs)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("flags, needle", [(["--zoom", "0"], "zoom"), (["--zoom", "0:(1), 3:(-1)"], "zoom"),
                                           (["--frames", "0"], "--frames"), (["--fps", "0"], "fps"),
                                           (["--colour-match", "2"], "colour"), (["--size", "big"], "big")])
def test_impossible_values_are_rejected(cli, tmp_path, tiny, snapshot, flags, needle):
    cli("zoom", "-o", tmp_path / "out.gif", "--frames", "4", *tiny, *flags).assert_user_error(needle)
    assert snapshot(tmp_path) == []


# ------------------------------------------------------------------------------------------ looks


def test_loop_joins_the_last_frame_to_the_first_smoothly(cli, tmp_path, tiny, facts):
    result = cli("zoom", CAT, "-o", f"{tmp_path}/out/", "--max-side", "48", "--frames", "12", "--zoom", "1.05",
                 "--loop", "--steps", "2", "--octaves", "1", *tiny)
    assert result.code == 0, result.err
    frames = facts.png_frames(tmp_path / "out")
    assert len(frames) == 12  # the overlap frames are folded in, not added
    steps = [mean_abs(a, b) for a, b in zip(frames, frames[1:])]
    assert mean_abs(frames[-1], frames[0]) <= 1.5 * float(np.median(steps)), (mean_abs(frames[-1], frames[0]),
                                                                              steps)


def test_loop_cross_fade_weights_fall_linearly_from_the_tail_to_the_head():
    """Known answer: rendered frame i is the flat grey 20 * i; 8 frames, an overlap of 4."""
    from dreamvideo.zoom import loop_frames

    rendered = [np.full((2, 3, 3), 20 * i, np.uint8) for i in range(12)]
    looped = list(loop_frames(rendered.__getitem__, 8, 4))
    assert len(looped) == 8 and all(frame.shape == (2, 3, 3) and frame.dtype == np.uint8 for frame in looped)
    # Frame 0 is the tail frame 8 (the continuation of frame 7), then weights 3/4, 1/2, 1/4 of frames 9-11
    # on frames 1-3 (0.75 * 180 + 0.25 * 20 = 140 ...), then the head as rendered.
    assert [int(frame[0, 0, 0]) for frame in looped] == [160, 140, 120, 100, 80, 100, 120, 140]
    assert all((frame == frame[0, 0, 0]).all() for frame in looped)


def test_overlap_renders_that_many_frames_past_the_end(cli, tmp_path, tiny, facts, monkeypatch):
    from dreamvideo import zoom

    calls = record_dream_frames(zoom, monkeypatch)
    result = cli("zoom", "-o", f"{tmp_path}/out/", "--size", "32x32", "--frames", "8", "--loop", "--loop-fade", "3",
                 "--steps", "1", "--octaves", "1", *tiny)
    assert result.code == 0, result.err
    assert [frame for frame, _ in calls] == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2]  # 3 more, moving (and seeded) like frames 0-2
    assert len(facts.png_frames(tmp_path / "out")) == 8


def test_carried_steps_of_a_zoom(cli, tmp_path, tiny, monkeypatch):
    from dreamvideo import zoom

    calls = record_dream_frames(zoom, monkeypatch)
    settings = ["--size", "32x32", "--frames", "4", "--steps", "10", "--octaves", "1", *tiny]
    assert cli("zoom", "-o", f"{tmp_path}/a/", *settings).code == 0
    assert calls == [(0, None), (1, 3), (2, 3), (3, 3)]  # None: --steps; then 30% of 10
    calls.clear()
    assert cli("zoom", "-o", f"{tmp_path}/b/", *settings, "--carried-steps", "4").code == 0
    assert calls == [(0, None), (1, 4), (2, 4), (3, 4)]


def test_quality_reaches_the_mp4_encoder(cli, tmp_path, tiny):
    sizes = {}
    for crf in ("0", "40"):
        output = tmp_path / f"crf{crf}.mp4"
        assert cli("zoom", "-o", output, "--size", "48x48", "--frames", "4", "--steps", "2", "--octaves", "1",
                   "--quality", crf, *tiny).code == 0
        sizes[crf] = output.stat().st_size
    assert sizes["0"] > 2 * sizes["40"], sizes  # lossless against CRF 40: 5x measured


def test_no_constant_border_after_rotating_and_zooming_out(cli, tmp_path, tiny, facts):
    """With the identity dream nothing disturbs the edges: what the warp brings in there is what shows."""
    from dreamvideo import motion

    result = cli("zoom", CAT, "-o", f"{tmp_path}/out/", "--max-side", "48", "--frames", "4", "--zoom", "0.9",
                 "--angle", "10", *STILL_DREAM, *tiny)
    assert result.code == 0, result.err
    frames = facts.png_frames(tmp_path / "out")
    assert len(frames) == 4
    for index, frame in enumerate(frames):
        assert not border_is_constant(frame), f"frame {index} has a constant-colour edge"
    for index in range(1, 4):
        assert np.array_equal(frames[index], motion.affine_warp(frames[index - 1], zoom=0.9, angle=10))


def mean_lightness(frame) -> float:
    import cv2

    return float(cv2.cvtColor(frame.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0].mean())


def test_colour_match_holds_the_lightness_of_the_first_frame(cli, tmp_path, tiny, facts):
    settings = ["--max-side", "48", "--frames", "12", "--zoom", "1.05", "--steps", "2", "--octaves", "1",
                "--step-size", "6", *tiny]
    assert cli("zoom", CAT, "-o", f"{tmp_path}/matched/", "--colour-match", "1", *settings).code == 0
    assert cli("zoom", CAT, "-o", f"{tmp_path}/free/", "--colour-match", "0", *settings).code == 0
    matched, free = facts.png_frames(tmp_path / "matched"), facts.png_frames(tmp_path / "free")
    assert len(matched) == len(free) == 12
    assert not np.array_equal(matched[-1], free[-1])
    matched_drift = max(abs(mean_lightness(frame) - mean_lightness(matched[0])) for frame in matched)
    free_drift = abs(mean_lightness(free[-1]) - mean_lightness(free[0]))
    # Measured: the free loop darkens by 2.8 L* over 12 frames; matched to the first frame, no frame is more
    # than 0.19 L* off it; re-taking the reference every frame lets it drift by 1.1 L*.
    assert free_drift > 1.5, free_drift
    assert matched_drift <= 0.15 * free_drift, (matched_drift, free_drift)


def test_colour_reference_sets_the_lightness(cli, tmp_path, tiny, facts, random_image):
    import cv2

    bright = tmp_path / "bright.png"
    cv2.imwrite(str(bright), np.clip(random_image(32, 32).astype(int) + 120, 0, 255).astype(np.uint8))
    target = mean_lightness(cv2.imread(str(bright))[..., ::-1].copy())
    result = cli("zoom", CAT, "-o", f"{tmp_path}/out/", "--colour-reference", bright, "--max-side", "48",
                 "--frames", "4", "--steps", "2", "--octaves", "1", *tiny)
    assert result.code == 0, result.err
    for frame in facts.png_frames(tmp_path / "out"):
        assert abs(mean_lightness(frame) - target) <= 0.05 * target
