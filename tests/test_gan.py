"""GAN animations (issue 8): folder loading, training with exact resume, walks, morphs, --dream, bad input.

Everything runs at 32 px on 8 generated pictures with batches of 4, one or two epochs, so the whole file
takes well under a minute on 2 cores. The trained model is shared by the walk and morph tests.
"""

import errno
import logging
import os
import subprocess
import sys
from dataclasses import fields

import cv2
import numpy as np
import pytest


TRAIN = ["--size", "32", "--batch-size", "4", "-q"]


def write_png(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))


def blob_picture(seed, height=40, width=48):
    """A soft 'face': a light ellipse on a dark ground with two dark eyes, placed and tinted by ``seed``."""
    rng = np.random.default_rng(seed)
    picture = np.full((height, width, 3), rng.integers(20, 60), np.uint8)
    centre = (width // 2 + int(rng.integers(-3, 4)), height // 2 + int(rng.integers(-3, 4)))
    colour = tuple(int(c) for c in rng.integers(150, 255, 3))
    cv2.ellipse(picture, centre, (12, 15), 0, 0, 360, colour, -1)
    for dx in (-5, 5):
        cv2.circle(picture, (centre[0] + dx, centre[1] - 4), 2, (30, 30, 30), -1)
    return cv2.GaussianBlur(picture, (3, 3), 0)


@pytest.fixture(scope="session")
def picture_dir(tmp_path_factory):
    """8 pictures: PNG and JPEG, one grayscale, two in a subfolder."""
    folder = tmp_path_factory.mktemp("pictures") / "faces"
    for i in range(8):
        picture = blob_picture(i)
        name = folder / ("sub" if i >= 6 else "") / (f"face{i}.jpg" if i % 2 else f"face{i}.png")
        if i == 3:
            picture = np.repeat(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
        write_png(name, picture)
    return folder


@pytest.fixture(scope="session")
def model_file(picture_dir, tmp_path_factory):
    """A GAN trained for 2 epochs on ``picture_dir`` (shared by the walk and morph tests)."""
    from dreamvideo import gan

    path = tmp_path_factory.mktemp("model") / "faces.gan"
    return gan.train(picture_dir, path, size=32, epochs=2, batch_size=4, quiet=True)


def weights_of(path):
    from dreamvideo.gan import checkpoint

    meta, weights = checkpoint.load(path)
    return meta, [array for group in checkpoint.GROUPS for array in weights[group]]


def gif_frames(path):
    from PIL import Image

    with Image.open(path) as image:
        frames = []
        for i in range(image.n_frames):
            image.seek(i)
            frames.append(np.asarray(image.convert("RGB")).astype(np.float32))
        return frames, image.info.get("loop")


# ------------------------------------------------------------------------------------------ data


def test_square_crops_the_centre_and_resizes():
    from dreamvideo.gan.data import square

    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :10] = (255, 0, 0)
    wide[:, 10:30] = (0, 255, 0)
    wide[:, 30:] = (0, 0, 255)
    out = square(wide, 32)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - (0, 255, 0)).max() <= 2  # only the green middle is kept


def test_load_images_recursive_grayscale_and_unreadable_files_skipped(tmp_path, caplog):
    from dreamvideo.gan.data import load_images

    write_png(tmp_path / "a.png", blob_picture(0))
    write_png(tmp_path / "deeper" / "b.png", blob_picture(1))
    cv2.imwrite(str(tmp_path / "gray.png"), np.full((30, 50), 200, np.uint8))
    (tmp_path / "notes.png").write_text("not a picture")
    (tmp_path / "readme.txt").write_text("hello")
    with caplog.at_level(logging.WARNING):
        images = load_images(tmp_path, 32)
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
    gray = images[2]  # sorted by path: a.png, deeper/b.png, gray.png
    assert np.all(gray == 200)
    assert "notes.png" in caplog.text and "readme.txt" in caplog.text


# ------------------------------------------------------------------------------------------ latent paths


def test_walk_has_constant_angular_speed_and_visits_the_keyframes():
    from dreamvideo.gan.latent import keyframe_latents, walk_latents

    keys = keyframe_latents(4, 16, seed=3)
    assert np.allclose(np.linalg.norm(keys, axis=1), 4.0, atol=1e-4)
    for loop in (True, False):
        path = walk_latents(keys, 41, loop=loop)
        closed = np.concatenate([path, path[:1]]) if loop else path
        unit = closed / np.linalg.norm(closed, axis=1, keepdims=True)
        angles = np.arccos(np.clip(np.sum(unit[:-1] * unit[1:], axis=1), -1, 1))
        # Even pace along the path (seam included when looping): every step turns by the same angle,
        # except those that round a keyframe, which cut the corner (at most one per keyframe).
        keys_closed = np.concatenate([keys, keys[:1]]) if loop else keys
        keys_unit = keys_closed / np.linalg.norm(keys_closed, axis=1, keepdims=True)
        total = np.arccos(np.clip(np.sum(keys_unit[:-1] * keys_unit[1:], axis=1), -1, 1)).sum()
        step = total / (41 if loop else 40)
        assert np.all(angles <= step * (1 + 1e-4))
        assert np.sum(np.abs(angles - step) > 1e-4 * step) <= len(keys)
        assert np.allclose(np.linalg.norm(path, axis=1), 4.0, atol=1e-3)
        assert np.allclose(path[0], keys[0], atol=1e-5)
        if not loop:
            assert np.allclose(path[-1], keys[-1], atol=1e-4)


