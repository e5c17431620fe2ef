"""What a render may write: never a file it reads, never outside a render file's folder, one writer at a time.

* :func:`check_outputs_apart` compares every path a render writes (the output, its render file, its work
  folder and temporary names) with every path it reads (inputs, guide, style, mask, model, audio, colour
  reference, the other inputs of the same command), after resolving symbolic links and by file identity
  (hard links), and refuses the first clash with one line, before any work;
* :func:`confine` keeps a path a render file names inside the render file's folder (no absolute path, no
  ``..``, no symbolic link out of it);
* :class:`OutputLock` is held for the whole render of an output: a second render of the same output stops
  at once with one line naming the first (its process and command), instead of sharing temporary names.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import fnmatch
import json
import os
import sys
from pathlib import Path
from typing import Iterable

from .errors import DreamError

RENDER_SUFFIX = ".dreamvideo.json"


def render_file_path(output: str | os.PathLike) -> Path:
    """``out.mp4`` -> ``out.mp4.dreamvideo.json``; a frames folder ``frames/`` -> ``frames.dreamvideo.json``
    (the render file written beside every output)."""
    path = Path(os.fspath(output).rstrip("/\\") or ".")
    return path.with_name(path.name + RENDER_SUFFIX)


LOCK_SUFFIX = ".dreamvideo-lock"


def _real(path) -> Path:
    """The absolute path with every symbolic link resolved (the path itself need not exist)."""
    return Path(os.path.realpath(os.fspath(path).rstrip("/\\") or os.fspath(path)))


def _identity(path: Path):
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino)


def _is_dir(path: Path) -> bool:
    """Path.is_dir, and False for a name the system refuses (too long): the reader's own check names it."""
    try:
        return os.path.isdir(path)
    except (OSError, ValueError):
        return False


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class TempNames:
    """The temporary names ``.NAME.XXXX.partial*`` a writer of ``NAME`` uses beside it (and deletes when a
    killed writer left them: :func:`dreamvideo.media.files.remove_stale_partials`), as one written "path"."""

    def __init__(self, path):
        real = _real(path)
        self.folder, self.pattern = real.parent, f".{real.name}.*.partial*"

    def __str__(self) -> str:
        return str(self.folder / self.pattern)

    def matches(self, path) -> bool:
        """True if ``path`` (as given, or with its links resolved) is one of these names."""
        for candidate in (Path(os.path.abspath(os.fspath(path))), _real(path)):
            if candidate.parent == self.folder and fnmatch.fnmatchcase(candidate.name, self.pattern):
                return True
        return False


def check_outputs_apart(outputs: Iterable[tuple[str, object]], inputs: Iterable[tuple[str, object]]) -> None:
    """DreamError if any written path is, or holds, or lies in, a path that is read.

    ``outputs``: (what, path) pairs, e.g. ("output", "x.mp4"), ("work folder", ".x.mp4.dreamvideo-work"),
    ("temporary files", TempNames("x.mp4")); a folder output (numbered frames) clashes with every input
    inside it, and an input folder (a GAN's pictures) with every output inside it. ``inputs``: (what, path)
    pairs; None paths are skipped.
    """
    readers = [(what, path, _real(path), _identity(_real(path))) for what, path in inputs if path is not None]
    for out_what, out_path in outputs:
        if out_path is None:
            continue
        if isinstance(out_path, TempNames):
            for in_what, in_path, _, _ in readers:
                if out_path.matches(in_path):
                    raise DreamError(f"the {in_what} {in_path} is named like the {out_what} {out_path} of this "
                                     "render, which are deleted when left over: rename it or choose another output")
            continue
        real = _real(out_path)
        identity = _identity(real)
        for in_what, in_path, in_real, in_identity in readers:
            same = real == in_real or (identity is not None and identity == in_identity)
            inside = _is_dir(in_real) and _within(real, in_real)  # e.g. a model written into its pictures
            if same or _within(in_real, real) or inside:
                where = "is" if same else "lies in" if inside else "holds"
                raise DreamError(f"the {out_what} {out_path} {where} the {in_what} {in_path}, which this render "
                                 "reads: choose another output name")


def confine(path: str, folder: Path, key: str, where) -> Path:
    """``path`` (as written in a render file at ``where``) resolved against ``folder``; DreamError if it
    is absolute or leads outside ``folder`` (by ``..`` or through a symbolic link)."""
    if not isinstance(path, str) or not path.strip():
        raise DreamError(f"{where}: key '{key}' must be a path, got {path!r}")
    if os.path.isabs(path) or (len(path) > 1 and path[1] == ":"):
        raise DreamError(f"{where}: key '{key}' is the absolute path {path!r}; a render file names paths "
                         "relative to its own folder")
    base = _real(folder)
    target = _real(base / path)
    if not _within(target, base):
        raise DreamError(f"{where}: key '{key}' ({path!r}) leads outside the render file's folder {folder}; "
                         "name an output on the command line with -o to write elsewhere")
    return target


