"""Hostile render files and careless commands, tried on tiny renders; prints one line a probe (asserts nothing).

Each probe runs the command line (``dreamvideo.cli.main``) in this process, in a fresh temporary folder, with
a watchdog: more than ``--seconds`` of CPU time or more than ``--memory`` GB resident, and the probe is interrupted and
counted as a fault. Probes that can crash the interpreter or need several processes (a non-UTF-8 name, two
renders of one output, a killed farm driver) run in subprocesses. Outcomes:

    ok      a clean success, or exit 2 with one line on stderr, as the probe expects
    FAULT   a traceback, the wrong exit code, a message of several lines, a file written outside where the
            user asked, an input changed, no warning where one is promised, a runaway (time or memory)

    python scripts/probe_hostile.py                 # every probe (about 20 CPU s: the default network on 64x48 pictures)
    python scripts/probe_hostile.py -k render       # only probes whose name contains "render"
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import _thread
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

TINY = ["--steps", "1", "--octaves", "1", "-q"]
PROBES = []


def probe(kind):
    def register(function):
        PROBES.append((kind, function.__name__, function))
        return function
    return register


# ------------------------------------------------------------------------------------------ the harness


class Watchdog:
    """Interrupts the main thread (KeyboardInterrupt) when the probe runs too long or grows too large."""

    def __init__(self, seconds: float, memory_gb: float):
        self.seconds, self.limit = seconds, memory_gb * 1024**3
        self.reason = None
        self._stop = threading.Event()

    def __enter__(self):
        self.reason = None
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        # CPU time, not wall time: on a shared machine a probe may wait long for a core.
        start = time.process_time()
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.wait(0.1):
            with open("/proc/self/statm") as f:
                resident = int(f.read().split()[1]) * page
            if resident > self.limit:
                self.reason = f"runaway: {resident / 1024**3:.1f} GB resident"
            elif time.process_time() - start > self.seconds:
                self.reason = f"runaway: still running after {self.seconds:.0f} CPU s"
            if self.reason:
                _thread.interrupt_main()
                return

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


CAPTURE = Capture()
WATCHDOG = None


def run_cli(argv, cwd) -> tuple[int | str, str, list[str]]:
    """(exit code or "traceback: ..." or "runaway: ...", stderr, warnings logged) of one command line."""
    from dreamvideo import cli

    CAPTURE.records.clear()
    err = io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with WATCHDOG, contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = cli.main(list(argv))
            except KeyboardInterrupt:
                code = WATCHDOG.reason or "interrupted"
            except BaseException as exc:  # noqa: BLE001 - what a user would see as a traceback
                code = f"traceback: {type(exc).__name__}: {' '.join(str(exc).split())[:150]}"
        if code == 130 and WATCHDOG.reason:
            code = WATCHDOG.reason
    finally:
        os.chdir(old)
    return code, err.getvalue(), list(CAPTURE.records)


def judge(code, stderr, expect: str) -> str | None:
    """None if the outcome is what a user should get, else what is wrong."""
    if isinstance(code, str):
        return code
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if expect == "error":
        if code != 2:
            return f"exit {code}, expected a one-line error (exit 2)"
        if len(lines) != 1:
            return f"{len(lines)} lines on stderr, expected one"
        return None
    if code != 0:
        return f"exit {code}: {lines[-1] if lines else ''}"
    return None


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# ------------------------------------------------------------------------------------------ test assets


def make_assets(folder: Path) -> None:
    """64x48 pictures, a 6-frame clip, a render file of a real still render, an unrelated picture."""
    import cv2

    from dreamvideo import media

    coffee = media.read_image(ROOT / "samples" / "coffee.png")
    small = cv2.resize(coffee, (64, 48), interpolation=cv2.INTER_AREA)
    project = folder / "project"
    project.mkdir(parents=True)
    (folder / "elsewhere").mkdir()
    for name, image in (("img.png", small), ("guide.png", small[:, ::-1]), ("style.png", small[::-1]),
                        ("mask.png", np.full_like(small, 255))):
        media.write_image(project / name, np.ascontiguousarray(image))
    media.write_image(folder / "elsewhere" / "holiday.png", small // 2)
    with media.open_sink(project / "clip.mp4", fps=12) as sink:
        for k in range(6):
            sink.write(np.ascontiguousarray(np.roll(small, 2 * k, axis=1)))


def fresh(base: Path) -> Path:
    """A copy of the assets in a new folder; returns its project folder."""
    folder = Path(tempfile.mkdtemp(dir=base))
    shutil.copytree(base / "assets", folder, dirs_exist_ok=True)
    return folder / "project"


def render_file(project: Path, command=("img.png", "-o", "r.png")) -> Path:
    """Render a tiny still (or what ``command`` says) to get a real render file; returns its path."""
    code, err, _ = run_cli([*command, *TINY], project)
    if code != 0:
        raise RuntimeError(f"could not make a render file: {code} {err}")
    output = command[command.index("-o") + 1]
    from dreamvideo.renderfile import render_file_path

    return project / render_file_path(output)


def edit(path: Path, change) -> Path:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    return path


# ------------------------------------------------------------------------------------------ security


@probe("security")
def render_file_writes_outside(base):
    project = fresh(base)
    holiday = project.parent / "elsewhere" / "holiday.png"
    before = digest(holiday)
    r = edit(render_file(project), lambda d: d.update(output="../elsewhere/holiday.png"))
    code, err, _ = run_cli(["render", str(r), "-q"], project)
    if digest(holiday) != before:
        return f"overwrote elsewhere/holiday.png (exit {code})"
    return judge(code, err, "error")


@probe("security")
def render_file_absolute_output(base):
    project = fresh(base)
    target = project.parent / "elsewhere" / "abs.png"
    r = edit(render_file(project), lambda d: d.update(output=str(target)))
    code, err, _ = run_cli(["render", str(r), "-q"], project)
    if target.exists():
        return f"wrote {target.name} at an absolute path outside the render file's folder (exit {code})"
    return judge(code, err, "error")


@probe("security")
def zoom_render_file_frames_elsewhere(base):
    project = fresh(base)
    r = render_file(project, ("zoom", "img.png", "-o", "z.gif", "--frames", "2"))
    edit(r, lambda d: d.update(output="../elsewhere/frames/"))
    code, err, _ = run_cli(["render", str(r), "-q"], project)
    outside = tree(project.parent / "elsewhere") - {"holiday.png"}
    if outside:
        return f"wrote {sorted(outside)[:3]} outside the render file's folder (exit {code})"
    return judge(code, err, "error")


@probe("security")
def render_file_input_through_symlink_out(base):
    project = fresh(base)
    (project / "link").symlink_to(project.parent / "elsewhere", target_is_directory=True)
    r = edit(render_file(project), lambda d: d.update(output="link/out.png"))
    code, err, _ = run_cli(["render", str(r), "-q"], project)
    if (project.parent / "elsewhere" / "out.png").exists():
        return f"wrote through a symbolic link out of the folder (exit {code})"
    return judge(code, err, "error")


@probe("security")
def render_file_output_on_command_line_is_allowed(base):
    project = fresh(base)
    r = edit(render_file(project), lambda d: d.update(output="../elsewhere/holiday.png"))
    target = project.parent / "elsewhere" / "asked.png"
    code, err, _ = run_cli(["render", str(r), "-o", str(target), "-q"], project)
    if not target.exists():
        return f"-o on the command line did not write {target.name}: {code} {err.strip()[:100]}"
    return judge(code, err, "ok")


def _hdr_bomb(path: Path, width: int, height: int) -> None:
    """A Radiance HDR (run-length encoded scanlines, which OpenCV decodes and Pillow does not read)."""
    runs = []
    left = width
    while left:
        n = min(127, left)
        runs.append(bytes([128 + n, 100]))
        left -= n
    line = bytes([2, 2, width >> 8, width & 255]) + b"".join(runs) * 4
    header = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode()
    path.write_bytes(header + line * height)


@probe("security")
def pixel_limit_other_decoder(base):
    """The issue's reproduction: a 9000x9000 picture (81 MP, over the 64 MP limit) that only OpenCV reads, 5 MB
    on disk, named .png, dreamed from the command line in a fresh process (OpenCV reads the limit when it
    loads, so it cannot be lowered for a probe in this one). Refused with one line, without decoding it."""
    project = fresh(base)
    bomb = project / "bomb.png"
    _hdr_bomb(bomb, 9000, 9000)
    code = ("import resource, sys\nfrom dreamvideo import cli\ncode = cli.main(sys.argv[1:])\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nsys.exit(code)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", code, "bomb.png", *TINY], cwd=project, env=env,
                         capture_output=True, text=True, timeout=600)
    peak_gb = int(run.stdout.split()[-1]) / 1024**2 if run.stdout.split() else float("nan")
    if run.returncode == 0:
        return f"dreamed a 9000x9000 picture past the 64 MP limit ({bomb.stat().st_size:,} bytes, {peak_gb:.1f} GB peak)"
    if peak_gb > 1.0:
        return f"refused, but only after {peak_gb:.1f} GB resident (decoded it first?)"
    return judge(run.returncode, run.stderr, "error")


# ------------------------------------------------------------------------------------------ data loss


@probe("data loss")
def second_input_named_like_first_output(base):
    project = fresh(base)
    shutil.copy(project / "img.png", project / "img_dream.png")
    before = digest(project / "img_dream.png")
    code, err, _ = run_cli(["img.png", "img_dream.png", *TINY], project)
    if digest(project / "img_dream.png") != before and code == 0:
        return "the second input img_dream.png was overwritten by the first input's dream, exit 0"
    return judge(code, err, "error")


@probe("data loss")
def zoom_output_folder_holds_input(base):
    project = fresh(base)
    (project / "frames").mkdir()
    shutil.copy(project / "img.png", project / "frames" / "frame_000001.png")
    before = digest(project / "frames" / "frame_000001.png")
    code, err, _ = run_cli(["zoom", "frames/frame_000001.png", "-o", "frames/", "--frames", "2", *TINY], project)
    if digest(project / "frames" / "frame_000001.png") != before:
        return f"overwrote its own input frames/frame_000001.png (exit {code})"
    return judge(code, err, "error")


def _output_is_input(base, flag, name):
    project = fresh(base)
    before = digest(project / name)
    code, err, _ = run_cli(["img.png", "-o", name, flag, name, *TINY], project)
    if digest(project / name) != before:
        return f"overwrote the {flag[2:]} {name} (exit {code})"
    return judge(code, err, "error")


@probe("data loss")
def output_is_guide(base):
    return _output_is_input(base, "--guide", "guide.png")


@probe("data loss")
def output_is_style(base):
    return _output_is_input(base, "--style", "style.png")


@probe("data loss")
def output_is_mask(base):
    return _output_is_input(base, "--mask", "mask.png")


@probe("data loss")
def output_is_guide_through_symlink(base):
    project = fresh(base)
    (project / "g.png").symlink_to(project / "guide.png")
    before = digest(project / "guide.png")
    code, err, _ = run_cli(["img.png", "-o", "g.png", "--guide", "guide.png", *TINY], project)
    if digest(project / "guide.png") != before:
        return f"overwrote guide.png through a symbolic link (exit {code})"
    return judge(code, err, "ok" if code == 0 else "error")  # replacing the link itself loses nothing


@probe("data loss")
def two_renders_one_output(base):
    project = fresh(base)
    command = [sys.executable, "-m", "dreamvideo", "zoom", "img.png", "-o", "z.gif", "--frames", "6", *TINY]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(command, cwd=project, env=env, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    second = subprocess.Popen(command, cwd=project, env=env, stderr=subprocess.PIPE, text=True)
    outs = [p.communicate(timeout=600)[1] for p in (first, second)]
    codes = [first.returncode, second.returncode]
    for code, err in zip(codes, outs):
        if "Traceback" in err:
            return f"exit codes {codes}; one died with a traceback: {err.strip().splitlines()[-1][:120]}"
    if sorted(codes) != [0, 2] or len([l for l in outs[codes.index(2)].splitlines() if l.strip()]) != 1:
        return f"exit codes {codes}, expected one success and one one-line error naming the first"
    return None


# ------------------------------------------------------------------------------------------ resources


def _expect_error(base, argv, name=None):
    project = fresh(base)
    code, err, _ = run_cli(argv, project)
    return judge(code, err, "error")


@probe("resources")
def channel_range_huge(base):
    return _expect_error(base, ["img.png", "--layer", "block4_conv3/5-1000000000", *TINY])


@probe("resources")
def steps_huge(base):
    return _expect_error(base, ["img.png", "--steps", "99999999999999999999", "--octaves", "1", "-q"])


@probe("resources")
def octaves_huge(base):
    return _expect_error(base, ["img.png", "--octaves", "99999999999999999999", "--steps", "1", "-q"])


@probe("resources")
def carried_steps_huge(base):
    return _expect_error(base, ["clip.mp4", "--carried-steps", "99999999999999999999", *TINY])


@probe("resources")
def keyframed_steps_1e19(base):
    return _expect_error(base, ["img.png", "--steps", "0:(1e19)", "--octaves", "1", "-q"])


@probe("resources")
def render_file_steps_1e308(base):
    project = fresh(base)
    r = edit(render_file(project), lambda d: d["options"].update(steps=1e308))
    code, err, _ = run_cli(["render", str(r), "-q"], project)
    return judge(code, err, "error")


@probe("resources")
def zoom_frames_10_12(base):
    return _expect_error(base, ["zoom", "img.png", "--frames", str(10**12), *TINY])


@probe("resources")
def zoom_size_huge(base):
    return _expect_error(base, ["zoom", "--size", "100000x100000", "--frames", "2", *TINY])


def _gan_file(path: Path, size=32, latent=8, weights=None, meta_extra=None) -> None:
    from dreamvideo.gan import checkpoint

    meta = {"options": {"size": size, "latent_dim": latent, "epochs": 1, "batch_size": 1, "flip": True, "seed": 0},
            "epoch": 1, "step": 1, **(meta_extra or {})}
    checkpoint.save(path, meta, {"g": weights or []})


def _real_gan(path: Path, poison=None) -> None:
    from dreamvideo.gan.model import build_generator
    from dreamvideo.runtime import import_tensorflow

    import_tensorflow()
    weights = build_generator(32, 8).get_weights()
    if poison is not None:
        weights = [np.full_like(w, poison) for w in weights]
    _gan_file(path, weights=weights)


@probe("resources")
def gan_latent_1e9(base):
    project = fresh(base)
    _gan_file(project / "m.gan", latent=10**9)
    return _expect_error_in(project, ["gan", "walk", "m.gan", "-o", "w.gif", "--frames", "2", "-q"])


@probe("resources")
def gan_weight_1e6_squared(base):
    import zipfile

    project = fresh(base)
    _gan_file(project / "m.gan")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (1_000_000, 1_000_000)})
    with zipfile.ZipFile(project / "m.gan", "a") as archive:
        archive.writestr("g/0000.npy", header.getvalue() + b"\0" * 64)
    return _expect_error_in(project, ["gan", "walk", "m.gan", "-o", "w.gif", "--frames", "2", "-q"])


@probe("resources")
def gan_walk_frames_1e20(base):
    project = fresh(base)
    _real_gan(project / "m.gan")
    return _expect_error_in(project, ["gan", "walk", "m.gan", "-o", "w.gif", "--frames", str(10**20), "-q"])


def _expect_error_in(project, argv):
    code, err, _ = run_cli(argv, project)
    return judge(code, err, "error")


@probe("resources")
def farm_driver_killed(base):
    """kill -9 of a --workers 2 driver: nothing of its local Ray may outlive it by more than a few seconds, its
    folder is removed, and the same command run again finishes."""
    from dreamvideo.farm import watchdog

    project = fresh(base)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "dreamvideo", "clip.mp4", "--workers", "2", *TINY]
    driver = subprocess.Popen(command, cwd=project, env=env, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    children = set()
    while time.monotonic() < deadline and driver.poll() is None:
        children = _descendants(driver.pid)
        if any("raylet" in _cmdline(pid) for pid in children) and len(children) >= 4:
            break
        time.sleep(0.5)
    time.sleep(3)
    children |= _descendants(driver.pid)
    if driver.poll() is not None:
        return f"the driver ended (exit {driver.returncode}) before its Ray started"
    folders = [Path(folder) for folder in watchdog.folders_of(driver.pid)]
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    time.sleep(10)
    alive = [pid for pid in children if _alive(pid)]
    names = sorted({Path(_cmdline(pid).split(" ")[0]).name or _cmdline(pid)[:30] for pid in alive})
    for pid in alive:  # the probe stops what it started
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if alive:
        return f"{len(alive)} of {len(children)} processes of its Ray alive 10 s after kill -9 ({', '.join(names)[:120]})"
    if not folders or any(folder.exists() for folder in folders):
        return f"its Ray's folder {'was not found' if not folders else 'is left after kill -9'}"
    again = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)
    if again.returncode != 0:
        return f"the same command after kill -9: exit {again.returncode}: {again.stderr.strip()[-150:]}"
    return None


def _descendants(pid: int) -> set[int]:
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        for child in Path("/proc").glob("[0-9]*"):
            try:
                ppid = int((child / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent and int(child.name) not in found:
                found.add(int(child.name))
                frontier.append(int(child.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# ------------------------------------------------------------------------------------------ crashes, messages


@probe("crash")
def non_utf8_output(base):
    project = fresh(base)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "dreamvideo", "clip.mp4", "-o", os.fsdecode(b"v\xff.mp4"), *TINY],
                         cwd=project, env=env, capture_output=True, text=True, timeout=600)
    left = sorted(p for p in tree(project) if p.startswith(".") or "\udcff" in p or "\\xff" in p)
    if run.returncode < 0:
        return f"killed by signal {-run.returncode}; left {left[:3]}"
    problem = judge(run.returncode, run.stderr, "ok" if run.returncode == 0 else "error")
    if problem:
        return problem
    if run.returncode != 0 and left:
        return f"one-line error, but left {left[:3]}"
    return None


@probe("crash")
def non_utf8_input(base):
    project = fresh(base)
    shutil.copy(project / "clip.mp4", project / os.fsdecode(b"v\xff.mp4"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "dreamvideo", os.fsdecode(b"v\xff.mp4"), "-o", "out.mp4", *TINY],
                         cwd=project, env=env, capture_output=True, text=True, timeout=600)
    if run.returncode < 0:
        return f"killed by signal {-run.returncode}"
    return judge(run.returncode, run.stderr, "ok" if run.returncode == 0 else "error")


@probe("crash")
def keyframe_number_400_digits(base):
    return _expect_error(base, ["img.png", "--step-size", "0:(1), " + "9" * 400 + ":(2)", *TINY])


@probe("crash")
def keyframe_frame_4400_digits(base):
    return _expect_error(base, ["img.png", "--step-size", "0:(1), " + "9" * 4400 + ":(2)", *TINY])


@probe("crash")
def expression_number_400_digits(base):
    return _expect_error(base, ["img.png", "--step-size", "1" * 400, *TINY])


@probe("crash")
def seed_negative(base):
    return _expect_error(base, ["img.png", "--seed", "-1", *TINY])


@probe("crash")
def fps_1e308(base):
    return _expect_error(base, ["clip.mp4", "--fps", "1e308", *TINY])


@probe("crash")
def fps_1e_minus_308(base):
    return _expect_error(base, ["zoom", "img.png", "--frames", "2", "--fps", "1e-308", *TINY])


@probe("crash")
def start_1e308(base):
    return _expect_error(base, ["clip.mp4", "--start", "1e308", *TINY])


@probe("crash")
def tile_size_20_digits(base):
    return _expect_error(base, ["img.png", "--tile-size", "9" * 20, *TINY])


@probe("crash")
def workers_20_digits(base):
    return _expect_error(base, ["img.png", "--workers", "9" * 20, *TINY])


@probe("crash")
def channel_beyond_layer(base):
    return _expect_error(base, ["img.png", "--layer", "block4_conv3/100000", *TINY])


@probe("crash")
def render_file_nested_1e5(base):
    project = fresh(base)
    r = render_file(project)
    document = json.loads(r.read_text())
    text = json.dumps(document)
    r.write_text(text[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}")
    code, err, _ = run_cli(["render", str(r), "-q"], project)
    return judge(code, err, "error")


@probe("crash")
def gan_meta_nested_1e5(base):
    import zipfile

    project = fresh(base)
    _gan_file(project / "m.gan")
    with zipfile.ZipFile(project / "m.gan") as archive:
        members = {name: archive.read(name) for name in archive.namelist() if name != "meta.npy"}
    meta = '{"format": "dreamvideo-gan", "version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    buffer = io.BytesIO()
    np.save(buffer, np.array(meta))
    with zipfile.ZipFile(project / "m.gan", "w") as archive:
        archive.writestr("meta.npy", buffer.getvalue())
        for name, data in members.items():
            archive.writestr(name, data)
    return _expect_error_in(project, ["gan", "walk", "m.gan", "-o", "w.gif", "--frames", "2", "-q"])


@probe("crash")
def render_file_input_null(base):
    project = fresh(base)
    r = edit(render_file(project), lambda d: d.update(input=None))
    code, err, _ = run_cli(["render", str(r), "-q"], project)
    return judge(code, err, "error")


@probe("crash")
def render_file_wrong_types(base):
    problems = []
    for key, value in (("seed", "x"), ("steps", [1]), ("octaves", {"a": 1}), ("tile_size", -5), ("max_side", 1.5),
                       ("step_size", "nan"), ("model", 7), ("objective", "block4_conv3")):
        project = fresh(base)
        r = edit(render_file(project), lambda d: d["options"].update({key: value}))
        code, err, _ = run_cli(["render", str(r), "-q"], project)
        problem = judge(code, err, "error")
        if problem:
            problems.append(f"{key}={value!r}: {problem}")
    return "; ".join(problems)[:300] or None


@probe("crash")
def output_name_too_long(base):
    return _expect_error(base, ["clip.mp4", "-o", "x" * 240 + ".mp4", *TINY])


@probe("crash")
def restart_on_symlinked_work_folder(base):
    project = fresh(base)
    (project / "real-work").mkdir()
    (project / ".z.gif.dreamvideo-work").symlink_to(project / "real-work", target_is_directory=True)
    code, err, _ = run_cli(["zoom", "img.png", "-o", "z.gif", "--frames", "2", "--restart", *TINY], project)
    return judge(code, err, "ok" if code == 0 else "error")


@probe("message")
def truncated_video_warns(base):
    from dreamvideo import media

    project = fresh(base)
    with media.open_sink(project / "long.mp4", fps=12) as sink:
        picture = media.read_image(project / "img.png")
        for k in range(17):
            sink.write(np.ascontiguousarray(np.roll(picture, 3 * k, axis=1)))
    data = (project / "long.mp4").read_bytes()
    (project / "cut.mp4").write_bytes(data[:int(len(data) * 0.75)])
    code, err, warnings = run_cli(["cut.mp4", "-o", "frames/", *TINY[:-1]], project)
    written = len(list((project / "frames").glob("*.png"))) if (project / "frames").is_dir() else 0
    if code == 0 and not any("truncated" in w or "damaged" in w for w in warnings + err.splitlines()):
        return f"wrote {written} of 17 frames with no warning"
    return judge(code, err, "ok" if code == 0 else "error")


def _special_input(base, flag, special):
    project = fresh(base)
    argv = [special, *TINY] if flag is None else ["img.png", flag, special, *TINY]
    code, err, _ = run_cli(argv, project)
    problem = judge(code, err, "error")
    if problem:
        return problem
    if "empty" in err or "not found" in err:
        return f"misleading: {err.strip()[:120]}"
    return None


@probe("message")
def urandom_as_input(base):
    return _special_input(base, None, "/dev/urandom")


@probe("message")
def zero_as_guide(base):
    return _special_input(base, "--guide", "/dev/zero")


@probe("message")
def fifo_as_model(base):
    project = fresh(base)
    fifo = project / "m.keras"
    os.mkfifo(fifo)
    code, err, _ = run_cli(["img.png", "--model", "m.keras", "--layer", "conv1", *TINY], project)
    problem = judge(code, err, "error")
    if problem:
        return problem
    if "empty" in err or "not found" in err:
        return f"misleading: {err.strip()[:120]}"
    return None


@probe("message")
def step_size_1e308(base):
    return _expect_error(base, ["img.png", "--step-size", "1e308", *TINY])


@probe("message")
def tv_1e308(base):
    return _expect_error(base, ["img.png", "--tv", "1e308", *TINY])


@probe("message")
def gan_nan_weights(base):
    project = fresh(base)
    _real_gan(project / "m.gan", poison=np.nan)
    return _expect_error_in(project, ["gan", "walk", "m.gan", "-o", "w.gif", "--frames", "2", "-q"])


# ------------------------------------------------------------------------------------------ main


def main() -> int:
    global WATCHDOG
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-k", default="", help="only probes whose name contains this")
    parser.add_argument("--seconds", type=float, default=40.0, help="a probe's CPU time limit (default 40)")
    parser.add_argument("--memory", type=float, default=4.0, help="a probe's resident-memory limit in GB (default 4)")
    args = parser.parse_args()
    WATCHDOG = Watchdog(args.seconds, args.memory)
    logging.getLogger().addHandler(CAPTURE)
    chosen = [p for p in PROBES if args.k in p[1]]
    faults = 0
    with tempfile.TemporaryDirectory(prefix="dreamvideo-probe-") as folder:
        base = Path(folder)
        make_assets(base / "assets")
        warm = fresh(base)  # the model loads once, outside any probe's time
        render_file(warm)
        for kind, name, function in chosen:
            start = time.process_time()
            try:
                problem = function(base)
            except Exception as exc:  # noqa: BLE001 - a probe that cannot be set up is reported, not fatal
                problem = f"probe failed to run: {type(exc).__name__}: {exc}"[:200]
            faults += problem is not None
            print(f"{'FAULT' if problem else 'ok':5s} {kind:10s} {name:42s} {problem or ''}"
                  f" [{time.process_time() - start:.1f} CPU s]", flush=True)
    print(f"{faults} of {len(chosen)} probes faulty")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
