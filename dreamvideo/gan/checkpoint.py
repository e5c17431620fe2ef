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

from .. import limits
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


def _stored_header(archive: zipfile.ZipFile, member: str, where) -> tuple[tuple, np.dtype]:
    """(shape, dtype) of one ``.npy`` member, read from its header alone: a crafted file can claim any shape,
    and numpy would allocate it before reading a byte of data."""
    with archive.open(member) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"npy format version {version}")
    limits.check_weight_shape(shape, where)
    return shape, dtype


def _check_header(meta: dict, where) -> None:
    """The sizes a generator is built from, before it is built (a latent length of 1e9 would allocate
    gigabytes in the first layer)."""
    from .data import check_size

    options = meta.get("options")
    if not isinstance(options, dict):
        raise DreamError(f"{where}: a damaged dreamvideo GAN (no training options)")
    try:
        check_size(options.get("size"))
        limits.check_latent_dim(options.get("latent_dim"))
    except DreamError as exc:
        raise DreamError(f"{where}: a damaged dreamvideo GAN ({exc})") from None


def load(path: str | os.PathLike) -> tuple[dict, dict[str, list[np.ndarray]]]:
    """(meta, weights) of a ``.gan`` file. DreamError if it is missing or not a dreamvideo GAN.

    A ``.gan`` file is untrusted data: its metadata is read as bounded JSON (:mod:`dreamvideo.safejson`),
    each weight's shape is checked against :data:`dreamvideo.limits.MAX_WEIGHT_ELEMENTS` before it is read,
    the sizes the generator is built from against the limits, and a weight holding NaN or an infinity is
    refused (it would generate garbage frames).
    """
    from .. import safejson
    from ..media.files import regular_file

    path = regular_file(path, "GAN model")
    not_gan = f"{path} is not a dreamvideo GAN model (train one with 'dreamvideo gan train IMAGE_DIR')"
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name[:-len(".npy")]: name for name in archive.namelist() if name.endswith(".npy")}
            if "meta" not in members:
                raise DreamError(not_gan)
            shape, dtype = _stored_header(archive, members["meta"], path)
            if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * limits.MAX_RENDER_FILE_BYTES:
                raise DreamError(not_gan)
            with np.load(path, allow_pickle=False) as stored:
                meta = safejson.loads(str(stored["meta"]), f"{path} (its metadata)")
                if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                    raise DreamError(not_gan)
                if meta.get("version") != FORMAT_VERSION:
                    raise DreamError(f"{path} is a dreamvideo GAN of format version {limits.shown(meta.get('version'))}; "
                                     f"this dreamvideo reads version {FORMAT_VERSION}")
                _check_header(meta, path)
                weights = {group: [] for group in GROUPS}
                for name in sorted(members):
                    group = name.split("/", 1)[0]
                    if group not in weights:
                        continue
                    _, dtype = _stored_header(archive, members[name], path)
                    if dtype.kind not in "fiu":  # floats; integers: an optimiser's step count
                        raise DreamError(f"{path}: the weight {name} is of type {dtype}, not a number; "
                                         "a damaged dreamvideo GAN")
                    array = stored[name]
                    if not np.isfinite(array).all():
                        raise DreamError(f"{path}: the weight {name} holds NaN or infinite values; the model is "
                                         "damaged (a training run that diverged?): train it again")
                    weights[group].append(array)
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
    options = meta["options"]
    try:
        generator = build_generator(int(options["size"]), int(options["latent_dim"]))
        generator.set_weights(weights["g"])
    except (KeyError, ValueError, TypeError) as exc:
        raise DreamError(f"{path}: a damaged dreamvideo GAN ({' '.join(str(exc).split())[:200]})") from None
    return generator, meta
