"""ac.tune: it looks at train only, keeps to its budget, stops on request within one half-step,
is reproducible with a seed, returns settings ALS accepts, and refuses bad arguments clearly."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from als_core.cli import main, read_ratings_file
from als_core.tune import describe_params

tune_module = importlib.import_module("als_core.tune")

# Keep the search short for tests: a small space of ranks and few iterations.
GENEROUS = 600.0


@pytest.fixture(scope="module")
def data() -> ac.Ratings:
    """A planted rank-2 set with biases: small enough for a whole search in about a second."""
    return ac.synthetic(n_users=70, n_items=45, rank=2, density=0.45, seed=3).ratings


@pytest.fixture(scope="module")
def parts(data):
    train, test = ac.split(data, fraction=0.2, seed=5)
    return train, test


@pytest.fixture(scope="module")
def full_run(parts):
    train, _ = parts
    events: list[ac.TuneEvent] = []
    result = ac.tune(train, seed=0, budget_seconds=GENEROUS, callback=events.append)
    return result, events


class FitSpy:
    """Replaces tune's ALS with a subclass that records what every fit receives."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[ac.Ratings, ac.Ratings | None, dict]] = []
        spy = self

        class RecordingALS(ac.ALS):
            def fit(self, train, validation=None, callback=None):
                spy.calls.append((train, validation, self.get_params()))
                return super().fit(train, validation=validation, callback=callback)

        monkeypatch.setattr(tune_module, "ALS", RecordingALS)


def pairs(ratings: ac.Ratings) -> set[tuple[int, int]]:
    users, items, _ = ratings.coo()
    return set(zip(users.tolist(), items.tolist(), strict=True))


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    """The table without its timing column."""
    return table.drop(columns=["seconds"])


# --------------------------------------------------------------------------------- the result
def test_params_make_an_als_that_beats_the_global_mean(parts, full_run):
    train, test = parts
    result, _ = full_run
    assert set(result.params) == {
        "k",
        "lam",
        "regularization",
        "damping",
        "biases",
        "iterations",
        "seed",
    }
    assert result.params["iterations"] >= 1
    model = ac.ALS(**result.params).fit(train)
    tuned = ac.evaluate(model, test)["rmse"]
    mean = ac.evaluate(ac.GlobalMean().fit(train), test)["rmse"]
    assert tuned < 0.8 * mean


def test_validation_rmse_matches_an_independent_refit(parts, full_run):
    """The reported RMSE is what ALS(**params) scores on tune's own held-out 20 % of train
    (same seeded split): recomputed outside tune, to 1e-9."""
    train, _ = parts
    result, _ = full_run
    fit_part, valid = ac.split(train, method="random", fraction=0.2, seed=0)
    model = ac.ALS(**result.params).fit(fit_part)
    assert result.n_fit == fit_part.nnz and result.n_validation == valid.nnz
    assert ac.evaluate(model, valid)["rmse"] == pytest.approx(result.validation_rmse, abs=1e-9)


def test_table_has_a_row_per_fit_and_marks_the_best(full_run):
    result, _ = full_run
    table = result.table
    assert list(table.columns) == tune_module.TABLE_COLUMNS
    assert table["fit"].tolist() == list(range(1, len(table) + 1))
    assert table["chosen"].sum() == 1
    chosen = table.loc[table["chosen"]].iloc[0]
    assert chosen["validation_rmse"] == table["validation_rmse"].min() == result.validation_rmse
    assert chosen["iterations"] == result.params["iterations"]
    assert (table["iterations"] <= table["iterations_run"]).all()
    assert table.attrs["truncated"] is False and not result.truncated and not result.stopped
    # The screen: the centre, plain with the same mean ridge, pure ALS-WR, no biases.
    screen = table[table["stage"] == "screen"]
    assert screen[["regularization", "biases", "lam", "damping"]].values.tolist() == [
        ["weighted", True, 0.1, 25.0],
        ["plain", True, screen["lam"].iloc[1], 0.0],
        ["weighted", True, 0.1, 0.0],
        ["weighted", False, 0.1, 25.0],
    ]
    # Every setting is tried once.
    settings = table[["k", "lam", "regularization", "damping", "biases"]]
    assert not settings.duplicated().any()


def test_events_count_fits_and_end_with_the_result(full_run):
    result, events = full_run
    assert events[0].kind == "start" and events[0].done == 0
    assert events[-1].kind == "end" and events[-1].fraction == 1.0
    assert events[-1].best_params == result.params
    fits = [e for e in events if e.kind == "fit"]
    assert [e.done for e in fits] == list(range(1, len(result.table) + 1))
    assert all(e.done <= e.total for e in events)
    fractions = [e.fraction for e in events]
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert all(e.kind in ("start", "half-step", "fit", "end") for e in events)


