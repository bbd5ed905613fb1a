"""One update by hand: the step-by-step A and B, solved, are the library's half-step; the page
shows them and its controls work.

Tolerance: the reference loop and the library's batched solve differ only by float64 rounding
in a well-conditioned k×k (or (k+1)×(k+1)) system, so they agree to 1e-10.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import als_core as ac
from als_core import embed
from dashboard import fit_states, replay_frames, update_by_hand
from dashboard.settings import DEFAULT_SETTINGS, fit_model
from tests.app_support import open_app

BEN = str(embed.user_labels(ac.load_sample("tiny"))[1])  # the tiny sample's second user
TOL = 1e-10


@pytest.fixture(scope="module")
def tiny() -> ac.Ratings:
    return ac.load_sample("tiny")


def replay_fit(ratings: ac.Ratings, **settings) -> fit_states.ReplayFit:
    s = {**DEFAULT_SETTINGS, "split": "none", "iterations": 4, **settings}
    return fit_states.fit_with_snapshots(ratings, s)


def independent_system(model, train, before, side, row):
    """A, B and the ridge from scratch: dense numpy over this row's observed ratings."""
    R = train.matrix.toarray() if side == "users" else train.matrix.T.toarray()
    observed = train.matrix.tocsr() if side == "users" else train.matrix.T.tocsr()
    cols = observed.indices[observed.indptr[row] : observed.indptr[row + 1]]
    other = "items" if side == "users" else "users"
    F = np.asarray(before.factors(other), dtype=np.float64)[cols]
    r = R[row, cols]
    if model.biases:
        F = np.hstack([F, np.ones((len(cols), 1))])
        r = r - model.global_mean_ - before.bias(other)[cols]
    ridge = model.lam * (len(cols) if model.regularization == "weighted" else 1)
    return F.T @ F, F.T @ r, ridge, F, r


@pytest.mark.parametrize("biases", [False, True])
@pytest.mark.parametrize("regularization", ["plain", "weighted"])
@pytest.mark.parametrize("side", ["users", "items"])
def test_steps_accumulate_A_and_B_and_solve_to_the_library_half_step(
    tiny, biases, regularization, side
):
    replay = replay_fit(tiny, biases=biases, regularization=regularization, lam=0.7)
    model, train = replay.fit.model, replay.fit.train
    for iteration in update_by_hand.update_moments(replay.states, side)[:2]:
        before, after = update_by_hand.update_states(replay.states, side, iteration)
        for row in range(train.shape[0] if side == "users" else train.shape[1]):
            problem = update_by_hand.update_problem(model, train, before, side=side, row=row)
            A, B, ridge, F, r = independent_system(model, train, before, side, row)
            # Every intermediate step is the sum over the ratings seen so far.
            for s in range(problem.n + 1):
                A_s, B_s = problem.running(s)
                np.testing.assert_allclose(A_s, F[:s].T @ F[:s], atol=TOL)
                np.testing.assert_allclose(B_s, F[:s].T @ r[:s], atol=TOL)
            assert problem.ridge == pytest.approx(ridge)
            solved = np.linalg.solve(problem.A + problem.ridge * np.eye(len(B)), problem.B)
            library = update_by_hand.library_half_step_row(model, train, before, side=side, row=row)
            np.testing.assert_allclose(solved, library, atol=TOL)
            np.testing.assert_allclose(problem.solution, library, atol=TOL)
            stored = after.factors(side)[row]
            if biases:
                stored = np.append(stored, after.bias(side)[row])
            np.testing.assert_allclose(problem.solution, stored, atol=TOL)
            check = update_by_hand.update_check(model, train, problem, before, after)
            assert check.library < TOL and check.stored < TOL
            # Step by step, the system shown is A + ridge·I and its solve (0 before any rating).
            system, B_s, x_s = problem.at_step(problem.n)
            np.testing.assert_allclose(system, A + ridge * np.eye(len(B)), atol=TOL)
            np.testing.assert_allclose(x_s, library, atol=TOL)
            assert not problem.at_step(0)[2].any()


def test_the_replay_fit_is_the_session_model(tiny):
    """Same data, settings and seed: the replay ends on the factors the other pages show."""
    s = {**DEFAULT_SETTINGS, "iterations": 5}
    replay = fit_states.fit_with_snapshots(tiny, s)
    plain = fit_model(tiny, s)
    np.testing.assert_allclose(replay.fit.model.user_factors_, plain.model.user_factors_)
    np.testing.assert_allclose(replay.states[-1].item_factors, plain.model.item_factors_)
    assert len(replay.states) == 2 * 5 + 1
    assert replay.states[0].side == "start"


