"""Eight browser sessions generate different data and train at the same time; how long until
each sees its loss charts, and did any of them see an error?

Each session (its own Chromium context, so its own Streamlit session) opens the Data page,
generates its own synthetic set (same size, its own seed), which the sidebar trains on at once,
then opens the Train page and waits for both loss charts. All eight Generate buttons are
pressed back to back, so the fits overlap; the server runs at most ``CONCURRENT_FITS`` at once
and queues the rest.

Run by hand (starts and stops its own server):
    PYTHONPATH=. python benchmarks/load_sessions.py [--sessions 8] [--users 4000] [--items 2000]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page

from tests.browser_support import launched_chromium, streamlit_server


@dataclass
class Session:
    number: int
    page: Page
    phase: str = "setup"
    clicked: float = 0.0
    trained: float = 0.0
    charted: float = 0.0
    errors: list[str] = field(default_factory=list)
    screenshots: Path | None = None


def prepare(session: Session, url: str, users: int, items: int) -> None:
    """Open the Data page and fill the generator form (not submitted yet)."""
    page = session.page
    page.goto(f"{url}/data")
    page.get_by_role("tab", name="Generate").click()
    page.get_by_label("Users").fill(str(users))
    page.get_by_label("Items").fill(str(items))
    page.get_by_label("True rank").fill("5")
    page.get_by_label("Density (share observed)").fill("0.020")
    page.get_by_label("Seed").fill(str(session.number + 1))


STATUS_JS = """() => {
  const text = (sel) => Array.from(document.querySelectorAll(sel)).map(e => e.innerText).join(" ");
  const main = text('[data-testid="stMain"]');
  return {
    sidebar: text('[data-testid="stSidebarUserContent"]'),
    errorShown: main.includes("Something went wrong"),
    exception: document.querySelectorAll('[data-testid="stException"]').length,
    charts: document.querySelectorAll(".js-plotly-plot").length,
    onTrain: Array.from(document.querySelectorAll("h1")).some(h => h.innerText.trim() === "Train"),
    busy: main.includes("Training: iteration") || main.includes("Waiting for a free"),
  };
}"""


def is_charted(status: dict) -> bool:
    """The Train page shows both loss charts and no fit is running."""
    return status["onTrain"] and status["charts"] >= 2 and not status["busy"]


def step(session: Session, users: int, items: int) -> None:
    """Advance one session by what its page shows now (one round trip to the browser)."""
    page = session.page
    status = page.evaluate(STATUS_JS)
    if status["errorShown"] or status["exception"]:
        session.errors.append("error shown" if status["errorShown"] else "exception shown")
        if session.screenshots:
            page.screenshot(path=session.screenshots / f"error_session_{session.number}.png")
    if session.phase == "generating":
        name = f"Synthetic {users}×{items}, rank 5, seed {session.number + 1}"
        if name in status["sidebar"] and "validation RMSE" in status["sidebar"]:
            session.trained = time.perf_counter()
            page.locator('[data-testid="stSidebar"]').get_by_text("Train", exact=True).click()
            session.phase = "charting"
    elif session.phase == "charting" and is_charted(status):
        session.charted = time.perf_counter()
        session.phase = "done"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--users", type=int, default=4000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--log", type=Path, help="write the server's output here")
    parser.add_argument("--screenshots", type=Path, help="save a screenshot of any error here")
    args = parser.parse_args()
    with streamlit_server(args.log) as url, launched_chromium() as browser:
        sessions = []
        for n in range(args.sessions):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(120_000)
            sessions.append(Session(n, page, screenshots=args.screenshots))
        for s in sessions:
            prepare(s, url, args.users, args.items)
        for s in sessions:  # back to back, so the fits overlap
            s.page.get_by_role("button", name="Generate").click()
            s.clicked = time.perf_counter()
            s.phase = "generating"
        deadline = time.perf_counter() + args.timeout
        while any(s.phase != "done" for s in sessions) and time.perf_counter() < deadline:
            for s in sessions:
                if s.phase != "done":
                    step(s, args.users, args.items)
            time.sleep(0.1)
    ratings = int(args.users * args.items * 0.02)
    print(f"{args.sessions} sessions, each {args.users}×{args.items} with ~{ratings:,} ratings")
    print(f"{'session':>7} {'trained s':>10} {'charts s':>9}  errors")
    for s in sessions:
        trained = f"{s.trained - s.clicked:10.1f}" if s.trained else f"{'timeout':>10}"
        charted = f"{s.charted - s.clicked:9.1f}" if s.charted else f"{'timeout':>9}"
        print(f"{s.number:>7} {trained} {charted}  {'; '.join(sorted(set(s.errors))) or '-'}")
    done = [s.charted - s.clicked for s in sessions if s.charted]
    failed = [s for s in sessions if s.errors or not s.charted]
    if done:
        print(f"slowest time to chart: {max(done):.1f} s; sessions with problems: {len(failed)}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
