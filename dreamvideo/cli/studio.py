"""``dreamvideo studio``: the local web app (see :mod:`dreamvideo.studio`)."""

from __future__ import annotations

import sys

from .flags import Parser


def build_studio_parser() -> Parser:
    from ..studio.server import add_arguments

    return add_arguments(Parser(prog="dreamvideo studio",
                                description="A local web app to preview, render, cancel and resume dreams; "
                                            "prints its address (127.0.0.1 unless --host says otherwise)."))


def run_studio(args) -> int:
    from ..studio import server

    demo, studio, url = server.start(args.folder, args.port, args.host, args.workers, args.max_upload)
    warning = server.host_warning(args.host)
    if warning:
        print(warning, file=sys.stderr)
    print(f"dreamvideo studio: {url} (folder {studio.folder})", file=sys.stderr, flush=True)
    server.serve_until_stopped(demo, studio)
    return 0
