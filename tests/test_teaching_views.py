"""What the teaching pages ask dashboard.teaching for in one call (the update lesson, a step's
addition to B), held to direct dense computations.

Tolerance: a k×k ridge solve and a few float64 products, computed in another order: 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest

import als_core as ac
from dashboard import teaching
from dashboard.settings import DEFAULT_SETTINGS

TOL = 1e-10


@pytest.fixture(scope="module")
def replay() -> teaching.ReplayFit:
    ratings = ac.load_sample("movie_night")
    return teaching.fit_with_snapshots(ratings, {**DEFAULT_SETTINGS, "iterations": 3})


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
    lesson = teaching.update_lesson(
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
    lesson = teaching.update_lesson(
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
