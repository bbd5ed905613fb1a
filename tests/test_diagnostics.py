"""The lecturer's numbers (``als_core.diagnostics``), each held to an independent computation:
plain loops over the ratings, dense numpy, finite differences.

Tolerances: sums of a few thousand float64 squares agree to 1e-9 relative; eigenvalues of
well-scaled (k+1)×(k+1) matrices to 1e-9 absolute; a one-sided finite difference with step 1e-6
to 1e-4 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import als_core as ac
from als_core.diagnostics import baseline_scores


@pytest.fixture(scope="module")
def movie_night() -> ac.Ratings:
    return ac.load_sample("movie_night")


def loop_row_objectives(R, own, fixed, lam, regularization, own_bias, fixed_bias, mu, damping):
    """Row by row, rating by rating: Σ (r − μ − b_own − b_other − w·f)² and λ_row (‖w‖² + b²)."""
    R = sp.csr_matrix(R)
    data, penalty = [], []
    for u in range(R.shape[0]):
        total, n = 0.0, 0
        for pos in range(R.indptr[u], R.indptr[u + 1]):
            i, r = R.indices[pos], R.data[pos]
            guess = own[u] @ fixed[i] + mu
            if own_bias is not None:
                guess += own_bias[u] + fixed_bias[i]
            total += (r - guess) ** 2
            n += 1
        ridge = lam * (n + damping) if regularization == "weighted" else lam
        square = own[u] @ own[u] + (own_bias[u] ** 2 if own_bias is not None else 0.0)
        data.append(total)
        penalty.append(ridge * square)
    return np.array(data), np.array(penalty)


SETTINGS = [
    {"biases": False, "regularization": "plain", "damping": 0.0},
    {"biases": True, "regularization": "plain", "damping": 0.0},
    {"biases": False, "regularization": "weighted", "damping": 0.0},
    {"biases": True, "regularization": "weighted", "damping": 3.0},
]


def model_for(ratings, **settings) -> ac.ALS:
    return ac.ALS(k=3, lam=0.8, iterations=6, snapshots=True, seed=1, **settings).fit(ratings)


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(map(str, s.values())))
def test_row_objectives_match_a_plain_loop_and_add_up_to_the_objective(movie_night, settings):
    m = model_for(movie_night, **settings)
    R = movie_night.matrix
    mu, lam, reg, damping = m.global_mean_, m.lam, m.regularization, m.damping
    users = ac.row_objectives(
        R, m.user_factors_, m.item_factors_, lam, reg,
        own_bias=m.user_bias_, fixed_bias=m.item_bias_, global_mean=mu, damping=damping,
    )  # fmt: skip
    items = ac.row_objectives(
        R.T, m.item_factors_, m.user_factors_, lam, reg,
        own_bias=m.item_bias_, fixed_bias=m.user_bias_, global_mean=mu, damping=damping,
    )  # fmt: skip
    data, penalty = loop_row_objectives(
        R, m.user_factors_, m.item_factors_, lam, reg, m.user_bias_, m.item_bias_, mu, damping
    )
    np.testing.assert_allclose(users.data, data, rtol=1e-9)
    np.testing.assert_allclose(users.penalty, penalty, rtol=1e-9)
    terms = ac.objective(
        R, m.user_factors_, m.item_factors_, lam, reg,
        user_bias=m.user_bias_, item_bias=m.item_bias_, global_mean=mu, damping=damping,
    )  # fmt: skip
    # The users' row objectives hold every rating once; the items' penalties complete it.
    assert users.total.sum() + items.penalty.sum() == pytest.approx(terms.total, rel=1e-9)
    assert items.data.sum() == pytest.approx(terms.data, rel=1e-9)
    np.testing.assert_allclose(users.rmse**2 * users.counts, users.data, rtol=1e-9)


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(map(str, s.values())))
def test_every_rows_objective_falls_in_every_half_step(movie_night, settings):
    """All users' and all items' updates over six iterations: f_row after ≤ f_row before."""
    m = model_for(movie_night, **settings)
    start = ac.ALS(**{**m.get_params(), "iterations": 0, "snapshots": False}).fit(movie_night)
    states = [(start.user_factors_, start.item_factors_, start.user_bias_, start.item_bias_)]
    states += [(s.user_factors, s.item_factors, s.user_bias, s.item_bias) for s in m.snapshots_]
    R = movie_night.matrix
    kw = {"global_mean": m.global_mean_, "damping": m.damping}
    rises_in_rmse = 0
    for step, (before, after) in enumerate(zip(states, states[1:], strict=False)):
        side = "users" if step % 2 == 0 else "items"
        j = 0 if side == "users" else 1
        matrix = R if side == "users" else R.T
        fixed, fixed_bias = after[1 - j], after[3 - j]
        was = ac.row_objectives(
            matrix, before[j], fixed, m.lam, m.regularization,
            own_bias=before[2 + j], fixed_bias=fixed_bias, **kw,
        )  # fmt: skip
        now = ac.row_objectives(
            matrix, after[j], fixed, m.lam, m.regularization,
            own_bias=after[2 + j], fixed_bias=fixed_bias, **kw,
        )  # fmt: skip
        assert np.all(now.total <= was.total + 1e-9 * (1 + was.total)), (step, side)
        rises_in_rmse += int(np.sum(now.rmse > was.rmse + 1e-12))
    # Not a tautology: on these data many rows' RMSE does rise while their objective falls.
    assert rises_in_rmse > 0


def test_row_objectives_refuse_mismatched_shapes(movie_night):
    R = movie_night.matrix
    with pytest.raises(ValueError, match=r"expected own of shape \(300, k\)"):
        ac.row_objectives(R, np.zeros((3, 2)), np.zeros((R.shape[1], 2)), 1.0)
    with pytest.raises(ValueError, match="same k"):
        ac.row_objectives(R, np.zeros((R.shape[0], 2)), np.zeros((R.shape[1], 3)), 1.0)


@pytest.mark.parametrize("biases", [False, True])
def test_gram_spectrum_is_each_rows_smallest_eigenvalue(movie_night, biases):
    m = ac.ALS(k=4, lam=1.0, iterations=3, biases=biases).fit(movie_night)
    R = movie_night.matrix
    spectrum = ac.gram_spectrum(R, m.item_factors_, biases=biases)
    F = m.item_factors_
    if biases:
        F = np.hstack([F, np.ones((len(F), 1))])
    for u in range(R.shape[0]):
        cols = R.indices[R.indptr[u] : R.indptr[u + 1]]
        expected = np.linalg.eigvalsh(F[cols].T @ F[cols])[0]
        assert spectrum.smallest[u] == pytest.approx(expected, abs=1e-9)
    assert spectrum.width == 4 + biases
    # A handful of rows, in the order asked.
    some = ac.gram_spectrum(R, m.item_factors_, biases=biases, rows=np.array([5, 2]))
    np.testing.assert_allclose(some.smallest, spectrum.smallest[[5, 2]])


def test_a_row_with_fewer_ratings_than_unknowns_is_singular_and_the_ridge_lifts_it():
    R = sp.csr_matrix(([4.0, 3.0, 5.0], ([0, 0, 1], [0, 1, 2])), shape=(2, 3))
    Y = np.array([[1.0, 0.5, 0.2], [0.3, 1.0, 0.1], [0.2, 0.4, 1.0]])
    spectrum = ac.gram_spectrum(R, Y)
    assert spectrum.counts.tolist() == [2, 1]
    assert np.all(np.abs(spectrum.smallest) < 1e-12)  # rank ≤ 2 < 3 unknowns
    assert spectrum.singular().all()
    # Σ y yᵀ + λI: every eigenvalue moves up by exactly λ.
    cols = [0, 1]
    lifted = np.linalg.eigvalsh(Y[cols].T @ Y[cols] + 0.5 * np.eye(3))[0]
    assert lifted == pytest.approx(spectrum.smallest[0] + 0.5, abs=1e-12)


def finite_difference_norms(R, X, Y, lam, regularization, bu, bi, mu, damping, h=1e-6):
    """‖∇‖ per side by one-sided differences of ``ac.objective``."""

    def f(X_, Y_, bu_, bi_):
        return ac.objective(
            R, X_, Y_, lam, regularization,
            user_bias=bu_, item_bias=bi_, global_mean=mu, damping=damping,
        ).total  # fmt: skip

    base = f(X, Y, bu, bi)
    norms = []
    for side in (0, 1):
        params = [
            X.copy(),
            Y.copy(),
            None if bu is None else bu.copy(),
            None if bi is None else bi.copy(),
        ]
        squares = 0.0
        for target in (params[side], params[2 + side]):
            if target is None:
                continue
            for index in np.ndindex(target.shape):
                old = target[index]
                target[index] = old + h
                squares += ((f(*params) - base) / h) ** 2
                target[index] = old
        norms.append(np.sqrt(squares))
    return norms


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(map(str, s.values())))
def test_gradient_norms_match_finite_differences_and_vanish_after_a_half_step(settings):
    ratings = ac.load_sample("tiny")
    m = ac.ALS(k=2, lam=0.5, iterations=2, seed=3, **settings).fit(ratings)
    R = ratings.matrix
    rng = np.random.default_rng(0)
    X = m.user_factors_ + 0.1 * rng.standard_normal(m.user_factors_.shape)
    Y = m.item_factors_
    bu, bi = m.user_bias_, m.item_bias_
    args = (m.lam, m.regularization)
    kw = {"user_bias": bu, "item_bias": bi, "global_mean": m.global_mean_, "damping": m.damping}
    norms = ac.objective_gradient(R, X, Y, *args, **kw)
    expected = finite_difference_norms(R, X, Y, *args, bu, bi, m.global_mean_, m.damping)
    assert norms.users == pytest.approx(expected[0], rel=1e-4)
    assert norms.items == pytest.approx(expected[1], rel=1e-4)
    # The model's last half-step solved the items exactly: their gradient is zero.
    final = ac.objective_gradient(R, m.user_factors_, m.item_factors_, *args, **kw)
    assert final.items < 1e-9 * (1 + final.users)
    assert final.users > 1e-6


def test_reparametrize_keeps_every_product_and_changes_the_penalty_unless_orthogonal(movie_night):
    m = ac.ALS(k=3, lam=1.0, iterations=5).fit(movie_night)
    X, Y = m.user_factors_, m.item_factors_
    angle = 0.7
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    scaling = np.diag([2.0, 0.5, 1.0])
    for Q, same_penalty in ((rotation, True), (scaling, False)):
        X2, Y2 = ac.reparametrize(X, Y, Q)
        np.testing.assert_allclose(X2 @ Y2.T, X @ Y.T, atol=1e-12)
        before = ac.objective(movie_night, X, Y, 1.0)
        after = ac.objective(movie_night, X2, Y2, 1.0)
        assert after.data == pytest.approx(before.data, rel=1e-10)
        assert (after.regularization == pytest.approx(before.regularization, rel=1e-10)) is (
            same_penalty
        )
    with pytest.raises(ValueError, match="invertible"):
        ac.reparametrize(X, Y, np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"Q \(k, k\)"):
        ac.reparametrize(X, Y, np.eye(2))


def test_half_step_flops_counts_grams_right_hand_sides_and_solves():
    # 10 ratings of 4 rows with w = 3: 10·(9 + 6) + 4·(9 + 18) = 150 + 108.
    assert ac.half_step_flops(10, 4, 3) == pytest.approx(258.0)
    assert ac.half_step_flops(0, 0, 5) == 0.0
    with pytest.raises(ValueError, match="nnz must be a whole number"):
        ac.half_step_flops(-1, 2, 3)


def test_baseline_scores_are_the_models_own_parts(movie_night):
    m = ac.ALS(k=2, lam=1.0, iterations=3, biases=True).fit(movie_night)
    users, items = np.array([0, 5, 9]), np.array([3, 3, 7])
    parts = [m.score_parts(u, i) for u, i in zip(users, items, strict=True)]
    expected = [p["global_mean"] + p["user_bias"] + p["item_bias"] for p in parts]
    np.testing.assert_allclose(baseline_scores(m, users, items), expected, rtol=1e-12)
    plain = ac.ALS(k=2, lam=1.0, iterations=3).fit(movie_night)
    assert not baseline_scores(plain, users, items).any()
