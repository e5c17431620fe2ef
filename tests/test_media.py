"""Tests for dreamvideo.media: stills, probing, decoding and the MP4/GIF/PNG-folder sinks.

Clips are made here with the module's own writers (and PyAV for audio); the real
third-party clips in ../shared/media are used by the tests at the end, which skip without them.
"""

from __future__ import annotations

import logging
import os
import struct
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from conftest import audio_samples, shared_media, write_tone
from dreamvideo import media
from dreamvideo.errors import DreamError



# ------------------------------------------------------------------------------------------
# helpers


def gradient(height: int = 48, width: int = 64, shift: int = 0) -> np.ndarray:
    """Smooth RGB content (codec-friendly) that moves right by `shift` pixels."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 100 * np.sin((xx - shift) / 9.0)
    g = 128 + 100 * np.cos(yy / 7.0)
    b = 128 + 60 * np.sin((xx - shift + yy) / 13.0)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def moving_clip(n: int = 12, height: int = 48, width: int = 64) -> list[np.ndarray]:
    return [gradient(height, width, shift=3 * i) for i in range(n)]


def write_clip(path: Path, frames: list[np.ndarray], fps=24, **kwargs) -> Path:
    with media.open_sink(path, fps=fps, **kwargs) as sink:
        for frame in frames:
            sink.write(frame)
    return path


def mean_abs_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def gif_delays(path: Path) -> list[int]:
    """Per-frame delays in centiseconds from a GIF's graphic control extensions."""
    data = path.read_bytes()
    delays, i = [], 0
    while True:
        i = data.find(b"\x21\xf9\x04", i)
        if i < 0:
            return delays
        delays.append(struct.unpack("<H", data[i + 4:i + 6])[0])
        i += 8


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name not in keep)


# ------------------------------------------------------------------------------------------
# stills


@pytest.mark.parametrize("ext,lossless", [(".png", True), (".bmp", True), (".tif", True), (".tiff", True),
                                          (".jpg", False), (".jpeg", False), (".webp", False)])
def test_write_then_read_image_round_trip(tmp_path, ext, lossless):
    image = gradient(30, 41)
    path = tmp_path / f"still{ext}"
    media.write_image(path, image)
    back = media.read_image(path)
    assert back.dtype == np.uint8 and back.shape == (30, 41, 3)
    if lossless:
        np.testing.assert_array_equal(back, image)
    else:
        assert mean_abs_error(back, image) < 3.0
    assert os.listdir(tmp_path) == [path.name]  # no temp file left behind


def test_read_image_keeps_rgb_order(tmp_path):
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 2] = 255  # pure red stored the OpenCV way
    cv2.imwrite(str(tmp_path / "red.png"), bgr)
    assert media.read_image(tmp_path / "red.png")[0, 0].tolist() == [255, 0, 0]


def test_read_image_grayscale_alpha_and_16_bit(tmp_path):
    gray = np.arange(24, dtype=np.uint8).reshape(4, 6) * 10
    cv2.imwrite(str(tmp_path / "gray.png"), gray)
    rgb = media.read_image(tmp_path / "gray.png")
    assert rgb.shape == (4, 6, 3)
    np.testing.assert_array_equal(rgb, np.repeat(gray[:, :, None], 3, axis=2))

    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[..., 0] = 255  # blue
    bgra[0, 0, 3] = 255  # opaque
    bgra[0, 1, 3] = 0  # transparent -> white
    bgra[1, :, 3] = 128  # half -> mix with white
    cv2.imwrite(str(tmp_path / "alpha.png"), bgra)
    rgba = media.read_image(tmp_path / "alpha.png")
    assert rgba[0, 0].tolist() == [0, 0, 255]
    assert rgba[0, 1].tolist() == [255, 255, 255]
    assert rgba[1, 0].tolist() == [127, 127, 255]

    deep = np.full((3, 3, 3), 257 * 200, np.uint16)
    deep[0, 0] = 65535
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    eight = media.read_image(tmp_path / "deep.png")
    assert eight.dtype == np.uint8
    assert eight[1, 1].tolist() == [200, 200, 200] and eight[0, 0].tolist() == [255, 255, 255]


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Insert a minimal EXIF APP1 segment holding only the orientation tag."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_read_image_applies_exif_orientation(tmp_path):
    image = np.zeros((20, 40, 3), np.uint8)
    image[:, :20] = (250, 10, 10)  # left half red, right half blue
    image[:, 20:] = (10, 10, 250)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    path = tmp_path / "phone.jpg"
    path.write_bytes(_with_exif_orientation(jpeg.tobytes(), 6))  # 6: turn 90 degrees clockwise
    shown = media.read_image(path)
    assert shown.shape == (40, 20, 3)
    assert shown[2, 10, 0] > 200 and shown[-3, 10, 2] > 200  # left half went to the top


