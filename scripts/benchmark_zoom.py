"""Infinite zoom at the default settings: speed, colour drift, the loop seam and the GIF's size.

    python scripts/benchmark_zoom.py [--input samples/coffee.png | --input noise] [--size 512x512]
                                     [--frames 120] [--steps N] [--variants on off loop] [--quick]
                                     [--keep DIR]

The start picture is samples/coffee.png scaled to cover ``--size`` and cropped about its centre (or, with
``--input noise``, dreamvideo's own seeded noise canvas at ``--size``). Three renders at the default zoom
settings, each to a folder of PNGs so no codec error enters the metrics:

- *on*: colour coherence on (the default, ``colour_match=1``);
- *off*: ``colour_match=0``;
- *loop*: ``loop=True`` (default loop fade), colour coherence on.

Printed for each: seconds per rendered frame, wall clock and this process's CPU time (the model is built
and traced beforehand; a loop renders ``loop_fade`` frames more than it outputs); the mean CIELAB lightness
L* and chroma C* = sqrt(a*^2 + b*^2) of the last frame against the first, and their relative change
(target with colour coherence on: both within 5%); for *loop*, the last-to-first mean absolute difference
(uint8 RGB) over the median difference between consecutive frames (target at most 1.5), and, since the
cross-fade sits inside the loop rather than at its seam, the largest consecutive step anywhere in the
loop (the wrap included) over the same median. Then the loop's frames are encoded with dreamvideo's GIF
writer (``media.GifSink``) at 24 fps: size in MB (target: well under 10 MB for 120 frames of 512x512; other
sizes are also shown scaled to that pixel count) and the mean absolute error of the decoded GIF against the
PNGs, beside other palette/dither choices encoded by ffmpeg directly and dreamvideo's MP4 for comparison.
Nothing is asserted.

``--quick`` is 256x256 and 24 frames. ``--keep DIR`` keeps the PNG folders and, when run again with the
same settings, reuses them (with their recorded timings) instead of rendering again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dreamvideo  # noqa: E402
from dreamvideo import media  # noqa: E402
from dreamvideo.api import render_zoom  # noqa: E402
from dreamvideo.dreaming import make_dreamer  # noqa: E402
from dreamvideo.options import DreamOptions, ZoomOptions  # noqa: E402
from dreamvideo.zoom import noise_canvas, parse_size  # noqa: E402

DEFAULT_INPUT = ROOT / "samples" / "coffee.png"
TARGET_COLOUR_DRIFT = 0.05  # |last - first| / first, for L* and C*, colour coherence on
TARGET_LOOP_RATIO = 1.5  # last-to-first difference / median consecutive difference
TARGET_GIF_MB = 10.0
GIF_FPS = 24

VARIANTS = {
    "on": dict(colour_match=1.0),
    "off": dict(colour_match=0.0),
    "loop": dict(loop=True),
}

# Other GIF encodings to set the writer's choice against: (name, palettegen options, paletteuse options).
GIF_ALTERNATIVES = [
    ("256 colours, bayer 3 (the old writer)", "max_colors=256:stats_mode=full",
     "dither=bayer:bayer_scale=3:diff_mode=rectangle"),
    ("256 colours, bayer 5", "max_colors=256:stats_mode=full", "dither=bayer:bayer_scale=5"),
    ("256 colours, sierra2_4a", "max_colors=256:stats_mode=full", "dither=sierra2_4a"),
    ("256 colours, no dither", "max_colors=256:stats_mode=full", "dither=none"),
    ("128 colours, bayer 5, stats_mode=diff", "max_colors=128:stats_mode=diff", "dither=bayer:bayer_scale=5"),
    ("64 colours, bayer 5", "max_colors=64:stats_mode=full", "dither=bayer:bayer_scale=5"),
    ("32 colours, no dither", "max_colors=32:stats_mode=full", "dither=none"),
    ("16 colours, no dither", "max_colors=16:stats_mode=full", "dither=none"),
]
# The figure the GIF target is about: 120 frames of 512x512.
TARGET_GIF_PIXELS = 120 * 512 * 512


# ------------------------------------------------------------------------------------------ inputs


def start_picture(source: str, width: int, height: int, seed: int) -> np.ndarray:
    """uint8 (height, width, 3) RGB: a still scaled to cover the size and cropped about its centre, or noise."""
    if source == "noise":
        return noise_canvas(width, height, seed)
    image = media.read_image(source)
    scale = max(width / image.shape[1], height / image.shape[0])
    size = (max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale)))
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return np.ascontiguousarray(image[top:top + height, left:left + width])


def png_frames(folder: Path) -> list[np.ndarray]:
    return [media.read_image(path) for path in sorted(folder.glob("frame_*.png"))]


# ------------------------------------------------------------------------------------------ metrics


def lightness_and_chroma(frame: np.ndarray) -> tuple[float, float]:
    """Mean CIELAB L* (0-100) and mean chroma sqrt(a*^2 + b*^2) of a uint8 RGB frame."""
    lab = cv2.cvtColor(frame.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return float(lab[..., 0].mean()), float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(cv2.absdiff(a, b).mean())


def relative(new: float, old: float) -> float:
    return (new - old) / old if old else float("inf")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# ------------------------------------------------------------------------------------------ rendering


def render_variant(name: str, start: Path, folder: Path, settings: dict, keep: bool) -> dict:
    """Render one variant to ``folder`` (PNGs) unless a kept one with these settings exists; its timing."""
    stamp = folder.parent / f"{name}.benchmark.json"
    if keep and folder.is_dir() and stamp.is_file():
        record = json.loads(stamp.read_text())
        if record.get("settings") == settings:
            print(f"  {name}: reusing the frames in {folder}", flush=True)
            return record
    shutil.rmtree(folder, ignore_errors=True)
    print(f"  {name}: rendering ...", flush=True)
    options = dict(settings)
    wall, cpu = time.perf_counter(), time.process_time()
    render_zoom(str(start), f"{folder}/", quiet=True, restart=True, **options)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    frames = settings["frames"]
    overlap = 0
    if settings.get("loop"):
        overlap = min(24, max(1, frames // 4)) if settings.get("loop_fade") is None else settings["loop_fade"]
    record = {"settings": settings, "wall": wall, "cpu": cpu, "rendered": frames + overlap,
              "overlap": overlap}
    stamp.write_text(json.dumps(record, indent=1))
    return record


def warm_up(dream_settings: dict) -> float:
    """Build the model and trace the kernel once, so no render's timing includes them; seconds taken."""
    start = time.perf_counter()
    from dreamvideo.dreaming import dream_frame

    options = DreamOptions(**{k: v for k, v in dream_settings.items() if k in DreamOptions.__dataclass_fields__})
    dreamer = make_dreamer(options)
    dream_frame(dreamer, np.full((64, 64, 3), 128, np.float32), options, 0, steps=1)
    return time.perf_counter() - start


