"""The render farm on Ray (issue 12): segment plans, a two-node loopback cluster, a local --workers Ray,
and the user errors.

Every Ray these tests start listens on 127.0.0.1 and is shut down by its fixture. The cluster is started
once for the module (two nodes of 1 CPU each); renders use the tiny random-weight model on 64x48 frames.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import CLIP_FRAMES

ROOT = Path(__file__).resolve().parents[1]
SEGMENT = dict(segment=6, warmup=2, overlap=2)  # 18 frames -> segments at 0, 6, 12


# ------------------------------------------------------------------------------------------ plans (no Ray)


def test_plan_covers_every_frame_once_with_warmups_and_fades():
    from dreamvideo.farm import dreamed_per_written, plan_segments

    plan = plan_segments(100, 30, warmup=5, overlap=3)
    assert [(s.start, s.end) for s in plan] == [(0, 30), (30, 60), (60, 100)]  # 10 frames left join the last
    assert [(s.begin, s.stop, s.fade) for s in plan] == [(0, 33, 0), (25, 63, 3), (55, 100, 3)]
    assert dreamed_per_written(plan) == pytest.approx((33 + 38 + 45) / 100)
    assert plan_segments(20, 6, warmup=8, overlap=2)[1].begin == 0  # a warm-up starts no earlier than frame 0


def test_a_boundary_moves_to_a_nearby_scene_cut_which_needs_no_warmup_or_fade():
    from dreamvideo.farm import plan_segments

    plan = plan_segments(90, 30, warmup=5, overlap=3, cuts={33, 75})
    assert [(s.start, s.end) for s in plan] == [(0, 33), (33, 60), (60, 90)]
    assert (plan[0].stop, plan[1].begin, plan[1].fade) == (33, 33, 0)  # the cut: no tail, no warm-up
    assert (plan[1].stop, plan[2].begin, plan[2].fade) == (63, 55, 3)  # 75 is too far from 60 to move it


def test_cross_fade_weights():
    from dreamvideo.dreaming import cross_fade

    tail, head = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 200, np.uint8)
    assert cross_fade(tail, head, 0.25)[0, 0, 0] == 50 and cross_fade(tail, head, 1.0)[0, 0, 0] == 200


def test_precision_auto_is_decided_on_the_driver(tiny_model_file):
    from dreamvideo.farm.driver import _for_workers
    from dreamvideo.runtime import cpu_has_bf16
    from dreamvideo.options import DreamOptions
    from dreamvideo.still import StillJob

    auto = StillJob("in.png", "out.png", DreamOptions(model=tiny_model_file, layer="conv3"))
    sent = _for_workers(auto)
    assert sent.dream_opts.precision == ("bfloat16" if cpu_has_bf16() else "float32")
    assert auto.dream_opts.precision == "auto"
    explicit = StillJob("in.png", "out.png", DreamOptions(model=tiny_model_file, layer="conv3", precision="float32"))
    assert _for_workers(explicit) is explicit


# ------------------------------------------------------------------------------------------ user errors


@pytest.fixture()
def clip_copy(moving_clip, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    target = folder / "clip.mp4"
    target.write_bytes(Path(moving_clip).read_bytes())
    return target


def test_workers_0_is_a_user_error(cli, clip_copy, tiny_args, snapshot):
    before = snapshot(clip_copy.parent)
    cli(clip_copy, *tiny_args, "--workers", "0").assert_user_error("--workers", "at least 1")
    assert snapshot(clip_copy.parent) == before


def test_segment_no_longer_than_the_overlap_is_a_user_error(cli, clip_copy, tiny_args, snapshot):
    before = snapshot(clip_copy.parent)
    cli(clip_copy, *tiny_args, "--workers", "2", "--segment", "4", "--overlap", "4").assert_user_error(
        "segment", "overlap")
    assert snapshot(clip_copy.parent) == before


def test_ray_address_where_nothing_listens_fails_fast(cli, clip_copy, tiny_args, snapshot):
    with socket.socket() as probe:  # a free loopback port: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = snapshot(clip_copy.parent)
    started = time.monotonic()
    result = cli(clip_copy, *tiny_args, "--ray", f"127.0.0.1:{port}")
    assert time.monotonic() - started < 30
    result.assert_user_error(f"127.0.0.1:{port}")
    assert snapshot(clip_copy.parent) == before


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def test_without_ray_installed_the_message_says_how_to_get_it(clip_copy, tiny_args, tmp_path):
    fake = tmp_path / "no_ray"
    (fake / "ray").mkdir(parents=True)
    (fake / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    env = _env(PYTHONPATH=os.pathsep.join([str(fake), str(ROOT)]))
    done = subprocess.run([sys.executable, "-m", "dreamvideo", str(clip_copy), *tiny_args, "--workers", "2"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and 'pip install "dreamvideo[ray]"' in lines[0], done.stderr
    assert sorted(os.listdir(clip_copy.parent)) == ["clip.mp4"]


def test_ray_is_not_imported_without_workers_or_ray(clip_copy, tiny_args, tmp_path):
    code = ("import sys; from dreamvideo.cli import main; "
            f"code = main({[str(clip_copy), '-o', f'{tmp_path}/out/', *tiny_args]!r}); "
            "print(code, 'ray' in sys.modules, 'dreamvideo.farm' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["0", "False", "False"], done.stderr
    assert len(list((tmp_path / "out").glob("*.png"))) == CLIP_FRAMES


def test_several_inputs_without_ray_one_after_another(cli, clip_copy, tiny_args, random_image, facts, tmp_path):
    import cv2

    still = clip_copy.parent / "still.png"
    cv2.imwrite(str(still), random_image(40, 56)[..., ::-1])
    cli(clip_copy, still, *tiny_args, "-o", tmp_path / "one.mp4").assert_user_error("2 inputs")
    result = cli(clip_copy, still, *tiny_args)
    assert result.code == 0, result.err
    assert facts.frame_count(clip_copy.parent / "clip_dream.mp4") == CLIP_FRAMES
    assert cv2.imread(str(clip_copy.parent / "still_dream.png")).shape == (40, 56, 3)


# ------------------------------------------------------------------------------------------ a local Ray


def _node_addresses(ray):
    return {node["NodeManagerAddress"] for node in ray.nodes() if node["Alive"]}


def test_workers_start_a_loopback_ray_and_match_the_single_process_output(moving_clip, tiny_model_file, tmp_path,
                                                                           facts):
    """--workers 2 in miniature: same frame count, rate and audio as the single process; Ray gone after."""
    import ray

    from dreamvideo import farm, render_video
    from dreamvideo.options import FarmOptions

    options = dict(model=tiny_model_file, layer="conv3", octaves=1, steps=2, quiet=True)
    single = render_video(moving_clip, tmp_path / "single.mp4", **options)
    with farm.connected(FarmOptions(workers=2)):
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
        assert _node_addresses(ray) == {"127.0.0.1"}
        assert ray.cluster_resources()["CPU"] == 2
        farmed = render_video(moving_clip, tmp_path / "farmed.mp4", workers=2, **SEGMENT, **options)
    assert not ray.is_initialized()
    assert facts.frame_count(farmed) == facts.frame_count(single) == CLIP_FRAMES
    assert facts.exact_fps(farmed) == facts.exact_fps(single)
    assert facts.has_audio(farmed) and facts.has_audio(single)
    assert sorted(os.listdir(tmp_path)) == ["farmed.mp4", "farmed.mp4.dreamvideo.json", "single.mp4",
                                            "single.mp4.dreamvideo.json"]  # no work folder left


# ------------------------------------------------------------------------------------------ a two-node cluster


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes of 1 CPU each on 127.0.0.1, shut down after the module; their folder (not /tmp/ray, where
    each run left a session) is removed."""
    import shutil
    import tempfile

    from dreamvideo.farm import import_ray

    ray = import_ray(loopback=True)
    from ray.cluster_utils import Cluster

    folder = tempfile.mkdtemp(prefix="dreamvideo-test-cluster-")  # short: Ray's socket paths stay under 108 bytes
    node = dict(num_cpus=1, object_store_memory=80 * 1024 ** 2, node_ip_address="127.0.0.1")
    started = None
    try:
        started = Cluster(initialize_head=True, head_node_args=dict(node, include_dashboard=False, temp_dir=folder))
        started.add_node(**node)
        started.wait_for_nodes()
        yield started
    finally:
        ray.shutdown()
        if started is not None:
            started.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def farm_options(tiny_model_file):
    # Enough steps that a segment takes a while (the worker-kill test must catch one running).
    return dict(model=tiny_model_file, layer="conv3", octaves=2, steps=12, quiet=True)


