"""Speed and quality of the GAN animations on this machine (issue 8).

    python scripts/benchmark_gan.py [--model faces.gan] [--epochs 300] [--steps 10] [--quick]

Prints, asserting nothing:

* **Training speed**: images per second of the DCGAN training step at 32 and 64 px, batch 64 (one warm-up
  step, then ``--steps``), and the GFLOP/s they imply from the counted FLOPs (``model.train_step_flops``:
  3 generator forwards + 7 discriminator forwards per image; convolutions and dense layers only), as a
  share of TensorFlow's float32 matmul rate measured in the same run. Rates by wall-clock time and, in
  brackets, by CPU time (FLOPs / (CPU seconds / CPUs), what the step would do with the CPUs to itself:
  the figure to compare on a shared machine). Target: at least 40% of the matmul rate.
* **Quality**: the Fréchet distance between 500 generated faces and the 100 training faces of
  ``skimage.data.lfw_subset()``, in the embedded VGG16's block5_conv3 features averaged over positions
  (512 numbers a picture; pictures upscaled to 128 px first so block5 sees more than 2x2 positions), next
  to a floor (the two halves of the training set, 50 against 50) and a ceiling (the training faces with
  their pixels shuffled). With only 50-100 pictures a side the distances carry a large small-sample bias,
  so the model is also measured 50 generated against 50 training faces, the floor's own sample sizes.
* **Walk smoothness**: over a 120-frame looping walk through 6 keyframes, the mean absolute change between
  consecutive frames (0-255, at the GAN's size), its maximum over its median (target <= 1.5) and the loop
  seam (last frame to first) over the median (target <= 1.5).
* **Inversion**: PSNR of 16 training faces reconstructed at 32 px with the default inversion steps
  (target >= 20 dB).

The model for the last three is ``--model`` or, by default, one trained here on the face set at 32 px
(``--epochs``, batch 16, seed 0: the settings of ``scripts/make_samples.py``). ``--quick``: 2 timed steps,
20 epochs, 100 generated faces: checks that everything runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import cpu_rate, matmul_gflops, timed  # noqa: E402
from dreamvideo.models import load_model  # noqa: E402
from dreamvideo.runtime import import_tensorflow  # noqa: E402

SPEED_BATCH = 64
MATMUL_SIZE = 2048
FEATURE_SIDE = 128


def lfw_faces() -> np.ndarray:
    """The 100 faces of scikit-image's LFW subset (25x25 grayscale), as uint8 (100, 25, 25, 3)."""
    from skimage.data import lfw_subset

    faces = lfw_subset()[:100]  # the first 100 are faces, the other 100 are not
    gray = np.clip(np.rint(faces * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=3)


def write_faces(folder: Path) -> Path:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i, face in enumerate(lfw_faces()):
        cv2.imwrite(str(folder / f"face_{i:03d}.png"), face[..., 0])
    return folder


def training_speed(size: int, steps: int, matmul: tuple[float, float]) -> None:
    from dreamvideo.gan.model import train_step_flops
    from dreamvideo.gan.training import TrainOptions, Trainer

    trainer = Trainer(TrainOptions(size=size, batch_size=SPEED_BATCH))
    real = np.random.default_rng(0).uniform(-1, 1, (SPEED_BATCH, size, size, 3)).astype(np.float32)
    counter = iter(range(10 ** 6))
    wall, cpu = timed(lambda: trainer.step(real, next(counter)), steps)
    flops = train_step_flops(trainer.generator, trainer.discriminator) * SPEED_BATCH
    rate_wall = flops / statistics.median(wall) / 1e9
    rate_cpu = cpu_rate(flops, cpu)
    print(f"  {size:3d} px: {SPEED_BATCH / statistics.median(wall):7.1f} images/s "
          f"[{SPEED_BATCH / (statistics.median(cpu) / (os.cpu_count() or 1)):7.1f}], "
          f"{flops / 1e9:6.2f} GFLOP/step, {rate_wall:6.1f} GFLOP/s [{rate_cpu:6.1f}] = "
          f"{rate_wall / matmul[0]:4.0%} [{rate_cpu / matmul[1]:4.0%}] of matmul "
          f"(target >= 40%: {'met' if rate_cpu / matmul[1] >= 0.4 else 'missed'})")


def pooled_features(images: np.ndarray, model) -> np.ndarray:
    """(N, 512) float64: block5_conv3 averaged over positions, for uint8 pictures upscaled to 128 px."""
    import cv2
    import tensorflow as tf

    out = []
    for start in range(0, len(images), 50):
        batch = np.stack([cv2.resize(image, (FEATURE_SIDE, FEATURE_SIDE), interpolation=cv2.INTER_CUBIC)
                          for image in images[start:start + 50]]).astype(np.float32)
        features = model.features(tf.constant(batch))[0]
        out.append(tf.reduce_mean(features, axis=[1, 2]).numpy())
    return np.concatenate(out).astype(np.float64)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature rows ``a`` and ``b``:
    |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2), with symmetric square roots."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(s_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ s_b @ root_a)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b)
                 - 2.0 * np.sum(np.sqrt(np.clip(middle, 0, None))))


