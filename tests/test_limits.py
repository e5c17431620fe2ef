"""limits (every size bound, checked before work), safejson (bounded JSON) and writeguard (what a render writes)."""

import json
import os
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from dreamvideo import limits, safejson, writeguard
from dreamvideo.errors import DreamError

ROOT = str(Path(__file__).resolve().parents[1])

# -- limits ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, 1.0, "3", True, None, 10**30])
def test_check_whole_refuses_what_is_not_a_count_in_range(value):
    with pytest.raises(DreamError, match="steps"):
        limits.check_steps(value)


def test_check_whole_names_the_limit_and_shortens_a_long_value():
    with pytest.raises(DreamError) as caught:
        limits.check_steps(10**400)
    message = str(caught.value)
    assert "10,000" in message and len(message) < 150 and "\n" not in message


def test_check_whole_takes_numpy_integers_and_the_bounds_themselves():
    limits.check_steps(np.int64(limits.MAX_STEPS))
    limits.check_steps(1)
    limits.check_seed(0)
    limits.check_seed(limits.MAX_SEED)
    with pytest.raises(DreamError, match="seed"):
        limits.check_seed(-1)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 10**400, 1e308, 0.0, "2"])
def test_step_size_must_be_finite_and_in_range(value):
    with pytest.raises(DreamError, match="step size"):
        limits.check_step_size(value)


def test_weights_may_be_negative_but_bounded():
    assert limits.check_weight("tv", -3.0) == -3.0
    with pytest.raises(DreamError, match="tv"):
        limits.check_weight("tv", 1e308)


@pytest.mark.parametrize("fps", [Fraction(10**308), Fraction(1, 10**308), Fraction(0), Fraction(1, 11),
                                 Fraction(1001, 10**7)])
def test_fps_outside_the_range_is_refused(fps):
    with pytest.raises(DreamError, match="fps"):
        limits.check_fps(fps)


def test_fps_of_common_rates_pass():
    for fps in (Fraction(30000, 1001), Fraction(24), Fraction(1, 10), Fraction(1000)):
        assert limits.check_fps(fps) == fps


def test_canvas_bounds_each_side_and_the_pixel_count():
    limits.check_canvas(512, 512)
    for size in ((100_000, 100_000), (16_384, 16_384), (0, 10), (20_000, 16)):
        with pytest.raises(DreamError, match="size"):
            limits.check_canvas(*size)


def test_channel_range_is_checked_before_it_is_expanded():
    limits.check_channel_range(5, 511, "layer block4_conv3/5-511")
    with pytest.raises(DreamError, match="65,535"):
        limits.check_channel_range(5, 1_000_000_000, "layer block4_conv3/5-1000000000")
    with pytest.raises(DreamError, match="512 channels"):
        limits.check_channels_exist([3, 100_000], 512, "block4_conv3")


def test_weight_shape_is_bounded_before_reading():
    limits.check_weight_shape((4, 4, 512, 100), "m.gan")
    with pytest.raises(DreamError, match="m.gan"):
        limits.check_weight_shape((1_000_000, 1_000_000), "m.gan")


def test_number_text_longer_than_the_limit_is_refused():
    limits.check_number_text("1" * limits.MAX_NUMBER_CHARS, "steps")
    with pytest.raises(DreamError, match="steps"):
        limits.check_number_text("9" * 400, "steps")


def test_output_names_must_be_utf8_and_leave_room_for_derived_names():
    limits.check_output_name("clip_dream.mp4")
    limits.check_output_name("folder/" + "x" * (limits.MAX_NAME_BYTES - limits.DERIVED_NAME_BYTES))
    with pytest.raises(DreamError, match="bytes"):
        limits.check_output_name("x" * 240 + ".mp4")
    with pytest.raises(DreamError, match="UTF-8"):
        limits.check_output_name(os.fsdecode(b"v\xff.mp4"))
    with pytest.raises(DreamError, match="UTF-8"):
        limits.check_input_name(os.fsdecode(b"v\xff.mp4"))


def test_pixel_count_limit():
    limits.check_pixels(8000, 8000, "a.png")
    with pytest.raises(DreamError, match="a.png"):
        limits.check_pixels(9000, 9000, "a.png")


# -- safejson ----------------------------------------------------------------------------------------


def test_nesting_depth_counts_brackets_outside_strings():
    assert safejson.nesting_depth('{"a": [1, {"b": [2]}]}') == 4
    assert safejson.nesting_depth('{"a": "[[[[[[\\"[[["}') == 1
    assert safejson.nesting_depth("3") == 0


