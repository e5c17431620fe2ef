"""``dreamvideo studio``: start the web app on 127.0.0.1 and print its address.

    dreamvideo studio [--folder DIR] [--port N] [--host H] [--workers N] [--max-upload MB]

The folder (default ``./dreamvideo-studio``) holds everything the studio keeps: uploads, the job queue,
renders, Gradio's cache. The page serves files from that folder and the repository's samples only.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from ..errors import DreamError
from .files import DEFAULT_MAX_UPLOAD_MB

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_FOLDER = "dreamvideo-studio"
HOST_WARNING = ("dreamvideo studio: warning: listening on {host}: anyone who can reach this address can use this "
                "machine's CPU and disk")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--folder", default=DEFAULT_FOLDER, metavar="DIR",
                        help=f"where the studio keeps uploads, jobs and renders (default ./{DEFAULT_FOLDER})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="N",
                        help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=LOOPBACK, metavar="H",
                        help=f"address to listen on (default {LOOPBACK}: this machine only)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="dream each job on a local Ray farm of N workers (pip install \"dreamvideo[ray]\"); "
                             "default: one process")
    parser.add_argument("--max-upload", type=float, default=DEFAULT_MAX_UPLOAD_MB, metavar="MB",
                        help=f"largest upload accepted, in megabytes (default {DEFAULT_MAX_UPLOAD_MB})")
    return parser


def start(folder: str = DEFAULT_FOLDER, port: int = DEFAULT_PORT, host: str = LOOPBACK, workers: int | None = None,
          max_upload: float = DEFAULT_MAX_UPLOAD_MB):
    """Start the studio in the background; returns (demo, studio, url). ``stop(demo, studio)`` stops it."""
    if max_upload <= 0:
        raise DreamError(f"--max-upload must be a positive number of megabytes, got {max_upload}")
    if workers is not None and workers < 1:
        raise DreamError(f"--workers must be at least 1, got {workers}")
    folder_path = Path(folder).resolve()
    folder_path.mkdir(parents=True, exist_ok=True)
    from . import app

    app.offline_environment(folder_path)
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise DreamError('the studio needs Gradio: pip install "dreamvideo[studio]"') from None
    from .service import Studio

    studio = Studio(folder_path, max_upload_mb=max_upload, farm_workers=workers)
    studio.start()
    try:
        demo = app.build(studio)
        demo.queue(default_concurrency_limit=4)
        # Gradio serves its own cache (under the folder) and these: the renders and the samples, nothing else.
        allowed = [str(folder_path / "renders"), str(folder_path / "presets")] + ([str(studio.files.samples)] if studio.files.samples else [])
        _, url, _ = demo.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True,
                                show_error=False, allowed_paths=allowed, max_file_size=int(max_upload * 1024 * 1024),
                                theme=app.theme(), ssr_mode=False, share=False, inbrowser=False,
                                footer_links=[], enable_monitoring=False, mcp_server=False, pwa=False)
    except BaseException:
        studio.stop()
        raise
    return demo, studio, url


def stop(demo, studio) -> None:
    """Stop the page and every worker (their jobs are kept as interrupted, with their frames)."""
    demo.close()
    studio.stop()


def serve_until_stopped(demo, studio) -> None:
    """Block until Ctrl-C or SIGTERM, then stop the studio."""
    # SIGTERM stops the studio like Ctrl-C: its workers are terminated and their jobs marked interrupted.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        stop(demo, studio)


def host_warning(host: str) -> str | None:
    """The one-line warning printed when the studio listens on another address than 127.0.0.1."""
    return None if host == LOOPBACK else HOST_WARNING.format(host=host)


def _interrupt(signum, frame):
    raise KeyboardInterrupt
