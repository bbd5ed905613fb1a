"""Hostile input in a real headless Chromium: ids and a file name that are Markdown links and
HTML stay text on the Latent page (no javascript: link, no injected image), and bad link values
get the link notice, not the page error.

Needs Debian's chromium and the playwright package; without either the test is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import als_core as ac
from dashboard.figures.reconstruction import MAX_LABEL_CHARS

TIMEOUT_MS = 60_000

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium):  # conftest's Chromium (or a skip saying why it is missing)
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    page.close()


def write_hostile_csv(folder: Path) -> Path:
    """Ratings whose user ids are Markdown links and item ids HTML, in a file named like one."""
    rng = np.random.default_rng(1)
    rows = ["user,item,rating"]
    for u in range(30):
        for i in rng.choice(12, size=6, replace=False):
            rows.append(f"[u{u}](javascript:alert({u})),<img src=x onerror=alert({i})>,{u % 5 + 1}")
    path = folder / "[f](javascript:alert(3)).csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_hostile_ids_and_file_name_stay_text_on_the_latent_page(app_url, page, tmp_path):
    page.goto(f"{app_url}/data")
    page.get_by_role("tab", name="Upload a file").click()
    with page.expect_file_chooser() as chooser:
        page.locator('[data-testid="stFileUploaderDropzone"] button').first.click()
    chooser.value.set_files(str(write_hostile_csv(tmp_path)))
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Upload: [f](javascript:alert(3)).csv").wait_for()
    sidebar.get_by_text("Latent space", exact=True).click()
    page.get_by_role("heading", name="Latent space").wait_for()
    caption = page.get_by_text(re.compile(r"highest predicted scores for \[u\d+\]\(javascript"))
    caption.wait_for()  # the chosen user's id, shown as written
    page.locator(".js-plotly-plot").first.wait_for()
    page.screenshot(path=tmp_path / "latent-hostile.png")
    html = page.content()
    assert page.locator('a[href^="javascript:"]').count() == 0
    assert '<a href="javascript:' not in html
    assert page.locator('[data-testid="stMarkdownContainer"] img').count() == 0
    assert page.get_by_text("Something went wrong").count() == 0


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/train?k=-5", ["k='-5' was ignored (expected a whole number from 1 to 64"]),
        (
            "/train?lam=-1&it=99999999",
            ["lam='-1' was ignored (expected a number from 0 to 500", "it='99999999' was ignored"],
        ),
        (
            "/data?data=synthetic&gen=n_users:100000,n_items:100000,density:0.5",
            [f"more than the limit of {ac.MAX_SYNTHETIC_RATINGS:,}", "The data you had are still"],
        ),
    ],
)
def test_bad_link_values_get_the_link_notice(app_url, page, path, shown, tmp_path):
    page.goto(app_url + path)
    for text in shown:
        page.get_by_text(text).first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()  # the page drew: the rest of the link applied
    page.screenshot(path=tmp_path / "notice.png")
    assert page.get_by_text("Something went wrong").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0


#: Item titles (and genres) that plotly would read as markup or a template if not escaped.
HOSTILE_TITLES = [
    '<a href="javascript:alert(1)">click me</a>',
    "Tom & Jerry <3",
    "50%{y} off",
    "<b>bold</b> move",
    "$9.99 (2008)",
    "Plain (1995)",
]


def write_hostile_names(folder: Path) -> tuple[Path, Path]:
    """Ratings of items 1-6 and a names file whose titles and genres are HTML and templates."""
    ratings = folder / "ratings.csv"
    ratings.write_text(
        "userId,movieId,rating\n"
        + "".join(
            f"{u},{m},{1 + (u * 7 + m * 3) % 5}\n"
            for u in range(1, 11)
            for m in range(1, 7)
            if (u + m) % 3
        )
    )
    quoted = ['"' + t.replace('"', '""') + '"' for t in HOSTILE_TITLES]
    names = folder / "movies.csv"
    names.write_text(
        "movieId,title,genres\n"
        + "".join(f"{m},{t},<i>Noir</i>|Drama\n" for m, t in enumerate(quoted, start=1))
    )
    return ratings, names


def chart_text(page) -> str:
    """The text drawn in the page's charts (their SVG), as a reader sees it."""
    return "\n".join(
        page.locator(".js-plotly-plot").evaluate_all("els => els.map(e => e.textContent)")
    )


def test_hostile_titles_are_drawn_as_text_in_the_charts(app_url, page, tmp_path, screenshots):
    ratings, names = write_hostile_names(tmp_path)
    page.goto(f"{app_url}/data")
    page.get_by_role("tab", name="Upload a file").click()
    uploaders = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploaders.nth(0).set_input_files(str(ratings))
    page.get_by_text("Now using ratings.csv").wait_for()
    uploaders.nth(1).set_input_files(str(names))  # "Item names (optional)"
    page.get_by_text("Item names from movies.csv").wait_for()
    sidebar = page.locator('[data-testid="stSidebar"]')

    sidebar.get_by_text("Reconstruction", exact=True).click()
    page.get_by_role("heading", name="Reconstruction").wait_for()
    page.locator(".js-plotly-plot .xtick").first.wait_for()
    page.screenshot(path=screenshots / "reconstruction-hostile-titles.png")
    drawn = chart_text(page)
    for title in HOSTILE_TITLES:  # the item axis names every item, as written (long ones cut)
        cut = (
            title if len(title) <= MAX_LABEL_CHARS else title[: MAX_LABEL_CHARS - 1].rstrip() + "…"
        )
        assert cut in drawn
    assert page.locator(".js-plotly-plot a").count() == 0  # no link from a title
    assert page.locator(".js-plotly-plot text[style*='font-weight:bold']").count() == 0

    sidebar.get_by_text("Latent space", exact=True).click()
    page.get_by_role("heading", name="Latent space").wait_for()
    page.locator(".js-plotly-plot .annotation").first.wait_for()  # the chosen item's tag
    colour_by = page.get_by_role("radiogroup", name="Colour items by")
    colour_by.get_by_text("genre", exact=True).click()  # the names file's categories
    page.locator(".js-plotly-plot .legendtext", has_text="<i>Noir</i>").first.wait_for()
    page.screenshot(path=screenshots / "latent-hostile-titles.png")
    drawn = chart_text(page)
    assert any(title in drawn for title in HOSTILE_TITLES)  # the chosen item's tag
    assert page.locator(".js-plotly-plot a").count() == 0
    assert page.get_by_text("Something went wrong").count() == 0
