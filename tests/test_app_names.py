"""Item and user names from a second file, in AppTest: read beside the ratings, counted in the
read report, and shown wherever an item or a user appears (every page asks session.labels()).

The files are small excerpts written here in MovieLens' shapes: ratings.csv (userId, movieId,
rating, timestamp) and movies.csv (movieId, title, genres; titles with commas quoted), with an
item that has no name, a name that matches no rated item, and titles that are Markdown syntax.
"""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import als_core as ac
from dashboard.text import plotly_escape
from tests.app_support import chart_spec, open_app, rerun, shown

PAGE = "pages/data.py"

#: Six users × six movies (ids 1 2 3 11 29 32); movie 32 has no name in MOVIES.
RATINGS = (
    "userId,movieId,rating,timestamp\n"
    + "".join(
        f"{u},{m},{1 + (u * 7 + m * 3) % 5}.0,{964982703 + 60 * (u * 10 + j)}\n"
        for u in range(1, 7)
        for j, m in enumerate((1, 2, 3, 11, 29, 32))
        if (u + j) % 4 != 0
    )
).encode()
MOVIES = (
    b"movieId,title,genres\n"
    b"1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
    b"2,$9.99 (2008),Animation\n"
    b'3,"[x](javascript:alert(1)), The (2001)",Drama\n'
    b'11,"American President, The (1995)",Comedy|Drama|Romance\n'
    b"29,Heat (1995),Action|Crime|Thriller\n"
    b"99,Never Rated (1999),Drama\n"
)
TITLES = {
    1: "Toy Story (1995)",
    2: "$9.99 (2008)",
    3: "[x](javascript:alert(1)), The (2001)",
    11: "American President, The (1995)",
    29: "Heat (1995)",
}
PEOPLE = b"id;name\n1;Ada\n2;Grace\n3;Edsger\n4;Barbara\n5;Donald\n"


def upload_files(at: AppTest, *, ratings: bytes | None = RATINGS, **names: bytes) -> AppTest:
    """Hand files to the Data page's uploaders (``item=``/``user=`` for the names files)."""
    if ratings is not None:
        at.file_uploader(key="data_w_upload").set_value(("ratings.csv", ratings, "text/csv"))
    for kind, content in names.items():
        at.file_uploader(key=f"data_w_{kind}_names").set_value(
            (f"{kind}s.csv", content, "text/csv")
        )
    return rerun(at)


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    return rerun(at)


def expected_ratings() -> ac.Ratings:
    ratings = ac.read_ratings(RATINGS)
    return ratings.with_item_names(ac.read_item_names(MOVIES, item_ids=ratings.item_ids))


def test_names_file_beside_the_ratings_names_the_items_and_reports_the_matches(at):
    labels = [u.label for u in at.get("file_uploader")]
    assert "Item names (optional)" in labels  # the app's contract
    upload_files(at, item=MOVIES)
    assert not at.error
    r = at.session_state["data_dataset"].ratings
    assert r.fingerprint() == ac.read_ratings(RATINGS).fingerprint()  # the same ratings
    ids = list(r.item_ids)
    for movie, title in TITLES.items():
        assert r.item_info["title"][ids.index(movie)] == title
    report = ac.read_item_names(MOVIES, item_ids=ac.read_ratings(RATINGS).item_ids).report
    assert (report.matched, report.unnamed, report.unmatched) == (5, 1, 1)
    (note,) = [s.value for s in at.success if "names from" in s.value]
    assert "5 of 6 rated items named; 1 name(s) match no rated item" in shown(note)
    read = shown("\n".join(m.value for m in at.markdown))
    assert "1 name(s) match no rated item (e.g. 99)" in read
    _, items = latent_choices(at)
    assert "item 32" in items  # no name: keeps its id


def latent_choices(at: AppTest) -> tuple[list, list]:
    """(user names, item names) the Latent space page offers in its choosers."""
    open_page(at, "pages/latent.py")
    return at.selectbox(key="latent_user").options, at.selectbox(key="latent_item").options


def test_names_uploaded_before_the_ratings_are_applied_when_the_ratings_come(at):
    upload_files(at, ratings=None, item=MOVIES)
    assert "upload the ratings file too" in at.info[0].value
    assert at.session_state["data_dataset"].source == "sample:movie_night"
    upload_files(at)
    assert "Toy Story (1995)" in list(at.session_state["data_dataset"].ratings.item_info["title"])