def test_read_image_bad_inputs_name_the_file(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture\n")
    empty = tmp_path / "empty.png"
    empty.touch()
    for path in (tmp_path / "missing.png", empty, text, tmp_path):
        with pytest.raises(DreamError) as info:
            media.read_image(path)
        message = str(info.value)
        assert str(path) in message and "\n" not in message


def test_write_image_rejects_bad_input(tmp_path):
    with pytest.raises(DreamError, match="out.xyz"):
        media.write_image(tmp_path / "out.xyz", gradient())
    with pytest.raises(DreamError, match="does not exist"):
        media.write_image(tmp_path / "nope" / "out.png", gradient())
    with pytest.raises(DreamError, match="uint8"):
        media.write_image(tmp_path / "out.png", gradient().astype(np.float32))
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------------------
# output paths


def test_output_kind(tmp_path):
    assert media.output_kind("a/b.MP4") == "mp4"
    assert media.output_kind("b.gif") == "gif"
    for ext in media.IMAGE_EXTENSIONS:
        assert media.output_kind(f"x{ext}") == "image"
    assert media.output_kind("frames/") == "frames"
    assert media.output_kind(tmp_path) == "frames"  # an existing folder
    assert set(media.OUTPUT_KINDS) == {"image", "mp4", "gif", "webp", "webm", "mov", "frames"}
    assert media.output_kind("a.webm") == "webm" and media.output_kind("a.MOV") == "mov"
    assert media.output_kind("a.webp", animated=True) == "webp"  # a still unless a video is written
    with pytest.raises(DreamError, match=r"clip\.avi.*\.mp4"):
        media.output_kind("clip.avi")
    with pytest.raises(DreamError, match="no extension"):
        media.output_kind("clip")


def test_check_output(tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"x")
    assert media.check_output(tmp_path / "out.mp4", source) == "mp4"
    assert media.check_output(str(tmp_path / "new_frames") + "/", source) == "frames"
    with pytest.raises(DreamError, match="input file itself"):
        media.check_output(tmp_path / "sub" / ".." / "in.mp4", source)
    os.link(source, tmp_path / "hard.mp4")
    with pytest.raises(DreamError, match="hard.mp4"):
        media.check_output(tmp_path / "hard.mp4", source)
    with pytest.raises(DreamError, match="does not exist"):
        media.check_output(tmp_path / "missing" / "out.gif")
    with pytest.raises(DreamError, match="does not exist"):
        media.check_output(str(tmp_path / "missing" / "frames") + "/")
    with pytest.raises(DreamError, match="unsupported"):
        media.check_output(tmp_path / "out.avi")
    with pytest.raises(DreamError, match="not a folder"):
        media.check_output(str(source) + "/")


def test_is_video_path():
    assert not media.is_video_path("a/b.JPG")
    assert not media.is_video_path("b.webp")
    assert media.is_video_path("b.gif")
    assert media.is_video_path("b.mkv")


def test_fit_size():
    assert media.fit_size(640, 480, 320) == (320, 240)
    assert media.fit_size(480, 640, 320) == (240, 320)
    assert media.fit_size(100, 50, 320) == (100, 50)  # never upscaled
    assert media.fit_size(1000, 3, 10) == (10, 1)


# ------------------------------------------------------------------------------------------
# MP4 round trips


def test_mp4_round_trip_frames_rate_and_pixels(tmp_path):
    frames = moving_clip(12)
    path = write_clip(tmp_path / "clip.mp4", frames, fps=Fraction(30000, 1001))
    assert os.listdir(tmp_path) == ["clip.mp4"]
    info = media.probe_video(path)
    assert info.fps == Fraction(30000, 1001) and isinstance(info.fps, Fraction)
    assert (info.width, info.height, info.rotation) == (64, 48, 0)
    assert info.frame_count == 12 and media.count_frames(path) == 12
    assert info.duration == pytest.approx(12 * 1001 / 30000, abs=1e-3)
    assert not info.has_audio and info.audio_codec is None
    back = list(media.read_frames(path))
    assert len(back) == 12
    for original, decoded in zip(frames, back):
        assert decoded.shape == (48, 64, 3) and decoded.dtype == np.uint8
        assert mean_abs_error(decoded, original) < 4.0
    # the content moves: each decoded frame is closest to its own original
    assert mean_abs_error(back[5], frames[5]) < mean_abs_error(back[5], frames[4])
    back[0][0, 0] = 0  # frames are writable
    data = path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # +faststart


def test_a_written_clip_reads_back_without_a_brightness_bias(tmp_path):
    """Written losslessly and read back, a photo-like clip keeps its mean level per channel: swscale's fast
    YUV -> RGB conversion made every frame 1.1-1.3 grey levels darker."""
    photo = media.read_image(Path(__file__).resolve().parents[1] / "samples" / "coffee.png")
    frames = [cv2.resize(photo[i * 8:i * 8 + 240, i * 10:i * 10 + 320], (160, 120), interpolation=cv2.INTER_AREA)
              for i in range(6)]
    path = tmp_path / "clip.mp4"
    with media.open_sink(path, fps=24, quality=0) as sink:
        for frame in frames:
            sink.write(frame)
    back = np.array(list(media.read_frames(path)), np.float64)
    shift = (back - np.array(frames, np.float64)).reshape(-1, 3).mean(axis=0)
    assert np.abs(shift).max() < 0.5, shift


@pytest.mark.parametrize("size", [(96, 72), (192, 144)])
def test_the_same_frames_encode_to_the_same_mp4(tmp_path, size):
    """Identical re-renders hold for MP4 output too: on an AVX-512 CPU, x264's AVX-512 code made the same
    frames encoded again in the same process decode up to 59 grey levels apart at these sizes."""
    photo = media.read_image(Path(__file__).resolve().parents[1] / "samples" / "coffee.png")
    frames = [cv2.resize(photo[i * 6:i * 6 + 240, i * 8:i * 8 + 320], size, interpolation=cv2.INTER_AREA)
              for i in range(24)]
    decoded = []
    for attempt in range(3):
        path = tmp_path / f"clip{attempt}.mp4"
        with media.open_sink(path, fps=24) as sink:
            for frame in frames:
                sink.write(frame)
        decoded.append(np.array(list(media.read_frames(path))))
    assert decoded[0].shape == (24, size[1], size[0], 3)
    assert all(np.array_equal(decoded[0], other) for other in decoded[1:])


def test_decimal_rates_mean_ntsc_rates(tmp_path):
    path = write_clip(tmp_path / "ntsc.mp4", moving_clip(4, 16, 16), fps=29.97)
    assert media.probe_video(path).fps == Fraction(30000, 1001)
    assert media.count_frames(path, fps="23.976") == media.count_frames(path, fps=Fraction(24000, 1001))
    assert media.count_frames(path, fps="30000/1001") == 4


def test_mp4_odd_size_is_padded_by_repeating_the_edge(tmp_path):
    frame = np.full((31, 47, 3), 60, np.uint8)  # greys, so chroma subsampling cannot blur them
    frame[-1, :] = 220  # last row
    frame[:, -1] = 160  # last column
    path = write_clip(tmp_path / "odd.mp4", [frame] * 3, fps=10)
    info = media.probe_video(path)
    assert (info.width, info.height) == (48, 32)
    decoded = next(iter(media.read_frames(path))).astype(np.int16)
    assert decoded.shape == (32, 48, 3)
    assert np.abs(decoded[:30, :45] - 60).mean() < 3
    assert np.abs(decoded[30:, 4:40] - 220).mean() < 6  # the added row repeats the last one
    assert np.abs(decoded[4:28, 46:] - 160).mean() < 6  # the added column repeats the last one


def test_read_frames_options(tmp_path):
    frames = moving_clip(12)
    path = write_clip(tmp_path / "clip.mp4", frames, fps=24)
    everything = list(media.read_frames(path))
    part = list(media.read_frames(path, start_frame=3, end_frame=7))
    assert len(part) == 4
    for a, b in zip(part, everything[3:7]):
        np.testing.assert_array_equal(a, b)
    assert list(media.read_frames(path, start_frame=5, end_frame=5)) == []
    assert len(list(media.read_frames(path, start_frame=10))) == 2

    small = list(media.read_frames(path, max_side=32))
    assert len(small) == 12 and small[0].shape == (24, 32, 3)
    shrunk = cv2.resize(everything[0], (32, 24), interpolation=cv2.INTER_AREA)
    assert mean_abs_error(small[0], shrunk) < 4.0
    assert next(iter(media.read_frames(path, max_side=500))).shape == (48, 64, 3)  # no upscaling

    half = list(media.read_frames(path, fps=12))
    assert len(half) == 6 == media.count_frames(path, fps=12)
    double = list(media.read_frames(path, fps=48.0))
    assert len(double) == 24 == media.count_frames(path, fps=48)
    np.testing.assert_array_equal(double[2], double[3])  # repeated to hold the rate

    with pytest.raises(DreamError, match="max_side"):
        media.read_frames(path, max_side=0)
    with pytest.raises(DreamError, match="frame range"):
        media.read_frames(path, start_frame=4, end_frame=2)
    with pytest.raises(DreamError, match="frame rate"):
        media.read_frames(path, fps=-1)


def open_descriptors_of(path: Path) -> int:
    """How many file descriptors of this process point at `path` (Linux /proc)."""
    fds = Path("/proc/self/fd")
    target = str(path.resolve())
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd) == target
        except OSError:
            pass
    return count


