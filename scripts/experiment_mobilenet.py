"""Experiments that chose the embedded MobileNetV1's defaults; prints figures and writes panels to --out.

    nice -n 10 python scripts/experiment_mobilenet.py cost        # CPU s per step, float32 / bfloat16, vs VGG16
    nice -n 10 python scripts/experiment_mobilenet.py relu        # ReLU6 outputs vs the batch norm before them
    nice -n 10 python scripts/experiment_mobilenet.py layers      # candidate layer sets and step settings

``cost``: CPU seconds per gradient step (median of 3 after a warm-up, 512 px tiles) at 512x512 and 1920x1080,
MobileNetV1 up to each candidate layer in float32, in bfloat16 throughout (Keras ``mixed_bfloat16``) and with
bfloat16 in the depthwise convolutions only, against VGG16 up to ``block4_conv3`` in float32, same process;
and how far the bfloat16 gradient is from the float32 one (cosine) and the dream after 6 steps (mean
|difference| in grey levels).
``relu`` and ``layers``: each picture dreamed at its own size with the still defaults (soft range,
decorrelated, mean normalisation), labelled with strength (mean |dream - photo|, grey levels), clipped share
(a channel at 0 or 255) and the share of 224 px tiles whose top-1 ImageNet class (by the network's own head)
is an animal; for ``relu`` also the share of the layer's units at ReLU6's cap of 6 after the dream.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dreamvideo import media, models  # noqa: E402
from dreamvideo.models import mobilenet_v1 as mn  # noqa: E402
from dreamvideo.runtime import dtype_policy, import_tensorflow  # noqa: E402
from dreamvideo.steady import dream_strength  # noqa: E402

PHOTOS = ("coffee.png", "chelsea.png")


def feature_model(layers, precision="float32", uncapped=()):
    """A FeatureModel of MobileNetV1 for ``layers``; ``precision``: float32, bfloat16, or depthwise (only the
    depthwise convolutions in bfloat16). Names in ``uncapped`` ("conv_pw_7_relu") read max(bn, 0) instead of
    ReLU6's min(max(bn, 0), 6)."""
    import keras

    tf = import_tensorflow()
    build_layers = [name.replace("_relu", "_bn") if name in uncapped else name for name in layers]
    policy = "mixed_bfloat16" if precision == "bfloat16" else "float32"
    original = keras.layers.DepthwiseConv2D
    if precision == "depthwise":
        keras.layers.DepthwiseConv2D = functools.partial(original, dtype="mixed_bfloat16")
    try:
        with dtype_policy(policy):
            keras_model = mn.build(build_layers)
    finally:
        keras.layers.DepthwiseConv2D = original

    class Model(models.FeatureModel):
        def features(self, images):
            outputs = super().features(images)
            return [tf.nn.relu(o) if name in uncapped else o for name, o in zip(layers, outputs)]

    return Model("mobilenet_v1", keras_model, layers, models.PREPROCESS["tf"], 32, policy)


def step_seconds(dreamer, size, repeats=3):
    """Median CPU seconds of one step (gradient, normalisation, update) on a (height, width) image."""
    tf = import_tensorflow()
    rng = np.random.default_rng(0)
    image = tf.constant(rng.uniform(0, 255, (*size, 3)).astype(np.float32))
    step = dreamer._step_fn("mean", True, "soft")
    args = (tf.constant(2.0), tf.constant([3, 5], tf.int32),
            tf.constant(dreamer.objective.weights_at(0), tf.float32), tf.ones([*size, 1]))
    step(image, *args).numpy()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        step(image, *args).numpy()
        times.append(time.process_time() - start)
    return statistics.median(times)


