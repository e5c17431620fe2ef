"""A local farm dies with its driver (issue 21): after kill -9 of a driver of a 2-worker local Ray, nothing of
that Ray lives more than a few seconds, and the next farm starts and finishes as if nothing had happened.

The driver here is the farm's own connection (dreamvideo.farm.connect.connected) running a task that sleeps,
not a dream: what is tested is the clean-up around Ray, at the cost of starting Ray twice (about 15 CPU s).
Every process the test starts is killed at the end, whatever the outcome.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[1]
GONE_WITHIN_S = 5.0

DRIVER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from dreamvideo.farm.connect import connected
from dreamvideo.options import FarmOptions

with connected(FarmOptions(workers=2)) as ray:
    @ray.remote(num_cpus=1)
    def work(seconds):
        time.sleep(seconds)
        return seconds

    if sys.argv[2] == "hang":
        running = [work.remote(600) for _ in range(2)]
        ray.wait(running, timeout=5)  # the workers are up and running a task each
        print("ready", flush=True)
        time.sleep(600)
    else:
        print(ray.get(work.remote(0.1)), flush=True)
"""


def _stat(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[0], int(fields[19])  # ppid, state, start time


def descendants(pid):
    """{pid: start time} below ``pid``, by a scan of every process's parent (independent of the watchdog)."""
    table = {int(p.name): _stat(p.name) for p in Path("/proc").glob("[0-9]*")}
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, status in table.items():
            if status and status[0] == parent and child not in found:
                found[child] = status[2]
                frontier.append(child)
    return found


def alive(processes):
    return {pid: start for pid, start in processes.items()
            if (status := _stat(pid)) is not None and status[2] == start and status[1] != "Z"}


def kill_all(processes):
    for pid in alive(processes):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def cmdline(pid, length=60):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:length]
    except OSError:
        return "?"


def test_a_killed_driver_takes_its_local_ray_with_it_and_the_next_farm_runs():
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(ROOT), "hang"], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    seen = {}
    try:
        assert driver.stdout.readline().strip() == "ready"
        seen = descendants(driver.pid)
        names = " ".join(cmdline(pid, 1000) for pid in seen)
        assert "raylet" in names and "RuntimeEnvAgent" in names and len(seen) >= 6, names[:2000]
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + GONE_WITHIN_S
        while alive(seen) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = alive(seen)
        assert not left, f"{len(left)} of {len(seen)} alive {GONE_WITHIN_S} s after kill -9: " + \
            ", ".join(cmdline(pid) for pid in left)
    finally:
        kill_all(seen)
        if driver.poll() is None:
            driver.kill()
            driver.wait()

    # The next farm: starts, runs a task, shuts down, and leaves nothing running either.
    second = subprocess.Popen([sys.executable, "-c", DRIVER, str(ROOT), "run"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    children = {}
    try:
        deadline = time.monotonic() + 240
        while second.poll() is None and time.monotonic() < deadline:
            children.update(descendants(second.pid))
            time.sleep(0.2)
        out, err = second.communicate(timeout=10)
        assert second.returncode == 0 and out.strip() == "0.1", err[-500:]
        deadline = time.monotonic() + GONE_WITHIN_S
        while alive(children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(children), ", ".join(cmdline(pid) for pid in alive(children))
    finally:
        kill_all(children)
        if second.poll() is None:
            second.kill()
            second.wait()


def test_the_sweep_kills_noted_processes_and_their_children_but_never_a_reused_process_id():
    from dreamvideo.farm import watchdog

    parent = subprocess.Popen(["bash", "-c", "sleep 60 & wait"], start_new_session=True)
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        deadline = time.monotonic() + 10
        while not descendants(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = descendants(parent.pid)
        assert child
        # The bystander is noted with another start time: a process that reused a noted id.
        noted = {parent.pid: _stat(parent.pid)[2], bystander.pid: _stat(bystander.pid)[2] + 1}
        assert watchdog.sweep(noted) == 2
        parent.wait(5)
        time.sleep(0.1)
        assert not alive(child) and bystander.poll() is None
    finally:
        for process in (parent, bystander):
            if process.poll() is None:
                process.kill()
            process.wait()
