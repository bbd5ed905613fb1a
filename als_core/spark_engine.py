"""Apache Spark MLlib's ALS as an alternative engine, for data that outgrows one process.

``SparkALS`` is an ``ac.ALS`` whose ``fit`` hands the work to ``pyspark.ml.recommendation.ALS``
and brings the factors back in this library's index order; everything after the fit
(``predict``, ``recommend``, ``save_model``, the dashboard) is the ordinary ``ALS`` code.

How our settings map onto Spark's:

- ``k`` → ``rank``, ``iterations`` → ``maxIter``, ``seed`` → ``seed``, ``lam`` → ``regParam``.
- Spark's regParam is the *weighted* λ (ALS-WR: each user's ridge is λ·n_u, each item's λ·n_i),
  so only ``regularization="weighted"`` is supported; ``"plain"`` is refused with a message.
- Spark has no biases. With ``biases=True`` the global mean μ and the biases b_u, b_i are fitted
  first by ``ac.BiasOnly`` (its own plain ridge ``bias_lam``, Σ b² penalised once per bias), then
  Spark factors the residuals r − μ − b_u − b_i. Predictions are μ + b_u + b_i + x_u·y_i as with
  the numpy engine, but the biases are not refitted alongside the factors, so the result is
  close to, not the same as, the numpy engine's joint fit.
- ``coldStartStrategy`` is set to ``"drop"``; it only matters for Spark's own ``transform``.
  Predictions here come from the returned factors: users or items without training ratings get
  zero factors, hence the training mean (no biases) or μ plus the known bias, as in ``ALS``.
- Not supported (refused): ``tol``, ``patience``, ``snapshots``. Spark reports nothing between
  iterations, so ``history_`` has one row for the whole fit (side ``"users"``: Spark solves items
  then users in each iteration), with the objective evaluated on the final factors.
- ``implicitPrefs=False`` and ``nonnegative=False`` (explicit ratings, unconstrained factors).
  Spark computes in float32; the factors are returned in ``dtype``.

pyspark is an optional extra (``pip install -r requirements-spark.txt``) and is imported only
when a fit or session is asked for. It needs Java 17 or 21. Missing either raises
``SparkUnavailableError`` with what to install.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from ._validation import as_csr, observed
from .als import ALS, HISTORY_COLUMNS, FitEvent, objective
from .baselines import BiasOnly
from .ratings import Ratings

DEFAULT_MASTER = "local[2]"
# In local mode all of Spark runs in the driver's JVM; its default 1 GB heap is too small for
# tens of millions of ratings. A "spark.driver.memory" passed in conf wins.
DEFAULT_LOCAL_DRIVER_MEMORY = "4g"
INSTALL_HINT = "pip install -r requirements-spark.txt"
# Spark's own logging goes to stderr at ERROR only: warnings about the hostname, native Hadoop
# libraries and the like would drown the progress lines of the command line. Spark's own
# package is configured explicitly too: Spark announces "Setting default log level" whenever
# the root level differs from the level its shell logger resolves to (WARN unless configured).
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark %p %c{1}: %m%n
logger.spark.name = org.apache.spark
logger.spark.level = error
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
logger.parquet.name = org.apache.parquet
logger.parquet.level = error
logger.netty.name = io.netty
logger.netty.level = error
"""


class SparkUnavailableError(RuntimeError):
    """pyspark or Java is missing, or Spark could not start: the message says what to do."""


class SparkFitError(RuntimeError):
    """Spark started but the fit failed inside it; the message is Spark's own, in one line."""


# --------------------------------------------------------------------------------- availability
def find_java() -> str | None:
    """Path of the ``java`` that Spark will launch (JAVA_HOME first, then PATH), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def spark_unavailable_reason() -> str | None:
    """Why Spark cannot run here (no pyspark, no Java), or None when both are present."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return f"pyspark is not installed; install the optional extra: {INSTALL_HINT}"
    if find_java() is None:
        return (
            "Java was not found (Spark needs Java 17 or 21): install a JRE, e.g. "
            "`apt-get install openjdk-17-jre-headless`, or set JAVA_HOME"
        )
    return None


