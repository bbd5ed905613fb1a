"""The teaching pages in a real headless Chromium: home, one update by hand (stepping), the replay
playing by itself, add yourself, presenter mode from a link; screenshots of each.

Needs Debian's chromium and the playwright package; without either the test is skipped with
the reason. Screenshots go to $ALS_ARTIFACTS (default: a temporary folder).
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

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: This helper's ports (other helpers use 8601-8639); any free one of them.
PORTS = range(8641, 8660)
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.browser


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def wait_for_health(port: int, server: subprocess.Popen, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Streamlit server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"the Streamlit server did not answer on port {port} in {seconds} s")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install it with apt-get install chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless=true",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_health(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("ALS_ARTIFACTS", tmp_path_factory.mktemp("artifacts")))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(browser, url: str, heading: str, *, charts: int = 1, height: int = 1400):
    """A new session on ``url``, once its heading and first ``charts`` charts are drawn."""
    page = browser.new_page(viewport={"width": 1440, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("heading", name=heading, exact=True).wait_for()
    for n in range(charts):
        page.locator('[data-testid="stPlotlyChart"] .main-svg').nth(n).wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    return page


def chart_title(page, text: str):
    return page.locator(".gtitle", has_text=text).first


def test_teaching_pages_in_chromium(server, browser, artifacts):
    home = open_page(browser, f"{server}/", "How ALS works", charts=3, height=2200)
    assert home.get_by_text("is not a zero").count() == 1
    home.screenshot(path=artifacts / "teach_1_home.png")
    assert "page=home" in home.url  # the scene is written into the address bar
    home.close()

    update = open_page(
        browser, f"{server}/update?data=sample:tiny&split=none&it=4", "One update by hand", charts=2
    )
    full = update.locator(".gtitle", has_text="the update").first
    full.wait_for()
    total = int(full.text_content().split(" of ")[1].split(" ")[0])
    update.get_by_role("button", name="◀ back").click()
    chart_title(update, f"After {total - 1} of {total} ratings").wait_for()
    update.get_by_text(f"Step {total - 1}:").wait_for()
    update.screenshot(path=artifacts / "teach_2_update.png", full_page=True)
    assert f"step={total - 1}" in update.url and "who=" in update.url
    update.close()

    replay = open_page(browser, f"{server}/replay?data=sample:tiny&it=3", "Iteration replay")
    chart_title(replay, "Latent map: random start").wait_for()
    replay.get_by_role("button", name="Play").click()
    # The fragment's timer advances the frames by itself, without any click.
    chart_title(replay, "Latent map: iteration 1: items solved").wait_for()
    replay.screenshot(path=artifacts / "teach_3_replay.png", full_page=True)
    replay.close()

    you = open_page(browser, f"{server}/add_yourself", "Add yourself")
    you.get_by_role("button", name="Fill in an example").click()
    you.get_by_text("Users whose tastes point the same way").wait_for()
    chart_title(you, "Your predicted top items").wait_for()
    you.screenshot(path=artifacts / "teach_4_add_yourself.png", full_page=True)
    you.close()

    shown = open_page(browser, f"{server}/update?data=sample:tiny&present=1", "One update by hand")
    assert not shown.locator('[data-testid="stSidebar"]').is_visible()
    shown.get_by_role("link", name="Iteration replay").wait_for()  # the page menu is on top
    shown.get_by_role("button", name="Exit presenter mode").wait_for()
    shown.screenshot(path=artifacts / "teach_5_presenter.png")
    shown.close()
