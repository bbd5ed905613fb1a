"""The Train page's figure functions, fed with the history of real small fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from dashboard.figures import training as figs


@pytest.fixture(scope="module")
def fitted() -> ac.ALS:
    ratings = ac.load_sample("movie_night")
    train, valid = ac.split(ratings, method="random", fraction=0.2, seed=0)
    return ac.ALS(k=8, lam=0.01, iterations=12, regularization="weighted", biases=True).fit(
        train, validation=valid
    )


def trace(fig, name_start: str):
    matches = [t for t in fig.data if (t.name or "").startswith(name_start)]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


def test_half_steps_sit_at_point_five_and_whole_iterations():
    history = pd.DataFrame({"iteration": [1, 1, 2, 2], "side": ["users", "items"] * 2})
    assert list(figs.half_step_positions(history)) == [0.5, 1.0, 1.5, 2.0]


def test_objective_figure_shows_every_half_step_with_both_terms(fitted):
    h = fitted.history_
    fig = figs.objective_figure(h)
    total = trace(fig, "objective")
    assert np.allclose(total.y, h["objective"])
    assert np.allclose(trace(fig, "data term").y, h["data_term"])
    assert np.allclose(trace(fig, "regularisation term").y, h["regularization_term"])
    users, items = trace(fig, "after solving users"), trace(fig, "after solving items")
    assert len(users.x) == len(items.x) == fitted.n_iter_
    assert np.allclose(users.x, np.arange(1, fitted.n_iter_ + 1) - 0.5)
    # The figure's total is the sum of its parts (what the picture claims).
    assert np.allclose(h["data_term"] + h["regularization_term"], total.y, rtol=1e-12)
    assert fig.layout.yaxis.type == "log"


def test_rmse_figure_has_one_point_per_iteration_and_marks_the_best(fitted):
    h = fitted.history_
    fig = figs.rmse_figure(h, best_iteration=fitted.best_iteration_)
    train, valid = trace(fig, "train RMSE"), trace(fig, "validation RMSE")
    ends = h[h["side"] == "items"]
    assert list(train.x) == list(range(1, fitted.n_iter_ + 1))
    assert np.allclose(train.y, ends["train_rmse"])
    assert np.allclose(valid.y, ends["validation_rmse"])
    best = trace(fig, "best validation")
    best_iteration = int(ends["iteration"].to_numpy()[np.argmin(ends["validation_rmse"])])
    assert best.x[0] == best_iteration == fitted.best_iteration_
    assert best.y[0] == pytest.approx(ends["validation_rmse"].min())


def test_rmse_figure_without_validation_says_so():
    ratings = ac.load_sample("tiny")
    model = ac.ALS(k=2, lam=0.5, iterations=4).fit(ratings)
    fig = figs.rmse_figure(model.history_)
    assert [t.name for t in fig.data] == ["train RMSE"]
    assert "no validation" in fig.layout.title.text


def test_rmse_figure_keeps_the_last_half_step_of_an_interrupted_iteration():
    history = pd.DataFrame(
        {
            "iteration": [1, 1, 2],
            "side": ["users", "items", "users"],
            "train_rmse": [1.0, 0.8, 0.7],
            "validation_rmse": [1.2, 1.1, 1.0],
        }
    )
    fig = figs.rmse_figure(history)
    assert list(trace(fig, "train RMSE").y) == [0.8, 0.7]
    assert trace(fig, "best validation").x[0] == 2


def test_best_iteration_defaults_to_the_validation_minimum():
    validation = [1.3, 1.0, 0.9, 0.95, 1.1]  # overfitting after iteration 3
    history = pd.DataFrame(
        {
            "iteration": np.repeat(np.arange(1, 6), 2),
            "side": ["users", "items"] * 5,
            "train_rmse": np.linspace(1.2, 0.3, 10),
            "validation_rmse": np.repeat(validation, 2),
        }
    )
    fig = figs.rmse_figure(history)
    best = trace(fig, "best validation")
    assert (best.x[0], best.y[0]) == (3, 0.9)
    assert any(shape.x0 == 3 for shape in fig.layout.shapes)  # the vertical marker line
