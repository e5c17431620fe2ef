"""A local farm's Ray dies with its driver, however the driver dies (kill -9 included).

Ray kills the processes it starts itself (GCS, raylet) when the driver dies, but not theirs: after a
``kill -9`` of a ``--workers 2`` driver, Ray's dashboard and runtime-env agents lived on for minutes, one of
them listening, and ignored SIGTERM. So before a driver starts a local Ray it starts this watchdog, a small
process of the standard library only (``python -I watchdog.py``), which

* holds the read end of a pipe whose write end only the driver has: the pipe reaches end of file the
  moment the driver dies, for any reason (the fallback: the driver's process id is polled);
* every half second notes the driver's descendants (process id and start time, so a reused id is never
  mistaken for one of them);
* once the driver is gone, kills (SIGKILL) every noted descendant still alive and the descendants of those,
  plus any orphan (parent: init) of the driver's process group started after the watchdog (a process born
  in the last half second, not yet noted), then exits. After a normal end (``ray.shutdown()``) nothing is left to kill.

Linux only (it reads /proc); elsewhere :func:`start` returns None and Ray's own clean-up is all there is.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

POLL_SECONDS = 0.5


def _stat(pid: int):
    """(ppid, pgid, start time, state) of a process, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            fields = file.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[2]), int(fields[19]), fields[0].decode()


def _children(pid: int) -> set[int]:
    """Child processes of ``pid`` (of any of its threads)."""
    found = set()
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children") as file:
                found.update(int(child) for child in file.read().split())
        except (OSError, ValueError):
            continue
    return found


def descendants(pid: int) -> dict[int, int]:
    """{process id: start time} of every living descendant of ``pid``."""
    found, frontier = {}, [pid]
    while frontier:
        for child in _children(frontier.pop()):
            status = _stat(child)
            if status is not None and child not in found:
                found[child] = status[2]
                frontier.append(child)
    return found


def _alive(pid: int, start: int) -> bool:
    status = _stat(pid)
    return status is not None and status[2] == start and status[3] != "Z"


def _orphans_of_group(pgid: int, born_after: int) -> dict[int, int]:
    """Processes whose parent is init, in process group ``pgid``, started after ``born_after``."""
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            status = _stat(int(name))
            if status and status[0] == 1 and status[1] == pgid and status[2] >= born_after:
                found[int(name)] = status[2]
    return found


def sweep(noted: dict[int, int], group: int | None = None, born_after: int = 0) -> int:
    """Kill every process of ``noted`` ({pid: start time}) still alive, and its descendants; with ``group``,
    also orphans of that process group started after ``born_after``. Returns how many were killed."""
    killed = 0
    for _ in range(5):  # a process may be forking while it is killed: look again
        targets = {pid: start for pid, start in noted.items() if _alive(pid, start)}
        if group is not None:
            targets.update(_orphans_of_group(group, born_after))
        for pid in list(targets):
            targets.update(descendants(pid))
        targets = {pid: start for pid, start in targets.items() if pid != os.getpid() and _alive(pid, start)}
        if not targets:
            break
        for pid in targets:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        noted = {**noted, **targets}
        time.sleep(0.05)
    return killed


def watch(driver: int, pipe_fd: int) -> None:
    """Note the driver's descendants until the pipe ends or the driver is gone, then sweep them."""
    status = _stat(driver)
    if status is None:
        return
    _, group, born, _ = status
    # Orphans are swept only if born after this watchdog: a pipeline's other commands (dreamvideo | tee) share
    # the driver's process group but were started with it, before it started a farm.
    watchdog_born = _stat(os.getpid())[2]
    noted: dict[int, int] = {}
    while True:
        ready, _, _ = select.select([pipe_fd], [], [], POLL_SECONDS)
        if ready and not os.read(pipe_fd, 4096):
            break  # end of file: the driver closed its end (a normal end) or died
        if not _alive(driver, born):
            break
        noted.update(descendants(driver))
    sweep(noted, group, watchdog_born)


class Watchdog:
    """The driver's handle: :meth:`close` at a normal end (after ``ray.shutdown()``)."""

    def __init__(self, process: subprocess.Popen, write_fd: int):
        self.process, self._write_fd = process, write_fd

    def close(self, timeout: float = 10.0) -> None:
        if self._write_fd is None:
            return
        os.close(self._write_fd)
        self._write_fd = None
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start() -> Watchdog | None:
    """Start the watchdog of this process (call it before starting a local Ray); None where /proc is absent."""
    if not sys.platform.startswith("linux") or not os.path.exists(f"/proc/{os.getpid()}/task"):
        return None
    read_fd, write_fd = os.pipe()  # neither end is inherited by the processes Ray starts (PEP 446)
    try:
        # Its own session: a Ctrl-C in the terminal reaches the driver (which shuts Ray down), not the watchdog.
        process = subprocess.Popen([sys.executable, "-I", os.path.abspath(__file__), str(os.getpid()), str(read_fd)],
                                   pass_fds=(read_fd,), stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        os.close(read_fd)
    return Watchdog(process, write_fd)


if __name__ == "__main__":
    watch(int(sys.argv[1]), int(sys.argv[2]))
