"""The dream over time: steady state, flicker, cost and clipped colour, old defaults against new; time, memory.

    python scripts/benchmark_video.py [--variant old --variant default ...] [--clip NAME_OR_PATH ...]
                                      [--steady-clip NAME_OR_PATH ...] [--skip PART] [--quick]

Each part measures every ``--variant`` in the same run (default: ``old``, the settings before issue 9,
and ``default``, the current ones; others are mechanisms joined by "+", see ``--help``). Renders go to
folders of PNGs, so no codec error enters the metrics. Printed, each figure beside its target:

1. *steady state* (``--steady-clip``, default the generated clip and every real one): the clip's longest
   shot (between scene cuts) played back and forth to 400 frames (a longer shot as it is) at 128 px, 4 steps,
   2 octaves.
   Per 40-frame window, the dream strength (mean |output - input|, grey levels 0-255) and the dream's mean
   CIELAB chroma; targets: every window within 15% (strength) and 10% (chroma) of frames 40-80, and the
   last window 0.8-1.25x the strength of the same frames dreamed on their own (every ``--naive-every``-th);
2. *compare* (``--clip``, default the generated clip and every real one; 256 px, the project's steps and
   octaves): E_warp (Lai et al. 2018, ``dreamvideo.metrics.warping_error``) of the carried render against
   the input's own (target at most 2x), and against a naive render (``blend=0``, the first
   ``--naive-frames`` frames; target at most 1/3); strength against naive (target at least 0.8x); CPU
   seconds of a carried frame against a naive one (target at most 10%; this process's CPU time, which
   holds up when other jobs share the machine);
3. *colour*: the share of pixels with a channel at 0 or 255, of the sample stills dreamed at full size and
   of every tenth frame of the compare renders, against their inputs' (target at most 2x, or at most 3%);
4. *timing*: one default render to MP4 at about 480p, timed by wrapping the library's motion functions,
   the kernel, the source and the sink (monkeypatching; the library is not changed), for the share of
   frame time spent outside the dream kernel, the encoder's CPU time included;
5. *memory*: the peak memory (VmHWM) of a child process rendering ``--memory-frames`` frames of
   cityCC0.mpg against one rendering 40 frames.

Clips: ``generated`` (a camera pan and zoom over samples/coffee.png at 854x480, made here with numpy,
OpenCV and dreamvideo's own MP4 writer) and the real clips in ../shared/media/clips (by file name or
``real`` for all of them), skipped with a message when that folder is absent. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dreamvideo  # noqa: E402
from dreamvideo import cuts, media, motion, options, render, video  # noqa: E402
from dreamvideo.options import DreamOptions  # noqa: E402
from dreamvideo.steady import dream_strength  # noqa: E402

CLIPS_FOLDER = ROOT.parent / "shared" / "media" / "clips"
DEFAULT_CLIPS = ["generated", "real"]
MEMORY_CLIP = "cityCC0.mpg"
MEMORY_BASELINE_FRAMES = 40
DEFAULT_STEPS = {f.name: f.default for f in dataclasses.fields(DreamOptions)}["steps"]
DEFAULT_OCTAVES = {f.name: f.default for f in dataclasses.fields(DreamOptions)}["octaves"]

# Targets, printed next to each measurement.
TARGET_EWARP_RATIO = 1 / 3  # default E_warp <= 1/3 of naive
TARGET_STRENGTH_RATIO = 0.8  # default strength >= 0.8x naive
TARGET_OVERHEAD_SHARE = 0.15  # flow + warp + blend + encode <= 15% of frame time at 480p
TARGET_MEMORY_GROWTH = 0.10  # peak memory of a long render within 10% of a short one

# What the library calls on the hot path, timed during the 480p run. Only the outermost timed call
# counts, so a motion function calling another is not counted twice.
MOTION_PARTS = [("flow_pair", "optical flow (forward + backward)"), ("consistency_weight", "consistency mask"),
                ("is_scene_cut", "scene-cut test"), ("warp", "warp previous dream"), ("blend", "blend")]
OVERHEAD_PARTS = [name for name, _ in MOTION_PARTS] + ["encode"]


try:
    from dreamvideo.metrics import warping_error
except ImportError:  # the metrics module is newer than some checkouts; same definition, kept minimal
    def warping_error(input_frames, output_frames) -> float:
        """E_warp: mean over pairs of sum M ||O_{t-1} - warp(O_t, F)||^2 / sum M, RGB in [0, 1]."""
        errors = []
        for t in range(1, len(input_frames)):
            forward, backward = motion.flow_pair(input_frames[t - 1], input_frames[t])
            mask = motion.consistency_weight(forward, backward, frame="previous", soft_edge=0)
            if mask.sum() == 0:
                continue
            warped = motion.warp(output_frames[t].astype(np.float32) / 255, forward)
            squared = np.square(output_frames[t - 1].astype(np.float32) / 255 - warped).sum(axis=2)
            errors.append(float((squared * mask).sum() / mask.sum()))
        return float(np.mean(errors)) if errors else float("nan")


# ------------------------------------------------------------------------------------------------ clips

def make_generated_clip(path: Path, frames: int = 48, size=(854, 480), fps: int = 24) -> Path:
    """A camera pan with a slow zoom over samples/coffee.png, written with dreamvideo's MP4 sink.

    The crop window moves about 1.5 source pixels a frame (2.5 px of output) and shrinks by 20% over
    the clip, so every pixel moves and the zoom makes the motion vary across the picture.
    """
    import cv2

    image = media.read_image(ROOT / "samples" / "coffee.png")
    width, height = size
    start_centre, end_centre = np.array([270.0, 190.0]), np.array([340.0, 210.0])
    start_width, end_width = 520.0, 520.0 / 1.2
    with media.open_sink(path, fps=fps, quality=8) as sink:
        for t in range(frames):
            s = t / max(1, frames - 1)
            centre = (1 - s) * start_centre + s * end_centre
            scale = ((1 - s) * start_width + s * end_width) / width  # source pixels per output pixel
            # output (u, v) -> source centre + scale * ((u, v) - output centre)
            matrix = np.array([[scale, 0.0, centre[0] - scale * width / 2],
                               [0.0, scale, centre[1] - scale * height / 2]])
            frame = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_REFLECT_101)
            sink.write(frame)
    return path


def resolve_clips(names: list[str], generated: Path) -> list[tuple[str, Path | None]]:
    """(label, path) per requested clip; path None with the reason as label when it is absent."""
    clips = []
    for name in names:
        if name == "generated":
            clips.append(("generated (pan + zoom over samples/coffee.png)", generated))
        elif name == "real":
            if not CLIPS_FOLDER.is_dir():
                clips.append((f"real clips: {CLIPS_FOLDER} is absent, skipped", None))
            else:
                clips += [(p.name, p) for p in sorted(CLIPS_FOLDER.iterdir()) if p.is_file() and p.suffix != ".md"]
        else:
            path = Path(name) if Path(name).exists() else CLIPS_FOLDER / name
            clips.append((path.name, path) if path.exists() else (f"{name}: not found (no {path}), skipped", None))
    return clips


# --------------------------------------------------------------------- the dream over time (issue 9)

# The settings before issue 9, to measure the new defaults against in the same run.
# Carried frames dreamed every octave then (carried_octaves "all").
OLD_DEFAULTS = dict(blend=0.9, carried_steps=None, carried_octaves="all", anchor=0.0, colour_match=0.0,
                    normalize="mean", decorrelate=False, range_limit="clip", steady=0.0)
# Mechanisms (--variant NAME, or several joined by "+", e.g. soft+decorrelate): each switches one thing on
# over the old defaults. "default" is the project's current defaults, whatever they are.
MECHANISMS = {
    "old": {},
    "soft": dict(range_limit="soft"),
    "decorrelate": dict(decorrelate=True),
    "lap": dict(normalize="lap"),
    "anchor": dict(anchor=1.0),
    "anchor50": dict(anchor=0.5),
    "colour": dict(colour_match=0.5),
    "colour100": dict(colour_match=1.0),
    "one-octave": dict(carried_octaves=1),  # the octave just below the full size
    "two-octaves": dict(carried_octaves=2),  # the two below the full size (the default)
    "lower-octaves": dict(carried_octaves=None),  # every octave but the largest
    "blend80": dict(blend=0.8),
    "blend85": dict(blend=0.85),
    "blend95": dict(blend=0.95),
    "steady": dict(steady=1.0),
    "steady50": dict(steady=0.5),
    "steady25": dict(steady=0.25),
    "anchor25": dict(anchor=0.25),
    "anchor0": dict(anchor=0.0),
    "carried1": dict(carried_steps=1),
    "carried2": dict(carried_steps=2),
    # the defaults of the first half of issue 9, before --steady and two carried octaves
    "issue9": dict(range_limit="soft", decorrelate=True, carried_octaves=None, anchor=0.5),
}
TARGET_STEADY_STRENGTH = 0.15  # every 40-frame window's strength within +-15% of frames 40-80
TARGET_STEADY_CHROMA = 0.10  # and its mean chroma within +-10%
TARGET_SETTLED = (0.8, 1.25)  # the last window's strength against the naive render of the same frames
TARGET_EWARP_INPUT = 2.0  # the default's E_warp at most 2x the input's own
TARGET_CARRIED_COST = 0.10  # CPU time of a carried frame against a naive one
TARGET_CLIPPED = (2.0, 0.03)  # clipped share at most 2x the input's, or at most 3%
WINDOW = 40


def variant_settings(name: str) -> dict:
    """The keyword arguments of a variant (see MECHANISMS): full settings over the old defaults, or, for
    "default+...", only the mechanisms named, over the current defaults."""
    parts = name.split("+")
    settings = {} if parts[0] == "default" else dict(OLD_DEFAULTS)
    for part in parts[1:] if parts[0] == "default" else parts:
        settings.update(MECHANISMS[part])
    return settings


def variant_name(text: str) -> str:
    parts = text.split("+")
    if not all(part in MECHANISMS for part in (parts[1:] if parts[0] == "default" else parts)):
        raise argparse.ArgumentTypeError(f"unknown variant {text!r}: 'default', or mechanisms joined by '+' "
                                         f"from {', '.join(MECHANISMS)}")
    return text


def clipped_share(image: np.ndarray) -> float:
    """Share of the pixels of a uint8 RGB image with a channel at 0 or 255."""
    return float(((image == 0) | (image == 255)).any(axis=2).mean())


def mean_chroma(image: np.ndarray) -> float:
    from dreamvideo.colour import mean_chroma as chroma

    return chroma(image)


def longest_shot(frames: list[np.ndarray]) -> tuple[int, int]:
    """(first, stop) of the longest run of frames without a scene cut, by the render's own cut test (a cut
    restarts the dream, and the next shot has other content, so windows across it would compare two scenes
    rather than one dream over time)."""
    starts = [0] + [index for index in range(1, len(frames))
                    if video.starts_new_shot(frames[index - 1], frames[index], options.VideoOptions())]
    stops = starts[1:] + [len(frames)]
    return max(zip(starts, stops), key=lambda shot: shot[1] - shot[0])


def ping_pong_clip(clip: Path, path: Path, frames: int, max_side: int) -> tuple[list[np.ndarray], tuple[int, int]]:
    """The clip's longest shot (of its first ``4 * frames`` frames) played forward, backward, forward... to
    ``frames`` frames (a shot that long is played as it is), written losslessly to ``path``; returns the
    frames as decoded and (first, stop) of the shot in the clip."""
    decoded = list(media.read_frames(clip, max_side=max_side, end_frame=4 * frames))
    first, stop = longest_shot(decoded)
    source = decoded[first:stop]
    cycle = source + source[-2:0:-1] if len(source) > 1 else source
    out = [cycle[i % len(cycle)] for i in range(frames)]
    with media.open_sink(path, fps=25, quality=0) as sink:
        for frame in out:
            sink.write(frame)
    return list(media.read_frames(path)), (first, stop)  # the frames as the render will see them


def window_figures(inputs, outputs) -> list[tuple[float, float]]:
    """(strength, mean chroma of the dream) per 40-frame window."""
    figures = []
    for start in range(0, len(outputs) - WINDOW + 1, WINDOW):
        pairs = list(zip(inputs[start:start + WINDOW], outputs[start:start + WINDOW]))
        figures.append((strength(*zip(*pairs)), float(np.mean([mean_chroma(o) for _, o in pairs]))))
    return figures


def naive_strength(frames, settings: dict, every: int) -> float:
    """Mean strength of each ``every``-th frame dreamed on its own with the same settings."""
    dream_keys = {f.name for f in dataclasses.fields(DreamOptions) if f.init}
    still = {k: v for k, v in settings.items() if k in dream_keys}
    picked = frames[::every]
    return strength(picked, [dreamvideo.dream_array(f, quiet=True, **still) for f in picked])


def steady_state(label: str, clip: Path, work: Path, args, results: list) -> None:
    """Target 1: over a long render (the clip ping-ponged), the dream neither builds up nor fades."""
    path = work / f"{clip.stem}_pingpong.mp4"
    inputs, shot = ping_pong_clip(clip, path, args.steady_frames, args.steady_side)
    base = dict(max_side=args.steady_side, steps=args.steady_steps, octaves=args.steady_octaves)
    height, width = inputs[0].shape[:2]
    print(f"\nsteady state: {label}, {width}x{height}, {len(inputs)} frames (frames {shot[0]}-{shot[1] - 1}, the "
          f"longest shot{', ping-ponged' if shot[1] - shot[0] < len(inputs) else ''}), steps {args.steady_steps}, "
          f"octaves {args.steady_octaves}; strength |out - in| and dream chroma per {WINDOW}-frame window")
    for name in args.variant:
        settings = {**base, **variant_settings(name)}
        output = work / f"{clip.stem}_steady_{name}"
        start = time.process_time()
        dreamvideo.render_video(path, f"{output}/", quiet=True, restart=True, **settings)
        cpu = time.process_time() - start
        outputs = read_png_folder(output)
        windows = window_figures(inputs, outputs)
        (s0, c0), (s_last, _) = windows[1], windows[-1]
        drift_s = max(abs(s / s0 - 1) for s, _ in windows[1:])
        drift_c = max(abs(c / c0 - 1) for _, c in windows[1:])
        naive = naive_strength(inputs[-WINDOW:], settings, args.naive_every)
        settled = s_last / naive
        ok_s, ok_c = drift_s <= TARGET_STEADY_STRENGTH, drift_c <= TARGET_STEADY_CHROMA
        ok_n = TARGET_SETTLED[0] <= settled <= TARGET_SETTLED[1]
        print(f"  {name:18} strength " + " ".join(f"{s:5.1f}" for s, _ in windows) + f"  (input chroma "
              f"{np.mean([mean_chroma(f) for f in inputs[WINDOW:2 * WINDOW]]):.1f})")
        print(f"  {'':18} chroma   " + " ".join(f"{c:5.1f}" for _, c in windows))
        print(f"  {'':18} strength drift {drift_s:+.0%} max (<= 15%: {verdict(ok_s)}), chroma drift {drift_c:.0%} "
              f"max (<= 10%: {verdict(ok_c)}), last window {settled:.2f}x naive {naive:.1f} (0.8-1.25: "
              f"{verdict(ok_n)}); {cpu / len(inputs):.2f} CPU s/frame")
        results += [(f"{clip.name} {name}: steady strength", ok_s), (f"{clip.name} {name}: steady chroma", ok_c),
                    (f"{clip.name} {name}: settled vs naive", ok_n)]


def colour_clipping(work: Path, args, results: list, clip_frames: dict) -> None:
    """Target 4: clipped share of the sample stills dreamed at the defaults, and of rendered clip frames."""
    print("\nclipped pixels (a channel at 0 or 255): input -> dream; target at most 2x the input's or at most 3%")
    rows = []
    for name in args.variant:
        settings = variant_settings(name)
        dream_keys = {f.name for f in dataclasses.fields(DreamOptions) if f.init}
        still = {k: v for k, v in settings.items() if k in dream_keys}
        for photo in args.stills:
            image = media.resize_max_side(media.read_image(photo), args.still_side)
            rows.append((name, Path(photo).name, [image], [dreamvideo.dream_array(image, quiet=True, **still)]))
    for (name, clip), (inputs, outputs) in clip_frames.items():
        rows.append((name, f"{clip} frames", inputs, outputs))
    for name, what, inputs, outputs in rows:
        before = float(np.mean([clipped_share(f) for f in inputs]))
        after = float(np.mean([clipped_share(f) for f in outputs]))
        ok = after <= max(TARGET_CLIPPED[0] * before, TARGET_CLIPPED[1])
        print(f"  {name:18} {what:28} {before:6.2%} -> {after:6.2%}  {verdict(ok)}")
        results.append((f"{what} {name}: clipped", ok))


# ------------------------------------------------------------------------------------------- timing

class Stopwatch:
    """Wall and CPU seconds per named library function during a render, and when each frame was done.

    CPU seconds are this process's (all its threads, TensorFlow's included), so they hold up on a
    machine that other jobs share; ffmpeg runs in child processes and is counted separately.
    """

    def __init__(self):
        self.wall = collections.defaultdict(float)
        self.cpu = collections.defaultdict(float)
        self.calls = collections.Counter()
        self.loop_start: tuple[float, float] | None = None
        self.frame_done: list[tuple[float, float]] = []
        self.children_cpu: dict[str, float] = {}  # ffmpeg CPU seconds at: loop start, decoder done, encoder done
        self.after_first_frame: tuple[dict, dict] | None = None  # (wall, cpu) totals once frame 0 is done
        self._busy = False

    @staticmethod
    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    @staticmethod
    def finished_children_cpu() -> float:
        """CPU seconds of the child processes waited for so far (ffmpeg decoders and encoders)."""
        times = os.times()
        return times.children_user + times.children_system

    def add(self, name: str, start: tuple[float, float]) -> None:
        wall, cpu = self.now()
        self.wall[name] += wall - start[0]
        self.cpu[name] += cpu - start[1]

    def timed(self, name: str, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if self._busy:
                return function(*args, **kwargs)
            self._busy = True
            start = self.now()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(name, start)
                self.calls[name] += 1
                self._busy = False
        return wrapper

    def timed_frames(self, frames):
        """The source iterator, with the time spent waiting for each frame counted as decode."""
        iterator = iter(frames)
        try:
            while True:
                start = self.now()
                try:
                    frame = next(iterator)
                except StopIteration:
                    return
                finally:
                    self.add("decode", start)
                    self.calls["decode"] += 1
                yield frame
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            self.children_cpu["decoder done"] = self.finished_children_cpu()

    def frame_seconds(self, clock: int = 0) -> list[float]:
        """Seconds per frame from the loop's start: clock 0 is wall time, 1 CPU time."""
        ends = [self.loop_start[clock]] + [done[clock] for done in self.frame_done]
        return [b - a for a, b in zip(ends, ends[1:])]


