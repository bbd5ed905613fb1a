"""The numbers the Experiments page reads off its results (dashboard.experiment_work), held to
direct arithmetic (relative objectives to 1e-15 relative: one division each)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

import als_core as ac
from dashboard import experiment_work as work


def test_objectives_against_als_are_each_methods_relative_difference():
    summary = pd.DataFrame(
        {"method": ["ALS", "GD", "SGD"], "objective": [200.0, 201.0, 199.5], "steps": [1, 2, 3]}
    )
    als, others = work.objectives_against_als(summary)
    assert als == 200.0
    assert list(others.index) == ["GD", "SGD"]
    expected = [201.0 / 200.0 - 1, 199.5 / 200.0 - 1]  # +0.5 %, −0.25 %
    assert np.allclose(others["relative"], expected, rtol=1e-15, atol=0)
    assert list(others["objective"]) == [201.0, 199.5]
    assert work.objectives_against_als(summary[summary["method"] != "ALS"]) is None


def test_sweep_axes_sort_the_grid_and_start_at_the_best_cell():
    grid = pd.DataFrame({"k": [4, 2, 4, 2], "lam": [1.0, 1.0, 0.1, 0.1]})
    ks, lams, best_k, best_lam = work.sweep_axes(grid, {"k": 4.0, "lam": 0.1})
    assert (ks, lams, best_k, best_lam) == ([2, 4], [0.1, 1.0], 4, 0.1)
    assert work.sweep_axes(grid, {})[2:] == (2, 0.1)  # no best cell (stopped): the first


def test_true_rank_is_the_number_of_planted_factors():
    truth = ac.synthetic(n_users=20, n_items=10, rank=3, density=0.5, seed=0)
    assert truth.user_factors.shape == (20, 3)
    assert work.true_rank(truth) == 3
    assert work.true_rank(SimpleNamespace(user_factors=[[0.0] * 5] * 4)) == 5  # any array-like
