"""Every estimator's settings: get_params() and repr() written out in full, and the round trip
through the constructor (and through save_model / load_model for the ALS family)."""

import numpy as np
import pytest

import als_core as ac
from als_core.implicit import ImplicitALS
from als_core.model_io import _init_params
from als_core.spark_engine import SparkALS

ALS_SETTINGS = dict(
    k=3,
    lam=0.25,
    iterations=7,
    regularization="weighted",
    biases=True,
    tol=1e-4,
    patience=2,
    snapshots=True,
    snapshot_max_bytes=1000,
    dtype=np.float32,
    seed=None,
    init_scale=0.5,
    damping=2.0,
)
GD_SETTINGS = dict(
    k=4,
    lam=0.3,
    iterations=9,
    regularization="weighted",
    biases=True,
    tol=1e-3,
    max_seconds=2.5,
    seed=7,
    init_scale=0.2,
    initial_step=0.5,
    max_backtracks=10,
)
SGD_SETTINGS = dict(
    k=4,
    lam=0.3,
    iterations=9,
    regularization="weighted",
    biases=True,
    learning_rate=0.01,
    decay=0.1,
    batch_size=64,
    tune_epochs=3,
    tol=1e-3,
    max_seconds=2.5,
    seed=7,
    init_scale=0.2,
)
IMPLICIT_SETTINGS = dict(
    k=5,
    lam=0.2,
    alpha=10.0,
    iterations=3,
    solver="cg",
    cg_steps=2,
    eval_n=5,
    seed=3,
    init_scale=0.3,
    dtype=np.float32,
)
SPARK_SETTINGS = dict(
    k=6,
    lam=0.05,
    iterations=4,
    regularization="weighted",
    biases=True,
    tol=0.1,
    patience=3,
    snapshots=True,
    dtype=np.float32,
    seed=11,
    master="local[1]",
    spark_conf={"spark.driver.memory": "2g"},
    spark=None,
    bias_lam=2.0,
    num_blocks=3,
)


def _items(params):
    """Keys and values in order: get_params() is compared with its order, not just as a set."""
    return list(params.items())


def test_als_params_and_repr():
    m = ac.ALS(**ALS_SETTINGS)
    assert _items(m.get_params()) == [
        ("k", 3),
        ("lam", 0.25),
        ("iterations", 7),
        ("regularization", "weighted"),
        ("biases", True),
        ("tol", 1e-4),
        ("patience", 2),
        ("snapshots", True),
        ("snapshot_max_bytes", 1000),
        ("dtype", "float32"),
        ("seed", None),
        ("init_scale", 0.5),
        ("damping", 2.0),
    ]
    assert repr(m) == (
        "ALS(k=3, lam=0.25, iterations=7, regularization='weighted', biases=True, seed=None)"
    )
    assert repr(ac.ALS()) == (
        "ALS(k=10, lam=0.1, iterations=15, regularization='plain', biases=False, seed=0)"
    )


def test_gradient_descent_params_and_repr():
    m = ac.GradientDescent(**GD_SETTINGS)
    assert _items(m.get_params()) == [
        ("k", 4),
        ("lam", 0.3),
        ("iterations", 9),
        ("regularization", "weighted"),
        ("biases", True),
        ("tol", 1e-3),
        ("max_seconds", 2.5),
        ("seed", 7),
        ("init_scale", 0.2),
        ("initial_step", 0.5),
        ("max_backtracks", 10),
    ]
    assert repr(m) == (
        "GradientDescent(k=4, lam=0.3, iterations=9, regularization='weighted', biases=True, "
        "tol=0.001, max_seconds=2.5, seed=7, init_scale=0.2, initial_step=0.5, max_backtracks=10)"
    )


