"""The page in a real headless browser (Debian's Chromium, driven by Playwright): upload a
record, wait for the ECG plot, check that beats are drawn, keep a screenshot.

Screenshots go to ``artifacts/`` (gitignored), e.g. ``artifacts/app_analyse.png``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ARTIFACTS = REPO_ROOT / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """`python app.py` in a subprocess, as a Space starts it, on a free localhost port."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)")
    location = os.environ.get("ECG_MODEL_LOCATION") or "diagnostic"
    if not (Path(location).is_dir() or (REPO_ROOT / "checkpoints" / location).is_dir()):
        pytest.skip(f"no model checkpoint {location!r} (set ECG_MODEL_LOCATION)")
    port = _free_port()
    log = (tmp_path_factory.mktemp("app") / "app.log").open("w")
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    process = subprocess.Popen(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with {process.returncode}; see {log.name}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("app.py did not answer within 120 s")
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def page():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        yield context.new_page()
        browser.close()


def _beat_markers(page, plot_id: str) -> int:
    """Beat markers drawn by plotly in a plot (SVG points of the marker traces)."""
    return page.locator(f"#{plot_id} .scatterlayer .trace .points path").count()


def test_upload_a_record_and_see_the_beats(page, app_url):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(app_url, wait_until="domcontentloaded")
    page.locator("#upload").wait_for(timeout=60_000)
    example = REPO_ROOT / "examples" / "2_frequent_pvcs"
    files = [str(example.with_suffix(s)) for s in (".hea", ".dat", ".atr")]
    page.locator("#upload input[type=file]").set_input_files(files)
    page.locator("#upload").get_by_text("2_frequent_pvcs", exact=False).first.wait_for(
        timeout=30_000
    )
    page.screenshot(path=str(ARTIFACTS / "app_uploaded.png"), full_page=True)
    page.locator("#analyse-btn").click()

    page.locator("#analyse-ecg .main-svg").first.wait_for(timeout=120_000)
    page.wait_for_function(
        "document.querySelectorAll('#analyse-ecg .scatterlayer .trace .points path').length > 10",
        timeout=60_000,
    )
    n_markers = _beat_markers(page, "analyse-ecg")
    assert n_markers > 10  # a 30 s window at ~78 bpm holds ~39 beats (markers + slider copy)
    page.locator("#analyse-beat .main-svg").first.wait_for(timeout=30_000)
    assert page.get_by_text("V beats · burden").count() >= 1
    page.wait_for_timeout(500)  # let plotly finish its transitions before the picture
    page.screenshot(path=str(ARTIFACTS / "app_analyse.png"), full_page=True)

    # Jump to the next V beat: the beat panel shows a V beat (the example has 24 PVCs).
    page.get_by_role("button", name="next V beat ▶").first.click()
    page.get_by_text("labelled V", exact=False).first.wait_for(timeout=30_000)
    assert _beat_markers(page, "analyse-ecg") > 10

    # Click a run in the runs table: the window and the beat follow it.
    page.get_by_text("V couplet", exact=True).first.click()
    page.wait_for_timeout(2000)
    page.screenshot(path=str(ARTIFACTS / "app_after_run_click.png"), full_page=False)


def test_model_card_tab(page, app_url):
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_role("tab", name="Model card").click()
    page.get_by_text("Inter-patient split", exact=False).first.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "app_model_card.png"), full_page=True)
