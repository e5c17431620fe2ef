"""A local farm dies with its driver (issue 21): after kill -9 of a driver of a 2-worker local Ray, nothing of
that Ray lives more than a few seconds, its folder is removed, and the next farm starts and finishes as if
nothing had happened; what a killed watchdog left is ended by the next farm, and a live farm's never.

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


def farm_folders(driver_pid):
    from dreamvideo.farm import watchdog

    return [Path(folder) for folder in watchdog.folders_of(driver_pid)]


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
        folders = farm_folders(driver.pid)
        assert len(folders) == 1 and (folders[0] / "session_latest").exists(), folders  # Ray works in it
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + GONE_WITHIN_S
        while (alive(seen) or folders[0].exists()) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = alive(seen)
        assert not left, f"{len(left)} of {len(seen)} alive {GONE_WITHIN_S} s after kill -9: " + \
            ", ".join(cmdline(pid) for pid in left)
        assert not folders[0].exists()
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
        assert not farm_folders(second.pid)
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


def _orphan(environment):
    """A ``sleep 60`` whose parent has exited, in a session of its own (as a Ray worker started just before its
    driver was killed: never noted as a descendant, its raylet gone); returns {pid: start time}."""
    starter = subprocess.run([sys.executable, "-c", "import subprocess; print(subprocess.Popen(['sleep', '60'], "
                              "start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, "
                              "stderr=subprocess.DEVNULL).pid)"], env=environment,
                             capture_output=True, text=True, check=True)
    pid = int(starter.stdout)
    return {pid: _stat(pid)[2]}


def test_the_sweep_kills_every_process_with_the_farms_mark_whatever_its_parent_group_or_session(tmp_path):
    from dreamvideo.farm import watchdog

    mark = str(tmp_path / "dreamvideo-ray-this")
    orphans = {}
    try:
        ours = _orphan({**os.environ, watchdog.MARK: mark})
        another_farms = _orphan({**os.environ, watchdog.MARK: mark + "-another"})
        unmarked = _orphan({k: v for k, v in os.environ.items() if k != watchdog.MARK})
        orphans = {**ours, **another_farms, **unmarked}
        assert len(alive(orphans)) == 3
        assert watchdog.sweep({}, mark) == 1
        assert not alive(ours) and alive(another_farms) and alive(unmarked)
    finally:
        kill_all(orphans)


def test_the_next_farm_ends_a_farm_whose_driver_and_watchdog_were_killed_and_never_a_live_one(tmp_path):
    from dreamvideo.farm import watchdog

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid(), "
                            "open(f'/proc/{os.getpid()}/stat').read().rsplit(')', 1)[1].split()[19])"],
                           capture_output=True, text=True, check=True).stdout
    dead, live, unclaimed, elsewhere = (tmp_path / name for name in
                                        ("dreamvideo-ray-dead", "dreamvideo-ray-live", "dreamvideo-ray-unclaimed",
                                         "elsewhere"))
    for folder in (dead, live, unclaimed, elsewhere):
        (folder / "session_latest").mkdir(parents=True)
    (dead / "owner").write_text(ended)
    (elsewhere / "owner").write_text(ended)
    (tmp_path / "dreamvideo-ray-link").symlink_to(elsewhere)  # removing would follow a link out
    (live / "owner").write_text(f"{os.getpid()} {_stat(os.getpid())[2]}")
    processes = {}
    try:
        left_over = _orphan({**os.environ, watchdog.MARK: str(dead)})
        of_the_live_farm = _orphan({**os.environ, watchdog.MARK: str(live)})
        processes = {**left_over, **of_the_live_farm}
        assert watchdog.clean_leftovers(str(tmp_path)) == [str(dead)]
        assert not dead.exists() and not alive(left_over)
        assert (live / "session_latest").exists() and alive(of_the_live_farm)
        assert (unclaimed / "session_latest").exists() and (elsewhere / "session_latest").exists()
    finally:
        kill_all(processes)


def test_a_temporary_folder_too_long_for_rays_sockets_is_a_one_line_error_and_leaves_nothing(tmp_path, random_image,
                                                                                           tiny_args):
    from PIL import Image

    Image.fromarray(random_image()).save(tmp_path / "in.png")
    long_folder = tmp_path / ("x" * 80)
    long_folder.mkdir()
    done = subprocess.run([sys.executable, "-m", "dreamvideo", "in.png", *tiny_args, "--workers", "2"], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "RAY_TMPDIR": str(long_folder)},
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "RAY_TMPDIR" in lines[0], done.stderr[-2000:]
    assert not any(long_folder.iterdir()) and sorted(os.listdir(tmp_path)) == ["in.png", long_folder.name]