def test_slerp_ends_and_midpoint():
    from dreamvideo.gan.latent import slerp

    a, b = np.array([2.0, 0.0]), np.array([0.0, 2.0])
    assert np.allclose(slerp(a, b, 0.0), a) and np.allclose(slerp(a, b, 1.0), b)
    assert np.allclose(slerp(a, b, 0.5), [np.sqrt(2), np.sqrt(2)], atol=1e-6)


# ------------------------------------------------------------------------------------------ training


def test_same_seed_same_model_and_an_interrupted_run_resumes_to_the_same_model(cli, picture_dir, tmp_path,
                                                                               monkeypatch):
    from dreamvideo.gan import training as train_module

    monkeypatch.setattr(train_module, "CHECKPOINT_SECONDS", 0.0)  # a checkpoint after every epoch
    unbroken, again, resumed = tmp_path / "a.gan", tmp_path / "b.gan", tmp_path / "c.gan"
    for path in (unbroken, again):
        assert cli("gan", "train", picture_dir, "-o", path, "--epochs", "2", *TRAIN).code == 0
    real_step = train_module.Trainer.step

    def interrupted(self, real, step_index):
        if step_index == 3:  # in the second epoch (2 steps an epoch)
            raise KeyboardInterrupt
        return real_step(self, real, step_index)

    monkeypatch.setattr(train_module.Trainer, "step", interrupted)
    stopped = cli("gan", "train", picture_dir, "-o", resumed, "--epochs", "2", *TRAIN)
    assert stopped.code == 130 and "checkpoint is kept" in stopped.err, stopped.err
    assert weights_of(resumed)[0]["epoch"] == 1
    monkeypatch.setattr(train_module.Trainer, "step", real_step)
    assert cli("gan", "train", picture_dir, "-o", resumed, "--epochs", "2", *TRAIN).code == 0

    meta_a, a = weights_of(unbroken)
    meta_b, b = weights_of(again)
    meta_c, c = weights_of(resumed)
    assert meta_a["epoch"] == meta_c["epoch"] == 2 and meta_a["step"] == meta_c["step"] == 4
    assert len(a) == len(b) == len(c) > 20
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert all(np.array_equal(x, y) for x, y in zip(a, c))
    # and training did something: the first epoch's weights differ from the second's
    assert (tmp_path / "a.samples.png").is_file()


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one(cli, picture_dir, tmp_path, monkeypatch):
    from dreamvideo.gan import checkpoint

    model = tmp_path / "m.gan"
    assert cli("gan", "train", picture_dir, "-o", model, "--epochs", "1", *TRAIN).code == 0
    before = model.read_bytes()

    def full_disk(file, arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint, "_write_archive", full_disk)
    line = cli("gan", "train", picture_dir, "-o", model, "--epochs", "2", *TRAIN).assert_user_error("m.gan")
    assert "No space left" in line and "previous checkpoint" in line
    assert model.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.gan", "m.samples.png"]  # no temporary file left


def test_fewer_pictures_than_a_batch_shrinks_the_batch_and_says_so(picture_dir, tmp_path, caplog):
    from dreamvideo import gan

    with caplog.at_level(logging.WARNING):
        path = gan.train(picture_dir, tmp_path / "m.gan", size=32, epochs=1, batch_size=64, quiet=True)
    assert "fewer than a batch of 64" in caplog.text and "batches of 8" in caplog.text
    assert weights_of(path)[0]["options"]["batch_size"] == 8


# ------------------------------------------------------------------------------------------ walks and morphs


def test_walk_writes_an_h264_mp4_of_48_frames(cli, model_file, tmp_path, facts):
    out = tmp_path / "walk.mp4"
    assert cli("gan", "walk", model_file, "-o", out, "--frames", "48", "--scale", "2", "-q").code == 0
    assert facts.frame_count(out) == 48 and facts.video_codec(out) == "h264"
    frames = facts.decoded_frames(out)
    assert frames[0].shape == (64, 64, 3)


