"""Hostile files a render reads (issue 21): crafted .gan models, devices and pipes as inputs, frames that
come out NaN, temporary names and symbolic links around an output, OpenCV loaded before dreamvideo.

Each case is what a user would meet: exit 2, one line naming the file and the problem, nothing written.
"""

import contextlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dreamvideo import cli, limits
from dreamvideo.errors import DreamError

ROOT = Path(__file__).resolve().parents[1]


def run(argv, cwd) -> tuple[int, str]:
    err = io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main([str(a) for a in argv])
    finally:
        os.chdir(old)
    return code, err.getvalue()


def one_line_error(code, stderr) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("dreamvideo: error: "), (code, stderr)
    return lines[0]


@pytest.fixture()
def picture(tmp_path):
    from dreamvideo import media

    rng = np.random.default_rng(0)
    path = tmp_path / "img.png"
    media.write_image(path, rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    return path


# -- crafted .gan files --------------------------------------------------------------------------------


def gan_file(path, latent=8, size=32, weights=None, meta=None):
    from dreamvideo.gan import checkpoint

    options = {"size": size, "latent_dim": latent, "epochs": 1, "batch_size": 1, "flip": True, "seed": 0}
    checkpoint.save(path, meta or {"options": options, "epoch": 1, "step": 1}, {"g": weights or []})
    return path


def replace_member(path, name, data: bytes):
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist() if n != name}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, data)
        for n, d in members.items():
            archive.writestr(n, d)


def test_gan_metadata_nested_deeply_is_refused_by_the_bounded_json_reader(tmp_path):
    from dreamvideo.gan import checkpoint

    path = gan_file(tmp_path / "m.gan")
    buffer = io.BytesIO()
    np.save(buffer, np.array('{"format": "dreamvideo-gan", "version": 1, "x": ' + "[" * 100_000 + "]" * 100_000
                             + "}"))
    replace_member(path, "meta.npy", buffer.getvalue())
    with pytest.raises(DreamError, match=f"nested 100001 deep, above the limit of {limits.MAX_JSON_DEPTH}"):
        checkpoint.load(path)


def test_gan_metadata_with_nan_or_a_long_integer_is_refused(tmp_path):
    from dreamvideo.gan import checkpoint

    for text in ('{"format": "dreamvideo-gan", "version": NaN}', '{"format": "dreamvideo-gan", "version": '
                 + "9" * 500 + "}"):
        path = gan_file(tmp_path / "m.gan")
        buffer = io.BytesIO()
        np.save(buffer, np.array(text))
        replace_member(path, "meta.npy", buffer.getvalue())
        with pytest.raises(DreamError, match="m.gan"):
            checkpoint.load(path)


def test_gan_latent_size_over_the_limit_is_refused_before_the_generator_is_built(tmp_path, monkeypatch):
    from dreamvideo.gan import checkpoint, model

    built = []
    monkeypatch.setattr(model, "build_generator", lambda *a: built.append(a))
    path = gan_file(tmp_path / "m.gan", latent=10**9)
    with pytest.raises(DreamError, match=f"latent dim 1000000000 is above the limit of {limits.MAX_LATENT_DIM:,}"):
        checkpoint.load_generator(path)
    assert not built
    with pytest.raises(DreamError, match="not a GAN size"):
        checkpoint.load(gan_file(tmp_path / "s.gan", size=10**12))


