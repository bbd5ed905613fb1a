"""The exact half-step: agrees with the article's loop, solves every row's normal equations,
and never raises the objective."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import dense_row_system, max_relative_difference, random_ratings
from hypothesis import given, settings
from hypothesis import strategies as st

import als_core as ac
from als_core.reference import reference_half_step

# (regularization, damping): the article's λ, Spark's ALS-WR, and ALS-WR with a pseudo-count.
PENALTIES = [("plain", 0.0), ("weighted", 0.0), ("weighted", 2.5)]
CASE_NAMES = ("regularization", "damping", "biases")
CASES = [(reg, damping, biases) for reg, damping in PENALTIES for biases in (False, True)]


def _problem(seed: int, *, n_users: int = 37, n_items: int = 23, k: int = 5, density=0.3):
    """Random ratings (some rows empty, some shorter than k) and random factors for both sides."""
    rng = np.random.default_rng(seed)
    r = random_ratings(rng, n_users, n_items, density)
    X = rng.standard_normal((n_users, k))
    Y = rng.standard_normal((n_items, k))
    bu = rng.standard_normal(n_users)
    bi = rng.standard_normal(n_items)
    mu = float(r.matrix.data.mean())
    return r, X, Y, bu, bi, mu


def _bias_kwargs(biases: bool, fixed_bias: np.ndarray | None, mu: float) -> dict:
    return {"biases": True, "fixed_bias": fixed_bias, "global_mean": mu} if biases else {}


def _both(R, fixed, lam, regularization, damping, biases, fixed_bias, mu, dtype=np.float64):
    """(fast, reference) solutions, each as a (factors, biases-or-None) pair."""
    kwargs = _bias_kwargs(biases, fixed_bias, mu)
    fast = ac.als_half_step(R, fixed.astype(dtype), lam, regularization, damping=damping, **kwargs)
    ref = reference_half_step(R, fixed, lam, regularization, damping=damping, **kwargs)
    if not biases:
        return (fast, None), (ref, None)
    return fast, ref


@pytest.mark.parametrize(CASE_NAMES, CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("side", ["users", "items"])
def test_fast_half_step_equals_reference_float64(seed, regularization, damping, biases, side):
    # Tolerance: 1e-9 relative to the largest entry of the reference solution.
    r, X, Y, bu, bi, mu = _problem(seed)
    R = r.matrix if side == "users" else r.matrix.T.tocsr()
    fixed, fixed_bias = (Y, bi) if side == "users" else (X, bu)
    lam = [0.05, 0.7, 3.0][seed]
    (f_fac, f_bias), (r_fac, r_bias) = _both(
        R, fixed, lam, regularization, damping, biases, fixed_bias, mu
    )
    assert f_fac.shape == r_fac.shape == (R.shape[0], fixed.shape[1])
    assert f_fac.dtype == np.float64
    assert max_relative_difference(f_fac, r_fac) < 1e-9
    if biases:
        assert f_bias.shape == (R.shape[0],)
        assert max_relative_difference(f_bias, r_bias) < 1e-9


@pytest.mark.parametrize(CASE_NAMES, CASES)
def test_fast_half_step_float32_matches_reference(regularization, damping, biases):
    # float32 factors in, float32 solutions out; 1e-4 relative to the largest reference entry.
    r, X, Y, bu, bi, mu = _problem(5, n_users=60, n_items=40, k=6)
    fixed = Y.astype(np.float32).astype(np.float64)  # the reference sees exactly the same inputs
    fixed_bias = bi.astype(np.float32).astype(np.float64)
    (f_fac, f_bias), (r_fac, r_bias) = _both(
        r.matrix, fixed, 0.5, regularization, damping, biases, fixed_bias, mu, dtype=np.float32
    )
    assert f_fac.dtype == np.float32
    assert max_relative_difference(f_fac, r_fac) < 1e-4
    if biases:
        assert max_relative_difference(f_bias, r_bias) < 1e-4


@pytest.mark.parametrize(CASE_NAMES, CASES)
@pytest.mark.parametrize("lam", [1e-3, 0.3, 10.0])
def test_every_row_solves_its_normal_equations(regularization, damping, biases, lam):
    # Residual ‖(FᵀF + λ_u I) w − Fᵀt‖ of every row, built densely, relative to ‖A‖‖w‖ + ‖b‖,
    # must be below 1e-12 (a backward-stable solve gives a few machine epsilons).
    r, X, Y, bu, bi, mu = _problem(11, n_users=50, n_items=30, k=7, density=0.4)
    R = r.matrix
    kwargs = _bias_kwargs(biases, bi, mu)
    result = ac.als_half_step(R, Y, lam, regularization, damping=damping, **kwargs)
    W = np.column_stack(result) if biases else result
    for u in range(R.shape[0]):
        A, b = dense_row_system(R, Y, u, lam, regularization, damping=damping, **kwargs)
        residual = np.linalg.norm(A @ W[u] - b)
        scale = np.linalg.norm(A, 2) * np.linalg.norm(W[u]) + np.linalg.norm(b)
        assert residual <= 1e-12 * max(scale, 1e-300), (u, residual, scale)


def test_half_step_result_is_a_minimum_not_just_a_stationary_point():
    # Independent of the normal equations: perturbing any solved row in random directions
    # never lowers that row's own objective (tolerance: exact ≥ up to 1e-12 relative).
    r, X, Y, _, _, _ = _problem(3)
    lam = 0.2
    W = ac.als_half_step(r.matrix, Y, lam)
    rng = np.random.default_rng(0)
    R = r.matrix
    for u in range(R.shape[0]):
        cols = R.indices[R.indptr[u] : R.indptr[u + 1]]
        t = R.data[R.indptr[u] : R.indptr[u + 1]]

        def row_objective(w, cols=cols, t=t):
            return float(np.sum((t - Y[cols] @ w) ** 2) + lam * w @ w)

        best = row_objective(W[u])
        for _ in range(3):
            trial = W[u] + 1e-3 * rng.standard_normal(W.shape[1])
            assert row_objective(trial) >= best * (1 - 1e-12)


@settings(max_examples=40, deadline=None)
@given(
    n_users=st.integers(1, 12),
    n_items=st.integers(1, 12),
    density=st.floats(0.05, 1.0),
    k=st.integers(1, 6),
    lam=st.sampled_from([0.0, 1e-4, 0.01, 0.3, 1.0, 25.0]),
    penalty=st.sampled_from(PENALTIES),
    biases=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_each_half_step_never_raises_the_objective(
    n_users, n_items, density, k, lam, penalty, biases, seed
):
    # Objective recomputed directly by ac.objective before and after a users half-step and then
    # an items half-step; allowed rise: 1e-9 relative (rounding only).
    regularization, damping = penalty
    rng = np.random.default_rng(seed)
    r = random_ratings(rng, n_users, n_items, density)
    X = rng.standard_normal((n_users, k))
    Y = rng.standard_normal((n_items, k))
    bu = rng.standard_normal(n_users) if biases else None
    bi = rng.standard_normal(n_items) if biases else None
    mu = float(r.matrix.data.mean()) if (biases and r.nnz) else 0.0
    settings_ = {"regularization": regularization, "damping": damping}

    def total(X, Y, bu, bi):
        terms = ac.objective(r, X, Y, lam, user_bias=bu, item_bias=bi, global_mean=mu, **settings_)
        assert terms.data >= 0 and terms.regularization >= 0
        return terms.total

    def half_step(R, fixed, fixed_bias):
        if biases:
            return ac.als_half_step(
                R, fixed, lam, **settings_, **_bias_kwargs(True, fixed_bias, mu)
            )
        return ac.als_half_step(R, fixed, lam, **settings_), None

    before = total(X, Y, bu, bi)
    X, bu = half_step(r, Y, bi)
    after_users = total(X, Y, bu, bi)
    assert after_users <= before + 1e-9 * (abs(before) + 1.0)
    Y, bi = half_step(r.matrix.T.tocsr(), X, bu)
    after_items = total(X, Y, bu, bi)
    assert after_items <= after_users + 1e-9 * (abs(after_users) + 1.0)
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(Y))


@pytest.mark.parametrize(("regularization", "damping"), PENALTIES)
def test_objective_matches_a_plain_loop(regularization, damping):
    # ac.objective against a loop over the observed entries; 1e-12 relative.
    r, X, Y, bu, bi, mu = _problem(4, k=3)
    R = r.matrix.tocoo()
    data = sum(
        (v - mu - bu[u] - bi[i] - X[u] @ Y[i]) ** 2
        for u, i, v in zip(R.row, R.col, R.data, strict=True)
    )
    n_u = np.bincount(R.row, minlength=R.shape[0])
    n_i = np.bincount(R.col, minlength=R.shape[1])
    c_u = n_u + damping if regularization == "weighted" else np.ones(len(n_u))
    c_i = n_i + damping if regularization == "weighted" else np.ones(len(n_i))
    reg = 0.4 * (
        sum(c_u[u] * (X[u] @ X[u] + bu[u] ** 2) for u in range(len(X)))
        + sum(c_i[i] * (Y[i] @ Y[i] + bi[i] ** 2) for i in range(len(Y)))
    )
    terms = ac.objective(
        r,
        X,
        Y,
        0.4,
        regularization,
        user_bias=bu,
        item_bias=bi,
        global_mean=mu,
        damping=damping,
    )
    assert terms.data == pytest.approx(data, rel=1e-12)
    assert terms.regularization == pytest.approx(reg, rel=1e-12)
    assert terms.total == pytest.approx(data + reg, rel=1e-12)
    data_only, reg_only = terms  # unpacks as (data, regularization)
    assert (data_only, reg_only) == (terms.data, terms.regularization)


def test_half_step_rejects_bad_shapes_and_settings():
    r, X, Y, _, _, _ = _problem(0)
    with pytest.raises(ValueError, match="n_cols=23"):
        ac.als_half_step(r, X, 0.1)  # X has n_users rows, not n_items
    with pytest.raises(ValueError, match="regularization"):
        ac.als_half_step(r, Y, 0.1, "ridge")
    with pytest.raises(ValueError, match="lam"):
        ac.als_half_step(r, Y, -1.0)
    with pytest.raises(ValueError, match="only applies to regularization='weighted'"):
        ac.als_half_step(r, Y, 0.1, "plain", damping=1.0)
    with pytest.raises(ValueError, match="damping"):
        ac.als_half_step(r, Y, 0.1, "weighted", damping=-1.0)
    with pytest.raises(ValueError, match="fixed_bias"):
        ac.als_half_step(r, Y, 0.1, biases=True, fixed_bias=np.zeros(3))
    with pytest.raises(TypeError, match="dense array"):
        ac.als_half_step(r.matrix.toarray(), Y, 0.1)
