"""A dataset's numbers (dashboard.data_summary) against counting by hand (means to 1e-12: a
float64 sum of a few hundred ratings in another order)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import als_core as ac
from dashboard import data_summary

TOL = 1e-12


def with_empty_rows() -> ac.Ratings:
    """4 users × 5 items; user 2 and items 1 and 4 have no ratings."""
    rows = [0, 0, 1, 3, 3, 3]
    cols = [0, 2, 2, 0, 2, 3]
    values = [4.0, 3.0, 5.0, 1.0, 2.5, 4.5]
    return ac.Ratings.from_codes(rows, cols, values, shape=(4, 5))


def test_summary_counts_sizes_mean_and_the_empty_rows():
    r = with_empty_rows()
    s = data_summary.summary(r)
    assert (s.n_users, s.n_items, s.n_ratings) == (4, 5, 6)
    assert abs(s.density - 6 / 20) <= TOL
    assert abs(s.mean - (4 + 3 + 5 + 1 + 2.5 + 4.5) / 6) <= TOL
    assert s.notes[-1] == "1 user(s) and 2 item(s) have no ratings"
    assert s.notes[:-1] == list(r.notes)


def test_summary_of_full_rows_adds_no_note_and_an_empty_dataset_has_no_mean():
    full = ac.load_sample("tiny")
    assert data_summary.summary(full).notes == list(full.notes)
    assert data_summary.mean_rating(with_empty_rows()) is not None
    empty = ac.Ratings.from_codes([], [], [], shape=(2, 2))
    assert data_summary.mean_rating(empty) is None
    assert data_summary.summary(empty).mean is None


def test_item_info_puts_each_items_count_first():
    r = ac.load_sample("movie_night")
    info = data_summary.item_info_table(r, rows=7)
    dense = r.matrix.toarray()
    assert list(info["ratings"]) == [int((dense[:, i] != 0).sum()) for i in range(7)]
    pd.testing.assert_frame_equal(info.drop(columns="ratings"), r.item_info.head(7))
    assert data_summary.item_info_table(with_empty_rows()) is None


def test_dataset_facts_are_each_items_count_and_mean():
    r = with_empty_rows()
    facts = data_summary.dataset_facts(r)
    dense = r.matrix.toarray()
    overall = dense[dense != 0].mean()
    for i in range(r.n_items):
        rated = dense[:, i][dense[:, i] != 0]
        assert facts.item_counts[i] == len(rated)
        expected = rated.mean() if len(rated) else overall  # no ratings: the overall mean
        assert abs(facts.item_means[i] - expected) <= TOL
    assert list(facts.user_counts) == [2, 1, 0, 3]
    assert np.array_equal(facts.item_counts, [2, 0, 3, 1, 0])