def test_read_frames_closes_the_decoder_when_closed_early(tmp_path, caplog):
    path = write_clip(tmp_path / "clip.mp4", moving_clip(12), fps=24)
    stream = media.read_frames(path)
    first = next(stream)
    container = stream.container
    assert container is not None and not stream.closed
    if Path("/proc/self/fd").is_dir():
        assert open_descriptors_of(path) == 1
    stream.close()  # must not hang, raise or warn
    assert first.shape == (48, 64, 3)
    assert stream.closed and stream.decoded < 12
    with pytest.raises(AssertionError, match="not open"):  # PyAV's own check: the container is closed
        next(container.demux())
    if Path("/proc/self/fd").is_dir():
        assert open_descriptors_of(path) == 0  # the file is closed too
    assert list(stream) == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_rotation_metadata_is_applied(tmp_path):
    frame = gradient(32, 64)
    plain = write_clip(tmp_path / "plain.mp4", [frame] * 3, fps=10)
    rotated = tmp_path / "rotated.mp4"
    with av.open(str(plain)) as source, av.open(str(rotated), "w") as out:  # a phone's way: a display matrix
        stream = out.add_stream_from_template(source.streams.video[0])
        stream.set_display_rotation(90)
        for packet in source.demux(video=0):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    info = media.probe_video(rotated)
    assert (info.rotation, info.width, info.height) == (90, 32, 64)
    decoded = next(iter(media.read_frames(rotated)))
    assert decoded.shape == (64, 32, 3)
    assert mean_abs_error(decoded, np.rot90(frame, 1)) < 4.0  # counter-clockwise


