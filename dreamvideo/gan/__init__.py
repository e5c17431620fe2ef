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

from .animate import MorphOptions, WalkOptions, morph, walk
from .training import TrainOptions, train

__all__ = ["train", "walk", "morph", "animate", "TrainOptions", "WalkOptions", "MorphOptions"]

def animate(image_dir: str | os.PathLike, output_file: str | os.PathLike, **options) -> str:
    """Train a GAN on ``image_dir`` (or resume it), then walk it into ``output_file``; returns that path.

    The GAN is kept in ``<image_dir>.gan`` beside the folder (see :func:`train`). Options: those of
    :class:`TrainOptions` and :class:`WalkOptions` (``seed`` and ``quiet`` apply to both).
    """
    from ..declare import refuse_unknown, split
    from .animate import _check_output

    training, walking, rest = split(options, TrainOptions, WalkOptions)
    refuse_unknown(rest, "gan animate")
    walking.update({k: options[k] for k in ("seed", "quiet") if k in options})
    _check_output(str(output_file), ("image folder", image_dir))
    path = train(image_dir, None, **training)
    return walk(path, output_file, **walking)