# --------------------------------------------------------------------------------- train only
def test_every_fit_sees_only_train(monkeypatch, parts):
    train, test = parts
    spy = FitSpy(monkeypatch)
    ac.tune(train, seed=0, budget_seconds=GENEROUS)
    assert spy.calls
    allowed = pairs(train)
    fit_part, valid = ac.split(train, method="random", fraction=0.2, seed=0)
    for fitted, scored, _ in spy.calls:
        assert pairs(fitted) | pairs(scored) <= allowed
        assert pairs(fitted) == pairs(fit_part) and pairs(scored) == pairs(valid)
    assert not (pairs(test) & allowed)


def test_poisoned_test_ratings_change_nothing(data, parts):
    """Ratings outside train (here the test part, made absurd) cannot move the result."""
    train, test = parts
    users, items, values = data.coo()
    in_test = np.isin(users * data.n_items + items, _keys(test))
    poisoned_values = np.where(in_test, 1e6, values)
    poisoned = ac.Ratings.from_codes(users, items, poisoned_values, shape=data.shape)
    poisoned_train, poisoned_test = ac.split(poisoned, fraction=0.2, seed=5)
    assert poisoned_test.matrix.data.min() == 1e6  # the same pairs were held out
    clean = ac.tune(train, seed=0, budget_seconds=GENEROUS)
    dirty = ac.tune(poisoned_train, seed=0, budget_seconds=GENEROUS)
    assert dirty.params == clean.params
    pd.testing.assert_frame_equal(comparable(dirty.table), comparable(clean.table))


def test_given_validation_is_used_and_train_is_fitted_whole(monkeypatch, parts):
    train, _ = parts
    fit_part, valid = ac.split(train, fraction=0.25, seed=9)
    spy = FitSpy(monkeypatch)
    result = ac.tune(fit_part, validation=valid, seed=0, budget_seconds=GENEROUS)
    assert result.n_fit == fit_part.nnz and result.n_validation == valid.nnz
    for fitted, scored, _ in spy.calls:
        assert fitted is fit_part and scored is valid


def _keys(ratings: ac.Ratings) -> np.ndarray:
    users, items, _ = ratings.coo()
    return users * ratings.n_items + items


# --------------------------------------------------------------------------------- budget, stop
class FakeClock:
    """Advances by ``tick`` seconds every time tune reads it."""

    def __init__(self, tick: float):
        self.tick = tick
        self.now = 0.0

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def test_a_tiny_budget_returns_a_measured_result_marked_truncated(monkeypatch, parts):
    train, _ = parts
    monkeypatch.setattr(tune_module, "_now", FakeClock(tick=1.0))
    spy = FitSpy(monkeypatch)
    result = ac.tune(train, seed=0, budget_seconds=3)
    assert result.truncated and result.table.attrs["truncated"] and not result.stopped
    assert len(spy.calls) == 1  # the first fit, cut after its first iteration
    assert result.table["iterations_run"].tolist() == [1]
    assert result.table["status"].tolist() == ["budget"]
    assert result.params["iterations"] == 1
    ac.ALS(**result.params).fit(train)


def test_budget_truncates_the_same_plan(monkeypatch, parts):
    """A budget cut keeps the first fits of the plan unchanged (the budget only truncates)."""
    train, _ = parts
    clock = FakeClock(tick=1.0)
    monkeypatch.setattr(tune_module, "_now", clock)
    full = ac.tune(train, seed=0, budget_seconds=GENEROUS).table
    whole_plan = clock.now  # clock reads the whole plan took
    assert whole_plan < GENEROUS
    clock.now = 0.0
    cut = ac.tune(train, seed=0, budget_seconds=whole_plan / 2).table
    assert cut.attrs["truncated"] and 1 <= len(cut) < len(full)
    finished = cut.iloc[:-1]  # the last fit may be cut mid-way
    expected = full.iloc[: len(finished)]
    pd.testing.assert_frame_equal(
        comparable(finished).drop(columns="chosen"), comparable(expected).drop(columns="chosen")
    )


def test_a_real_tiny_budget_still_gives_settings(parts):
    train, _ = parts
    result = ac.tune(train, seed=0, budget_seconds=1e-6)
    assert result.truncated
    assert result.params is not None and result.params["iterations"] >= 1