def cost(args):
    from dreamvideo.kernel import Dreamer
    from dreamvideo.objectives import layers

    sizes = ((512, 512), (1080, 1920))
    vgg = Dreamer(models.load_model("vgg16", ["block4_conv3"], "float32"), layers("block4_conv3"))
    rows = [("vgg16 block4_conv3 float32", vgg)]
    for layer in args.layer:
        for precision in ("float32", "bfloat16", "depthwise"):
            rows.append((f"mobilenet_v1 {layer} {precision}", Dreamer(feature_model([layer], precision), layers(layer))))
    print(f"load {os.getloadavg()[0]:.2f}; CPU s per step (median of 3)")
    reference = {}
    for label, dreamer in rows:
        figures = [step_seconds(dreamer, size) for size in sizes]
        reference.setdefault(label.split()[1], figures)
        ratio = "" if label.startswith("vgg16") else \
            "  (VGG16 / this: " + ", ".join(f"{v / f:.1f}x" for v, f in zip(reference["block4_conv3"], figures)) + ")"
        print(f"{label:40s} 512x512 {figures[0]:.3f}  1920x1080 {figures[1]:.3f}{ratio}")
    photo = media.read_image(ROOT / "samples" / "coffee.png").astype(np.float32)
    for layer in args.layer:
        base = [r for r in rows if r[0] == f"mobilenet_v1 {layer} float32"][0][1]
        for precision in ("bfloat16", "depthwise"):
            other = [r for r in rows if r[0] == f"mobilenet_v1 {layer} {precision}"][0][1]
            g32, g16 = base.gradient(photo), other.gradient(photo)
            cosine = float((g32 * g16).sum() / np.linalg.norm(g32) / np.linalg.norm(g16))
            d32 = base.dream(photo, octaves=1, steps=6, step_size=2.0, decorrelate=True, range_limit="soft")
            d16 = other.dream(photo, octaves=1, steps=6, step_size=2.0, decorrelate=True, range_limit="soft")
            print(f"{layer} {precision}: gradient cosine to float32 {cosine:.4f}; 6-step dream differs by "
                  f"{np.abs(d32 - d16).mean():.2f} grey levels (dream strength {np.abs(d32 - photo).mean():.2f})")


