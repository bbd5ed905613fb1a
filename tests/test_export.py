"""Exports: factors with original ids (CSV, Parquet), predictions, top-N, run JSON round trip,
and spreadsheet formula injection neutralised in CSV without touching numbers."""

import io

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from als_core import export as ex


@pytest.fixture(scope="module")
def fitted():
    r = ac.load_sample("movie_night")
    train, valid = ac.split(r, method="random", fraction=0.2, seed=0)
    model = ac.ALS(k=3, lam=1.0, iterations=4, biases=True, seed=0).fit(train, validation=valid)
    return r, train, model


def test_factors_frame_has_original_ids_counts_bias_and_factors(fitted):
    r, train, model = fitted
    items = ex.factors_frame(model, "items", info=r.item_info)
    assert items["item_id"].tolist() == r.item_ids.tolist()
    assert items["title"].tolist() == r.item_info["title"].tolist()
    np.testing.assert_array_equal(
        items[["factor_0", "factor_1", "factor_2"]].to_numpy(), model.item_factors_
    )
    np.testing.assert_array_equal(items["bias"].to_numpy(), model.item_bias_)
    np.testing.assert_array_equal(items["n_ratings"].to_numpy(), train.item_counts())
    users = ex.factors_frame(model, "users")
    assert users["user_id"].tolist() == r.user_ids.tolist()
    assert list(users.columns[:3]) == ["user_id", "n_ratings", "bias"]


def test_factors_round_trip_through_csv_and_parquet(fitted):
    _, _, model = fitted
    frame = ex.factors_frame(model, "users")
    from_csv = pd.read_csv(io.BytesIO(ex.to_csv_bytes(frame)))
    # pandas writes floats with repr precision: the CSV gives back the same doubles
    pd.testing.assert_frame_equal(from_csv, frame, check_dtype=False, rtol=0, atol=0)
    from_parquet = pd.read_parquet(io.BytesIO(ex.to_parquet_bytes(frame)))
    pd.testing.assert_frame_equal(from_parquet, frame)


def test_predictions_frame_matches_model_predict_and_the_observed_ratings(fitted):
    _, train, model = fitted
    users = [0, 5]
    frame = ex.predictions_frame(model, users)
    assert len(frame) == 2 * train.n_items
    expected = model.predict(np.repeat(users, train.n_items), np.tile(np.arange(train.n_items), 2))
    np.testing.assert_allclose(frame["predicted"], expected, rtol=0, atol=0)
    dense = train.matrix[users].toarray().ravel()
    stored = np.zeros_like(dense, dtype=bool)
    for k, u in enumerate(users):
        row = train.matrix[u]
        stored[k * train.n_items + row.indices] = True
    np.testing.assert_array_equal(frame["observed"].notna().to_numpy(), stored)
    np.testing.assert_array_equal(frame["observed"].to_numpy()[stored], dense[stored])
    assert frame["user_id"].iloc[0] == train.user_ids[0]
    assert frame["item_id"].tolist()[: train.n_items] == train.item_ids.tolist()


def test_predictions_for_chosen_items_against_other_ratings(fitted):
    r, train, model = fitted
    frame = ex.predictions_frame(model, [1], [3, 4], ratings=r)
    assert frame["item_id"].tolist() == [r.item_ids[3], r.item_ids[4]]
    for k, item in enumerate([3, 4]):
        cell = r.matrix[1, item]
        has = item in r.matrix[1].indices
        assert (frame["observed"].iloc[k] == cell) if has else np.isnan(frame["observed"].iloc[k])


