"""The real-data tests find MovieLens latest-small from a main checkout, from a checkout one
folder deeper (a git worktree), and through the environment variable; else they skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared_data import ENV, find_movielens_small, needs_movielens_small


def lay_out(root: Path, *folders: str) -> None:
    """Checkouts under ``root`` and ``shared/data/ml-latest-small`` with two files."""
    for folder in folders:
        (root / folder).mkdir(parents=True)
    data = root / "shared" / "data" / "ml-latest-small"
    data.mkdir(parents=True)
    (data / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,0\n")
    (data / "movies.csv").write_text("movieId,title,genres\n1,Toy Story (1995),Comedy\n")


@pytest.mark.parametrize("checkout", ["main", "wt/someone", "a/b/c/deep"])
def test_found_beside_the_checkout_or_a_folder_above_it(tmp_path, checkout):
    lay_out(tmp_path, checkout)
    expected = tmp_path / "shared" / "data" / "ml-latest-small"
    found = find_movielens_small("ratings.csv", "movies.csv", repo=tmp_path / checkout, environ={})
    assert found == expected.resolve()


def test_the_environment_variable_wins_and_is_not_second_guessed(tmp_path):
    lay_out(tmp_path, "main")
    elsewhere = tmp_path / "elsewhere"
    lay_out(elsewhere)
    repo = tmp_path / "main"
    environ = {ENV: str(elsewhere / "shared" / "data")}
    found = find_movielens_small("ratings.csv", repo=repo, environ=environ)
    assert found == elsewhere / "shared" / "data" / "ml-latest-small"
    # Set to a folder without the data: nothing is found, not the copy beside the checkout.
    assert find_movielens_small("ratings.csv", repo=repo, environ={ENV: str(tmp_path)}) is None


def test_missing_files_are_not_found(tmp_path):
    (tmp_path / "main").mkdir()
    assert find_movielens_small("ratings.csv", repo=tmp_path / "main", environ={}) is None
    lay_out(tmp_path / "other", "main")
    repo = tmp_path / "other" / "main"
    assert find_movielens_small("links.csv", repo=repo, environ={}) is None
    assert find_movielens_small("ratings.csv", repo=repo, environ={}) is not None


def test_the_skip_says_what_is_missing_and_how_to_provide_it(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path))
    mark = needs_movielens_small("ratings.csv")
    assert mark.args == (True,)
    reason = mark.kwargs["reason"]
    assert "ratings.csv" in reason and ENV in reason and "shared/data" in reason