@contextlib.contextmanager
def instrumented(watch: Stopwatch):
    """Time the motion functions, the kernel, the source, the sink and the scratch PNGs of render_video."""
    original_run_loop, original_read_frames, original_open_sink = render.run_loop, media.read_frames, media.open_sink

    def run_loop(*args, on_frame=None, **kwargs):
        def frame_done(index, source, result):
            watch.frame_done.append(watch.now())
            if watch.after_first_frame is None:
                watch.after_first_frame = (dict(watch.wall), dict(watch.cpu))
            if on_frame is not None:
                on_frame(index, source, result)
        watch.loop_start = watch.now()
        watch.children_cpu["loop start"] = watch.finished_children_cpu()
        return original_run_loop(*args, on_frame=frame_done, **kwargs)

    def read_frames(*args, **kwargs):
        return watch.timed_frames(original_read_frames(*args, **kwargs))

    def open_sink(*args, **kwargs):
        sink = original_open_sink(*args, **kwargs)
        sink.write = watch.timed("encode", sink.write)
        timed_close = watch.timed("encode", sink.close)

        def close():
            timed_close()
            watch.children_cpu["encoder done"] = watch.finished_children_cpu()
        sink.close = close
        return sink

    with contextlib.ExitStack() as stack:
        for name, _ in MOTION_PARTS:
            module = cuts if name == "is_scene_cut" else motion  # the cut test lives in cuts.py
            stack.enter_context(mock.patch.object(module, name, watch.timed(name, getattr(module, name))))
        stack.enter_context(mock.patch.object(video, "dream_frame", watch.timed("kernel", video.dream_frame)))
        stack.enter_context(mock.patch.object(render.FrameStore, "save",
                                              watch.timed("scratch PNGs", render.FrameStore.save)))
        stack.enter_context(mock.patch.object(render, "run_loop", run_loop))
        stack.enter_context(mock.patch.object(media, "read_frames", read_frames))
        stack.enter_context(mock.patch.object(media, "open_sink", open_sink))
        yield watch


