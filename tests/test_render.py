"""The frame loop and resume: interrupt a render, rerun it, and get what an unbroken render gives.

Interruptions are simulated in-process: the dream call raises KeyboardInterrupt (what Ctrl-C raises)
after K frames, and the CLI turns that into exit code 130.
"""

import os

import numpy as np
import pytest

from conftest import CLIP_FRAMES, published

WORK_SUFFIX = ".dreamvideo-work"


class DreamCounter:
    """Wraps a module's ``dream_frame``: counts calls, and raises KeyboardInterrupt on call ``stop_at``."""

    def __init__(self, module, monkeypatch, stop_at=None):
        self.calls = []
        self.stop_at = stop_at
        real = getattr(module.dream_frame, "original", module.dream_frame)

        def counting(dreamer, image, opts, frame, *args, **kwargs):
            if self.stop_at is not None and len(self.calls) == self.stop_at:
                raise KeyboardInterrupt
            self.calls.append(frame)
            return real(dreamer, image, opts, frame, *args, **kwargs)

        counting.original = real
        monkeypatch.setattr(module, "dream_frame", counting)


def work_folders(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(WORK_SUFFIX))


def stored_frames(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".png") and ".tmp" not in name)


@pytest.fixture()
def video_render(tmp_path, moving_clip, tiny_args, cli):
    """``video_render(output, *extra)`` renders the generated clip with the tiny model via the CLI."""

    def run(output, *extra):
        return cli(moving_clip, "-o", output, *tiny_args, *extra)

    return run


# ------------------------------------------------------------------------------------------ video


def test_interrupted_video_resumes_without_redreaming_and_matches_an_unbroken_render(
        tmp_path, video_render, monkeypatch, facts, snapshot):
    from dreamvideo import video

    reference = f"{tmp_path}/reference/"
    assert video_render(reference).code == 0

    output = f"{tmp_path}/out/"
    stop_after = 7
    DreamCounter(video, monkeypatch, stop_at=stop_after)
    result = video_render(output)
    assert result.code == 130 and "interrupted" in result.err
    # Nothing is published while interrupted: no output folder, no temp folder; the finished frames wait.
    assert work_folders(tmp_path) == [".out" + WORK_SUFFIX]
    assert published(tmp_path) == [".out" + WORK_SUFFIX, "reference"]
    assert not (tmp_path / "out.dreamvideo.json").exists()
    work = tmp_path / (".out" + WORK_SUFFIX)
    assert stored_frames(work) == [f"{i:06d}.png" for i in range(stop_after)]

    counter = DreamCounter(video, monkeypatch)
    result = video_render(output)
    assert result.code == 0, result.err
    assert counter.calls == list(range(stop_after, CLIP_FRAMES))  # only the missing frames were dreamed
    assert published(tmp_path) == ["out", "reference"]  # the work folder is gone
    resumed, unbroken = facts.png_frames(tmp_path / "out"), facts.png_frames(tmp_path / "reference")
    assert len(resumed) == len(unbroken) == CLIP_FRAMES
    for index, (a, b) in enumerate(zip(resumed, unbroken)):
        assert np.array_equal(a, b), f"frame {index} differs from the unbroken render"


def test_interrupted_mp4_leaves_no_partial_output(tmp_path, video_render, monkeypatch, facts):
    from dreamvideo import video

    output = tmp_path / "out.mp4"
    DreamCounter(video, monkeypatch, stop_at=5)
    assert video_render(output).code == 130
    assert sorted(os.listdir(tmp_path)) == [".out.mp4" + WORK_SUFFIX]  # no out.mp4, no .partial file
    counter = DreamCounter(video, monkeypatch)
    assert video_render(output).code == 0
    assert len(counter.calls) == CLIP_FRAMES - 5
    assert published(tmp_path) == ["out.mp4"]
    assert facts.frame_count(output) == CLIP_FRAMES and facts.has_audio(output)