def test_sgd_params_and_repr():
    m = ac.SGD(**SGD_SETTINGS)
    assert _items(m.get_params()) == [
        ("k", 4),
        ("lam", 0.3),
        ("iterations", 9),
        ("regularization", "weighted"),
        ("biases", True),
        ("tol", 1e-3),
        ("max_seconds", 2.5),
        ("seed", 7),
        ("init_scale", 0.2),
        ("learning_rate", 0.01),
        ("decay", 0.1),
        ("batch_size", 64),
        ("tune_epochs", 3),
    ]
    assert repr(m) == (
        "SGD(k=4, lam=0.3, iterations=9, regularization='weighted', biases=True, tol=0.001, "
        "max_seconds=2.5, seed=7, init_scale=0.2, learning_rate=0.01, decay=0.1, batch_size=64, "
        "tune_epochs=3)"
    )
    assert repr(ac.SGD()) == (
        "SGD(k=10, lam=0.1, iterations=50, regularization='plain', biases=False, tol=None, "
        "max_seconds=None, seed=0, init_scale=0.1, learning_rate='auto', decay=0.05, "
        "batch_size=256, tune_epochs=2)"
    )


def test_implicit_params_and_repr():
    m = ImplicitALS(**IMPLICIT_SETTINGS)
    assert _items(m.get_params()) == [
        ("k", 5),
        ("lam", 0.2),
        ("alpha", 10.0),
        ("iterations", 3),
        ("solver", "cg"),
        ("cg_steps", 2),
        ("eval_n", 5),
        ("seed", 3),
        ("init_scale", 0.3),
        ("dtype", "float32"),
    ]
    assert repr(m) == (
        "ImplicitALS(k=5, lam=0.2, alpha=10.0, iterations=3, solver='cg', cg_steps=2, eval_n=5, "
        "seed=3, init_scale=0.3, dtype='float32')"
    )


def test_spark_params_are_an_als_s_and_repr_adds_the_master():
    # No Spark is started: constructing the estimator needs neither pyspark nor Java.
    m = SparkALS(**SPARK_SETTINGS)
    # The settings saved with a Spark-fitted model are an ALS's (load_model rebuilds an ALS);
    # the session's settings (master, spark_conf, spark, bias_lam, num_blocks) are not among them.
    assert _items(m.get_params()) == [
        ("k", 6),
        ("lam", 0.05),
        ("iterations", 4),
        ("regularization", "weighted"),
        ("biases", True),
        ("tol", 0.1),
        ("patience", 3),
        ("snapshots", True),
        ("snapshot_max_bytes", 256 * 2**20),
        ("dtype", "float32"),
        ("seed", 11),
        ("init_scale", 0.1),
        ("damping", 0.0),
    ]
    assert repr(m) == (
        "SparkALS(k=6, lam=0.05, iterations=4, regularization='weighted', biases=True, seed=11, "
        "master='local[1]')"
    )


@pytest.mark.parametrize(
    "cls, settings",
    [
        (ac.ALS, ALS_SETTINGS),
        (ac.GradientDescent, GD_SETTINGS),
        (ac.SGD, SGD_SETTINGS),
        (ImplicitALS, IMPLICIT_SETTINGS),
    ],
)
def test_constructor_takes_get_params_back(cls, settings):
    for model in (cls(), cls(**settings)):
        params = model.get_params()
        again = cls(**params)  # dtype comes back as its name, which the constructors accept
        assert _items(again.get_params()) == _items(params)
        assert repr(again) == repr(model)


@pytest.mark.parametrize(
    "model",
    [ac.ALS(**ALS_SETTINGS), SparkALS(**SPARK_SETTINGS)],
    ids=["ALS", "SparkALS"],
)
def test_saved_settings_rebuild_an_als(model):
    params = model.get_params()
    assert _items(ac.ALS(**params).get_params()) == _items(params)
    # As load_model does: the dtype name mapped back to the numpy type.
    rebuilt = ac.ALS(**_init_params(params))
    assert rebuilt.dtype is np.float32
    assert _items(rebuilt.get_params()) == _items(params)
