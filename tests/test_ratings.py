"""Ratings: the observed ratings as a canonical float64 CSR matrix with the original labels."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from helpers import triples

import als_core as ac

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "who": ["carol", "alice", "carol", "bob", "alice"],
            "what": [30, 10, 10, 20, 20],
            "stars": [4.5, 0.0, 3.0, 5.0, 1.5],
            "when": [5, 1, 2, 4, 3],
        }
    )


def _assert_canonical_csr(m) -> None:
    assert isinstance(m, sp.csr_matrix)
    assert m.dtype == np.float64
    assert m.has_sorted_indices
    for u in range(m.shape[0]):  # strictly increasing columns per row: sorted, no duplicates
        cols = m.indices[m.indptr[u] : m.indptr[u + 1]]
        assert np.all(np.diff(cols) > 0)


def test_from_frame_keeps_labels_values_and_zero_ratings(frame):
    r = ac.Ratings.from_frame(frame, user="who", item="what", rating="stars")
    # labels as given, numbered in order of first appearance
    assert r.user_ids.tolist() == ["carol", "alice", "bob"]
    assert r.item_ids.tolist() == [30, 10, 20]
    assert np.issubdtype(r.item_ids.dtype, np.integer)
    assert r.shape == (3, 3) and r.nnz == 5
    _assert_canonical_csr(r.matrix)
    # every row of the frame is one stored entry, found through the labels
    for who, what, stars in frame[["who", "what", "stars"]].itertuples(index=False):
        u = r.user_ids.tolist().index(who)
        i = r.item_ids.tolist().index(what)
        row = r.matrix.indices[r.matrix.indptr[u] : r.matrix.indptr[u + 1]]
        assert i in row
        assert r.matrix[u, i] == stars
    # the rating of 0 is a stored observation, not a missing cell
    assert 0.0 in r.matrix.data
    assert r.user_counts().tolist() == [2, 2, 1]
    assert r.item_counts().tolist() == [1, 2, 2]
    assert r.rating_scale == (0.0, 5.0)
    assert r.density == pytest.approx(5 / 9)


def test_from_frame_with_string_items_and_integer_users():
    df = pd.DataFrame({"user": [7, 3, 7], "item": ["b", "a", "a"], "rating": [1, 2, 3]})
    r = ac.Ratings.from_frame(df)
    assert r.user_ids.tolist() == [7, 3]
    assert r.item_ids.tolist() == ["b", "a"]
    assert r.matrix.toarray().tolist() == [[1.0, 3.0], [0.0, 2.0]]


def test_to_frame_round_trips(frame):
    r = ac.Ratings.from_frame(frame, user="who", item="what", rating="stars", timestamp="when")
    back = r.to_frame()
    assert list(back.columns) == ["user", "item", "rating", "timestamp"]
    merged = back.merge(frame, left_on=["user", "item"], right_on=["who", "what"])
    assert len(merged) == len(frame)
    assert (merged["rating"] == merged["stars"]).all()
    assert (merged["timestamp"] == merged["when"]).all()
    again = ac.Ratings.from_frame(back, timestamp="timestamp")
    assert again.fingerprint() == r.fingerprint()
    indices = r.to_frame(labels=False)
    assert indices["user"].max() == r.n_users - 1 and indices["item"].max() == r.n_items - 1


@pytest.mark.filterwarnings("ignore:Could not infer format")  # raised while rejecting "x"
def test_timestamps_follow_csr_order_and_parse_dates():
    df = pd.DataFrame(
        {
            "user": [1, 1, 2],
            "item": [9, 8, 9],
            "rating": [3, 4, 5],
            "t": ["2020-01-02 08:00", "2020-01-01 00:00", "2021-06-01 12:30"],
        }
    )
    r = ac.Ratings.from_frame(df, timestamp="t")
    # user 1 rated items 9 (index 0) then 8 (index 1): CSR order is item 0, item 1
    expected = pd.to_datetime(df["t"], utc=True)
    seconds = (expected - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy()
    np.testing.assert_array_equal(r.timestamps, seconds)
    with pytest.raises(ac.RatingsError, match="neither numbers nor dates"):
        ac.Ratings.from_frame(df.assign(t=["x", "2020-01-01", "2020-01-01"]), timestamp="t")


@pytest.mark.parametrize(("policy", "expected"), [("last", 2.0), ("first", 4.0), ("mean", 3.0)])
def test_duplicate_policies(policy, expected):
    df = pd.DataFrame({"user": ["a", "a", "b"], "item": [1, 1, 1], "rating": [4.0, 2.0, 5.0]})
    r = ac.Ratings.from_frame(df, duplicates=policy)
    assert r.nnz == 2
    assert r.matrix[0, 0] == expected
    assert r.matrix[1, 0] == 5.0
    kept = {"mean": "the mean", "first": "the first rating", "last": "the last rating"}[policy]
    assert (
        "1 (user, item) pair was rated more than once (first: user 'a', item 1 on rows 0 and 1); "
        f"kept {kept} of each"
    ) in r.notes


def test_duplicates_are_averaged_by_default_and_refused_on_request():
    df = pd.DataFrame(
        {"user": ["b", "a", "c", "a", "c", "a"], "item": [1, 1, 2, 1, 2, 1],
         "rating": [5.0, 4.0, 1.0, 2.0, 3.0, 3.0]}
    )  # fmt: skip
    assert ac.Ratings.from_frame(df).to_frame().set_index(["user", "item"])["rating"].to_dict() == {
        ("b", 1): 5.0,
        ("a", 1): 3.0,
        ("c", 2): 2.0,
    }
    with pytest.raises(ac.DuplicateRatingsError) as caught:
        ac.Ratings.from_frame(df, duplicates="error")
    note = caught.value.note
    # ("a", 1) is repeated on row 3, before ("c", 2) is repeated on row 4
    assert (note.pairs, note.rows_merged, note.user, note.item) == (2, 3, "a", 1)
    assert note.rows == (1, 3, 5) and note.values == (4.0, 2.0, 3.0) and note.lines == ()
    assert isinstance(caught.value, ac.RatingsError)
    assert "duplicates=" not in str(caught.value)
    with pytest.raises(ac.RatingsError, match="duplicates must be one of"):
        ac.Ratings.from_frame(df, duplicates="sum")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rating": [1.0, np.nan, 3.0]}, "not finite numbers .first at row 1"),
        ({"rating": [1.0, np.inf, 3.0]}, "not finite"),
        ({"rating": ["1", "x", "3"]}, "row 1: 'x'"),
        ({"user": ["a", None, "b"]}, "have no user id"),
        ({"item": [1, 2, None]}, "have no item id"),
    ],
)
def test_bad_frames_raise_ratings_errors_that_say_where(change, message):
    df = pd.DataFrame({"user": ["a", "b", "b"], "item": [1, 2, 3], "rating": [1.0, 2.0, 3.0]})
    with pytest.raises(ac.RatingsError, match=message):
        ac.Ratings.from_frame(df.assign(**change))


def test_missing_columns_are_named():
    df = pd.DataFrame({"userId": [1], "movieId": [2], "rating": [3.0]})
    with pytest.raises(ac.RatingsError, match=r"\['user', 'item'\] not found.*userId"):
        ac.Ratings.from_frame(df)
    assert ac.Ratings.from_frame(df, user="userId", item="movieId").nnz == 1


def test_constructor_rejects_non_canonical_or_dense_matrices():
    dense = np.ones((2, 2))
    with pytest.raises(ac.RatingsError, match="CSR"):
        ac.Ratings(matrix=dense, user_ids=np.arange(2), item_ids=np.arange(2))
    unsorted = sp.csr_matrix(
        (np.array([1.0, 2.0]), np.array([1, 0]), np.array([0, 2])), shape=(1, 2)
    )
    with pytest.raises(ac.RatingsError, match="canonical"):
        ac.Ratings(matrix=unsorted, user_ids=np.arange(1), item_ids=np.arange(2))
    with pytest.raises(ac.RatingsError, match="float64"):
        ac.Ratings(
            matrix=sp.csr_matrix(np.eye(2, dtype=np.float32)),
            user_ids=np.arange(2),
            item_ids=np.arange(2),
        )
    with pytest.raises(ac.RatingsError, match="expected 2 user ids"):
        ac.Ratings(matrix=sp.csr_matrix(np.eye(2)), user_ids=np.arange(3), item_ids=np.arange(2))


def test_from_matrix_keeps_stored_zeros_and_sums_duplicates():
    m = sp.coo_matrix(
        (np.array([0.0, 1.0, 2.0]), (np.array([0, 1, 1]), np.array([1, 0, 0]))), shape=(2, 2)
    )
    r = ac.Ratings.from_matrix(m)
    _assert_canonical_csr(r.matrix)
    assert triples(r) == {(0, 1, 0.0), (1, 0, 3.0)}
    assert r.user_ids.tolist() == [0, 1]


def test_from_codes_checks_its_input():
    with pytest.raises(ac.RatingsError, match="duplicate"):
        ac.Ratings.from_codes([0, 0], [1, 1], [1.0, 2.0])
    with pytest.raises(ac.RatingsError, match="outside the shape"):
        ac.Ratings.from_codes([0, 3], [0, 0], [1.0, 2.0], shape=(2, 2))
    with pytest.raises(ac.RatingsError, match="equally long"):
        ac.Ratings.from_codes([0, 1], [0], [1.0, 2.0])
    with pytest.raises(ac.RatingsError, match="NaN or infinite"):
        ac.Ratings.from_codes([0], [0], [np.nan])


def test_select_keeps_the_index_space_and_the_chosen_entries():
    rng = np.random.default_rng(0)
    rows, cols = np.nonzero(rng.random((8, 6)) < 0.5)
    r = ac.Ratings.from_codes(rows, cols, rng.uniform(1, 5, len(rows)), timestamps=rows * 10.0)
    keep = rng.random(r.nnz) < 0.5
    part = r.select(keep)
    assert part.shape == r.shape
    assert part.user_ids is r.user_ids and part.item_ids is r.item_ids
    _assert_canonical_csr(part.matrix)
    u, i, v = r.coo()
    kept = zip(u[keep].tolist(), i[keep].tolist(), v[keep].tolist(), strict=True)
    assert triples(part) == set(kept)
    np.testing.assert_array_equal(part.timestamps, r.timestamps[keep])
    with pytest.raises(ac.RatingsError, match=rf"mask of shape \({r.nnz},\)"):
        r.select(keep[:-1])


def test_item_info_is_aligned_to_the_index():
    df = pd.DataFrame({"user": [1, 1, 2], "item": ["m2", "m1", "m3"], "rating": [3, 4, 5]})
    info = pd.DataFrame({"title": ["One", "Two"]}, index=["m1", "m2"])
    r = ac.Ratings.from_frame(df, item_info=info)
    assert r.item_info["title"].tolist()[:2] == ["Two", "One"]
    assert pd.isna(r.item_info["title"].iloc[2])  # m3 has no metadata


def test_fingerprint_changes_with_the_data_and_not_with_how_it_was_built(frame):
    def fingerprint(df: pd.DataFrame) -> str:
        return ac.Ratings.from_frame(df, user="who", item="what", rating="stars").fingerprint()

    reference = fingerprint(frame)
    assert fingerprint(frame.copy()) == reference
    assert fingerprint(frame.assign(stars=frame["stars"].where(frame.index != 0, 4.0))) != (
        reference
    )
    assert fingerprint(frame.assign(who=frame["who"].str.upper())) != reference


def test_fingerprint_is_stable_across_processes(frame):
    # A cache key must not depend on Python's per-process string hash seed.
    code = (
        "import pandas as pd, als_core as ac\n"
        f"df = pd.DataFrame({frame.to_dict(orient='list')!r})\n"
        "print(ac.Ratings.from_frame(df, user='who', item='what', rating='stars').fingerprint())"
    )
    here = ac.Ratings.from_frame(frame, user="who", item="what", rating="stars").fingerprint()
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)},
    )
    assert out.stdout.strip() == here


def test_repr_is_informative(frame):
    r = ac.Ratings.from_frame(frame, user="who", item="what", rating="stars")
    assert repr(r) == "Ratings(3 users x 3 items, 5 ratings, density 55.56%)"
