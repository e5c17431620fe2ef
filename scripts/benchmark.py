"""Speed and memory of the dream kernel on this machine, against the machine's own matmul rate.

    python scripts/benchmark.py [--sizes 256 512 1024] [--repeats 3] [--layer block4_conv3] [--quick]

For the embedded ``vgg16`` cut at ``--layer``, with the default 512 px tiles, it prints:

* ms per gradient step at each size (one warm-up step, then the median of ``--repeats``; the minimum
  too, because other programs on a shared machine only ever make a step slower), in float32 and bfloat16.
  Rates and targets are given by wall-clock time and, in brackets, by CPU time (FLOPs / (CPU seconds /
  CPUs)): what the step would do with the CPUs to itself, which is what to compare on a busy machine;
* the step's achieved GFLOP/s. Convention: a convolution's forward FLOPs are 2 x multiply-adds over
  the full 3x3 windows (zero padding included), at the output sizes Keras infers; a step is the forward
  pass plus the input-gradient backward pass, which costs as much again, so a step = 2 x forward FLOPs
  (no weight gradients are computed; pooling, ReLU and the objective are not counted). The count of
  ``flops_per_pixel`` (scripts/flops.py) is checked here against one from the output shapes of a real run;
* TensorFlow's float32 and bfloat16 matmul GFLOP/s, measured in the same run, as this machine's
  reference, and the targets: float32 step >= 60% of float32 matmul; bfloat16 step >= 1.5x faster;
* the gradient cosine similarity of bfloat16 to float32 at 512 px (bfloat16 is kept only if >= 0.99);
* the peak resident memory (VmHWM) of dreaming a 4096x2160 still (1 octave, 1 step, tile 512) in a
  fresh process for each precision (target: within 6 GiB).

``--quick`` checks that everything runs: 256 px, one repeat, one matmul size, no 4K memory runs.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dreamvideo.kernel import Dreamer, tile_grid  # noqa: E402
from dreamvideo.models import load_model  # noqa: E402
from dreamvideo.objectives import layers  # noqa: E402
from dreamvideo.runtime import cpu_has_bf16, import_tensorflow, resolve_compute_dtype  # noqa: E402
from flops import conv_flops, flops_per_pixel  # noqa: E402

PRECISIONS = ("float32", "bfloat16")
TILE = 512
MEMORY_SIZE = (2160, 4096)  # (height, width)
MEMORY_TARGET_GIB = 6.0
GIB = 1024.0 ** 3


def timed(function, repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each of ``repeats`` calls of ``function``, after a warm-up call."""
    function()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def cpu_rate(flops: float, cpu_seconds: list[float]) -> float:
    """GFLOP/s the CPU time implies with all CPUs to ourselves: FLOPs / (median CPU s / CPUs)."""
    return flops / (statistics.median(cpu_seconds) / (os.cpu_count() or 1)) / 1e9


def matmul_gflops(dtype_name: str, n: int, repeats: int) -> tuple[float, float]:
    """GFLOP/s of an n x n by n x n matmul (2 n^3 FLOPs) in a tf.function: by median wall-clock time,
    and by median CPU time (see :func:`cpu_rate`)."""
    tf = import_tensorflow()
    dtype = tf.as_dtype(dtype_name)
    rng = tf.random.Generator.from_seed(0)
    a = tf.cast(rng.normal([n, n]), dtype)
    b = tf.cast(rng.normal([n, n]), dtype)

    @tf.function
    def product_sum(a, b):
        # Reduce to a scalar so that reading the result back costs nothing next to the product.
        return tf.reduce_sum(tf.cast(tf.matmul(a, b), tf.float32))

    wall, cpu = timed(lambda: product_sum(a, b).numpy(), max(repeats, 3))
    return 2.0 * n ** 3 / statistics.median(wall) / 1e9, cpu_rate(2.0 * n ** 3, cpu)


def flops_from_real_run(model, height: int, width: int) -> float:
    """Forward conv FLOPs counted from the output shapes of an actual run (independent of the model's
    own count, which uses Keras's shape inference)."""
    import keras

    convs = [layer for layer in model.keras_model.layers if isinstance(layer, keras.layers.Conv2D)]
    probe = keras.Model(model.keras_model.inputs, [layer.output for layer in convs])
    outputs = probe([np.zeros((1, height, width, 3), np.float32)])
    total = 0.0
    for layer, output in zip(convs, outputs):
        kh, kw, cin, cout = layer.get_weights()[0].shape
        _, out_h, out_w, _ = output.shape
        total += 2.0 * kh * kw * cin * cout * out_h * out_w
    return total