# ------------------------------------------------------------------------------------------ GIF


def gif_error(path: Path, frames: list[np.ndarray]) -> float:
    decoded = list(media.read_frames(path))
    if len(decoded) != len(frames):
        return float("nan")
    return statistics.fmean(mean_abs(a, b) for a, b in zip(decoded, frames))


def encode_with_graph(frames: list[np.ndarray], palettegen: str, paletteuse: str, path: Path) -> float:
    """Encode a GIF with one palette from all frames, as the GIF writer does but with other options; seconds."""
    sink_class = type("TrialGifSink", (media.GifSink,), {"palettegen": palettegen, "paletteuse": paletteuse})
    start = time.perf_counter()
    with sink_class(path, Fraction(GIF_FPS), quality=media.DEFAULT_CRF, loop=True, codec=None, audio_from=None,
                    audio_start=0.0) as sink:
        for frame in frames:
            sink.write(frame)
    return time.perf_counter() - start


def encode_with_writer(frames: list[np.ndarray], path: Path) -> float:
    """Encode with dreamvideo's own writer for the path's kind (GIF or MP4 at its default quality); seconds."""
    start = time.perf_counter()
    with media.open_sink(path, fps=GIF_FPS, loop=True) as sink:
        for frame in frames:
            sink.write(frame)
    return time.perf_counter() - start


