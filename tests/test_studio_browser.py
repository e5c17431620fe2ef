"""The studio in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright's Python
package. Upload a photo, preview, render, watch the progress reach the end, download; cancel a render and
resume it; and no request, from the page or from the studio's processes, leaves the machine.

``DREAMVIDEO_STUDIO_SCREENSHOT=samples/studio.png`` saves the page with the finished render there.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from studio_support import SAMPLES, StudioProcess, loopback

# Debian's chromium (.ci/run installs it); Playwright's own browser downloads are never used.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No background traffic of the browser's own (updates, sync, QUIC probes), nothing from a profile.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 240_000


@pytest.fixture
def server(tmp_path):
    process = StudioProcess(tmp_path / "studio")
    yield process
    process.stop()


@pytest.fixture
def browser_page(tmp_path, server):
    requests = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            accept_downloads=True, viewport={"width": 1400, "height": 1200})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(30_000)
            expect.set_options(timeout=TIMEOUT_MS)  # a render on a busy machine
            page.on("request", lambda request: requests.append(request.url))
            page.goto(server.url)
            yield page, requests
        finally:
            context.close()
    outside = [url for url in requests if not re.match(r"^(http|ws)s?://127\.0\.0\.1:\d+/", url)
               and not url.startswith(("data:", "blob:"))]
    assert requests and outside == []
    away = [entry for entry in server.connections() if not loopback(entry)]
    assert away == []


def fill(page, key: str, value) -> None:
    """Type into the widget of a setting (``dream.max_side`` -> ``#opt-dream-max-side``)."""
    widget = f"#opt-{key.replace('.', '-').replace('_', '-')}"
    box = page.locator(f"{widget} input, {widget} textarea").first
    box.fill(str(value))
    box.blur()


def tiny_settings(page) -> None:
    fill(page, "dream.max_side", 64)
    fill(page, "dream.octaves", 1)
    fill(page, "dream.steps", 1)


def cancellable_settings(page) -> None:
    """A render long enough to be seen half done and cancelled: about 0.1-0.3 s a frame (48 frames) on 2
    cores, where tiny_settings finished all 48 frames between two refreshes of the page on an idle machine."""
    fill(page, "dream.max_side", 160)
    fill(page, "dream.octaves", 3)
    fill(page, "dream.steps", 6)
    fill(page, "video.carried_steps", 6)


def job_row(page):
    return page.locator("#jobs tr[data-job]").first


def test_upload_preview_render_and_download(browser_page, server, tmp_path):
    page, _requests = browser_page
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    page.locator("#upload input[type=file]").set_input_files(str(notes))
    expect(page.locator("#upload-note")).to_contain_text("notes.txt: not a video FFmpeg can read")
    page.locator("#upload input[type=file]").set_input_files(str(SAMPLES / "coffee.png"))
    expect(page.locator("#upload-note")).to_contain_text("uploaded as uploads/coffee.png")
    tiny_settings(page)
    page.locator("#preview").click()
    expect(page.locator("#preview-note")).to_contain_text("dreamed in")
    expect(page.locator("#preview-image img")).to_be_visible()

    page.locator("#make").get_by_label("zoom").check()  # a zoom from the uploaded photo: a tiny video
    fill(page, "zoom.frames", 4)
    page.locator("#render").click()
    expect(page.locator("#render-note")).to_contain_text("queued")
    row = job_row(page)
    expect(row).to_have_attribute("data-state", re.compile("running|done"))
    expect(row).to_have_attribute("data-state", "done")
    expect(row.locator(".job-frames")).to_have_text("frames 4/4")
    expect(row.locator("progress")).to_have_attribute("value", "1.000")

    page.locator("#gallery button.thumbnail-item").first.click()
    expect(page.locator("#chosen textarea, #chosen input").first).to_have_value(re.compile(r"^\d{8}-\d{6}-"))
    with page.expect_download() as download_info:
        page.locator("#download-output").click()
    saved = tmp_path / "downloaded.mp4"
    download_info.value.save_as(saved)
    assert saved.read_bytes()[4:8] == b"ftyp"  # an MP4
    with page.expect_download() as download_info:
        page.locator("#download-render-file").click()
    assert download_info.value.suggested_filename.endswith(".dreamvideo.json")
    screenshot = os.environ.get("DREAMVIDEO_STUDIO_SCREENSHOT")
    page.screenshot(path=screenshot or str(tmp_path / "studio.png"), full_page=True)


def test_cancel_and_resume(browser_page, server):
    page, _requests = browser_page
    page.get_by_label("input", exact=True).click()
    page.get_by_role("option", name="samples/coffee_pan.mp4").click()
    cancellable_settings(page)
    page.locator("#render").click()
    expect(page.locator("#render-note")).to_contain_text("queued")
    row = job_row(page)
    expect(row.locator(".job-frames")).to_have_text(re.compile(r"frames ([2-9]|[1-3]\d|4[0-7])/48"))
    page.locator("#cancel").click()
    expect(row).to_have_attribute("data-state", "cancelled")
    kept = int(re.search(r"frames (\d+)/48", row.locator(".job-frames").inner_text()).group(1))
    assert 2 <= kept < 48
    page.locator("#resume").click()
    expect(row).to_have_attribute("data-state", "done")
    expect(row.locator(".job-frames")).to_have_text("frames 48/48")
    job_id = row.get_attribute("data-job")
    assert server.folder.joinpath("jobs", f"{job_id}.json").is_file()
