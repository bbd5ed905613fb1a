"""The command line: fit → model directory → load_model / evaluate / recommend, its help, and
one-line errors with a non-zero exit code for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from als_core.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
PROG = "python -m als_core"


def planted_ratings(*, n_users=50, n_items=35, rank=2, density=0.45, seed=0) -> pd.DataFrame:
    """A long table of half-star ratings from known rank-2 factors plus a little noise."""
    rng = np.random.default_rng(seed)
    X = 1.2 + 0.4 * rng.standard_normal((n_users, rank))
    Y = 1.2 + 0.4 * rng.standard_normal((n_items, rank))
    mask = rng.random((n_users, n_items)) < density
    mask[np.arange(n_users), rng.integers(0, n_items, n_users)] = True
    mask[rng.integers(0, n_users, n_items), np.arange(n_items)] = True
    users, items = np.nonzero(mask)
    true = np.einsum("nk,nk->n", X[users], Y[items])
    values = np.clip(true + 0.1 * rng.standard_normal(len(users)), 0.5, 5)
    return pd.DataFrame(
        {"userId": users + 1, "movieId": items * 10 + 7, "rating": np.round(values * 2) / 2}
    ).sample(frac=1.0, random_state=seed)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "als_core", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    frame = planted_ratings()
    held = frame.sample(frac=0.1, random_state=1)
    train = frame.drop(held.index)
    train.to_csv(folder / "ratings.csv", index=False)
    held.to_csv(folder / "heldout.csv", index=False)
    return folder, train, held


def test_subprocess_round_trip(data):
    folder, train, held = data
    out = folder / "model_sub"
    fit = run_cli(
        "fit", str(folder / "ratings.csv"), "--k", "2", "--lam", "0.05", "--iterations", "6",
        "--validation", "0.2", "--biases", "--regularization", "weighted", "--out", str(out),
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    iteration_lines = [ln for ln in fit.stderr.splitlines() if ln.startswith("iteration")]
    assert len(iteration_lines) == 6
    assert "validation RMSE" in iteration_lines[-1]
    assert fit.stdout.strip() == f"model saved to {out}"

    model = ac.load_model(out)
    assert model.k == 2 and model.biases and model.regularization == "weighted"
    # The saved history's last validation RMSE is the one printed on the last line.
    printed = float(iteration_lines[-1].split("validation RMSE ")[1].split()[0])
    assert printed == pytest.approx(model.history_["validation_rmse"].iloc[-1], abs=5e-5)

    evaluated = run_cli("evaluate", str(out), str(folder / "heldout.csv"), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    # Independent computation: map ids by dictionary, predict, score.
    users = {u: i for i, u in enumerate(model.user_ids_)}
    items = {t: i for i, t in enumerate(model.item_ids_)}
    known = held[held["userId"].isin(users) & held["movieId"].isin(items)]
    pred = model.predict(
        known["userId"].map(users).to_numpy(), known["movieId"].map(items).to_numpy()
    )
    errors = known["rating"].to_numpy() - pred
    assert result["n"] == len(known)
    assert result["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-12)
    assert result["mae"] == pytest.approx(np.mean(np.abs(errors)), rel=1e-12)

    user = int(model.user_ids_[3])
    recommended = run_cli(
        "recommend", str(out), "--user", str(user), "--n", "4", "--format", "json"
    )
    assert recommended.returncode == 0, recommended.stderr
    items_out = json.loads(recommended.stdout)["items"]
    expected = model.recommend(3, n=4)
    assert [r["item_id"] for r in items_out] == expected["item_id"].tolist()
    assert [r["score"] for r in items_out] == pytest.approx(expected["score"].tolist())
    # Items the user rated in the training part (not the validation part) are left out.
    R = model.train_ratings_.matrix
    seen = set(model.item_ids_[R.indices[R.indptr[3] : R.indptr[4]]])
    assert len(seen) > 0 and not seen & {r["item_id"] for r in items_out}


def test_main_with_parquet_matches_an_in_memory_fit(data, tmp_path, capsys):
    folder, train, _ = data
    parquet = tmp_path / "ratings.parquet"
    train.rename(columns={"userId": "user_id", "movieId": "item_id"}).to_parquet(parquet)
    out = tmp_path / "model"
    code = main(
        ["fit", str(parquet), "--k", "2", "--lam", "0.1", "--iterations", "5",
         "--validation", "0.25", "--seed", "4", "--dtype", "float32", "--out", str(out)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    loaded = ac.load_model(out)

    ratings = ac.Ratings.from_frame(pd.read_parquet(parquet), user="user_id", item="item_id")
    part_train, part_valid = ac.split(ratings, method="random", fraction=0.25, seed=4)
    reference = ac.ALS(k=2, lam=0.1, iterations=5, dtype=np.float32, seed=4).fit(
        part_train, validation=part_valid
    )
    np.testing.assert_array_equal(loaded.user_ids_, reference.user_ids_)
    u, i = np.meshgrid(np.arange(ratings.n_users), np.arange(ratings.n_items), indexing="ij")
    np.testing.assert_allclose(loaded.predict(u, i), reference.predict(u, i), rtol=0, atol=1e-6)
    assert loaded.train_ratings_.nnz == part_train.nnz
    run = loaded.settings_["run"]
    assert run["validation_ratings"] == part_valid.nnz
    assert run["final_validation_rmse"] == pytest.approx(
        reference.history_["validation_rmse"].iloc[-1], rel=1e-6
    )

    capsys.readouterr()
    assert main(["recommend", str(out), "--user", str(ratings.user_ids[0]), "--n", "3"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["rank", "item_id", "score"] and len(table) == 4


def test_evaluate_reports_unknown_ids(data, tmp_path, capsys):
    folder, _, held = data
    out = tmp_path / "model"
    assert main(["fit", str(folder / "ratings.csv"), "--k", "2", "--iterations", "2",
                 "--quiet", "--out", str(out)]) == 0  # fmt: skip
    extra = pd.DataFrame({"userId": [99999, 1], "movieId": [7, 424242], "rating": [3.0, 4.0]})
    mixed = pd.concat([held, extra])
    mixed.to_csv(tmp_path / "mixed.csv", index=False)
    capsys.readouterr()
    assert main(["evaluate", str(out), str(tmp_path / "mixed.csv"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == len(held)
    assert result["unknown_users"] == 1 and result["unknown_items"] == 1
    assert result["unknown_user_examples"] == ["99999"]
    assert result["unknown_item_examples"] == ["424242"]
    assert main(["evaluate", str(out), str(tmp_path / "mixed.csv")]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("RMSE ")
    assert "left out 2 rating(s)" in captured.err


@pytest.mark.parametrize("command", [[], ["fit"], ["evaluate"], ["recommend"]])
def test_help_is_complete(command, capsys):
    assert main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    sub = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    parser = sub[command[0]] if command else build_parser()
    for action in parser._actions:
        for option in action.option_strings:
            assert option in text, option
    if not command:
        assert all(name in text for name in ("fit", "evaluate", "recommend"))


def test_help_through_python_m():
    result = run_cli("fit", "--help")
    assert result.returncode == 0
    assert "--engine {numpy,spark}" in result.stdout and "--validation FRACTION" in result.stdout


def _error_case(tmp_path, folder, model_dir):
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("a,b\n1,2\n")
    text_ratings = tmp_path / "text.csv"
    text_ratings.write_text("user,item,rating\n1,2,great\n2,1,4\n")
    cases = {
        "missing file": (["fit", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")],
                         "no ratings file"),
        "no rating column": (["fit", str(bad_csv), "--out", str(tmp_path / "o")], "rating"),
        "not a number": (["fit", str(text_ratings), "--out", str(tmp_path / "o")], "great"),
        "k too large": (["fit", str(folder / "ratings.csv"), "--k", "500", "--out",
                         str(tmp_path / "o")], "k=500"),
        "negative k": (["fit", str(folder / "ratings.csv"), "--k", "-1", "--out",
                        str(tmp_path / "o")], "--k"),
        "out exists": (["fit", str(folder / "ratings.csv"), "--out", str(folder)], "not empty"),
        "spark plain": (["fit", str(folder / "ratings.csv"), "--engine", "spark",
                         "--regularization", "plain", "--out", str(tmp_path / "o")], "weighted"),
        "master without spark": (["fit", str(folder / "ratings.csv"), "--master", "local[1]",
                                  "--out", str(tmp_path / "o")], "--engine spark"),
        "patience alone": (["fit", str(folder / "ratings.csv"), "--patience", "2", "--out",
                            str(tmp_path / "o")], "--validation"),
        "not a model": (["evaluate", str(tmp_path), str(folder / "heldout.csv")], "manifest"),
        "unknown user": (["recommend", str(model_dir), "--user", "nobody"], "nobody"),
        "no command": ([], "COMMAND"),
    }  # fmt: skip
    return cases


def test_bad_input_gives_one_clear_line_and_nonzero_exit(data, tmp_path, capsys):
    folder, _, _ = data
    model_dir = tmp_path / "model"
    assert main(["fit", str(folder / "ratings.csv"), "--k", "2", "--iterations", "1",
                 "--quiet", "--out", str(model_dir)]) == 0  # fmt: skip
    capsys.readouterr()
    for name, (argv, expected) in _error_case(tmp_path, folder, model_dir).items():
        code = main(argv)
        err = capsys.readouterr().err.strip()
        assert code != 0, name
        # Progress lines may come first; the error is exactly one line, the last.
        last = err.splitlines()[-1]
        assert [ln for ln in err.splitlines() if "error:" in ln] == [last], (name, err)
        assert last.startswith(PROG), (name, err)
        assert expected in last, (name, err)
        assert "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_bad_input_through_python_m_has_no_traceback(tmp_path):
    result = run_cli("evaluate", str(tmp_path / "no-model"), str(tmp_path / "x.csv"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
