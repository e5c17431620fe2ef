"""The TensorFlow runtime: the precision chosen for the CPU, a quiet import, the thread pools."""

import os
import subprocess
import sys

import pytest

from dreamvideo import DreamError, runtime


@pytest.mark.parametrize("has_bf16, auto", [(True, "mixed_bfloat16"), (False, "float32")])
def test_precision_choice(monkeypatch, has_bf16, auto):
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: has_bf16)
    assert runtime.resolve_compute_dtype("auto") == auto
    assert runtime.resolve_compute_dtype("float32") == "float32"
    assert runtime.resolve_compute_dtype("bfloat16") == "mixed_bfloat16"
    with pytest.raises(DreamError, match="precision"):
        runtime.resolve_compute_dtype("float8")


SAPPHIRE_RAPIDS_FLAGS = "fpu vme sse4_2 avx2 avx512f avx512bw avx512_bf16 amx_bf16 amx_tile amx_int8"


@pytest.mark.parametrize("text, expected", [
    (f"processor\t: 0\nflags\t\t: {SAPPHIRE_RAPIDS_FLAGS}\n", True),
    ("processor\t: 0\nflags\t\t: fpu sse4_2 avx2 avx512f avx512_bf16\n", True),  # Cooper Lake, Zen 4
    ("flags\t\t: fpu sse4_2 avx2 amx_bf16 amx_tile\n", True),
    ("processor\t: 0\nflags\t\t: fpu vme sse4_2 avx2 avx512f avx512bw avx512_vnni\n", False),  # Skylake-X
    ("model name\t: avx512_bf16 in the name\nflags\t\t: fpu sse2\n", False),  # only the flags line counts
    ("flags\t\t: fpu avx512_bf16x\n", False),  # whole flags, not parts of them
    ("", False),
])
def test_bf16_is_read_from_the_cpuinfo_flags(text, expected):
    assert runtime.cpuinfo_has_bf16(text) is expected


def test_tensorflow_start_up_lines_stay_off_stderr():
    code = "from dreamvideo.runtime import import_tensorflow; tf = import_tensorflow(); print(tf.constant(2) + 1)"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0
    assert "3" in result.stdout
    assert result.stderr == ""


def test_use_threads_sets_both_pools_before_tensorflow_runs():
    code = ("from dreamvideo.runtime import use_threads; use_threads(1); import tensorflow as tf; "
            "print(tf.config.threading.get_intra_op_parallelism_threads(), "
            "tf.config.threading.get_inter_op_parallelism_threads())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1"]