def _render(clip, output, options, cluster, **farm_kwargs):
    """Render on the cluster through farm.render_on_ray; returns the segment indices in the order stored."""
    from dreamvideo import farm, video
    from dreamvideo.options import FarmOptions

    stored = []
    job = video.prepare_video(clip, output, options)
    farm.render_on_ray([job], FarmOptions(ray_address=cluster.address, **SEGMENT),
                       on_segment=lambda job, segment: stored.append(segment.index), **farm_kwargs)
    return stored


@pytest.fixture(scope="module")
def reference(cluster, moving_clip, farm_options, tmp_path_factory):
    """The frames of one farm render (segments in their natural order) and the segment order seen."""
    from conftest import OutputFacts

    output = tmp_path_factory.mktemp("reference") / "frames/"
    order = _render(moving_clip, str(output) + "/", farm_options, cluster)
    return OutputFacts.png_frames(output), order


def test_the_cluster_listens_on_loopback_only(cluster):
    import ray

    assert cluster.address.startswith("127.0.0.1:")
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    try:
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
        assert _node_addresses(ray) == {"127.0.0.1"} and len(ray.nodes()) == 2
    finally:
        ray.shutdown()


def test_segments_in_another_order_give_the_same_frames(cluster, reference, moving_clip, farm_options, tmp_path,
                                                         facts):
    from dreamvideo import api

    frames, natural = reference
    assert sorted(natural) == [0, 1, 2]
    output = f"{tmp_path}/reversed/"
    order = _render(moving_clip, output, farm_options, cluster, order=lambda calls: calls[::-1], max_in_flight=1)
    assert order == [2, 1, 0]
    again = facts.png_frames(output)
    assert len(again) == len(frames) == CLIP_FRAMES
    for index, (a, b) in enumerate(zip(frames, again)):
        assert np.array_equal(a, b), f"frame {index} differs"
    # Known answer: the first segment is the single-process render, up to the first seam's cross-fade.
    single = f"{tmp_path}/single/"
    api.render_video(moving_clip, single, **farm_options)
    alone = facts.png_frames(single)
    assert all(np.array_equal(frames[i], alone[i]) for i in range(SEGMENT["segment"]))
    assert not np.array_equal(frames[SEGMENT["segment"]], alone[SEGMENT["segment"]])  # the seam blends