def test_truncated_video_yields_what_decodes_and_warns_once(tmp_path, caplog):
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 256, (64, 256, 3), dtype=np.uint8)  # noisy, so frames are big
    frames = [np.ascontiguousarray(np.roll(texture, 3 * i, axis=1)[:, :96]) for i in range(48)]
    whole = write_clip(tmp_path / "whole.mp4", frames, fps=24)
    data = whole.read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="dreamvideo.media"):
        decoded = list(media.read_frames(half))
    assert 0 < len(decoded) < 48
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "half.mp4" in warnings[0].getMessage()


def test_clean_read_does_not_warn(tmp_path, caplog):
    path = write_clip(tmp_path / "clip.mp4", moving_clip(6), fps=24)
    with caplog.at_level(logging.WARNING, logger="dreamvideo.media"):
        assert len(list(media.read_frames(path))) == 6
    assert caplog.records == []


# ------------------------------------------------------------------------------------------
# audio


@pytest.fixture(scope="module")
def late_tone(tmp_path_factory) -> Path:
    """A 3 s clip whose AAC audio is silent for 1 s, then a 440 Hz tone."""
    path = tmp_path_factory.mktemp("audio") / "late_tone.mp4"
    return Path(write_tone(path, seconds=3, silent_until=1.0, video=(32, 32, 10)))