def test_the_latent_page_shows_titles_in_chooser_tables_map_and_colours_by_genre(at):
    upload_files(at, item=MOVIES)
    open_page(at, "pages/latent.py")
    chooser = at.selectbox(key="latent_item")
    assert set(TITLES.values()) <= set(chooser.options)
    assert "item 32" in chooser.options
    at.selectbox(key="latent_item").set_value("Heat (1995)")
    rerun(at)
    spec = chart_spec(at, "latent_map")
    (star,) = [t for t in spec["data"] if t.get("name") == "chosen item"]
    assert star["text"] == ["Heat (1995)"]
    drawn = {text for t in spec["data"] for text in (t.get("text") or [])}
    # Every item's hover carries its title, as plotly shows it literally ("$" as an entity).
    assert {plotly_escape(t) for t in TITLES.values()} <= drawn
    neighbours, recommendations = (d.value for d in at.dataframe[:2])
    known = set(TITLES.values()) | {"item 32"}
    assert set(neighbours["item"]) <= known and set(recommendations["item"]) <= known
    # Categories (the first genre) become the map's colours.
    assert "genre" in at.radio(key="latent_colour").options
    assert {"Action", "Drama", "Comedy"} <= {t.get("name") for t in spec["data"]}
    # A title is Markdown-escaped where it reaches Markdown: shown as written.
    at.selectbox(key="latent_item").set_value(TITLES[3])
    rerun(at)
    captions = "\n".join(c.value for c in at.caption)
    assert "[x](javascript" not in captions  # no live link
    assert f"**{TITLES[3]}**" in shown(captions)


def test_titles_reach_reconstruction_update_add_yourself_and_replay(at):
    upload_files(at, item=MOVIES)
    titles = set(TITLES.values())

    open_page(at, "pages/reconstruction.py")
    spec = chart_spec(at, "recon_chart")
    ticks = {str(t) for axis, v in spec["layout"].items() if axis.startswith("xaxis") for t in
             (v.get("ticktext") or v.get("categoryarray") or [])}  # fmt: skip
    ticks |= {str(x) for t in spec["data"] for x in (t.get("x") or []) if isinstance(x, str)}
    assert {plotly_escape(t) for t in titles} & ticks, "the item axis shows titles"
    assert titles <= set(at.multiselect(key="recon_items").options)

    open_page(at, "pages/update.py")
    at.segmented_control(key="update_side").set_value("items")
    rerun(at)
    assert titles <= set(at.selectbox(key="update_item").options)
    at.segmented_control(key="update_side").set_value("users")
    rerun(at)
    table = at.dataframe[0].value
    assert set(table["item"]) <= titles | {"item 32"}, "the update table names items by title"
    assert titles & set(table["item"])

    open_page(at, "pages/add_yourself.py")
    offered = shown("\n".join(m.value for m in at.markdown))
    assert "Toy Story (1995)" in offered and "$9.99 (2008)" in offered

    open_page(at, "pages/replay.py")
    texts = {x for key in ("replay_map_chart",) for t in chart_spec(at, key)["data"]
             for x in (t.get("text") or [])}  # fmt: skip
    assert {plotly_escape(t) for t in titles} <= texts


def test_user_names_from_a_third_file_name_the_users(at):
    upload_files(at, item=MOVIES, user=PEOPLE)
    r = at.session_state["data_dataset"].ratings
    assert r.user_info["name"].tolist()[:2] == ["Ada", "Grace"]
    users, _ = latent_choices(at)
    assert {"Ada", "Grace", "user 6"} <= set(users)  # user 6 is not in the file: its id


