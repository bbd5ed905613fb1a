"""The Train page's "Find good settings" in AppTest: ac.tune runs as a job on the training part of
the page's split (never its validation ratings), its table is shown, and one click puts the best
settings into the widgets and retrains; Stop keeps the search as far as it got."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from dashboard import settings, tuning
from dashboard.settings import DEFAULT_SETTINGS
from tests.app_support import metrics, rerun, sidebar_text

PAGE = "pages/train.py"
MOVIE_NIGHT = ac.load_sample("movie_night")
START = "train_tune_start"


@pytest.fixture(scope="module")
def expected() -> ac.TuneResult:
    """The same search done with the library alone: on the default split's training part."""
    train, _ = ac.split(
        MOVIE_NIGHT,
        method="random",
        fraction=DEFAULT_SETTINGS["fraction"],
        seed=DEFAULT_SETTINGS["seed"],
    )
    return ac.tune(train, seed=DEFAULT_SETTINGS["seed"], budget_seconds=600, max_k=settings.MAX_K)


def without_seconds(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns="seconds").reset_index(drop=True)


def test_the_search_runs_on_the_training_ratings_and_shows_its_table(at, expected):
    assert not expected.truncated  # the whole plan fits the budget here, so it is reproducible
    at.selectbox(key="train_w_tune_budget").set_value(120)
    at.button(key=START).click()
    rerun(at, errors_ok=False)
    tables = [d.value for d in at.dataframe if "validation RMSE" in d.value.columns]
    (shown,) = [t for t in tables if "stage" in t.columns]
    assert len(shown) == len(expected.table)
    np.testing.assert_allclose(
        shown["validation RMSE"].to_numpy(), expected.table["validation_rmse"].to_numpy()
    )
    assert shown["k"].tolist() == expected.table["k"].tolist()
    best = shown.loc[shown["chosen"] == "◀ best"]
    assert len(best) == 1 and best["validation RMSE"].iloc[0] == expected.validation_rmse
    assert any(expected.summary().split(":")[0] in m.value.replace("\\", "") for m in at.markdown)


def test_use_these_settings_sets_the_widgets_and_retrains(at, expected):
    at.selectbox(key="train_w_tune_budget").set_value(120)
    at.button(key=START).click()
    rerun(at)
    at.button(key="train_tune_apply").click()
    rerun(at, errors_ok=False)
    p = expected.params
    assert at.slider(key="train_w_k").value == p["k"]
    assert at.select_slider(key="train_w_lam").value == p["lam"]  # offered as it is
    assert at.radio(key="train_w_regularization").value == p["regularization"]
    if p["regularization"] == "weighted":
        assert at.number_input(key="train_w_damping").value == p["damping"]
    assert at.toggle(key="train_w_biases").value == p["biases"]
    assert at.slider(key="train_w_iterations").value == p["iterations"]
    assert at.radio(key="train_w_stopping").value == "fixed"
    # The model shown is a fit with exactly those settings, on the page's own split.
    used = dict(at.session_state["train_current_key"][1])
    for name in ("k", "lam", "regularization", "damping", "biases", "iterations"):
        assert used[name] == p[name], name
    damping = f", damping {p['damping']:g}" if p["damping"] else ""
    assert f"k = {p['k']} · λ = {p['lam']:g} ({p['regularization']}{damping})" in sidebar_text(at)
    train, valid = ac.split(MOVIE_NIGHT, fraction=DEFAULT_SETTINGS["fraction"], seed=0)
    model = ac.ALS(**p).fit(train, validation=valid)
    val = model.history_["validation_rmse"].iloc[-1]
    assert (
        metrics(at)["Validation RMSE"] == f"{val:.3f}"
    )  # the page's validation RMSE of these settings


def test_the_search_never_sees_the_validation_ratings(monkeypatch):
    seen = {}

    def spy(train, **kwargs):
        seen["train"], seen["kwargs"] = train, kwargs
        return real(train, **{**kwargs, "budget_seconds": 5})

    real = ac.tune
    monkeypatch.setattr(ac, "tune", spy)
    s = settings.effective_settings({"fraction": 0.3, "seed": 7}, MOVIE_NIGHT)
    work = tuning.tune_work(MOVIE_NIGHT, s, 30)
    result, stopped = work(lambda *a: None, lambda: False)
    train, valid = settings.split_ratings(MOVIE_NIGHT, s)
    assert seen["train"].fingerprint() == train.fingerprint()
    assert seen["kwargs"]["seed"] == 7 and seen["kwargs"]["max_k"] == settings.MAX_K
    searched = seen["train"].matrix.multiply(valid.matrix != 0)
    assert searched.nnz == 0  # no validation rating is in what the search fits or scores on
    assert not stopped and result.params is not None


def test_stop_ends_the_search_within_one_step_and_keeps_what_it_found():
    calls = []

    def progress(done, total, message):
        calls.append(message)

    def should_stop():
        return len(calls) >= 25  # a few fits in

    work = tuning.tune_work(MOVIE_NIGHT, dict(DEFAULT_SETTINGS), 120)
    result, stopped = work(progress, should_stop)
    assert stopped and result.stopped and result.truncated
    assert result.params is not None and len(result.table) >= 1
    assert len(calls) <= 25 + 2  # one more half-step's report and the end
    assert tuning.tuned_settings(result.params, DEFAULT_SETTINGS)["k"] == result.params["k"]


def test_tuned_settings_are_the_search_s_own_with_a_fixed_iteration_count():
    params = {
        "k": 20,
        "lam": 0.0707,
        "regularization": "weighted",
        "damping": 50.1,
        "biases": True,
        "iterations": 14,
        "seed": 0,
    }
    current = {**DEFAULT_SETTINGS, "stopping": "patience", "split": "per_user", "seed": 4}
    tuned = tuning.tuned_settings(params, current)
    assert {k: tuned[k] for k in ("k", "lam", "regularization", "damping", "biases")} == {
        k: params[k] for k in ("k", "lam", "regularization", "damping", "biases")
    }
    assert tuned["iterations"] == 14 and tuned["stopping"] == "fixed"
    assert tuned["split"] == "per_user" and tuned["seed"] == 4  # the page's split stays
    model = settings.build_model(
        settings.effective_settings(tuned, MOVIE_NIGHT), has_validation=True
    )
    assert (model.lam, model.damping, model.regularization) == (0.0707, 50.1, "weighted")
