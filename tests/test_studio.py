"""The studio's functions: settings from the declarations, preview, render, cancel, resume, the queue and
gallery after a restart, uploads, and the paths it refuses (in-process, and over HTTP against a server)."""

import json
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest

from dreamvideo import media
from dreamvideo.errors import DreamError
from dreamvideo.studio import fields
from dreamvideo.studio.files import StudioFiles, sanitise
from dreamvideo.studio.service import Studio

from studio_support import SAMPLES, TINY, StudioProcess, wait_for

VIDEO = "samples/coffee_pan.mp4"


def finish(studio, job_id, timeout=240):
    return wait_for(lambda: (lambda j: j if j["state"] not in ("queued", "running") else None)(
        studio.queue.get(job_id)), timeout, f"job {job_id} to finish")


@pytest.fixture
def studio(tmp_path):
    studio = Studio(tmp_path / "studio", max_upload_mb=1)
    studio.start()
    yield studio
    studio.stop()


def test_fields_carry_the_cli_names_defaults_and_help():
    from dreamvideo.options import DreamOptions, VideoOptions

    dream = {f.name: f for f in fields.declared(DreamOptions)}
    assert dream["step_size"].flag == "--step-size" and dream["step_size"].default == DreamOptions.step_size
    assert "gradient steps per octave" in dream["steps"].help
    assert set(dream["normalize"].choices) == {"mean", "lap"}
    video = {f.name: f for f in fields.declared(VideoOptions)}
    assert video["blend"].default == VideoOptions.blend and video["blend"].kind == "schedule"
    # what a widget sends becomes what the API takes
    assert fields.parse(dream["steps"], "3") == 3
    assert fields.parse(dream["steps"], "0:(2), 9:(4)") == "0:(2), 9:(4)"
    assert fields.parse(dream["max_side"], "") is None
    assert fields.parse(dream["decorrelate"], None) is True



def test_settings_are_checked_by_their_declarations(studio):
    with pytest.raises(DreamError, match="seed must be a whole number"):
        studio.options("still", dict(TINY, **{"dream.seed": "1.5"}))
    with pytest.raises(DreamError, match=r"anchor must be in \[0, 1\]"):
        studio.options("video", dict(TINY, **{"video.anchor": "1.5"}))
    assert studio.options("video", dict(TINY, **{"video.anchor": "0.25"}))["anchor"] == 0.25


def test_keyframes_go_through_the_cli_sandbox(studio):
    settings = dict(TINY, **{"zoom.zoom": "0:(1.02), 3:(__import__('os').system('true'))"})
    with pytest.raises(DreamError, match="zoom"):
        studio.submit(None, "zoom", settings)
    assert studio.queue.all() == []
    with pytest.raises(DreamError, match="steps"):
        studio.submit("samples/coffee.png", "still", dict(TINY, **{"dream.steps": "0:(open('x'))"}))


def test_preview_is_one_small_frame_with_its_time(studio):
    image, note = studio.preview(VIDEO, "video", TINY, frame=10)
    assert image.dtype == np.uint8 and max(image.shape[:2]) == 64
    assert "frame 10" in note and "dreamed in" in note
    source = next(iter(media.read_frames(SAMPLES / "coffee_pan.mp4", start_frame=10, end_frame=11, max_side=64)))
    assert image.shape == source.shape and np.abs(image.astype(int) - source).mean() > 1  # it was dreamed