def test_deep_nesting_is_refused_before_parsing():
    with pytest.raises(DreamError, match="nested 100000 deep"):
        safejson.loads("[" * 100_000 + "]" * 100_000, "r.json")


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', '{"a": 1e400}',
                                  '{"a": ' + "9" * 5000 + "}", '{"a": 1, "a": 2}', '{"a": ', "[1,]"])
def test_values_the_parser_would_mangle_are_refused(text):
    with pytest.raises(DreamError, match="r.json"):
        safejson.loads(text, "r.json")


def test_bytes_that_are_not_utf8_are_refused():
    with pytest.raises(DreamError, match="UTF-8"):
        safejson.loads(b'{"a": "\xff"}', "r.json")


def test_a_real_render_file_loads_as_json_does():
    for path in Path(__file__).resolve().parents[1].glob("samples/*.dreamvideo.json"):
        assert safejson.read(path) == json.loads(path.read_text())


def test_read_refuses_fifo_device_folder_and_large_files(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(pytest.raises(DreamError, safejson.read, fifo)))
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "reading a FIFO blocked"
    assert "regular file" in str(outcome[0].value)
    with pytest.raises(DreamError, match="regular file"):
        safejson.read("/dev/zero")
    with pytest.raises(DreamError, match="folder"):
        safejson.read(tmp_path)
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 100 + "1]")
    with pytest.raises(DreamError, match="limit"):
        safejson.read(big, max_bytes=100)
    with pytest.raises(DreamError, match="not found"):
        safejson.read(tmp_path / "missing.json")


# -- writeguard --------------------------------------------------------------------------------------


def test_outputs_apart_from_inputs_by_path_link_and_folder(tmp_path):
    guide = tmp_path / "guide.png"
    guide.write_bytes(b"x")
    (tmp_path / "link.png").symlink_to(guide)
    os.link(guide, tmp_path / "hard.png")
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "frame_000001.png").write_bytes(b"y")
    inputs = [("guide", guide), ("input", tmp_path / "frames" / "frame_000001.png"), ("mask", None)]
    writeguard.check_outputs_apart([("output", tmp_path / "out.png")], inputs)
    for output in ("guide.png", "./guide.png", "link.png", "hard.png", "frames/", "frames"):
        with pytest.raises(DreamError, match="reads"):
            writeguard.check_outputs_apart([("output", str(tmp_path / output))], inputs)


def test_confine_keeps_paths_in_the_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to("/", target_is_directory=True)
    assert writeguard.confine("a/b.png", tmp_path, "output", "r.json") == tmp_path.resolve() / "a" / "b.png"
    for path in ("/etc/x.png", "../x.png", "a/../../x.png", "out/link/tmp/x.png", "", 3, None):
        with pytest.raises(DreamError, match="r.json"):
            writeguard.confine(path, tmp_path, "output", "r.json")


def test_a_second_lock_on_one_output_names_the_first(tmp_path):
    output = tmp_path / "z.gif"
    with writeguard.OutputLock(output, "dreamvideo zoom -o z.gif"):
        with pytest.raises(DreamError, match=f"process {os.getpid()}: dreamvideo zoom -o z.gif"):
            writeguard.OutputLock(output).acquire()
    assert not writeguard.lock_path(output).exists()
    with writeguard.OutputLock(output):  # free again
        pass


def test_a_killed_holder_frees_the_lock(tmp_path):
    output = tmp_path / "z.gif"
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from dreamvideo import writeguard;"
            "writeguard.OutputLock(sys.argv[2]).acquire(); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, ROOT, str(output)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DreamError, match=f"process {holder.pid}"):
            writeguard.OutputLock(output).acquire()
    finally:
        holder.kill()
        holder.wait()
    with writeguard.OutputLock(output):
        pass


def test_a_picture_only_opencv_reads_is_bounded_before_it_is_decoded(tmp_path):
    """A 9000x9000 run-length encoded Radiance HDR named .png (Pillow cannot read its header): refused by the
    pixel limit inside OpenCV's decoder, before it allocates 81 MP of floats."""
    width = height = 9000
    runs = b"".join(bytes([128 + n, 100]) for n in [127] * (width // 127) + [width % 127])
    line = bytes([2, 2, width >> 8, width & 255]) + runs * 4
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode() + line * height)
    # In a fresh process, as the command line runs: OpenCV reads the limit when it loads, after dreamvideo set it.
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import dreamvideo; from dreamvideo import media\n"
            "try:\n    media.read_image(sys.argv[2])\nexcept dreamvideo.DreamError as exc:\n    print(exc)")
    run = subprocess.run([sys.executable, "-c", code, ROOT, str(bomb)], capture_output=True, text=True, timeout=120)
    assert "64,000,000 pixels" in run.stdout, run.stdout + run.stderr
