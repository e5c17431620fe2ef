"""The example render scripts in scripts/ run, at a tiny size, and make what they promise."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dreamvideo import media

ROOT = Path(__file__).resolve().parents[1]


# Runs an example as an artist would, but small: the API calls it makes are wrapped to write into the test's
# folder at a tiny size (the examples themselves carry no switch for tests).
SHRINK = """
import os, runpy, sys
import dreamvideo as dv
folder, script = sys.argv[1], sys.argv[2]
small = {"render_video": dict(max_side=64, steps=2, octaves=2, end="6f"),
         "render_zoom": dict(frames=12, max_side=64, steps=2)}
for name, overrides in small.items():
    def shrunk(input, output, *, _call=getattr(dv, name), _overrides=overrides, **options):
        return _call(input, os.path.join(folder, os.path.basename(output)), **{**options, **_overrides})
    setattr(dv, name, shrunk)
runpy.run_path(script, run_name="__main__")
"""


def run_script(name, folder):
    result = subprocess.run([sys.executable, "-c", SHRINK, str(folder), str(ROOT / "scripts" / name)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_examples_are_short_and_carry_no_test_switches():
    for script in (ROOT / "scripts").glob("example_*.py"):
        text = script.read_text()
        assert len(text.splitlines()) <= 12, script.name
        assert "--tiny" not in text and "restart" not in text and "sys.argv" not in text, script.name


@pytest.mark.parametrize("script", ["example_layer_morph.py", "example_style_video.py"])
def test_video_examples_render_six_frames(tmp_path, script):
    run_script(script, tmp_path)
    out, = tmp_path.glob("*.mp4")
    info = media.probe_video(out)
    assert info.frame_count == 6 and info.fps == 24
    assert (out.parent / (out.name + ".dreamvideo.json")).is_file()


def test_zoom_example_makes_a_looping_gif(tmp_path):
    from PIL import Image

    out = tmp_path / "zoom_loop.gif"
    run_script("example_zoom_loop.py", tmp_path)
    frames = list(media.read_frames(out, fps=24))
    assert len(frames) == 12 and max(frames[0].shape[:2]) == 64
    with Image.open(out) as gif:  # loops forever, in the NETSCAPE2.0 extension
        assert gif.info.get("loop") == 0 and b"NETSCAPE2.0" in out.read_bytes()
    # Seamless: it was rendered with loop=True and its fade frames are folded into the head.
    settings = json.loads((tmp_path / "zoom_loop.gif.dreamvideo.json").read_text())["options"]
    assert settings["loop"] is True and settings["frames"] == 12
