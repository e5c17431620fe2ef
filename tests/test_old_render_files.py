"""Render files written before mobilenet_v1 became the default render again as they did.

tests/data/old_vgg16 holds a still's and a 3-frame video's render files made by dreamvideo at commit 620ccb1,
the last with vgg16 as the default (4 octaves of 6 steps at block4_conv3), with their outputs (see made.json).
Each file names vgg16 and records every setting, so re-rendering it must not pick up any of today's defaults.
The promise is bit-identical frames with the same TensorFlow and OpenCV on a machine with the same CPU count
and the same bfloat16 instructions (precision "auto" is recorded, and oneDNN's bfloat16 kernels round
differently on AMX than on AVX-512: the fixtures, made on an AMD EPYC without AMX, re-render on an Intel Xeon
with AMX 3.4 grey levels apart on average, max 52); elsewhere the frames must still be the same dream to within
a few grey levels, and a render file must render exactly what its recorded settings given as flags render.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from dreamvideo import media
from dreamvideo.cli import main
from dreamvideo.runtime import cpu_flags, cpu_has_bf16

DATA = Path(__file__).parent / "data" / "old_vgg16"


def same_machine_as_fixture() -> bool:
    import cv2
    import tensorflow as tf

    made = json.loads((DATA / "made.json").read_text())
    return (os.cpu_count() == made["cpu_count"] and cpu_has_bf16() == made["cpu_has_bf16"]
            and ("amx_bf16" in cpu_flags()) == made["cpu_has_amx"]
            and tf.__version__ == made["tensorflow"] and cv2.__version__ == made["opencv"])


def assert_same_render(expected: np.ndarray, actual: np.ndarray, source: np.ndarray, exact: bool) -> None:
    assert actual.shape == expected.shape and actual.dtype == np.uint8
    difference = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    if exact:
        assert difference.max() == 0, f"{np.count_nonzero(difference)} values differ, by up to {difference.max()}"
    else:
        # Another CPU count or instruction set: the same dream, not the same bits. The old dream moved these
        # pictures by about 13 grey levels on average; AMX against AVX-512 bfloat16 left them 2.6-3.4 apart,
        # while one step more or less moves the still 5.9-6.1 from the fixture, float32 instead of bfloat16 4.5.
        assert difference.mean() < 4.0
    assert np.abs(expected.astype(np.int16) - source).mean() > 5.0  # the fixture is a dream, not its input


@pytest.fixture
def old_files(tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(DATA, folder)
    return folder


def test_old_still_render_file_names_vgg16_and_renders_again_identically(old_files, tmp_path):
    recorded = json.loads((old_files / "coffee_128_vgg16.png.dreamvideo.json").read_text())
    assert recorded["options"]["model"] == "vgg16" and recorded["options"]["steps"] == 6
    output = tmp_path / "again.png"
    assert main(["render", str(old_files / "coffee_128_vgg16.png.dreamvideo.json"), "-o", str(output), "--quiet"]) == 0
    assert_same_render(media.read_image(DATA / "coffee_128_vgg16.png"), media.read_image(output),
                       media.read_image(DATA / "coffee_128.png"), same_machine_as_fixture())
    # The new render file records the same settings: vgg16 and the old defaults, not today's.
    again = json.loads((tmp_path / "again.png.dreamvideo.json").read_text())
    assert again["options"] == recorded["options"]
    # On any machine: exactly what the recorded settings, given as flags, render today.
    flags = tmp_path / "flags.png"
    assert main([str(old_files / "coffee_128.png"), "-o", str(flags), "--quiet", "--model", "vgg16", "--octaves", "4",
                 "--octave-scale", "1.4", "--steps", "6", "--step-size", "2", "--seed", "0", "--precision", "auto",
                 "--tile-size", "512", "--normalize", "mean", "--decorrelate", "--range-limit", "soft",
                 "--layer", "block4_conv3"]) == 0
    assert np.array_equal(media.read_image(flags), media.read_image(output))


def test_old_video_render_file_renders_its_frames_again_identically(old_files, tmp_path, monkeypatch):
    # The fixture's frames were decoded by swscale's fast YUV -> RGB path, a grey level darker than the decoder
    # reads them now, and the dream makes 5 levels of that; decode as then, so what is compared is what the
    # render file records (tests/test_media.py checks the decoding itself).
    import av

    from dreamvideo.media import decode
    monkeypatch.setattr(decode, "_SCALE_FLAGS", av.video.reformatter.Interpolation.AREA)
    output = tmp_path / "again"
    assert main(["render", str(old_files / "pan_96_vgg16.dreamvideo.json"), "-o", f"{output}/", "--quiet"]) == 0
    expected = sorted((DATA / "pan_96_vgg16").glob("frame_*.png"))
    actual = sorted(output.glob("frame_*.png"))
    assert [p.name for p in actual] == [p.name for p in expected] and len(expected) == 3
    sources = list(media.read_frames(DATA / "pan_96.mp4"))
    recorded = json.loads((old_files / "pan_96_vgg16.dreamvideo.json").read_text())
    again = json.loads((tmp_path / "again.dreamvideo.json").read_text())
    assert again["options"] == recorded["options"]  # the old settings, none of today's defaults
    exact = same_machine_as_fixture()
    for want, got, source in zip(expected, actual, sources):
        assert_same_render(media.read_image(want), media.read_image(got), source, exact)
