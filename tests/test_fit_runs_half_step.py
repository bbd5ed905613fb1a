"""Training runs the very half-step the "One update by hand" page checks.

After half-step t of ``ALS.fit`` the factors (and biases) equal ``ac.als_half_step`` applied to
the factors after half-step t − 1, and half-step 0 is ``initial_factors``: the random start the
gradient methods share. Checked for both objectives, with and without biases and damping, in
float64 and float32, on both engines (the compiled kernel, and ``ALS_CORE_ENGINE=numpy``).

Tolerances: float64 1e-12 absolute (factors and biases are O(1) here); float32 1e-5 absolute
(float32's epsilon is 1.2e-7 and each entry sums at most ~25 products). Both paths run the same
code on the same numbers, so in practice they agree bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import random_ratings

import als_core as ac
from als_core import _kernel
from als_core.als import initial_factors

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}
# (regularization, damping, biases): the article's λ, ALS-WR, ALS-WR with a pseudo-count.
SETTINGS = [
    ("plain", 0.0, False),
    ("plain", 0.0, True),
    ("weighted", 0.0, False),
    ("weighted", 0.0, True),
    ("weighted", 2.5, False),
    ("weighted", 2.5, True),
]


@pytest.fixture(params=["compiled", "numpy"])
def engine(request, monkeypatch) -> str:
    if request.param == "compiled" and not _kernel.available():
        pytest.skip(f"the compiled kernel is not available here: {ac.solver_engine()}")
    # "compiled" (not "auto") makes the solver raise rather than fall back to numpy.
    monkeypatch.setenv("ALS_CORE_ENGINE", request.param)
    return request.param


def _ratings() -> ac.Ratings:
    """Random 1-5 ratings; user 3 and item 5 have none (cold rows start at and stay 0)."""
    r = random_ratings(np.random.default_rng(4), 31, 19, 0.35)
    dense = r.matrix.toarray()
    mask = r.matrix.toarray() != 0
    mask[3, :] = False
    mask[:, 5] = False
    rows, cols = np.nonzero(mask)
    return ac.Ratings.from_codes(rows, cols, dense[rows, cols], shape=dense.shape)


def _recorded_fit(model: ac.ALS, ratings: ac.Ratings) -> list[tuple]:
    """(side, X, Y, b_u, b_i) copied after every half-step of ``model.fit``."""
    steps = []

    def record(event: ac.FitEvent) -> None:
        m = event.model
        biases = (m.user_bias_, m.item_bias_)
        copied = tuple(None if b is None else b.copy() for b in biases)
        steps.append((event.side, m.user_factors_.copy(), m.item_factors_.copy(), *copied))

    model.fit(ratings, callback=record)
    return steps


def _start(model: ac.ALS, ratings: ac.Ratings) -> tuple:
    """Half-step 0: ``initial_factors`` with the rows without ratings set to 0, zero biases."""
    dtype = np.dtype(model.dtype)
    X, Y, _ = initial_factors(
        ratings.n_users, ratings.n_items, model.k, seed=model.seed, init_scale=model.init_scale
    )
    X, Y = X.astype(dtype), Y.astype(dtype)
    X[np.diff(ratings.matrix.indptr) == 0] = 0.0
    Y[np.bincount(ratings.matrix.indices, minlength=ratings.n_items) == 0] = 0.0
    if not model.biases:
        return "start", X, Y, None, None
    return "start", X, Y, np.zeros(ratings.n_users, dtype), np.zeros(ratings.n_items, dtype)


def _close(actual, expected, tol: float) -> None:
    assert actual.dtype == expected.dtype
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("regularization", "damping", "biases"), SETTINGS)
def test_every_half_step_of_fit_is_als_half_step_of_the_step_before(
    engine, dtype, regularization, damping, biases
):
    ratings = _ratings()
    model = ac.ALS(
        k=4,
        lam=0.3,
        iterations=3,
        regularization=regularization,
        damping=damping,
        biases=biases,
        dtype=dtype,
        seed=11,
        init_scale=0.5,
    )
    steps = _recorded_fit(model, ratings)
    assert [s[0] for s in steps] == ["users", "items"] * 3
    tol = TOLERANCE[dtype]
    R, Rt = ratings.matrix, ratings.matrix.T.tocsr()
    mu = float(R.data.mean()) if biases else 0.0
    assert model.global_mean_ == mu
    settings = {"biases": biases, "global_mean": mu, "damping": damping}
    previous = _start(model, ratings)
    for side, X, Y, bu, bi in steps:
        _, X0, Y0, bu0, bi0 = previous
        if side == "users":
            expected = ac.als_half_step(R, Y0, 0.3, regularization, fixed_bias=bi0, **settings)
            moved, stayed = (X, bu), (Y, bi)
            kept = (Y0, bi0)
        else:
            expected = ac.als_half_step(Rt, X0, 0.3, regularization, fixed_bias=bu0, **settings)
            moved, stayed = (Y, bi), (X, bu)
            kept = (X0, bu0)
        factors, bias = expected if biases else (expected, None)
        _close(moved[0], factors, tol)
        # The fixed side is untouched by the half-step.
        np.testing.assert_array_equal(stayed[0], kept[0])
        if biases:
            _close(moved[1], bias, tol)
            np.testing.assert_array_equal(stayed[1], kept[1])
        else:
            assert moved[1] is None and stayed[1] is None
        previous = (side, X, Y, bu, bi)
    # The fitted model ends at the last recorded step.
    np.testing.assert_array_equal(model.user_factors_, steps[-1][1])
    np.testing.assert_array_equal(model.item_factors_, steps[-1][2])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("biases", [False, True])
def test_fit_starts_from_initial_factors(dtype, biases):
    # iterations=0 leaves the start: the gradient methods' random draw, cold rows at 0.
    ratings = _ratings()
    model = ac.ALS(k=4, iterations=0, biases=biases, dtype=dtype, seed=11, init_scale=0.5)
    model.fit(ratings)
    _, X, Y, bu, bi = _start(model, ratings)
    np.testing.assert_array_equal(model.user_factors_, X)
    np.testing.assert_array_equal(model.item_factors_, Y)
    assert np.all(model.user_factors_[3] == 0) and np.all(model.item_factors_[5] == 0)
    assert np.any(model.user_factors_[0] != 0)
    if biases:
        np.testing.assert_array_equal(model.user_bias_, bu)
        np.testing.assert_array_equal(model.item_bias_, bi)