def test_top_n_frame_is_recommend_with_ids_and_titles(fitted):
    r, _, model = fitted
    frame = ex.top_n_frame(model, [0, 7], n=5, item_info=r.item_info)
    assert len(frame) == 10 and list(frame.columns) == [
        "user_id", "rank", "item_id", "score", "title", "genre",
    ]  # fmt: skip
    direct = model.recommend(7, n=5)
    part = frame[frame["user_id"] == r.user_ids[7]]
    assert part["item_id"].tolist() == direct["item_id"].tolist()
    np.testing.assert_array_equal(part["score"].to_numpy(), direct["score"].to_numpy())
    assert part["title"].tolist() == r.item_info["title"].to_numpy()[direct["item"]].tolist()


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@HYPERLINK(x)", "'@HYPERLINK(x)"),
        ("\t=1", "'\t=1"),
        ("-3", "-3"),  # text that is just a number is safe
        ("-2.5e3", "-2.5e3"),
        ("plain", "plain"),
        ("a=b", "a=b"),
    ],
)
def test_csv_neutralises_formula_text_only(cell, written):
    frame = pd.DataFrame({"title": [cell], "rating": [-4.5], "count": [-2]})
    text = ex.to_csv_bytes(frame).decode()
    back = pd.read_csv(io.StringIO(text), dtype={"title": str}, keep_default_na=False)
    assert back["title"].iloc[0] == written
    assert back["rating"].iloc[0] == -4.5 and back["count"].iloc[0] == -2  # numbers stay numbers


def test_csv_neutralises_formula_column_names_and_ids():
    frame = pd.DataFrame({"=evil": ["x"], "item_id": ["@id"], "user_id": [-7]})
    text = ex.to_csv_bytes(frame).decode()
    assert text.splitlines()[0] == "'=evil,item_id,user_id"
    assert text.splitlines()[1] == "x,'@id,-7"


def test_run_json_round_trip_keeps_settings_and_history(fitted):
    _, train, model = fitted
    settings = {**model.get_params(), "split": "random", "fraction": 0.2, "scale": (1.0, 5.0),
                "n": np.int64(3), "tol": None}  # fmt: skip
    dataset = {"name": "Movie night (sample)", "fingerprint": train.fingerprint()}
    text = ex.run_to_json(settings, model.history_, dataset=dataset, extra={"note": "é"})
    loaded = ex.run_from_json(text)
    pd.testing.assert_frame_equal(loaded.history, model.history_)
    assert loaded.settings == {**model.get_params(), "split": "random", "fraction": 0.2,
                               "scale": [1.0, 5.0], "n": 3, "tol": None}  # fmt: skip
    assert loaded.dataset == dataset and loaded.extra == {"note": "é"}
    # the settings build the same estimator again
    params = {k: loaded.settings[k] for k in model.get_params()}
    assert ac.ALS(**params).get_params() == model.get_params()
    # bytes and paths load too
    assert ex.run_from_json(text.encode()).settings == loaded.settings


def test_run_json_keeps_nan_in_history_as_nan():
    history = pd.DataFrame(
        {"iteration": [1, 1], "side": ["users", "items"], "validation_rmse": [np.nan, 0.9]}
    )
    text = ex.run_to_json({"k": 2}, history)
    assert "NaN" not in text  # strict JSON
    pd.testing.assert_frame_equal(ex.run_from_json(text).history, history)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"format": "something-else"}', "not an ALS Explorer run file"),
        ('{"format": "als-explorer-run", "version": 99}', "version 99"),
        ('{"format": "als-explorer-run", "version": 1, "settings": {}}', "damaged"),
    ],
)
def test_bad_run_files_say_what_is_wrong(text, message):
    with pytest.raises(ex.RunFileError, match=message):
        ex.run_from_json(text)


def test_parquet_keeps_text_ids_with_mixed_types_as_text():
    frame = pd.DataFrame({"item_id": np.array(["007", 7], dtype=object), "score": [1.0, 2.0]})
    back = pd.read_parquet(io.BytesIO(ex.to_parquet_bytes(frame)))
    assert back["item_id"].tolist() == ["007", "7"]


def test_unfitted_model_is_refused():
    with pytest.raises(ac.NotFittedError):
        ex.factors_frame(ac.ALS(k=2))