def test_other_settings_on_rerun_are_refused_until_restart(tmp_path, video_render, monkeypatch, facts):
    from dreamvideo import video

    output = f"{tmp_path}/out/"
    DreamCounter(video, monkeypatch, stop_at=4)
    assert video_render(output).code == 130
    work = tmp_path / (".out" + WORK_SUFFIX)

    counter = DreamCounter(video, monkeypatch)
    line = video_render(output, "--steps", "3").assert_user_error("--restart")
    assert "steps" in line  # says which setting changed
    assert counter.calls == [] and len(stored_frames(work)) == 4  # the finished frames are kept

    result = video_render(output, "--steps", "3", "--restart")
    assert result.code == 0, result.err
    assert counter.calls == list(range(CLIP_FRAMES))  # everything dreamed afresh
    assert not work.exists() and len(facts.png_frames(tmp_path / "out")) == CLIP_FRAMES


def test_a_changed_input_file_is_not_resumed(tmp_path, moving_clip, silent_clip, tiny_args, cli, monkeypatch):
    import shutil

    from dreamvideo import video

    source = tmp_path / "clip.mp4"
    shutil.copy(moving_clip, source)
    output = f"{tmp_path}/out/"
    DreamCounter(video, monkeypatch, stop_at=3)
    assert cli(source, "-o", output, *tiny_args).code == 130
    shutil.copy(silent_clip, source)  # another file under the same name
    cli(source, "-o", output, *tiny_args).assert_user_error("--restart")


def test_restart_on_a_fresh_output_just_renders(tmp_path, video_render, facts):
    assert video_render(f"{tmp_path}/out/", "--restart", "--end", "3f").code == 0
    assert len(facts.png_frames(tmp_path / "out")) == 3 and work_folders(tmp_path) == []


def test_render_restart_discards_the_frames_of_an_interrupted_render(tmp_path, video_render, cli, monkeypatch,
                                                                     facts):
    from dreamvideo import video

    assert video_render(f"{tmp_path}/first/", "--end", "6f").code == 0
    render_file = tmp_path / "first.dreamvideo.json"
    again = f"{tmp_path}/again/"
    DreamCounter(video, monkeypatch, stop_at=3)
    assert cli("render", render_file, "-o", again, "-q").code == 130
    counter = DreamCounter(video, monkeypatch, stop_at=1)
    assert cli("render", render_file, "-o", again, "-q").code == 130
    assert counter.calls == [3]  # without --restart, render resumes
    counter = DreamCounter(video, monkeypatch)
    assert cli("render", render_file, "-o", again, "--restart", "-q").code == 0
    assert counter.calls == list(range(6))  # with it, everything is dreamed afresh
    assert facts.png_frames(tmp_path / "again") and work_folders(tmp_path) == []
    for a, b in zip(facts.png_frames(tmp_path / "first"), facts.png_frames(tmp_path / "again")):
        assert np.array_equal(a, b)


# ------------------------------------------------------------------------------------------ zoom


