"""The files a studio may read: uploads stored under its folder, and the repository's sample inputs.

The browser never names a path. It uploads a file (stored as ``uploads/<sanitised name>``) or picks a
name from the lists this module makes (``uploads/...`` or ``samples/...``); ``resolve`` accepts only a
name on those lists and returns the file's real path.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ..errors import DreamError

# The inputs among the repository's samples (the others are outputs made from these).
SAMPLE_INPUTS = ("coffee.png", "chelsea.png", "coffee_pan.mp4")
DEFAULT_MAX_UPLOAD_MB = 200
NAME_LENGTH = 80


def samples_folder() -> Path | None:
    """The repository's ``samples/`` (beside the package, or in the current folder), or None."""
    for candidate in (Path(__file__).resolve().parents[2] / "samples", Path.cwd() / "samples"):
        if all((candidate / name).is_file() for name in SAMPLE_INPUTS):
            return candidate
    return None


def sanitise(name: str) -> str:
    """A safe file name for an upload: letters, digits, ``._-`` only, no leading dot, at most 80 characters,
    the extension in lower case. ``"../../My Photo (1).JPG"`` -> ``"My_Photo_1.jpg"``."""
    base = os.path.basename(str(name).replace("\\", "/"))
    stem, ext = os.path.splitext(base)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "upload"
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext).lower()
    stem = stem[:NAME_LENGTH - len(ext) - 1]
    return f"{stem}.{ext}" if ext else stem


class StudioFiles:
    """Uploads and samples of one studio folder."""

    def __init__(self, folder: str | os.PathLike, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB):
        self.folder = Path(folder).resolve()
        self.uploads = self.folder / "uploads"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.max_upload_bytes = int(max_upload_mb * 1024 * 1024)
        self.samples = samples_folder()

    def names(self, kind: str | None = None) -> list[str]:
        """Every input a job may name: ``samples/...`` then ``uploads/...``; ``kind`` "image" or "video"
        keeps only those."""
        from .. import media

        found = [f"samples/{n}" for n in SAMPLE_INPUTS if self.samples is not None]
        found += [f"uploads/{p.name}" for p in sorted(self.uploads.iterdir()) if p.is_file()
                  and not p.name.startswith(".")]
        if kind is None:
            return found
        return [n for n in found if media.is_video_path(self.resolve(n)) == (kind == "video")]

    def resolve(self, name: str) -> Path:
        """The real path of an input named on the lists; DreamError for any other name."""
        if isinstance(name, str) and "/" in name:
            where, file_name = name.split("/", 1)
            if where == "samples" and self.samples is not None and file_name in SAMPLE_INPUTS:
                return self.samples / file_name
            if where == "uploads" and file_name == sanitise(file_name) and (self.uploads / file_name).is_file():
                return self.uploads / file_name
        raise DreamError(f"{name!r} is not one of the studio's inputs: upload the file or pick a sample")

    def store_upload(self, temp_path: str | os.PathLike, original_name: str) -> str:
        """Move an uploaded file into ``uploads/`` under a sanitised name (a new one if it is taken by a
        different file) after checking its size and that it is a picture or a video; returns its name
        (``uploads/...``). DreamError with the CLI's one-line message, naming the file as uploaded."""
        from .. import media

        temp_path = Path(temp_path)
        size = temp_path.stat().st_size
        if size > self.max_upload_bytes:
            temp_path.unlink(missing_ok=True)
            raise DreamError(f"{sanitise(original_name)}: {size / 1e6:.1f} MB is more than the studio's upload "
                             f"limit of {self.max_upload_bytes / 1e6:.0f} MB (see --max-upload)")
        name = sanitise(original_name)
        target = self._free_name(name, temp_path)
        checking = self.uploads / f".checking-{target.name}"
        shutil.move(str(temp_path), checking)
        try:
            if media.is_video_path(checking):
                media.probe_video(checking)
            else:
                media.read_image(checking)
        except DreamError as exc:
            checking.unlink(missing_ok=True)
            raise DreamError(str(exc).replace(str(checking), target.name)) from None
        os.replace(checking, target)
        return f"uploads/{target.name}"

    def _free_name(self, name: str, source: Path) -> Path:
        stem, ext = os.path.splitext(name)
        target, number = self.uploads / name, 1
        while target.exists() and not _same_bytes(target, source):
            target, number = self.uploads / f"{stem}-{number}{ext}", number + 1
        return target


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    return a.read_bytes() == b.read_bytes()
