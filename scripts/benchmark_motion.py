"""Milliseconds per call of dreamvideo.motion's per-frame work, at common video sizes.

    python scripts/benchmark_motion.py [--repeats 7] [--clip PATH] [--threads N]

Frames are a real clip's (the default: ../shared/media/clips/test.webm when present, resized to each
size) or, without one, a smooth random texture shifted by a few pixels. Each row shows, over
``--repeats`` calls after one warm-up call, the median and the fastest wall-clock time and the least
CPU time of the process (all threads together; on a busy machine the CPU time is the steadier guide to
the cost itself, and with --threads 1 it is the single-core cost). Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dreamvideo import colour, media, motion  # noqa: E402

SIZES = [(640, 360), (854, 480), (1280, 720)]
DEFAULT_CLIP = Path(__file__).resolve().parents[2] / "shared" / "media" / "clips" / "test.webm"


def timing_ms(function, repeats: int) -> tuple[float, float, float]:
    """(median wall, fastest wall, least CPU) milliseconds per call."""
    function()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return statistics.median(wall), min(wall), min(cpu)


def frame_pair(clip: Path | None, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    if clip is not None and clip.exists():
        frames = [frame for _, frame in zip(range(31), media.read_frames(clip))]
        previous, current = frames[-2], frames[-1]
        return (cv2.resize(previous, (width, height), interpolation=cv2.INTER_AREA),
                cv2.resize(current, (width, height), interpolation=cv2.INTER_AREA))
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.random((height, width, 3), dtype=np.float32), (0, 0), 2.0)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    moved = cv2.warpAffine(texture, np.float32([[1, 0, 3], [0, 1, -2]]), (width, height),
                           borderMode=cv2.BORDER_REFLECT_101)
    return texture, moved


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--threads", type=int, default=None,
                        help="OpenCV threads (default: OpenCV's choice); 1 gives figures a busy machine "
                             "disturbs less")
    args = parser.parse_args(argv)
    if args.threads is not None:
        cv2.setNumThreads(args.threads)

    print(f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads; {args.repeats} calls each, ms per call")
    for width, height in SIZES:
        previous, current = frame_pair(args.clip, width, height)
        dream = previous.astype(np.float32)
        forward, backward = motion.flow_pair(previous, current)
        weight = motion.consistency_weight(forward, backward)
        carried = motion.warp(dream, backward)
        rows = {}
        for method, preset in (("dis", "ultrafast"), ("dis", "fast"), ("dis", "medium"),
                               ("farneback", "medium")):
            name = f"flow_pair {method}" + (f" {preset}" if method == "dis" else "")
            rows[name] = timing_ms(lambda: motion.flow_pair(previous, current, method, preset), args.repeats)
        rows["backward_flow dis medium"] = timing_ms(lambda: motion.backward_flow(previous, current),
                                                     args.repeats)
        rows["warp float32 RGB, linear"] = timing_ms(lambda: motion.warp(dream, backward), args.repeats)
        rows["warp uint8 RGB, linear"] = timing_ms(lambda: motion.warp(previous, backward), args.repeats)
        rows["consistency_weight"] = timing_ms(lambda: motion.consistency_weight(forward, backward),
                                               args.repeats)
        rows["blend"] = timing_ms(lambda: motion.blend(carried, current, weight, 0.7), args.repeats)
        rows["is_scene_cut"] = timing_ms(
            lambda: motion.is_scene_cut(previous, current, weight, backward=backward), args.repeats)
        rows["affine_warp uint8 lanczos"] = timing_ms(
            lambda: motion.affine_warp(previous, zoom=1.02, angle=0.5), args.repeats)
        rows["affine_warp float32 lanczos"] = timing_ms(
            lambda: motion.affine_warp(dream, zoom=1.02, angle=0.5), args.repeats)
        stats = colour.colour_stats(previous)
        rows["match_colour uint8"] = timing_ms(lambda: colour.match_colour(current, stats, 0.5), args.repeats)
        carry = ("flow_pair dis medium", "consistency_weight", "warp float32 RGB, linear", "blend",
                 "is_scene_cut")
        rows["video carry: flow_pair dis medium + weight + warp + blend + cut"] = tuple(
            sum(rows[name][i] for name in carry) for i in (0, 1, 2))

        print(f"\n{width}x{height}{'':<52}median  fastest      cpu")
        for name, (median, fastest, cpu) in rows.items():
            print(f"  {name:<62} {median:8.2f} {fastest:8.2f} {cpu:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