def _running_segment_workers(cluster):
    """Pids of this cluster's worker processes running a segment (Ray titles them after the task; workers are
    children of their node's raylet). Other Rays on the machine are left alone."""
    raylets = {info.process.pid for node in [cluster.head_node, *cluster.worker_nodes]
               for info in node.all_processes.get("raylet", [])}
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent in raylets and (entry / "cmdline").read_bytes().startswith(b"ray::dream_frames"):
                    pids.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return pids


def test_killing_a_worker_mid_segment_still_completes_the_render(cluster, reference, moving_clip, farm_options,
                                                                  tmp_path, facts):
    frames, _ = reference
    output = f"{tmp_path}/killed/"
    failure = []

    def render():
        try:
            _render(moving_clip, output, farm_options, cluster)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failure.append(exc)

    thread = threading.Thread(target=render)
    thread.start()
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and thread.is_alive() and time.monotonic() < deadline:
        running = _running_segment_workers(cluster)
        if running:
            killed = running[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    thread.join(timeout=300)
    assert killed is not None, "no segment was seen running"
    assert not failure, failure
    again = facts.png_frames(output)
    assert len(again) == CLIP_FRAMES
    assert all(np.array_equal(a, b) for a, b in zip(frames, again))


def test_a_killed_driver_rerun_skips_the_finished_segments(cluster, reference, moving_clip, farm_options,
                                                           tmp_path, facts):
    frames, _ = reference
    output = f"{tmp_path}/resumed/"
    script = tmp_path / "driver.py"
    script.write_text(
        "import os, signal, sys\n"
        "from dreamvideo import farm, video\n"
        "from dreamvideo.options import FarmOptions\n"
        f"job = video.prepare_video({str(moving_clip)!r}, {output!r}, {farm_options!r})\n"
        "stored = []\n"
        "def on_segment(job, segment):\n"
        "    stored.append(segment.index)\n"
        "    if len(stored) == 2:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)  # the driver dies with two segments stored\n"
        f"farm.render_on_ray([job], FarmOptions(ray_address={cluster.address!r}, **{SEGMENT!r}),\n"
        "                   on_segment=on_segment, max_in_flight=1)\n")
    done = subprocess.run([sys.executable, str(script)], env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr
    work = tmp_path / ".resumed.dreamvideo-work"
    stored = sorted(p.name for p in work.glob("*.png"))
    assert stored[:SEGMENT["segment"]] == [f"{i:06d}.png" for i in range(SEGMENT["segment"])]
    assert not (tmp_path / "resumed").exists()  # nothing published by the killed driver
    order = _render(moving_clip, output, farm_options, cluster)
    assert order == [2]  # segments 0 and 1 were not dreamed again
    again = facts.png_frames(output)
    assert len(again) == CLIP_FRAMES
    assert all(np.array_equal(a, b) for a, b in zip(frames, again))
    assert not work.exists()


def test_several_inputs_at_once(cli, cluster, moving_clip, tiny_args, tmp_path, random_image, facts):
    import cv2

    folder = tmp_path / "many"
    folder.mkdir()
    clip = folder / "clip.mp4"
    clip.write_bytes(Path(moving_clip).read_bytes())
    still = folder / "still.png"
    cv2.imwrite(str(still), random_image(40, 56)[..., ::-1])
    result = cli(clip, still, *tiny_args, "--ray", cluster.address, "--segment", "6", "--warmup", "2",
                 "--overlap", "2")
    assert result.code == 0, result.err
    assert facts.frame_count(folder / "clip_dream.mp4") == CLIP_FRAMES
    alone = tmp_path / "alone.png"
    assert cli(still, "-o", alone, *tiny_args).code == 0
    assert np.array_equal(cv2.imread(str(folder / "still_dream.png")), cv2.imread(str(alone)))
