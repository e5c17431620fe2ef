"""Render files are untrusted data: a seeded fuzz of the samples' render files and of option values.

Every case must end in a clean success or a one-line DreamError (exit 2) within seconds, and write nothing
outside the render file's folder; a case holding a value beyond a limit of dreamvideo/limits.py (by a table
written from that module, not from the checks) must be refused, and each limit just past it is refused with
the limit named. The dream kernel is replaced by the identity (no TensorFlow): what is
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
RENDER_CASES = 200
OPTION_CASES = 200
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


# -- what the limits say must be refused ---------------------------------------------------------------


def _limit_table() -> dict:
    """Option name -> (least, most) allowed, written from dreamvideo.limits (and the README's 0..1 shares), not
    from the option declarations under test: a declaration that loses its bound is caught by the fuzz."""
    from dreamvideo import limits as L

    share = (0.0, 1.0)
    table = {name: (1, L.MAX_STEPS) for name in ("steps", "carried_steps", "prior_steps")}
    table.update({name: (1, L.MAX_OCTAVES) for name in ("octaves", "carried_octaves")})
    table.update({name: (1, L.MAX_SIDE) for name in ("max_side", "tile_size")})
    table.update({name: (-L.MAX_WEIGHT, L.MAX_WEIGHT) for name in ("guide_weight", "style_weight", "tv")})
    table.update({name: share for name in ("blend", "anchor", "colour_match", "steady")})
    table.update({name: (-L.MAX_TRANSLATE, L.MAX_TRANSLATE) for name in ("translate_x", "translate_y")})
    table.update({name: (-L.MAX_CENTER, L.MAX_CENTER) for name in ("center_x", "center_y")})
    table.update(octave_scale=(1.0, L.MAX_OCTAVE_SCALE), step_size=(0.0, L.MAX_STEP_SIZE), frames=(1, L.MAX_FRAMES),
                 workers=(1, L.MAX_WORKERS), seed=(0, L.MAX_SEED), fps=(L.MIN_FPS, L.MAX_FPS),
                 angle=(-L.MAX_ANGLE, L.MAX_ANGLE), quality=(0, 51))
    return table


def beyond_limits(key: str, value) -> str | None:
    """Why ``value`` for option ``key`` (a render-file key or a flag) must be refused by its limit; None when the
    table alone does not settle it (not a plain number, a keyframe string, an option without a limit)."""
    from fractions import Fraction

    bounds = _limit_table().get(key.lstrip("-").replace("-", "_"))
    if bounds is None or isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        number = Fraction(int(value))  # exact: 2**63 is not 2**63 - 1
    else:
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
        if number != number or number in (float("inf"), -float("inf")):
            return f"{key} {value!r} is not finite"
        number = Fraction(number)
    low, high = bounds
    if number > Fraction(high):
        return f"{key} {value!r} above {high}"
    if number < Fraction(low):
        return f"{key} {value!r} below {low}"
    return None


def test_the_limit_oracle_agrees_with_the_limits_module():
    """beyond_limits (the fuzz's oracle) is itself right on values whose answer is known."""
    from dreamvideo import limits

    assert beyond_limits("steps", limits.MAX_STEPS + 1) and not beyond_limits("steps", limits.MAX_STEPS)
    assert beyond_limits("--octaves", "1e308") and beyond_limits("octaves", 10**30) and beyond_limits("tile_size", -5)
    assert beyond_limits("seed", -1) and beyond_limits("seed", 2**63) and not beyond_limits("seed", 2**63 - 1)
    assert beyond_limits("--fps", "1e-308") and beyond_limits("fps", "nan") and not beyond_limits("fps", "30000/1001")
    assert beyond_limits("step_size", "inf") and beyond_limits("--workers", "9" * 20)
    assert not beyond_limits("steps", "0:(1), 10:(2)") and not beyond_limits("model", 1e308)
    assert beyond_limits("blend", 1.5) and not beyond_limits("blend", 1) and beyond_limits("angle", -361)


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
    refused_beyond = 0
    for case in range(RENDER_CASES):
        document = mutate(world["bases"][commands[case % len(commands)]], rng, world)
        path = write_case(world, document, case)
        with deadline(CASE_SECONDS, case):
            code, stderr = run(["render", str(path), "-q"], world["cwd"])
        check_clean(code, stderr, case)
        options = document.get("options") if isinstance(document.get("options"), dict) else {}
        beyond = [why for key, value in options.items() if (why := beyond_limits(key, value))]
        if beyond:
            assert code == 2, f"case {case}: {beyond[0]} was not refused"
            refused_beyond += 1
        outcomes[code] += 1
        check_untouched(world, before, case)
        for name, data in inputs.items():
            assert (project / name).read_bytes() == data, f"case {case} changed the input {name}"
    assert outcomes[2] > 0  # the mutations do reach the checks
    assert refused_beyond >= RENDER_CASES // 20  # and out-of-limit values are among them (15 of 200 here)


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
    refused_beyond = 0
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
        why = beyond_limits(flag, value)
        if why:
            assert code == 2, f"case {case} {argv}: {why} was not refused"
            refused_beyond += 1
        assert snapshot(world["outside"]) == before, f"case {case} {argv} wrote outside"
        for leftover in project.glob(".*"):
            if leftover.name != "link":
                shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink()
    assert refused_beyond >= OPTION_CASES // 10


# Each limit of dreamvideo/limits.py, just past it, on the command line: refused with the limit named.
LIMIT_CASES = [
    (["coffee.png"], "--steps", "10001", "at most 10000"),
    (["coffee.png"], "--steps", "0:(1e19)", "at most 10000"),
    (["coffee.png"], "--octaves", "33", "at most 32"),
    (["coffee.png"], "--octave-scale", "17", "at most 16"),
    (["coffee.png"], "--step-size", "256", "at most 255"),
    (["coffee.png"], "--guide-weight", "1e7", "at most 1e+06"),
    (["coffee.png"], "--max-side", "16385", "at most 16,384"),
    (["coffee.png"], "--tile-size", "16385", "at most 16,384"),
    (["coffee.png"], "--workers", "257", "at most 256"),
    (["coffee.png"], "--seed", str(2**63), "limit of 9,223,372,036,854,775,807"),
    (["coffee.png"], "--seed", "-1", "at least 0"),
    (["coffee.png"], "--layer", "block4_conv3/65536", "limit of 65,535"),
    (["coffee.png"], "--layer", "block4_conv3/5-1000000000", "limit of 65,535"),
    (["coffee.png"], "--steps", "0:(1), " + "1" * 41 + ":(2)", "limit of 1,000,000 frames"),
    (["coffee.png"], "--step-size", "1 + " + "1" * 41, "longer than 40 characters"),
    (["coffee_pan.mp4"], "--carried-steps", "10001", "at most 10000"),
    (["coffee_pan.mp4"], "--fps", "1001", "outside 0.1-1000"),
    (["coffee_pan.mp4"], "--start", "3600001", "3,600,000 seconds"),
    (["zoom", "coffee.png"], "--frames", "1000001", "at most 1,000,000"),
    (["zoom", "coffee.png"], "--fps", "0.05", "outside 0.1-1000"),
    (["zoom", "coffee.png"], "--zoom", "17", "at most 16"),
    (["zoom", "coffee.png"], "--angle", "361", "at most 360"),
    (["zoom"], "--size", "16385x16", "limit of 16,384"),
    (["zoom"], "--size", "10000x10000", "limit of 64,000,000"),
]


@pytest.mark.parametrize("head, flag, value, named", LIMIT_CASES, ids=[f"{c[1]}={c[2][:20]}" for c in LIMIT_CASES])
def test_a_value_just_past_a_limit_is_refused_naming_the_limit(world, no_kernel, head, flag, value, named):
    project = world["project"]
    output = "z.gif" if head[0] == "zoom" else "o.png" if head[0].endswith(".png") else "o.gif"
    code, stderr = run([*head, flag, value, "-q", "-o", output], project)
    check_clean(code, stderr, flag)
    assert code == 2 and named in stderr, stderr
    assert not (project / output).exists()