# ------------------------------------------------------------------------------------------ main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default=str(DEFAULT_INPUT),
                        help="start still (scaled and centre-cropped to --size), or 'noise'")
    parser.add_argument("--size", default=None, help="WxH (default 512x512; 256x256 with --quick)")
    parser.add_argument("--frames", type=int, default=None, help="output frames (default 120; 24 with --quick)")
    parser.add_argument("--steps", type=int, default=None,
                        help="dream steps of the first frame (default: dreamvideo's); carried frames take "
                             "30%% of them")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--quick", action="store_true", help="256x256, 24 frames")
    parser.add_argument("--no-gif-alternatives", action="store_true",
                        help="only the GIF writer's own encoding, not the comparison table")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the PNG folders here and reuse them when the settings match")
    args = parser.parse_args(argv)

    size = args.size or ("256x256" if args.quick else ZoomOptions.size)
    frames = args.frames or (24 if args.quick else ZoomOptions.frames)
    width, height = parse_size(size)
    common = {"frames": frames, "size": size}
    if args.steps is not None:
        common["steps"] = args.steps
    defaults = DreamOptions.__dataclass_fields__
    steps = args.steps if args.steps is not None else defaults["steps"].default
    source = "noise" if args.input == "noise" else os.path.relpath(args.input, Path.cwd())

    print(f"dreamvideo {dreamvideo.__version__} zoom benchmark on {os.cpu_count()} CPU cores "
          f"({platform.processor() or platform.machine()}), Python {platform.python_version()}")
    print(f"start: {source if source == 'noise' else source + ' scaled and centre-cropped'} at {width}x{height}; "
          f"{frames} frames; zoom {ZoomOptions.zoom}/frame, steps {steps} (first frame) / "
          f"{max(1, round(steps * 0.3))} (carried), octaves {defaults['octaves'].default}, "
          f"step size {defaults['step_size'].default}, precision {defaults['precision'].default}")

    with tempfile.TemporaryDirectory(prefix="dreamvideo-zoom-benchmark-") as tmp:
        work = args.keep.resolve() if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        start = work / "start.png"
        media.write_image(start, start_picture(args.input, width, height, DreamOptions.seed))
        print(f"model build and trace: {warm_up(common):.1f} s (not counted below)", flush=True)
        records, results = {}, {}
        for name in args.variants:
            settings = {**common, **VARIANTS[name]}
            records[name] = render_variant(name, start, work / name, settings, keep=args.keep is not None)
            results[name] = png_frames(work / name)

        print()
        print("speed (seconds per rendered frame, the first frame's full steps included)")
        for name, record in records.items():
            print(f"  {name:5s} {record['wall'] / record['rendered']:6.2f} s wall, "
                  f"{record['cpu'] / record['rendered']:6.2f} s CPU over {record['rendered']} frames"
                  + (f" ({record['overlap']} of them overlap)" if record["overlap"] else ""))

        print()
        print(f"colour drift, last frame against the first (target with colour coherence on: within "
              f"{TARGET_COLOUR_DRIFT:.0%})")
        print(f"  {'variant':22s} {'L* first':>8s} {'L* last':>8s} {'change':>7s}   "
              f"{'C* first':>8s} {'C* last':>8s} {'change':>7s}")
        for name, label in (("on", "on (colour_match=1)"), ("off", "off (colour_match=0)"),
                            ("loop", "loop (colour_match=1)")):
            if name not in results:
                continue
            (l0, c0), (l1, c1) = lightness_and_chroma(results[name][0]), lightness_and_chroma(results[name][-1])
            dl, dc = relative(l1, l0), relative(c1, c0)
            mark = ""
            if name != "off":
                mark = "  " + verdict(abs(dl) <= TARGET_COLOUR_DRIFT and abs(dc) <= TARGET_COLOUR_DRIFT)
            print(f"  {label:22s} {l0:8.2f} {l1:8.2f} {dl:+7.1%}   {c0:8.2f} {c1:8.2f} {dc:+7.1%}{mark}")

        if "loop" in results:
            loop = results["loop"]
            steps_between = [mean_abs(a, b) for a, b in zip(loop, loop[1:])]
            median = statistics.median(steps_between)
            seam = mean_abs(loop[-1], loop[0])
            around = steps_between + [seam]
            worst = int(np.argmax(around))
            print()
            print(f"loop seam (mean absolute difference of uint8 RGB; target ratio <= {TARGET_LOOP_RATIO})")
            print(f"  last -> first {seam:.2f} / median consecutive {median:.2f} = {seam / median:.2f}  "
                  f"{verdict(seam / median <= TARGET_LOOP_RATIO)}")
            print(f"  largest step in the loop: {around[worst]:.2f} (frame {worst} -> {(worst + 1) % len(loop)}) "
                  f"= {around[worst] / median:.2f} x median")

        gif_frames = results.get("loop") or next(iter(results.values()))
        gif_source = "loop" if "loop" in results else next(iter(results))
        scale = TARGET_GIF_PIXELS / (len(gif_frames) * width * height)
        print()
        print(f"GIF of the {gif_source} frames ({len(gif_frames)} frames, {width}x{height}, {GIF_FPS} fps; target well "
              f"under {TARGET_GIF_MB:.0f} MB for 120 frames of 512x512); error = mean |decoded - PNG| in grey levels")
        if scale != 1:
            print(f"  (\"120 x 512\" scales the size by {scale:.2f}: a GIF's size goes with its pixel count)")

        def row(label: str, path: Path, seconds: float, judge: bool = False) -> None:
            megabytes = path.stat().st_size / 1e6
            mark = f"  {verdict(megabytes * scale < TARGET_GIF_MB)}" if judge else ""
            print(f"  {label:38s} {megabytes:6.2f} MB{'' if scale == 1 else f' (120 x 512: {megabytes * scale:5.1f})'}"
                  f"  error {gif_error(path, gif_frames):5.2f}  ({seconds:.1f} s){mark}")

        gif = work / f"{gif_source}.gif"
        row("dreamvideo GIF writer (128, bayer 5)", gif, encode_with_writer(gif_frames, gif), judge=True)
        if not args.no_gif_alternatives:
            for index, (label, palettegen, paletteuse) in enumerate(GIF_ALTERNATIVES):
                path = work / f"alternative{index}.gif"
                row(label, path, encode_with_graph(gif_frames, palettegen, paletteuse, path))
            mp4 = work / f"{gif_source}.mp4"
            row("dreamvideo MP4, crf 18 (comparison)", mp4, encode_with_writer(gif_frames, mp4))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
