"""The TensorFlow runtime: importing it quietly, its thread pools, and the precision a model computes in; and
the CPU's instruction-set flags that decide it (and x264's, in :mod:`dreamvideo.media.encoders`).

Nothing here imports TensorFlow or Keras at module level: ``import dreamvideo`` stays light, and a
worker process can set its threads before TensorFlow starts.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys

from .errors import DreamError

PRECISIONS = ("auto", "float32", "bfloat16")


def import_tensorflow():
    """Import TensorFlow with its C++ start-up lines (CUDA probing, oneDNN notices) kept off stderr.

    TensorFlow writes them from C++ before its logging settings apply, so the only way to keep them out
    of a user's terminal is to point file descriptor 2 elsewhere while it starts. Python exceptions still
    propagate; only those log lines are lost.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    use_threads(machine_threads())
    return tf


def machine_threads() -> int:
    """TensorFlow threads of a render in one process: the machine's CPU count.

    Sums over the threads of a pool come out in a different order with another count (a different dream,
    from frame 0 on: with one thread instead of two, frame 0 of samples/coffee_pan.mp4 differed by 1 grey
    level in a few pixels, frame 9 by up to 40). TensorFlow's own default follows the CPUs this process may
    run on and TF_NUM_INTRAOP_THREADS, which a scheduler, ``taskset`` or a container can change from run to
    run; the machine's count cannot. How busy the machine is changes nothing (measured: identical frames).
    """
    return os.cpu_count() or 1


def use_threads(threads: int) -> None:
    """TensorFlow's intra- and inter-op thread pools at `threads` each, for this process (import_tensorflow
    sets :func:`machine_threads`; a farm worker sets its share).

    TensorFlow fixes its pools when it first runs an operation; after that the call changes nothing
    (TensorFlow refuses, and the refusal is ignored), so call it before the first dream in a process.
    """
    tf = import_tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass


@contextlib.contextmanager
def op_determinism():
    """TensorFlow's op determinism on while the block runs (GAN training: an exact resume), then as before.

    It is a process-wide switch; left on, every dream after a training in the same process (``gan animate``,
    a script, the studio) would run other kernels than the same dream in a fresh process. Measured on this
    version (tests/test_gan.py): dreams with it on, off, and off again after it was on gave identical pixels;
    scoping it keeps that true whatever a later TensorFlow changes.
    """
    from tensorflow.python.framework import config as tf_config

    was_on = tf_config.is_op_determinism_enabled()
    tf_config.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on:
            tf_config.disable_op_determinism()


def resolve_compute_dtype(precision: str) -> str:
    """Map the user's ``precision`` ("auto", "float32", "bfloat16") to a Keras dtype policy name."""
    if precision not in PRECISIONS:
        raise DreamError(f"unknown precision {precision!r}: use auto, float32 or bfloat16")
    if precision == "auto":
        return "mixed_bfloat16" if cpu_has_bf16() else "float32"
    return "mixed_bfloat16" if precision == "bfloat16" else "float32"


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The instruction-set flags /proc/cpuinfo names (``avx512f``, ``amx_bf16``, ...); empty where it is absent."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            return cpuinfo_flags(f.read())
    except OSError:
        return frozenset()


def cpuinfo_flags(text: str) -> frozenset[str]:
    """The flags named on the ``flags`` lines of a /proc/cpuinfo text."""
    found = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            found.update(value.split())
    return frozenset(found)


def cpu_has_bf16() -> bool:
    """True when the CPU has native bfloat16 dot products (AVX512_BF16 or AMX), where oneDNN is fast."""
    return bool(BF16_FLAGS & cpu_flags())


def cpuinfo_has_bf16(text: str) -> bool:
    """True when the ``flags`` lines of a /proc/cpuinfo text name avx512_bf16 or amx_bf16."""
    return bool(BF16_FLAGS & cpuinfo_flags(text))


BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@contextlib.contextmanager
def dtype_policy(policy: str):
    """Keras's global dtype policy set to `policy` ("float32", "mixed_bfloat16") while models are built."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
