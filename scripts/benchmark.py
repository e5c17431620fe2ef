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

``--models`` prints instead the default network (``mobilenet_v1`` at its default layers) against ``vgg16`` to
``block4_conv3`` in the same run, float32, each at its own defaults: CPU s per step and per still frame at
512x512 and 1920x1080, a first and a carried 1080p video frame (the kernel's part: carried steps at the
carried octaves; the flow is the same for both networks), the step's GFLOP/s against the float32 matmul's and
the depthwise layers' bytes per second against a memory copy's, and the projected cost of one minute of 1080p
at 30 fps on these CPUs and on 8 Ray workers like them. Per-frame figures at 1080p are the per-step figures
times the octaves' area (marked "est.") unless ``--measure-frames``.

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


def memory_copy_gbs(megabytes: int = 256, repeats: int = 3) -> float:
    """GB/s of a large float32 array copy (read + write counted) by CPU time: the memory bandwidth reference."""
    a = np.ones(megabytes * 2 ** 20 // 4, np.float32)
    b = np.empty_like(a)
    times = []
    for _ in range(repeats):
        start = time.process_time()
        np.copyto(b, a)
        times.append(time.process_time() - start)
    return 2 * a.nbytes / min(times) / 1e9


def depthwise_bytes(model, height: int, width: int) -> float:
    """Bytes a step's depthwise convolutions move at least: each reads its input and writes its output once,
    forward and in the input-gradient backward pass (float32)."""
    import keras

    convs = [layer for layer in model.keras_model.layers if isinstance(layer, keras.layers.DepthwiseConv2D)]
    if not convs:
        return 0.0
    probe = keras.Model(model.keras_model.inputs, [layer.output for layer in convs])
    specs = probe.compute_output_spec(keras.KerasTensor((1, int(height), int(width), 3)))
    specs = specs if isinstance(specs, (list, tuple)) else [specs]
    total = 0.0
    for layer, spec in zip(convs, specs):
        _, h, w, c = spec.shape
        stride = layer.strides[0]
        total += 4.0 * h * w * c * (1 + stride * stride)  # output + input elements
    return 2 * total


def octave_area(height: int, width: int, octaves, scale, chosen=slice(None)) -> float:
    """The octaves' total area (chosen ones) as a multiple of the full size's."""
    from dreamvideo.kernel import octave_sizes

    sizes = octave_sizes(height, width, octaves, scale, 32)[chosen]
    return sum(h * w for h, w in sizes) / (height * width)


def compare_models(args) -> int:
    """The default network against VGG16 in one run (see the module docstring)."""
    from dreamvideo.models import DEFAULT_MODEL, REGISTRY
    from dreamvideo.options import DreamOptions
    from dreamvideo.options import VIDEO_CARRIED_SHARE as CARRIED_STEPS_SHARE, VideoOptions
    from dreamvideo.video import carried_octaves

    tf = import_tensorflow()
    opts = DreamOptions()
    carried_steps = max(1, round(opts.steps * CARRIED_STEPS_SHARE))
    carried = carried_octaves(VideoOptions().carried_octaves)
    sizes = [(512, 512), (1080, 1920)] if not args.quick else [(256, 256)]
    repeats = args.repeats
    print(f"models in one run, float32, tile {TILE}: defaults {opts.steps} steps x {opts.octaves} octaves "
          f"(scale {opts.octave_scale}); carried frames {carried_steps} steps at octaves {carried}; "
          f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    matmul = max(matmul_gflops("float32", n, repeats)[1] for n in ([2048] if args.quick else [2048, 4096]))
    bandwidth = memory_copy_gbs()
    print(f"  references by CPU time: float32 matmul {matmul:.1f} GFLOP/s; memory copy {bandwidth:.1f} GB/s")
    figures = {}
    for name in (DEFAULT_MODEL, "vgg16"):
        spec = REGISTRY[name]
        objective = layers(*spec.default_layers)
        model = load_model(name, objective.layers, "float32")
        dreamer = Dreamer(model, objective, tile_size=TILE)
        for height, width in sizes:
            image = sample_image(height, width)
            _, cpu = timed(lambda: dreamer.dream(image, octaves=1, steps=1, seed=1), repeats)
            step = statistics.median(cpu)
            flops = step_flops(model, height, width)
            moved = depthwise_bytes(model, height, width)
            still_area = octave_area(height, width, opts.octaves, opts.octave_scale)
            carried_area = octave_area(height, width, opts.octaves, opts.octave_scale, carried)
            if args.measure_frames or height * width <= 512 * 512:
                _, cpu = timed(lambda: dreamer.dream(image, octaves=opts.octaves, steps=opts.steps, seed=1), 1)
                still, how = cpu[0], "measured"
                _, cpu = timed(lambda: dreamer.dream(image, octaves=opts.octaves, steps=carried_steps, seed=1,
                                                     dream_octaves=carried), 1)
                carried_frame = cpu[0]
            else:
                still, how = step * opts.steps * still_area, "est."
                carried_frame = step * carried_steps * carried_area
            figures[name, height] = (step, still, carried_frame)
            rate = flops / (step / (os.cpu_count() or 1)) / 1e9
            line = (f"  {name:12s} {'+'.join(spec.default_layers):32s} {width}x{height}: step {step:6.3f} CPU s, "
                    f"{rate:5.1f} GFLOP/s ({rate / matmul:4.0%} of matmul); still {still:7.1f} CPU s ({how}); "
                    f"carried frame {carried_frame:6.2f} CPU s")
            if moved:
                line += f"; depthwise layers move >= {moved / 1e9:.2f} GB a step"
            print(line)
    for height, width in sizes:
        new, old = figures[DEFAULT_MODEL, height], figures["vgg16", height]
        print(f"  {width}x{height}: vgg16 / {DEFAULT_MODEL}: step {old[0] / new[0]:.1f}x, still {old[1] / new[1]:.1f}x, "
              f"carried frame {old[2] / new[2]:.1f}x (target for the 1080p carried frame >= 8x)")
    height, width = sizes[-1]
    first, carried_cpu = figures[DEFAULT_MODEL, height][1], figures[DEFAULT_MODEL, height][2]
    frames = 60 * 30
    # One shot: a full dream first, carried frames after; the farm dreams 1.08 frames per frame written
    # (warm-up and cross-fade, see options.FARM_WARMUP) and each of its segments starts with a full dream.
    single = first + (frames - 1) * carried_cpu
    farm = 8 * first + (1.08 * frames - 8) * carried_cpu
    cores = os.cpu_count() or 1
    print(f"  one minute of {width}x{height} at 30 fps with {DEFAULT_MODEL} (kernel CPU time, flow not included): "
          f"{single / 3600:.2f} CPU h; {single / cores / 60:.0f} min on these {cores} CPUs; "
          f"{farm / (8 * cores) / 60:.1f} min on 8 Ray workers with {cores} CPUs each")
    return 0


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024],
                        help="square image sides in pixels (default 256 512 1024)")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per figure (default 3)")
    parser.add_argument("--layer", default="block4_conv3", help="objective layer (default block4_conv3)")
    parser.add_argument("--quick", action="store_true", help="256 px, one repeat, no 4K memory runs")
    parser.add_argument("--models", action="store_true",
                        help="the default network against vgg16 at their defaults (see above)")
    parser.add_argument("--measure-frames", action="store_true",
                        help="with --models: dream the 1080p frames instead of estimating them from the steps")
    parser.add_argument("--memory-child", choices=PRECISIONS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.models:
        if args.quick:
            args.repeats = 1
        return compare_models(args)
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
