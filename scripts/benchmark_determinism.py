"""Which thread settings change a render's pixels, and what pinning them costs (prints figures, asserts nothing).

Each configuration runs in its own process (thread counts are fixed when TensorFlow starts): it dreams
frame 0 of samples/coffee_pan.mp4 (the first frame of the video command, a full dream) ``--repeats`` times
after one warm-up, and computes the DIS flow between frames 1 and 2 as many times, then reports the CPU and
wall time per call and how far the pixels and the flow are from the first configuration's. Under load the
wall times mean little; CPU times and differences still hold. Run with ``nice -n 10`` on a shared machine.

    python scripts/benchmark_determinism.py                  # 320x240, 6 steps, 4 octaves
    python scripts/benchmark_determinism.py --steps 1 --octaves 1 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "samples" / "coffee_pan.mp4"

# name, environment, TensorFlow intra-op threads, inter-op threads, OpenCV threads, CPU affinity
CONFIGS = [
    ("default", {}, None, None, None, None),
    ("default again", {}, None, None, None, None),
    ("tf intra 1", {}, 1, None, None, None),
    ("tf inter 1", {}, None, 1, None, None),
    ("tf intra 1 inter 1", {}, 1, 1, None, None),
    ("tf intra 4 (oversubscribed)", {}, 4, None, None, None),
    ("TF_NUM_INTRAOP_THREADS=1", {"TF_NUM_INTRAOP_THREADS": "1"}, None, None, None, None),
    ("opencv 1 thread", {}, None, None, 1, None),
    ("opencv 4 threads", {}, None, None, 4, None),
    ("affinity: one core", {}, None, None, None, {0}),
    ("affinity: one core, threads pinned", {}, "cpu_count", "cpu_count", "cpu_count", {0}),
    ("op determinism on", {"DV_OP_DETERMINISM": "1"}, None, None, None, None),
]


def child(args) -> None:
    import numpy as np

    sys.path.insert(0, str(ROOT))
    config = json.loads(args.child)
    if config["affinity"] is not None:
        os.sched_setaffinity(0, set(config["affinity"]))
    from dreamvideo import media, motion
    from dreamvideo.dreaming import dream_frame, make_dreamer
    from dreamvideo.runtime import import_tensorflow
    from dreamvideo.options import DreamOptions

    def count(value):
        return os.cpu_count() if value == "cpu_count" else value

    tf = import_tensorflow()
    if config["intra"] is not None:
        tf.config.threading.set_intra_op_parallelism_threads(count(config["intra"]))
    if config["inter"] is not None:
        tf.config.threading.set_inter_op_parallelism_threads(count(config["inter"]))
    if os.environ.get("DV_OP_DETERMINISM"):
        tf.config.experimental.enable_op_determinism()
    import cv2

    if config["opencv"] is not None:
        cv2.setNumThreads(count(config["opencv"]))
    frames = list(media.read_frames(CLIP, end_frame=3))
    opts = DreamOptions(steps=args.steps, octaves=args.octaves)
    dreamer = make_dreamer(opts)
    dream_frame(dreamer, frames[0].astype(np.float32), opts, 0)  # traces the step
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.repeats):
        out = dream_frame(dreamer, frames[0].astype(np.float32), opts, 0)
    dream_cpu, dream_wall = (time.process_time() - cpu) / args.repeats, (time.perf_counter() - wall) / args.repeats
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.repeats):
        _, backward = motion.flow_pair(frames[1], frames[2], "dis", "medium")
    flow_cpu, flow_wall = (time.process_time() - cpu) / args.repeats, (time.perf_counter() - wall) / args.repeats
    np.savez(config["save"], dream=out, flow=backward)
    print(json.dumps({"dream_cpu": dream_cpu, "dream_wall": dream_wall, "flow_cpu": flow_cpu, "flow_wall": flow_wall,
                      "intra": tf.config.threading.get_intra_op_parallelism_threads(),
                      "opencv": cv2.getNumThreads(), "cpus": len(os.sched_getaffinity(0))}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--octaves", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    import numpy as np

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.steps} steps, {args.octaves} "
          f"octaves, 320x240, {args.repeats} repeats")
    with tempfile.TemporaryDirectory() as folder:
        reference = None
        for k, (name, env, intra, inter, opencv, affinity) in enumerate(CONFIGS):
            save = os.path.join(folder, f"{k}.npz")
            config = {"intra": intra, "inter": inter, "opencv": opencv, "save": save,
                      "affinity": sorted(affinity) if affinity else None}
            run = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--octaves", str(args.octaves),
                                  "--repeats", str(args.repeats), "--child", json.dumps(config)],
                                 env={**os.environ, **env, "TF_CPP_MIN_LOG_LEVEL": "2"}, capture_output=True, text=True)
            if run.returncode:
                print(f"{name}: failed: {run.stderr.strip().splitlines()[-1:]}")
                continue
            facts = json.loads(run.stdout.strip().splitlines()[-1])
            saved = np.load(save)
            if reference is None:
                reference = {key: saved[key] for key in saved.files}
            pixels = np.abs(np.rint(saved["dream"]) - np.rint(reference["dream"]))
            flow = np.abs(saved["flow"] - reference["flow"]).max()
            print(f"{name:38s} intra {facts['intra']} opencv {facts['opencv']} cpus {facts['cpus']}: dream "
                  f"{facts['dream_cpu']:.2f} CPU s ({facts['dream_wall']:.2f} wall), flow {facts['flow_cpu'] * 1000:.0f} "
                  f"CPU ms; vs default: pixels max {pixels.max():.0f} mean {pixels.mean():.4f}, flow max {flow:.3g} px")


if __name__ == "__main__":
    main()