def quality(generator, faces: np.ndarray, count: int) -> None:
    from dreamvideo.gan.animate import generate
    from dreamvideo.gan.data import square

    size = int(generator.outputs[0].shape[1])
    train = np.stack([square(face, size) for face in faces])
    z = np.random.default_rng([0, 500]).standard_normal((count, int(generator.inputs[0].shape[-1])))
    fake = generate(generator, z.astype(np.float32))
    rng = np.random.default_rng(1)
    shuffled = np.stack([image.reshape(-1, 3)[rng.permutation(size * size)].reshape(image.shape) for image in train])
    model = load_model("vgg16", ["block5_conv3"], precision="float32")
    f_train, f_fake, f_shuffled = (pooled_features(x, model) for x in (train, fake, shuffled))
    order = np.random.default_rng(2).permutation(len(train))
    half_a, half_b = f_train[order[:50]], f_train[order[50:]]
    floor = frechet_distance(half_a, half_b)
    ceiling = frechet_distance(f_shuffled, f_train)
    model_fd = frechet_distance(f_fake, f_train)
    model_50 = frechet_distance(f_fake[:50], half_b)
    print(f"  floor (training halves, 50 vs 50):        {floor:9.1f}")
    print(f"  model ({count} generated vs 100 training):  {model_fd:9.1f}")
    print(f"  model (50 generated vs 50 training):      {model_50:9.1f}")
    print(f"  ceiling (pixel-shuffled vs training):     {ceiling:9.1f}")
    nearer = abs(model_fd - floor) < abs(ceiling - model_fd)
    print(f"  the model is nearer the {'floor' if nearer else 'ceiling'} "
          f"({(model_fd - floor) / (ceiling - floor):.0%} of the way from floor to ceiling)")


def smoothness(generator, frames: int = 120, keyframes: int = 6) -> None:
    from dreamvideo.gan.animate import generate
    from dreamvideo.gan.latent import keyframe_latents, walk_latents

    latents = walk_latents(keyframe_latents(keyframes, int(generator.inputs[0].shape[-1]), 0), frames, loop=True)
    pictures = generate(generator, latents).astype(np.float32)
    steps = np.abs(np.diff(pictures, axis=0)).mean(axis=(1, 2, 3))
    seam = np.abs(pictures[-1] - pictures[0]).mean()
    median = np.median(steps)
    print(f"  {frames} frames, {keyframes} keyframes: mean change per frame {steps.mean():.2f} (median {median:.2f}, "
          f"max {steps.max():.2f}); max/median {steps.max() / median:.2f} (target <= 1.5: "
          f"{'met' if steps.max() / median <= 1.5 else 'missed'}); seam/median {seam / median:.2f} "
          f"(target <= 1.5: {'met' if seam / median <= 1.5 else 'missed'})")


def inversion(generator, faces: np.ndarray) -> None:
    from dreamvideo.gan.animate import generate
    from dreamvideo.gan.data import square
    from dreamvideo.gan.latent import INVERT_STEPS, Inverter

    size = int(generator.outputs[0].shape[1])
    targets = np.stack([square(face, size) for face in faces[:16]])
    start_cpu, start = time.process_time(), time.perf_counter()
    z = Inverter(generator, steps=INVERT_STEPS, seed=0).invert(targets)
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start
    mse = np.mean((generate(generator, z).astype(np.float64) - targets) ** 2, axis=(1, 2, 3))
    psnr = 10 * np.log10(255.0 ** 2 / mse)
    print(f"  {len(targets)} training faces at {size} px, {INVERT_STEPS} steps: PSNR mean {psnr.mean():.1f} dB "
          f"(min {psnr.min():.1f}, max {psnr.max():.1f}); target >= 20 dB: {'met' if psnr.mean() >= 20 else 'missed'}; "
          f"{wall:.1f} s wall, {cpu:.1f} s CPU for the batch")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a .gan trained on the LFW faces (default: train one here)")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per size")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    steps, epochs, count = (2, 20, 100) if args.quick else (args.steps, args.epochs, 500)

    import logging

    logging.basicConfig(level=logging.WARNING)
    tf = import_tensorflow()
    tf.config.experimental.enable_op_determinism()
    print(f"machine: {os.cpu_count()} CPUs (shared: other programs may be running); TensorFlow {tf.__version__}")
    matmul = matmul_gflops("float32", MATMUL_SIZE, 3)
    print(f"\nfloat32 matmul {MATMUL_SIZE}x{MATMUL_SIZE}: {matmul[0]:.1f} GFLOP/s [{matmul[1]:.1f} by CPU time]")
    print(f"\ntraining speed, batch {SPEED_BATCH}, {steps} steps after a warm-up; wall [CPU]:")
    for size in (32, 64):
        training_speed(size, steps, matmul)

    from dreamvideo import gan
    from dreamvideo.gan.checkpoint import load_generator

    faces = lfw_faces()
    with tempfile.TemporaryDirectory() as tmp:
        model_path = args.model
        if model_path is None:
            folder = write_faces(Path(tmp) / "faces")
            start_cpu, start = time.process_time(), time.perf_counter()
            model_path = gan.train(folder, Path(tmp) / "faces.gan", size=32, epochs=epochs, batch_size=16, quiet=True)
            print(f"\ntrained a 32 px model on the 100 faces: {epochs} epochs in "
                  f"{time.perf_counter() - start:.0f} s wall, {time.process_time() - start_cpu:.0f} s CPU")
        generator, meta = load_generator(model_path)
        print(f"model: {model_path}, {meta['epoch']} epochs, {meta['step']} steps")
        print(f"\nquality: Fréchet distance in VGG16 block5_conv3 features (pooled), pictures at "
              f"{FEATURE_SIDE} px:")
        quality(generator, faces, count)
        print("\nwalk smoothness (mean absolute change between frames, 0-255):")
        smoothness(generator)
        print("\ninversion:")
        inversion(generator, faces)
    return 0


if __name__ == "__main__":
    sys.exit(main())
