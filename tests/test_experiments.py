"""Experiment helpers: tidy results, honest comparisons, progress, and a stop that stops."""

from __future__ import annotations

import numpy as np
import pytest

import als_core as ac
from als_core import experiments as ex


@pytest.fixture(scope="module")
def truth():
    return ac.synthetic(n_users=80, n_items=50, rank=2, density=0.3, noise=0.2, seed=3)


@pytest.fixture(scope="module")
def data(truth):
    return ac.split(truth.ratings, fraction=0.2, seed=0)


class StopAfter:
    """should_stop() that turns True on its n-th call."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls >= self.n


def test_compare_methods_is_tidy_and_shares_one_start(data):
    train, valid = data
    calls = []
    frame = ex.compare_methods(
        train,
        valid,
        k=2,
        lam=1.0,
        seconds_budget=0.5,
        als_iterations=10,
        gd_iterations=100,
        sgd_epochs=20,
        progress=lambda done, total, message: calls.append((done, total)),
    )
    assert list(frame.columns) == ex.COMPARE_COLUMNS
    assert set(frame["method"]) == {"ALS", "gradient descent", "SGD"}
    start = frame[frame["step"] == 0]
    assert len(start) == 3
    als0 = ac.ALS(k=2, lam=1.0, iterations=0).fit(train)
    expected = ac.objective(train, als0.user_factors_, als0.item_factors_, 1.0).total
    np.testing.assert_allclose(start["objective"], expected, rtol=1e-12)
    for method, group in frame.groupby("method"):
        objective = group["objective"].to_numpy()
        assert objective[-1] < 0.2 * objective[0], method
        assert np.all(np.diff(group["seconds"].to_numpy()) >= 0), method
    als = frame[frame["method"] == "ALS"]
    assert als["step"].tolist()[:3] == [0.0, 0.5, 1.0]
    assert len(als) == 21  # the start + 10 iterations of two half-steps
    gd = frame[frame["method"] == "gradient descent"]["objective"].to_numpy()
    assert np.all(np.diff(gd) <= 0)
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert frame.attrs["stopped"] is False
    assert frame.attrs["learning_rate"] > 0


def test_compare_methods_respects_the_seconds_budget(data):
    train, valid = data
    frame = ex.compare_methods(
        train, valid, k=2, seconds_budget=0.05, gd_iterations=10**6, sgd_epochs=10**6
    )
    # No wall-clock bounds here (the machine is shared): the budget, not the step count, ended
    # both runs (its own clock or the shared one), long before their million steps.
    for method in ("gradient descent", "SGD"):
        rows = frame[frame["method"] == method]
        assert frame.attrs["stop_reasons"][method] in ("seconds", "callback"), method
        assert 1 < len(rows) < 10**5, method


def test_a_stop_request_takes_effect_within_one_fit(data):
    train, valid = data
    # Checked once before the first fit, then after every step: stop during ALS's 3rd step.
    frame = ex.compare_methods(
        train, valid, k=2, als_iterations=50, should_stop=StopAfter(4), seconds_budget=5
    )
    assert set(frame["method"]) == {"ALS"}
    assert frame["step"].max() == 1.5  # three half-steps, then the fit stopped
    assert frame.attrs["stopped"] is True


def test_missing_vs_zero_shows_zeros_are_not_missing(data):
    train, valid = data
    result = ex.missing_vs_zero(train, valid, k=2, lam=1.0, iterations=20)
    table = result.table.set_index("method")
    assert list(table.index) == ["zero-filled SVD", "mean-filled SVD", "ALS (observed only)"]
    assert (
        table.loc["ALS (observed only)", "validation_rmse"]
        < 0.5 * table.loc["zero-filled SVD", "validation_rmse"]
    )
    users, items, actual = valid.coo()
    np.testing.assert_array_equal(result.actual, actual)
    for name, predicted in result.predictions.items():
        assert predicted.shape == actual.shape
        rmse = np.sqrt(np.mean((actual - predicted) ** 2))
        assert rmse == pytest.approx(table.loc[name, "validation_rmse"], rel=1e-12)
    # Held-out cells were zeros for the SVD: its raw predictions sit well below the ratings.
    assert np.median(result.raw_predictions["zero-filled SVD"]) < 0.5 * np.median(actual)


def test_sweep_grid_and_best_cell(data):
    train, valid = data
    seen = []
    result = ex.sweep(
        train,
        valid,
        ks=[1, 2, 4],
        lams=[0.01, 1.0],
        iterations=8,
        progress=lambda d, t, m: seen.append(d),
    )
    grid = result.grid
    assert grid.shape == (6, len(ex.SWEEP_COLUMNS))
    assert list(zip(grid["k"], grid["lam"], strict=True)) == [
        (1, 0.01),
        (1, 1.0),
        (2, 0.01),
        (2, 1.0),
        (4, 0.01),
        (4, 1.0),
    ]
    best = grid.loc[grid["validation_rmse"].idxmin()]
    assert result.best["k"] == best["k"] and result.best["lam"] == best["lam"]
    # Each cell's validation RMSE is that of an ALS fitted with the same settings.
    m = ac.ALS(k=2, lam=1.0, iterations=8).fit(train)
    assert grid.iloc[3]["validation_rmse"] == pytest.approx(ac.evaluate(m, valid)["rmse"])
    assert result.pivot().shape == (3, 2)
    assert seen == list(range(7))
    # More factors with little regularisation fit the training data better.
    assert grid.iloc[4]["train_rmse"] < grid.iloc[0]["train_rmse"]


def test_sweep_stops_between_and_within_fits(data):
    train, valid = data
    result = ex.sweep(train, valid, ks=[1, 2], lams=[0.1, 1.0], should_stop=StopAfter(1))
    assert result.stopped and len(result.grid) == 0 and result.best == {}
    with pytest.raises(ValueError, match="every k"):
        ex.sweep(train, valid, ks=[0, 2], lams=[0.1])


def test_subspace_angles_of_known_planes():
    # The xy-plane and a plane tilted by 30° about the x axis meet at one angle of 30°.
    a = np.array([[1.0, 0], [0, 1], [0, 0]])
    t = np.radians(30)
    b = np.array([[1.0, 0], [0, np.cos(t)], [0, np.sin(t)]])
    np.testing.assert_allclose(np.sort(ex.subspace_angles_deg(a, b)), [0.0, 30.0], atol=1e-10)


def test_recovery_finds_the_true_subspace_without_noise():
    truth = ac.synthetic(
        n_users=60, n_items=40, rank=2, density=0.5, noise=0.0, rounding=None, clip=False, seed=1
    )
    result = ex.recovery(truth, [1, 2, 4], lam=1e-4, iterations=60)
    table = result.table.set_index("k")
    assert result.true_rank == 2 and result.sigma == 0.0
    assert table.loc[2, "user_angle_max_deg"] < 0.1
    assert table.loc[2, "item_angle_max_deg"] < 0.1
    assert table.loc[4, "item_angle_max_deg"] < 0.1  # the true space lies inside the learned one
    assert table.loc[2, "validation_rmse"] < 1e-3
    assert table.loc[1, "validation_rmse"] > 10 * table.loc[2, "validation_rmse"]
    assert table.loc[2, "oracle_rmse"] == pytest.approx(0.0, abs=1e-12)


def test_recovery_on_split_reaches_the_noise_floor():
    truth = ac.synthetic(n_users=80, n_items=50, rank=2, density=0.6, noise=0.3, seed=4)
    train, valid = ac.split(truth.ratings, fraction=0.2, seed=0)
    result = ex.recovery_on_split(
        train,
        valid,
        true_user_factors=truth.user_factors,
        true_item_factors=truth.item_factors,
        ks=[1, 2],
        sigma=0.3,
        clip_to=(1.0, 5.0),
        lam=0.3,
    )
    table = result.table.set_index("k")
    # The oracle's RMSE is the truth's own error on the held-out ratings (noise plus rounding).
    users, items, actual = valid.coo()
    oracle = np.clip(truth.true_values(users, items), 1, 5)
    floor = np.sqrt(np.mean((actual - oracle) ** 2))
    assert table.loc[2, "oracle_rmse"] == pytest.approx(floor)
    assert floor < table.loc[2, "validation_rmse"] < 1.15 * floor
    assert table.loc[1, "validation_rmse"] > 1.5 * floor
    assert (table["sigma"] == 0.3).all()
    with pytest.raises(ValueError, match="true factors"):
        ex.recovery_on_split(
            train,
            valid,
            true_user_factors=truth.user_factors[:5],
            true_item_factors=truth.item_factors,
            ks=[1],
        )


def test_baselines_table(data):
    train, valid = data
    table = ex.baselines_table(train, valid, k=2, lam=1.0).set_index("method")
    assert list(table.index) == ["global mean", "bias only", "ALS (no biases)", "ALS (with biases)"]
    _, _, actual = valid.coo()
    mean_rmse = np.sqrt(np.mean((actual - train.matrix.data.mean()) ** 2))
    assert table.loc["global mean", "validation_rmse"] == pytest.approx(mean_rmse)
    assert (
        table.loc["ALS (with biases)", "validation_rmse"]
        < table.loc["global mean", "validation_rmse"]
    )
    stopped = ex.baselines_table(train, valid, should_stop=StopAfter(3))
    assert len(stopped) == 2 and stopped.attrs["stopped"] is True


def test_ranking_table_scores_every_method(data):
    train, valid = data
    table = ex.ranking_table(train, valid, n=5, k=2, iterations=5)
    assert len(table) == 5
    for column in ("precision@5", "recall@5", "ndcg@5"):
        assert table[column].between(0, 1).all()
    pop = ac.ranking_metrics(ac.baselines.Popularity().fit(train), valid, n=5)
    assert table.iloc[0]["ndcg@5"] == pytest.approx(pop["ndcg@5"])
