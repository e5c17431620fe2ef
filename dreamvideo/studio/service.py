"""What the studio's page does, as plain methods (the page is a thin view over them; tests call them too).

Settings travel as ``{key: value}`` with keys ``"dream.steps"``, ``"video.blend"``, ``"zoom.zoom"``: the
options class and the option's name. Inputs and path options are names from :class:`StudioFiles`'s
lists, never paths.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import DreamError
from . import fields as fieldmod
from .files import StudioFiles
from .jobs import JobQueue
from .preview import Previewer
from .worker import Runner, frames_done

COMMANDS = ("still", "video", "zoom")
OUTPUT_FORMATS = {"still": (".png", ".jpg"), "video": (".mp4", ".gif", ".webp"), "zoom": (".mp4", ".gif", ".webp")}


def option_classes():
    from ..options import DreamOptions, VideoOptions, ZoomOptions

    return {"dream": DreamOptions, "video": VideoOptions, "zoom": ZoomOptions}


def form_fields() -> list[tuple[str, fieldmod.Option]]:
    """Every setting the page offers, as (key, field), in declaration order."""
    out = []
    for prefix, cls in option_classes().items():
        out += [(f"{prefix}.{f.name}", f) for f in fieldmod.declared(cls) if f.name not in fieldmod.NOT_ON_THE_PAGE]
    return out


def layer_lines(text: str | None) -> list[str] | None:
    """The layer box's text: one spec a line (specs hold commas: ``block4_conv3/12,40-47``)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines or None