def _require_spark() -> None:
    reason = spark_unavailable_reason()
    if reason is not None:
        raise SparkUnavailableError(reason)


# --------------------------------------------------------------------------------- sessions
@contextmanager
def spark_session(
    master: str = DEFAULT_MASTER,
    *,
    conf: dict[str, str] | None = None,
    app_name: str = "als-explorer",
) -> Iterator[Any]:
    """A SparkSession whose scratch space (local dirs, warehouse, checkpoints) lives in a
    temporary directory that is removed, with the session, on exit.

    ``master`` is ``local[N]`` for N threads in this process, or a cluster URL
    (``spark://host:7077``, ``yarn``, ...). ``conf`` adds Spark settings (e.g.
    ``{"spark.driver.memory": "8g"}``); they win over the defaults set here (local mode:
    ``spark.driver.memory`` 4g instead of Spark's 1g, the driver on 127.0.0.1). If a session is
    already running in this process, that one is used as it is and left running.
    """
    _require_spark()
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()
    if running is not None:
        # Someone else's session (a notebook, a test module): use it, and leave it running.
        yield running
        return
    scratch = Path(tempfile.mkdtemp(prefix="als-spark-"))
    log_config = scratch / "log4j2.properties"
    log_config.write_text(_LOG4J2, encoding="utf-8")
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.local.dir": str(scratch / "local"),
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log_config}",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if master.startswith("local"):
        # Local mode needs no network: keep the driver on the loopback interface.
        settings["spark.driver.host"] = "127.0.0.1"
        settings["spark.driver.bindAddress"] = "127.0.0.1"
        settings["spark.driver.memory"] = DEFAULT_LOCAL_DRIVER_MEMORY
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # py4j / PySparkRuntimeError: the JVM did not start
        shutil.rmtree(scratch, ignore_errors=True)
        raise SparkUnavailableError(
            f"Spark could not start with master {master!r}: {_first_line(exc)}. "
            "Check that Java 17 or 21 works (`java -version`) and the master URL is right"
        ) from exc
    try:
        spark.sparkContext.setLogLevel("ERROR")
        spark.sparkContext.setCheckpointDir(str(scratch / "checkpoints"))
        yield spark
    finally:
        spark.stop()
        shutil.rmtree(scratch, ignore_errors=True)


_JAVA_ERROR = re.compile(r"\b((?:java|javax|scala|org|py4j)\.[\w.$]*(?:Exception|Error)\b.*)")


