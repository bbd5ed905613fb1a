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
    uploaders = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploaders.nth(nth).set_input_files(str(path))


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


def test_ratings_and_item_names_put_titles_in_the_latent_chooser(
    chromium, app_url, screenshots, tmp_path
):
    ratings, movies = tmp_path / "ratings.csv", tmp_path / "movies.csv"
    ratings.write_text(
        "userId,movieId,rating\n"
        + "".join(
            f"{u},{m},{1 + (u * 7 + m * 3) % 5}\n"
            for u in range(1, 9)
            for j, m in enumerate((1, 2, 11, 29, 32))
            if (u + j) % 4
        )
    )
    movies.write_text(
        "movieId,title,genres\n1,Toy Story (1995),Animation|Comedy\n"
        '11,"American President, The (1995)",Comedy|Drama\n29,$9.99 (2008),Animation\n'
        "32,Twelve Monkeys (1995),Sci-Fi\n404,Never Rated (1999),Drama\n"
    )
    page = open_data_upload(chromium, app_url)
    upload(page, ratings)
    page.get_by_text("Now using ratings.csv").wait_for()
    upload(page, movies, nth=1)  # the "Item names (optional)" uploader
    page.get_by_text("Item names from movies.csv: 4 of 5 rated items named").wait_for()
    page.get_by_text("1 name(s) match no rated item").first.wait_for()
    page.screenshot(path=screenshots / "upload_ratings_and_names.png")

    page.locator('[data-testid="stSidebarNav"]').get_by_text("Latent space", exact=True).click()
    page.get_by_role("heading", name="Latent space", exact=True).wait_for()
    chooser = page.get_by_label("Choose an item (most rated first)")
    chooser.click()
    options = page.get_by_role("option")
    options.first.wait_for()
    offered = options.all_inner_texts()
    assert "American President, The (1995)" in offered and "$9.99 (2008)" in offered
    assert "item 2" in offered  # no name in the file: keeps its id
    options.filter(has_text="American President, The (1995)").click()
    page.get_by_text("point the same way as American President, The (1995)").wait_for()
    assert page.get_by_text("Something went wrong").count() == 0
    page.screenshot(path=screenshots / "latent_with_titles.png")
