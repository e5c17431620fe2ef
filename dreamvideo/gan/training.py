"""DCGAN training with checkpoints that resume exactly.

Adam at 2e-4 with beta1 0.5 for both networks (Radford et al. 2016), binary cross-entropy on logits,
one-sided label smoothing (real labels 0.9). Every random choice comes from the seed and the position in
training, never from a stateful generator: the weights start from ``keras.utils.set_random_seed(seed)``,
epoch e's order and flips from ``numpy.random.default_rng([seed, e])``, step s's noise from
``tf.random.stateless_normal(seed=[seed, s])``. With op determinism on (``train`` turns it on), the same
seed gives the same model, and a run resumed from a checkpoint gives the same model as an unbroken one.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import limits
from ..declare import Options, option, split, take
from ..errors import DreamError
from . import checkpoint
from .data import check_size, load_images, tanh_to_uint8, to_model

logger = logging.getLogger(__name__)

LEARNING_RATE = 2e-4
BETA_1 = 0.5
REAL_LABEL = 0.9
SAMPLE_EVERY = 5  # epochs between sample grids (and checkpoints)
CHECKPOINT_SECONDS = 60.0  # also checkpoint after an epoch once this long has passed since the last one
GRID_SIDE = 6  # the sample grid shows GRID_SIDE x GRID_SIDE pictures


TRAINING = "training"


@dataclass
class TrainOptions(Options):
    """Options of ``dreamvideo gan train``: picture side (32, 64 or 128), epochs, batch size, latent
    dimension, seed, horizontal flips, and quiet (no progress bar)."""

    size: int = option(64, "picture side the GAN makes: 32, 64 or 128", "int", group=TRAINING, metavar="PX")
    epochs: int = option(50, "passes over the pictures in all, counting a resumed run's", "int", group=TRAINING,
                         maximum=limits.MAX_EPOCHS, metavar="N")
    batch_size: int = option(32, "pictures per step", "int", group=TRAINING, maximum=limits.MAX_BATCH_SIZE,
                             metavar="N")
    latent_dim: int = option(100, "length of the latent vector", "int", group=TRAINING,
                             maximum=limits.MAX_LATENT_DIM, metavar="N")
    seed: int = option(0, "random seed; same seed, same model", "seed")
    flip: bool = option(True, "augment with horizontal flips", "bool", group=TRAINING)
    quiet: bool = option(False, "no progress bar or messages", "bool", aliases=("-q",))

    def __post_init__(self):
        super().__post_init__()
        check_size(self.size)

    def architecture(self) -> dict:
        """The settings a checkpoint must share with the command that resumes it."""
        return {"size": self.size, "batch_size": self.batch_size, "latent_dim": self.latent_dim,
                "seed": self.seed, "flip": self.flip}


def default_model_path(image_dir: str | os.PathLike) -> str:
    """``<IMAGE_DIR>.gan`` beside the folder."""
    folder = Path(os.fspath(image_dir).rstrip("/\\") or ".").resolve()
    return str(folder.with_name(folder.name + ".gan"))


def samples_path(model_path: str | os.PathLike) -> Path:
    """The sample grid written beside the model: ``faces.gan`` -> ``faces.samples.png``."""
    path = Path(model_path)
    return path.with_name(path.stem + ".samples.png")


class Trainer:
    """A generator, a discriminator and their optimisers, with the compiled training step."""

    def __init__(self, options: TrainOptions):
        import keras
        import tensorflow as tf

        from .model import build_discriminator, build_generator

        self.options = options
        keras.utils.set_random_seed(int(options.seed))
        self.generator = build_generator(options.size, options.latent_dim)
        self.discriminator = build_discriminator(options.size)
        self.opt_g = keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1)
        self.opt_d = keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1)
        self.opt_g.build(self.generator.trainable_variables)
        self.opt_d.build(self.discriminator.trainable_variables)
        size, batch = options.size, options.batch_size
        self._step = tf.function(self._step_graph, input_signature=[
            tf.TensorSpec([batch, size, size, 3], tf.float32, name="real"),
            tf.TensorSpec([2], tf.int32, name="noise_seed")])

    def _step_graph(self, real, noise_seed):
        import tensorflow as tf

        batch = tf.shape(real)[0]
        noise = tf.random.stateless_normal([batch, self.options.latent_dim], seed=noise_seed)
        bce = tf.nn.sigmoid_cross_entropy_with_logits
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(noise, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = tf.reduce_mean(bce(tf.fill(tf.shape(real_logits), REAL_LABEL), real_logits)) + \
                tf.reduce_mean(bce(tf.zeros_like(fake_logits), fake_logits))
            g_loss = tf.reduce_mean(bce(tf.ones_like(fake_logits), fake_logits))
        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        self.opt_g.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        self.opt_d.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
        return g_loss, d_loss

    def step(self, real: np.ndarray, step_index: int) -> tuple[float, float]:
        """One step on float32 (batch, S, S, 3) images in [-1, 1]; the noise comes from (seed, step)."""
        import tensorflow as tf

        seed = tf.constant([int(self.options.seed) % 2**31, int(step_index) % 2**31], tf.int32)
        g_loss, d_loss = self._step(tf.constant(real), seed)
        return float(g_loss), float(d_loss)

    def weights(self) -> dict[str, list]:
        return {"g": self.generator.get_weights(), "d": self.discriminator.get_weights(),
                "opt_g": [v.numpy() for v in self.opt_g.variables],
                "opt_d": [v.numpy() for v in self.opt_d.variables]}

    def set_weights(self, weights: dict[str, list], where: str) -> None:
        try:
            self.generator.set_weights(weights["g"])
            self.discriminator.set_weights(weights["d"])
            for optimizer, group in ((self.opt_g, "opt_g"), (self.opt_d, "opt_d")):
                if len(optimizer.variables) != len(weights[group]):
                    raise ValueError("optimizer state does not match")
                for variable, value in zip(optimizer.variables, weights[group]):
                    variable.assign(value)
        except (ValueError, KeyError) as exc:
            raise DreamError(f"{where}: its weights do not fit its own options ({exc}); it is damaged") from None

    def sample(self, count: int, seed: int) -> np.ndarray:
        """``count`` generated pictures from seeded noise, uint8 (count, S, S, 3)."""
        z = np.random.default_rng([seed, 2**31 - 1]).standard_normal((count, self.options.latent_dim))
        return tanh_to_uint8(self.generator(z.astype(np.float32), training=False))


def epoch_batches(count: int, batch: int, seed: int, epoch: int, flip: bool):
    """Index batches and flip masks of one epoch: a permutation from (seed, epoch), full batches only."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(count)
    flips = rng.random(count) < 0.5 if flip else np.zeros(count, bool)
    for start in range(0, count - batch + 1, batch):
        index = order[start:start + batch]
        yield index, flips[start:start + batch]