def test_render_cancel_resume_and_restart(tmp_path):
    studio = Studio(tmp_path / "studio")
    studio.start()
    try:
        job = studio.submit(VIDEO, "video", TINY)  # all 48 frames
        wait_for(lambda: studio.progress(studio.queue.get(job["id"]))["done"] >= 2, 240, "two finished frames")
        cancelled = studio.cancel(job["id"])
        assert cancelled["state"] == "cancelled" and cancelled["total"] == 48
        assert studio.runner.processes == {}  # the worker is gone
        kept = studio.progress(cancelled)["done"]
        assert 2 <= kept < 48
        time.sleep(1.5)
        assert studio.progress(studio.queue.get(job["id"]))["done"] == kept  # nothing dreams on
        assert studio.finished() == []
    finally:
        studio.stop()

    # a new studio on the same folder finds the cancelled job, resumes it from its kept frames
    studio = Studio(tmp_path / "studio")
    studio.start()
    try:
        assert studio.queue.get(job["id"])["state"] == "cancelled"
        assert studio.resume(job["id"])["state"] == "queued"
        wait_for(lambda: studio.queue.get(job["id"])["state"] == "running", 30, "the job to start")
        assert studio.queue.get(job["id"])["done_at_start"] >= kept
        progress = wait_for(lambda: (lambda p: p if p["eta"] is not None else None)(
            studio.progress(studio.queue.get(job["id"]))), 240, "an ETA")
        assert 0 < progress["fraction"] < 1 and progress["total"] == 48
        done = finish(studio, job["id"])
        assert done["state"] == "done", done
        assert studio.progress(done) == {"done": 48, "total": 48, "fraction": 1.0, "eta": None}
        assert len(list(media.read_frames(studio.queue.path(done["output"])))) == 48
        command, input_name, settings = studio.job_settings(job["id"])
        assert (command, input_name) == ("video", VIDEO)
        assert settings["dream.max_side"] == 64 and settings["dream.octaves"] == 1
        with pytest.raises(DreamError, match="done"):
            studio.cancel(job["id"])
    finally:
        studio.stop()

    # and after another restart, the gallery holds the render and its render file
    studio = Studio(tmp_path / "studio")
    [entry] = studio.finished()
    assert entry["id"] == job["id"]
    assert json.loads(open(entry["render_file"]).read())["command"] == "video"


def test_a_running_job_of_a_stopped_studio_is_interrupted_and_resumable(tmp_path):
    studio = Studio(tmp_path / "studio")
    job = studio.submit(VIDEO, "video", TINY)
    studio.queue.update(job["id"], state="running")  # as a studio killed mid-render leaves it
    studio.runner.start()
    try:
        assert studio.queue.get(job["id"])["state"] == "interrupted"
        assert studio.resume(job["id"])["state"] == "queued"
        assert studio.cancel(job["id"])["state"] == "cancelled"
    finally:
        studio.stop()


def test_uploads_are_sanitised_checked_and_limited(tmp_path):
    files = StudioFiles(tmp_path / "studio", max_upload_mb=1)
    assert sanitise("../../My Photo (1).JPG") == "My_Photo_1.jpg"
    assert sanitise("..\\..\\.bashrc") == "bashrc"
    upload = tmp_path / "My Photo.PNG"
    shutil.copy(SAMPLES / "coffee.png", upload)
    name = files.store_upload(upload, "../../My Photo.PNG")
    assert name == "uploads/My_Photo.png" and files.resolve(name).parent == files.uploads
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(DreamError, match=r"^notes.png: not an image OpenCV can read"):
        files.store_upload(text, "notes.png")
    clip = tmp_path / "clip.mp4"
    clip.write_text("not a video")
    with pytest.raises(DreamError, match=r"^clip.mp4: not a video FFmpeg can read"):
        files.store_upload(clip, "clip.mp4")
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (1024 * 1024 + 1))
    with pytest.raises(DreamError, match="upload limit of 1 MB"):
        files.store_upload(big, "big.png")
    assert sorted(p.name for p in files.uploads.iterdir()) == ["My_Photo.png"]  # nothing else was kept


def test_no_path_but_the_studio_lists_is_accepted(studio):
    (studio.folder / "private.png").write_bytes((SAMPLES / "coffee.png").read_bytes())
    for name in ("/etc/passwd", "../../etc/passwd", "uploads/../private.png", "samples/../setup.cfg",
                 "samples/coffee_dream.png", "uploads/nothing.png", str(SAMPLES / "coffee.png")):
        with pytest.raises(DreamError, match="not one of the studio's inputs"):
            studio.files.resolve(name)
        with pytest.raises(DreamError):
            studio.submit(name, "still", TINY)
    with pytest.raises(DreamError, match="not one of the studio's inputs"):
        studio.submit("samples/coffee.png", "still", dict(TINY, **{"paths.guide": "/etc/passwd"}))
    assert studio.queue.all() == []


