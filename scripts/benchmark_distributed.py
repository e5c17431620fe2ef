"""The render farm on one machine: throughput, overhead, seams, and a projected farm.

    python scripts/benchmark_distributed.py [--clip samples/coffee_pan.mp4] [--max-side N] [--segment 16]
                                            [--sweep] [--quick]

Printed (nothing is asserted; each target beside its figure):

- **Throughput.** The same clip and settings rendered by the single process (TensorFlow's default threads:
  all cores) and by ``--workers 2`` (2 workers x cores/2 threads), in this run, each after a warm-up render
  (model built and traced; Ray started), so the figures are the steady state. Start-up is printed apart.
  Target: farm/single frames-per-second ratio >= 1.0.
- **Overhead.** Frames dreamed / frames written at the defaults for a 1-minute 30 fps clip split for 8
  workers, from the segment plan (no rendering). Target <= 1.15.
- **Seams.** On the farm render (PNG frames, so no codec error enters): E_warp (``dreamvideo.metrics``) per
  consecutive pair and the mean absolute change between consecutive output frames; the worst pair touching
  a seam (the pair into a segment's first frame and every pair inside its cross-fade) against the median of
  the other pairs. Target <= 1.5x. Dream strength (mean |output - input|, grey levels) over the 3 frames
  after each seam against the 3 before it. Target within 10%.
- **Projected farm.** Wall time of a 5-minute 1080p 30 fps clip on 1, 8 and 32 workers, from the measured
  per-frame time and the segment plan; its assumptions are printed with it. Then the projected cost of one
  minute of 1080p at 30 fps: CPU hours, minutes on this machine's cores, minutes on 8 Ray workers.

``--sweep`` renders the clip with several --warmup/--overlap pairs and prints the seam figures of each
(how the defaults were chosen). The machine may be shared: wall times are noisy; the single and farm runs
alternate in the same process to share the noise.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dreamvideo import api, farm, media, metrics  # noqa: E402
from dreamvideo.options import FARM_OVERLAP, FARM_WARMUP, FarmOptions  # noqa: E402

FULL_HD = 1920 * 1080


def read_pngs(folder) -> list[np.ndarray]:
    return [media.read_image(path) for path in sorted(Path(folder).glob("frame_*.png"))]


def descendants_cpu() -> float:
    """CPU seconds (user + system) of every live process descending from this one (Ray's raylet, GCS and
    workers: a local Ray is started by the driver)."""
    parents, times = {}, {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    me = os.getpid()

    def descends(pid):
        while pid in parents and pid > 1:
            pid = parents[pid]
            if pid == me:
                return True
        return False

    return sum(cpu for pid, cpu in times.items() if pid != me and descends(pid))


def render_timed(clip, output, options, **farm_kwargs) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its descendants) of one render."""
    started, cpu, children = time.perf_counter(), time.process_time(), descendants_cpu()
    api.render_video(clip, output, quiet=True, **options, **farm_kwargs)
    return time.perf_counter() - started, time.process_time() - cpu + descendants_cpu() - children


def seam_figures(clip, frames_out, options, plan) -> dict:
    """E_warp and mean absolute change per pair, seam pairs against the others; strengths around seams."""
    sources = list(media.read_frames(clip, max_side=options.get("max_side")))
    warp = metrics.WarpingError()
    errors, changes = [], []
    for index, (source, output) in enumerate(zip(sources, frames_out)):
        error = warp.add(source, output)
        if index:
            errors.append(error)
            changes.append(float(np.abs(output.astype(np.float32) - frames_out[index - 1]).mean()))
    seam_pairs = set()  # pair p joins frames p and p + 1
    for segment in plan[1:]:
        seam_pairs.update(range(segment.start - 1, segment.start + segment.fade))
    inside = [p for p in range(len(errors)) if p not in seam_pairs]
    strength = [float(np.abs(o.astype(np.float32) - s).mean()) for s, o in zip(sources, frames_out)]
    out = {}
    for name, values in (("E_warp", errors), ("mean abs change", changes)):
        worst = max(values[p] for p in seam_pairs if p < len(values))
        median = float(np.median([values[p] for p in inside]))
        out[name] = (worst, median, worst / median)
    ratios = []
    for segment in plan[1:]:
        before = np.mean(strength[max(0, segment.start - 3):segment.start])
        after = np.mean(strength[segment.start:segment.start + 3])
        ratios.append(after / before)
    out["strength after/before"] = ratios
    return out