def timed_render(clip: Path, output: str | Path, settings: dict) -> Stopwatch:
    """Render with the library's hot path timed; a folder output is a string ending in '/'."""
    watch = Stopwatch()
    with instrumented(watch):
        dreamvideo.render_video(clip, output, quiet=True, **settings)
    return watch


def warm_up() -> None:
    """Build the model and trace the kernel once, so no render's first frame pays for it."""
    dreamvideo.dream_array(np.full((64, 64, 3), 128, np.uint8), steps=1, octaves=1)


# ------------------------------------------------------------------------------------------ reading

def read_png_folder(folder: Path) -> list[np.ndarray]:
    return [media.read_image(p) for p in sorted(folder.glob("frame_*.png"))]


def strength(inputs: list[np.ndarray], outputs: list[np.ndarray]) -> float:
    """Mean absolute difference between output and input frames, in grey levels (0-255)."""
    return float(np.mean([dream_strength(o, i) for i, o in zip(inputs, outputs)]))


# -------------------------------------------------------------------------------------------- parts

def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def compare_clip(label: str, clip: Path, work: Path, args, results: list, clip_frames: dict) -> None:
    """Naive against carried, per variant: flicker (E_warp), strength and the CPU time per frame.

    The naive render (``blend=0``, the variant's other settings) covers the first ``--naive-frames``
    frames only: it is the expensive one, and its cost per frame and flicker settle at once.
    """
    settings = dict(max_side=args.max_side, steps=args.steps, octaves=args.octaves)
    inputs = list(media.read_frames(clip, end_frame=args.frames, max_side=args.max_side))
    height, width = inputs[0].shape[:2]
    naive_frames = min(args.naive_frames, len(inputs))
    ewarp_input = warping_error(inputs, inputs)
    print(f"\n{label}: {width}x{height}, {len(inputs)} frames carried, {naive_frames} naive; "
          f"E_warp of the input itself {ewarp_input:.5f}")
    print(f"  {'':18} {'CPU s/frame':>22} {'E_warp':>19} {'strength':>13}  {'E_warp/input':>12} {'carried/naive':>13}")
    print(f"  {'':18} {'naive':>7} {'1st':>7} {'rest':>7} {'naive':>9} {'carried':>9} {'naive':>6} {'carr.':>6}")
    for name in args.variant:
        measured = {}
        for kind, extra in (("naive", {"blend": 0, "end": f"{naive_frames}f"}), ("carried", {"end": f"{len(inputs)}f"})):
            output = work / f"{clip.stem}_{name}_{kind}"
            watch = timed_render(clip, f"{output}/", {**settings, **variant_settings(name), **extra})
            outputs = read_png_folder(output)
            seconds = watch.frame_seconds(1)
            measured[kind] = {"ewarp": warping_error(inputs[:len(outputs)], outputs),
                              "strength": strength(inputs, outputs), "first": seconds[0],
                              "rest": float(np.mean(seconds[1:])), "outputs": outputs}
        naive, carried = measured["naive"], measured["carried"]
        clip_frames[(name, clip.name)] = (inputs[::10], carried["outputs"][::10])
        cost = carried["rest"] / naive["rest"]
        flicker = carried["ewarp"] / ewarp_input
        power = carried["strength"] / naive["strength"]
        print(f"  {name:18} {naive['rest']:7.2f} {carried['first']:7.2f} {carried['rest']:7.3f} {naive['ewarp']:9.5f} "
              f"{carried['ewarp']:9.5f} {naive['strength']:6.1f} {carried['strength']:6.1f}  "
              f"{flicker:8.2f}x {verdict(flicker <= TARGET_EWARP_INPUT)} {cost:8.1%} {verdict(cost <= TARGET_CARRIED_COST)}")
        print(f"  {'':18} carried E_warp {carried['ewarp'] / naive['ewarp']:.2f}x naive's (target <= 1/3: "
              f"{verdict(carried['ewarp'] / naive['ewarp'] <= TARGET_EWARP_RATIO)}), strength {power:.2f}x naive's "
              f"(target >= 0.8: {verdict(power >= TARGET_STRENGTH_RATIO)})")
        results += [(f"{clip.name} {name}: E_warp <= 2x input", flicker <= TARGET_EWARP_INPUT),
                    (f"{clip.name} {name}: carried cost <= 10%", cost <= TARGET_CARRIED_COST),
                    (f"{clip.name} {name}: E_warp <= 1/3 naive", carried["ewarp"] / naive["ewarp"] <= TARGET_EWARP_RATIO),
                    (f"{clip.name} {name}: strength >= 0.8 naive", power >= TARGET_STRENGTH_RATIO)]


