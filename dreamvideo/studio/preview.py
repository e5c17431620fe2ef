"""Previews: one frame dreamed small, in a long-lived process of its own so the model stays loaded.

The web server sends (picture, frame number, options) through a pipe (pickles between two processes of
the same program, never from the browser) and waits in the request's own
thread: the page and every other request go on meanwhile. The frame is dreamed with the CLI's
``--preview`` settings (longest side at most 256 px, a third of the steps, at most 3 octaves).
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DreamError


@dataclass
class PreviewResult:
    image: np.ndarray  # uint8 (H, W, 3) RGB
    seconds: float  # wall time of the dream (the first preview of a process includes loading the model)
    cpu_seconds: float  # CPU time of the preview process for the same
    first: bool  # the first preview of this process: the model was loaded for it


def preview_frame(input_path: str | None, frame: int, options: dict) -> tuple[np.ndarray, float, float]:
    """Dream frame ``frame`` of ``input_path`` (a still: the picture; None: a zoom's noise canvas) with the
    preview settings; returns uint8 (H, W, 3) RGB, the wall and the CPU seconds the dream took."""
    from .. import api, media
    from ..declare import declared_names
    from ..options import DreamOptions, PREVIEW_MAX_SIDE, preview_options

    names = declared_names(DreamOptions)
    dream = preview_options({k: v for k, v in options.items() if k in names})
    side = dream["max_side"] or PREVIEW_MAX_SIDE
    if input_path is None:
        from ..zoom import noise_canvas, parse_size

        width, height = parse_size(options.get("size", "512x512"))
        scale = min(1.0, side / max(width, height))
        image = noise_canvas(max(16, round(width * scale)), max(16, round(height * scale)), dream.get("seed", 0))
    elif media.is_video_path(input_path):
        frames = media.read_frames(input_path, start_frame=int(frame), end_frame=int(frame) + 1, max_side=side)
        image = next(iter(frames), None)
        if image is None:
            raise DreamError(f"frame {frame} is past the end of the video")
    else:
        image = media.resize_max_side(media.read_image(input_path), side)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = api.dream_array(image, **dream, quiet=True)
    return result, time.perf_counter() - start, time.process_time() - cpu_start


def _serve(requests, replies) -> None:
    """The preview process's loop: pickled (input, frame, options) in, ("ok", image, seconds, CPU
    seconds) or ("error", message, 0, 0) out; ends when the studio closes the pipe."""
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        try:
            reply = ("ok", *preview_frame(*request))
        except DreamError as exc:
            reply = ("error", str(exc), 0.0, 0.0)
        except Exception as exc:  # the page shows it; the process serves the next preview
            reply = ("error", f"preview failed: {type(exc).__name__}: {exc}", 0.0, 0.0)
        pickle.dump(reply, replies)
        replies.flush()


class Previewer:
    """The preview process (``python -m dreamvideo.studio.preview``), started on the first preview; one
    preview at a time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._process = None
        self._served = 0

    def preview(self, input_path: str | None, frame: int, options: dict) -> PreviewResult:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).parents[2]),
                                                                                os.environ.get("PYTHONPATH")])))
                self._process = subprocess.Popen([sys.executable, "-m", "dreamvideo.studio.preview"],
                                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                                 start_new_session=True)
                self._served = 0
            try:
                pickle.dump((input_path, frame, options), self._process.stdin)
                self._process.stdin.flush()
                status, value, seconds, cpu_seconds = pickle.load(self._process.stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                self._process.kill()
                self._process.wait()
                self._process = None
                raise DreamError("the preview process stopped; try again") from None
            self._served += 1
        if status == "error":
            raise DreamError(value)
        return PreviewResult(value, seconds, cpu_seconds, self._served == 1)

    def stop(self) -> None:
        with self._lock:
            if self._process is not None:
                self._process.stdin.close()  # the process's loop ends at the end of its input
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.WARNING)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the reply pipe
    _serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
