"""A local farm's Ray dies with its driver, however the driver dies (kill -9 included), and leaves no folder.

Ray kills the processes it starts itself (GCS, raylet) when the driver dies, but not theirs: after a
``kill -9`` of a ``--workers 2`` driver, Ray's dashboard and runtime-env agents lived on for minutes, one of
them listening, and ignored SIGTERM; workers the raylet had just started lived on too, each in a process
group of its own. So before a driver starts a local Ray it starts this watchdog, a small process of the
standard library only (``python -I watchdog.py``), and gives the farm a folder of its own (Ray's temporary
folder: sessions, logs, sockets, spilled objects), ``dreamvideo-ray-XXXXXXXX`` in :func:`farm_root`, with an
``owner`` file naming the driver. The watchdog

* holds the read end of a pipe whose write end only the driver has: the pipe reaches end of file the
  moment the driver dies, for any reason (the fallback: the driver's process id is polled);
* knows the farm's processes by a mark in their environment (``DREAMVIDEO_LOCAL_FARM=<the folder>``, set
  while Ray starts and inherited by everything Ray starts, whatever its parent, process group or session),
  and, as a second net, notes the driver's descendants every half second (process id and start time, so a
  reused id is never mistaken for one of them);
* once the driver is gone, kills (SIGKILL) every marked or noted process still alive and the descendants of
  those, removes the farm's folder, then exits. After a normal end (``ray.shutdown()``) only the folder is
  left to remove.

If the watchdog itself was killed, the next local farm does its work (:func:`clean_leftovers`): a farm folder
of this user whose owner is gone is swept and removed; a live farm's folder is never touched.

Linux only (it reads /proc); elsewhere :func:`start` returns None and Ray's own clean-up is all there is.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

POLL_SECONDS = 0.5
MARK = "DREAMVIDEO_LOCAL_FARM"  # in the environment of every process of a local farm: its folder
FOLDER_PREFIX = "dreamvideo-ray-"
OWNER_FILE = "owner"  # "<driver's process id> <its start time>"


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


def _marked(mark: str) -> dict[int, int]:
    """{process id: start time} of every living process whose environment carries ``MARK=mark``."""
    wanted = f"{MARK}={mark}".encode()
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as file:
                environment = file.read().split(b"\0")
        except OSError:  # gone, or another user's
            continue
        status = _stat(int(name))
        if wanted in environment and status is not None and status[3] != "Z":
            found[int(name)] = status[2]
    return found


def sweep(noted: dict[int, int], mark: str | None = None) -> int:
    """Kill every process of ``noted`` ({pid: start time}) still alive, every process marked with ``mark``,
    and their descendants. Returns how many processes were killed."""
    killed: set[tuple[int, int]] = set()
    for _ in range(100):  # a process may be forking while it is killed: look again, until nothing is left
        targets = {pid: start for pid, start in noted.items() if _alive(pid, start)}
        if mark is not None:
            targets.update(_marked(mark))
        for pid in list(targets):
            targets.update(descendants(pid))
        targets = {pid: start for pid, start in targets.items() if pid != os.getpid() and _alive(pid, start)}
        if not targets:
            break
        for pid, start in targets.items():
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add((pid, start))
            except OSError:
                pass
        noted = {**noted, **targets}
        time.sleep(0.05)
    return len(killed)


def end_farm(folder: str, noted: dict[int, int] | None = None) -> None:
    """Kill what is left of the farm whose folder is ``folder`` (marked processes, and ``noted`` ones), then
    remove the folder."""
    sweep(noted or {}, folder)
    shutil.rmtree(folder, ignore_errors=True)


def watch(driver: int, pipe_fd: int, folder: str) -> None:
    """Note the driver's descendants until the pipe ends or the driver is gone, then end the farm."""
    status = _stat(driver)
    if status is not None:
        born = status[2]
        noted: dict[int, int] = {}
        while True:
            ready, _, _ = select.select([pipe_fd], [], [], POLL_SECONDS)
            if ready and not os.read(pipe_fd, 4096):
                break  # end of file: the driver closed its end (a normal end) or died
            if not _alive(driver, born):
                break
            noted.update(descendants(driver))
    end_farm(folder, noted)


