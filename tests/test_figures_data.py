"""The Data page's figure functions: data in, Figure out, checked against direct computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import als_core as ac
from dashboard.figures import MOST_LOG_TICKS, log_ticks, payload_bytes
from dashboard.figures import data as figs


def random_ratings(n_users: int, n_items: int, nnz: int, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    cells = rng.choice(n_users * n_items, size=nnz, replace=False)
    values = rng.integers(1, 11, size=nnz) / 2.0  # half stars 0.5..5
    m = sp.csr_matrix((values, (cells // n_items, cells % n_items)), shape=(n_users, n_items))
    m.sort_indices()
    return m


def test_histogram_has_one_bar_per_rating_value_with_exact_counts():
    values = np.array([1, 1, 2.5, 5, 5, 5, 0.0])  # 0.0 is a real rating, not "missing"
    fig = figs.rating_histogram(values)
    bar = fig.data[0]
    assert list(bar.x) == [0.0, 1.0, 2.5, 5.0]
    assert list(bar.y) == [1, 2, 1, 3]


def test_histogram_bins_continuous_values_and_keeps_every_rating():
    values = np.random.default_rng(1).normal(size=5000)
    fig = figs.rating_histogram(values, bins=25)
    assert len(fig.data[0].x) == 25
    assert int(np.sum(fig.data[0].y)) == 5000


def test_activity_curves_are_sorted_counts_and_downsampled_on_large_data():
    counts = np.random.default_rng(2).zipf(1.8, size=20_000).clip(max=10_000)
    fig = figs.activity_figure(counts, np.array([3, 9, 1]))
    users, items = fig.data
    assert len(users.x) <= figs.ACTIVITY_POINTS
    ordered = np.sort(counts)[::-1]
    assert users.y[0] == ordered[0] and users.y[-1] == ordered[-1]  # head and tail kept
    assert np.all(np.diff(users.y) <= 0)
    assert np.array_equal(ordered[np.asarray(users.x) - 1], users.y)  # x is the 1-based rank
    assert list(items.y) == [9, 3, 1] and list(items.x) == [1, 2, 3]
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


def test_activity_leaves_out_users_without_ratings_as_log_axes_cannot_show_zero():
    fig = figs.activity_figure(np.array([0, 4, 0, 2]), np.array([1, 1]))
    assert list(fig.data[0].y) == [4, 2]


def test_block_density_matches_a_dense_computation():
    m = random_ratings(23, 17, 120, seed=3)
    density, row_step, col_step = figs.block_density(m.tocoo(), blocks=5)
    observed = (m.toarray() != 0).astype(float)  # values are ≥ 0.5, so != 0 means observed
    assert (row_step, col_step) == (5, 4)
    for bi in range(density.shape[0]):
        for bj in range(density.shape[1]):
            block = observed[bi * 5 : (bi + 1) * 5, bj * 4 : (bj + 1) * 4]
            assert density[bi, bj] == pytest.approx(block.mean(), abs=1e-12)


def test_small_pattern_shows_each_rating_and_leaves_missing_cells_blank():
    m = random_ratings(30, 12, 80, seed=4)
    fig = figs.sparsity_figure(m)
    z = np.array(fig.data[0].z, dtype=float)
    dense = m.toarray()
    observed = dense != 0
    assert np.array_equal(np.isnan(z), ~observed)  # missing is NaN (a gap), never 0
    assert np.array_equal(z[observed], dense[observed])


def test_activity_order_puts_the_busiest_user_and_item_first():
    m = random_ratings(40, 25, 300, seed=5)
    fig = figs.sparsity_figure(m, order="activity")
    z = np.array(fig.data[0].z, dtype=float)
    observed = ~np.isnan(z)
    row_counts = observed.sum(axis=1)
    col_counts = observed.sum(axis=0)
    assert row_counts[0] == np.diff(m.indptr).max()
    assert np.all(np.diff(row_counts) <= 0) and np.all(np.diff(col_counts) <= 0)


def test_large_data_is_aggregated_into_a_bounded_grid_and_a_small_payload():
    n_users, n_items, nnz = 6040, 3706, 1_000_000  # the MovieLens 1M shape
    rng = np.random.default_rng(6)
    rows = rng.integers(0, n_users, size=nnz)
    cols = rng.integers(0, n_items, size=nnz)
    ratings = ac.Ratings.from_frame(
        pd.DataFrame({"user": rows, "item": cols, "rating": rng.integers(1, 6, size=nnz)}),
        duplicates="last",
    )
    pattern = figs.sparsity_figure(ratings.matrix, order="activity")
    z = np.asarray(pattern.data[0].z)
    assert z.shape[0] <= figs.PATTERN_BLOCKS and z.shape[1] <= figs.PATTERN_BLOCKS
    # Uniform sampling: every block's share is close to the overall density.
    assert np.nanmean(z) == pytest.approx(ratings.density, rel=0.05)
    total = (
        payload_bytes(pattern)
        + payload_bytes(figs.rating_histogram(ratings.matrix.data))
        + payload_bytes(figs.activity_figure(ratings.user_counts(), ratings.item_counts()))
    )
    assert total < 2_000_000, f"the Data page's figures would send {total:,} bytes"


def test_log_ticks_follow_the_1_2_5_series_inside_the_range():
    assert log_ticks(3, 480) == [5, 10, 20, 50, 100, 200, 500]  # 500 is within 5% of 480
    assert log_ticks(1, 100) == [1, 2, 5, 10, 20, 50, 100]
    assert log_ticks(0, 10) == []


def test_log_ticks_thin_out_over_many_decades_so_labels_stay_level():
    # MovieLens latest-small: 9,724 items ranked on the activity chart's x axis.
    assert log_ticks(1, 9724) == [1, 10, 100, 1000, 10000]
    assert log_ticks(1, 2000) == [1, 3, 10, 30, 100, 300, 1000]
    for low, high in ((1, 9724), (0.2, 5), (1e-3, 2.5), (1, 1e6), (3, 480)):
        ticks = log_ticks(low, high)
        assert 2 <= len(ticks) <= MOST_LOG_TICKS
        assert all(low / 1.05 <= t <= high * 1.05 for t in ticks)


def test_the_activity_chart_of_a_big_catalogue_keeps_few_level_labels():
    users = np.arange(610, 0, -1)  # 610 users, 9,724 items: MovieLens latest-small's shape
    items = np.maximum(1, 330 // np.arange(1, 9725))
    fig = figs.activity_figure(users, items)
    assert list(fig.layout.xaxis.tickvals) == [1, 10, 100, 1000, 10000]
    assert len(fig.layout.yaxis.tickvals) <= MOST_LOG_TICKS
