"""The example render scripts in scripts/ run, at a tiny size, and make what they promise."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dreamvideo import media

ROOT = Path(__file__).resolve().parents[1]


def run_script(name, *args):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / name), *map(str, args), "--tiny"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.mark.parametrize("script", ["example_layer_morph.py", "example_style_video.py"])
def test_video_examples_render_six_frames(tmp_path, script):
    out = tmp_path / "out.mp4"
    args = ["samples/coffee_pan.mp4"] + (["samples/chelsea.png"] if "style" in script else []) + [out]
    run_script(script, *args)
    info = media.probe_video(out)
    assert info.frame_count == 6 and info.fps == 24
    assert (out.parent / (out.name + ".dreamvideo.json")).is_file()


def test_zoom_example_makes_a_looping_gif(tmp_path):
    from PIL import Image

    out = tmp_path / "zoom.gif"
    run_script("example_zoom_loop.py", "samples/coffee.png", out)
    frames = list(media.read_frames(out, fps=24))
    assert len(frames) == 12 and max(frames[0].shape[:2]) == 64
    with Image.open(out) as gif:  # loops forever, in the NETSCAPE2.0 extension
        assert gif.info.get("loop") == 0 and b"NETSCAPE2.0" in out.read_bytes()
    # Seamless: it was rendered with loop=True and its overlap frames are folded into the head.
    settings = json.loads((tmp_path / "zoom.gif.dreamvideo.json").read_text())["options"]
    assert settings["loop"] is True and settings["frames"] == 12
