"""GAN animations: train a DCGAN on a folder of pictures, walk its latent space, morph faces.

    import dreamvideo as dv
    model = dv.gan.train("faces/", "faces.gan", size=32, epochs=200)
    dv.gan.walk(model, "walk.gif", frames=120, keyframes=6)
    dv.gan.morph(model, "a.png", "b.png", "morph.gif")
    dv.gan.animate("faces/", "animation.gif", epochs=5)     # train, then walk

Modules: ``data`` (folder loading), ``model`` (the networks), ``training`` (training and checkpoints),
``checkpoint`` (the ``.gan`` file), ``latent`` (slerp walks and inversion), ``animate`` (the recipes).
TensorFlow is imported only when a function runs.
"""

from __future__ import annotations

import os

from ..errors import DreamError
from .animate import MorphOptions, WalkOptions, morph, walk
from .training import TrainOptions, train

__all__ = ["train", "walk", "morph", "animate", "TrainOptions", "WalkOptions", "MorphOptions"]

_SHARED = {"seed", "quiet"}


def animate(image_dir: str | os.PathLike, output_file: str | os.PathLike, **options) -> str:
    """Train a GAN on ``image_dir`` (or resume it), then walk it into ``output_file``; returns that path.

    The GAN is kept in ``<image_dir>.gan`` beside the folder (see :func:`train`). Options: those of
    :class:`TrainOptions` and :class:`WalkOptions` (``seed`` and ``quiet`` apply to both).
    """
    from dataclasses import fields

    train_keys = {f.name for f in fields(TrainOptions)}
    walk_keys = {f.name for f in fields(WalkOptions)} | _SHARED
    unknown = sorted(set(options) - train_keys - walk_keys)
    if unknown:
        raise DreamError(f"unknown option {unknown[0]!r} for gan animate")
    from .animate import _check_output

    _check_output(str(output_file), image_dir)
    path = train(image_dir, None, **{k: v for k, v in options.items() if k in train_keys})
    return walk(path, output_file, **{k: v for k, v in options.items() if k in walk_keys})