def label_tile(image, label, photo, extra=""):
    strength = dream_strength(image, photo)
    clipped = float(((image == 0) | (image == 255)).any(axis=2).mean())
    animals = mn.animal_share(image)
    strip = np.zeros((34, image.shape[1], 3), np.uint8)
    cv2.putText(strip, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(strip, f"str {strength:.1f} clip {clipped:.1%} animal {animals:.0%} {extra}", (4, 29),
                cv2.FONT_HERSHEY_SIMPLEX, 0.38, (200, 200, 200), 1, cv2.LINE_AA)
    print(f"  {label:44s} strength {strength:5.1f}  clipped {clipped:6.1%}  animal tiles {animals:4.0%} {extra}")
    return np.concatenate([image, strip], axis=0)


def dream(dreamer, photo, **settings):
    from dreamvideo.arrays import float255_to_uint8 as to_uint8

    kw = dict(octaves=4, octave_scale=1.4, steps=6, step_size=2.0, decorrelate=True, range_limit="soft")
    kw.update(settings)
    return to_uint8(dreamer.dream(photo, **kw))


def panel(rows, path):
    width = max(sum(t.shape[1] for t in row) for row in rows)
    lines = []
    for row in rows:
        line = np.concatenate(row, axis=1)
        lines.append(np.pad(line, ((0, 0), (0, width - line.shape[1]), (0, 0))))
    media.write_image(path, np.concatenate(lines, axis=0))
    print("wrote", path)


def relu(args):
    from dreamvideo.kernel import Dreamer
    from dreamvideo.objectives import layers

    variants = []
    for names in (["conv_pw_7_relu"], ["conv_pw_10_relu", "conv_pw_12_relu"]):
        bn = [n.replace("_relu", "_bn") for n in names]
        variants += [(" + ".join(names), names, ()), (" + ".join(bn), bn, ()),
                     (" + ".join(names) + " uncapped", names, tuple(names))]
    rows = []
    for name in PHOTOS:
        photo = media.read_image(ROOT / "samples" / name)
        print(name)
        row = [label_tile(photo, name, photo)]
        for label, names, uncapped in variants:
            dreamer = Dreamer(feature_model(names, uncapped=uncapped), layers(*names))
            result = dream(dreamer, photo, step_size=args.step_size)
            relu_names = [n.replace("_bn", "_relu") for n in names]
            probe = feature_model(relu_names)
            capped = np.mean([float((np.asarray(a) >= 5.999).mean())
                              for a in probe.features(result[None].astype(np.float32))])
            before = np.mean([float((np.asarray(a) >= 5.999).mean())
                              for a in probe.features(photo[None].astype(np.float32))])
            row.append(label_tile(result, label, photo, f"cap {before:.1%}->{capped:.1%}"))
        rows.append(row)
    panel(rows, Path(args.out) / "relu.png")


def candidates(args):
    from dreamvideo.kernel import Dreamer
    from dreamvideo.objectives import layers
    from dreamvideo.options import DreamOptions

    import dreamvideo as dv

    sets = [spec.split("+") for spec in args.sets]
    rows = []
    for name in PHOTOS:
        photo = media.read_image(ROOT / "samples" / name)
        print(name)
        row = [label_tile(photo, name, photo)]
        if args.old:
            row.append(label_tile(dv.dream_array(photo, quiet=True), "old default: vgg16 block4_conv3", photo))
        for names in sets:
            dreamer = Dreamer(feature_model(names), layers(*names))
            for setting in args.settings:
                kw = dict(zip(("steps", "step_size", "octaves"), (float(v) for v in setting.split(","))))
                kw = {k: (int(v) if k != "step_size" else v) for k, v in kw.items()}
                label = "+".join(n.replace("conv_", "").replace("_relu", "") for n in names) + \
                    f" s{kw.get('steps', 6)} x{kw.get('step_size', 2.0):g} o{kw.get('octaves', 4)}"
                row.append(label_tile(dream(dreamer, photo, **kw), label, photo))
        rows.append(row)
    panel(rows, Path(args.out) / args.name)
    del DreamOptions


def style(args):
    """--style on both networks: coffee.png painted in the style of chelsea.png, each result's style distance
    measured by both networks (dreamvideo measure's figure; lower is closer), and a panel."""
    import dreamvideo as dv

    photo_path, style_path = ROOT / "samples" / "coffee.png", str(ROOT / "samples" / "chelsea.png")
    photo = media.resize_max_side(media.read_image(photo_path), args.side)
    out = Path(args.out)
    paths = {"photo": out / "style_photo.png"}
    media.write_image(paths["photo"], photo)
    for model in ("vgg16", "mobilenet_v1"):
        start = time.process_time()
        result = dv.dream_array(photo, model=model, style=style_path, quiet=True)
        print(f"{model}: dreamed in {time.process_time() - start:.1f} CPU s")
        paths[model] = out / f"style_{model}.png"
        media.write_image(paths[model], result)
    for judge in ("vgg16", "mobilenet_v1"):
        figures = dv.api.measure([str(p) for p in paths.values()], model=judge, style=style_path)
        print(f"style distance by {judge}: " + ", ".join(
            f"{name} {figures[str(path)]['style']:.4f}" for name, path in paths.items()))
    panel([[label_tile(media.read_image(p), name, photo) for name, p in paths.items()]], out / "style.png")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("cost", "relu", "layers", "style"))
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--layer", nargs="+", default=["conv_pw_12_relu"])
    parser.add_argument("--sets", nargs="+", default=["conv_pw_7_relu", "conv_pw_10_relu+conv_pw_12_relu"])
    parser.add_argument("--settings", nargs="+", default=["6,2,4"], help="steps,step_size,octaves")
    parser.add_argument("--step-size", type=float, default=2.0)
    parser.add_argument("--old", action="store_true")
    parser.add_argument("--name", default="layers.png")
    parser.add_argument("--out", default="/tmp/mobilenet_experiments")
    args = parser.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    import_tensorflow()
    {"cost": cost, "relu": relu, "layers": candidates, "style": style}[args.what](args)


if __name__ == "__main__":
    main()
