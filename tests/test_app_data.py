"""The Data page in AppTest: samples, generator, uploads (good, bad, remapped), MovieLens."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import als_core as ac
from als_core import io as ac_io
from dashboard import data_sources
from dashboard.text import md_escape
from tests.app_support import chart, figure_array, metrics, shown, sidebar_text

PAGE = "pages/data.py"
REREAD = "FormSubmitter:data_read_options-Re-read the file"
GENERATE = "FormSubmitter:data_generate_form-Generate"
GOOD_CSV = b"user,item,rating\nann,x,1\nann,y,2\nbob,x,3\nbob,y,4.5\ncat,x,5\ncat,z,2\n"


def dataset_source(at: AppTest) -> str:
    return at.session_state["data_dataset"].source


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="data_w_upload").set_value((name, content, "text/csv"))
    at.run()
    assert not at.exception, at.exception
    return at


def test_opens_on_movie_night_with_its_counts(at):
    r = ac.load_sample("movie_night")
    numbers = metrics(at)
    assert numbers["Users"] == f"{r.n_users:,}" and numbers["Items"] == f"{r.n_items:,}"
    assert numbers["Ratings"] == f"{r.nnz:,}"
    assert numbers["Density"] == f"{r.nnz / (r.n_users * r.n_items):.2%}"
    hist = chart(at, "data_hist_chart")
    values, counts = np.unique(r.matrix.data, return_counts=True)
    assert np.array_equal(figure_array(hist.data[0].x), values)
    assert np.array_equal(figure_array(hist.data[0].y), counts)


def test_choosing_another_sample_replaces_the_data_and_the_model(at):
    first_fit_key = at.session_state["train_current_key"]
    at.selectbox(key="data_w_sample").set_value("tiny")
    at.button(key="data_use_sample").click().run()
    tiny = ac.load_sample("tiny")
    assert metrics(at)["Users"] == str(tiny.n_users) and metrics(at)["Ratings"] == str(tiny.nnz)
    assert dataset_source(at) == "sample:tiny"
    # The sidebar retrains on the new data with the current settings.
    key = at.session_state["train_current_key"]
    assert key != first_fit_key and key[0] == tiny.fingerprint()


def test_generated_data_match_the_generator_with_the_same_settings(at):
    for key, value in {
        "data_w_users": 60,
        "data_w_items": 40,
        "data_w_rank": 2,
        "data_w_density": 0.2,
        "data_w_noise": 0.1,
        "data_w_seed": 3,
        "data_w_clusters": 0,
    }.items():
        at.number_input(key=key).set_value(value)
    at.slider(key="data_w_skew").set_value(0.0)
    at.button(key=GENERATE).click().run()
    assert not at.exception
    expected = ac.synthetic(
        n_users=60, n_items=40, rank=2, density=0.2, noise=0.1, seed=3, popularity_skew=0.0
    ).ratings
    assert dataset_source(at) == "synthetic"
    assert at.session_state["data_fingerprint"] == expected.fingerprint()
    assert metrics(at)["Ratings"] == f"{expected.nnz:,}"
    assert at.session_state["data_dataset"].truth is not None  # true factors kept for the views


def test_generating_too_much_is_refused_and_the_data_kept(at):
    at.number_input(key="data_w_users").set_value(20_000)
    at.number_input(key="data_w_items").set_value(10_000)
    at.number_input(key="data_w_density").set_value(0.5)
    at.button(key=GENERATE).click().run()
    assert "limit" in at.error[0].value
    assert dataset_source(at) == "sample:movie_night"


def test_a_good_upload_becomes_the_dataset_with_its_detected_format_and_preview(at):
    upload(at, "mine.csv", GOOD_CSV)
    assert not at.error
    assert f"Now using **{md_escape('mine.csv')}**" in at.success[0].value
    assert dataset_source(at) == "upload:mine.csv"
    expected = ac_io.read_ratings(GOOD_CSV)
    assert metrics(at)["Users"] == str(expected.n_users) == "3"
    assert metrics(at)["Ratings"] == str(expected.nnz) == "6"
    detected = " ".join(m.value for m in at.markdown)
    assert "separator comma" in detected and "a header row" in detected
    preview = at.dataframe[0].value
    assert list(preview["rating"]) == [1.0, 2.0, 3.0, 4.5, 5.0, 2.0]


def test_a_bad_upload_shows_the_readers_message_and_keeps_the_previous_data(at):
    before = metrics(at)
    bad = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    with pytest.raises(ac.RatingsError) as reader:
        ac_io.read_ratings(bad)
    upload(at, "photo.csv", bad)
    assert md_escape(str(reader.value)) in at.error[0].value
    assert "previous dataset is still in use" in at.info[0].value
    assert dataset_source(at) == "sample:movie_night"
    assert metrics(at) == before


def test_a_file_with_unknown_column_names_can_be_mapped_and_re_read(at):
    content = b"score;who;what\n4;a;x\n2;a;y\n3;b;x\n5;b;y\n1;c;x\n"
    upload(at, "odd.csv", content)
    assert "could not be read" in at.error[0].value
    at.selectbox(key="data_w_map_user").set_value(1)  # positions in the file: who
    at.selectbox(key="data_w_map_item").set_value(2)  # what
    at.selectbox(key="data_w_map_rating").set_value(0)  # score
    at.button(key=REREAD).click().run()
    assert not at.exception and not at.error
    r = at.session_state["data_dataset"].ratings
    expected = ac_io.read_ratings(content, columns={"user": 1, "item": 2, "rating": 0})
    assert r.fingerprint() == expected.fingerprint()
    assert r.matrix[list(r.user_ids).index("b"), list(r.item_ids).index("y")] == 5.0


REPEATED = b"user,item,rating\na,x,1\na,x,3\nb,y,2\nb,x,4\nc,y,5\nc,y,4\nc,x,2\n"
#: Python argument syntax (``drop_invalid=True``, ``columns={...}``, ``duplicates='last'``).
PYTHON_ARGUMENT = re.compile(r"\b[a-z_]+=(?:True|False|None|\{|\[|'|\"|\d)|\b[a-z_]+=\s|=<")


def shown_text(at: AppTest) -> str:
    """Everything the page says in words (alerts, Markdown, captions), Markdown unescaped."""
    parts = [e.value for kind in ("error", "warning", "info", "success") for e in at.get(kind)]
    parts += [m.value for m in at.markdown] + [c.value for c in at.caption]
    return shown("\n".join(parts))


def test_repeated_pairs_load_averaged_with_a_note_that_says_where_and_how_to_choose(at):
    upload(at, "dups.csv", REPEATED)
    assert not at.error
    r = at.session_state["data_dataset"].ratings
    expected = ac_io.read_ratings(REPEATED, duplicates="mean")
    assert r.fingerprint() == expected.fingerprint()
    a, x = list(r.user_ids).index("a"), list(r.item_ids).index("x")
    assert r.matrix[a, x] == pytest.approx(2.0)  # (1 + 3) / 2
    (note,) = [i.value for i in at.info if "rated more than once" in i.value]
    note = shown(note)
    # How many, the first example with its lines (file lines: the header is line 1) and ratings.
    assert note.startswith("2 (user, item) pairs were rated more than once")
    assert "user 'a', item 'x' on lines 2 and 3, rated 1, 3" in note
    assert "average of its ratings" in note
    assert "When a pair is rated twice" in note
    assert at.selectbox(key="data_w_duplicates").value == "mean"
    assert not PYTHON_ARGUMENT.search(shown_text(at)), shown_text(at)


@pytest.mark.parametrize(("choice", "a_x", "c_y"), [("first", 1.0, 5.0), ("last", 3.0, 4.0)])
def test_choosing_first_or_last_re_reads_at_once(at, choice, a_x, c_y):
    upload(at, "dups.csv", REPEATED)
    at.selectbox(key="data_w_duplicates").set_value(choice).run()
    r = at.session_state["data_dataset"].ratings
    users, items = list(r.user_ids), list(r.item_ids)
    assert r.matrix[users.index("a"), items.index("x")] == a_x
    assert r.matrix[users.index("c"), items.index("y")] == c_y
    kept = {"first": "its first rating", "last": "its last rating"}[choice]
    assert any(kept in i.value for i in at.info)


def test_refusing_repeated_pairs_keeps_the_data_and_says_how_to_load(at):
    before = at.session_state["data_fingerprint"]
    at.selectbox(key="data_w_duplicates").set_value("error").run()
    upload(at, "dups.csv", REPEATED)
    message = shown(at.error[0].value)
    assert "2 (user, item) pairs were rated more than once" in message
    assert "lines 2 and 3" in message and "Refuse the file" in message
    assert "Average them" in message
    assert not PYTHON_ARGUMENT.search(shown_text(at)), shown_text(at)
    assert at.session_state["data_fingerprint"] == before
    at.selectbox(key="data_w_duplicates").set_value("mean").run()
    assert dataset_source(at) == "upload:dups.csv"


@pytest.mark.parametrize(
    "content",
    [
        b"user,item,rating\na,x,1\nb,y,oops\nc,x,2\nc,y,3\n",  # a rating that is no number
        b"user,item,rating\na,x,1\nb,y\nc,x,2\nc,y,3\n",  # a line with a field missing
        b"a,b,c,d,e\n1,2,3,4,5\n",  # a wide matrix with one row
        b"user,userId,item,rating\na,1,x,3\nb,2,y,4\nb,2,x,1\n",  # two user columns
    ],
    ids=["not-a-number", "short-line", "wide-one-row", "two-user-columns"],
)
def test_reader_messages_use_the_pages_words_not_python_arguments(at, content):
    upload(at, "bad.csv", content)
    assert at.error, "the file should have been refused"
    assert not PYTHON_ARGUMENT.search(shown_text(at)), shown_text(at)


#: Six columns, no header: user, movie, genre, review id, rating, date (the issue's example).
SIX_COLUMNS = b"".join(
    f"{u},{m},{g},{5000 + n},{r},2021-0{1 + n % 9}-1{n % 10}\n".encode()
    for n, (u, m, g, r) in enumerate(
        (1 + n % 6, 100 + (7 * n) % 11, ("Drama", "Comedy", "Action")[n % 3], 1 + (n * n) % 5)
        for n in range(40)
    )
)


def test_an_ambiguous_file_shows_the_proposal_with_reasons_and_reads_it_in_one_click(at):
    before = at.session_state["data_fingerprint"]
    with pytest.raises(ac.RatingsError) as refused:
        ac_io.read_ratings(SIX_COLUMNS)
    proposal = refused.value.proposal
    assert proposal.complete
    upload(at, "six.csv", SIX_COLUMNS)
    assert at.session_state["data_fingerprint"] == before  # nothing read yet
    assert "Use this mapping" in shown(at.error[0].value)
    for role, position in proposal.columns.items():
        assert at.selectbox(key=f"data_w_prop_{role}").value == position
    reasons = shown_text(at)
    for role in ("user", "item", "rating", "timestamp"):
        assert proposal.reasons[role] in reasons
    assert not PYTHON_ARGUMENT.search(reasons), reasons
    at.button(key="FormSubmitter:data_proposal_form-Use this mapping").click().run()
    assert not at.exception and not at.error
    expected = ac_io.read_ratings(SIX_COLUMNS, columns=proposal.columns)
    assert at.session_state["data_fingerprint"] == expected.fingerprint()
    assert metrics(at)["Ratings"] == f"{expected.nnz:,}"


def test_a_changed_proposal_is_read_as_changed(at):
    upload(at, "six.csv", SIX_COLUMNS)
    at.selectbox(key="data_w_prop_timestamp").select_index(0)  # "(none)"
    at.button(key="FormSubmitter:data_proposal_form-Use this mapping").click().run()
    r = at.session_state["data_dataset"].ratings
    assert r.timestamps is None and dataset_source(at) == "upload:six.csv"


def test_the_sidebar_names_the_upload_and_its_model_in_the_same_run(at):
    upload(at, "mine.csv", GOOD_CSV)
    text = sidebar_text(at)
    assert "Upload: mine.csv" in text
    assert "3 users × 3 items" in text
    key = at.session_state["train_current_key"]
    assert key[0] == ac_io.read_ratings(GOOD_CSV).fingerprint()  # the model is the upload's


def test_movielens_offline_says_what_to_do_and_keeps_the_data(at, monkeypatch):
    def offline(**_):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(ac, "load_movielens_100k", offline, raising=False)
    at.button(key="data_fetch_movielens").click().run()
    assert not at.exception
    message = at.error[0].value
    assert "could not be fetched" in message and "upload" in message
    assert dataset_source(at) == "sample:movie_night"


def test_ordering_by_activity_puts_the_busiest_user_first(at):
    at.radio(key="data_w_order").set_value("activity").run()
    z = figure_array(chart(at, "data_pattern_chart").data[0].z).astype(float)
    per_row = (~np.isnan(z)).sum(axis=1)
    assert per_row[0] == ac.load_sample("movie_night").user_counts().max()
    assert np.all(np.diff(per_row) <= 0)


def test_read_upload_never_raises_on_garbage():
    for content in (b"", b"\x00\x01\x02", b"user,item,rating\n", "ä;ö\n1".encode("latin-1")):
        outcome = data_sources.read_upload(content, "x.csv")
        assert outcome.ratings is None and outcome.error
