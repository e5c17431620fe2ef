"""What the studio's tests share: a studio server in a process of its own, and a record of every network
connection its processes (server, workers, preview) open.

The record comes from a ``sitecustomize`` put first on PYTHONPATH: an audit hook that appends each
``socket.connect`` and ``socket.getaddrinfo`` to a file. Every process the studio starts inherits it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
# Settings that make a render take seconds: 64 px, one octave, one step.
TINY = {"dream.max_side": 64, "dream.octaves": 1, "dream.steps": 1}

AUDIT_HOOK = '''
import json, os, sys
_log = os.environ.get("DREAMVIDEO_TEST_NETWORK_LOG")
def _hook(event, args):
    if _log and event in ("socket.connect", "socket.getaddrinfo"):
        address = args[1] if event == "socket.connect" else args[:2]
        try:
            with open(_log, "a") as f:
                f.write(json.dumps({"pid": os.getpid(), "event": event, "address": repr(address)}) + "\\n")
        except Exception:
            pass
sys.addaudithook(_hook)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback(entry: dict) -> bool:
    """True for a connection or lookup that stays on this machine."""
    address = entry["address"]
    return any(host in address for host in ("'127.0.0.1'", "'localhost'", "'::1'")) or \
        not address.startswith("(")  # an AF_UNIX socket's address is a path string


class StudioProcess:
    """``python -m dreamvideo.studio`` on a free loopback port, with its network record."""

    def __init__(self, folder: Path, *args: str):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        site = folder.parent / f"{folder.name}-site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(AUDIT_HOOK)
        self.network_log = folder.parent / f"{folder.name}-network.jsonl"
        self.output = folder.parent / f"{folder.name}-server.log"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO), os.environ.get("PYTHONPATH", "")]),
                   DREAMVIDEO_TEST_NETWORK_LOG=str(self.network_log), TF_CPP_MIN_LOG_LEVEL="2")
        self._log_file = open(self.output, "w")
        self.process = subprocess.Popen([sys.executable, "-m", "dreamvideo.studio", "--folder", str(folder),
                                         "--port", str(self.port), *args], cwd=folder.parent, env=env,
                                        stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the studio exited:\n{self.log()}")
            if "dreamvideo studio: http://" in self.log():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the studio did not start in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.output.read_text() if self.output.exists() else ""

    def connections(self) -> list[dict]:
        if not self.network_log.exists():
            return []
        return [json.loads(line) for line in self.network_log.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        """SIGTERM (the studio stops its workers), then kill the whole group if anything is left."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group: nothing it started survives a test
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self._log_file.close()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