def test_a_cli_render_file_opens_in_the_studio(studio, tmp_path):
    from dreamvideo.renderfile import write_render_file
    from dreamvideo.options import DreamOptions

    options = DreamOptions(layer=["block3_conv3:0.5", "block4_conv3/1,2"], steps="0:(2), 5:(4)", seed=7)
    document = write_render_file("video", SAMPLES / "coffee_pan.mp4", tmp_path / "out.mp4",
                                 {**options.recorded(10), "blend": 0.7, "steady": 0.25})
    command, settings, notes = studio.load_render_file(document)
    assert command == "video" and notes == []
    assert settings["dream.layer"].splitlines() == ["block3_conv3:0.5", "block4_conv3/1,2"]
    assert settings["dream.steps"] == "0:(2), 5:(4)" and settings["dream.seed"] == 7
    assert settings["video.blend"] == 0.7 and settings["video.steady"] == 0.25
    assert studio.options("video", settings)["layer"] == ["block3_conv3:0.5", "block4_conv3/1,2"]


def test_a_saved_preset_is_a_render_file_the_studio_and_the_cli_read(studio):
    from dreamvideo.renderfile import read_render_file

    settings = dict(TINY, **{"dream.layer": "block3_conv3:0.5", "dream.steps": "0:(1), 3:(2)", "zoom.frames": 5,
                             "zoom.zoom": "0:(1.01), 4:(1.03)", "zoom.loop": True})
    path = studio.save_preset("samples/coffee.png", "zoom", settings)
    assert path.parent == studio.folder / "presets" and path.name.endswith("_zoom.mp4.dreamvideo.json")
    command, input_path, _output, options = read_render_file(path)
    assert command == "zoom" and os.path.samefile(input_path, SAMPLES / "coffee.png")
    assert options["frames"] == 5 and options["loop"] is True and options["zoom"] == "0:(1.01), 4:(1.03)"
    command, loaded, notes = studio.load_render_file(path)
    assert command == "zoom" and notes == []
    for key in ("dream.max_side", "dream.octaves", "dream.steps", "zoom.frames", "zoom.zoom", "zoom.loop"):
        assert loaded[key] == settings[key], key
    assert loaded["dream.layer"] == "block3_conv3:0.5"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = StudioProcess(tmp_path_factory.mktemp("server") / "studio", "--max-upload", "1")
    yield process
    process.stop()


def http_status(url: str, data: bytes | None = None, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def multipart(name: str, payload: bytes) -> tuple[bytes, dict]:
    boundary = "studio-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_the_server_serves_nothing_outside_its_folder_and_samples(server):
    assert http_status(server.url + "/") == 200
    secret = server.folder.parent / "secret.txt"
    secret.write_text("secret")
    private = server.folder / "private.txt"  # in the studio's folder, but neither a render nor a sample
    private.write_text("private")
    refused = ["/etc/passwd", str(secret), str(private), str(server.folder / ".." / "secret.txt"), "../secret.txt",
               "../../../../etc/passwd", str(server.folder / "jobs"), str(SAMPLES.parent / "setup.cfg")]
    for path in refused:
        for prefix in ("/gradio_api/file=", "/file="):
            url = server.url + prefix + urllib.parse.quote(path)
            assert http_status(url) in (403, 404), url
    assert http_status(server.url + "/../../etc/passwd") in (403, 404)
    assert http_status(server.url + "/gradio_api/file=" + str(SAMPLES / "coffee.png")) == 200


def test_the_server_limits_uploads(server):
    body, headers = multipart("big.png", b"\0" * (1024 * 1024 + 10))
    assert http_status(server.url + "/gradio_api/upload", body, headers) == 413
    body, headers = multipart("small.png", (SAMPLES / "coffee.png").read_bytes()[:1000])
    assert http_status(server.url + "/gradio_api/upload", body, headers) == 200


def test_the_studio_listens_on_loopback_unless_told_and_then_warns():
    import argparse

    from dreamvideo.studio.server import add_arguments, host_warning

    assert add_arguments(argparse.ArgumentParser()).parse_args([]).host == "127.0.0.1"
    assert host_warning("127.0.0.1") is None
    warning = host_warning("0.0.0.0")
    assert "\n" not in warning and "anyone who can reach" in warning and "0.0.0.0" in warning
