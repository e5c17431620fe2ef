"""How long the studio's page takes to answer, idle and while a render runs; how long a preview takes.

    python scripts/benchmark_studio.py [--requests 20] [--frames 48]

Starts a studio on a free loopback port in a temporary folder, times GET / (the page) and the queue's
refresh call (what the page asks every second) through gradio_client, idle and while a 64 px render of
samples/coffee_pan.mp4 runs in its worker process, and times a first and a second preview of a frame
(the first loads TensorFlow and the model). Prints figures; asserts nothing.
"""

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(call, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
        time.sleep(0.05)
    return times


def describe(name: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return (f"{name}: median {statistics.median(ms):.0f} ms, 90th percentile {ms[int(0.9 * (len(ms) - 1))]:.0f} ms, "
            f"max {ms[-1]:.0f} ms ({len(ms)} requests)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--frames", type=int, default=48)
    args = parser.parse_args()
    from gradio_client import Client

    from dreamvideo.studio.server import start, stop

    print(f"load before: {os.getloadavg()[0]:.1f} (1-minute load average, {os.cpu_count()} CPUs)")
    tiny = {"dream.max_side": 64, "dream.octaves": 1, "dream.steps": 1, "video.end": f"{args.frames}f"}
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        demo, studio, _url = start(folder, port=port)
        try:
            url = f"http://127.0.0.1:{port}/"
            client = Client(url, verbose=False)

            def page():
                with urllib.request.urlopen(url, timeout=60) as response:
                    response.read()

            def refresh():
                client.predict(None, api_name="/jobs")

            print(describe("idle, GET /", timed(page, args.requests)))
            print(describe("idle, queue refresh", timed(refresh, args.requests)))
            job = studio.submit("samples/coffee_pan.mp4", "video", tiny)
            while studio.queue.get(job["id"])["state"] != "running" or not studio.progress(
                    studio.queue.get(job["id"]))["done"]:
                time.sleep(0.1)  # measure while frames are being dreamed, past TensorFlow's start
            print(describe("rendering, GET /", timed(page, args.requests)))
            print(describe("rendering, queue refresh", timed(refresh, args.requests)))
            print(f"frames done meanwhile: {studio.progress(studio.queue.get(job['id']))['done']} of {args.frames}")
            studio.cancel(job["id"])
            for label in ("first preview (loads TensorFlow and the model)", "second preview"):
                began = time.perf_counter()
                _image, note = studio.preview("samples/coffee.png", "still", {"dream.max_side": 256})
                print(f"{label}: {time.perf_counter() - began:.1f} s wall; {note}")
            process = studio.previewer._process
            print(f"preview process CPU time after both: {cpu_seconds(process.pid):.1f} s")
        finally:
            stop(demo, studio)
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