def print_seams(label: str, figures: dict) -> None:
    for name in ("E_warp", "mean abs change"):
        worst, median, ratio = figures[name]
        verdict = "meets" if ratio <= 1.5 else "misses"
        print(f"  {label:<22} {name:<16} worst seam pair {worst:8.4f}  median inside {median:8.4f}  "
              f"ratio {ratio:5.2f}  ({verdict} <= 1.5)")
    ratios = figures["strength after/before"]
    worst = max(abs(r - 1) for r in ratios)
    print(f"  {label:<22} strength after/before each seam: {', '.join(f'{r:.3f}' for r in ratios)}  "
          f"({'meets' if worst <= 0.10 else 'misses'} within 10%)")


def makespan(lengths: list[int], workers: int) -> int:
    """Frames on the busiest worker when segments go, longest first, to the least loaded worker."""
    loads = [0] * workers
    for length in sorted(lengths, reverse=True):
        loads[loads.index(min(loads))] += length
    return max(loads)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default=str(ROOT / "samples" / "coffee_pan.mp4"))
    parser.add_argument("--max-side", type=int, default=None, help="render size (default: the clip's)")
    parser.add_argument("--segment", type=int, default=16)
    parser.add_argument("--sweep", action="store_true", help="seam figures for several --warmup/--overlap pairs")
    parser.add_argument("--quick", action="store_true", help="a 128 px render with 3 steps (a smoke run)")
    args = parser.parse_args(argv)
    options = {"max_side": args.max_side}
    if args.quick:
        options = {"max_side": 128, "steps": 3, "octaves": 3}
    info = media.probe_video(args.clip)
    width, height = media.fit_size(info.width, info.height, options["max_side"])
    frames = media.count_frames(args.clip)
    cores = os.cpu_count() or 1
    print(f"clip {args.clip}: {frames} frames at {width}x{height}; {cores} cores (shared machine: wall times are "
          "noisy)")

    # -------------------------------------------------------------------------------- overhead, from the plan
    print("\nOverhead (frames dreamed / frames written, from the segment plan):")
    for total, workers, label in ((1800, 8, "1 min 30 fps, 8 workers"), (9000, 8, "5 min 30 fps, 8 workers"),
                                  (9000, 32, "5 min 30 fps, 32 workers"), (frames, 2, "this clip, 2 workers")):
        segment = farm.auto_segment(total, workers, FARM_OVERLAP)
        plan = farm.plan_segments(total, segment, FARM_WARMUP, FARM_OVERLAP)
        ratio = farm.dreamed_per_written(plan)
        print(f"  {label:<28} segment {segment:3d} ({len(plan):2d} segments), warmup {FARM_WARMUP}, overlap "
              f"{FARM_OVERLAP}: {ratio:.3f}" + ("  (target <= 1.15)" if total == 1800 else ""))

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        # ---------------------------------------------------------------------------- throughput
        print("\nThroughput (steady state, after a warm-up render in each mode):")
        single_start = render_timed(args.clip, f"{folder}/warm_single/", {**options, "end": "2f"})[0]
        single, single_cpu = render_timed(args.clip, f"{folder}/single/", options)
        mark = time.perf_counter()
        with farm.connected(FarmOptions(workers=2)):
            ray_start = time.perf_counter() - mark
            farm_warm = render_timed(args.clip, f"{folder}/warm_farm/", {**options, "end": "4f"}, workers=2,
                                     segment=2, warmup=0, overlap=0)[0]
            farmed, farmed_cpu = render_timed(args.clip, f"{folder}/farm_auto/", options, workers=2)
            render_timed(args.clip, f"{folder}/farm/", options, workers=2, segment=args.segment)
            if args.sweep:
                sweep = {}
                for warmup, overlap in ((0, 0), (4, 2), (8, 4), (12, 8)):
                    output = f"{folder}/sweep_{warmup}_{overlap}/"
                    api.render_video(args.clip, output, quiet=True, workers=2, segment=args.segment,
                                       warmup=warmup, overlap=overlap, **options)
                    sweep[(warmup, overlap)] = output
        auto = farm.auto_segment(frames, 2, FARM_OVERLAP)
        dreamed = sum(s.stop - s.begin for s in farm.plan_segments(frames, auto, FARM_WARMUP, FARM_OVERLAP))
        plan = farm.plan_segments(frames, args.segment, FARM_WARMUP, FARM_OVERLAP)
        print(f"  single process, {cores} threads  : wall {single:6.1f} s, CPU {single_cpu:6.1f} s for {frames} "
              f"frames = {frames / single:.3f} frames/s wall, {frames / single_cpu:.3f} frames per CPU-s "
              f"(first render, with the model build: {single_start:.1f} s)")
        print(f"  --workers 2, {max(1, cores // 2)} thread each: wall {farmed:6.1f} s, CPU {farmed_cpu:6.1f} s for "
              f"{frames} frames ({dreamed} dreamed, automatic segment {auto}) = {frames / farmed:.3f} frames/s wall, "
              f"{frames / farmed_cpu:.3f} frames per CPU-s (Ray start {ray_start:.1f} s, warm-up {farm_warm:.1f} s)")
        print(f"  ratio farm/single: wall {single / farmed:.2f}, CPU {single_cpu / farmed_cpu:.2f}  (target >= 1.0; "
              "CPU time holds up on a shared machine, wall time does not)")
        print(f"  CPU per frame dreamed: single {single_cpu / frames:.3f} s, farm {farmed_cpu / dreamed:.3f} s "
              f"(workers, the driver and Ray's own processes); a short clip pays {dreamed / frames:.2f} frames "
              "dreamed per frame written")

        # ---------------------------------------------------------------------------- seams
        print(f"\nSeams (--segment {args.segment}):")
        print_seams(f"farm w{FARM_WARMUP} o{FARM_OVERLAP}", seam_figures(args.clip, read_pngs(f"{folder}/farm"),
                                                                        options, plan))
        single_frames = read_pngs(f"{folder}/single")
        print_seams("single (same pairs)", seam_figures(args.clip, single_frames, options, plan))
        if args.sweep:
            for (warmup, overlap), output in sweep.items():
                swept = farm.plan_segments(frames, args.segment, warmup, overlap)
                print_seams(f"farm w{warmup} o{overlap}", seam_figures(args.clip, read_pngs(output), options, swept))

    # -------------------------------------------------------------------------------- projection
    per_frame = single_cpu / frames  # one core's seconds per frame at this size
    per_frame_hd = per_frame * FULL_HD / (width * height)
    total = 9000
    print(f"\nProjected farm: 5-minute 1080p 30 fps clip ({total} frames), defaults (--warmup {FARM_WARMUP}, "
          f"--overlap {FARM_OVERLAP}, automatic segments):")
    print(f"  assumes: each worker is one core like these at {per_frame:.2f} core-s per frame at {width}x{height} "
          f"(measured above: the single process's CPU time), scaled by pixels to {per_frame_hd:.1f} core-s "
          "per 1080p frame (the kernel's work grows with the pixel count); perfect scaling across cores and "
          "machines; frames cross the network faster than they are dreamed (6 MB a frame each way); "
          "segments go longest first to the least loaded worker; start-up not counted")
    for workers in (1, 8, 32):
        segment = farm.auto_segment(total, workers, FARM_OVERLAP)
        plan = farm.plan_segments(total, segment, FARM_WARMUP, FARM_OVERLAP)
        busiest = makespan([s.stop - s.begin for s in plan], workers)
        hours = busiest * per_frame_hd / 3600
        print(f"  {workers:2d} workers: segment {segment:3d}, {len(plan):3d} segments, overhead "
              f"{farm.dreamed_per_written(plan):.3f}, busiest worker {busiest:5d} frames -> {hours:6.1f} h")
    minute = 60 * 30
    segment = farm.auto_segment(minute, 8, FARM_OVERLAP)
    plan = farm.plan_segments(minute, segment, FARM_WARMUP, FARM_OVERLAP)
    busiest = makespan([s.stop - s.begin for s in plan], 8)
    print(f"\nProjected cost of one minute of 1080p at 30 fps ({minute} frames), same assumptions: "
          f"{minute * per_frame_hd / 3600:.2f} CPU h; {minute * per_frame_hd / cores / 60:.0f} min on these {cores} "
          f"cores (one process, {cores} threads); {busiest * per_frame_hd / 60:.0f} min on 8 Ray workers of one "
          f"core each (segment {segment}, {farm.dreamed_per_written(plan):.3f} frames dreamed per frame written, "
          f"busiest worker {busiest} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