def _owner(folder: str) -> tuple[int, int] | None:
    """(process id, start time) of the driver named in a farm folder's owner file; None if it is unreadable."""
    try:
        with open(os.path.join(folder, OWNER_FILE)) as file:
            pid, start = (int(field) for field in file.read().split())
    except (OSError, ValueError):
        return None
    return pid, start


def _owner_alive(folder: str) -> bool | None:
    """Whether the driver named in a farm folder's owner file still runs; None if the file is unreadable."""
    owner = _owner(folder)
    return None if owner is None else _alive(*owner)


def folders_of(driver: int, root: str | None = None) -> list[str]:
    """The farm folders under ``root`` (default :func:`farm_root`) whose owner file names process ``driver``."""
    root = root or farm_root()
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [os.path.join(root, name) for name in names if name.startswith(FOLDER_PREFIX)
            and (_owner(os.path.join(root, name)) or (None,))[0] == driver]


def farm_root() -> str:
    """Where local farms make their folders: Ray's own choice of a parent (RAY_TMPDIR, else TMPDIR, else /tmp)."""
    return os.environ.get("RAY_TMPDIR") or tempfile.gettempdir()


def clean_leftovers(root: str | None = None) -> list[str]:
    """End the farms of this user under ``root`` (default :func:`farm_root`) whose driver is gone and whose
    watchdog did not end them (it was killed too). Only real folders of this user with an owner file naming
    a process that no longer runs; returns the folders removed."""
    root = root or farm_root()
    removed = []
    try:
        names = os.listdir(root)
    except OSError:
        return removed
    for name in names:
        folder = os.path.join(root, name)
        if not name.startswith(FOLDER_PREFIX):
            continue
        try:
            info = os.lstat(folder)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or _owner_alive(folder) is not False:
            continue
        end_farm(folder)
        removed.append(folder)
    return removed


class Watchdog:
    """The driver's handle. ``folder``: the farm's folder (Ray's temporary folder); start Ray inside
    :meth:`marking`; :meth:`close` at a normal end (after ``ray.shutdown()``)."""

    def __init__(self, process: subprocess.Popen, write_fd: int, folder: str):
        self.process, self._write_fd, self.folder = process, write_fd, folder

    @contextlib.contextmanager
    def marking(self):
        """Processes started inside (Ray's, and through them everything Ray starts later) carry the farm's mark."""
        previous = os.environ.get(MARK)
        os.environ[MARK] = self.folder
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(MARK, None)
            else:
                os.environ[MARK] = previous

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


def start(root: str | None = None) -> Watchdog | None:
    """Start the watchdog of this process and make the farm's folder under ``root`` (default :func:`farm_root`),
    after ending farms left by killed drivers and watchdogs. Call it before starting a local Ray; None where
    /proc is absent."""
    if not sys.platform.startswith("linux") or not os.path.exists(f"/proc/{os.getpid()}/task"):
        return None
    root = root or farm_root()
    clean_leftovers(root)
    # A short fresh name: Ray's socket paths inside must stay under 108 bytes.
    folder = tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=root)
    with open(os.path.join(folder, OWNER_FILE), "w") as file:
        file.write(f"{os.getpid()} {_stat(os.getpid())[2]}\n")
    read_fd, write_fd = os.pipe()  # neither end is inherited by the processes Ray starts (PEP 446)
    try:
        # Its own session: a Ctrl-C in the terminal reaches the driver (which shuts Ray down), not the watchdog.
        process = subprocess.Popen([sys.executable, "-I", os.path.abspath(__file__), str(os.getpid()), str(read_fd),
                                    folder], pass_fds=(read_fd,), stdin=subprocess.DEVNULL, start_new_session=True)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        os.close(read_fd)
    return Watchdog(process, write_fd, folder)


if __name__ == "__main__":
    watch(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
