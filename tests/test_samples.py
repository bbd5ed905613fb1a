"""Bundled samples: files match their generator, load as documented, ALS finds the genres."""

from pathlib import Path

import numpy as np
import pytest

import als_core as ac
from als_core.samples import DATA_DIR, GENRE_TITLES, make_movie_night, make_tiny, write_samples


def test_sample_files_are_exactly_what_the_script_writes(tmp_path):
    for fresh in write_samples(tmp_path):
        committed = DATA_DIR / fresh.name
        assert committed.exists(), f"{committed} missing: run python scripts/make_samples.py"
        assert committed.read_bytes() == fresh.read_bytes(), (
            f"{committed.name} differs from its generator: run python scripts/make_samples.py"
        )


def test_samples_lists_both_names_with_descriptions():
    assert set(ac.SAMPLES) == {"movie_night", "tiny"}
    assert all(isinstance(v, str) and len(v) > 20 for v in ac.SAMPLES.values())


def test_movie_night_loads_with_titles_and_genres():
    r = ac.load_sample("movie_night")
    assert r.shape == (300, 120)
    assert r.nnz == 2880  # 8% of 36,000 cells
    assert set(np.unique(r.matrix.data * 2)) <= set(range(2, 11))  # half stars 1..5
    info = r.item_info
    assert {"title", "genre"} <= set(info.columns)
    assert info["genre"].value_counts().to_dict() == {g: 20 for g in GENRE_TITLES}
    # item_info rows follow the item index: check one film against the items file
    ratings, items = make_movie_night()
    j = 17
    row = items.loc[items["item"] == r.item_ids[j]].iloc[0]
    assert info["title"].iloc[j] == row["title"] and info["genre"].iloc[j] == row["genre"]
    # the matrix holds the file's ratings at the right labels
    first = ratings.iloc[0]
    u = int(np.flatnonzero(r.user_ids == first["user"])[0])
    i = int(np.flatnonzero(r.item_ids == first["item"])[0])
    assert r.matrix[u, i] == first["rating"]


def test_movie_night_popularity_is_skewed_and_nobody_is_empty():
    r = ac.load_sample("movie_night")
    counts = np.sort(r.item_counts())[::-1]
    assert counts[:12].sum() > 0.3 * r.nnz  # the top 10% of films get over 30% of ratings
    assert r.user_counts().min() >= 1 and r.item_counts().min() >= 1


def _same_genre_share_of_neighbours(factors: np.ndarray, genre: np.ndarray, n: int) -> float:
    unit = factors / np.linalg.norm(factors, axis=1, keepdims=True)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    neighbours = np.argsort(-sim, axis=1)[:, :n]
    return float(np.mean(genre[neighbours] == genre[:, None]))


@pytest.mark.parametrize(("k", "biases"), [(2, True), (3, False), (6, True)])
def test_als_separates_the_genres_of_movie_night(k, biases):
    r = ac.load_sample("movie_night")
    genre = r.item_info["genre"].to_numpy()
    model = ac.ALS(k=k, lam=1.0, iterations=20, biases=biases, seed=0).fit(r)
    share = _same_genre_share_of_neighbours(model.item_factors_, genre, n=5)
    # Chance is 19/119 ≈ 0.16; with the planted tastes ALS gets about 0.87-0.97.
    assert share > 0.75, f"only {share:.2f} of 5 nearest neighbours share the genre"


def test_tiny_is_the_wide_file_in_reading_order():
    r = ac.load_sample("tiny")
    wide = make_tiny()
    assert r.user_ids.tolist() == ["Ana", "Ben", "Cleo", "Dev", "Eli"]
    assert r.item_ids.tolist() == list(wide.columns[1:])
    values = wide.drop(columns="user").to_numpy()
    observed = ~np.isnan(values)
    assert r.nnz == observed.sum() == 19
    dense = r.matrix.toarray()
    np.testing.assert_array_equal(dense[observed], values[observed])
    # blanks are missing, not stored zeros
    assert np.all(r.matrix.data >= 1)


def test_load_sample_falls_back_to_the_generator_without_files(tmp_path):
    from_files = ac.load_sample("movie_night")
    generated = ac.load_sample("movie_night", data_dir=tmp_path)
    assert generated.fingerprint() == from_files.fingerprint()
    assert ac.load_sample("tiny", data_dir=tmp_path).fingerprint() == (
        ac.load_sample("tiny").fingerprint()
    )


def test_unknown_sample_name_says_which_exist():
    with pytest.raises(ac.RatingsError, match="movie_night"):
        ac.load_sample("imdb")


def test_the_script_runs_and_writes_into_a_chosen_folder(tmp_path):
    import runpy
    import sys

    script = Path(__file__).resolve().parents[1] / "scripts" / "make_samples.py"
    argv = sys.argv
    sys.argv = [str(script), "--out", str(tmp_path)]
    try:
        with pytest.raises(SystemExit) as done:
            runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv
    assert done.value.code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["movie_night_ratings.csv", "movie_night_items.csv", "tiny_wide.csv"]
    )
