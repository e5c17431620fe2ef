"""Ray for a render farm: imported only here, on the loopback address for a local farm, or joined to a
running cluster; shut down by whoever started it. A local farm's processes are ended with its driver, even
a killed one, and its folder removed, by :mod:`.watchdog`."""

from __future__ import annotations

import contextlib
import logging
import os
import socket

from ..errors import DreamError
from ..options import FarmOptions

RAY_MISSING = 'a render on Ray (--workers, --ray) needs Ray: pip install "dreamvideo[ray]"'
LOOPBACK = "127.0.0.1"
# The local Ray's shared-memory store: frames of the segments in flight; Ray spills to disk beyond it.
LOCAL_OBJECT_STORE_BYTES = 512 * 1024 ** 2
CONNECT_TIMEOUT_S = 10.0


def import_ray(loopback: bool = False):
    """Ray, or a DreamError saying how to install it. ``loopback``: nodes started from this process will
    listen on 127.0.0.1 only."""
    if loopback:
        # Ray on Linux binds the machine's network address unless this is set when Ray is imported;
        # with it, the loopback address. Ray also turns a node address of 127.0.0.1 into the machine's
        # address unless it is set. Child processes (raylet, GCS, workers) inherit it.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    try:
        import ray
    except ImportError:
        raise DreamError(RAY_MISSING) from None
    if loopback:
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False  # Ray was imported before the variable was set
    return ray


def _check_reachable(ray, address: str) -> None:
    """A DreamError within seconds when nothing listens at the address (ray.init would wait minutes)."""
    target = address
    if address == "auto":
        try:
            from ray._private.services import canonicalize_bootstrap_address

            target = canonicalize_bootstrap_address("auto")
        except Exception:  # noqa: BLE001 - Ray's own search failed: it has no cluster to offer
            target = None
        if not target:
            raise DreamError("--ray auto: no running Ray cluster found on this machine; start one with "
                             "'ray start --head', or give its address")
    host_port = target.split("://", 1)[-1]
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise DreamError(f"--ray {address!r} is not an address: give auto, host:port or ray://host:10001")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise DreamError(f"--ray {address}: no Ray cluster answers at {host_port} ({exc.strerror or exc}); "
                         "is 'ray start --head' running there?") from None


@contextlib.contextmanager
def connected(farm: FarmOptions):
    """Ray, connected: a local Ray on the loopback address with ``farm.workers`` CPUs, or the cluster at
    ``farm.ray_address``; an existing connection is used as it is. Shuts down what it started."""
    ray = import_ray(loopback=farm.workers is not None)
    if ray.is_initialized():
        yield ray
        return
    # Ray's own notices (start-up, token files) are not for our users; its errors still show.
    common = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                  configure_logging=True)
    guard = None
    if farm.workers is not None:
        from . import watchdog

        # Ray's agents outlive a killed driver by minutes: the watchdog ends them within a second, and removes
        # the farm's folder (Ray's sessions, logs, spilled objects), which is this farm's alone.
        try:
            guard = watchdog.start()
            with guard.marking() if guard is not None else contextlib.nullcontext():
                ray.init(address="local", num_cpus=farm.workers, _node_ip_address=LOOPBACK,
                         object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                         **({"_temp_dir": guard.folder} if guard is not None else {}), **common)
        except BaseException as exc:
            if guard is not None:
                guard.close()
            # A folder it cannot write, or one too long for Ray's socket paths (107 bytes): the user's to choose.
            if isinstance(exc, OSError) and not isinstance(exc, (ConnectionError, TimeoutError)):
                reason = exc.strerror or exc
                raise DreamError(f"--workers: a local Ray cannot start in {watchdog.farm_root()} ({reason}); "
                                 "set RAY_TMPDIR to a short folder you can write to") from None
            raise
    else:
        _check_reachable(ray, str(farm.ray_address))
        try:
            ray.init(address=farm.ray_address, **common)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise DreamError(f"--ray {farm.ray_address}: cannot join the cluster: {exc}") from None
    try:
        yield ray
    finally:
        ray.shutdown()
        if guard is not None:
            guard.close()  # after the shutdown: it kills whatever of this Ray is still running


def threads_per_worker(farm: FarmOptions) -> int:
    """cores / N TensorFlow threads for N local workers; one per task (per CPU) on a cluster."""
    if farm.workers is None:
        return 1
    return max(1, (os.cpu_count() or 1) // farm.workers)