def test_stop_ends_the_search_within_one_half_step(parts):
    train, _ = parts
    seen: list[ac.TuneEvent] = []
    stop_at = 7  # a half-step inside the second fit or so

    def callback(event: ac.TuneEvent) -> None:
        seen.append(event)
        if sum(e.kind == "half-step" for e in seen) == stop_at:
            event.stop()

    result = ac.tune(train, seed=0, budget_seconds=GENEROUS, callback=callback)
    kinds = [e.kind for e in seen]
    stop_index = [i for i, e in enumerate(seen) if e.kind == "half-step"][stop_at - 1]
    assert "half-step" not in kinds[stop_index + 1 :]  # no half-step after the stop
    assert kinds[stop_index + 1 :] == ["fit", "end"]
    assert result.stopped and result.truncated and result.table.attrs["truncated"]
    assert result.table["status"].iloc[-1] == "stopped"
    assert result.table["iterations_run"].sum() == stop_at // 2  # whole iterations measured
    assert result.params is not None


def test_stop_at_the_start_returns_no_settings(parts):
    train, _ = parts
    result = ac.tune(train, seed=0, callback=lambda event: event.stop())
    assert result.stopped and result.params is None and result.table.empty
    assert math.isnan(result.validation_rmse)
    assert "stopped" in result.summary()


# --------------------------------------------------------------------------------- seeds
def test_same_seed_same_search(parts, full_run):
    train, _ = parts
    again = ac.tune(train, seed=0, budget_seconds=GENEROUS)
    result, _ = full_run
    assert again.params == result.params
    pd.testing.assert_frame_equal(comparable(again.table), comparable(result.table))


def test_another_seed_another_validation_split(parts, full_run):
    train, _ = parts
    other = ac.tune(train, seed=1, budget_seconds=GENEROUS)
    result, _ = full_run
    assert other.params["seed"] == 1
    first = result.table["validation_rmse"].iloc[0]
    assert other.table["validation_rmse"].iloc[0] != first


# --------------------------------------------------------------------------------- the search
@pytest.mark.parametrize(
    ("curve", "rival", "leader", "verdict"),
    [
        ([1.0, 0.9, 0.8], None, math.inf, None),
        ([1.0, 0.9, 0.9, 0.9], None, math.inf, "converged"),
        # Tiny gains count while the fit leads, not while it trails the leader.
        ([1.0, 0.9, 0.89985, 0.8997], None, math.inf, None),
        ([1.0, 0.9, 0.89985, 0.8997], None, 0.5, "converged"),
        # Racing: 1 % behind the rival's best so far after five iterations.
        ([1.0, 0.95, 0.92, 0.91, 0.90], [0.9, 0.88, 0.87, 0.86, 0.85], math.inf, "behind"),
        ([1.0, 0.95, 0.92, 0.91], [0.9, 0.88, 0.87, 0.86, 0.85], math.inf, None),
        ([1.0, 0.95, 0.92, 0.9, 0.858], [0.9, 0.88, 0.87, 0.86, 0.85], math.inf, None),
    ],
)
def test_when_a_fit_ends(curve, rival, leader, verdict):
    assert tune_module._verdict(curve, rival, leader) == verdict


def test_points_map_to_als_ridges():
    """A point's (a, b) is the ridge a·n + b: plain when a = 0, weighted otherwise."""
    point = tune_module._Point(True, 10, 0, 0)
    assert point.settings() == {
        "k": 10,
        "lam": 0.1,
        "regularization": "weighted",
        "damping": 25.0,
        "biases": True,
    }
    plain = point.moved("a", -20)
    assert plain.settings()["regularization"] == "plain"
    assert plain.settings()["lam"] == pytest.approx(2.5)
    assert plain.moved("b", -30) is None  # a ridge of 0 everywhere is not in the space
    up = point.moved("a", 2)
    assert up.settings()["lam"] == 0.2 and up.settings()["damping"] == 12.5
    assert point.moved("a", 100).a == tune_module.A_STEPS[1]


def test_planned_ranks_follow_the_budget(data):
    small = tune_module._planned_ranks(data, 10, 45, budget_seconds=1e-3)
    large = tune_module._planned_ranks(data, 10, 45, budget_seconds=1e6)
    assert small == [] and large == [20, 40]


def test_max_k_caps_every_rank_tried(parts):
    train, _ = parts
    capped = ac.tune(train, seed=0, budget_seconds=GENEROUS, max_k=6)
    assert capped.table["k"].max() == 6 and capped.params["k"] == 6  # k0 = min(10, 6)
    uncapped = tune_module._planned_ranks(train, 10, 45, budget_seconds=GENEROUS)
    assert max(uncapped) > 6  # without the cap the plan would go higher


