"""Render files are untrusted data: a seeded fuzz of the samples' render files and of option values.

Every case must end in a clean success or a one-line DreamError (exit 2) within seconds, and write nothing
outside the render file's folder. The dream kernel is replaced by the identity (no TensorFlow): what is
tested is everything around it (loading, checks, paths, outputs, sinks, work folders).
"""

import contextlib
import io
import json
import os
import random
import signal
import shutil
from pathlib import Path

import numpy as np
import pytest

from dreamvideo import cli
from dreamvideo.errors import DreamError

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SEED = 21
LOADER_CASES = 400
RENDER_CASES = 60
OPTION_CASES = 60
CASE_SECONDS = 20


class _FakeDreamer:
    """Stands in for the Dreamer: dreams nothing, so a case costs milliseconds."""

    def __init__(self, options):
        self.objective = options.objective

    def dream(self, image, **settings):
        return np.asarray(image, np.float32)

    def closeness(self, image):
        return {}


@pytest.fixture()
def no_kernel(monkeypatch):
    import importlib

    # Import them all before patching any: a module imported after dreaming was patched would keep the fake.
    modules = [importlib.import_module(f"dreamvideo.{name}") for name in ("dreaming", "still", "video", "zoom", "api",
                                                                           "render")]
    for module in modules:
        if hasattr(module, "make_dreamer"):
            monkeypatch.setattr(module, "make_dreamer", _FakeDreamer)


@contextlib.contextmanager
def deadline(seconds, case):
    def expire(*_):
        raise TimeoutError(f"case {case} ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else None
            for p in folder.rglob("*")}


