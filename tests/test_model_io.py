"""save_model / load_model: a saved model predicts, ranks and explains exactly as it did in
memory, and its files say so to any Parquet/JSON reader."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from als_core.model_io import FORMAT_VERSION, ModelDirError, load_model, save_model


def planted_frame(*, n_users=40, n_items=30, rank=2, density=0.4, seed=0, text_ids=True):
    """Ratings from known rank-``rank`` factors plus noise, as a long table with labels."""
    rng = np.random.default_rng(seed)
    X = 1.2 + 0.4 * rng.standard_normal((n_users, rank))
    Y = 1.2 + 0.4 * rng.standard_normal((n_items, rank))
    mask = rng.random((n_users, n_items)) < density
    mask[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # nobody without ratings
    mask[rng.integers(0, n_users, n_items), np.arange(n_items)] = True
    users, items = np.nonzero(mask)
    values = np.clip(
        np.einsum("nk,nk->n", X[users], Y[items]) + 0.1 * rng.standard_normal(len(users)), 1, 5
    )
    user_labels = np.array([f"u{u:03d}" for u in range(n_users)]) if text_ids else users * 7 + 100
    return pd.DataFrame(
        {
            "user": user_labels[users] if text_ids else user_labels,
            "item": items * 3 + 1,
            "rating": np.round(values * 2) / 2,
        }
    ).sample(frac=1.0, random_state=seed)


@pytest.fixture(
    params=[(False, np.float64, True), (True, np.float32, False)], ids=["plain", "biases"]
)
def fitted(request):
    biases, dtype, text_ids = request.param
    ratings = ac.Ratings.from_frame(planted_frame(text_ids=text_ids))
    train, valid = ac.split(ratings, fraction=0.2, seed=1)
    model = ac.ALS(
        k=2,
        lam=0.05,
        iterations=6,
        regularization="weighted" if biases else "plain",
        biases=biases,
        dtype=dtype,
        seed=3,
    ).fit(train, validation=valid)
    return model, train, valid


def test_round_trip_predicts_ranks_and_explains_the_same(fitted, tmp_path):
    model, train, valid = fitted
    path = save_model(model, train, tmp_path / "model", settings={"note": "test"})
    loaded = load_model(path)

    users, items = np.meshgrid(np.arange(train.n_users), np.arange(train.n_items), indexing="ij")
    # The factors are stored bit for bit, so predictions agree exactly.
    np.testing.assert_array_equal(loaded.predict(users, items), model.predict(users, items))
    for u in (0, 5, train.n_users - 1):
        pd.testing.assert_frame_equal(loaded.recommend(u, n=7), model.recommend(u, n=7))
    pd.testing.assert_frame_equal(loaded.similar_items(2, n=5), model.similar_items(2, n=5))
    pd.testing.assert_frame_equal(loaded.history_, model.history_)
    np.testing.assert_array_equal(loaded.user_ids_, model.user_ids_)
    np.testing.assert_array_equal(loaded.item_ids_, model.item_ids_)
    assert loaded.user_factors_.dtype == model.user_factors_.dtype
    assert loaded.global_mean_ == model.global_mean_
    assert loaded.rating_scale_ == model.rating_scale_
    assert loaded.get_params() == model.get_params()
    assert loaded.settings_["run"] == {"note": "test"}
    assert loaded.engine_ == "numpy"
    x, b = model.fold_in([0, 1, 2], [5.0, 4.0, 1.0])
    x2, b2 = loaded.fold_in([0, 1, 2], [5.0, 4.0, 1.0])
    np.testing.assert_allclose(x2, x, rtol=1e-6)
    assert b2 == pytest.approx(b, rel=1e-6)


def test_files_alone_reproduce_the_predictions(fitted, tmp_path):
    """An outside reader (pandas + json, no als_core) rebuilds every prediction from the files
    as README.md describes them."""
    model, train, _ = fitted
    path = save_model(model, train, tmp_path / "model")
    users = pd.read_parquet(path / "user_factors.parquet")
    items = pd.read_parquet(path / "item_factors.parquet")
    fit = json.loads((path / "run.json").read_text())["extra"]["fit"]
    factor_cols = [f"factor_{f}" for f in range(model.k)]
    X = users[factor_cols].to_numpy(np.float64)
    Y = items[factor_cols].to_numpy(np.float64)
    expected = X @ Y.T
    if model.biases:
        expected += (
            fit["global_mean"] + users["bias"].to_numpy()[:, None] + items["bias"].to_numpy()
        )
    expected = np.clip(expected, *fit["rating_scale"])
    u, i = np.meshgrid(np.arange(train.n_users), np.arange(train.n_items), indexing="ij")
    np.testing.assert_allclose(model.predict(u, i), expected, rtol=0, atol=1e-5)
    # The ids column holds the original labels in index order, with the training counts.
    assert users["user_id"].tolist() == list(train.user_ids)
    assert items["item_id"].tolist() == list(train.item_ids)
    np.testing.assert_array_equal(users["n_ratings"].to_numpy(), train.user_counts())
    ratings = pd.read_parquet(path / "train_ratings.parquet")
    assert len(ratings) == train.nnz
    rebuilt = ac.Ratings.from_codes(
        ratings["user_index"], ratings["item_index"], ratings["rating"], shape=train.shape
    )
    assert (rebuilt.matrix != train.matrix).nnz == 0
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert all((path / name).is_file() for name in manifest["files"].values())


def test_mixed_type_ids_are_saved_as_text(tmp_path):
    frame = planted_frame(text_ids=False)
    frame["item"] = frame["item"].astype(object)
    frame.loc[frame["item"] == 1, "item"] = "one"  # one text label among numbers
    ratings = ac.Ratings.from_frame(frame)
    model = ac.ALS(k=2, iterations=2).fit(ratings)
    loaded = load_model(save_model(model, ratings, tmp_path / "m"))
    assert list(loaded.item_ids_) == [str(x) for x in ratings.item_ids]
    np.testing.assert_array_equal(loaded.predict([0, 1], [0, 1]), model.predict([0, 1], [0, 1]))


def test_save_refuses_what_would_lose_data_or_mismatch(fitted, tmp_path):
    model, train, valid = fitted
    unrelated = tmp_path / "photos"
    unrelated.mkdir()
    (unrelated / "cat.jpg").write_bytes(b"x")
    with pytest.raises(ModelDirError, match="not empty"):
        save_model(model, train, unrelated)
    with pytest.raises(ModelDirError, match="not a saved model"):
        save_model(model, train, unrelated, overwrite=True)
    assert (unrelated / "cat.jpg").exists()
    with pytest.raises(ModelDirError, match="not fitted"):
        save_model(ac.ALS(), train, tmp_path / "a")
    with pytest.raises(ModelDirError, match="training part"):
        save_model(model, valid, tmp_path / "b")
    assert not (tmp_path / "b").exists()

    first = save_model(model, train, tmp_path / "model")
    other = ac.ALS(k=1, iterations=1, biases=model.biases).fit(train)
    save_model(other, train, first, overwrite=True)
    assert load_model(first).k == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_load_says_what_is_wrong(fitted, tmp_path):
    model, train, _ = fitted
    with pytest.raises(ModelDirError, match="does not exist"):
        load_model(tmp_path / "nowhere")
    with pytest.raises(ModelDirError, match="manifest.json"):
        load_model(tmp_path)
    path = save_model(model, train, tmp_path / "model")

    manifest = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(ModelDirError, match="version 99"):
        load_model(path)
    (path / "manifest.json").write_text(json.dumps(manifest))

    (path / "run.json").rename(path / "run.bak")
    with pytest.raises(ModelDirError, match="missing run.json"):
        load_model(path)
    (path / "run.json").write_text("{")
    with pytest.raises(ModelDirError, match="run.json: .*not valid JSON"):
        load_model(path)
    (path / "run.bak").replace(path / "run.json")

    ratings = pd.read_parquet(path / "train_ratings.parquet")
    ratings.iloc[1:].to_parquet(path / "train_ratings.parquet")
    with pytest.raises(ModelDirError, match="does not match"):
        load_model(path)


@pytest.mark.parametrize("name", ["../secret.json", "/etc/passwd", "sub/run.json", "..", ""])
def test_a_manifest_may_name_only_files_in_its_directory(fitted, tmp_path, name):
    # A path in the manifest would read any file the process can: an uploaded zip's manifest
    # could name another model's files on the server, or anything else.
    model, train, _ = fitted
    path = save_model(model, train, tmp_path / "model")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["run"] = name
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelDirError, match="must be plain file names"):
        load_model(path)


def test_with_a_root_every_file_read_lies_in_it(fitted, tmp_path):
    model, train, _ = fitted
    real = save_model(model, train, tmp_path / "outside" / "model")
    root = tmp_path / "root"
    linked = root / "model"
    linked.mkdir(parents=True)
    for file in real.iterdir():
        (linked / file.name).symlink_to(file)
    with pytest.raises(ModelDirError, match="manifest.json in the model directory links to"):
        load_model(linked, root=root)
    (linked / "manifest.json").unlink()
    shutil.copy(real / "manifest.json", linked / "manifest.json")
    with pytest.raises(ModelDirError, match="run.json in the model directory links to"):
        load_model(linked, root=root)
    # Without a root the links are followed (a script's own folders), and inside it too.
    np.testing.assert_array_equal(load_model(linked).item_factors_, model.item_factors_)
    loaded = load_model(linked, root=tmp_path)
    np.testing.assert_array_equal(loaded.item_factors_, model.item_factors_)


def test_item_titles_and_genres_travel_with_the_model(tmp_path):
    # An opened model names its items: item_info (title, genre, year) is saved beside the
    # factors and comes back aligned with the item index, as Ratings.from_frame lays it out.
    ratings = ac.load_sample("movie_night")
    model = ac.ALS(k=2, iterations=2, biases=True, seed=0).fit(ratings)
    loaded = load_model(save_model(model, ratings, tmp_path / "named"))
    pd.testing.assert_frame_equal(
        loaded.train_ratings_.item_info, ratings.item_info, check_dtype=False
    )
    assert loaded.train_ratings_.user_info is None
    np.testing.assert_array_equal(loaded.item_factors_, model.item_factors_)