# --------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"seed": -1}, ValueError, "seed must be an integer ≥ 0"),
        ({"seed": 1.5}, ValueError, "seed must be an integer"),
        ({"seed": True}, ValueError, "seed must be an integer"),
        ({"budget_seconds": 0}, ValueError, "budget_seconds must be a positive number"),
        ({"budget_seconds": float("nan")}, ValueError, "positive number of seconds"),
        ({"budget_seconds": "60"}, ValueError, "positive number of seconds"),
        ({"callback": 3}, TypeError, "callback must be a function"),
        ({"max_k": 0}, ValueError, "max_k must be an integer ≥ 1"),
        ({"max_k": 2.5}, ValueError, "max_k must be an integer"),
    ],
)
def test_bad_arguments_say_what_is_wrong(parts, kwargs, error, words):
    train, _ = parts
    with pytest.raises(error, match=words):
        ac.tune(train, **kwargs)


def test_bad_data_says_what_is_wrong(parts):
    train, test = parts
    with pytest.raises(TypeError, match="ac.Ratings"):
        ac.tune(train.matrix)
    tiny = ac.Ratings.from_codes([0, 1, 2], [0, 1, 2], [1.0, 2.0, 3.0], shape=(3, 3))
    with pytest.raises(ValueError, match="at least 10 ratings"):
        ac.tune(tiny)
    with pytest.raises(TypeError, match="validation must be ac.Ratings"):
        ac.tune(train, validation=test.matrix)
    other_shape = ac.Ratings.from_codes([0], [0], [3.0], shape=(2, 2))
    with pytest.raises(ValueError, match="train's shape"):
        ac.tune(train, validation=other_shape)
    with pytest.raises(ValueError, match="holds no ratings"):
        ac.tune(train, validation=test.select(np.zeros(test.nnz, dtype=bool)))
    with pytest.raises(ValueError, match=r"shares [\d,]+ \(user, item\) pair"):
        ac.tune(train, validation=train)


# --------------------------------------------------------------------------------- the CLI
@pytest.fixture
def ratings_csv(tmp_path, data) -> Path:
    path = tmp_path / "ratings.csv"
    data.to_frame().to_csv(path, index=False)
    return path


def test_cli_fit_tune_end_to_end(monkeypatch, tmp_path, ratings_csv, capsys):
    """fit --tune --validation: tunes on the training share only, prints the settings and the
    table, fits with them and saves a model that carries them."""
    spy = FitSpy(monkeypatch)
    out = tmp_path / "model"
    argv = ["fit", str(ratings_csv), "--tune", "--tune-seconds", "600", "--validation", "0.25"]
    code = main([*argv, "--seed", "3", "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    # What the CLI holds out, rebuilt from the file the same way: never seen by a tuning fit.
    ratings, _ = read_ratings_file(ratings_csv)
    train, held = ac.split(ratings, fraction=0.25, seed=3)
    assert spy.calls
    for fitted, scored, params in spy.calls:
        assert pairs(fitted) | pairs(scored) <= pairs(train)
        assert params["seed"] == 3
    assert not (pairs(held) & pairs(train))
    model = ac.load_model(out)
    record = model.settings_["run"]["tune"]
    chosen = record["params"]
    lines = printed.splitlines()
    assert lines[0].startswith(f"tuned settings: {describe_params(chosen)} (validation RMSE")
    assert "validation_rmse" in lines[1] and lines[-1].startswith("model saved to")
    table_lines = lines[2:-1]  # one per fit, the chosen one marked
    assert len(table_lines) == len(record["table"])
    assert [line.endswith("<-") for line in table_lines] == [r["chosen"] for r in record["table"]]
    got = model.get_params()
    assert {key: got[key] for key in chosen} == chosen
    assert model.n_iter_ == chosen["iterations"]
    assert ac.evaluate(model, held)["rmse"] == pytest.approx(
        ac.evaluate(ac.ALS(**chosen).fit(train), held)["rmse"], abs=1e-9
    )


@pytest.mark.parametrize(
    ("extra", "code", "words"),
    [
        (["--tune", "--k", "5"], 1, "--tune chooses --k itself"),
        (["--tune", "--biases"], 1, "--tune chooses --biases itself"),
        (["--tune-seconds", "5"], 1, "--tune-seconds needs --tune"),
        (["--tune", "--engine", "spark"], 1, "drop --engine spark"),
        (["--tune", "--tune-seconds", "0"], 2, "expected a finite number > 0"),
    ],
)
def test_cli_tune_option_errors(tmp_path, ratings_csv, capsys, extra, code, words):
    assert main(["fit", str(ratings_csv), *extra, "--out", str(tmp_path / "m")]) == code
    assert words in capsys.readouterr().err