@pytest.mark.parametrize("loop", [False, True])
def test_interrupted_zoom_resumes_and_matches_an_unbroken_render(tmp_path, cli, tiny_args, monkeypatch, facts,
                                                                 loop):
    from dreamvideo import zoom

    frames = 10
    settings = ["--size", "48x40", "--frames", str(frames), "--zoom", "1.05", "--angle", "2", *tiny_args]
    if loop:
        settings.append("--loop")
    rendered = frames + (max(1, frames // 4) if loop else 0)
    assert cli("zoom", "-o", f"{tmp_path}/reference/", *settings).code == 0

    DreamCounter(zoom, monkeypatch, stop_at=6)
    assert cli("zoom", "-o", f"{tmp_path}/out/", *settings).code == 130
    assert published(tmp_path) == [".out" + WORK_SUFFIX, "reference"]
    assert not (tmp_path / "out.dreamvideo.json").exists()
    counter = DreamCounter(zoom, monkeypatch)
    assert cli("zoom", "-o", f"{tmp_path}/out/", *settings).code == 0
    assert len(counter.calls) == rendered - 6
    assert published(tmp_path) == ["out", "reference"]
    resumed, unbroken = facts.png_frames(tmp_path / "out"), facts.png_frames(tmp_path / "reference")
    assert len(resumed) == len(unbroken) == frames
    for index, (a, b) in enumerate(zip(resumed, unbroken)):
        assert np.array_equal(a, b), f"frame {index} differs from the unbroken render"


# ------------------------------------------------------------------------------------------ the loop itself


class ListSink:
    def __init__(self):
        self.frames = []

    def write(self, frame):
        self.frames.append(frame)


def fake_parts(calls):
    from dreamvideo.render import Recipe

    from dreamvideo.render import CarryResult

    def carry(index, frame, previous_source, previous_dream):
        start = frame.astype(np.float32) if previous_dream is None else (frame + previous_dream) / 2.0
        return CarryResult(start.astype(np.float32), None)

    def dream(index, carried):
        calls.append(index)
        return np.clip(carried.start + 10, 0, 255).astype(np.uint8)

    return Recipe(carry, dream)


def test_run_loop_replays_stored_frames_and_dreams_the_rest(tmp_path):
    from dreamvideo.render import FrameStore, run_loop

    source = [np.full((8, 12, 3), 20 * i, np.uint8) for i in range(6)]
    output = tmp_path / "out.gif"
    calls = []
    recipe = fake_parts(calls)
    unbroken = ListSink()
    run_loop(iter(source), recipe, unbroken, None, quiet=True)

    store = FrameStore(output, {"a": 1})
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        def interrupted():
            yield from source[:4]
            raise KeyboardInterrupt
        run_loop(interrupted(), recipe, ListSink(), store, quiet=True)
    assert calls == [0, 1, 2, 3] and store.finished() == 4

    calls.clear()
    seen = []
    resumed = ListSink()
    store = FrameStore(output, {"a": 1})
    count = run_loop(iter(source), recipe, resumed, store, quiet=True,
                     on_frame=lambda index, frame, result: seen.append(index))
    assert count == 6 and calls == [4, 5] and seen == list(range(6))
    assert len(resumed.frames) == len(unbroken.frames) == 6
    assert all(np.array_equal(a, b) for a, b in zip(resumed.frames, unbroken.frames))


def test_frame_store_refuses_other_settings_and_wrong_sizes(tmp_path):
    from dreamvideo import DreamError
    from dreamvideo.render import FrameStore, run_loop

    output = tmp_path / "out.mp4"
    store = FrameStore(output, {"steps": 2})
    store.save(0, np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DreamError, match="--restart") as error:
        FrameStore(output, {"steps": 3})
    assert "steps" in str(error.value)
    (store.folder / "settings.json").write_text("{not json")
    with pytest.raises(DreamError, match="--restart"):
        FrameStore(output, {"steps": 2})
    assert FrameStore(output, {"steps": 3}, restart=True).finished() == 0

    store = FrameStore(output, {"steps": 3})
    store.save(0, np.zeros((8, 8, 3), np.uint8))
    recipe = fake_parts([])
    with pytest.raises(DreamError, match="--restart"):
        run_loop(iter([np.zeros((9, 8, 3), np.uint8)]), recipe, ListSink(), store, quiet=True)


def test_finished_counts_only_frames_without_a_gap(tmp_path):
    from dreamvideo.render import FrameStore

    store = FrameStore(tmp_path / "out.gif", {})
    for index in (0, 1, 3):
        store.save(index, np.zeros((4, 4, 3), np.uint8))
    (store.folder / "000002.tmp.png").write_bytes(b"half a png")  # killed while saving frame 2
    assert store.finished() == 2
    store.remove()
    assert not store.folder.exists()


def test_a_killed_writers_temporary_output_is_cleaned_up_on_the_next_render(tmp_path):
    from dreamvideo import media

    out = tmp_path / "out.mp4"
    stale = tmp_path / ".out.mp4.abcd1234.partial.mp4"  # as a SIGKILLed Mp4Sink leaves it
    stale.write_bytes(b"half an mp4")
    other = tmp_path / ".other.mp4.abcd1234.partial.mp4"  # another output's: not ours to touch
    other.write_bytes(b"x")
    with media.open_sink(out, fps=10) as sink:
        sink.write(np.zeros((16, 16, 3), np.uint8))
    assert out.is_file() and not stale.exists() and other.exists()