class Studio:
    """One studio folder: its files, its queue, its worker runner and its preview process."""

    def __init__(self, folder: str | os.PathLike, max_upload_mb: float | None = None, max_jobs: int = 1,
                 farm_workers: int | None = None):
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.files = StudioFiles(self.folder, *(() if max_upload_mb is None else (max_upload_mb,)))
        self.queue = JobQueue(self.folder)
        self.runner = Runner(self.queue, max_jobs=max_jobs, farm_workers=farm_workers)
        self.previewer = Previewer()
        self.fields = dict(form_fields())

    def start(self) -> None:
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()
        self.previewer.stop()

    # -- settings ------------------------------------------------------------------------------------

    def options(self, command: str, settings: dict) -> dict:
        """The API's keyword arguments for ``command`` from the page's settings (missing keys: defaults)."""
        if command not in COMMANDS:
            raise DreamError(f"unknown command {command!r}: still, video or zoom")
        prefixes = ("dream",) + ((command,) if command != "still" else ())
        options = {}
        for key, field in self.fields.items():
            prefix, name = key.split(".", 1)
            if prefix in prefixes:
                options[name] = fieldmod.parse(field, settings.get(key))
        options["layer"] = layer_lines(settings.get("dream.layer"))
        for name in fieldmod.PATH_OPTIONS:
            choice = settings.get(f"paths.{name}")
            if choice:
                self.files.resolve(choice)  # a name on the studio's lists, or DreamError
                options[name] = choice
        self.check(command, options)
        return options

    def check(self, command: str, options: dict) -> None:
        """DreamError for settings the API would refuse, before any work: the option classes check every
        value as declared (keyframes through the CLI's sandboxed parser)."""
        from ..declare import split

        classes = option_classes()
        resolved = {k: (str(self.files.resolve(v)) if k in fieldmod.PATH_OPTIONS and v else v)
                    for k, v in options.items()}
        wanted = [classes["dream"]] + ([classes[command]] if command != "still" else [])
        *parts, _rest = split(resolved, *wanted)
        for cls, keywords in zip(wanted, parts):
            cls(**keywords)

    def settings_of(self, command: str, options: dict) -> dict:
        """The page's settings showing ``options`` (the inverse of :meth:`options`)."""
        settings = {}
        for key, field in self.fields.items():
            prefix, name = key.split(".", 1)
            value = options.get(name, field.default) if prefix in ("dream", command) else field.default
            if field.kind == "list" and isinstance(value, (list, tuple)):
                value = ", ".join(value)
            settings[key] = value if field.kind == "bool" else fieldmod.shown(value)
        layer = options.get("layer")
        if layer is not None and not isinstance(layer, (list, str)):
            layer = layer.specs()  # an Objective read from a render file
        settings["dream.layer"] = "\n".join([layer] if isinstance(layer, str) else layer or [])
        for name in fieldmod.PATH_OPTIONS:
            value = options.get(name)
            settings[f"paths.{name}"] = value if value in self.files.names() else None
        return settings

    def load_render_file(self, path: str | os.PathLike) -> tuple[str, dict, list[str]]:
        """(command, page settings, notes) from a render file made by the CLI or the studio. Its files
        (input, guide, style, mask) are not taken: the notes say which to upload and pick."""
        from .. import renderfile

        command, _input, _output, options = renderfile.read_render_file(path)
        notes = []
        for name in fieldmod.PATH_OPTIONS:
            if options.pop(name, None) is not None:
                notes.append(f"the {name} image is not loaded: upload it and pick it")
        objective = options.get("layer")
        if objective is not None and not isinstance(objective, (list, str)):
            for term in objective.terms:
                if term.kind in ("guide", "style"):
                    notes.append(f"the {term.kind} image is not loaded: upload it and pick it")
        return command, self.settings_of(command, options), notes

    def save_preset(self, input_name: str | None, command: str, settings: dict) -> Path:
        """Write the page's settings as a render file (a preset: ``dreamvideo render`` renders it, and
        the studio opens it); returns its path, under ``presets/``."""
        from ..declare import split
        from ..renderfile import write_render_file

        options = self.options(command, settings)
        resolved = {k: (str(self.files.resolve(v)) if k in fieldmod.PATH_OPTIONS and v else v)
                    for k, v in options.items()}
        classes = option_classes()
        wanted = [classes["dream"]] + ([classes[command]] if command != "still" else [])
        *parts, _rest = split(resolved, *wanted)
        recorded = {}
        for cls, keywords in zip(wanted, parts):
            recorded.update(cls(**keywords).recorded())
        input_path = None if input_name is None else self.files.resolve(input_name)
        stem = Path(input_name).stem if input_name else "noise"
        suffix = OUTPUT_FORMATS[command][0]
        folder = self.folder / "presets"
        folder.mkdir(exist_ok=True)
        output = folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}_{'zoom' if command == 'zoom' else 'dream'}{suffix}"
        return write_render_file(command, input_path, output, recorded)

    # -- preview -------------------------------------------------------------------------------------

    def preview(self, input_name: str | None, command: str, settings: dict, frame: int = 0):
        """(uint8 (H, W, 3) RGB, a line saying how long it took): one frame dreamed small."""
        options = self.options(command, settings)
        resolved = {k: (str(self.files.resolve(v)) if k in fieldmod.PATH_OPTIONS and v else v)
                    for k, v in options.items()}
        input_path = None if input_name is None else str(self.files.resolve(input_name))
        if command == "zoom":
            frame = 0
        started = time.perf_counter()
        result = self.previewer.preview(input_path, int(frame or 0), resolved)
        total = time.perf_counter() - started
        height, width = result.image.shape[:2]
        note = " (the first preview loads the model)" if result.first else ""
        return result.image, (f"preview of frame {int(frame or 0)}, {width}x{height}: dreamed in "
                              f"{result.seconds:.1f} s ({result.cpu_seconds:.1f} s of CPU), {total:.1f} s in all{note}")

    # -- jobs ----------------------------------------------------------------------------------------

    def submit(self, input_name: str | None, command: str, settings: dict, output_format: str | None = None) -> dict:
        """Queue a render; returns the job."""
        options = self.options(command, settings)
        if input_name is None and command != "zoom":
            raise DreamError("pick an input: upload a picture or a video, or choose a sample")
        if input_name is not None:
            self.files.resolve(input_name)
        formats = OUTPUT_FORMATS[command]
        suffix = output_format or formats[0]
        if suffix not in formats:
            raise DreamError(f"a {command} is written as {', '.join(formats)}, not {suffix}")
        stem = Path(input_name).stem if input_name else "noise"
        output_name = f"{stem}_{'zoom' if command == 'zoom' else 'dream'}{suffix}"
        job = self.queue.add(command, input_name, options, output_name)
        self.runner.wake()
        return job

    def cancel(self, job_id: str) -> dict:
        return self.runner.cancel(job_id)

    def resume(self, job_id: str) -> dict:
        return self.runner.resume(job_id)

    def progress(self, job: dict) -> dict:
        """Frames done, total, fraction, ETA in seconds (None when unknown) of a job."""
        output = self.queue.path(job["output"])
        total = job.get("total")
        # The output appears only when complete (under a temporary name until then), and then the work
        # folder goes.
        done = total if total and output.exists() else frames_done(output)
        eta = None
        if job["state"] == "running" and total and job.get("started"):
            made = done - job.get("done_at_start", 0)
            elapsed = time.time() - job["started"]
            if made > 0:
                eta = (total - done) * elapsed / made
        fraction = (done / total) if total else 0.0
        return {"done": done, "total": total, "fraction": min(1.0, fraction), "eta": eta}

    def jobs(self) -> list[dict]:
        """Every job, newest first, with its progress."""
        return [dict(job, progress=self.progress(job)) for job in reversed(self.queue.all())]

    def finished(self) -> list[dict]:
        """Finished renders, newest first, with their output and render file as real paths."""
        from ..renderfile import render_file_path

        out = []
        for job in self.jobs():
            if job["state"] != "done":
                continue
            output = self.queue.path(job["output"])
            if output.is_file():
                render_file = render_file_path(output)
                out.append(dict(job, output_path=str(output),
                                render_file=str(render_file) if render_file.is_file() else None))
        return out

    def job_settings(self, job_id: str) -> tuple[str, str | None, dict]:
        """(command, input name, page settings) of a job: "load these settings"."""
        job = self.queue.get(job_id)
        return job["command"], job["input"], self.settings_of(job["command"], job["options"])
