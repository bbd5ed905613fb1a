"""The Train page in AppTest: each setting reaches the fit, caching, runs, bring-back, Stop."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import als_core as ac
from dashboard import data_sources, fitting, formulas, jobs
from dashboard.settings import DEFAULT_SETTINGS, effective_settings, settings_key
from tests.app_support import chart, figure_array, metrics, open_app, rerun, sidebar_text

PAGE = "pages/train.py"
MOVIE_NIGHT = ac.load_sample("movie_night")


def independent_fit(**changes) -> ac.ALS:
    """The default settings fitted directly with the library (not through the dashboard)."""
    s = {**DEFAULT_SETTINGS, **changes}
    if s["split"] == "none":
        train, valid = MOVIE_NIGHT, None
    else:
        train, valid = ac.split(
            MOVIE_NIGHT, method="random", fraction=s["fraction"], seed=s["seed"]
        )
    model = ac.ALS(
        k=s["k"],
        lam=s["lam"],
        iterations=s["iterations"],
        regularization=s["regularization"],
        biases=s["biases"],
        tol=s["tol"] if s["stopping"] == "tolerance" else None,
        patience=s["patience"] if s["stopping"] == "patience" else None,
        seed=s["seed"],
    )
    return model.fit(train, validation=valid)


def shown_rmse(at: AppTest) -> tuple[str, str]:
    m = metrics(at)
    return m["Train RMSE"], m["Validation RMSE"]


def expected_rmse(model: ac.ALS) -> tuple[str, str]:
    last = model.history_.iloc[-1]
    valid = last["validation_rmse"]
    return f"{last['train_rmse']:.3f}", (f"{valid:.3f}" if valid == valid else "–")


def test_the_default_model_is_shown_with_its_curves(at):
    model = independent_fit()
    assert shown_rmse(at) == expected_rmse(model)
    objective = chart(at, "train_objective_chart")
    total = next(t for t in objective.data if t.name.startswith("objective"))
    assert np.allclose(figure_array(total.y), model.history_["objective"])
    rmse = chart(at, "train_rmse_chart")
    assert {t.name for t in rmse.data} >= {"train RMSE", "validation RMSE"}


@pytest.mark.parametrize(
    ("widget", "key", "value", "changes"),
    [
        ("slider", "train_w_k", 4, {"k": 4}),
        ("select_slider", "train_w_lam", 10.0, {"lam": 10.0}),
        ("radio", "train_w_regularization", "weighted", {"regularization": "weighted"}),
        ("toggle", "train_w_biases", False, {"biases": False}),
        ("slider", "train_w_iterations", 5, {"iterations": 5}),
        ("number_input", "train_w_seed", 7, {"seed": 7}),
        ("slider", "train_w_fraction", 0.3, {"fraction": 0.3}),
    ],
)
def test_each_setting_reaches_the_fit(at, widget, key, value, changes):
    getattr(at, widget)(key=key).set_value(value).run()
    assert not at.exception, at.exception
    assert shown_rmse(at) == expected_rmse(independent_fit(**changes))


def test_weighted_regularisation_says_what_lambda_means(at):
    assert "Plain (as in the article)" in " ".join(c.value for c in at.caption)
    at.radio(key="train_w_regularization").set_value("weighted").run()
    assert "ALS-WR" in " ".join(c.value for c in at.caption)


def test_the_weighted_caption_names_the_damping_of_the_model_trained(at):
    at.radio(key="train_w_regularization").set_value("weighted").run()
    at.number_input(key="train_w_damping").set_value(5.0).run()
    assert not at.exception, at.exception
    (model,) = [
        f.model
        for f in at.session_state["train_fits"].values()
        if (f.model.regularization, f.model.damping) == ("weighted", 5.0)
    ]  # the fit this run made: its settings are what the caption must say
    shown = " ".join(c.value for c in at.caption)
    assert formulas.lambda_caption(formulas.Form.of_model(model)) in shown
    assert "ALS-WR, damped" in shown and "n₀ = 5, λ·(n + n₀)·‖x‖²" in shown
    at.number_input(key="train_w_damping").set_value(0.0).run()
    shown = " ".join(c.value for c in at.caption)
    assert "ALS-WR, as in Spark" in shown and "n₀ =" not in shown


def test_no_validation_split_drops_the_validation_curve(at):
    at.selectbox(key="train_w_split").set_value("none").run()
    assert metrics(at)["Validation RMSE"] == "–"
    assert [t.name for t in chart(at, "train_rmse_chart").data] == ["train RMSE"]
    assert shown_rmse(at) == expected_rmse(independent_fit(split="none"))


def test_a_tolerance_stops_early_as_the_library_does(at):
    at.radio(key="train_w_stopping").set_value("tolerance").run()
    at.select_slider(key="train_w_tol").set_value(1e-2).run()
    model = independent_fit(stopping="tolerance", tol=1e-2)
    assert model.n_iter_ < 15
    assert metrics(at)["Iterations run"] == f"{model.n_iter_}/15"


def test_patience_keeps_the_best_iteration(at):
    at.slider(key="train_w_k").set_value(8)
    at.select_slider(key="train_w_lam").set_value(0.05)
    at.radio(key="train_w_stopping").set_value("patience")
    at.run()
    at.slider(key="train_w_patience").set_value(2).run()
    model = independent_fit(k=8, lam=0.05, stopping="patience", patience=2)
    assert metrics(at)["Best iteration"] == str(model.best_iteration_)
    assert metrics(at)["Validation RMSE"] == f"{model.best_validation_rmse_:.3f}"


def test_a_rerun_with_nothing_changed_does_not_retrain(at):
    fit = at.session_state["train_fits"][at.session_state["train_current_key"]]
    runs = len(at.session_state["train_runs"])
    at.run()
    assert len(at.session_state["train_runs"]) == runs
    assert at.session_state["train_fits"][at.session_state["train_current_key"]] is fit


def test_an_earlier_run_can_be_brought_back(at):
    first = shown_rmse(at)
    at.slider(key="train_w_k").set_value(5).run()
    assert shown_rmse(at) != first
    table = at.dataframe[0].value
    assert len(table) == 2 and set(table["k"]) == {2, 5}
    at.selectbox(key="train_restore_choice").set_value(1)
    at.button(key="train_restore").click().run()
    assert at.slider(key="train_w_k").value == 2
    assert shown_rmse(at) == first
    assert len(at.session_state["train_runs"]) == 2  # brought back, not retrained


def stop_key(at: AppTest, **changes) -> tuple:
    """The key the Stop button records for the default settings with ``changes``."""
    settings = effective_settings({**DEFAULT_SETTINGS, **changes}, MOVIE_NIGHT)
    return (at.session_state["data_fingerprint"], settings_key(settings))


def stopped_job(key: tuple, *, after_half_steps: int) -> jobs.Job:
    """A Train fit job for ``key`` that a Stop reached after ``after_half_steps`` half-steps:
    what the "Stop training" button leaves behind (it sets the job's stop event)."""
    work = fitting.fit_work(MOVIE_NIGHT, dict(key[1]), fingerprint=key[0])

    def stopped_midway(progress, should_stop):
        def report(done, total, message):
            progress(done, total, message)
            if done == after_half_steps:
                job.stop()

        return work(report, should_stop)

    job = jobs.Job(fitting.FIT_JOB, key, stopped_midway, slots=threading.BoundedSemaphore(1))
    job.start().wait(timeout=60)
    return job


def test_after_stop_the_model_as_far_as_it_got_is_shown_until_asked_to_train(at):
    key = stop_key(at, k=3)
    job = stopped_job(key, after_half_steps=4)  # iteration 2, items solved
    assert job.outcome.stopped
    partial = job.outcome.value
    at.session_state[jobs.JOBS_KEY] = {fitting.FIT_JOB: job}
    at.session_state["train_stopped_key"] = key
    at.slider(key="train_w_k").set_value(3).run()
    assert "after iteration 2" in at.warning[0].value
    assert metrics(at)["Iterations run"] == "2/15"
    ends = partial.model.history_.groupby("iteration")["validation_rmse"].last()
    assert metrics(at)["Best iteration"] == str(int(ends.idxmin()))
    assert "stopped by request" in " ".join(c.value for c in at.caption)
    at.button(key="train_resume").click().run()
    assert not at.warning
    assert shown_rmse(at) == expected_rmse(independent_fit(k=3))
    assert metrics(at)["Iterations run"] == "15/15"


def test_a_stop_before_the_first_half_step_keeps_the_previous_model(at):
    before = shown_rmse(at)
    at.session_state["train_stopped_key"] = stop_key(at, k=3)
    at.slider(key="train_w_k").set_value(3).run()
    assert "previous model" in at.warning[0].value
    assert shown_rmse(at) == before
    at.button(key="train_resume").click().run()
    assert shown_rmse(at) == expected_rmse(independent_fit(k=3))


def test_a_stop_never_shows_a_model_of_other_data(at):
    # The only model so far is movie night's; the data change and the new fit is "stopped".
    tiny = ac.load_sample("tiny")
    at.session_state["data_dataset"] = data_sources.Dataset("Tiny", tiny, "sample:tiny")
    at.session_state["data_fingerprint"] = tiny.fingerprint()
    settings = effective_settings(DEFAULT_SETTINGS, tiny)
    at.session_state["train_stopped_key"] = (tiny.fingerprint(), settings_key(settings))
    at.run()
    assert not at.warning
    assert at.session_state["train_current_key"][0] == tiny.fingerprint()


def overflowing_dataset() -> data_sources.Dataset:
    """Ratings of 1e160, past every check of the reader and of Ratings (the values are changed
    after the checks): they stand for any data on which the library's fit fails. With biases
    the mean absorbs them and the fit works; without, the factors overflow to NaN."""
    ratings = ac.load_sample("tiny")
    ratings = ac.Ratings(
        matrix=ratings.matrix.copy(), user_ids=ratings.user_ids, item_ids=ratings.item_ids
    )
    ratings.matrix.data[:] = 1e160
    return data_sources.Dataset(name="Overflowing", ratings=ratings, source="upload:huge.csv")


def open_on_overflowing_data(biases: bool) -> AppTest:
    dataset = overflowing_dataset()
    return open_app(
        PAGE,
        state={
            "data_dataset": dataset,
            "data_fingerprint": dataset.ratings.fingerprint(),
            "train_settings": {**DEFAULT_SETTINGS, "split": "none", "biases": biases},
        },
    )


def test_a_fit_that_goes_non_finite_keeps_the_previous_model_and_says_what_to_do():
    at = open_on_overflowing_data(biases=True)
    assert not at.error
    before = metrics(at)["Train RMSE"]
    at.toggle(key="train_w_biases").set_value(False)
    rerun(at)
    (error,) = [e.value for e in at.error]
    assert error.startswith("Training went numerically unstable")
    assert "larger λ" in error  # what to do
    assert not any("Something went wrong" in e for e in [error, *(i.value for i in at.info)])
    # The previous model stands: its numbers, on the page and in the sidebar.
    assert metrics(at)["Train RMSE"] == before
    assert "biases on" in sidebar_text(at)
    assert any("previous model" in info.value for info in at.info)
    rerun(at)  # not retrained on every rerun (the second fit used to break the sidebar)
    assert len(at.error) == 1 and metrics(at)["Train RMSE"] == before
    at.button(key="train_retry").click()  # the same settings, trained again: the same answer
    rerun(at)
    assert len(at.error) == 1 and metrics(at)["Train RMSE"] == before
    at.toggle(key="train_w_biases").set_value(True)
    rerun(at)
    assert not at.error and metrics(at)["Train RMSE"] == before


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (ac.NonFiniteFactorsError("nan"), "numerically unstable"),
        (ValueError("fraction must be in [0, 1), got 2.0"), "failed: fraction must be in [0, 1)"),
        (ac.RatingsError("every user needs 2 ratings."), "failed: every user needs 2 ratings."),
        (MemoryError(), "ran out of memory"),
        (KeyError("x"), "failed unexpectedly (the details were written to the server log)"),
    ],
)
def test_every_kind_of_failed_fit_is_said_in_words(error, says):
    message = fitting.failure_message(error)
    assert says in message
    assert "Traceback" not in message and "KeyError" not in message


def test_a_first_fit_that_fails_says_why_instead_of_the_page_error():
    at = open_on_overflowing_data(biases=False)
    errors = [e.value for e in at.error]
    assert errors and all("Something went wrong" not in e for e in errors)
    assert "Training went numerically unstable" in errors[0]
    assert "choose other data on the Data page" in errors[0]
    sidebar = [w.value for w in at.sidebar.warning]
    assert any(w.startswith("No model: Training went numerically unstable") for w in sidebar)
    assert at.slider(key="train_w_k")  # the settings are there to change