def time_shares(clip: Path, work: Path, args, results: list) -> None:
    """Where the time of a default render goes, over the frames after the first (the steady state).

    The first frame is a full dream and is left out, as it would be from a long video's average; the
    ffmpeg processes' CPU time is only known once they end and is counted in full.
    """
    settings = dict(max_side=args.timing_side, steps=args.steps, octaves=args.octaves, end=f"{args.timing_frames}f")
    output = work / "timing.mp4"
    watch = timed_render(clip, output, settings)
    info = media.probe_video(output)
    wall, cpu = watch.frame_seconds(0), watch.frame_seconds(1)
    children = watch.children_cpu
    decoder = children["decoder done"] - children["loop start"]
    encoder = children["encoder done"] - children["decoder done"]
    first_wall, first_cpu = watch.after_first_frame
    later_wall = {name: watch.wall[name] - first_wall.get(name, 0.0) for name in watch.wall}
    later_cpu = {name: watch.cpu[name] - first_cpu.get(name, 0.0) for name in watch.cpu}
    total_cpu, total_wall = sum(cpu[1:]) + decoder + encoder, sum(wall[1:])
    print(f"\ntime shares: {clip.name} at {info.width}x{info.height}, default settings, MP4 output, {len(wall)} frames "
          f"(first {wall[0]:.1f} s, then {np.mean(wall[1:]):.1f} s/frame wall, {np.mean(cpu[1:]):.1f} CPU s/frame); "
          "shares of the frames after the first")
    print(f"  {'':38} {'CPU share':>9} {'wall share':>10} {'wall ms/call':>12}")
    rows = [("kernel", "dream kernel")] + MOTION_PARTS + [("encode", "encode: writes to the MP4 sink"),
                                                         ("decode", "decode: waiting for source frames"),
                                                         ("scratch PNGs", "scratch PNGs (resume)")]
    for name, title in rows:
        cpu_share, wall_share = later_cpu.get(name, 0.0) / total_cpu, later_wall.get(name, 0.0) / total_wall
        print(f"  {title:38} {cpu_share:9.2%} {wall_share:10.2%} "
              f"{watch.wall[name] / max(1, watch.calls[name]) * 1000:12.1f}")
    for title, seconds in (("ffmpeg encoder process (x264)", encoder), ("ffmpeg decoder process", decoder)):
        print(f"  {title:38} {seconds / total_cpu:9.2%}")
    share = (sum(later_cpu.get(name, 0.0) for name in OVERHEAD_PARTS) + encoder) / total_cpu
    print(f"  {'flow+mask+cut+warp+blend+encode+x264':38} {share:9.2%}   "
          f"target <= 15% of CPU time: {verdict(share <= TARGET_OVERHEAD_SHARE)}")
    results.append(("480p time share", share <= TARGET_OVERHEAD_SHARE))


