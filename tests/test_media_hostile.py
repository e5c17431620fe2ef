"""Hostile input for dreamvideo.media and the CLI: bombs, garbage, truncation, odd pixels and sizes, awkward
paths, unwritable folders, a full disk, and a seeded fuzz test. Files are generated here, small."""

from __future__ import annotations

import errno
import logging
import os
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from conftest import moving_frames
from dreamvideo import media
from dreamvideo.errors import DreamError


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with a few bytes of data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def write_lossless_clip(path: Path, frames, fps=10, codec="png", options=None, gop=None, aspect=None) -> Path:
    """A clip written with PyAV directly (any size, e.g. 1x1), lossless by default."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(fps), options=options or {})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "rgb24" if codec == "png" else "yuv420p"
        if gop:
            stream.codec_context.gop_size = gop
        if aspect:
            stream.codec_context.sample_aspect_ratio = aspect
        for i, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = i
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return path


def one_line(error: DreamError, *needles) -> None:
    message = str(error)
    assert "\n" not in message
    for needle in needles:
        assert str(needle) in message, f"{needle!r} not in {message!r}"


# ------------------------------------------------------------------------------------------ bombs


def test_image_decompression_bomb_is_refused_before_decoding(tmp_path, cli, tiny_args):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(100000, 100000))
    with pytest.raises(DreamError) as info:
        media.read_image(bomb)
    one_line(info.value, "bomb.png", "decompression bomb")
    cli(bomb, *tiny_args).assert_user_error("bomb.png")
    assert sorted(os.listdir(tmp_path)) == ["bomb.png"]


def test_video_header_claiming_an_enormous_frame_is_refused(tmp_path):
    y4m = tmp_path / "huge.y4m"  # a raw video whose text header says 100000x100000
    y4m.write_bytes(b"YUV4MPEG2 W100000 H100000 F25:1 C420jpeg\nFRAME\n" + bytes(1000))
    gif = tmp_path / "huge.gif"
    Image.new("RGB", (8, 8), (200, 10, 10)).save(gif)
    data = bytearray(gif.read_bytes())
    data[6:10] = struct.pack("<HH", 60000, 60000)  # the logical screen
    gif.write_bytes(bytes(data))
    for path in (y4m, gif):
        with pytest.raises(DreamError) as info:
            media.probe_video(path)
        one_line(info.value, path.name)


# ------------------------------------------------------------------------------------------ garbage and cuts


@pytest.mark.parametrize("name", ["noise.png", "noise.jpg", "noise.mp4", "noise.gif"])
def test_random_bytes_give_one_line_naming_the_file(tmp_path, cli, tiny_args, name):
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(5).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    reader = media.read_image if not media.is_video_path(path) else media.probe_video
    with pytest.raises(DreamError) as info:
        reader(path)
    one_line(info.value, name)
    cli(path, *tiny_args).assert_user_error(name)
    assert sorted(os.listdir(tmp_path)) == [name]


@pytest.fixture()
def real_files(tmp_path) -> dict[str, Path]:
    frames = list(moving_frames(12, size=(64, 48)))
    files = {}
    for ext in (".mp4", ".gif", ".webp"):
        path = tmp_path / f"clip{ext}"
        with media.open_sink(path, fps=12) as sink:
            for frame in frames:
                sink.write(frame)
        files[ext] = path
    for ext in (".png", ".jpg"):
        files["still" + ext] = tmp_path / f"still{ext}"
        media.write_image(files["still" + ext], frames[0])
    return files


@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_cut_files_read_what_decodes_or_say_so(tmp_path, real_files, share, caplog):
    for key, path in real_files.items():
        data = path.read_bytes()
        cut = tmp_path / f"cut_{int(share * 100)}_{path.name}"
        cut.write_bytes(data[: int(len(data) * share)])
        try:
            if media.is_video_path(cut) or key == ".webp":
                frames = list(media.read_frames(cut, max_side=32))
                assert all(f.dtype == np.uint8 and f.shape[2] == 3 for f in frames)
            else:
                media.read_image(cut)
        except DreamError as error:
            one_line(error, cut.name)


def test_truncated_video_warns_once_and_keeps_what_decodes(tmp_path, real_files, caplog):
    data = real_files[".mp4"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.7)])
    with caplog.at_level(logging.WARNING, logger="dreamvideo.media"):
        frames = list(media.read_frames(cut))
    assert 0 < len(frames) < 12
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


# ------------------------------------------------------------------------------------------ pixels


def test_16_bit_png_and_cmyk_jpeg_are_converted(tmp_path):
    import cv2

    deep = np.full((4, 5), 257 * 100, np.uint16)
    deep[0, 0] = 65535
    cv2.imwrite(str(tmp_path / "gray16.png"), deep)
    gray = media.read_image(tmp_path / "gray16.png")
    assert gray[0, 0].tolist() == [255, 255, 255] and gray[1, 1].tolist() == [100, 100, 100]
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[...] = (200, 50, 10)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "print.jpg", quality=95)
    assert Image.open(tmp_path / "print.jpg").mode == "CMYK"
    back = media.read_image(tmp_path / "print.jpg")
    assert np.abs(back.astype(int) - rgb).max() <= 6


def test_animated_images_as_stills_use_their_first_frame_and_as_video_all(tmp_path):
    frames = [Image.new("RGBA", (20, 10), (250 * (i == 0), 200 * (i == 1), 0, 255)) for i in range(3)]
    for ext in (".png", ".webp", ".gif"):
        path = tmp_path / f"anim{ext}"
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
        first = media.read_image(path)
        assert first.shape == (10, 20, 3) and first[5, 5, 0] > 200 and first[5, 5, 1] < 50
        assert media.is_video_path(path)  # an animation counts as a video
        video = list(media.read_frames(path))
        assert len(video) == 3 and video[1][5, 5, 1] > 150


@pytest.mark.parametrize("ext", [".png", ".webp", ".gif"])
def test_transparent_video_input_is_composited_over_white(tmp_path, ext):
    frames = []
    for i in range(3):
        rgba = np.zeros((10, 20, 4), np.uint8)
        rgba[..., 2] = 255  # blue
        rgba[:, :10, 3] = 255  # left half opaque, right half transparent
        rgba[0, 0, 0] = 40 * i  # each frame differs a little
        frames.append(Image.fromarray(rgba, "RGBA"))
    path = tmp_path / f"alpha{ext}"
    extra = {"disposal": 2} if ext == ".gif" else {"lossless": True}
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0, **extra)
    video = list(media.read_frames(path))
    assert len(video) == 3
    for frame in video:
        assert frame[5, 3].tolist() == [0, 0, 255]
        assert frame[5, 15].tolist() == [255, 255, 255]


def test_non_square_pixels_are_shown_at_display_aspect(tmp_path):
    frames = [np.full((24, 32, 3), 100, np.uint8)] * 3
    path = write_lossless_clip(tmp_path / "anamorphic.mov", frames, aspect=Fraction(2, 1))
    info = media.probe_video(path)
    assert info.sample_aspect_ratio == 2 and (info.width, info.height) == (64, 24)
    assert next(iter(media.read_frames(path))).shape == (24, 64, 3)


@pytest.mark.parametrize("size", [(1, 1), (2, 10000)])
def test_tiny_and_thin_videos(tmp_path, size):
    width, height = size
    frames = [np.full((height, width, 3), 30 * i, np.uint8) for i in range(3)]
    path = write_lossless_clip(tmp_path / "odd.mov", frames)
    info = media.probe_video(path)
    assert (info.width, info.height, info.frame_count) == (width, height, 3)
    back = list(media.read_frames(path))
    assert len(back) == 3 and back[2].shape == (height, width, 3) and back[2][0, 0, 0] == 60
    small = next(iter(media.read_frames(path, max_side=100)))
    assert max(small.shape[:2]) <= 100
    out = tmp_path / "out.mp4"
    with media.open_sink(out, fps=10) as sink:
        for frame in back:
            sink.write(frame)
    assert media.probe_video(out).frame_count == 3


def test_no_video_stream_and_zero_frames(tmp_path):
    from conftest import write_tone

    song = Path(write_tone(tmp_path / "song.m4a", seconds=0.5))
    with pytest.raises(DreamError, match="no video stream"):
        media.probe_video(song)
    empty = tmp_path / "empty.mov"
    with av.open(str(empty), "w") as out:
        stream = out.add_stream("png", rate=10)
        stream.width = stream.height = 8
        stream.pix_fmt = "rgb24"
        out.start_encoding()
    with pytest.raises(DreamError) as info:
        media.probe_video(empty)
    one_line(info.value, "empty.mov")


# ------------------------------------------------------------------------------------------ paths and disks


def test_awkward_paths(tmp_path, cli, tiny_args):
    folder = tmp_path / "my clips é"
    folder.mkdir()
    source = folder / "-first take ü.mp4"
    with media.open_sink(source, fps=10) as sink:
        for frame in moving_frames(3, size=(32, 24)):
            sink.write(frame)
    assert media.probe_video(source).frame_count == 3
    output = folder / "-dreamed ö.webm"
    result = cli(source, "-o", output, *tiny_args)
    assert result.code == 0, result.err
    assert len(list(media.read_frames(output))) == 3


def test_read_only_output_folder(tmp_path, monkeypatch, cli, tiny_args, still_png):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root writes anyway: make the check see what a user would
            real_access = os.access
            monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
        cli(still_png, "-o", locked / "out.png", *tiny_args).assert_user_error("locked", "read-only")
        with pytest.raises(DreamError, match="read-only"):
            media.open_sink(locked / "out.mp4", fps=10)
    finally:
        locked.chmod(0o755)
    assert os.listdir(locked) == []


def test_unwritable_temporary_file_is_one_line(tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(DreamError, match="permission denied"):
        media.open_sink(tmp_path / "out.mp4", fps=10)
    assert os.listdir(tmp_path) == []


@pytest.fixture()
def still_png(tmp_path):
    path = tmp_path / "still.png"
    media.write_image(path, next(moving_frames(1, size=(32, 24))))
    return path


def test_disk_full_midway_keeps_finished_frames_and_the_rerun_resumes(tmp_path, cli, tiny_args, monkeypatch,
                                                                      caplog):
    source = tmp_path / "in.mp4"
    with media.open_sink(source, fps=10) as sink:
        for frame in moving_frames(6, size=(32, 24)):
            sink.write(frame)
    output = tmp_path / "out.mp4"
    real_prepare = media.Mp4Sink.prepare
    calls = []

    def fill_up(self, frame):
        calls.append(1)
        if len(calls) == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_prepare(self, frame)

    monkeypatch.setattr(media.Mp4Sink, "prepare", fill_up)
    cli(source, "-o", output, *tiny_args).assert_user_error("out.mp4", "disk is full")
    assert not output.exists()
    work = [p for p in tmp_path.iterdir() if p.name.endswith(".dreamvideo-work")]
    assert len(work) == 1 and len(list(work[0].glob("*.png"))) == 4  # finished frames kept
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]
    monkeypatch.setattr(media.Mp4Sink, "prepare", real_prepare)
    with caplog.at_level(logging.INFO, logger="dreamvideo"):
        assert cli(source, "-o", output, *tiny_args).code == 0
    assert any("resuming: 4 finished frames" in r.getMessage() for r in caplog.records)
    assert media.probe_video(output).frame_count == 6


# ------------------------------------------------------------------------------------------ fuzz


def mutations(data: bytes, rng: np.random.Generator, count: int):
    """`count` damaged copies of `data`: flipped bytes, cuts, and scrambled header fields."""
    for _ in range(count):
        blob = bytearray(data)
        kind = rng.integers(3)
        if kind == 0:  # flip a few bytes anywhere
            for _ in range(rng.integers(1, 8)):
                blob[rng.integers(len(blob))] ^= 1 << int(rng.integers(8))
        elif kind == 1:  # cut
            blob = blob[: rng.integers(1, len(blob))]
        else:  # overwrite bytes in the first 64: sizes, counts, chunk lengths
            for _ in range(rng.integers(1, 4)):
                at = rng.integers(min(64, len(blob)))
                blob[at] = rng.integers(256)
        yield bytes(blob)


def test_fuzzed_real_files_raise_only_dream_errors(tmp_path, real_files):
    rng = np.random.default_rng(2026)
    checked = 0
    for key, path in real_files.items():
        data = path.read_bytes()
        for i, blob in enumerate(mutations(data, rng, 50)):
            target = tmp_path / f"fuzz_{i}{path.suffix}"
            target.write_bytes(blob)
            try:
                if key.startswith("still"):
                    image = media.read_image(target)
                    assert image.dtype == np.uint8 and image.ndim == 3
                else:
                    for n, frame in enumerate(media.read_frames(target, max_side=32)):
                        assert frame.dtype == np.uint8 and frame.shape[2] == 3
                        if n > 40:
                            break
            except DreamError as error:
                assert "\n" not in str(error)
            checked += 1
            target.unlink()
    assert checked == 250