def test_a_names_file_that_cannot_be_read_leaves_the_ratings_loaded_with_ids(at):
    upload_files(at, item=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert at.session_state["data_dataset"].source == "upload:ratings.csv"
    assert any("could not be read" in w.value for w in at.warning)
    _, items = latent_choices(at)
    assert set(items) == {f"item {i}" for i in ac.read_ratings(RATINGS).item_ids}


def test_names_stay_in_their_session(at):
    upload_files(at, item=MOVIES)
    open_page(at, "pages/latent.py")
    assert "Heat (1995)" in at.selectbox(key="latent_item").options
    other = open_app("pages/data.py")  # another browser session, same server
    upload_files(other)  # the same ratings, no names
    assert other.session_state["data_fingerprint"] != at.session_state["data_fingerprint"]
    open_page(other, "pages/latent.py")
    options = other.selectbox(key="latent_item").options
    assert "Heat (1995)" not in options and "item 29" in options


def test_the_movielens_100k_loader_keeps_its_titles(at, monkeypatch):
    ratings = ac.read_ratings(RATINGS)
    titled = ratings.with_item_names(
        pd.DataFrame({"title": ["Toy Story (1995)", "Heat (1995)"]}, index=pd.Index(["1", "29"]))
    )
    monkeypatch.setattr(ac, "load_movielens_100k", lambda **_: titled)
    at.button(key="data_fetch_movielens").click()
    rerun(at)
    assert at.session_state["data_dataset"].source == "movielens-100k"
    open_page(at, "pages/latent.py")
    assert {"Toy Story (1995)", "Heat (1995)", "item 2"} <= set(
        at.selectbox(key="latent_item").options
    )


@pytest.mark.parametrize("page", ["pages/latent.py", "pages/update.py", "pages/add_yourself.py"])
def test_pages_show_no_markdown_link_from_a_title(at, page):
    upload_files(at, item=MOVIES)
    open_page(at, page)
    text = "\n".join(e.value for kind in ("markdown", "caption") for e in at.get(kind))
    assert "](javascript" not in text


#: A names file whose title column is not named like one: the reader guesses "description".
THINGS = (
    b"code,description,maker,shelf\n1,Big red apple,Acme,fruit\n2,Small pear,Bolt,fruit\n"
    b"3,Old shoe,Cobb,wear\n11,New hat,Dent,wear\n29,Blue cup,Eddy,home\n"
)


def names_selects(at: AppTest, kind: str = "item") -> dict:
    """The names file's column selects by role (their keys carry the file's digest)."""
    prefix = f"data_w_{kind}_names_"
    return {
        s.key.removeprefix(prefix).split("_")[0]: s
        for s in at.selectbox
        if (s.key or "").startswith(prefix)
    }


def read_names_again(at: AppTest) -> AppTest:
    (button,) = [b for b in at.button if b.label == "Read names with these columns"]
    button.click()
    return rerun(at)


def item_titles(at: AppTest) -> dict:
    info = at.session_state["data_dataset"].ratings.item_info
    return dict(zip(info["id"], info["title"], strict=True))


def test_a_guessed_title_column_is_shown_for_a_check_and_can_be_changed(at):
    upload_files(at, item=THINGS)
    (note,) = [w.value for w in at.warning if "no column is named like a title" in w.value]
    assert "took **description**" in shown(note)
    selects = names_selects(at)
    assert [selects[r].value for r in ("id", "title", "category")] == [0, 1, "none"]
    assert selects["title"].options == ["code", "description", "maker", "shelf"]
    assert item_titles(at)[1] == "Big red apple"  # the guess is in use meanwhile
    selects["title"].set_value(2)  # maker
    selects["category"].set_value(3)  # shelf
    read_names_again(at)
    assert item_titles(at)[3] == "Cobb"
    info = at.session_state["data_dataset"].ratings.item_info
    assert set(info["genre"].dropna()) == {"fruit", "wear", "home"}
    assert not [w for w in at.warning if "no column is named like a title" in w.value]
    _, items = latent_choices(at)
    assert {"Acme", "Cobb", "item 32"} <= set(items)


def test_no_title_column_asks_for_one_and_the_ratings_load_meanwhile(at):
    upload_files(at, item=b"movieId,stock\n1,5\n2,7\n3,9\n11,4\n")
    assert at.session_state["data_dataset"].source == "upload:ratings.csv"
    (warning,) = [w.value for w in at.warning if "could not be read" in w.value]
    assert "no column looks like titles" in warning and "Choose the title column below" in warning
    selects = names_selects(at)
    assert (selects["id"].value, selects["title"].value) == (0, 1)
    read_names_again(at)
    assert item_titles(at)[11] == "4"


def test_a_named_title_column_keeps_its_choice_folded_away_and_categories_can_be_dropped(at):
    upload_files(at, item=MOVIES)
    assert not [w for w in at.warning if "no column is named like a title" in w.value]
    assert any(e.label.startswith("Choose the columns of") for e in at.expander)
    selects = names_selects(at)
    assert [selects[r].value for r in ("id", "title", "category")] == [0, 1, 2]
    selects["category"].set_value("none")
    read_names_again(at)
    info = at.session_state["data_dataset"].ratings.item_info
    assert "genre" not in info.columns and item_titles(at)[29] == "Heat (1995)"


def test_user_names_get_id_and_name_selects_without_categories(at):
    upload_files(at, user=b"who,nickname\n1,Ada\n2,Grace\n3,Edsger\n")
    selects = names_selects(at, "user")
    assert set(selects) == {"id", "title"} and selects["title"].label == "Name column"


#: MovieLens 100K's u.item layout: no header, '|' separated, latin-1, its 19 genres as 0/1 flags.
U_ITEM = "".join(
    f"{movie}|{title}|01-Jan-1995||http://us.imdb.com/M/title-exact?x|"
    + "|".join("1" if g in genres else "0" for g in range(19))
    + "\n"
    for movie, title, genres in (
        (1, "Amélie (2001)", (5,)),
        (2, "Les Misérables (1995)", (8,)),
        (3, "Heat (1995)", (1, 6)),
        (11, "Señor Juan (1990)", (5, 8)),
        (29, "Café au lait (1993)", (14,)),
        (32, "Toy Story (1995)", (3, 4, 5)),
    )
).encode("latin-1")


def test_a_u_item_names_file_with_genre_flags_offers_its_detected_categories(at):
    upload_files(at, item=U_ITEM)
    assert not at.exception and not [e for e in at.error if "went wrong" in e.value]
    selects = names_selects(at)
    category = selects["category"]
    assert category.value == "detected"
    assert "the 0/1 flag columns (as detected)" in category.options
    assert item_titles(at)[1] == "Amélie (2001)"
    ratings = ac.read_ratings(RATINGS)
    expected = ratings.with_item_names(ac.read_item_names(U_ITEM, item_ids=ratings.item_ids))
    assert set(expected.item_info["genre"]) >= {"Comedy", "Drama", "Action"}

    def genres(info: pd.DataFrame) -> dict:
        return dict(zip(info["id"], info["genre"], strict=True))

    assert genres(at.session_state["data_dataset"].ratings.item_info) == genres(expected.item_info)
    read_names_again(at)  # the reader's own choice, confirmed as it is
    assert not at.exception
    assert genres(at.session_state["data_dataset"].ratings.item_info) == genres(expected.item_info)
