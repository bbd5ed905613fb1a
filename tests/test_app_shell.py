"""The app's frame: first open, every page reachable, the error boundary, session isolation."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import als_core as ac
from tests.app_support import APP, open_app, sidebar_text

PAGES = {
    "pages/data.py": "Data",
    "pages/train.py": "Train",
    "pages/reconstruction.py": "Reconstruction",
    "pages/latent.py": "Latent space",
}


def test_first_open_loads_movie_night_and_trains_a_model_without_a_click():
    at = open_app("pages/data.py")
    assert at.title[0].value == "Data"
    ratings = ac.load_sample("movie_night")
    text = sidebar_text(at)
    assert "Movie night" in text
    assert f"{ratings.n_users} users × {ratings.n_items} items" in text
    assert f"{ratings.nnz:,} ratings" in text
    # The default model, fitted independently with the library, gives the RMSE shown.
    train, valid = ac.split(ratings, method="random", fraction=0.2, seed=0)
    model = ac.ALS(k=2, lam=1.0, iterations=15, regularization="plain", biases=True, seed=0)
    model.fit(train, validation=valid)
    expected = model.history_["validation_rmse"].iloc[-1]
    assert f"validation RMSE **{expected:.3f}**" in text
    assert "k = 2" in text and "(plain)" in text


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_loads_from_app_py(path):
    at = open_app(path)
    assert at.title[0].value == PAGES[path]
    assert "validation RMSE" in sidebar_text(at)
    assert not at.error, [e.value for e in at.error]


def test_the_error_boundary_shows_a_friendly_message_and_logs_the_traceback(caplog):
    script = """
import app

class Broken:
    title = "Broken"

    def run(self):
        raise RuntimeError("internal detail 4711")

app.run_page(Broken())
"""
    at = AppTest.from_string(script, default_timeout=60)
    with caplog.at_level(logging.ERROR, logger="als_explorer"):
        at.run()
    assert not at.exception  # nothing raw reaches the user
    shown = " ".join(e.value for e in at.error) + " ".join(i.value for i in at.info)
    assert "Something went wrong" in shown and "What to do" in shown
    assert "4711" not in shown and "Traceback" not in shown
    assert any("4711" in (r.exc_text or "") for r in caplog.records)


def test_the_error_boundary_passes_on_the_librarys_own_message():
    script = """
import als_core as ac
import app

class BadData:
    title = "Bad"

    def run(self):
        raise ac.RatingsError("2 rating(s) are not finite numbers (first at row 7)")

app.run_page(BadData())
"""
    at = AppTest.from_string(script, default_timeout=60)
    at.run()
    assert not at.exception
    assert "first at row 7" in at.error[0].value


def test_two_sessions_never_see_each_others_upload_or_model():
    alice, bob = open_app("pages/data.py"), open_app("pages/data.py")
    alice.file_uploader(key="data_w_upload").set_value(
        ("alice.csv", b"user,item,rating\na,x,1\na,y,2\nb,x,3\nb,y,4\nc,x,5\n", "text/csv")
    )
    alice.run()
    assert alice.session_state["data_dataset"].source == "upload:alice.csv"
    alice.switch_page("pages/train.py")
    alice.run()
    alice.slider(key="train_w_k").set_value(1).run()
    assert alice.session_state["train_settings"]["k"] == 1

    bob.run()
    bob.switch_page("pages/train.py")
    bob.run()
    assert bob.session_state["data_dataset"].source == "sample:movie_night"
    assert bob.session_state["train_settings"]["k"] == 2
    assert bob.slider(key="train_w_k").value == 2
    bob_fits = bob.session_state["train_fits"]
    assert all(key[0] == bob.session_state["data_fingerprint"] for key in bob_fits)
    assert not any(run["dataset"].startswith("Upload") for run in bob.session_state["train_runs"])


def test_streamlit_config_matches_the_reader_and_keeps_statistics_off():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    config = tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == ac.MAX_UPLOAD_MB
    assert config["browser"]["gatherUsageStats"] is False
    assert {"primaryColor", "base"} <= set(config["theme"])
