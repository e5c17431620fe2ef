"""End-to-end tests of the command line for stills, models and help (issue "foundation").

The CLI runs in-process (``dreamvideo.cli.main``) except for one subprocess test that proves a user
mistake never shows a traceback. Fast tests use the tiny random-weight model; a few use the embedded
VGG16 at 48-64 px.
"""

import json
import os
import subprocess
import sys
from dataclasses import fields

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import SAMPLES

CAT = SAMPLES / "chelsea.png"


@pytest.fixture()
def still(tmp_path, random_image):
    """A 40x56 RGB PNG in its own folder (the folder is checked for leftovers)."""
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "picture.png"
    cv2.imwrite(str(path), random_image(40, 56)[..., ::-1])
    return path


def read_rgb(path):
    with Image.open(path) as image:
        return image.mode, np.asarray(image)


# ------------------------------------------------------------------------------------------ happy paths


def test_default_output_is_stem_dream_png_beside_the_input(cli, still, tiny_args, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the default must follow the input, not the working folder
    result = cli(still, *tiny_args)
    assert result.code == 0, result.err
    output = still.with_name("picture_dream.png")
    assert sorted(os.listdir(still.parent)) == ["picture.png", "picture_dream.png", "picture_dream.png.dreamvideo.json"]
    assert os.listdir(elsewhere) == []
    mode, dreamed = read_rgb(output)
    _, original = read_rgb(still)
    assert mode == "RGB" and dreamed.shape == original.shape
    assert np.abs(dreamed.astype(int) - original).mean() > 0.5  # the dream changed the picture


@pytest.mark.parametrize("kind", ["gray", "rgba", "gray16"])
def test_grayscale_and_rgba_inputs_give_rgb_of_the_same_size(cli, tmp_path, random_image, tiny_args, kind):
    rgb = random_image(36, 52)
    path = tmp_path / f"{kind}.png"
    if kind == "gray":
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    elif kind == "gray16":
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257)
    else:
        alpha = np.linspace(0, 255, 52, dtype=np.uint8)[None, :].repeat(36, axis=0)
        cv2.imwrite(str(path), np.dstack([rgb[..., ::-1], alpha]))
    output = tmp_path / "out.png"
    result = cli(path, "-o", output, *tiny_args)
    assert result.code == 0, result.err
    mode, dreamed = read_rgb(output)
    assert mode == "RGB" and dreamed.shape == (36, 52, 3)


def test_same_seed_gives_byte_identical_png_with_the_embedded_model(cli, tmp_path):
    settings = ["--max-side", "48", "--steps", "2", "--octaves", "2", "-q"]
    first, second, other = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    assert cli(CAT, "-o", first, "--seed", "7", *settings).code == 0
    assert cli(CAT, "-o", second, "--seed", "7", *settings).code == 0
    assert cli(CAT, "-o", other, "--seed", "8", *settings).code == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    mode, dreamed = read_rgb(first)
    assert mode == "RGB" and dreamed.shape == (32, 48, 3)  # 451x300 scaled to a longest side of 48


def test_output_permissions_follow_the_umask(cli, still, tiny_args, tmp_path):
    output = tmp_path / "out.png"
    previous = os.umask(0o022)
    try:
        assert cli(still, "-o", output, *tiny_args).code == 0
    finally:
        os.umask(previous)
    assert output.stat().st_mode & 0o777 == 0o644


def test_models_lists_vgg16_available_offline_with_its_layers(cli):
    result = cli("models")
    assert result.code == 0
    assert result.out.startswith("mobilenet_v1:")  # the default, first
    default = result.out.split("vgg16:", 1)[0]
    assert "available offline" in default and "conv_pw_7_relu: eyes" in default
    block = result.out.split("vgg16:", 1)[1].split("\n\n")[0].splitlines()[:4]
    text = "\n".join(block)
    assert "available offline" in text
    assert "block4_conv3" in text and "block1_conv1" in text and "block5_conv3" in text


def test_help_exits_0_and_mentions_every_option(cli):
    from dreamvideo.options import DreamOptions
    from dreamvideo.options import VideoOptions
    from dreamvideo.options import ZoomOptions

    main_help = cli("--help")
    zoom_help = cli("zoom", "--help")
    assert main_help.code == 0 and zoom_help.code == 0
    # Every keyword of the API is a flag of the same name (dashes for underscores), and is documented.
    for options, text in ((DreamOptions, main_help.out), (VideoOptions, main_help.out),
                          (DreamOptions, zoom_help.out), (ZoomOptions, zoom_help.out)):
        for field in fields(options):
            if field.init:
                assert f"--{field.name.replace('_', '-')}" in text, f"--{field.name} missing from help"
    for flag in ("--output", "zoom", "models"):
        assert flag in main_help.out


