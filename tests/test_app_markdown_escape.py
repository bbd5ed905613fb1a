"""Ids, names and file names are shown as written on every page: none becomes a link, a formula,
an image, a colour or HTML, wherever it reaches Markdown (captions, headings, notices, labels,
help, the sidebar). The data here are movie night with every user id, item id, title, genre and
the file name replaced by Markdown and HTML payloads."""

from __future__ import annotations

import numpy as np
import pytest

import als_core as ac
from dashboard import data_sources
from dashboard.experiment_work import EXPERIMENTS
from dashboard.text import md_escape
from tests.app_support import APP, markdown_texts, open_app, rerun

ROOT = APP.parent

LINK = "[lnk{}](javascript:alert({}))"
FILE_NAME = "[f](javascript:alert(3)) <img src=x onerror=alert(4)> $x$.csv"


def hostile_dataset() -> data_sources.Dataset:
    sample = ac.load_sample("movie_night")
    n_users, n_items = sample.shape
    info = sample.item_info.copy()
    info["id"] = [f"<img src=x onerror=alert({i})>" for i in range(n_items)]
    info["title"] = [f"**Tz{i}** $x^2$ " + LINK.format(i, i) for i in range(n_items)]
    info["genre"] = ":red[" + info["genre"].astype(str) + "] <b>g</b>"
    ratings = ac.Ratings(
        matrix=sample.matrix.copy(),
        user_ids=np.array([LINK.format(f"u{u}", u) for u in range(n_users)], dtype=object),
        item_ids=info["id"].to_numpy(dtype=object),
        item_info=info,
    )
    return data_sources.Dataset(
        name=f"Upload: {FILE_NAME}", ratings=ratings, source=f"upload:{FILE_NAME}"
    )


HOSTILE = hostile_dataset()
#: Raw payloads: any of these in a Markdown text is syntax the browser would render.
PAYLOADS = ["](javascript:", "<img src=x", "$x^2$", ":red[", "<b>", "**Tz"]


def open_with_hostile_data(page: str, **state: object):
    return open_app(
        page,
        state={
            "data_dataset": HOSTILE,
            "data_fingerprint": HOSTILE.ratings.fingerprint(),
            **state,
        },
    )


def unescaped(texts: list[str]) -> list[str]:
    return [t for t in texts if any(payload in t for payload in PAYLOADS)]


PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))


@pytest.mark.parametrize("page", PAGES)
def test_no_id_name_or_file_name_reaches_markdown_unescaped(page):
    at = open_with_hostile_data(page)
    texts = markdown_texts(at)
    assert not unescaped(texts), unescaped(texts)
    # The file name is shown (escaped) in the sidebar, not left out.
    assert any(md_escape(FILE_NAME) in t for t in texts)


@pytest.mark.parametrize(
    ("page", "state"),
    [
        ("pages/train.py", {"train_imp_w_mode": "implicit"}),  # "because you liked" an item
        *[("pages/experiments.py", {"exp_w_section": name}) for name in EXPERIMENTS],
    ],
)
def test_other_views_of_the_pages_escape_names_too(page, state):
    at = open_with_hostile_data(page, **state)
    texts = markdown_texts(at)
    assert not unescaped(texts), unescaped(texts)


def test_the_latent_captions_show_the_chosen_item_and_user_escaped():
    at = open_with_hostile_data("pages/latent.py")
    item = at.selectbox(key="latent_item").value
    user = at.selectbox(key="latent_user").value
    assert "](javascript:" in item and "](javascript:" in user  # the payloads are the choices
    captions = "\n".join(c.value for c in at.caption)
    assert md_escape(item) in captions and md_escape(user) in captions
    assert not unescaped([c.value for c in at.caption])


def test_the_update_page_names_the_rated_items_escaped_at_every_step():
    at = open_with_hostile_data("pages/update.py")
    at.slider(key="update_step").set_value(1)
    rerun(at)
    texts = markdown_texts(at)
    assert not unescaped(texts), unescaped(texts)
    assert any("Step 1:" in t and "\\]\\(javascript\\:" in t for t in texts)


def test_a_link_naming_a_user_that_is_a_payload_is_noted_escaped():
    at = open_app(params={"page": "latent", "item": "[x](javascript:alert(1))", "k": "-1"})
    notices = [w.value for w in at.warning]
    assert len(notices) == 2 and not unescaped(notices)
    assert any(md_escape("'[x](javascript:alert(1))'") in n for n in notices)