def test_a_weight_claiming_a_huge_shape_is_refused_from_its_header(tmp_path):
    from dreamvideo.gan import checkpoint

    path = gan_file(tmp_path / "m.gan")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (1_000_000, 1_000_000)})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("g/0000.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(DreamError, match="1,000,000,000,000 elements, above the limit"):
        checkpoint.load(path)


@pytest.mark.parametrize("poison", [np.nan, np.inf])
def test_non_finite_gan_weights_are_refused_on_load(tmp_path, poison):
    from dreamvideo.gan import checkpoint

    weights = [np.ones((3, 3), np.float32), np.ones(4, np.float32)]
    weights[1][2] = poison
    path = gan_file(tmp_path / "m.gan", weights=weights)
    with pytest.raises(DreamError, match="g/0001 holds NaN or infinite values"):
        checkpoint.load(path)


def test_gan_walk_frames_keyframes_and_scale_are_bounded_on_the_command_line(tmp_path):
    path = gan_file(tmp_path / "m.gan")
    for flag, value, limit in (("--frames", 10**20, limits.MAX_FRAMES), ("--keyframes", 10**7, limits.MAX_KEYFRAMES),
                               ("--scale", 1000, limits.MAX_SCALE)):
        code, err = run(["gan", "walk", path, "-o", "w.gif", flag, value, "-q"], tmp_path)
        assert f"at most {limit:,}" in one_line_error(code, err)
    assert not (tmp_path / "w.gif").exists()


def test_gan_training_sizes_are_bounded(tmp_path):
    (tmp_path / "pics").mkdir()
    for flag, limit in (("--latent-dim", limits.MAX_LATENT_DIM), ("--epochs", limits.MAX_EPOCHS),
                        ("--batch-size", limits.MAX_BATCH_SIZE)):
        code, err = run(["gan", "train", "pics", flag, 10**9, "-q"], tmp_path)
        assert f"at most {limit:,}" in one_line_error(code, err)


def test_a_walk_made_in_pieces_is_the_walk_made_whole():
    from dreamvideo.gan.latent import keyframe_latents, walk_latents

    keys = keyframe_latents(5, 16, seed=1)
    for loop in (True, False):
        whole = walk_latents(keys, 70, loop=loop)
        pieces = np.concatenate([walk_latents(keys, 70, loop, start, start + 32) for start in range(0, 70, 32)])
        assert np.array_equal(whole, pieces)


def test_a_gan_model_is_never_written_into_its_own_picture_folder(tmp_path):
    (tmp_path / "pics").mkdir()
    code, err = run(["gan", "train", "pics", "-o", "pics/m.gan", "-q"], tmp_path)
    assert "lies in the image folder pics" in one_line_error(code, err)
    assert list((tmp_path / "pics").iterdir()) == []


# -- frames that come out NaN or infinite ----------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_frame_is_never_converted_silently(bad):
    from dreamvideo.arrays import float255_to_uint8
    from dreamvideo.gan.data import tanh_to_uint8

    image = np.full((4, 4, 3), 100.0, np.float32)
    image[1, 2, 0] = bad
    with pytest.raises(DreamError, match="NaN or infinite"):
        float255_to_uint8(image)
    with pytest.raises(DreamError, match="NaN or infinite"):
        tanh_to_uint8(image / 255.0)
    assert float255_to_uint8(np.full((2, 2, 3), 300.0)).max() == 255  # finite values are still clipped


def test_a_dream_that_diverges_writes_nothing_and_says_so(tmp_path, picture, monkeypatch):
    from dreamvideo import dreaming, still

    class Diverging:
        def __init__(self, options):
            self.objective = options.objective

        def dream(self, image, **settings):
            return np.full(np.shape(image), np.nan, np.float32)

        def closeness(self, image):
            return {}

    for module in (dreaming, still):
        if hasattr(module, "make_dreamer"):
            monkeypatch.setattr(module, "make_dreamer", Diverging)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = run([picture, "-o", "out.png", "--steps", "1", "--octaves", "1", "-q"], tmp_path)
    assert "NaN or infinite" in one_line_error(code, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# -- devices, pipes and other files that are not regular ---------------------------------------------------


def test_devices_and_pipes_as_any_input_are_named_as_such(tmp_path, picture):
    fifo = tmp_path / "pipe.keras"
    os.mkfifo(fifo)
    cases = [
        (["/dev/urandom", "-q"], "/dev/urandom: is a device, not a regular file"),
        ([fifo, "-q"], "pipe.keras: is a named pipe (FIFO), not a regular file"),
        ([picture, "--guide", "/dev/zero", "-q"], "guide image /dev/zero is a device, not a regular file"),
        ([picture, "--style", fifo, "-q"], "style image " + str(fifo) + " is a named pipe (FIFO)"),
        ([picture, "--mask", "/dev/zero", "-q"], "mask file /dev/zero is a device"),
        ([picture, "--model", fifo, "--layer", "conv1", "-q"], "model file " + str(fifo) + " is a named pipe"),
        (["gan", "walk", "/dev/zero", "-o", "w.gif", "-q"], "GAN model /dev/zero is a device"),
        (["render", "/dev/zero", "-q"], "/dev/zero: not a regular file"),
    ]
    for argv, expected in cases:
        code, err = run(argv, tmp_path)
        assert expected in one_line_error(code, err), (argv, err)


# -- around the output: temporary names, symbolic links ----------------------------------------------------


def test_an_input_named_like_a_temporary_file_of_the_output_is_refused(tmp_path, picture):
    """Temporary names .NAME.*.partial* beside an output are deleted when a killed writer left them."""
    import shutil

    for name in (".out.png.k2j4.partial.png", ".out.png.dreamvideo.json.abcd.partial"):
        guide = tmp_path / name
        shutil.copy(picture, guide)
        code, err = run([picture, "-o", "out.png", "--guide", name, "--steps", "1", "--octaves", "1", "-q"], tmp_path)
        assert "temporary files" in one_line_error(code, err)
        assert guide.read_bytes() == picture.read_bytes()
        guide.unlink()


def test_restart_on_a_symlinked_work_folder_removes_the_link_not_what_it_points_to(tmp_path):
    from dreamvideo.render import FrameStore

    real = tmp_path / "elsewhere"
    real.mkdir()
    (real / "000000.png").write_bytes(b"kept")
    link = tmp_path / ".z.gif.dreamvideo-work"
    link.symlink_to(real, target_is_directory=True)
    store = FrameStore(tmp_path / "z.gif", {"a": 1}, restart=True)
    assert store.folder.is_dir() and not store.folder.is_symlink()
    assert (real / "000000.png").read_bytes() == b"kept"
    store.remove()
    assert not store.folder.exists()
    # A link to a folder that is gone: nothing to resume from, a fresh folder.
    link.symlink_to(tmp_path / "gone", target_is_directory=True)
    assert FrameStore(tmp_path / "z.gif", {"a": 1}).folder.is_dir()


# -- OpenCV loaded before dreamvideo ---------------------------------------------------------------------


def _hdr(path, width, height):
    runs = b"".join(bytes([128 + n, 100]) for n in [127] * (width // 127) + ([width % 127] if width % 127 else []))
    line = bytes([2, 2, width >> 8, width & 255]) + runs * 4
    path.write_bytes(f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode() + line * height)


def test_a_program_that_loaded_opencv_first_still_never_decodes_past_the_limit(tmp_path):
    """OpenCV reads its pixel limit when it loads: after `import cv2` the limit dreamvideo sets comes too late,
    so a picture whose size Pillow cannot read from its header is refused instead of decoded."""
    small = tmp_path / "small.hdr"
    _hdr(small, 300, 200)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import cv2; import dreamvideo; from dreamvideo import media\n"
            "print(media.read_image(sys.argv[3]).shape)\n"
            "for name in sys.argv[2], sys.argv[4]:\n    try:\n        media.read_image(name)\n"
            "    except dreamvideo.DreamError as exc:\n        print(exc)")
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_IO_MAX_IMAGE_PIXELS"}
    picture = tmp_path / "p.png"
    from dreamvideo import media

    media.write_image(picture, np.zeros((8, 8, 3), np.uint8))
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture\n")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT), str(small), str(picture), str(text)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert "(8, 8, 3)" in out.stdout, out.stderr  # a picture whose header Pillow reads is read as ever
    assert f"{small}: its picture size cannot be read before decoding, and OpenCV was loaded before dreamvideo" \
        in out.stdout, out.stdout + out.stderr
    # a file no OpenCV decoder claims is no picture at all, and is named as such
    assert f"{text}: not an image OpenCV can read" in out.stdout, out.stdout + out.stderr