def test_audio_is_muxed_from_start_and_trimmed(tmp_path, late_tone):
    frames = moving_clip(15)  # 0.5 s at 30 fps
    from_start = write_clip(tmp_path / "a.mp4", frames, fps=30, audio_from=late_tone)
    from_one = write_clip(tmp_path / "b.mp4", frames, fps=30, audio_from=late_tone, audio_start=1.0)
    assert leftovers(tmp_path, {"a.mp4", "b.mp4"}) == []
    for path in (from_start, from_one):
        info = media.probe_video(path)
        assert info.has_audio and info.audio_codec == "aac" and info.frame_count == 15
        assert len(audio_samples(path)) / 8000 == pytest.approx(0.5, abs=0.06)
    rms = lambda x: float(np.sqrt(np.mean(x ** 2)))  # noqa: E731
    assert rms(audio_samples(from_start)[400:3600]) < 0.01  # the silent first second
    assert rms(audio_samples(from_one)[400:3600]) > 0.2  # the tone


def test_audio_in_other_codecs_is_reencoded_to_aac(tmp_path):
    wav = tmp_path / "tone.wav"
    write_tone(wav, seconds=2, frequency=300, codec="pcm_s16le")
    out = write_clip(tmp_path / "out.mp4", moving_clip(10), fps=10, audio_from=wav)
    info = media.probe_video(out)
    assert info.audio_codec == "aac"
    assert len(audio_samples(out)) / 8000 == pytest.approx(1.0, abs=0.06)


def test_audio_source_problems(tmp_path):
    silent = write_clip(tmp_path / "silent.mp4", moving_clip(3), fps=10)
    out = write_clip(tmp_path / "out.mp4", moving_clip(3), fps=10, audio_from=silent)
    assert not media.probe_video(out).has_audio
    with pytest.raises(DreamError, match="nothere.mp4"):
        media.open_sink(tmp_path / "x.mp4", fps=10, audio_from=tmp_path / "nothere.mp4")
    assert leftovers(tmp_path, {"silent.mp4", "out.mp4"}) == []


# ------------------------------------------------------------------------------------------
# GIF


def test_gif_frames_delays_and_loop(tmp_path):
    frames = moving_clip(10, 30, 40)
    looping = write_clip(tmp_path / "loop.gif", frames, fps=10)
    once = write_clip(tmp_path / "once.gif", frames, fps=10, loop=False)
    assert gif_delays(looping) == [10] * 10
    assert b"NETSCAPE2.0" in looping.read_bytes() and b"NETSCAPE2.0" not in once.read_bytes()
    info = media.probe_video(looping)
    assert info.fps == 10 and info.frame_count == 10 and (info.width, info.height) == (40, 30)
    back = list(media.read_frames(looping))
    assert len(back) == 10
    assert mean_abs_error(back[4], frames[4]) < 8.0  # 256 colours, dithered


def test_gif_at_30_fps_keeps_the_mean_rate(tmp_path):
    path = write_clip(tmp_path / "fast.gif", moving_clip(12, 16, 16), fps=30)
    delays = gif_delays(path)
    assert len(delays) == 12 and set(delays) <= {3, 4} and sum(delays) == 40
    assert media.probe_video(path).fps == 30


# ------------------------------------------------------------------------------------------
# frame folders, stills and sink atomicity


def test_frames_folder_numbering_and_atomicity(tmp_path):
    frames = moving_clip(3, 20, 30)
    target = tmp_path / "frames"
    sink = media.open_sink(str(target) + "/", fps=12)
    for frame in frames:
        sink.write(frame)
        assert not target.exists()  # the folder appears only when complete
    sink.close()
    assert sorted(os.listdir(target)) == ["frame_000001.png", "frame_000002.png", "frame_000003.png"]
    assert os.listdir(tmp_path) == ["frames"]
    np.testing.assert_array_equal(media.read_image(target / "frame_000002.png"), frames[1])
    media.write_image(tmp_path / "flipped.png", frames[0][::-1, ::-1])  # a non-contiguous view
    np.testing.assert_array_equal(media.read_image(tmp_path / "flipped.png"), frames[0][::-1, ::-1])


