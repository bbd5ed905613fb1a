"""The Experiments page's figure functions, its pure helpers and its background-job machinery,
fed with real small experiment results and checked against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from als_core import experiments as ex
from dashboard import experiment_work as work
from dashboard.figures import MOST_LOG_TICKS
from dashboard.figures import experiments as figs


@pytest.fixture(scope="module")
def movie_split() -> tuple[ac.Ratings, ac.Ratings, ac.Ratings]:
    ratings = ac.load_sample("movie_night")
    train, valid = ac.split(ratings, method="random", fraction=0.2, seed=0)
    return ratings, train, valid


@pytest.fixture(scope="module")
def compare_frame(movie_split) -> pd.DataFrame:
    _, train, valid = movie_split
    return ex.compare_methods(
        train,
        valid,
        k=2,
        lam=1.0,
        biases=True,
        seconds_budget=0.3,
        als_iterations=8,
        gd_iterations=40,
        sgd_epochs=8,
    )


def traces(fig, name: str) -> list:
    return [t for t in fig.data if t.name == name]


# --------------------------------------------------------------------------------- compare
@pytest.mark.parametrize("x", ["seconds", "step"])
def test_compare_figure_draws_each_method_against_the_chosen_axis(compare_frame, x):
    fig = figs.compare_figure(compare_frame, x=x, log_x=True)
    for method, group in compare_frame.groupby("method"):
        drawn = group[group[x] > 0]  # a log axis cannot show the shared start at 0
        objective, rmse = traces(fig, method)
        assert np.allclose(objective.x, drawn[x]) and np.allclose(rmse.x, drawn[x])
        assert np.allclose(objective.y, drawn["objective"])
        assert np.allclose(rmse.y, drawn["validation_rmse"], equal_nan=True)
        assert objective.showlegend and not rmse.showlegend
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


def test_compare_figure_on_a_linear_axis_keeps_the_shared_start(compare_frame):
    fig = figs.compare_figure(compare_frame, x="seconds", log_x=False)
    starts = [t.x[0] for t in fig.data]
    assert starts == [0.0] * len(fig.data)
    assert fig.layout.xaxis.type == "linear"
    with pytest.raises(ValueError, match="'seconds' or 'step'"):
        figs.compare_figure(compare_frame, x="time")


def test_compare_summary_finds_when_each_method_reached_als(compare_frame):
    frame = pd.DataFrame(
        {
            "method": ["ALS"] * 3 + ["gradient descent"] * 4,
            "step": [0, 0.5, 1, 0, 1, 2, 3],
            "seconds": [0, 0.1, 0.2, 0, 0.5, 1.0, 1.5],
            "objective": [9, 5, 4, 9, 8, 6, 3.9],
            "validation_rmse": [2.0, 1.2, 1.0, 2.0, 1.5, 1.0009, 0.99],
        }
    )
    summary = work.compare_summary(frame, tolerance=0.001).set_index("method")
    reached = "reached ALS's RMSE after (s)"
    assert summary.loc["ALS", reached] == 0.2
    assert summary.loc["gradient descent", reached] == 1.0  # 1.0009 ≤ 1.0 · 1.001
    assert summary.loc["gradient descent", "steps"] == 3
    never = frame.assign(validation_rmse=np.where(frame["method"] == "ALS", 1.0, 1.5))
    assert np.isnan(
        work.compare_summary(never).set_index("method").loc["gradient descent", reached]
    )
    # On a real run the last row of every method is what the table reports.
    real = work.compare_summary(compare_frame).set_index("method")
    for method, group in compare_frame.groupby("method"):
        assert real.loc[method, "validation RMSE"] == group["validation_rmse"].iloc[-1]


# --------------------------------------------------------------------------------- bars & hist
def test_rmse_bars_show_both_rmses_per_method():
    table = pd.DataFrame(
        {"method": ["a", "b"], "train_rmse": [0.5, 0.25], "validation_rmse": [1.0, 0.75]}
    )
    fig = figs.rmse_bars(table, title="t")
    assert list(traces(fig, "train RMSE")[0].y) == [0.5, 0.25]
    assert list(traces(fig, "validation RMSE")[0].text) == ["1.000", "0.750"]
    assert fig.layout.yaxis.range[1] == pytest.approx(1.18)


def test_prediction_histogram_shares_bins_centred_on_half_stars(movie_split):
    _, train, valid = movie_split
    result = ex.missing_vs_zero(train, valid, k=2, lam=1.0, biases=True)
    fig = figs.prediction_histogram(
        result.actual, result.raw_predictions, scale=(1.0, 5.0), bin_width=0.5
    )
    assert len(fig.data) == 1 + len(result.raw_predictions)
    bins = {(t.xbins.start, t.xbins.end, t.xbins.size) for t in fig.data}
    assert len(bins) == 1
    start, end, size = bins.pop()
    every = np.concatenate([result.actual, *result.raw_predictions.values()])
    assert start <= every.min() and every.max() < end
    # Every half-star rating sits in the middle of its bin, never on an edge.
    offsets = (result.actual - start) / size
    assert np.allclose(offsets - np.floor(offsets), 0.5)
    assert np.allclose(fig.data[0].x, result.actual)
    assert np.allclose(
        traces(fig, "zero-filled SVD predictions")[0].x, result.raw_predictions["zero-filled SVD"]
    )
    assert {s.x0 for s in fig.layout.shapes} == {1.0, 5.0}


# --------------------------------------------------------------------------------- sweep
@pytest.fixture(scope="module")
def sweep_result(movie_split) -> ex.SweepResult:
    _, train, valid = movie_split
    return ex.sweep(train, valid, ks=[1, 2, 4], lams=[0.1, 1.0, 10.0], iterations=8, biases=True)


def test_sweep_heatmap_holds_the_grid_and_marks_the_best_cell(sweep_result):
    fig = figs.sweep_heatmap(sweep_result.grid, sweep_result.best)
    heat = fig.data[0]
    expected = sweep_result.grid.pivot(index="k", columns="lam", values="validation_rmse")
    assert list(heat.y) == ["1", "2", "4"] and list(heat.x) == ["0.1", "1", "10"]
    assert np.allclose(np.asarray(heat.z, dtype=float), expected.to_numpy())
    best_k, best_lam = int(sweep_result.best["k"]), float(sweep_result.best["lam"])
    iy, ix = [1, 2, 4].index(best_k), [0.1, 1.0, 10.0].index(best_lam)
    starred = [(r, c) for r, row in enumerate(heat.text) for c, t in enumerate(row) if "★" in t]
    assert starred == [(iy, ix)]
    assert sweep_result.grid["validation_rmse"].min() == pytest.approx(expected.iloc[iy, ix])
    (rect,) = fig.layout.shapes
    assert (rect.x0, rect.x1, rect.y0, rect.y1) == (ix - 0.5, ix + 0.5, iy - 0.5, iy + 0.5)


def test_sweep_heatmap_keeps_blank_cells_of_a_stopped_grid(sweep_result):
    partial = sweep_result.grid.iloc[:4]  # k = 1 complete, k = 2 only its first λ
    fig = figs.sweep_heatmap(partial, None)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (2, 3) and np.isnan(z[1, 1:]).all() and fig.data[0].text[1][2] == ""


@pytest.mark.parametrize(("along", "at"), [("lam", 2), ("k", 1.0)])
def test_sweep_curve_follows_one_row_and_shades_both_regimes(sweep_result, along, at):
    grid = sweep_result.grid
    fixed = "k" if along == "lam" else "lam"
    curve = grid[grid[fixed] == at].sort_values(along)
    fig = figs.sweep_curve(grid, along=along, at=at)
    assert np.allclose(traces(fig, "train RMSE")[0].y, curve["train_rmse"])
    assert np.allclose(traces(fig, "validation RMSE")[0].x, curve[along])
    best = curve.loc[curve["validation_rmse"].idxmin()]
    star = traces(fig, "best validation")[0]
    assert star.x[0] == best[along] and star.y[0] == pytest.approx(best["validation_rmse"])
    texts = {a.text: a for a in fig.layout.annotations}
    shaded = {s.x0: s for s in fig.layout.shapes}
    low, high = curve[along].min(), curve[along].max()
    b = float(best[along])
    # Too flexible: small λ, or large k.
    flexible_low = along == "lam"
    if b > low:
        assert shaded[low].x1 == b
        name = "overfitting" if flexible_low else "underfitting"
        middle = np.sqrt(low * b) if along == "lam" else (low + b) / 2
        # Annotations on a log axis are placed in log10 units.
        assert texts[name].x == pytest.approx(np.log10(middle) if along == "lam" else middle)
    if b < high:
        assert shaded[b].x1 == high
        assert ("underfitting" if flexible_low else "overfitting") in texts
    assert fig.layout.xaxis.type == ("log" if along == "lam" else None)


def test_sweep_curve_drops_lambda_zero_from_a_log_axis():
    grid = pd.DataFrame(
        {
            "k": [2, 2, 2],
            "lam": [0.0, 1.0, 10.0],
            "train_rmse": [0.1, 0.3, 0.9],
            "validation_rmse": [1.5, 0.7, 1.0],
        }
    )
    fig = figs.sweep_curve(grid, along="lam", at=2)
    assert list(traces(fig, "train RMSE")[0].x) == [1.0, 10.0]
    with pytest.raises(ValueError, match="'lam' or 'k'"):
        figs.sweep_curve(grid, along="seed", at=0)


# --------------------------------------------------------------------------------- recovery
def test_recovery_figure_draws_angles_rmse_and_the_floors():
    truth = ac.synthetic(n_users=60, n_items=40, rank=2, density=0.5, noise=0.2, seed=1)
    result = ex.recovery(truth, [1, 2, 3], starts=1, iterations=10)
    fig = figs.recovery_figure(result.table, true_rank=result.true_rank, sigma=result.sigma)
    table = result.table
    assert np.allclose(traces(fig, "users: largest angle")[0].y, table["user_angle_max_deg"])
    assert np.allclose(traces(fig, "items: mean angle")[0].y, table["item_angle_mean_deg"])
    assert np.allclose(traces(fig, "validation RMSE")[0].y, table["validation_rmse"])
    assert list(traces(fig, "noise σ = 0.2")[0].y) == [0.2, 0.2]
    oracle = traces(fig, "true factors' RMSE")[0]
    assert oracle.y[0] == pytest.approx(table["oracle_rmse"].iloc[0])
    assert [s.x0 for s in fig.layout.shapes] == [2, 2]  # the true rank on both panels
    no_sigma = figs.recovery_figure(table, true_rank=2, sigma=None)
    assert not [t for t in no_sigma.data if (t.name or "").startswith("noise")]


# --------------------------------------------------------------------------------- ranking
def test_ranking_figure_and_explanation_chart(movie_split):
    _, train, valid = movie_split
    table = ex.ranking_table(train, valid, n=5, k=3, alpha=5.0, iterations=5)
    fig = figs.ranking_figure(table, n=5)
    assert np.allclose(traces(fig, "NDCG@5")[0].y, table["ndcg@5"])
    assert list(traces(fig, "recall@5")[0].x) == list(table["method"])

    model = ac.ImplicitALS(k=3, lam=1.0, alpha=5.0, iterations=5).fit(train)
    labels = np.array([f"film {i}" for i in range(train.n_items)], dtype=object)
    item = int(model.recommend(0, n=1)["item"][0])
    frame = work.explanation(model, 0, item, labels, n=4)
    assert list(frame["label"]) == list(labels[frame["item"]])
    everything = work.explanation(model, 0, item, labels, n=train.n_items)
    assert everything["contribution"].sum() == pytest.approx(frame.attrs["score"], rel=1e-9)
    chart = figs.explanation_figure(frame, item_label="film x")
    # Largest contribution on top: plotly draws the last bar of a horizontal chart at the top.
    assert list(chart.data[0].y) == list(frame["label"])[::-1]
    assert np.allclose(chart.data[0].x, frame["contribution"].to_numpy()[::-1])


def test_implicit_history_figure_puts_half_steps_and_iterations_where_they_belong(movie_split):
    _, train, valid = movie_split
    model = ac.ImplicitALS(k=2, lam=1.0, alpha=5.0, iterations=4, eval_n=5).fit(train, valid)
    h = model.history_
    popularity = ac.ranking_metrics(ac.Popularity().fit(train), valid, n=5)
    fig = figs.implicit_history_figure(h, n=5, popularity=popularity)
    objective = traces(fig, "objective (total)")[0]
    assert list(objective.x) == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
    assert np.allclose(objective.y, h["objective"])
    ndcg = traces(fig, "NDCG@5")[0]
    ends = h[h["side"] == "items"]
    assert list(ndcg.x) == [1, 2, 3, 4] and np.allclose(ndcg.y, ends["ndcg_at_n"])
    assert traces(fig, "popularity recall@5")[0].y[0] == pytest.approx(popularity["recall@5"])
    assert fig.layout.yaxis.type == "log"


# --------------------------------------------------------------------------------- work
def test_work_builders_give_the_library_results_on_the_same_split(movie_split):
    ratings, train, valid = movie_split
    choice = work.split_choice(ratings, {"split": "random", "fraction": 0.2, "seed": 0})
    params = {"k": 2, "lam": 1.0, "regularization": "plain", "bias_lam": 5.0, "seed": 0}
    table, stopped = work.baselines_work(ratings, choice, params)(lambda *a: None, lambda: False)
    expected = ex.baselines_table(train, valid, k=2, lam=1.0, bias_lam=5.0, seed=0)
    assert not stopped
    assert np.allclose(table["validation_rmse"], expected["validation_rmse"], rtol=1e-12)

    calls = iter([False, True])  # stop before the second fit
    sweep_params = {
        "ks": (1, 2),
        "lams": (1.0,),
        "iterations": 5,
        "regularization": "plain",
        "biases": False,
        "seed": 0,
    }
    result, stopped = work.sweep_work(ratings, choice, sweep_params)(
        lambda *a: None, lambda: next(calls, True)
    )
    assert stopped and len(result.grid) == 1


def test_split_choice_falls_back_to_a_random_share_when_nothing_is_held_out(movie_split):
    ratings, train, _ = movie_split
    none = work.split_choice(ratings, {"split": "none", "seed": 3})
    assert none.settings["split"] == "random" and none.settings["fraction"] == 0.2
    assert "holds nothing out" in none.text
    same = work.split_choice(ratings, {"split": "random", "fraction": 0.2, "seed": 0})
    got_train, _ = work.split_data(ratings, same)
    assert (got_train.matrix != train.matrix).nnz == 0
    empty = work.split_choice(ratings, {"split": "random", "fraction": 0.0, "seed": 0})
    with pytest.raises(ValueError, match="holds out no ratings"):
        work.split_data(ratings, empty)


def test_log_x_axes_label_values_instead_of_plotly_minor_digits(compare_frame):
    """Plotly's own labels on these axes read "0.001s 2 5 0.01s 2 5": each label a value."""
    fig = figs.compare_figure(compare_frame, x="seconds", log_x=True)
    drawn = compare_frame["seconds"][compare_frame["seconds"] > 0]
    ticks = list(fig.layout.xaxis.tickvals)
    assert 2 <= len(ticks) <= MOST_LOG_TICKS
    assert all(drawn.min() / 1.05 <= t <= drawn.max() * 1.05 for t in ticks)
    assert list(fig.layout.xaxis2.tickvals) == ticks
    assert list(fig.layout.xaxis.ticktext) == [f"{t:g}s" for t in ticks]  # seconds say so
    assert (
        figs.compare_figure(compare_frame, x="seconds", log_x=False).layout.xaxis.tickvals is None
    )
    # The Sweeps page's λ grid from 0.01 to 30.
    lams = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
    grid = pd.DataFrame(
        {"k": 2, "lam": lams, "train_rmse": np.linspace(0.3, 1.0, 8),
         "validation_rmse": [1.2, 1.0, 0.8, 0.7, 0.66, 0.75, 1.0, 1.2]}
    )  # fmt: skip
    curve = figs.sweep_curve(grid, along="lam", at=2)
    assert list(curve.layout.xaxis.tickvals) == pytest.approx(lams)