def step_flops(model, height: int, width: int) -> float:
    """FLOPs of one step on a (height, width) image: 2 x the forward conv FLOPs of its tiles."""
    return 2.0 * sum(conv_flops(model, y1 - y0, x1 - x0) for y0, y1, x0, x1 in tile_grid(height, width, TILE))


def sample_image(height: int, width: int) -> np.ndarray:
    """A photo (the cat sample) resized to (height, width), uint8 RGB; a smooth texture without it."""
    import cv2

    photo = cv2.imread(str(ROOT / "samples" / "chelsea.png"))
    if photo is None:
        rng = np.random.default_rng(0)
        photo = rng.uniform(0, 255, (height // 8 + 1, width // 8 + 1, 3)).astype(np.uint8)
    return cv2.cvtColor(cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC), cv2.COLOR_BGR2RGB)


def vm_hwm_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def memory_child(layer: str, precision: str) -> None:
    """In a fresh process: dream one 4096x2160 still; print VmHWM before and after it (bytes), and seconds."""
    objective = layers(layer)
    dreamer = Dreamer(load_model("vgg16", objective.layers, precision), objective, tile_size=TILE)
    dreamer.dream(sample_image(64, 64), octaves=1, steps=1)  # trace and load everything first
    baseline = vm_hwm_bytes()
    start = time.perf_counter()
    dreamer.dream(sample_image(*MEMORY_SIZE), octaves=1, steps=1)
    print(baseline, vm_hwm_bytes(), time.perf_counter() - start)


def measure_memory(layer: str, precision: str) -> tuple[float, float, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--memory-child", precision, "--layer", layer],
        capture_output=True, text=True, check=True)
    baseline, peak, seconds = result.stdout.split()[-3:]
    return int(baseline) / GIB, int(peak) / GIB, float(seconds)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024],
                        help="square image sides in pixels (default 256 512 1024)")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per figure (default 3)")
    parser.add_argument("--layer", default="block4_conv3", help="objective layer (default block4_conv3)")
    parser.add_argument("--quick", action="store_true", help="256 px, one repeat, no 4K memory runs")
    parser.add_argument("--memory-child", choices=PRECISIONS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.layer, args.memory_child)
        return 0
    if args.quick:
        args.sizes, args.repeats = [256], 1
    matmul_sizes = [2048] if args.quick else [2048, 4096]

    tf = import_tensorflow()
    objective = layers(args.layer)
    models = {p: load_model("vgg16", objective.layers, p) for p in PRECISIONS}
    dreamers = {p: Dreamer(m, objective, tile_size=TILE) for p, m in models.items()}
    load = os.getloadavg()[0]
    print(f"dreamvideo kernel benchmark: vgg16 to {args.layer}, tile {TILE}; TensorFlow {tf.__version__}, "
          f"{os.cpu_count()} CPUs, avx512_bf16: {'yes' if cpu_has_bf16() else 'no'}, "
          f"auto precision = {resolve_compute_dtype('auto')}; load average at start {load:.2f}")
    if load > 0.5 * (os.cpu_count() or 1):
        print("  (other programs are using the CPUs: figures below are slower than this machine can do)")

    # FLOP count: the model's own (Keras shape inference) against output shapes of a real run.
    model = models["float32"]
    print("\nFLOPs: forward conv FLOPs = 2 x multiply-adds (full 3x3 windows); a step = 2 x forward "
          "(forward + input gradient)")
    for height, width in ((512, 512), (517, 300)):
        counted = flops_from_real_run(model, height, width)
        own = conv_flops(model, height, width)
        print(f"  {height}x{width}: conv_flops {own / 1e9:.3f} GFLOP, from a real run's output shapes "
              f"{counted / 1e9:.3f} GFLOP: {'agree' if abs(own - counted) <= 1e-9 * counted else 'DIFFER'}")
    print(f"  flops_per_pixel() = {flops_per_pixel(model):,.0f} forward FLOPs per input pixel")

    print("\nmatmul reference (tf.function, square; GFLOP/s by median wall time [by median CPU time]):")
    reference, reference_cpu = {}, {}
    for precision in PRECISIONS:
        rates = {n: matmul_gflops(precision, n, args.repeats) for n in matmul_sizes}
        reference[precision] = max(wall for wall, _ in rates.values())
        reference_cpu[precision] = max(cpu for _, cpu in rates.values())
        print(f"  {precision:8s} " + "  ".join(f"{n}: {w:5.1f} [{c:5.1f}]" for n, (w, c) in rates.items())
              + f"  -> reference {reference[precision]:.1f} [{reference_cpu[precision]:.1f}]")

    print(f"\nstep, {args.repeats} after a warm-up: wall ms median (min); GFLOP/s and share of the matmul "
          "reference by median wall time [by median CPU time]")
    print(f"  {'size':>9s} {'precision':9s} {'GFLOP':>6s} {'ms/step':>15s} {'GFLOP/s':>15s} {'of matmul':>13s}")
    wall_ms, cpu_s = {}, {}
    for size in args.sizes:
        image = sample_image(size, size)
        flops = step_flops(model, size, size)
        for precision in PRECISIONS:
            dreamer = dreamers[precision]
            wall, cpu = timed(lambda: dreamer.dream(image, octaves=1, steps=1, seed=size), args.repeats)
            median = statistics.median(wall)
            wall_ms[size, precision], cpu_s[size, precision] = median * 1e3, statistics.median(cpu)
            rate, rate_cpu = flops / median / 1e9, cpu_rate(flops, cpu)
            print(f"  {size:>4d}x{size:<4d} {precision:9s} {flops / 1e9:6.1f} {median * 1e3:7.0f} "
                  f"({min(wall) * 1e3:5.0f}) {rate:6.1f} [{rate_cpu:6.1f}] {rate / reference[precision]:5.0%} "
                  f"[{rate_cpu / reference_cpu[precision]:5.0%}]")

    print("\ntargets (by wall time [by CPU time]):")
    for size in args.sizes:
        flops = step_flops(model, size, size)
        share = flops / (wall_ms[size, "float32"] / 1e3) / 1e9 / reference["float32"]
        share_cpu = flops / (cpu_s[size, "float32"] / (os.cpu_count() or 1)) / 1e9 / reference_cpu["float32"]
        speedup = wall_ms[size, "float32"] / wall_ms[size, "bfloat16"]
        speedup_cpu = cpu_s[size, "float32"] / cpu_s[size, "bfloat16"]
        print(f"  {size:>4d} px: float32 step at {share:.0%} [{share_cpu:.0%}] of float32 matmul (>= 60%: "
              f"{verdict(share >= 0.6)} [{verdict(share_cpu >= 0.6)}]); bfloat16 {speedup:.2f}x "
              f"[{speedup_cpu:.2f}x] faster (>= 1.5x: {verdict(speedup >= 1.5)} [{verdict(speedup_cpu >= 1.5)}])")

    image = sample_image(512, 512).astype(np.float32)
    g32, g16 = (dreamers[p].gradient(image, shift=(0, 0)) for p in PRECISIONS)
    cosine = float(np.sum(g32.astype(np.float64) * g16) / np.linalg.norm(g32) / np.linalg.norm(g16))
    print(f"  gradient cosine bfloat16 vs float32 at 512 px: {cosine:.4f} (bfloat16 kept if >= 0.99: "
          f"{verdict(cosine >= 0.99)})")

    height, width = MEMORY_SIZE
    if args.quick:
        print(f"  peak memory dreaming {width}x{height}: skipped (--quick)")
    for precision in () if args.quick else PRECISIONS:
        baseline, peak, seconds = measure_memory(args.layer, precision)
        print(f"  peak memory dreaming {width}x{height}, {precision}, 1 octave, 1 step, tile {TILE}: "
              f"VmHWM {peak:.2f} GiB (TensorFlow and model alone {baseline:.2f} GiB; step {seconds:.0f} s) "
              f"(<= {MEMORY_TARGET_GIB:.0f} GiB: {verdict(peak <= MEMORY_TARGET_GIB)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
