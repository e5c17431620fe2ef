"""The new outputs end to end: .webp (animated), .webm (VP9), .mov (ProRes 422) and --codec, for a video
and for a zoom, each read back with PyAV (not with dreamvideo.media)."""

from __future__ import annotations

import shutil

import pytest

CASES = [("out.webp", [], "webp"), ("out.webm", [], "vp9"), ("out.mov", [], "prores"),
         ("out.mp4", ["--codec", "h264"], "h264"), ("out.mp4", ["--codec", "hevc"], "hevc")]


@pytest.fixture()
def clip(tmp_path, moving_clip):
    """A private copy of the generated clip with audio, in its own folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    return shutil.copy(moving_clip, folder / "walk.mp4")


def read_back(path):
    import av
    import numpy as np

    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        codec = container.streams.video[0].codec_context.name
    assert frames and all(f.dtype == np.uint8 for f in frames)
    return codec, frames


def webp_frame_count(path) -> int:
    from PIL import Image

    with Image.open(path) as image:
        return image.n_frames


@pytest.mark.parametrize("name,flags,codec", CASES)
def test_video_to_new_formats(cli, clip, tmp_path, tiny_args, name, flags, codec, facts):
    output = tmp_path / name
    result = cli(clip, "-o", output, *tiny_args, "--end", "6f", *flags)
    assert result.code == 0, result.err
    if name.endswith(".webp"):  # FFmpeg 8.1 cannot decode animated WebP; Pillow reads it
        assert webp_frame_count(output) == 6
        return
    found, frames = read_back(output)
    assert found == codec and len(frames) == 6
    if not name.endswith(".webm"):  # .webm gets Opus; the others the source's AAC
        assert facts.codecs(output)["audio"] == "aac"


@pytest.mark.parametrize("name,flags,codec", CASES)
def test_zoom_to_new_formats(cli, tmp_path, tiny_args, name, flags, codec):
    output = tmp_path / name
    result = cli("zoom", "-o", output, *tiny_args, "--size", "64x32", "--frames", "3", *flags)
    assert result.code == 0, result.err
    if name.endswith(".webp"):
        assert webp_frame_count(output) == 3
        return
    found, frames = read_back(output)
    assert found == codec and len(frames) == 3 and frames[0].shape == (32, 64, 3)


def test_codec_on_a_gif_is_refused(cli, clip, tmp_path, tiny_args, snapshot):
    before = snapshot(tmp_path)
    cli(clip, "-o", tmp_path / "out.gif", *tiny_args, "--codec", "hevc").assert_user_error("codec")
    assert snapshot(tmp_path) == before
