"""The ``.gan`` model file: one ``.npz`` archive holding the generator, the discriminator, both optimisers'
state, the epoch and step counts, and the training options (as JSON).

Entries: ``meta`` (a JSON string, ``{"format": "dreamvideo-gan", ...}``) and ``g/NNNN``, ``d/NNNN``,
``opt_g/NNNN``, ``opt_d/NNNN`` (each model's ``get_weights()`` / each optimiser's variables, in order).
A checkpoint is written under a temporary name beside the model and renamed into place, so an interrupted
or failed write (a full disk) leaves the previous checkpoint as it was.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DreamError

FORMAT = "dreamvideo-gan"
FORMAT_VERSION = 1
GROUPS = ("g", "d", "opt_g", "opt_d")


def _write_archive(file, arrays: dict) -> None:
    """The one place the archive's bytes are written (tests make it fail like a full disk)."""
    np.savez(file, **arrays)


def save(path: str | os.PathLike, meta: dict, weights: dict[str, list]) -> None:
    """Write ``meta`` and ``weights`` (group name -> list of arrays) to ``path`` atomically.

    DreamError (one line, naming the file) if the write fails; the previous file at ``path`` survives.
    """
    from ..media.files import publish, remove_quietly, temp_beside

    path = Path(path)
    arrays = {"meta": np.array(json.dumps({"format": FORMAT, "version": FORMAT_VERSION, **meta}))}
    for group in GROUPS:
        for i, array in enumerate(weights.get(group, [])):
            arrays[f"{group}/{i:04d}"] = np.asarray(array)
    temp = temp_beside(path)
    try:
        with open(temp, "wb") as file:
            _write_archive(file, arrays)
            file.flush()
            os.fsync(file.fileno())
        publish(temp, path)
    except OSError as exc:
        remove_quietly(temp)
        raise DreamError(f"cannot write checkpoint {path}: {exc.strerror or exc}; "
                         "the previous checkpoint (if any) is kept") from None
    except BaseException:
        remove_quietly(temp)
        raise


def load(path: str | os.PathLike) -> tuple[dict, dict[str, list[np.ndarray]]]:
    """(meta, weights) of a ``.gan`` file. DreamError if it is missing or not a dreamvideo GAN."""
    path = Path(path)
    if not path.is_file():
        raise DreamError(f"GAN model not found: {path}")
    not_gan = f"{path} is not a dreamvideo GAN model (train one with 'dreamvideo gan train IMAGE_DIR')"
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise DreamError(not_gan)
            if meta.get("version") != FORMAT_VERSION:
                raise DreamError(f"{path} is a dreamvideo GAN of format version {meta.get('version')}; "
                                 f"this dreamvideo reads version {FORMAT_VERSION}")
            weights = {group: [] for group in GROUPS}
            for name in sorted(archive.files):
                group = name.split("/", 1)[0]
                if group in weights:
                    weights[group].append(archive[name])
    except DreamError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        raise DreamError(not_gan) from None
    return meta, weights


def load_generator(path: str | os.PathLike):
    """(Keras generator with the trained weights, meta) of a ``.gan`` file."""
    from ..runtime import import_tensorflow
    from .model import build_generator

    meta, weights = load(path)
    import_tensorflow()
    options = meta.get("options", {})
    try:
        generator = build_generator(int(options["size"]), int(options["latent_dim"]))
        generator.set_weights(weights["g"])
    except (KeyError, ValueError, TypeError) as exc:
        raise DreamError(f"{path}: a damaged dreamvideo GAN ({exc})") from None
    return generator, meta
