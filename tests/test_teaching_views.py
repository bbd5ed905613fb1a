"""What the teaching pages ask dashboard/ for in one call (the update lesson, a step's addition
to B, a new user's placement), held to direct dense computations.

Tolerance: a k×k ridge solve and a few float64 products, computed in another order: 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest

import als_core as ac
from dashboard import fit_states, fold_in, update_by_hand
from dashboard.settings import DEFAULT_SETTINGS

TOL = 1e-10


@pytest.fixture(scope="module")
def replay() -> fit_states.ReplayFit:
    ratings = ac.load_sample("movie_night")
    return fit_states.fit_with_snapshots(ratings, {**DEFAULT_SETTINGS, "iterations": 3})


def direct_solution(model, train, before, row):
    """The user's new unknowns by dense numpy: (FᵀF + λI)⁻¹ Fᵀt over their training ratings,
    F = [y_i, 1] and t = r − μ − b_i (the default settings fit biases with a plain λ)."""
    dense = train.matrix.toarray()[row]
    cols = np.flatnonzero(dense)
    F = np.hstack([before.item_factors[cols], np.ones((len(cols), 1))])
    t = dense[cols] - model.global_mean_ - before.item_bias[cols]
    return np.linalg.solve(F.T @ F + model.lam * np.eye(F.shape[1]), F.T @ t), F, t


@pytest.mark.parametrize("iteration", [2, None])
def test_update_lesson_solves_the_row_from_the_chosen_moment(replay, iteration):
    fit = replay.fit
    model, row = fit.model, 5
    assert model.biases and model.regularization == "plain"
    lesson = update_by_hand.update_lesson(
        model, fit.train, fit.validation, replay.states, side="users", row=row, iteration=iteration
    )
    expected_before = replay.states[2 * 2 - 2] if iteration == 2 else None  # items of t − 1
    if iteration is None:
        assert lesson.before.side == "final"
        assert np.array_equal(lesson.before.user_factors, model.user_factors_)
        assert lesson.check.stored is None  # "one more": nothing stored to compare with
    else:
        assert (expected_before.iteration, expected_before.side) == (1, "items")
        assert lesson.before is expected_before
        assert lesson.check.stored <= TOL  # training stored this very update
    solution, F, t = direct_solution(model, fit.train, lesson.before, row)
    assert np.max(np.abs(lesson.problem.solution - solution)) <= TOL
    assert lesson.check.library <= TOL
    # Its training RMSE after the update, from the direct solution.
    predicted = model.global_mean_ + lesson.before.item_bias[lesson.problem.cols] + F @ solution
    residual = lesson.problem.ratings - predicted
    assert abs(lesson.predictions.rmse_after - np.sqrt(np.mean(residual**2))) <= TOL
    assert lesson.objective.after <= lesson.objective.before + TOL


def test_each_step_adds_its_target_times_its_row_to_B(replay):
    fit = replay.fit
    lesson = update_by_hand.update_lesson(
        fit.model, fit.train, None, replay.states, side="users", row=0, iteration=None
    )
    problem = lesson.problem
    _, F, t = direct_solution(fit.model, fit.train, lesson.before, 0)
    B = np.zeros(F.shape[1])
    for step in range(1, problem.n + 1):
        y, target, added, B_after = problem.addition(step)
        B = B + t[step - 1] * F[step - 1]
        assert np.max(np.abs(y - F[step - 1])) <= TOL and abs(target - t[step - 1]) <= TOL
        assert np.max(np.abs(added - t[step - 1] * F[step - 1])) <= TOL
        assert np.max(np.abs(B_after - B)) <= TOL
    with pytest.raises(ValueError, match="step must be in 1"):
        problem.addition(0)


def test_example_stars_love_the_first_items_group_and_dislike_the_rest():
    groups = np.array(["a", "b", "a", "c"], dtype=object)
    assert fold_in.example_stars(np.array([2, 1, 0, 3]), groups) == [5, 1, 5, 1]
    assert fold_in.example_stars(np.array([0, 1, 2, 3, 4]), None) == [5, 5, 1, 1, 1]


def test_place_new_user_folds_in_spread_stars_and_tabulates_by_hand(replay):
    fit = replay.fit
    model, train = fit.model, fit.train
    item_names = np.array([f"item {i}" for i in range(train.n_items)], dtype=object)
    user_names = np.array([f"user {u}" for u in range(train.n_users)], dtype=object)
    projection = ac.shared_projection(model.user_factors_, model.item_factors_)
    chosen = [(4, 5), (9, 1), (11, 3)]
    placed = fold_in.place_new_user(
        model,
        train,
        projection,
        chosen,
        scale=(0.5, 5.0),
        item_names=item_names,
        user_names=user_names,
        n_top=6,
        n_users=3,
    )
    # Stars spread linearly over the scale: 1 → 0.5, 3 → 2.75, 5 → 5.
    assert np.max(np.abs(placed.values - [5.0, 0.5, 2.75])) <= TOL
    x, b = placed.fold.factors, placed.fold.bias
    by_hand = [
        model.global_mean_ + b + model.item_bias_[i] + float(x @ model.item_factors_[i])
        for i, _ in chosen
    ]
    assert np.max(np.abs(placed.fitted["model's fit"].to_numpy() - by_hand)) <= TOL
    assert list(placed.fitted["item"]) == ["item 4", "item 9", "item 11"]
    assert list(placed.fitted["stars"]) == [5, 1, 3]
    assert not set(placed.fold.top) & {4, 9, 11} and len(placed.fold.top) == 6
    # Nearest users: highest cosine of factors, with their training ratings counted by hand.
    X = model.user_factors_
    lengths = np.linalg.norm(X, axis=1) * np.linalg.norm(x)
    safe = np.where(lengths > 0, lengths, 1.0)
    cosines = np.where(lengths > 0, X @ x / safe, 0.0)  # a user without factors: 0
    best = np.argsort(-cosines, kind="stable")[:3]
    assert list(placed.similar["user"]) == [f"user {u}" for u in best]
    assert np.max(np.abs(placed.similar["cosine similarity"].to_numpy() - cosines[best])) <= TOL
    dense = train.matrix.toarray()
    assert list(placed.similar["ratings"]) == [int((dense[u] != 0).sum()) for u in best]
    assert np.array_equal(placed.position, projection.transform(x)[0])


def test_a_cold_start_places_the_user_at_the_origin_with_nothing_fitted(replay):
    model = replay.fit.model
    projection = ac.shared_projection(model.user_factors_, model.item_factors_)
    names = np.array(["n"] * max(model.user_factors_.shape[0], model.item_factors_.shape[0]))
    cold = fold_in.place_new_user(
        model,
        replay.fit.train,
        projection,
        [],
        scale=(1.0, 5.0),
        item_names=names,
        user_names=names,
    )
    assert np.array_equal(cold.fold.factors, np.zeros(model.item_factors_.shape[1]))
    assert cold.fold.bias == 0.0 and cold.fitted.empty
    # Every score is μ + b_i: the top items are the best-liked ones.
    mu_b = model.global_mean_ + model.item_bias_
    assert np.max(np.abs(cold.fold.scores - mu_b)) <= TOL
    assert list(cold.fold.top) == list(np.argsort(-mu_b, kind="stable")[:10])
