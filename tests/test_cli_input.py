"""The command line on input that needs a clear answer: repeated pairs, extreme ratings, a fit
that goes non-finite, numeric options out of range. Each answer is one line on stderr, exit
code 1 (the data) or 2 (the command line), and nothing written."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from als_core.cli import main

PROG = "python -m als_core"


@pytest.fixture
def ratings_csv(tmp_path):
    rng = np.random.default_rng(0)
    users, items = np.meshgrid(np.arange(1, 13), np.arange(1, 9), indexing="ij")
    frame = pd.DataFrame(
        {"user": users.ravel(), "item": items.ravel(), "rating": rng.integers(1, 6, users.size)}
    )
    path = tmp_path / "ratings.csv"
    frame.to_csv(path, index=False)
    return path


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(errors) == 1 and err.splitlines()[-1] == errors[0], err
    assert errors[0].startswith(f"{PROG}")
    return errors[0]


def with_repeats(path, tmp_path):
    """The ratings plus two pairs rated again further down (user 3 item 2 first)."""
    text = path.read_text() + "3,2,1\n5,7,2\n3,2,5\n"
    out = tmp_path / "repeats.csv"
    out.write_text(text)
    lines = text.splitlines()
    where = [i + 1 for i, ln in enumerate(lines) if ln.startswith("3,2,")]
    return out, where


def test_repeated_pairs_load_by_default_with_a_one_line_note(ratings_csv, tmp_path, capsys):
    path, where = with_repeats(ratings_csv, tmp_path)
    out = tmp_path / "model"
    assert main(["fit", str(path), "--k", "2", "--iterations", "1", "--out", str(out)]) == 0
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note:")]
    lines = f"lines {where[0]}, {where[1]} and {where[2]}"
    assert notes == [
        f"note: 2 (user, item) pairs were rated more than once (first: user 3, item 2 on "
        f"{lines}); kept the mean of each (choose with --duplicates mean|first|last|error)"
    ]
    model = ac.load_model(out)
    u, i = list(model.user_ids_).index(3), list(model.item_ids_).index(2)
    original = pd.read_csv(ratings_csv).set_index(["user", "item"])["rating"][(3, 2)]
    assert model.train_ratings_.matrix[u, i] == pytest.approx((original + 1 + 5) / 3)


def test_refused_repeats_name_the_flag(ratings_csv, tmp_path, capsys):
    path, where = with_repeats(ratings_csv, tmp_path)
    out = tmp_path / "model"
    code = main(["fit", str(path), "--duplicates", "error", "--out", str(out)])
    line = one_error_line(capsys)
    assert code == 1
    assert f"(first: user 3, item 2 on lines {where[0]}, {where[1]} and {where[2]})" in line
    assert line.endswith("choose which rating to keep with --duplicates mean, first or last")
    assert "duplicates=" not in line and not out.exists()


def test_repeats_in_parquet_get_the_same_note(ratings_csv, tmp_path, capsys):
    frame = pd.concat([pd.read_csv(ratings_csv), pd.DataFrame({"user": [3], "item": [2],
                                                               "rating": [1]})])  # fmt: skip
    path = tmp_path / "r.parquet"
    frame.to_parquet(path)
    assert (
        main(["fit", str(path), "--k", "2", "--iterations", "1", "--out", str(tmp_path / "m")]) == 0
    )
    err = capsys.readouterr().err
    assert (
        "note: 1 (user, item) pair was rated more than once (first: user 3, item 2 on rows" in err
    )


@pytest.mark.parametrize("value", ["1e308", "-1e308", "1e15"])
def test_ratings_too_large_for_the_objective_are_refused_with_the_line(
    ratings_csv, tmp_path, capsys, value
):
    text = ratings_csv.read_text().splitlines()
    text[7] = f"{text[7].rsplit(',', 1)[0]},{value}"
    path = tmp_path / "huge.csv"
    path.write_text("\n".join(text) + "\n")
    out = tmp_path / "model"
    code = main(["fit", str(path), "--out", str(out)])
    line = one_error_line(capsys)
    assert code == 1 and not out.exists()
    assert f"larger in size than {ac.MAX_ABS_RATING:g}" in line
    assert f"line 8 '{value}'" in line


def test_a_fit_that_goes_non_finite_is_one_clear_line(ratings_csv, tmp_path, capsys, monkeypatch):
    def unstable(self, *args, **kwargs):
        raise ac.NonFiniteFactorsError("the fit produced NaN or infinite factors")

    monkeypatch.setattr(ac.ALS, "fit", unstable)
    out = tmp_path / "model"
    code = main(["fit", str(ratings_csv), "--out", str(out)])
    line = one_error_line(capsys)
    assert code == 1 and not out.exists()
    assert "numerically unstable" in line and "--lam" in line
    assert "unexpected" not in line and "--debug" not in line


BAD_OPTIONS = [
    (["--iterations", "0"], "--iterations"),
    (["--iterations", "-3"], "--iterations"),
    (["--k", "0"], "--k"),
    (["--seed", "-1"], "--seed"),
    (["--lam", "-0.1"], "--lam"),
    (["--lam", "nan"], "--lam"),
    (["--lam", "inf"], "--lam"),
    (["--tol", "-1"], "--tol"),
    (["--patience", "0"], "--patience"),
    (["--validation", "1"], "--validation"),
    (["--validation", "-0.2"], "--validation"),
    (["--bias-lam", "-5"], "--bias-lam"),
    (["--spark-blocks", "0"], "--spark-blocks"),
]


@pytest.mark.parametrize(("extra", "flag"), BAD_OPTIONS, ids=[" ".join(b[0]) for b in BAD_OPTIONS])
def test_numeric_options_out_of_range_are_refused_before_anything_runs(
    ratings_csv, tmp_path, capsys, extra, flag
):
    out = tmp_path / "model"
    code = main(["fit", str(ratings_csv), *extra, "--out", str(out)])
    line = one_error_line(capsys)
    assert code == 2 and not out.exists()
    assert re.search(rf"argument {re.escape(flag)}\b", line), line


def test_recommend_refuses_n_zero(capsys, tmp_path):
    assert main(["recommend", str(tmp_path), "--user", "1", "--n", "0"]) == 2
    assert "--n" in one_error_line(capsys)


def test_unreadable_ratings_name_the_flag_that_skips_them(ratings_csv, tmp_path, capsys):
    text = ratings_csv.read_text().splitlines()
    text[4] = f"{text[4].rsplit(',', 1)[0]},great"
    path = tmp_path / "text.csv"
    path.write_text("\n".join(text) + "\n")
    assert main(["fit", str(path), "--out", str(tmp_path / "m")]) == 1
    line = one_error_line(capsys)
    assert "line 5 'great'" in line and line.endswith("(skip them with --drop-invalid)")
    assert "drop_invalid" not in line
