"""The studio's job queue: one JSON file a job in ``<studio folder>/jobs/``, so it survives a restart.

A job is a dict of plain values:

    id        "20261202-125501-3f2a" (creation time, then random: sorts by age)
    command   "still", "video" or "zoom"
    input     a file name inside the studio folder ("uploads/coffee.png") or a sample ("samples/coffee.png"),
              or None (a zoom from noise); never a path the browser typed
    options   the API's keyword arguments (path options as names inside the studio folder)
    output    "renders/<id>/<name>", inside the studio folder
    state     queued -> running -> done | failed | cancelled; a running job whose studio stopped is
              "interrupted"; cancelled and interrupted jobs resume (back to queued) from their kept frames
    total     frames the render makes (known once its worker has read the input), or None
    error     the one-line message of a failed job
    created, started, finished: seconds since the epoch; done_at_start: frames kept when it last started

Only the studio's server process writes these files (the workers report through their exit code and
a result file), always whole: written to a temporary name, then renamed.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from pathlib import Path

from ..errors import DreamError

STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
RESUMABLE = ("cancelled", "interrupted", "failed")


class JobQueue:
    """The jobs of one studio folder."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.jobs_dir = self.folder / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()

    def add(self, command: str, input: str | None, options: dict, output_name: str) -> dict:
        """Queue a new job; returns it. ``output_name``: the output's file name (no folder)."""
        job_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
        job = {"id": job_id, "command": command, "input": input, "options": options,
               "output": f"renders/{job_id}/{output_name}", "state": "queued", "total": None, "error": None,
               "created": time.time(), "started": None, "finished": None, "done_at_start": 0}
        with self._lock:
            self._write(job)
        return job

    def get(self, job_id: str) -> dict:
        """The job of this id; DreamError if there is none (ids come from the page, so they are checked)."""
        if not isinstance(job_id, str) or not job_id or not all(c.isalnum() or c == "-" for c in job_id):
            raise DreamError(f"no job {job_id!r}")
        path = self.jobs_dir / f"{job_id}.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            raise DreamError(f"no job {job_id!r}") from None

    def all(self) -> list[dict]:
        """Every job, oldest first."""
        jobs = []
        for path in sorted(self.jobs_dir.glob("*.json")):
            try:
                jobs.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # a file that is not a job is not ours to show
        return jobs

    def update(self, job_id: str, **changes) -> dict:
        with self._lock:
            job = self.get(job_id)
            job.update(changes)
            self._write(job)
            return job

    def next_queued(self) -> dict | None:
        return next((job for job in self.all() if job["state"] == "queued"), None)

    def mark_interrupted(self) -> list[str]:
        """At start: jobs left "running" by a studio that stopped become "interrupted" (resumable)."""
        ids = []
        with self._lock:
            for job in self.all():
                if job["state"] == "running":
                    self.update(job["id"], state="interrupted")
                    ids.append(job["id"])
        return ids

    def path(self, relative: str) -> Path:
        """A file named by a job (input, output), inside the studio folder."""
        return self.folder / relative

    def _write(self, job: dict) -> None:
        target = self.jobs_dir / f"{job['id']}.json"
        temp = target.with_name(target.name + ".tmp")
        temp.write_text(json.dumps(job, indent=1))
        os.replace(temp, target)