def test_frames_into_existing_folder_and_abort(tmp_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(RuntimeError):
        with media.open_sink(folder, fps=12) as sink:
            sink.write(gradient(8, 8))
            sink.write(gradient(8, 8))
            assert len(list(folder.glob("frame_*.png"))) == 2
            raise RuntimeError("render failed")
    assert os.listdir(folder) == ["notes.txt"]

    with pytest.raises(RuntimeError):
        with media.open_sink(str(tmp_path / "fresh") + "/", fps=12) as sink:
            sink.write(gradient(8, 8))
            raise RuntimeError("render failed")
    assert leftovers(tmp_path, {"existing"}) == []


@pytest.mark.parametrize("name", ["out.mp4", "out.gif"])
def test_video_sinks_appear_only_when_complete(tmp_path, name):
    sink = media.open_sink(tmp_path / name, fps=10)
    for frame in moving_clip(4, 16, 16):
        sink.write(frame)
    assert not (tmp_path / name).exists()
    sink.close()
    assert os.listdir(tmp_path) == [name]

    sink = media.open_sink(tmp_path / f"aborted{Path(name).suffix}", fps=10)
    sink.write(gradient(16, 16))
    sink.abort()
    assert os.listdir(tmp_path) == [name]

    with pytest.raises(KeyError):
        with media.open_sink(tmp_path / f"failed{Path(name).suffix}", fps=10) as failing:
            failing.write(gradient(16, 16))
            raise KeyError("boom")
    assert os.listdir(tmp_path) == [name]


def test_image_sink_writes_last_frame(tmp_path):
    frames = moving_clip(3, 10, 12)
    write_clip(tmp_path / "last.png", frames, fps=1)
    np.testing.assert_array_equal(media.read_image(tmp_path / "last.png"), frames[-1])


def test_sink_misuse_raises(tmp_path):
    with pytest.raises(DreamError, match="no frames"):
        media.open_sink(tmp_path / "empty.mp4", fps=10).close()
    sink = media.open_sink(tmp_path / "sizes.mp4", fps=10)
    sink.write(gradient(16, 16))
    with pytest.raises(DreamError, match="keep one size"):
        sink.write(gradient(16, 18))
    sink.abort()
    with pytest.raises(DreamError, match="CRF"):
        media.open_sink(tmp_path / "q.mp4", fps=10, quality=99)
    with pytest.raises(DreamError, match="frame rate"):
        media.open_sink(tmp_path / "r.mp4", fps=0)
    with pytest.raises(DreamError, match="unsupported"):
        media.open_sink(tmp_path / "out.avi", fps=10)
    with pytest.raises(DreamError, match="does not exist"):
        media.open_sink(tmp_path / "no" / "out.mp4", fps=10)
    assert os.listdir(tmp_path) == []


def test_encoder_failure_becomes_dream_error_and_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setattr(media.Mp4Sink, "encoder_options", lambda self: {"crf": "lots"})
    with pytest.raises(DreamError, match=r"broken\.mp4.*encoding failed"):
        with media.open_sink(tmp_path / "broken.mp4", fps=10) as sink:
            sink.write(gradient(64, 64))
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------------------
# bad video inputs


@pytest.fixture()
def bad_videos(tmp_path) -> list[Path]:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "text.mp4"
    text.write_text("hello, I am a text file\n" * 20)
    audio_only = tmp_path / "song.mp4"
    write_tone(audio_only, seconds=1)
    return [tmp_path / "missing.mp4", empty, text, audio_only]


def test_bad_videos_raise_dream_error_naming_the_file(bad_videos):
    for path in bad_videos:
        for call in (media.probe_video, media.read_frames, media.count_frames):
            with pytest.raises(DreamError) as info:
                call(path)
            assert str(path) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(DreamError, match="no video stream"):
        media.probe_video(bad_videos[3])


# ------------------------------------------------------------------------------------------
# the real third-party clips (skipped when ../shared/media is absent)


def real_clip(name: str) -> Path:
    return shared_media("clips", name)


@pytest.mark.parametrize("name,fps,size,count,audio", [
    ("cityCC0.mpg", Fraction(25), (720, 405), 190, None),
    ("realshort.mp4", Fraction(45000, 1499), (320, 240), 36, "aac"),
    ("test.webm", Fraction(30), (640, 480), 94, None),
    ("newtonscradle.gif", Fraction(1800, 41), (200, 150), 36, None),  # mean rate of 36 frames in 0.82 s
    # 68 of 444 packets hold a picture; like ffmpeg, keep 15 fps and repeat pictures over the gaps
    ("tree.avi", Fraction(15), (320, 240), 449, None),
])
def test_real_clip_facts(name, fps, size, count, audio):
    path = real_clip(name)
    info = media.probe_video(path)
    if fps is not None:
        assert info.fps == fps
    assert (info.width, info.height) == size
    assert info.frame_count == count and media.count_frames(path) == count
    assert info.has_audio == (audio is not None) and info.audio_codec == audio
    assert info.rotation == 0


def test_real_clip_durations():
    assert media.probe_video(real_clip("test.webm")).duration == pytest.approx(3.137, abs=0.01)  # header has none
    tree = media.probe_video(real_clip("tree.avi"))
    assert tree.duration == pytest.approx(29.93, abs=0.05)
    assert tree.fps == 15 and tree.frame_count == round(tree.duration * 15)


@pytest.mark.parametrize("name", ["realshort.mp4", "newtonscradle.gif", "tree.avi", "test.webm"])
def test_real_clip_decoded_count_matches_count_frames(name, caplog):
    path = real_clip(name)
    with caplog.at_level(logging.WARNING, logger="dreamvideo.media"):
        frames = list(media.read_frames(path, max_side=64))
    assert len(frames) == media.count_frames(path)
    assert max(frames[0].shape[:2]) == 64
    assert caplog.records == []
    assert len(list(media.read_frames(path, fps=10, max_side=16))) == media.count_frames(path, fps=10)


def test_real_odd_height_and_audio_survive_a_round_trip(tmp_path):
    city = real_clip("cityCC0.mpg")
    short = real_clip("realshort.mp4")
    out = tmp_path / "city.mp4"
    with media.open_sink(out, fps=media.probe_video(short).fps, audio_from=short) as sink:
        for frame in media.read_frames(city, end_frame=10):
            assert frame.shape == (405, 720, 3)
            sink.write(frame)
    info = media.probe_video(out)
    assert (info.width, info.height) == (720, 406)
    assert info.fps == Fraction(45000, 1499) and info.frame_count == 10
    assert info.audio_codec == "aac"
    assert len(audio_samples(out)) / 8000 == pytest.approx(10 * 1499 / 45000, abs=0.06)


# What a render of each shared clip gives, recorded with the ffmpeg-pipe implementation before the switch
# to PyAV, so the switch can be checked against it. The render's media path is reproduced without the dream
# (read_frames at the render's size, then the MP4 sink with the clip's audio, as video.render_video does);
# the output is read back with PyAV directly, not through dreamvideo.media.
# name: (rate, output frames, seconds, audio codec, indices where a new picture starts, or None if every
# frame is new; frames at 10 fps)
RECORDED_RENDERS = {
    "cityCC0.mpg": (Fraction(25), 190, 7.6, None, None, 76),
    # 68 decodable pictures held at 15 fps over the dropped frames
    "tree.avi": (Fraction(15), 449, 29.9333, None,
                 [0, 11, 17, 24, 31, 37, 43, 49, 56, 61, 67, 72, 78, 84, 89, 95, 105, 111, 117, 123, 129, 136, 141,
                  147, 153, 160, 165, 171, 177, 184, 189, 199, 205, 212, 220, 227, 233, 240, 247, 253, 260, 266, 273,
                  279, 285, 292, 302, 309, 315, 321, 328, 334, 340, 347, 353, 361, 368, 375, 383, 389, 396, 404, 410,
                  417, 423, 430, 437, 443], 299),
    "realshort.mp4": (Fraction(45000, 1499), 36, 1.1992, "aac", None, 12),
    # variable delays resampled to the mean rate: four long delays repeat a picture, four short ones drop one
    "newtonscradle.gif": (Fraction(1800, 41), 36, 0.82, None,
                          [0, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27,
                           29, 30, 31, 32, 33, 34, 35], 8),
    "test.webm": (Fraction(30), 94, 3.1333, None, None, 31),
}


@pytest.mark.parametrize("name", sorted(RECORDED_RENDERS))
def test_real_clip_renders_as_recorded(tmp_path, name):
    import av

    rate, count, seconds, audio, picture_starts, count_at_10 = RECORDED_RENDERS[name]
    source = real_clip(name)
    info = media.probe_video(source)
    frames = list(media.read_frames(source, max_side=32))
    starts = [i for i, frame in enumerate(frames) if i == 0 or not np.array_equal(frame, frames[i - 1])]
    assert starts == (picture_starts or list(range(count)))
    out = tmp_path / "out.mp4"
    with media.open_sink(out, fps=info.fps, audio_from=source if info.has_audio else None) as sink:
        for frame in frames:
            sink.write(frame)
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        packets = [p for p in container.demux(video) if p.size]
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert video.average_rate == rate
        assert len(packets) == count
        assert float(video.duration * video.time_base) == pytest.approx(seconds, abs=1e-3)
        assert max(video.width, video.height) == 32
        if audio is None:
            assert not container.streams.audio
        else:
            sound = container.streams.audio[0]
            assert sound.codec_context.name == audio
            assert float(sound.duration * sound.time_base) <= seconds + 0.03  # trimmed to the video
    assert len(list(media.read_frames(source, fps=10, max_side=16))) == count_at_10


# ------------------------------------------------------------------------------------------
# seeking and the new output formats


def test_a_later_start_seeks_instead_of_decoding_from_the_beginning(tmp_path):
    frames = [gradient(32, 48, shift=2 * i) for i in range(120)]
    path = tmp_path / "long.mp4"
    with av.open(str(path), "w") as out:  # a keyframe every 12 frames, as cameras and encoders do
        stream = out.add_stream("libx264", rate=24, options={"crf": "10"})
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        stream.codec_context.gop_size = 12
        for i, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = i
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    everything = media.read_frames(path)
    whole = list(everything)
    assert len(whole) == 120 and everything.decoded == 120
    late = media.read_frames(path, start_frame=100, end_frame=110)
    part = list(late)
    assert len(part) == 10
    for a, b in zip(part, whole[100:110]):
        np.testing.assert_array_equal(a, b)
    # the keyframe at 96, then 96..110: about the 10 frames asked for, not 110
    assert late.decoded <= 10 + 12 + 4
    assert late.closed


@pytest.mark.parametrize("name,codec,video_codec", [("out.webp", None, "webp"), ("out.webm", None, "vp9"),
                                                    ("out.mov", None, "prores"), ("out.mp4", "h264", "h264"),
                                                    ("out.mp4", "hevc", "hevc")])
def test_new_output_formats_read_back(tmp_path, name, codec, video_codec, facts):
    frames = moving_clip(6, 31, 67)  # odd sizes (HEVC wants 64 px wide at least)
    path = write_clip(tmp_path / name, frames, fps=12, codec=codec)
    assert os.listdir(tmp_path) == [name]
    assert facts.codecs(path)["video"] == video_codec or name.endswith(".webp")
    back = list(media.read_frames(path))
    assert len(back) == 6
    assert back[0].shape[:2] in ((31, 67), (32, 68))
    for original, decoded in zip(frames, back):
        assert mean_abs_error(decoded[:31, :67], original) < 6.0
    assert mean_abs_error(back[4][:31, :67], frames[4]) < mean_abs_error(back[4][:31, :67], frames[2])


def test_audio_follows_into_webm_and_mov(tmp_path, late_tone, facts):
    for name, audio in (("a.webm", "opus"), ("a.mov", "aac")):
        path = write_clip(tmp_path / name, moving_clip(15), fps=30, audio_from=late_tone, audio_start=1.0)
        assert facts.codecs(path)["audio"] == audio
        assert len(audio_samples(path)) / 8000 == pytest.approx(0.5, abs=0.08)


def test_codec_is_only_for_mp4(tmp_path):
    with pytest.raises(DreamError, match="codec"):
        media.open_sink(tmp_path / "a.gif", fps=10, codec="hevc")
    narrow = media.open_sink(tmp_path / "a.mp4", fps=10, codec="hevc")
    with pytest.raises(DreamError, match="64 px wide"):
        narrow.write(gradient(64, 48))
    with pytest.raises(DreamError, match="av1"):
        media.open_sink(tmp_path / "a.mp4", fps=10, codec="av1")
    assert os.listdir(tmp_path) == []
