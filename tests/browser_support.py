"""A Streamlit server of the app on a free port and Debian's Chromium launched for Playwright:
shared by the browser tests and ``benchmarks/load_sessions.py``.

No pytest here (the load script runs without it); the tests turn a missing Chromium or
playwright into a skip themselves (``chromium_missing``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless in a container: no sandbox or GPU, and nothing that phones home during a test.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_missing() -> str | None:
    """Why a browser cannot be launched here (and how to fix it), or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}: install it with apt-get install chromium"
    return None


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """A Playwright browser on Debian's Chromium, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port(ports: Iterable[int] | None = None) -> int:
    """A port nothing listens on: any the system gives, or the first free one of ``ports``."""
    for port in [0] if ports is None else ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError(f"no free port among {ports}")


def wait_for_health(port: int, server: subprocess.Popen, seconds: float = 40) -> None:
    """Return once the server on ``port`` says it is healthy; raise if it exits or stays mute."""
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


@contextmanager
def streamlit_server(
    log: Path | None,
    *,
    port: int | None = None,
    script: Path | str = "app.py",
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run ``streamlit run <script>`` (default: the app) headless on ``port`` (default: a free
    one), its output in ``log`` (None: discarded), with ``env`` added to the environment;
    yields its URL once healthy, stops it on exit."""
    port = free_port() if port is None else port
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed in the finally
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.headless=true",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            # Files edited while it runs must not unload modules under live sessions.
            "--server.fileWatcherType=none",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=out,
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
        if log:
            out.close()