def image_grid(images: np.ndarray, columns: int) -> np.ndarray:
    """uint8 (N, S, S, 3) -> one uint8 picture, ``columns`` wide, with 2 px gaps."""
    count, side = images.shape[0], images.shape[1]
    rows = -(-count // columns)
    gap = 2
    grid = np.full((rows * (side + gap) - gap, columns * (side + gap) - gap, 3), 255, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[r * (side + gap): r * (side + gap) + side, c * (side + gap): c * (side + gap) + side] = image
    return grid


def data_fingerprint(images: np.ndarray) -> str:
    import hashlib

    return hashlib.sha1(images.tobytes()).hexdigest()[:16]


def train(image_dir: str | os.PathLike, output: str | os.PathLike | None = None, **options) -> str:
    """Train a DCGAN on the pictures below ``image_dir``; returns the model path.

    The model goes to ``output`` (default ``<image_dir>.gan`` beside the folder); a sample grid
    ``<model stem>.samples.png`` is written beside it every few epochs. If ``output`` holds a checkpoint
    of the same settings, training resumes from it (up to ``epochs`` in all). Options: those of
    :class:`TrainOptions`.
    """
    from ..media import check_output
    from ..writeguard import check_outputs_apart, guarded_output, written_paths

    opts, = take(options, TrainOptions, what="gan train")
    output = str(output) if output is not None else default_model_path(image_dir)
    if Path(output).is_dir():
        raise DreamError(f"{output} is a folder: give a file name for the model, e.g. faces.gan")
    check_output(Path(output).with_suffix(".png"))  # the folder exists and is writable
    reads = [("image folder", image_dir)]
    check_outputs_apart(written_paths(samples_path(output), render_file=False, work_folder=False), reads)
    with guarded_output(output, reads, render_file=False, work_folder=False):
        return _train(image_dir, output, opts)


def _train(image_dir, output: str, opts: TrainOptions) -> str:
    """:func:`train` once its output is checked and locked."""
    from ..runtime import import_tensorflow

    images = load_images(image_dir, opts.size)
    if len(images) < opts.batch_size:
        logger.warning("only %d pictures in %s, fewer than a batch of %d: using batches of %d",
                       len(images), image_dir, opts.batch_size, len(images))
        opts.batch_size = len(images)
    fingerprint = data_fingerprint(images)

    previous = None
    if Path(output).exists():
        meta, weights = checkpoint.load(output)
        known, _ = split(meta["options"], TrainOptions)
        stored = TrainOptions(**known)
        if stored.architecture() != opts.architecture():
            difference = next(k for k in opts.architecture() if opts.architecture()[k] != stored.architecture()[k])
            raise DreamError(f"{output} was trained with {difference.replace('_', ' ')} "
                             f"{stored.architecture()[difference]!r}, not {opts.architecture()[difference]!r}: use "
                             "the same settings to resume, or another output (or delete it) to start over")
        if meta.get("data") != fingerprint:
            raise DreamError(f"{output} was trained on other pictures than those in {image_dir} now: "
                             "give another output (or delete it) to start over")
        previous = (meta, weights)

    from ..runtime import op_determinism

    import_tensorflow()
    with op_determinism():
        return _train_loop(opts, output, images, fingerprint, previous)


def _train_loop(opts: TrainOptions, output: str, images, fingerprint: str, previous) -> str:
    """The epochs of :func:`train` (under TensorFlow's op determinism: a resumed run ends at the same model)."""
    from ..media import write_image

    trainer = Trainer(opts)
    epoch = step = 0
    if previous is not None:
        trainer.set_weights(previous[1], output)
        epoch, step = int(previous[0]["epoch"]), int(previous[0]["step"])
        if epoch >= opts.epochs:
            logger.info("%s has already been trained for %d epochs", output, epoch)
            return output
        logger.info("resuming %s from epoch %d", output, epoch)

    def save_checkpoint(epoch_done: int, step_done: int, losses) -> None:
        meta = {"options": asdict(opts) | {"quiet": False}, "epoch": epoch_done, "step": step_done,
                "images": int(len(images)), "data": fingerprint, "losses": losses}
        checkpoint.save(output, meta, trainer.weights())

    from tqdm import tqdm

    data = to_model(images)
    losses = None
    last_save = time.monotonic()
    with tqdm(total=opts.epochs, initial=epoch, disable=opts.quiet, unit="epoch", desc="training GAN",
              dynamic_ncols=True) as bar:
        while epoch < opts.epochs:
            g_sum = d_sum = 0.0
            batches = 0
            for index, flips in epoch_batches(len(data), opts.batch_size, opts.seed, epoch, opts.flip):
                real = data[index]
                real[flips] = real[flips, :, ::-1]
                g_loss, d_loss = trainer.step(real, step)
                g_sum, d_sum, batches, step = g_sum + g_loss, d_sum + d_loss, batches + 1, step + 1
            epoch += 1
            losses = {"generator": g_sum / batches, "discriminator": d_sum / batches}
            bar.set_postfix(G=f"{losses['generator']:.3f}", D=f"{losses['discriminator']:.3f}")
            bar.update(1)
            grid_due = epoch % SAMPLE_EVERY == 0 or epoch == opts.epochs
            if grid_due or time.monotonic() - last_save >= CHECKPOINT_SECONDS:
                save_checkpoint(epoch, step, losses)
                last_save = time.monotonic()
            if grid_due:
                write_image(samples_path(output), image_grid(trainer.sample(GRID_SIDE ** 2, opts.seed), GRID_SIDE))
    logger.info("trained %s: %d epochs, %d steps; losses G %.3f, D %.3f", output, epoch, step,
                losses["generator"], losses["discriminator"])
    return output