def test_walk_gif_loops_with_even_steps_and_no_seam(cli, model_file, tmp_path):
    out = tmp_path / "walk.gif"
    assert cli("gan", "walk", model_file, "-o", out, "--frames", "24", "--keyframes", "3", "-q").code == 0
    frames, loop = gif_frames(out)
    assert len(frames) == 24 and loop == 0 and frames[0].shape == (128, 128, 3)
    steps = np.array([np.abs(a - b).mean() for a, b in zip(frames, frames[1:])])
    seam = np.abs(frames[-1] - frames[0]).mean()
    assert steps.min() > 0  # it moves
    assert seam < 3 * np.median(steps)  # the last frame leads into the first like any other step
    assert np.abs(frames[12] - frames[0]).mean() > 3 * np.median(steps)  # it goes somewhere and comes back


def test_walk_with_dream_dreams_the_generated_frames(cli, model_file, tmp_path, tiny_args, facts):
    plain, dreamed = f"{tmp_path}/plain/", f"{tmp_path}/dreamed/"
    common = ["gan", "walk", model_file, "--frames", "4", "--scale", "2"]
    assert cli(*common, "-o", plain, "-q").code == 0
    assert cli(*common, "-o", dreamed, "--dream", *tiny_args, "--step-size", "8").code == 0
    a, b = facts.png_frames(plain), facts.png_frames(dreamed)
    assert len(a) == len(b) == 4 and a[0].shape == b[0].shape == (64, 64, 3)
    assert all(np.abs(x.astype(int) - y).mean() > 1.0 for x, y in zip(a, b))


def test_morph_two_faces_starts_at_the_reconstruction_of_the_first(cli, model_file, picture_dir, tmp_path, facts):
    from dreamvideo.gan.animate import generate, upscale
    from dreamvideo.gan.checkpoint import load_generator
    from dreamvideo.gan.data import square
    from dreamvideo.gan.latent import Inverter
    from dreamvideo.media import read_image

    face_a, face_b = picture_dir / "face0.png", picture_dir / "face2.png"
    out = f"{tmp_path}/morph/"
    assert cli("gan", "morph", model_file, face_a, face_b, "-o", out, "--frames", "5", "--invert-steps", "15",
               "--scale", "1", "-q").code == 0
    frames = facts.png_frames(out)
    assert len(frames) == 5
    generator, _ = load_generator(model_file)
    pictures = np.stack([square(read_image(p), 32) for p in (face_a, face_b)])
    z = Inverter(generator, steps=15, seed=0).invert(pictures)
    expected = generate(generator, z)
    assert np.abs(frames[0].astype(int) - upscale(expected[0], 1)).max() <= 1
    assert np.abs(frames[-1].astype(int) - expected[1]).max() <= 1


def test_inversion_gets_closer_to_the_picture_than_its_start(model_file, picture_dir):
    from dreamvideo.gan.animate import generate
    from dreamvideo.gan.checkpoint import load_generator
    from dreamvideo.gan.data import load_images
    from dreamvideo.gan.latent import Inverter

    generator, _ = load_generator(model_file)
    pictures = load_images(picture_dir, 32)[:2].astype(np.float32)
    start = Inverter(generator, steps=1, seed=0)
    before = np.abs(generate(generator, start.invert(pictures)) - pictures).mean()
    after = np.abs(generate(generator, Inverter(generator, steps=30, seed=0).invert(pictures)) - pictures).mean()
    assert after < before


def test_morph_along_two_folders(cli, model_file, picture_dir, tmp_path):
    out = tmp_path / "fold.gif"
    assert cli("gan", "morph", model_file, picture_dir / "face0.png", "-o", out, "--from", picture_dir / "sub",
               "--to-dir", picture_dir, "--frames", "6", "--invert-steps", "5", "-q").code == 0
    frames, loop = gif_frames(out)
    assert len(frames) == 6 and np.abs(frames[-1] - frames[0]).mean() > 0.5


