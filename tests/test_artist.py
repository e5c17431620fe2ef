"""End-to-end tests of the artist's tools (issue 5): guide and style images, masks, render files, previews,
malformed weights, and the one-to-one map between CLI flags and API keywords.

The CLI runs in-process. Logic is checked with the tiny random-weight model; the guide/style acceptance
test uses the embedded VGG16 at 96 px with 3 steps and measures closeness with the Dreamer itself.
"""

import inspect
import json
import logging
import re
import shutil
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import CLIP_FPS, CLIP_FRAMES, SAMPLES, published, record_kernel_dreams

CAT = SAMPLES / "chelsea.png"
COFFEE = SAMPLES / "coffee.png"
RENDER_SUFFIX = ".dreamvideo.json"
# Pixels of the black half of a mask that may still move: bilinear resizing of the strength and of the
# detail carried between octaves spreads the white half's dream by a few pixels.
MASK_MARGIN = 4


def write_png(path, rgb):
    assert cv2.imwrite(str(path), np.ascontiguousarray(np.asarray(rgb)[..., ::-1]))
    return Path(path)


def read_png(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGB", f"{path} is {image.mode}"
        return np.asarray(image)


def picture(height=48, width=64, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, (height // 4 + 1, width // 4 + 1, 3)).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


def half_mask(height=48, width=64):
    """uint8 RGB: left half black (not dreamed), right half white (dreamed)."""
    mask = np.zeros((height, width, 3), np.uint8)
    mask[:, width // 2:] = 255
    return mask


def max_diff(a, b) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


@pytest.fixture()
def project(tmp_path):
    """A project folder with a 48x64 still, a guide image and a left-black/right-white mask."""
    folder = tmp_path / "project"
    folder.mkdir()
    write_png(folder / "picture.png", picture())
    write_png(folder / "guide.png", picture(seed=5))
    write_png(folder / "mask.png", half_mask())
    return folder


@pytest.fixture()
def clip(tmp_path, moving_clip):
    """A private copy of the generated 18-frame 64x48 clip, in its own folder."""
    folder = tmp_path / "clip"
    folder.mkdir()
    return Path(shutil.copy(moving_clip, folder / "walk.mp4"))


def source_frames(path):
    from dreamvideo import media

    return list(media.read_frames(str(path)))


# ------------------------------------------------------------------------------------------ 1. guide and style


def test_guide_and_style_bring_the_dream_closer_than_a_plain_dream(cli, tmp_path, caplog):
    from dreamvideo import dreaming, media, options

    # The thresholds below were measured on vgg16 (at these tiny settings mobilenet_v1's guide gains 0.03).
    settings = ["--model", "vgg16", "--steps", "3", "--octaves", "2", "--max-side", "96"]
    outputs = {}
    logged = {}
    for name, extra in (("plain", []), ("guide", ["--guide", COFFEE]), ("style", ["--style", COFFEE])):
        outputs[name] = tmp_path / f"{name}.png"
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="dreamvideo"):
            result = cli(CAT, "-o", outputs[name], *settings, *extra)
        assert result.code == 0, result.err
        logged[name] = caplog.text + result.err

    assert "similarity" not in logged["plain"] and "distance" not in logged["plain"]
    numbers = r"input (\d+\.\d+) -> result (\d+\.\d+)"
    for name, word in (("guide", "similarity"), ("style", "distance")):
        found = re.search(fr"{name} {word}: {numbers}", logged[name])
        assert found, f"no '{name} {word}: input ... -> result ...' line in:\n{logged[name]}"
        start, end = float(found.group(1)), float(found.group(2))

        dreamer = dreaming.make_dreamer(options.DreamOptions(**{name: str(COFFEE)}, model="vgg16", max_side=96))

        def measure(path):
            return dreamer.closeness(media.read_image(path).astype(np.float32))[name]

        dreamed, plain = measure(outputs[name]), measure(outputs["plain"])
        source = dreamer.closeness(media.resize_max_side(media.read_image(CAT), 96).astype(np.float32))[name]
        # The logged numbers are the Dreamer's own measure of the input and of the written result.
        assert start == pytest.approx(source, abs=1e-3) and end == pytest.approx(dreamed, abs=1e-3)
        if name == "guide":
            assert dreamed > source + 0.05 and dreamed > plain + 0.02
        else:
            assert dreamed < 0.85 * source and dreamed < 0.85 * plain


# ------------------------------------------------------------------------------------------ 2. masks


def test_black_half_of_a_still_mask_is_left_untouched(cli, project, tiny_args):
    output = project / "out.png"
    result = cli(project / "picture.png", "-o", output, "--mask", project / "mask.png", *tiny_args,
                 "--octaves", "2", "--step-size", "4")
    assert result.code == 0, result.err
    dreamed, source = read_png(output), read_png(project / "picture.png")
    keep = slice(0, 32 - MASK_MARGIN)
    assert max_diff(dreamed[:, keep], source[:, keep]) <= 1
    assert np.abs(dreamed[:, 32 + MASK_MARGIN:].astype(int) - source[:, 32 + MASK_MARGIN:]).mean() > 2


def test_black_half_of_a_video_mask_shows_every_source_frame(cli, clip, tmp_path, tiny_args, facts):
    write_png(tmp_path / "mask.png", half_mask())
    output = tmp_path / "frames"
    result = cli(clip, "-o", f"{output}/", "--mask", tmp_path / "mask.png", "--blend", "0.9", *tiny_args,
                 "--step-size", "4")
    assert result.code == 0, result.err
    dreamed, sources = facts.png_frames(output), source_frames(clip)
    assert len(dreamed) == len(sources) == CLIP_FRAMES
    keep = slice(0, 32 - MASK_MARGIN)
    for index, (frame, source) in enumerate(zip(dreamed, sources)):
        assert max_diff(frame[:, keep], source[:, keep]) <= 1, f"frame {index} changed under the black mask"
        assert np.abs(frame[:, 40:].astype(int) - source[:, 40:]).mean() > 1, f"frame {index} was not dreamed"


def alternating_mask(index):
    """Mask frame ``index``: even frames dream the right half, odd frames the left half."""
    mask = half_mask()
    return mask if index % 2 == 0 else np.ascontiguousarray(mask[:, ::-1])


def write_mask_video(path, count, mask_frame=lambda index: half_mask()):
    from dreamvideo.media import open_sink

    with open_sink(path, fps=CLIP_FPS, quality=0) as sink:  # lossless: black stays 0, white 255
        for index in range(count):
            sink.write(mask_frame(index))
    return path


def assert_dreamed_where_white(frames, sources, masks):
    """Each frame is its source under the black half of its mask, and dreamed under the white half."""
    assert len(frames) == len(sources) == len(masks)
    for index, (frame, source, mask) in enumerate(zip(frames, sources, masks)):
        white = mask[0, :, 0] == 255
        kept = ~np.convolve(white, np.ones(2 * MASK_MARGIN + 1), "same").astype(bool)  # MASK_MARGIN from white
        dreamed = ~np.convolve(~white, np.ones(2 * MASK_MARGIN + 1), "same").astype(bool)
        assert max_diff(frame[:, kept], source[:, kept]) <= 1, f"frame {index} changed under the black mask"
        assert np.abs(frame[:, dreamed].astype(int) - source[:, dreamed]).mean() > 1, \
            f"frame {index} was not dreamed under the white mask"


def test_mask_video_with_too_few_frames_names_the_mask(cli, clip, tmp_path, tiny_args, snapshot):
    mask = write_mask_video(tmp_path / "short_mask.mp4", 5)
    before = snapshot(tmp_path)
    line = cli(clip, "-o", f"{tmp_path}/out/", "--mask", mask, *tiny_args).assert_user_error(str(mask))
    assert "5 frames" in line and str(CLIP_FRAMES) in line
    assert snapshot(tmp_path) == before  # refused before any work


def test_mask_video_with_the_same_frame_count_works(cli, clip, tmp_path, tiny_args, facts):
    """Mask frame i shapes output frame i: the masks alternate halves, so a mask one frame off shows."""
    mask = write_mask_video(tmp_path / "mask.mp4", CLIP_FRAMES, alternating_mask)
    result = cli(clip, "-o", f"{tmp_path}/out/", "--mask", mask, "--end", "6f", *tiny_args, "--step-size", "4")
    assert result.code == 0, result.err
    dreamed = facts.png_frames(tmp_path / "out")
    assert len(dreamed) == 6
    assert_dreamed_where_white(dreamed, source_frames(clip)[:6], [alternating_mask(i) for i in range(6)])


def test_mask_video_with_start_begins_at_the_same_frame(cli, clip, tmp_path, tiny_args, facts):
    """--start 7f takes mask frames 7, 8, ... for source frames 7, 8, ... (odd: a mask read from 0 shows)."""
    mask = write_mask_video(tmp_path / "mask.mp4", CLIP_FRAMES, alternating_mask)
    result = cli(clip, "-o", f"{tmp_path}/out/", "--mask", mask, "--start", "7f", "--end", "11f", *tiny_args,
                 "--step-size", "4")
    assert result.code == 0, result.err
    dreamed = facts.png_frames(tmp_path / "out")
    assert len(dreamed) == 4
    assert_dreamed_where_white(dreamed, source_frames(clip)[7:11], [alternating_mask(i) for i in range(7, 11)])


@pytest.mark.parametrize("kind", ["missing", "text", "text_video"])
@pytest.mark.parametrize("target", ["still", "video"])
def test_bad_mask_files_name_the_file(cli, project, clip, tmp_path, tiny_args, snapshot, kind, target):
    mask = tmp_path / {"missing": "nowhere.png", "text": "mask.png", "text_video": "mask.mp4"}[kind]
    if kind != "missing":
        mask.write_text("not a picture\n")
    source = project / "picture.png" if target == "still" else clip
    output = project / "out.png" if target == "still" else f"{tmp_path}/out/"
    before = snapshot(tmp_path)
    cli(source, "-o", output, "--mask", mask, *tiny_args).assert_user_error(str(mask))
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------------------------------ 3. render files


def read_render_file(path) -> dict:
    return json.loads(Path(path).read_text())


def test_still_render_file_reproduces_the_png_and_survives_a_move(cli, project, tmp_path, tiny_args):
    output = project / "out.png"
    flags = ["--guide", project / "guide.png", "--mask", project / "mask.png", "--seed", "3", "--tv",
             "0:(0.5), 9:(1)"]
    result = cli(project / "picture.png", "-o", output, *tiny_args, *flags)
    assert result.code == 0, result.err
    render_file = project / ("out.png" + RENDER_SUFFIX)
    document = read_render_file(render_file)
    # Paths are stored relative to the render file.
    assert document["command"] == "still"
    assert (document["input"], document["output"]) == ("picture.png", "out.png")
    assert document["options"]["mask"] == "mask.png"
    assert [term.get("image") for term in document["options"]["objective"]] == [None, "guide.png", None]
    assert document["options"]["seed"] == 3

    again = tmp_path / "again.png"
    result = cli("render", render_file, "-o", again, "-q")
    assert result.code == 0, result.err
    assert again.read_bytes() == output.read_bytes()
    assert sorted(p.name for p in project.iterdir()) == [
        "guide.png", "mask.png", "out.png", "out.png" + RENDER_SUFFIX, "picture.png"]  # -o left them alone

    moved = shutil.move(str(project), str(tmp_path / "moved"))
    original = Path(moved, "out.png").read_bytes()
    Path(moved, "out.png").unlink()
    result = cli("render", Path(moved, "out.png" + RENDER_SUFFIX), "-q")
    assert result.code == 0, result.err
    assert Path(moved, "out.png").read_bytes() == original


def test_a_model_file_is_found_beside_the_render_file(cli, project, tmp_path, tiny_args, tiny_model_file,
                                                     monkeypatch):
    (project / "models").mkdir()
    shutil.copy(tiny_model_file, project / "models" / "mine.keras")
    monkeypatch.chdir(project)  # the artist names the model relative to where they work
    flags = [a for a in tiny_args if a != tiny_model_file and a != "--model"]
    assert cli("picture.png", "-o", "out.png", "--model", "models/mine.keras", *flags).code == 0
    assert read_render_file(project / ("out.png" + RENDER_SUFFIX))["options"]["model"] == "models/mine.keras"

    moved = Path(shutil.move(str(project), str(tmp_path / "moved")))
    monkeypatch.chdir(tmp_path)
    result = cli("render", moved / ("out.png" + RENDER_SUFFIX), "-o", tmp_path / "again.png", "-q")
    assert result.code == 0, result.err
    assert (tmp_path / "again.png").read_bytes() == (moved / "out.png").read_bytes()


def test_video_render_file_reproduces_every_png_frame(cli, clip, tiny_args):
    folder = clip.parent
    output = f"{folder}/frames/"
    result = cli(clip, "-o", output, *tiny_args, "--end", "6f", "--blend", "0:(0.5), 5:(0.9)")
    assert result.code == 0, result.err
    render_file = folder / ("frames" + RENDER_SUFFIX)
    document = read_render_file(render_file)
    assert document["command"] == "video" and document["input"] == "walk.mp4"

    result = cli("render", render_file, "-o", f"{folder}/again/", "-q")
    assert result.code == 0, result.err
    first = sorted((folder / "frames").glob("frame_*.png"))
    second = sorted((folder / "again").glob("frame_*.png"))
    assert [p.name for p in first] == [p.name for p in second] == [f"frame_{i:06d}.png" for i in range(1, 7)]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), f"{b.name} differs"

    # Without -o, into a moved project whose frames folder is gone: the file still says "a folder".
    moved = Path(shutil.move(str(folder), str(folder.parent / "moved")))
    shutil.rmtree(moved / "frames")
    result = cli("render", moved / ("frames" + RENDER_SUFFIX), "-q")
    assert result.code == 0, result.err
    third = sorted((moved / "frames").glob("frame_*.png"))
    assert [p.read_bytes() for p in third] == [p.read_bytes() for p in sorted((moved / "again").glob("*.png"))]


def test_issue_9_options_are_recorded_and_reproduced(cli, clip, tiny_args):
    """The step shapes and the carried-frame options reach the render file and render the same frames again."""
    folder = clip.parent
    flags = ["--normalize", "lap", "--no-decorrelate", "--range-limit", "clip", "--anchor", "0.25",
             "--colour-match", "0.5", "--carried-octaves", "2", "--steady", "0.5"]
    result = cli(clip, "-o", f"{folder}/frames/", *tiny_args, "--octaves", "2", "--end", "4f", *flags)
    assert result.code == 0, result.err
    document = read_render_file(folder / ("frames" + RENDER_SUFFIX))
    options = document["options"]
    assert {k: options[k] for k in ("normalize", "decorrelate", "range_limit", "anchor", "colour_match",
                                    "carried_octaves", "steady")} == dict(normalize="lap", decorrelate=False,
                                                                          range_limit="clip", anchor=0.25,
                                                                          colour_match=0.5, carried_octaves=2,
                                                                          steady=0.5)
    result = cli("render", folder / ("frames" + RENDER_SUFFIX), "-o", f"{folder}/again/", "-q")
    assert result.code == 0, result.err
    first = sorted((folder / "frames").glob("frame_*.png"))
    assert len(first) == 4
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in sorted((folder / "again").glob("frame_*.png"))]
    # and the settings make a difference: the defaults give other frames
    assert cli(clip, "-o", f"{folder}/plain/", *tiny_args, "--octaves", "2", "--end", "4f").code == 0
    assert first[-1].read_bytes() != sorted((folder / "plain").glob("frame_*.png"))[-1].read_bytes()


def test_zoom_render_file_reproduces_the_gif_frames(cli, project, tmp_path, tiny_args, facts):
    output = project / "zoom.gif"
    result = cli("zoom", project / "picture.png", "-o", output, "--frames", "4", "--zoom", "0:(1.05), 3:(1.1)",
                 "--angle", "2", *tiny_args)
    assert result.code == 0, result.err
    render_file = project / ("zoom.gif" + RENDER_SUFFIX)
    assert read_render_file(render_file)["command"] == "zoom"

    moved = Path(shutil.move(str(project), str(tmp_path / "moved")))
    result = cli("render", moved / ("zoom.gif" + RENDER_SUFFIX), "-o", tmp_path / "again.gif", "-q")
    assert result.code == 0, result.err
    first, second = facts.decoded_frames(moved / "zoom.gif"), facts.decoded_frames(tmp_path / "again.gif")
    assert len(first) == len(second) == 4
    for index, (a, b) in enumerate(zip(first, second)):
        assert np.array_equal(a, b), f"frame {index} differs"


def test_noise_zoom_without_input_has_no_input_path(cli, tmp_path, tiny_args, facts):
    output = tmp_path / "noise.gif"
    assert cli("zoom", "-o", output, "--frames", "2", "--size", "48x40", *tiny_args).code == 0
    document = read_render_file(tmp_path / ("noise.gif" + RENDER_SUFFIX))
    assert document["input"] is None and document["options"]["size"] == "48x40"
    assert cli("render", tmp_path / ("noise.gif" + RENDER_SUFFIX), "-o", tmp_path / "again.gif").code == 0
    first, second = facts.decoded_frames(output), facts.decoded_frames(tmp_path / "again.gif")
    assert len(first) == len(second) == 2
    for a, b in zip(first, second):
        assert np.array_equal(a, b)


def test_zoom_with_a_colour_reference_renders_again_after_the_project_moved(cli, project, tmp_path, tiny_args,
                                                                           facts):
    write_png(project / "palette.png", np.clip(picture(seed=7).astype(int) + 100, 0, 255))
    result = cli("zoom", project / "picture.png", "-o", f"{project}/frames/", "--frames", "3",
                 "--colour-reference", project / "palette.png", *tiny_args)
    assert result.code == 0, result.err
    render_file = project / ("frames" + RENDER_SUFFIX)
    assert read_render_file(render_file)["options"]["colour_reference"] == "palette.png"
    first = facts.png_frames(project / "frames")
    assert len(first) == 3
    # The reference matters: the frames take its lightness, far from the picture's own.
    assert first[0].mean() > read_png(project / "picture.png").mean() + 40

    moved = Path(shutil.move(str(project), str(tmp_path / "moved")))
    shutil.rmtree(moved / "frames")
    result = cli("render", moved / ("frames" + RENDER_SUFFIX), "-q")
    assert result.code == 0, result.err
    second = facts.png_frames(moved / "frames")
    assert len(second) == 3
    for index, (a, b) in enumerate(zip(first, second)):
        assert np.array_equal(a, b), f"frame {index} differs"


# ------------------------------------------------------------------------------------------ 4. bad render files


@pytest.fixture(scope="module")
def render_document(tmp_path_factory, tiny_model_file):
    """A valid still render file's JSON, made with the tiny model."""
    from dreamvideo.api import dream_image

    folder = tmp_path_factory.mktemp("render_document")
    write_png(folder / "picture.png", picture())
    dream_image(folder / "picture.png", folder / "out.png", model=tiny_model_file, layer=["conv3"], octaves=1,
                steps=1, quiet=True)
    return read_render_file(folder / ("out.png" + RENDER_SUFFIX))


def edited(document, change):
    document = json.loads(json.dumps(document))
    change(document)
    return json.dumps(document)


@pytest.mark.parametrize("case, text, needles", [
    ("unknown top-level key", lambda d: edited(d, lambda x: x.update(colour=1)), ["'colour'"]),
    ("unknown option key", lambda d: edited(d, lambda x: x["options"].update(colour=1)), ["options.colour"]),
    ("wrong type", lambda d: edited(d, lambda x: x["options"].update(steps=[1])), ["options.steps"]),
    ("wrong type of a flag", lambda d: edited(d, lambda x: x["options"].update(precision=False)),
     ["options.precision"]),
    ("newer format", lambda d: edited(d, lambda x: x.update(format=99)), ["format", "99", "upgrade"]),
    ("format not a number", lambda d: edited(d, lambda x: x.update(format="1")), ["format"]),
    ("unknown command", lambda d: edited(d, lambda x: x.update(command="paint")), ["command", "paint"]),
    ("no output", lambda d: edited(d, lambda x: x.pop("output")), ["output"]),
    ("objective not a list", lambda d: edited(d, lambda x: x["options"].update(objective="conv3")),
     ["options.objective"]),
    ("a seed that is not a number", lambda d: edited(d, lambda x: x["options"].update(seed="x")), ["seed", "'x'"]),
    ("unknown term kind", lambda d: edited(d, lambda x: x["options"]["objective"][0].update(kind="paint")),
     ["options.objective", "paint"]),
    ("term image not a path", lambda d: edited(d, lambda x: x["options"]["objective"].append(
        {"kind": "guide", "weight": 1, "image": 3})), ["options.objective", "image"]),
    ("term layers not a list", lambda d: edited(d, lambda x: x["options"]["objective"][0].update(layers=5)),
     ["options.objective", "layers"]),
    ("term weight a list", lambda d: edited(d, lambda x: x["options"]["objective"][0].update(weight=[1])),
     ["options.objective", "weight"]),
    ("invalid JSON", lambda d: json.dumps(d)[:-5], ["invalid JSON"]),
    ("not an object", lambda d: "[1, 2]", ["JSON object"]),
])
def test_bad_render_files_are_one_line_errors_naming_the_file_and_key(cli, tmp_path, render_document, case,
                                                                     text, needles):
    path = tmp_path / ("bad.png" + RENDER_SUFFIX)
    path.write_text(text(render_document))
    before = published(tmp_path)
    cli("render", path).assert_user_error(str(path), *needles)
    assert published(tmp_path) == before


def test_a_guide_image_missing_beside_the_render_file_is_named(cli, tmp_path, render_document, tiny_model_file):
    write_png(tmp_path / "picture.png", picture())

    def change(document):
        document["options"]["model"] = tiny_model_file
        document["options"]["objective"].append({"kind": "guide", "weight": 1, "layers": ["conv3"],
                                                 "image": "gone.png"})

    path = tmp_path / ("out.png" + RENDER_SUFFIX)
    path.write_text(edited(render_document, change))
    cli("render", path).assert_user_error(str(tmp_path / "gone.png"), "not found")
    assert published(tmp_path) == ["picture.png"]


def test_missing_render_file(cli, tmp_path):
    path = tmp_path / ("gone.png" + RENDER_SUFFIX)
    cli("render", path).assert_user_error(str(path), "not found")


# ------------------------------------------------------------------------------------------ 5. malformed weights


@pytest.mark.parametrize("flags, needles", [
    (["--layer", "block4_conv3:0:(1"], ["block4_conv3", "character 3", "0:(1"]),
    (["--guide", COFFEE, "--guide-weight", "0:(x"], ["guide", "character 3", "0:(x"]),
    (["--style", COFFEE, "--style-weight", "0:(1), 9:"], ["style", "character", "0:(1), 9:"]),
    (["--tv", "0:(0.1), 5:(0.2"], ["tv", "character", "0:(0.1), 5:(0.2"]),
    # A weight is checked even when its image is missing from the command line: a typo is still a typo.
    (["--guide-weight", "0:(x"], ["guide", "character 3", "0:(x"]),
])
def test_malformed_weight_schedules_name_the_position(cli, tmp_path, flags, needles):
    output = tmp_path / "out.png"
    cli(CAT, "-o", output, "--max-side", "48", "--steps", "1", "--octaves", "1", "-q",
        *flags).assert_user_error(*needles)
    assert not output.exists()


# ------------------------------------------------------------------------------------------ 6. preview


def test_still_preview_is_at_most_256_px_and_named_preview(cli, tmp_path, tiny_args):
    source = write_png(tmp_path / "big.png", picture(300, 320))
    normal = tmp_path / "big_dream.png"
    normal.write_bytes(b"an earlier render")
    result = cli(source, "-o", normal, "--preview", *tiny_args)
    assert result.code == 0, result.err
    preview = tmp_path / "big_dream_preview.png"
    assert read_png(preview).shape == (240, 256, 3)
    assert normal.read_bytes() == b"an earlier render"
    assert published(tmp_path) == ["big.png", "big_dream.png", "big_dream_preview.png"]


def test_zoom_and_video_previews_keep_the_normal_names_free(cli, clip, tmp_path, tiny_args, facts):
    result = cli("zoom", "-o", tmp_path / "z.gif", "--frames", "2", "--size", "400x200", "--preview", *tiny_args)
    assert result.code == 0, result.err
    assert facts.decoded_frames(tmp_path / "z_preview.gif")[0].shape == (128, 256, 3)
    result = cli(clip, "-o", f"{tmp_path}/frames/", "--preview", "--end", "3f", *tiny_args)
    assert result.code == 0, result.err
    assert len(facts.png_frames(tmp_path / "frames_preview")) == 3
    assert published(tmp_path) == ["clip", "frames_preview", "z_preview.gif"]


def test_preview_takes_a_third_of_the_steps_at_most_3_octaves_and_256_px():
    from dreamvideo.options import DreamOptions, preview_options

    assert preview_options({"steps": 9, "octaves": 5, "max_side": 1000}) == dict(steps=3, octaves=3, max_side=256)
    assert preview_options({"steps": 2, "octaves": 2, "max_side": 100}) == dict(steps=1, octaves=2, max_side=100)
    assert preview_options({"steps": 7, "octaves": 4})["steps"] == 2
    assert preview_options({"steps": "0:(12), 9:(3)"})["steps"] == 4  # keyframes: a third of the first frame's
    # Nothing given: a third of the default steps (6 -> 2), not of some other number.
    assert preview_options({}) == preview_options({"steps": DreamOptions.steps, "octaves": DreamOptions.octaves})
    assert preview_options({})["steps"] == round(DreamOptions.steps / 3)
    # A video: its first 5 seconds, unless a start or an end is given.
    assert preview_options({"steps": 3}, video=True)["end"] == "5s"
    assert preview_options({"start": "2f"}, video=True).get("end") is None
    assert preview_options({"end": "40f"}, video=True)["end"] == "40f"
    assert "end" not in preview_options({"steps": 3})  # a zoom or a still has no end


def test_api_preview_without_steps_dreams_a_third_of_the_default_steps(project, tiny_model_file, monkeypatch):
    from dreamvideo import api
    from dreamvideo.options import DreamOptions

    asked = record_kernel_dreams(monkeypatch)
    api.dream_image(project / "picture.png", project / "out.png", preview=True, model=tiny_model_file,
                    layer=["conv3"], quiet=True)
    assert asked == [(round(DreamOptions.steps / 3), 3)]
    assert (project / "out_preview.png").is_file()


def test_video_preview_renders_the_first_5_seconds_with_a_third_of_the_steps(cli, tmp_path, tiny_args,
                                                                           monkeypatch, facts):
    from conftest import moving_frames
    from dreamvideo import media

    slow = tmp_path / "slow.mp4"  # 12 frames at 2 fps: 6 seconds
    with media.open_sink(slow, fps=2, quality=10) as sink:
        for frame in moving_frames(12):
            sink.write(frame)
    asked = record_kernel_dreams(monkeypatch)
    result = cli(slow, "-o", f"{tmp_path}/frames/", "--preview", *tiny_args, "--steps", "9", "--octaves", "5")
    assert result.code == 0, result.err
    assert len(facts.png_frames(tmp_path / "frames_preview")) == 10
    assert asked[0] == (3, 3)  # the first frame: a third of 9 steps, 3 of 5 octaves
    assert {octaves for _, octaves in asked} == {3} and len(asked) == 10


def test_render_preview_of_a_render_file(cli, project, tiny_args):
    source = write_png(project / "big.png", picture(300, 400))
    assert cli(source, "-o", project / "big_dream.png", *tiny_args).code == 0
    full = (project / "big_dream.png").read_bytes()
    result = cli("render", project / ("big_dream.png" + RENDER_SUFFIX), "--preview", "-q")
    assert result.code == 0, result.err
    assert read_png(project / "big_dream_preview.png").shape == (192, 256, 3)
    assert (project / "big_dream.png").read_bytes() == full


# ------------------------------------------------------------------------------------------ 7. API parity


def api_keywords(function, *option_classes) -> set:
    """Keyword names ``function`` accepts: the option dataclasses' fields and its keyword-only parameters."""
    names = {f.name for cls in option_classes for f in fields(cls) if f.init}
    return names | {name for name, parameter in inspect.signature(function).parameters.items()
                    if parameter.kind is parameter.KEYWORD_ONLY}


def cli_destinations(parser, positional=("input", "output")) -> set:
    return {action.dest for action in parser._actions} - {"help", *positional}


def test_cli_flags_and_api_keywords_match_both_ways():
    from dreamvideo.api import dream_image
    from dreamvideo.options import DreamOptions
    from dreamvideo.cli.dream import build_main_parser
    from dreamvideo.cli.zoom import build_zoom_parser
    from dreamvideo.options import FarmOptions
    from dreamvideo.api import render_video
    from dreamvideo.options import VideoOptions
    from dreamvideo.api import render_zoom
    from dreamvideo.options import ZoomOptions

    for parser, function, options in ((build_main_parser(), render_video, (VideoOptions, FarmOptions)),
                                      (build_zoom_parser(), render_zoom, (ZoomOptions,))):
        flags, keywords = cli_destinations(parser), api_keywords(function, DreamOptions, *options)
        assert flags - keywords == set(), f"CLI flags of {parser.prog} with no {function.__name__} keyword"
        assert keywords - flags == set(), f"{function.__name__} keywords with no flag in {parser.prog}"
    # A still takes the dream flags of the main command; the video flags are refused for it.
    still = api_keywords(dream_image, DreamOptions, FarmOptions)
    assert still <= cli_destinations(build_main_parser())
    assert cli_destinations(build_main_parser()) - still == {f.name for f in fields(VideoOptions)}


def test_every_command_is_one_api_call_with_the_same_keywords():
    """Parity of every CLI command with its API call: each flag is a keyword of the call, each keyword a flag."""
    import dreamvideo as dv
    from dreamvideo import cli
    from dreamvideo.cli import audio, dream, gan as gan_cli, restore, studio as studio_cli, zoom
    from dreamvideo.gan import MorphOptions, TrainOptions, WalkOptions
    from dreamvideo.options import (AudioOptions, CarryOptions, DreamOptions, FarmOptions, RestoreOptions, VideoOptions,
                                    ZoomOptions)
    from dreamvideo.studio import server as studio_server

    def parameters(function, skip):
        return {name for name, p in inspect.signature(function).parameters.items()
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and name not in skip}

    cases = [  # parser, API call, option classes its **options take, positional arguments
        (dream.build_main_parser(), dv.dream_files, (DreamOptions, VideoOptions, FarmOptions), ("inputs", "output")),
        (zoom.build_zoom_parser(), dv.render_zoom, (DreamOptions, ZoomOptions), ("input", "output")),
        (restore.build_restore_parser(), dv.restore, (RestoreOptions,), ("input", "output")),
        (dream.build_render_parser(), dv.render_file, (), ("path", "output")),
        (dream.build_measure_parser(), dv.measure, (DreamOptions,), ("images",)),
        (dream.build_models_parser(), dv.list_models, (), ()),
        (audio.build_audio_parser(), dv.analyse_audio, (AudioOptions,), ("input",)),
        (gan_cli.build_gan_parser("train"), dv.gan.train, (TrainOptions,), ("image_dir", "output")),
        (gan_cli.build_gan_parser("walk"), dv.gan.walk, (WalkOptions, CarryOptions, DreamOptions),
         ("gan_file", "output")),
        (gan_cli.build_gan_parser("morph"), dv.gan.morph, (MorphOptions, CarryOptions, DreamOptions),
         ("gan_file", "face", "other", "output")),
        (studio_cli.build_studio_parser(), studio_server.start, (), ()),  # the web app, not a render
    ]
    commands = {"models", "zoom", "render", "measure", "audio", "gan", "studio", "restore"}
    assert set(cli.COMMANDS) == commands  # a new command needs a row here
    for parser, function, classes, positional in cases:
        flags = cli_destinations(parser, positional=("input", "output", "file", "images", "image_dir", "gan_file",
                                                     "face", "other"))
        keywords = api_keywords(function, *classes) | parameters(function, positional)
        if function is dv.measure:
            keywords -= {"mask"}  # a mask means nothing to a measurement: measure refuses one
        assert flags == keywords, f"{parser.prog}: flags without keyword {flags - keywords}, " \
                                  f"keywords without flag {keywords - flags}"
    # the compact gan command trains, then walks
    compact = cli_destinations(gan_cli.build_gan_parser(None), positional=("image_dir", "output_file"))
    assert compact == {f.name for cls in (TrainOptions, WalkOptions) for f in fields(cls)} - {"dream", "restart",
                                                                                             "codec"}


def test_every_api_keyword_has_a_flag_of_the_same_name():
    from dreamvideo.cli.dream import build_main_parser
    from dreamvideo.cli.zoom import build_zoom_parser

    for parser in (build_main_parser(), build_zoom_parser()):
        for action in parser._actions:
            if action.dest in ("help", "input", "output") or not action.option_strings:
                continue
            assert f"--{action.dest.replace('_', '-')}" in action.option_strings, action.option_strings


def test_measure_prints_closeness_with_a_known_answer(cli, tmp_path, random_image, tiny_model_file):
    import cv2

    guide_path, other_path = tmp_path / "guide.png", tmp_path / "other.png"
    cv2.imwrite(str(guide_path), random_image(48, 64, seed=1))
    cv2.imwrite(str(other_path), random_image(48, 64, seed=2))
    result = cli("measure", guide_path, other_path, "--guide", guide_path, "--model", tiny_model_file,
                 "--layer", "conv3", "--guide-layer", "conv3")
    assert result.code == 0, result.err
    values = {line.split(":")[0]: float(line.rsplit(" ", 1)[1]) for line in result.out.splitlines()}
    # Every feature of the guide itself finds its own twin: cosine similarity 1.
    assert values[str(guide_path)] == pytest.approx(1.0, abs=1e-4)
    assert values[str(other_path)] < 0.999


def test_measure_without_guide_or_style_is_a_user_error(cli, tmp_path, random_image, tiny_model_file):
    import cv2

    image = tmp_path / "a.png"
    cv2.imwrite(str(image), random_image(32, 32))
    result = cli("measure", image, "--model", tiny_model_file, "--layer", "conv3")
    assert result.code == 2 and "--guide or a --style" in result.err


def test_the_design_notes_example_runs_with_objective(tmp_path):
    """STYLE.md's ten-line script (objective=, keyframed zoom and angle, loop), shrunk to 4 frames at 48 px."""
    import dreamvideo as dv

    out = tmp_path / "zoom.gif"
    dv.render_zoom(
        str(SAMPLES / "coffee.png"), str(out),
        frames=4, fps=24, max_side=48, steps=1, octaves=1, quiet=True, model="vgg16",  # the notes' layers are VGG16's
        objective=dv.layers("block4_conv3", "block3_conv3:0.5"),
        zoom="0:(1.02), 2:(1.05), 3:(1.02)",
        angle="0:(0), 3:(30)",
        loop=True,
    )
    recorded = json.loads((tmp_path / ("zoom.gif" + RENDER_SUFFIX)).read_text())["options"]
    assert [term["layers"] for term in recorded["objective"]] == [["block4_conv3"], ["block3_conv3"]]
    assert [term["weight"] for term in recorded["objective"]] == [1.0, 0.5]
    assert recorded["loop"] is True and len(list(dv.media.read_frames(out, fps=24))) == 4
    with pytest.raises(dv.DreamError, match="not both"):
        dv.render_zoom(str(SAMPLES / "coffee.png"), str(tmp_path / "z.gif"), objective=dv.layers("block4_conv3"),
                       layer=["block3_conv3"], model="vgg16")


def test_unknown_keywords_are_refused_by_every_call(tmp_path):
    """One "unknown option" error, whichever call gets the keyword, before any work."""
    import os

    import dreamvideo as dv

    picture = SAMPLES / "coffee.png"
    calls = [lambda: dv.dream_array(np.zeros((8, 8, 3), np.uint8), steps=1, octaves=1, colour_bleed=1),
             lambda: dv.dream_image(picture, tmp_path / "a.png", colour_bleed=1),
             lambda: dv.render_video(SAMPLES / "coffee_pan.mp4", tmp_path / "a.mp4", colour_bleed=1),
             lambda: dv.render_zoom(picture, tmp_path / "a.gif", colour_bleed=1),
             lambda: dv.dream_files([picture, SAMPLES / "coffee_pan.mp4"], colour_bleed=1),
             lambda: dv.measure([picture], guide=str(picture), colour_bleed=1),
             lambda: dv.gan.train(tmp_path, tmp_path / "m.gan", colour_bleed=1)]
    for call in calls:
        with pytest.raises(dv.DreamError, match="unknown option 'colour_bleed'"):
            call()
    assert sorted(os.listdir(tmp_path)) == []