@pytest.fixture()
def world(tmp_path):
    """tmp/project: the samples' render files with tiny inputs beside them; tmp/outside: must stay as it is;
    tmp/cwd: the working folder of every case (empty, must stay so)."""
    from dreamvideo import media

    project, outside, cwd = tmp_path / "project", tmp_path / "outside", tmp_path / "cwd"
    for folder in (project, outside, cwd):
        folder.mkdir()
    picture = np.ascontiguousarray(media.read_image(SAMPLES / "coffee.png")[::8, ::8][:48, :64])
    media.write_image(project / "coffee.png", picture)
    media.write_image(outside / "holiday.png", picture // 2)
    with media.open_sink(project / "coffee_pan.mp4", fps=12) as sink:
        for k in range(4):
            sink.write(np.ascontiguousarray(np.roll(picture, 2 * k, axis=1)))
    bases = {}
    for path in sorted(SAMPLES.glob("*.dreamvideo.json")):
        document = json.loads(path.read_text())
        options = document["options"]
        options.update(steps=1, octaves=1, max_side=None)
        if document["command"] == "zoom":
            options.update(frames=3, overlap=None, loop=False)
        if document["command"] == "video":
            options.update(end="3f")
        bases[document["command"]] = document
    return {"project": project, "outside": outside, "cwd": cwd, "bases": bases, "root": tmp_path}


# -- mutations -------------------------------------------------------------------------------------

HOSTILE_VALUES = [None, True, False, -1, 0, 1, 2, 0.5, -0.5, 1e308, -1e308, 5e-324, 10**30, -(10**30), 2**63, 2**64,
                  "", "x", "nan", "inf", "-inf", "1e308", "9" * 400, "0:(1), " + "9" * 400 + ":(2)", "0:(1e19)",
                  "0:(t**t**t)", [], [1], {}, {"a": 1}, "a" * 10_000, "../outside/holiday.png", "/etc/passwd",
                  "block4_conv3/5-1000000000", "100000x100000", "0/0", "1/0", "30000/1001"]


def path_values(world) -> list:
    outside = world["outside"]
    return ["../outside/holiday.png", "../outside/new.png", str(outside / "abs.png"), "../outside/frames/",
            "link/escape.png", "coffee.png", "coffee_pan.mp4", "./coffee.png", "sub/../coffee.png",
            "nonexistent.png", "", ".", "..", "/", "/dev/zero", "/dev/urandom", "x" * 300 + ".png",
            "out.png", "out.gif", "frames/", "out.mp4", "out.jpg", "r.unknown"]


def nested(depth: int) -> str:
    """A marker that write_case turns into ``depth`` nested arrays (json.dumps would recurse)."""
    return f"__nested_{depth}__"


def mutate(document: dict, rng: random.Random, world) -> dict:
    document = json.loads(json.dumps(document))
    for _ in range(rng.choice([1, 1, 2, 3])):
        where = rng.random()
        options = document.get("options") if isinstance(document.get("options"), dict) else None
        if where < 0.45 and options:
            key = rng.choice(sorted(options))
            options[key] = rng.choice(HOSTILE_VALUES + path_values(world))
        elif where < 0.6:
            key = rng.choice(["input", "output"])
            document[key] = rng.choice(path_values(world) + [None, 3, [], {}])
        elif where < 0.7 and options:
            objective = options.get("objective")
            if isinstance(objective, list) and objective and isinstance(objective[0], dict):
                term = objective[0]
                term[rng.choice(["kind", "weight", "layers", "channels", "image"])] = rng.choice(
                    HOSTILE_VALUES + [["block4_conv3"], [10**9], ["nope"], "../outside/holiday.png"])
            else:
                options["objective"] = rng.choice(HOSTILE_VALUES)
        elif where < 0.78:
            key = rng.choice(["format", "command", "dreamvideo", "options", "extra"])
            document[key] = rng.choice(HOSTILE_VALUES + ["still", "video", "zoom", 1, 2, 99])
        elif where < 0.86:
            target = options if options and rng.random() < 0.7 else document
            target[rng.choice(sorted(target))] = nested(rng.choice([10, 40, 1000, 50_000]))
        elif where < 0.93 and options:
            options[rng.choice(sorted(options))] = rng.choice(["x" * 10**6, list(range(10**5)), "0:(1), " * 10**5])
        else:
            document.pop(rng.choice(sorted(document)), None)
    return document


def write_case(world, document, number: int) -> Path:
    project = world["project"]
    path = project / f"case{number:04d}.dreamvideo.json"
    text = json.dumps(document)
    for depth in (10, 40, 1000, 50_000):
        text = text.replace(f'"{nested(depth)}"', "[" * depth + "1" + "]" * depth)
    path.write_text(text)
    link = project / "link"
    if not link.exists():
        link.symlink_to(world["outside"], target_is_directory=True)
    return path


def run(argv, cwd) -> tuple[int, str]:
    err = io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(list(argv))
    finally:
        os.chdir(old)
    return code, err.getvalue()


def check_clean(code, stderr, case):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code in (0, 2), f"case {case}: exit {code}"
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("dreamvideo: error: "), f"case {case}: {stderr!r}"[:500]


def check_untouched(world, before_outside, case):
    assert snapshot(world["outside"]) == before_outside, f"case {case} wrote outside the render file's folder"
    assert not any(world["cwd"].iterdir()), f"case {case} wrote into the working folder"
    assert {p.name for p in world["root"].iterdir()} == {"project", "outside", "cwd"}, f"case {case}"


# -- the fuzz --------------------------------------------------------------------------------------


def test_loader_fuzz_ends_in_options_or_one_dream_error(world):
    """read_render_file on mutated render files: options, or a DreamError of one line; nothing else."""
    from dreamvideo import renderfile

    rng = random.Random(SEED)
    before = snapshot(world["outside"])
    commands = sorted(world["bases"])
    for case in range(LOADER_CASES):
        document = mutate(world["bases"][commands[case % len(commands)]], rng, world)
        path = write_case(world, document, case)
        with deadline(CASE_SECONDS, case):
            try:
                renderfile.read_render_file(path)
            except DreamError as exc:
                assert "\n" not in str(exc) and len(str(exc)) < 700, f"case {case}: {exc}"[:600]
        check_untouched(world, before, case)


def test_render_fuzz_succeeds_or_fails_cleanly_inside_its_folder(world, no_kernel):
    """dreamvideo render on mutated render files (kernel replaced): exit 0, or exit 2 with one line; no write
    outside the render file's folder, no input changed."""
    rng = random.Random(SEED + 1)
    project = world["project"]
    inputs = {name: (project / name).read_bytes() for name in ("coffee.png", "coffee_pan.mp4")}
    before = snapshot(world["outside"])
    commands = sorted(world["bases"])
    outcomes = {0: 0, 2: 0}
    for case in range(RENDER_CASES):
        document = mutate(world["bases"][commands[case % len(commands)]], rng, world)
        path = write_case(world, document, case)
        with deadline(CASE_SECONDS, case):
            code, stderr = run(["render", str(path), "-q"], world["cwd"])
        check_clean(code, stderr, case)
        outcomes[code] += 1
        check_untouched(world, before, case)
        for name, data in inputs.items():
            assert (project / name).read_bytes() == data, f"case {case} changed the input {name}"
    assert outcomes[2] > 0  # the mutations do reach the checks


def test_unmutated_render_files_render(world, no_kernel):
    """The base cases succeed: the fuzz's errors come from the mutations, not from the harness."""
    for number, command in enumerate(sorted(world["bases"])):
        path = write_case(world, world["bases"][command], 9000 + number)
        code, stderr = run(["render", str(path), "-q"], world["cwd"])
        assert code == 0, f"{command}: {stderr}"


OPTION_FLAGS = {
    "still": ["--steps", "--octaves", "--octave-scale", "--step-size", "--seed", "--max-side", "--tile-size", "--tv",
              "--layer", "--guide-weight", "--style-weight", "--precision", "--normalize", "--mask", "--guide",
              "--model", "--workers", "-o"],
    "video": ["--blend", "--carried-steps", "--carried-octaves", "--anchor", "--colour-match", "--steady", "--fps",
              "--start", "--end", "--quality", "--codec", "--flow-preset", "--segment", "--warmup", "--overlap"],
    "zoom": ["--frames", "--fps", "--size", "--zoom", "--angle", "--translate-x", "--center-x", "--carried-steps",
             "--colour-match", "--overlap", "--interpolation", "--quality", "--colour-reference"],
}
OPTION_VALUES = ["-1", "0", "1e308", "-1e308", "1e-308", "nan", "inf", "9" * 20, "9" * 400, "0:(1e19)",
                 "0:(1), " + "9" * 4400 + ":(2)", "x", "", "block4_conv3/5-1000000000", "block4_conv3/100000",
                 "100000x100000", "0x0", "1/0", "../outside/holiday.png", "/dev/zero", "0:(t**t**t)",
                 "0:(1/(t-1))", os.fsdecode(b"v\xff.png"), "x" * 300 + ".png"]


def test_option_value_fuzz(world, no_kernel):
    """Hostile values of the still, video and zoom flags: exit 0, or exit 2 with one line; nothing written
    outside the project folder (the commands run there)."""
    rng = random.Random(SEED + 2)
    project = world["project"]
    before = snapshot(world["outside"])
    for case in range(OPTION_CASES):
        command = rng.choice(sorted(OPTION_FLAGS))
        flag = rng.choice(OPTION_FLAGS["still"] + OPTION_FLAGS[command])
        value = rng.choice(OPTION_VALUES)
        if flag == "--workers" and value.lstrip("-").isdigit() and 0 < int(value) < 10**6:
            value = "0"  # a real farm is not what this test is about
        head = {"still": ["coffee.png"], "video": ["coffee_pan.mp4", "--end", "3f"],
                "zoom": ["zoom", "coffee.png", "--frames", "3"]}[command]
        argv = [*head, "--steps", "1", "--octaves", "1", "-q", flag, value]
        if flag != "-o":
            argv += ["-o", {"still": "o.png", "video": "o.gif", "zoom": "z.gif"}[command]]
        with deadline(CASE_SECONDS, case):
            code, stderr = run(argv, project)
        check_clean(code, stderr, f"{case} {argv}")
        assert snapshot(world["outside"]) == before, f"case {case} {argv} wrote outside"
        for leftover in project.glob(".*"):
            if leftover.name != "link":
                shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink()