def peak_memory(clip: Path, args, results: list) -> None:
    settings = ["--max-side", str(args.max_side), "--steps", str(args.memory_steps), "--octaves", "2"]
    peaks = {}
    for frames in (MEMORY_BASELINE_FRAMES, args.memory_frames):
        command = [sys.executable, __file__, "--memory-child", str(clip), "--frames", str(frames)] + settings
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"\npeak memory: the child process failed:\n{run.stderr[-2000:]}")
            results.append(("peak memory", False))
            return
        peaks[frames] = json.loads(run.stdout.strip().splitlines()[-1])
    base, long = peaks[MEMORY_BASELINE_FRAMES], peaks[args.memory_frames]
    growth = long["peak_kib"] / base["peak_kib"] - 1
    print(f"\npeak memory (VmHWM of a child process): {clip.name}, max_side {args.max_side}, "
          f"steps {args.memory_steps}, octaves 2, MP4 output")
    print(f"  {base['frames']:4d} frames {base['peak_kib'] / 1024:8.0f} MiB")
    print(f"  {long['frames']:4d} frames {long['peak_kib'] / 1024:8.0f} MiB   {growth:+.1%}   "
          f"target within 10%: {verdict(abs(growth) <= TARGET_MEMORY_GROWTH)}")
    results.append(("peak memory", abs(growth) <= TARGET_MEMORY_GROWTH))