def test_compact_form_trains_beside_the_folder_then_walks(cli, picture_dir, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / "pics"
    shutil.copytree(picture_dir, folder)
    out = tmp_path / "animation.gif"
    assert cli("gan", "--image_dir", folder, "--output_file", out, "--epochs", "1", "--size", "32",
               "--batch-size", "4", "--frames", "8", "-q").code == 0
    frames, loop = gif_frames(out)
    assert len(frames) == 8 and loop == 0
    assert (tmp_path / "pics.gan").is_file() and (tmp_path / "pics.samples.png").is_file()


# ------------------------------------------------------------------------------------------ bad input


def test_empty_folder_and_folder_without_pictures(cli, tmp_path, snapshot, caplog):
    empty = tmp_path / "empty"
    empty.mkdir()
    cli("gan", "train", empty, *TRAIN).assert_user_error("empty", "is empty")
    junk = tmp_path / "junk"
    (junk / "deep").mkdir(parents=True)
    (junk / "deep" / "a.png").write_text("text")
    with caplog.at_level(logging.WARNING):
        result = cli("gan", "train", junk, *TRAIN)
    assert result.code == 2 and result.err_lines[-1].startswith("dreamvideo: error: ")
    assert "no readable image" in result.err_lines[-1] and "junk" in result.err_lines[-1]
    assert "a.png" in caplog.text  # the skip warning names the file
    assert snapshot(tmp_path) == ["empty", "junk", "junk/deep", "junk/deep/a.png"]


def test_size_must_be_32_64_or_128(cli, picture_dir, tmp_path, snapshot):
    line = cli("gan", "train", picture_dir, "-o", tmp_path / "m.gan", "--size", "48", "-q").assert_user_error("48")
    assert "32, 64 or 128" in line
    assert snapshot(tmp_path) == []


@pytest.mark.parametrize("content", [b"hello\n", b"", "npz", "zip"])
def test_a_file_that_is_not_a_gan(cli, tmp_path, content, snapshot):
    path = tmp_path / "fake.gan"
    if content == "npz":
        np.savez(open(path, "wb"), meta=np.array('{"format": "something else"}'))
    elif content == "zip":
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("x.txt", "hi")
    else:
        path.write_bytes(content)
    before = snapshot(tmp_path)
    cli("gan", "walk", path, "-o", tmp_path / "w.gif", "-q").assert_user_error("fake.gan", "not a dreamvideo GAN")
    assert snapshot(tmp_path) == before


def test_morph_needs_a_second_face_or_two_folders(cli, model_file, picture_dir, tmp_path, snapshot):
    face = picture_dir / "face0.png"
    cli("gan", "morph", model_file, face, "-o", tmp_path / "m.gif", "-q").assert_user_error("second face", "--from")
    cli("gan", "morph", model_file, face, "-o", tmp_path / "m.gif", "--from", picture_dir,
        "-q").assert_user_error("--to")
    assert snapshot(tmp_path) == []


def test_dream_options_without_dream_are_refused(cli, model_file, tmp_path, snapshot):
    cli("gan", "walk", model_file, "-o", tmp_path / "w.gif", "--steps", "3", "-q").assert_user_error("--steps",
                                                                                                  "--dream")
    cli("gan", "walk", model_file, "-o", tmp_path / "w.gif", "--blend", "0.5", "-q").assert_user_error("--blend")
    assert snapshot(tmp_path) == []


def test_resuming_with_other_settings_is_refused(cli, model_file, picture_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy.gan"
    shutil.copy(model_file, copy)
    cli("gan", "train", picture_dir, "-o", copy, "--size", "64", "--batch-size", "4",
        "-q").assert_user_error("copy.gan", "size")


# ------------------------------------------------------------------------------------------ API and CLI


def test_every_gan_flag_is_an_api_keyword_and_every_option_a_flag():
    import inspect

    from dreamvideo import gan
    from dreamvideo.cli.gan import build_gan_parser
    from dreamvideo.options import CarryOptions, DreamOptions

    cases = [("train", gan.train, [gan.TrainOptions]),
             ("walk", gan.walk, [gan.WalkOptions, CarryOptions, DreamOptions]),
             ("morph", gan.morph, [gan.MorphOptions, CarryOptions, DreamOptions]),
             (None, gan.animate, [gan.TrainOptions, gan.WalkOptions])]
    for command, function, option_classes in cases:
        parser = build_gan_parser(command)
        api = {f.name for cls in option_classes for f in fields(cls) if f.init}
        api |= set(inspect.signature(function).parameters)
        destinations = {a.dest for a in parser._actions if a.dest != "help"}
        assert destinations <= api, (command, destinations - api)
        flags = {option for a in parser._actions for option in a.option_strings}
        options = {f.name for cls in option_classes for f in fields(cls) if f.init}
        if command is None:
            options -= {"dream", "restart", "codec"}
        missing = [name for name in options if f"--{name.replace('_', '-')}" not in flags]
        assert not missing, (command, missing)


def test_import_dreamvideo_does_not_import_tensorflow():
    code = "import sys, dreamvideo; dreamvideo.gan.walk; print('tensorflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert done.stdout.strip() == "False", done.stderr



def test_training_leaves_op_determinism_as_it_found_it(model_file):
    """Training (the model_file fixture trained in this process) turns TensorFlow's op determinism on for an
    exact resume, then off again: a dream after it runs the kernels the same dream runs in a fresh process."""
    from tensorflow.python.framework import config as tf_config

    from dreamvideo.runtime import op_determinism

    assert not tf_config.is_op_determinism_enabled()
    with op_determinism():
        assert tf_config.is_op_determinism_enabled()
    assert not tf_config.is_op_determinism_enabled()