def test_wrote_line_names_the_output_unless_quiet(cli, still, tiny_args, tmp_path, moving_clip):
    loud = [a for a in tiny_args if a != "-q"]
    outputs = {"still": tmp_path / "still.png", "video": tmp_path / "clip.gif", "zoom": tmp_path / "zoom.gif"}
    runs = {"still": (still, "-o", outputs["still"]), "video": (moving_clip, "-o", outputs["video"], "--end", "2f"),
            "zoom": ("zoom", "-o", outputs["zoom"], "--size", "32x32", "--frames", "2")}
    for kind, args in runs.items():
        result = cli(*args, *loud)
        assert result.code == 0, result.err
        assert f"wrote {outputs[kind]}" in result.err.splitlines(), f"{kind}: {result.err}"
        outputs[kind].unlink()
        quiet = cli(*args, *tiny_args)
        assert quiet.code == 0 and "wrote" not in quiet.err and quiet.out == ""


def test_command_names_win_over_files_and_folders_of_the_same_name(cli, tmp_path, tiny_args, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "zoom").write_text("notes on the zoom\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "render").write_text("not a render file\n")
    (tmp_path / "measure").mkdir()
    models = cli("models")
    assert models.code == 0 and "vgg16:" in models.out
    zoom = cli("zoom", "-o", "noise.gif", "--size", "32x32", "--frames", "2", *tiny_args)
    assert zoom.code == 0, zoom.err
    render = cli("render", "noise.gif.dreamvideo.json", "-o", "again.gif", "-q")
    assert render.code == 0, render.err
    measure = cli("measure", "--help")
    assert measure.code == 0 and "guide" in measure.out
    assert sorted(os.listdir(tmp_path)) == sorted(["zoom", "models", "render", "measure", "noise.gif",
                                                   "noise.gif.dreamvideo.json", "again.gif",
                                                   "again.gif.dreamvideo.json"])
    # The file named zoom is reachable as a path: it is read (and refused: it is no picture).
    cli("./zoom", *tiny_args).assert_user_error("zoom")


def dreamed(cli, still, tmp_path, name, *flags):
    output = tmp_path / f"{name}.png"
    result = cli(still, "-o", output, *flags)
    assert result.code == 0, result.err
    return read_rgb(output)[1]


def test_tile_size_splits_the_picture_only_when_it_is_smaller(cli, still, tmp_path, tiny_args):
    """The 40x56 picture: tiles of 64 px hold it whole (the same as 512); 24 px tiles make seams differ."""
    whole = dreamed(cli, still, tmp_path, "t512", *tiny_args, "--tile-size", "512")
    assert np.array_equal(dreamed(cli, still, tmp_path, "t64", *tiny_args, "--tile-size", "64"), whole)
    assert not np.array_equal(dreamed(cli, still, tmp_path, "t24", *tiny_args, "--tile-size", "24"), whole)


def test_guide_and_style_weights_and_style_layers_change_the_result(cli, still, tmp_path, tiny_args, random_image):
    other = tmp_path / "other.png"
    cv2.imwrite(str(other), random_image(40, 56, seed=9))
    results = {}
    for name, flags in {"guide_1": ["--guide", other], "guide_5": ["--guide", other, "--guide-weight", "5"],
                        "style_1": ["--style", other, "--style-layer", "conv1"],
                        "style_5": ["--style", other, "--style-layer", "conv1", "--style-weight", "5"],
                        "style_conv2": ["--style", other, "--style-layer", "conv2"]}.items():
        results[name] = dreamed(cli, still, tmp_path, name, *tiny_args, *flags)  # on top of --layer conv3
    for changed, reference in (("guide_5", "guide_1"), ("style_5", "style_1"), ("style_conv2", "style_1")):
        assert not np.array_equal(results[changed], results[reference]), f"{changed} = {reference}"
    settings = json.loads((tmp_path / "style_conv2.png.dreamvideo.json").read_text())["options"]["objective"]
    assert [term.get("layers") for term in settings if term["kind"] == "style"] == [["conv2"]]


def test_tv_makes_the_dream_smoother(cli, still, tmp_path, tiny_args):
    def variation(image):  # mean absolute difference of neighbouring pixels
        image = image.astype(np.float64)
        return np.abs(np.diff(image, axis=0)).mean() + np.abs(np.diff(image, axis=1)).mean()

    plain = dreamed(cli, still, tmp_path, "plain", *tiny_args, "--step-size", "8")
    smooth = dreamed(cli, still, tmp_path, "smooth", *tiny_args, "--step-size", "8", "--tv", "10")
    # Measured: plain 55, the picture itself 42, with --tv 10 30 (--tv 1: 40).
    assert variation(smooth) < 0.8 * variation(plain) and variation(smooth) < variation(read_rgb(still)[1])


# ------------------------------------------------------------------------------------------ user errors


def test_missing_input(cli, tmp_path, snapshot, tiny_args):
    result = cli(tmp_path / "nowhere.png", *tiny_args)
    result.assert_user_error("nowhere.png", "not found")
    assert snapshot(tmp_path) == []


@pytest.mark.parametrize("content, needle", [(b"this is not a picture\n", "not an image"),
                                             (b"", "empty")])
def test_text_renamed_png_and_empty_file(cli, tmp_path, snapshot, tiny_args, content, needle):
    path = tmp_path / "fake.png"
    path.write_bytes(content)
    cli(path, *tiny_args).assert_user_error("fake.png", needle)
    assert snapshot(tmp_path) == ["fake.png"]


def test_unknown_model(cli, still, snapshot):
    before = snapshot(still.parent)
    line = cli(still, "--model", "nosuchnet").assert_user_error("nosuchnet")
    assert "unknown model" in line and "vgg16" in line  # says what to choose instead
    assert snapshot(still.parent) == before


def test_unknown_model_with_a_layer(cli, still, snapshot):
    before = snapshot(still.parent)
    line = cli(still, "--model", "nosuchnet", "--layer", "conv3").assert_user_error("nosuchnet")
    assert "vgg16" in line
    assert snapshot(still.parent) == before


def test_unknown_layer_lists_the_valid_layers(cli, still, snapshot, tiny_model_file):
    before = snapshot(still.parent)
    line = cli(still, "--layer", "block9_conv9").assert_user_error("block9_conv9", "mobilenet_v1")
    assert "conv_pw_7_relu" in line and "conv1" in line
    line = cli(still, "--model", "vgg16", "--layer", "block9_conv9").assert_user_error("block9_conv9")
    assert "block4_conv3" in line and "block1_conv1" in line
    line = cli(still, "--model", tiny_model_file, "--layer", "conv7").assert_user_error("conv7")
    assert "conv1" in line and "conv3" in line
    assert snapshot(still.parent) == before


@pytest.mark.parametrize("flag", ["--steps", "--octaves", "--max-side"])
@pytest.mark.parametrize("value", ["0", "-3"])
def test_non_positive_counts(cli, still, snapshot, tiny_args, flag, value):
    before = snapshot(still.parent)
    cli(still, *tiny_args, flag, value).assert_user_error(flag, value)
    assert snapshot(still.parent) == before


def test_non_positive_counts_through_the_api(still, tiny_model_file):
    from dreamvideo import DreamError, dream_image

    for key in ("steps", "octaves", "max_side"):
        with pytest.raises(DreamError, match=key.replace("_", " ")):
            dream_image(still, model=tiny_model_file, layer=["conv3"], **{key: 0})
    assert os.listdir(still.parent) == ["picture.png"]


def test_output_equal_to_input_is_refused(cli, still, tiny_args):
    original = still.read_bytes()
    cli(still, "-o", still, *tiny_args).assert_user_error("picture.png", "input")
    # Another spelling of the same path is the same file.
    cli(still, "-o", still.parent / "." / still.name, *tiny_args).assert_user_error("picture.png")
    assert still.read_bytes() == original
    assert os.listdir(still.parent) == ["picture.png"]


def test_output_folder_that_does_not_exist(cli, still, tiny_args, tmp_path, snapshot):
    before = snapshot(tmp_path)
    cli(still, "-o", tmp_path / "missing" / "out.png", *tiny_args).assert_user_error("missing")
    assert snapshot(tmp_path) == before


def test_output_extension_it_cannot_write(cli, still, tiny_args, tmp_path, snapshot):
    before = snapshot(tmp_path)
    line = cli(still, "-o", tmp_path / "out.xyz", *tiny_args).assert_user_error("out.xyz")
    assert ".png" in line  # says what would work
    assert snapshot(tmp_path) == before


def test_animation_output_for_a_still_is_refused(cli, still, tiny_args, tmp_path, snapshot):
    before = snapshot(tmp_path)
    cli(still, "-o", tmp_path / "out.mp4", *tiny_args).assert_user_error("out.mp4")
    assert snapshot(tmp_path) == before


def test_bad_flag_value_is_one_line(cli, still, tiny_args):
    cli(still, *tiny_args, "--step-size", "fast").assert_user_error("fast")
    cli(still, *tiny_args, "--precision", "float16").assert_user_error("float16")


def test_no_traceback_reaches_the_terminal(tmp_path):
    """The one subprocess test: ``python -m dreamvideo`` on a text file renamed .mp4."""
    fake = tmp_path / "notes.mp4"
    fake.write_text("just some text\n")
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    done = subprocess.run([sys.executable, "-m", "dreamvideo", str(fake)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("dreamvideo: error: ") and "notes.mp4" in lines[0], lines
    assert done.stdout == ""
    assert sorted(os.listdir(tmp_path)) == ["notes.mp4"]



def test_flag_defaults_are_the_declared_defaults(cli):
    """Every flag's default is its option's declaration, and the help says it."""
    from dreamvideo.cli.dream import build_main_parser
    from dreamvideo.cli.zoom import build_zoom_parser
    from dreamvideo.declare import declared
    from dreamvideo.options import DreamOptions, FarmOptions, VideoOptions, ZoomOptions

    for parser, classes, argv in ((build_main_parser(), (DreamOptions, VideoOptions, FarmOptions), ["x.png"]),
                                  (build_zoom_parser(), (DreamOptions, ZoomOptions), [])):
        parsed = vars(parser.parse_args(argv))
        for cls in classes:
            for opt in declared(cls):
                if opt.cli:
                    assert parsed[opt.name] == opt.default, (parser.prog, opt.name)
    assert "0 dreams every frame independently (default 0.9)" in " ".join(cli("--help").out.split())