def memory_child(args) -> int:
    """Render ``--frames`` frames of a clip to MP4 and print the process's peak memory as JSON."""
    with tempfile.TemporaryDirectory() as work:
        output = Path(work) / "memory.mp4"
        dreamvideo.render_video(args.memory_child, output, quiet=True, max_side=args.max_side, steps=args.steps,
                                octaves=args.octaves, end=f"{args.frames}f")
        frames = media.count_frames(output)
    peak = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    if peak is None:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"frames": frames, "peak_kib": peak}))
    return 0


# --------------------------------------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", action="append", metavar="NAME_OR_PATH",
                        help="'generated', a file name in ../shared/media/clips, a path, or 'real' for every "
                             f"real clip; repeatable (default: {', '.join(DEFAULT_CLIPS)})")
    parser.add_argument("--variant", action="append", type=variant_name,
                        help="settings to measure, repeatable (default: old and default): 'default', mechanisms "
                             "joined by '+' over the old defaults, or 'default+' and mechanisms over the current "
                             "ones: " + "; ".join(f"{k}: {v}" for k, v in MECHANISMS.items() if v))
    parser.add_argument("--max-side", type=int, default=256, help="frame size of the comparison (default 256)")
    parser.add_argument("--frames", type=int, default=30, help="frames per clip (default 30)")
    parser.add_argument("--naive-frames", type=int, default=6, help="frames of each naive render (default 6)")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                        help=f"steps per octave (default: the project's, {DEFAULT_STEPS})")
    parser.add_argument("--octaves", type=int, default=DEFAULT_OCTAVES,
                        help=f"octaves (default: the project's, {DEFAULT_OCTAVES})")
    parser.add_argument("--steady-clip", action="append", metavar="NAME_OR_PATH",
                        help="clips of the steady-state run (default: generated and every real clip)")
    parser.add_argument("--steady-frames", type=int, default=400, help="frames of the steady-state run (400)")
    parser.add_argument("--steady-side", type=int, default=128, help="frame size of the steady-state run (128)")
    parser.add_argument("--steady-steps", type=int, default=4, help="steps of the steady-state run (4)")
    parser.add_argument("--steady-octaves", type=int, default=2, help="octaves of the steady-state run (2)")
    parser.add_argument("--naive-every", type=int, default=2,
                        help="the naive strength of the last window dreams every N-th frame of it (2)")
    parser.add_argument("--stills", nargs="+", default=[str(ROOT / "samples" / n) for n in ("coffee.png", "chelsea.png")],
                        help="stills of the clipped-pixel target (default: the sample photos)")
    parser.add_argument("--still-side", type=int, default=None, help="downscale the stills (default: full size)")
    parser.add_argument("--timing-side", type=int, default=854, help="frame size of the time-share run (854)")
    parser.add_argument("--timing-frames", type=int, default=5, help="frames of the time-share run (5)")
    parser.add_argument("--memory-frames", type=int, default=190,
                        help=f"frames of the long memory run, against {MEMORY_BASELINE_FRAMES} (190)")
    parser.add_argument("--memory-steps", type=int, default=3, help="steps of the memory runs (3)")
    parser.add_argument("--skip", action="append", default=[],
                        choices=("steady", "compare", "colour", "timing", "memory"),
                        help="leave a part out; repeatable")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 8 frames at 128 px, 4 steps, 2 octaves, the generated clip only; "
                             "120 steady-state frames; stills at 160 px; 3 frames at 320 px for the time "
                             "shares, 60 frames for the memory")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.max_side, args.steps, args.octaves, args.naive_frames = 8, 128, 4, 2, 3
        args.steady_frames, args.naive_every, args.still_side = 120, 4, 160
        args.timing_side, args.timing_frames, args.memory_frames = 320, 3, 60
        args.clip = args.clip or ["generated"]
        args.steady_clip = args.steady_clip or ["generated"]
    args.clip = args.clip or DEFAULT_CLIPS
    args.steady_clip = args.steady_clip or ["generated", "real"]
    args.variant = args.variant or ["old", "default"]
    for name in ("max_side", "frames", "steps", "octaves", "timing_side", "timing_frames", "memory_frames",
                 "memory_steps", "naive_frames", "steady_side", "steady_steps", "steady_octaves", "naive_every"):
        if getattr(args, name) < (2 if name.endswith("frames") else 1):
            parser.error(f"--{name.replace('_', '-')} is too small: {getattr(args, name)}")
    if args.steady_frames < 3 * WINDOW:
        parser.error(f"--steady-frames must be at least {3 * WINDOW}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.memory_child:
        return memory_child(args)
    print(f"dreamvideo {dreamvideo.__version__} video benchmark on {os.cpu_count()} CPU cores, "
          f"Python {platform.python_version()}")
    defaults = {**{f.name: f.default for f in dataclasses.fields(options.VideoOptions)},
                **{f.name: f.default for f in dataclasses.fields(DreamOptions)}}
    print("defaults under test: " + ", ".join(f"{k} {defaults[k]}" for k in OLD_DEFAULTS) +
          f"; carried steps {options.VIDEO_CARRIED_SHARE:.0%} of --steps when unset")
    print("old defaults: " + ", ".join(f"{k} {v}" for k, v in OLD_DEFAULTS.items()))
    print(f"variants: {', '.join(args.variant)}; naive: blend 0 with the variant's other settings")
    print(f"load average at start: {os.getloadavg()[0]:.1f} (wall times suffer when other jobs share the machine; "
          "costs are compared in CPU time)")
    print(f"comparison: max_side {args.max_side}, steps {args.steps}, octaves {args.octaves}, "
          f"{args.frames} frames per clip, PNG output")
    results: list[tuple[str, bool]] = []
    clip_frames: dict = {}
    with tempfile.TemporaryDirectory(prefix="dreamvideo-benchmark-") as tmp:
        work = Path(tmp)
        generated = make_generated_clip(work / "generated.mp4", frames=max(48, args.frames, args.timing_frames))
        warm_up()
        if "steady" not in args.skip:
            for label, clip in resolve_clips(args.steady_clip, generated):
                if clip is None:
                    print(f"\n{label}")
                    continue
                steady_state(label, clip, work, args, results)
        if "compare" not in args.skip:
            for label, clip in resolve_clips(args.clip, generated):
                if clip is None:
                    print(f"\n{label}")
                    continue
                compare_clip(label, clip, work, args, results, clip_frames)
        if "colour" not in args.skip:
            colour_clipping(work, args, results, clip_frames)
        if "timing" not in args.skip:
            time_shares(generated, work, args, results)
        if "memory" not in args.skip:
            memory_clip = CLIPS_FOLDER / MEMORY_CLIP
            if memory_clip.exists():
                peak_memory(memory_clip, args, results)
            else:
                print(f"\npeak memory: {memory_clip} is absent, skipped")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    passed = sum(ok for _, ok in results)
    print(f"\ntargets: {passed} of {len(results)} pass" + "".join(
        f"\n  FAIL {name}" for name, ok in results if not ok))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
