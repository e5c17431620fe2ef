"""Files at the media boundary: checking inputs, writing outputs atomically, and I/O errors in plain words."""

from __future__ import annotations

import contextlib
import errno
import glob
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Union

import numpy as np

from ..errors import DreamError

logger = logging.getLogger("dreamvideo.media")

PathLike = Union[str, "os.PathLike[str]"]


def special_kind(mode: int) -> str | None:
    """What a file of ``st_mode`` is when it is neither a regular file nor a folder ("a device", ...), else
    None. Reading one would never end (/dev/zero, /dev/urandom), wait for a writer (a FIFO) or mislead."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _status(path: PathLike):
    """os.stat of an input (links followed), None if it does not exist; other OSErrors as DreamError."""
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise io_error(path, exc, "reading") from None
    except ValueError:  # a NUL byte in the name
        raise DreamError(f"{path!r}: not a usable file name") from None


def regular_file(path: PathLike, what: str = "file") -> Path:
    """The path of an existing regular file (links followed), else DreamError naming ``what`` ("guide
    image", "model file") and the path: not found, a folder, or a device, pipe or socket."""
    status = _status(path)
    if status is None:
        raise DreamError(f"{what} not found: {path}")
    if stat.S_ISDIR(status.st_mode):
        raise DreamError(f"{what} {path} is a folder, not a file")
    kind = special_kind(status.st_mode)
    if kind:
        raise DreamError(f"{what} {path} is {kind}, not a regular file; give a file saved on disk")
    return Path(path)


def existing_file(path: PathLike) -> Path:
    """The path of an input file that exists, is a regular file and is not empty, else DreamError."""
    p = Path(path)
    status = _status(p)
    if status is None:
        raise DreamError(f"{path}: file not found; check the path")
    if stat.S_ISDIR(status.st_mode):
        raise DreamError(f"{path}: is a folder, not a file; give an image or video file")
    kind = special_kind(status.st_mode)
    if kind:
        raise DreamError(f"{path}: is {kind}, not a regular file; give an image or video file saved on disk")
    if status.st_size == 0:
        raise DreamError(f"{path}: file is empty (0 bytes); re-export or copy it again")
    return p


def check_rgb_frame(frame: object, where: PathLike) -> np.ndarray:
    """`frame` itself if it is a uint8 (H, W, 3) array with pixels, else DreamError naming `where`."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise DreamError(f"{where}: frames must be uint8 (H, W, 3) RGB arrays, got {dtype} {shape}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise DreamError(f"{where}: frame has no pixels (shape {frame.shape})")
    return frame


def io_error(path: PathLike, exc: OSError, doing: str = "writing") -> DreamError:
    """A one-line DreamError for an OSError met while reading or writing `path`."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DreamError(f"{path}: the disk is full ({doing} stopped); free some space and run the same "
                          "command again: finished frames are kept")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DreamError(f"{path}: permission denied while {doing}; check the folder's permissions")
    reason = exc.strerror or str(exc) or type(exc).__name__
    return DreamError(f"{path}: {doing} failed ({reason})")


def remove_quietly(path: PathLike) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:  # a leftover temp file is not worth failing for
        logger.debug("could not remove %s: %s", path, exc)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish(temp: PathLike, path: PathLike) -> None:
    """Move a finished temporary file or folder into place, with the permissions a new one would get.

    mkstemp/mkdtemp create private (0600/0700) entries; the output should be readable like any other.
    """
    mode = 0o777 if os.path.isdir(temp) else 0o666
    os.chmod(temp, mode & ~_umask())
    os.replace(temp, path)


def temp_beside(path: PathLike, suffix: str = "") -> str:
    """A new empty file ``.NAME.XXXX.partialSUFFIX`` in the folder of `path` (removed by remove_stale_partials)."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".partial{suffix}", dir=path.parent)
    except OSError as exc:
        raise io_error(path, exc, "creating a temporary file") from None
    os.close(fd)
    return tmp


@contextlib.contextmanager
def written_atomically(path: PathLike, suffix: str = ""):
    """A temporary name beside ``path`` to write to; moved into place when the block ends without an error,
    removed when it fails (an OSError becomes a DreamError naming ``path``)."""
    tmp = temp_beside(path, suffix)
    try:
        yield tmp
        publish(tmp, path)
    except OSError as exc:
        remove_quietly(tmp)
        raise io_error(path, exc) from None
    except BaseException:
        remove_quietly(tmp)
        raise


def write_bytes_atomically(path: PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary name beside ``path``, then move it into place."""
    with written_atomically(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def remove_stale_partials(path: PathLike) -> None:
    """Delete ``.NAME.*.partial*`` beside ``path``: the temporary output of a writer that was killed."""
    target = Path(os.fspath(path).rstrip("/\\"))
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.partial*"):
        logger.debug("removing %s, left by an interrupted writer", stale)
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            remove_quietly(stale)