def lock_path(output) -> Path:
    """``.NAME.dreamvideo-lock`` beside the output ``NAME`` (a file or a frames folder)."""
    real = _real(output)
    return real.parent / f".{real.name}{LOCK_SUFFIX}"


class OutputLock:
    """An exclusive lock on one output for one render (a context manager; the lock file goes with it).

    The lock is ``flock`` on ``.NAME.dreamvideo-lock`` beside the output: the kernel releases it when its
    process dies, however it dies, so a killed render never blocks the next. The file holds the process id
    and command line of the holder, for the message a second render gets.
    """

    def __init__(self, output, command: str | None = None):
        self.output = output
        self.path = lock_path(output)
        self.command = command if command is not None else " ".join(sys.argv)
        self._fd = None

    def acquire(self) -> "OutputLock":
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                from .media.files import io_error

                raise io_error(self.path, exc, "creating the lock file") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_holder(fd)
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise DreamError(f"{self.output} is being rendered by another dreamvideo ({holder}); wait for "
                                     "it to finish or stop it, then run this again") from None
                raise
            # The holder before us may have removed the file after we opened it: then our lock is on a
            # file nobody else will find. Lock again the one at the path.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": self.command[:500]}).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        holder = json.loads(os.read(fd, 1000).decode() or "{}")
        return f"process {int(holder['pid'])}: {str(holder.get('command', ''))[:120]}"
    except (OSError, ValueError, KeyError, TypeError):
        return "process unknown"


def reads_of(job) -> list[tuple[str, object]]:
    """(what, path) of every file a prepared render job reads: its input, the guide, style and mask, a model
    file, the objective's images and a zoom's colour reference."""
    from .models import REGISTRY

    reads = [("input", getattr(job, "input", None))]
    dream = getattr(job, "dream_opts", None)
    if dream is not None:
        reads += [("guide", dream.guide), ("style", dream.style), ("mask", dream.mask)]
        if isinstance(dream.model, str) and dream.model not in REGISTRY:
            reads.append(("model", dream.model))
        if dream.objective is not None:
            reads += [(f"{term.kind} image", term.image) for term in dream.objective.terms if term.image]
    for name in ("zoom_opts", "video_opts"):
        opts = getattr(job, name, None)
        for field in ("colour_reference", "audio"):
            if getattr(opts, field, None) is not None:
                reads.append((field.replace("_", " "), getattr(opts, field)))
    return [(what, path) for what, path in reads if path is not None and isinstance(path, (str, os.PathLike))]


def writes_of(job) -> list[tuple[str, object]]:
    """(what, path) of what a render job writes: the output, its render file, its work folder, its lock, and
    the temporary names of the output and the render file."""
    return written_paths(job.output)


def written_paths(output, *, render_file: bool = True, work_folder: bool = True) -> list[tuple[str, object]]:
    """(what, path) of what a render of ``output`` writes (see :func:`writes_of`)."""
    real = _real(output)
    writes = [("output", output), ("temporary files", TempNames(output)), ("lock file", lock_path(output))]
    if render_file:
        writes += [("render file", render_file_path(output)),
                   ("render file's temporary files", TempNames(render_file_path(output)))]
    if work_folder:
        writes.append(("work folder", real.parent / f".{real.name}.dreamvideo-work"))
    return writes


@contextlib.contextmanager
def guarded_output(output, reads: list[tuple[str, object]], **what_is_written):
    """For a command with one output that is not a render job (a GAN's model or animation): its writes
    (:func:`written_paths`) checked against ``reads``, and its lock held while the block runs."""
    from .limits import check_output_name

    check_output_name(output)
    check_outputs_apart(written_paths(output, **what_is_written), reads)
    with OutputLock(output):
        yield


@contextlib.contextmanager
def guarded(jobs):
    """Check every job's writes against every job's reads (the other inputs of the same command too), then
    hold each output's lock while the jobs run."""
    from .limits import check_output_name

    reads = [read for job in jobs for read in reads_of(job)]
    outputs = set()
    for job in jobs:
        check_output_name(job.output)
        check_outputs_apart(writes_of(job), reads)
        if _real(job.output) in outputs:
            raise DreamError(f"two inputs of this command would both write {job.output}: give them other names")
        outputs.add(_real(job.output))
    with contextlib.ExitStack() as stack:
        for job in jobs:
            stack.enter_context(OutputLock(job.output))
        yield