def held_and_trained(ratings: ac.Ratings, side: str, row: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of one row of R (users) or of Rᵀ (items), in column order."""
    matrix = (ratings.matrix if side == "users" else ratings.matrix.T).tocsr()
    matrix.sort_indices()
    start, stop = matrix.indptr[row], matrix.indptr[row + 1]
    return matrix.indices[start:stop], matrix.data[start:stop]


@pytest.mark.parametrize("biases", [False, True])
@pytest.mark.parametrize("side", ["users", "items"])
def test_predictions_before_and_after_an_update_are_the_models_own(biases, side):
    ratings = ac.load_sample("movie_night")
    replay = fit_states.fit_with_snapshots(ratings, {**DEFAULT_SETTINGS, "biases": biases})
    fit, model = replay.fit, replay.fit.model
    before, after = update_by_hand.update_states(replay.states, side, 2)
    row = 7
    problem = update_by_hand.update_problem(model, fit.train, before, side=side, row=row)
    shown = update_by_hand.update_predictions(
        problem, before, fit.validation, global_mean=float(model.global_mean_)
    )
    trained_cols, trained = held_and_trained(fit.train, side, row)
    held_cols, held = held_and_trained(fit.validation, side, row)
    assert len(held_cols) and len(trained_cols) == problem.n
    np.testing.assert_array_equal(shown.cols, np.concatenate([trained_cols, held_cols]))
    np.testing.assert_array_equal(shown.actual, np.concatenate([trained, held]))
    assert list(shown.held_out) == [False] * len(trained_cols) + [True] * len(held_cols)
    # The library's own predictions with the factors before and after this half-step.
    users, items = (row, shown.cols) if side == "users" else (shown.cols, row)
    expected_before = replay_frames.model_at(model, before).predict(users, items, clip=False)
    expected_after = replay_frames.model_at(model, after).predict(users, items, clip=False)
    np.testing.assert_allclose(shown.before, expected_before, atol=TOL)
    np.testing.assert_allclose(shown.after, expected_after, atol=TOL)
    n = problem.n
    assert shown.rmse_after == pytest.approx(np.sqrt(np.mean((expected_after[:n] - trained) ** 2)))
    assert shown.rmse_before == pytest.approx(
        np.sqrt(np.mean((expected_before[:n] - trained) ** 2))
    )
    assert shown.rmse_after < shown.rmse_before  # the exact solve fits its own ratings better


def test_a_row_without_ratings_has_no_rmse_and_no_held_out_predictions_without_validation(tiny):
    replay = replay_fit(tiny)
    before = replay.states[0]
    problem = update_by_hand.update_problem(replay.fit.model, tiny, before, side="users", row=1)
    empty = replace(problem, cols=problem.cols[:0], ratings=problem.ratings[:0])
    shown = update_by_hand.update_predictions(empty, before, None, global_mean=0.0)
    assert len(shown.cols) == 0 and np.isnan(shown.rmse_before) and np.isnan(shown.rmse_after)


def test_easy_row_is_the_first_with_the_fewest_ratings_from_five_up():
    assert update_by_hand.easy_row(np.array([9, 3, 6, 5, 5])) == 3
    assert update_by_hand.easy_row(np.array([2, 4, 4, 1])) == 1  # nobody has 5: the most active
    assert update_by_hand.easy_row(np.array([0, 0])) == 0


def open_update(**params: str) -> AppTest:
    scene = {"page": "update", "data": "sample:tiny", "split": "none", "it": "4", **params}
    return open_app(params=scene)


def test_page_shows_the_update_of_the_chosen_user_and_checks_it():
    at = open_update(who=BEN, iter="2")
    assert at.title[0].value == "One update by hand"
    assert at.selectbox(key="update_user").value == BEN
    step = at.slider(key="update_step")
    n = step.max
    assert step.value == n  # opens on the full update
    success = at.success[0].value
    assert "largest difference" in success
    differences = [float(t.split(")")[0]) for t in success.split("largest difference ")[1:]]
    assert len(differences) == 2 and max(differences) < 1e-9
    # The solve is written out with its numbers (k = 2 plus the bias: 3 unknowns).
    assert any(r"x_{\text{new}}" in latex.value for latex in at.latex)


def test_step_controls_walk_the_ratings_one_at_a_time():
    at = open_update(who=BEN, iter="2", step="0")
    assert at.slider(key="update_step").value == 0
    assert not any("**Step" in m.value for m in at.markdown)
    at.button(key="update_next").click().run()
    assert at.slider(key="update_step").value == 1
    assert any(m.value.startswith("**Step 1:**") for m in at.markdown)
    at.button(key="update_next").click().run()
    at.button(key="update_back").click().run()
    assert at.slider(key="update_step").value == 1
    assert at.query_params["step"] == "1"


def test_item_side_and_the_next_update():
    at = open_update(side="items", who="Redline Run", iter="next")
    assert at.selectbox(key="update_item").value == "Redline Run"
    assert at.select_slider(key="update_iteration").value == "next"
    # "One more" update has no stored snapshot: only the library check is shown.
    assert at.success[0].value.count("largest difference") == 1
    metric_labels = [m.label for m in at.metric]
    assert "Ridge on the diagonal" in metric_labels


# ----------------------------------------------------------------------------- the row objective
def loop_row_objective(model, train, before, side, row, unknowns):
    """Σ (r − prediction)² + ridge·‖unknowns‖² over the row's ratings, by a plain loop."""
    R = (train.matrix if side == "users" else train.matrix.T).tocsr()
    other = "items" if side == "users" else "users"
    F = np.asarray(before.factors(other))
    k = F.shape[1]
    total = 0.0
    n = R.indptr[row + 1] - R.indptr[row]
    for pos in range(R.indptr[row], R.indptr[row + 1]):
        j, r = R.indices[pos], R.data[pos]
        guess = unknowns[:k] @ F[j]
        if model.biases:
            guess += model.global_mean_ + unknowns[k] + before.bias(other)[j]
        total += (r - guess) ** 2
    ridge = model.lam * (n + model.damping) if model.regularization == "weighted" else model.lam
    return total + ridge * float(unknowns @ unknowns)


@pytest.mark.parametrize("biases", [True, False])
@pytest.mark.parametrize("side", ["users", "items"])
def test_the_row_objective_falls_on_every_update_of_every_row(biases, side):
    """Every user's (item's) update in iterations 1–4: the row objective the page shows, held
    to a plain loop, never rises; the row's RMSE does rise for some (finding 2)."""
    ratings = ac.load_sample("movie_night")
    replay = fit_states.fit_with_snapshots(
        ratings, {**DEFAULT_SETTINGS, "biases": biases, "iterations": 4}
    )
    model, train = replay.fit.model, replay.fit.train
    n_rows = train.n_users if side == "users" else train.n_items
    rmse_rises = 0
    for iteration in update_by_hand.update_moments(replay.states, side):
        before, _ = update_by_hand.update_states(replay.states, side, iteration)
        for row in range(n_rows):
            problem = update_by_hand.update_problem(model, train, before, side=side, row=row)
            change = update_by_hand.update_row_objective(model, train, problem, before)
            was = loop_row_objective(model, train, before, side, row, problem.before)
            now = loop_row_objective(model, train, before, side, row, problem.solution)
            assert change.before == pytest.approx(was, rel=1e-9, abs=1e-12)
            assert change.after == pytest.approx(now, rel=1e-9, abs=1e-12)
            assert change.after <= change.before + 1e-9 * (1 + change.before)
            shown = update_by_hand.update_predictions(
                problem, before, replay.fit.validation, global_mean=float(model.global_mean_)
            )
            rmse_rises += int(problem.n > 0 and shown.rmse_after > shown.rmse_before + 1e-12)
    assert rmse_rises > 0


def test_the_page_shows_the_row_objective_falling_where_the_rmse_rises():
    """The issue's case: user 93 at iteration 3 of the default model, RMSE 0.165 → 0.260."""
    at = open_app(params={"page": "update", "who": "user 93", "iter": "3"})
    shown = {m.label: m for m in at.metric}
    assert shown["RMSE before"].value == "0.165"
    assert shown["RMSE after"].value == "0.260"
    ratings = ac.load_sample("movie_night")
    replay = fit_states.fit_with_snapshots(ratings, dict(DEFAULT_SETTINGS))
    model, train = replay.fit.model, replay.fit.train
    before, _ = update_by_hand.update_states(replay.states, "users", 3)
    row = int(np.flatnonzero(embed.user_labels(ratings) == "user 93")[0])
    problem = update_by_hand.update_problem(model, train, before, side="users", row=row)
    was = loop_row_objective(model, train, before, "users", row, problem.before)
    now = loop_row_objective(model, train, before, "users", row, problem.solution)
    assert now < was
    assert shown["f before"].value == f"{was:.4g}"
    assert shown["f after"].value == f"{now:.4g}"
    said = "\n".join(m.value for m in at.markdown)
    assert "the RMSE rose all the same" in said and "RMSE alone need not fall" in said
    assert any(r"f_u = \sum_{i \in \text{rated}(u)}" in t.value for t in at.latex)


def test_each_step_writes_out_its_target():
    at = open_update(who=BEN, iter="2", step="1")
    step = next(m.value for m in at.markdown if m.value.startswith("**Step 1:**"))
    tiny = ac.load_sample("tiny")
    replay = replay_fit(tiny)
    model = replay.fit.model
    before, _ = update_by_hand.update_states(replay.states, "users", 2)
    problem = update_by_hand.update_problem(model, replay.fit.train, before, side="users", row=1)
    r = problem.ratings[0]
    offset = model.global_mean_ + before.item_bias[problem.cols[0]]  # μ + b_i, independently
    assert f"rated {r:g} → target = {r:g} − μ − b_i = {r:g} − {offset:.3f} = {r - offset:.3f}" in (
        step
    )
