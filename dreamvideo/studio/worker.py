"""Renders in worker processes, never in the web server's: the page stays responsive while a job dreams.

The server's :class:`Runner` starts one worker process a job (``python -m dreamvideo.studio.worker FOLDER
JOB_ID``; ``max_jobs`` at a time, one by default) in its own process group. The worker renders through the
API into ``renders/<id>/`` with its work folder beside the output, so the render's own resume applies:
cancelling a job terminates its worker's process group, the finished frames stay, and running the job
again continues from the first missing frame. The worker reports through its exit code and a result
file (``jobs/<id>.result``, JSON: the frame count once known, the one-line error of a failed render);
only the server writes the job files. A worker whose server is gone stops by itself.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import DreamError
from .jobs import JobQueue

logger = logging.getLogger(__name__)

EXIT_USER_ERROR = 2
# A terminated worker gets this long to exit before it is killed (it holds no state worth a longer wait:
# every finished frame is already on disk).
TERMINATE_SECONDS = 5.0
POLL_SECONDS = 0.5


def result_path(folder: Path, job_id: str) -> Path:
    return Path(folder) / "jobs" / f"{job_id}.result"


def work_folder(output: Path) -> Path:
    """Where the render keeps finished frames (render.FrameStore's folder, beside the output)."""
    from ..render import work_folder as render_work_folder

    return render_work_folder(output)


def frames_done(output: Path) -> int:
    """Finished frames of a render: those in its work folder (numbered PNGs)."""
    try:
        return sum(1 for name in os.listdir(work_folder(output)) if re.fullmatch(r"\d{6}\.png", name))
    except OSError:
        return 0


class Runner:
    """Starts queued jobs in worker processes, watches them, cancels them; one thread in the server."""

    def __init__(self, queue: JobQueue, max_jobs: int = 1, farm_workers: int | None = None):
        self.queue = queue
        self.max_jobs = max_jobs
        self.farm_workers = farm_workers
        self.processes: dict[str, subprocess.Popen] = {}
        self.cancelling: set[str] = set()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="studio-runner", daemon=True)

    def start(self) -> None:
        self.queue.mark_interrupted()
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def cancel(self, job_id: str) -> dict:
        """Stop a job: a queued one is not started, a running one's worker is terminated (frames kept)."""
        with self._lock:
            job = self.queue.get(job_id)
            if job["state"] == "queued":
                return self.queue.update(job_id, state="cancelled")
            process = self.processes.get(job_id)
            if job["state"] != "running" or process is None:
                raise DreamError(f"job {job_id} is {job['state']}: only a queued or running job can be cancelled")
            self.cancelling.add(job_id)
        _terminate(process)
        self._reap(job_id, process)
        return self.queue.get(job_id)

    def resume(self, job_id: str) -> dict:
        """Queue a cancelled, interrupted or failed job again; it continues from its finished frames."""
        from .jobs import RESUMABLE

        with self._lock:
            job = self.queue.get(job_id)
            if job["state"] not in RESUMABLE:
                raise DreamError(f"job {job_id} is {job['state']}: only a cancelled, interrupted or failed job "
                                 "can be resumed")
            job = self.queue.update(job_id, state="queued", error=None)
        self.wake()
        return job

    def stop(self) -> None:
        """Stop the thread and every worker (their frames are kept; the jobs resume as interrupted)."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            running = list(self.processes.items())
        for job_id, process in running:
            _terminate(process)
            self.queue.update(job_id, state="interrupted")
        with self._lock:
            self.processes.clear()
        if self._thread.is_alive():
            self._thread.join(timeout=TERMINATE_SECONDS + 1)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # a bad job file must not stop the queue
                logger.exception("studio runner")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _tick(self) -> None:
        with self._lock:
            for job_id, process in list(self.processes.items()):
                if process.poll() is not None:
                    self._reap(job_id, process)
            while len(self.processes) < self.max_jobs and not self._stop.is_set():
                job = self.queue.next_queued()
                if job is None:
                    break
                self._launch(job)
            for job_id in self.processes:
                self._note_total(job_id)

    def _launch(self, job: dict) -> None:
        output = self.queue.path(job["output"])
        output.parent.mkdir(parents=True, exist_ok=True)
        result_path(self.queue.folder, job["id"]).unlink(missing_ok=True)
        command = [sys.executable, "-m", "dreamvideo.studio.worker", str(self.queue.folder), job["id"]]
        if self.farm_workers:
            command += ["--workers", str(self.farm_workers)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).parents[2]),
                                                                        os.environ.get("PYTHONPATH")])))
        log = open(self.queue.folder / "jobs" / f"{job['id']}.log", "ab")
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                       start_new_session=True)  # its own group: cancel reaches Ray's too
        finally:
            log.close()
        self.processes[job["id"]] = process
        self.queue.update(job["id"], state="running", started=time.time(), finished=None,
                          done_at_start=frames_done(output), error=None)

    def _note_total(self, job_id: str) -> None:
        job = self.queue.get(job_id)
        if job.get("total") is None:
            total = _read_result(self.queue.folder, job_id).get("total")
            if total is not None:
                self.queue.update(job_id, total=total)

    def _reap(self, job_id: str, process: subprocess.Popen) -> None:
        with self._lock:
            if self.processes.get(job_id) is not process:
                return
            code = process.wait()
            del self.processes[job_id]
            self._note_total(job_id)
            result = _read_result(self.queue.folder, job_id)
            if job_id in self.cancelling:
                self.cancelling.discard(job_id)
                self.queue.update(job_id, state="cancelled", finished=time.time())
            elif code == 0:
                self.queue.update(job_id, state="done", finished=time.time())
            else:
                error = result.get("error") or (f"the worker stopped (exit code {code}); finished frames are kept: "
                                                "resume to continue")
                self.queue.update(job_id, state="failed", error=error, finished=time.time())
        self.wake()


def _terminate(process: subprocess.Popen) -> None:
    """SIGTERM to the worker's process group, SIGKILL if it is still there after TERMINATE_SECONDS."""
    for sig, wait in ((signal.SIGTERM, TERMINATE_SECONDS), (signal.SIGKILL, TERMINATE_SECONDS)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


def _read_result(folder: Path, job_id: str) -> dict:
    try:
        return json.loads(result_path(folder, job_id).read_text())
    except (OSError, ValueError):
        return {}


def _write_result(folder: Path, job_id: str, **values) -> None:
    target = result_path(folder, job_id)
    data = {**_read_result(folder, job_id), **values}
    temp = target.with_name(target.name + ".tmp")
    temp.write_text(json.dumps(data))
    os.replace(temp, target)


# -- the worker process --------------------------------------------------------------------------------


def render(folder: Path, job: dict, farm_workers: int | None = None) -> None:
    """Render one job through the API (in this process); its frame count goes to the result file first."""
    from .. import api
    from .fields import PATH_OPTIONS
    from .files import StudioFiles

    files = StudioFiles(folder)
    options = dict(job["options"])
    for key in PATH_OPTIONS:
        if options.get(key) is not None:
            options[key] = str(files.resolve(options[key]))
    input_path = str(files.resolve(job["input"])) if job["input"] is not None else None
    output = str(folder / job["output"])
    options["quiet"] = True
    _write_result(folder, job["id"], total=frame_count(job["command"], input_path, output, options))
    farm = {"workers": farm_workers} if farm_workers and job["command"] != "zoom" else {}  # a zoom is one chain
    render_call = {"still": api.dream_image, "video": api.render_video, "zoom": api.render_zoom}[job["command"]]
    render_call(input_path, output, **options, **farm)


def frame_count(command: str, input_path: str | None, output: str, options: dict) -> int:
    """The frames a render writes, from the same checks the API makes before any work."""
    if command == "still":
        return 1
    if command == "video":
        from ..video import prepare_video

        return prepare_video(input_path, output, options).total
    if command == "zoom":
        from ..zoom import prepare_zoom

        return prepare_zoom(input_path, output, options).total
    raise DreamError(f"unknown command {command!r}")


def _watch_parent() -> None:
    """Exit when the studio that started this worker is gone (its frames are kept for a resume)."""
    parent = os.getppid()
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(EXIT_USER_ERROR + 1)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m dreamvideo.studio.worker")
    parser.add_argument("folder")
    parser.add_argument("job_id")
    parser.add_argument("--workers", type=int)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="dreamvideo worker: %(message)s")
    threading.Thread(target=_watch_parent, daemon=True).start()
    folder = Path(args.folder).resolve()
    try:
        job = JobQueue(folder).get(args.job_id)
        render(folder, job, args.workers)
    except DreamError as exc:
        message = str(exc).replace(str(folder) + os.sep, "")
        _write_result(folder, args.job_id, error=message)
        print(f"dreamvideo: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