def spark_error_message(exc: BaseException) -> str:
    """One line from an exception raised through py4j: the Java exception and its message
    rather than the stack trace, with a hint for the failures a user can fix."""
    text = str(exc)
    match = _JAVA_ERROR.search(text)
    line = match.group(1).strip() if match else _first_line(exc)
    message = f"Spark failed: {line}"
    if "OutOfMemoryError" in text:
        message += (
            "; give Spark more memory, e.g. --spark-conf spark.driver.memory=8g "
            "(local mode) or spark.executor.memory (cluster)"
        )
    return message


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --------------------------------------------------------------------------------- estimator
class SparkALS(ALS):
    """``ac.ALS`` fitted by Spark MLlib (mapping of the settings in the module docs).

    Extra parameters: ``master`` (``local[2]`` by default) and ``spark_conf`` for the session
    it starts and stops around each fit, or ``spark`` to use a running SparkSession instead
    (it is left running); ``bias_lam`` for the ``BiasOnly`` pre-fit with ``biases=True``;
    ``num_blocks`` for Spark's user and item blocks (Spark's default, 10, when None).
    After ``fit`` it carries ``engine_ = "spark"`` and ``engine_details_`` (the Spark settings
    used, Spark's version, the master).
    """

    def __init__(
        self,
        *,
        k: int = 10,
        lam: float = 0.1,
        iterations: int = 15,
        regularization: str = "weighted",
        biases: bool = False,
        tol: float | None = None,
        patience: int | None = None,
        snapshots: bool = False,
        dtype: type | np.dtype = np.float64,
        seed: int | None = 0,
        master: str = DEFAULT_MASTER,
        spark_conf: dict[str, str] | None = None,
        spark: Any = None,
        bias_lam: float = 5.0,
        num_blocks: int | None = None,
    ) -> None:
        super().__init__(
            k=k,
            lam=lam,
            iterations=iterations,
            regularization=regularization,
            biases=biases,
            tol=tol,
            patience=patience,
            snapshots=snapshots,
            dtype=dtype,
            seed=seed,
        )
        self.master = master
        self.spark_conf = spark_conf
        self.spark = spark
        self.bias_lam = bias_lam
        self.num_blocks = num_blocks

    @classmethod
    def _param_names(cls) -> list[str]:
        # A Spark-fitted model is saved, and loaded back, as an ALS (model_io): its settings are
        # an ALS's, without the Spark-only ones (master, spark_conf, spark, bias_lam, num_blocks).
        return ALS._param_names()

    def __repr__(self) -> str:
        inner = super().__repr__()[len("ALS(") : -1]
        return f"SparkALS({inner}, master={self.master!r})"

    def fit(
        self,
        train: Ratings | sp.spmatrix | sp.sparray,
        validation: Ratings | sp.spmatrix | sp.sparray | None = None,
        callback: Callable[[FitEvent], Any] | None = None,
    ) -> SparkALS:
        """Fit with Spark; ``callback`` receives one event, after the whole Spark fit."""
        R = as_csr(train)
        V = None if validation is None else as_csr(validation)
        self._validate(R, V)
        self.check_spark_settings()
        start = time.perf_counter()
        dtype = np.dtype(self.dtype)
        rows = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))
        cols = R.indices
        mu, bu, bi = 0.0, None, None
        targets = R.data
        if self.biases:
            pre = BiasOnly(lam=self.bias_lam).fit(R)
            mu = pre.global_mean_
            bu, bi = pre.user_bias_.astype(dtype), pre.item_bias_.astype(dtype)
            targets = R.data - mu - pre.user_bias_[rows] - pre.item_bias_[cols]
        table = pa.table(
            {
                "user": pa.array(rows.astype(np.int32)),
                "item": pa.array(cols.astype(np.int32)),
                "rating": pa.array(np.asarray(targets, dtype=np.float32)),
            }
        )
        X, Y, details = self._run_spark(table, R.shape, dtype)
        user_counts = np.diff(R.indptr)
        item_counts = np.bincount(cols, minlength=R.shape[1])
        self._set_state(R, X, Y, bu, bi, mu, user_counts, item_counts, train)
        self._check_finite()
        row = self._history_row(R, V, time.perf_counter() - start)
        self.history_ = _one_row_history(row)
        self.n_iter_ = int(self.iterations)
        self.stop_reason_ = "iterations"
        self.best_iteration_ = None
        self.best_validation_rmse_ = None
        self.snapshots_ = None
        self.fit_seconds_ = time.perf_counter() - start
        self.engine_ = "spark"
        self.engine_details_ = details
        if callback is not None:
            callback(FitEvent(iterations=int(self.iterations), model=self, **row))
        return self

    def check_spark_settings(self) -> None:
        """Raise if a setting has no Spark counterpart, or pyspark or Java is missing; cheap,
        so callers can check before reading a large file."""
        if self.regularization != "weighted":
            raise ValueError(
                f"the spark engine supports only regularization='weighted' (Spark's regParam "
                f"is ALS-WR's λ·n), got {self.regularization!r}; use the numpy engine for the "
                "plain λ"
            )
        unsupported = [
            name
            for name, value in (("tol", self.tol), ("patience", self.patience))
            if value is not None
        ] + (["snapshots"] if self.snapshots else [])
        if unsupported:
            raise ValueError(
                f"the spark engine does not support {', '.join(unsupported)}: Spark runs all "
                "iterations in one job and reports nothing in between"
            )
        if int(self.iterations) < 1:
            raise ValueError(f"the spark engine needs iterations ≥ 1, got {self.iterations}")
        if self.num_blocks is not None and int(self.num_blocks) < 1:
            raise ValueError(f"num_blocks must be a positive integer, got {self.num_blocks}")
        _require_spark()

    def _spark_seed(self) -> int:
        if self.seed is None:
            return int(np.random.default_rng().integers(0, 2**62))
        return int(self.seed)

    def _run_spark(
        self, table: pa.Table, shape: tuple[int, int], dtype: np.dtype
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        params: dict[str, Any] = {
            "rank": int(self.k),
            "maxIter": int(self.iterations),
            "regParam": float(self.lam),
            "seed": self._spark_seed(),
            "implicitPrefs": False,
            "nonnegative": False,
            "coldStartStrategy": "drop",
            "userCol": "user",
            "itemCol": "item",
            "ratingCol": "rating",
        }
        if self.num_blocks is not None:
            params["numUserBlocks"] = params["numItemBlocks"] = int(self.num_blocks)
        with self._session() as spark, _ratings_frame(spark, table) as (frame, transfer):
            from pyspark.ml.recommendation import ALS as MLlibALS

            try:
                fitted = MLlibALS(**params).fit(frame)
                users = fitted.userFactors.toArrow()
                items = fitted.itemFactors.toArrow()
            except Exception as exc:  # Py4JJavaError & co: a Java stack trace as the message
                raise SparkFitError(spark_error_message(exc)) from exc
            X = _factors_to_numpy(users, shape[0], self.k, dtype)
            Y = _factors_to_numpy(items, shape[1], self.k, dtype)
            details = {
                "spark_version": spark.version,
                "master": spark.sparkContext.master,
                "spark_params": params,
                "ratings_transfer": transfer,
                "biases": (
                    f"fitted first by BiasOnly(lam={self.bias_lam}); Spark factors the residuals"
                    if self.biases
                    else "none"
                ),
            }
        return X, Y, details

    @contextmanager
    def _session(self) -> Iterator[Any]:
        if self.spark is not None:
            yield self.spark
            return
        with spark_session(self.master, conf=self.spark_conf) as spark:
            yield spark

    def _history_row(
        self, R: sp.csr_matrix, V: sp.csr_matrix | None, seconds: float
    ) -> dict[str, Any]:
        terms = objective(
            R,
            self.user_factors_,
            self.item_factors_,
            self.lam,
            self.regularization,
            user_bias=self.user_bias_,
            item_bias=self.item_bias_,
            global_mean=self.global_mean_,
        )
        val_rmse = self._rmse_on(observed(V))
        return {
            "iteration": int(self.iterations),
            "side": "users",
            "objective": terms.total,
            "data_term": terms.data,
            "regularization_term": terms.regularization,
            "train_rmse": float(np.sqrt(terms.data / R.nnz)) if R.nnz else float("nan"),
            "validation_rmse": val_rmse,
            "seconds": seconds,
            "elapsed": seconds,
        }


@contextmanager
def _ratings_frame(spark: Any, table: pa.Table) -> Iterator[tuple[Any, str]]:
    """The ratings as a Spark DataFrame, and how they got there.

    In local mode they go through a Parquet file in a temporary directory, which Spark reads in
    partitions like any data set. ``createDataFrame`` would instead keep them in the driver as a
    local relation that every job re-materialises: several times the data in JVM heap (a
    MovieLens-1M-sized fit ran out of Spark's default 1 GB). On a cluster, executors cannot see
    this machine's disk, so the table is sent through the driver with ``createDataFrame``.
    """
    if not str(spark.sparkContext.master).startswith("local"):
        yield spark.createDataFrame(table), "createDataFrame (through the driver)"
        return
    folder = Path(tempfile.mkdtemp(prefix="als-spark-ratings-"))
    try:
        path = folder / "ratings.parquet"
        pq.write_table(table, path)
        yield spark.read.parquet(str(path)), "Parquet file read by Spark"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _factors_to_numpy(table: pa.Table, n: int, k: int, dtype: np.dtype) -> np.ndarray:
    """Spark's (id, features) rows → an (n, k) array in index order; ids Spark never saw
    (no training ratings) get zero rows, as the numpy engine gives them."""
    ids = table.column("id").to_numpy()
    features = table.column("features").combine_chunks()
    values = features.flatten().to_numpy(zero_copy_only=False).reshape(len(ids), k)
    out = np.zeros((n, k), dtype=dtype)
    out[ids] = values
    return out


def _one_row_history(row: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([row], columns=HISTORY_COLUMNS)
