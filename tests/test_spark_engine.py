"""The Spark engine: same answer as the numpy engine on a planted problem, factors back in our
id order, the command line's --engine spark, and clear refusals.

The tests that run Spark share one local SparkSession (local[2]) for the module and skip, saying
why, when pyspark or Java is missing (``pip install -r requirements-spark.txt``; Java 17+).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from als_core import spark_engine
from als_core.cli import main
from als_core.spark_engine import SparkALS, SparkUnavailableError, spark_unavailable_reason

REASON = spark_unavailable_reason()
needs_spark = pytest.mark.skipif(REASON is not None, reason=f"Spark cannot run here: {REASON}")


def planted(*, n_users=240, n_items=160, rank=3, density=0.15, noise=0.25, seed=5):
    """Ratings x_u·y_i + noise from known rank-3 factors; every user and item rated."""
    rng = np.random.default_rng(seed)
    X = 1.1 + 0.45 * rng.standard_normal((n_users, rank))
    Y = 1.1 + 0.45 * rng.standard_normal((n_items, rank))
    mask = rng.random((n_users, n_items)) < density
    mask[np.arange(n_users), rng.integers(0, n_items, n_users)] = True
    mask[rng.integers(0, n_users, n_items), np.arange(n_items)] = True
    users, items = np.nonzero(mask)
    values = np.einsum("nk,nk->n", X[users], Y[items]) + noise * rng.standard_normal(len(users))
    # Labels that are not 0..n-1, in shuffled order, so a mix-up of ids would show.
    order = rng.permutation(len(users))
    return ac.Ratings.from_frame(
        pd.DataFrame(
            {"user": users[order] * 3 + 11, "item": items[order] * 5 + 2, "rating": values[order]}
        )
    )


@pytest.fixture(scope="module")
def spark():
    if REASON is not None:
        pytest.skip(f"Spark cannot run here: {REASON}")
    with spark_engine.spark_session("local[2]", conf={"spark.sql.shuffle.partitions": "2"}) as s:
        yield s


@needs_spark
def test_spark_matches_numpy_on_a_planted_problem(spark):
    ratings = planted()
    train, valid = ac.split(ratings, fraction=0.2, seed=0)
    settings = {"k": 3, "lam": 0.05, "iterations": 10, "regularization": "weighted", "seed": 0}
    numpy_model = ac.ALS(**settings).fit(train, validation=valid)
    events = []
    spark_model = SparkALS(spark=spark, num_blocks=2, **settings).fit(
        train, validation=valid, callback=events.append
    )
    numpy_rmse = numpy_model.history_["validation_rmse"].iloc[-1]
    spark_rmse = spark_model.history_["validation_rmse"].iloc[-1]
    # Both must actually fit the planted structure (noise σ = 0.25) ...
    assert numpy_rmse < 0.25 * 1.25
    # ... and agree within 2 % (same objective, different starts and float32 in Spark).
    assert spark_rmse == pytest.approx(numpy_rmse, rel=0.02)
    # The history's RMSE is recomputed independently from the returned factors in id order.
    u, i, v = valid.coo()
    direct = np.einsum("nk,nk->n", spark_model.user_factors_[u], spark_model.item_factors_[i])
    direct = np.clip(direct, *spark_model.rating_scale_)
    assert spark_rmse == pytest.approx(np.sqrt(np.mean((v - direct) ** 2)), rel=1e-9)
    assert len(events) == 1 and events[0].iteration == 10
    assert spark_model.engine_ == "spark"
    assert spark_model.engine_details_["spark_params"]["regParam"] == 0.05


@needs_spark
def test_users_without_training_ratings_get_zero_factors_and_the_mean(spark):
    ratings = planted(n_users=60, n_items=40, density=0.3)
    keep = np.ones(ratings.nnz, dtype=bool)
    keep[ratings.matrix.indptr[7] : ratings.matrix.indptr[8]] = False  # user 7 rates nothing
    train = ratings.select(keep)
    model = SparkALS(k=2, lam=0.1, iterations=3, spark=spark, num_blocks=2).fit(train)
    assert np.all(model.user_factors_[7] == 0)
    assert np.any(model.user_factors_[6] != 0)
    assert model.predict([7], [0])[0] == pytest.approx(train.matrix.data.mean())


@needs_spark
def test_cli_spark_engine_with_biases_writes_a_model_directory(spark, tmp_path, capsys):
    ratings = planted(n_users=80, n_items=50, density=0.25)
    frame = ratings.to_frame()
    frame.to_parquet(tmp_path / "r.parquet")
    out = tmp_path / "model"
    code = main(
        ["fit", str(tmp_path / "r.parquet"), "--engine", "spark", "--k", "3", "--lam", "0.05",
         "--iterations", "5", "--biases", "--validation", "0.2", "--spark-blocks", "2",
         "--out", str(out)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert [ln for ln in captured.err.splitlines() if ln.startswith("iteration")] != []
    model = ac.load_model(out)
    assert model.engine_ == "spark" and model.biases
    assert json.loads((out / "manifest.json").read_text())["engine"] == "spark"
    # Prediction is μ + b_u + b_i + x·y with the pre-fitted biases (clipped to the scale).
    u, i, _ = model.train_ratings_.coo()
    expected = (
        model.global_mean_
        + model.user_bias_[u]
        + model.item_bias_[i]
        + np.einsum("nk,nk->n", model.user_factors_[u], model.item_factors_[i])
    )
    np.testing.assert_allclose(model.predict(u, i), np.clip(expected, *model.rating_scale_))
    bias_only = ac.BiasOnly(lam=5.0).fit(model.train_ratings_)
    np.testing.assert_allclose(model.user_bias_, bias_only.user_bias_)
    # The factors explain what the biases leave: training RMSE well below the biases' own.
    assert model.history_["train_rmse"].iloc[-1] < 0.8 * ac.rmse(
        model.train_ratings_.matrix.data, bias_only.predict(u, i)
    )


def test_settings_without_a_spark_counterpart_are_refused():
    ratings = planted(n_users=20, n_items=15, density=0.5)
    with pytest.raises(ValueError, match="only regularization='weighted'"):
        SparkALS(regularization="plain").fit(ratings)
    with pytest.raises(ValueError, match="does not support tol, patience"):
        SparkALS(tol=1e-4, patience=2).fit(ratings, validation=ratings)
    with pytest.raises(ValueError, match="k=99"):
        SparkALS(k=99).fit(ratings)


def test_missing_pyspark_or_java_is_explained(monkeypatch):
    if REASON is None:  # pyspark is installed: hide Java first
        monkeypatch.delenv("JAVA_HOME", raising=False)
        monkeypatch.setattr(spark_engine.shutil, "which", lambda name: None)
        assert "Java was not found" in spark_unavailable_reason()
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    reason = spark_unavailable_reason()
    assert reason is not None and "requirements-spark.txt" in reason
    with pytest.raises(SparkUnavailableError, match="pyspark is not installed"):
        SparkALS(k=1).check_spark_settings()


def test_spark_failures_become_one_line_with_a_hint():
    class Py4JJavaError(Exception):  # what py4j raises: the Java stack trace is the message
        pass

    trace = (
        "An error occurred while calling o251.fit.\n: java.lang.OutOfMemoryError: Java heap "
        "space\n\tat java.base/java.lang.reflect.Array.newInstance(Array.java:78)\n\tat scala."
    )
    message = spark_engine.spark_error_message(Py4JJavaError(trace))
    assert "\n" not in message
    assert message.startswith("Spark failed: java.lang.OutOfMemoryError: Java heap space")
    assert "spark.driver.memory" in message
    other = "calling o1.fit.\n: org.apache.spark.SparkException: Job aborted: boom\n\tat x.y(z)"
    assert spark_engine.spark_error_message(Py4JJavaError(other)) == (
        "Spark failed: org.apache.spark.SparkException: Job aborted: boom"
    )
