"""Uploads in a real headless Chromium: a ratings file with repeated pairs loads with its note;
ratings plus an item-names file put titles in the Latent space page's chooser.

Needs Debian's chromium and the playwright package; without either the test is skipped with
the reason. Screenshots go to $ALS_ARTIFACTS (default: a temporary folder).
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIMEOUT_MS = 60_000

pytestmark = pytest.mark.browser


def upload(page, path: Path, *, nth: int = 0) -> None:
    """Hand ``path`` to the page's ``nth`` file uploader (as the file chooser would)."""
    page.locator('[data-testid="stFileUploader"] input[type="file"]').nth(nth).set_input_files(
        str(path)
    )


def open_data_upload(chromium, app_url: str):
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{app_url}/data")
    page.get_by_role("heading", name="Data", exact=True).wait_for()
    page.get_by_role("tab", name="Upload a file").click()
    return page


def test_repeated_pairs_load_with_the_note(chromium, app_url, screenshots, tmp_path):
    ratings = tmp_path / "rerated.csv"
    # Ann rated Heat twice (lines 2 and 4), Bob rated Up twice (lines 5 and 7).
    ratings.write_text(
        "user,item,rating\nann,Heat,2\nann,Up,4\nann,Heat,4\nbob,Up,1\nbob,Heat,5\nbob,Up,3\n"
        "cat,Heat,3\ncat,Up,2\n"
    )
    page = open_data_upload(chromium, app_url)
    upload(page, ratings)
    page.get_by_text("Now using rerated.csv: 3 users × 2 items, 6 ratings.").wait_for()
    alerts = page.locator('[data-testid="stAlert"]')
    note = alerts.filter(has_text="2 (user, item) pairs were rated more than once")
    note.wait_for()
    text = note.inner_text()
    assert "user 'ann', item 'Heat' on lines 2 and 4, rated 2, 4" in text
    assert "average of its ratings" in text and "When a pair is rated twice" in text
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Upload: rerated.csv").wait_for()
    assert page.get_by_text("could not be read").count() == 0
    page.screenshot(path=screenshots / "upload_repeated_pairs.png")
