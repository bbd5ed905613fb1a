"""Experiments that check the article's claims on any data: pure functions, plain results.

Every function takes ``progress(done, total, message)`` (called after each fit, and once at the
start with done = 0) and ``should_stop()`` (checked before every fit and after every step inside
a fit, so a stop takes effect within one step). A stopped experiment returns what it has so far,
marked ``stopped``. Nothing here draws or caches: that is the caller's business.

- ``compare_methods``: ALS vs gradient descent vs SGD on one objective, one start, one λ.
- ``missing_vs_zero``: truncated SVD of the zero-filled matrix vs ALS on the observed entries.
- ``sweep``: a k × λ grid of validation RMSE, with the best cell.
- ``recovery``: on synthetic data with known factors, subspace angles and RMSE vs the noise floor.
- ``baselines_table``: global mean, biases only, ALS without and with biases.
- ``ranking_table``: popularity, zero-filled SVD, explicit ALS and implicit ALS on ranking metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg

from .als import ALS, FitEvent, objective
from .baselines import BiasOnly, GlobalMean, Popularity, ZeroFilledSVD
from .gradient import SGD, GradientDescent
from .implicit import ImplicitALS, threshold_interactions
from .metrics import ranking_metrics, rmse
from .ratings import Ratings

Progress = Callable[[int, int, str], Any]
ShouldStop = Callable[[], bool]

COMPARE_COLUMNS = [
    "method",
    "step",
    "seconds",
    "objective",
    "train_rmse",
    "validation_rmse",
]
SWEEP_COLUMNS = ["k", "lam", "train_rmse", "validation_rmse", "objective", "seconds", "iterations"]


class _Run:
    """Progress and stop bookkeeping shared by the experiments."""

    def __init__(self, total: int, progress: Progress | None, should_stop: ShouldStop | None):
        self.total = int(total)
        self.done = 0
        self._progress = progress
        self._should_stop = should_stop
        self.stopped = False
        self.report("starting")

    def report(self, message: str) -> None:
        if self._progress is not None:
            self._progress(self.done, self.total, message)

    def finished(self, message: str) -> None:
        self.done += 1
        self.report(message)

    def stop_now(self) -> bool:
        """True once ``should_stop()`` has said so (then stays True)."""
        if not self.stopped and self._should_stop is not None and self._should_stop():
            self.stopped = True
        return self.stopped

    def callback(self, deadline: float | None = None) -> Callable[[FitEvent], None]:
        """A fit callback that stops the fit on a stop request or after ``deadline`` seconds of
        the fit's own elapsed time."""

        def callback(event: FitEvent) -> None:
            if self.stop_now() or (deadline is not None and event.elapsed >= deadline):
                event.stop()

        return callback


def _validation_rmse(model: Any, validation: Ratings | None) -> float:
    if validation is None or validation.nnz == 0:
        return float("nan")
    users, items, actual = validation.coo()
    return rmse(actual, model.predict(users, items))


def _train_rmse(model: Any, train: Ratings) -> float:
    return _validation_rmse(model, train)


# --------------------------------------------------------------------------------- compare
def compare_methods(
    train: Ratings,
    validation: Ratings | None,
    *,
    k: int = 10,
    lam: float = 0.1,
    regularization: str = "plain",
    biases: bool = False,
    seed: int | None = 0,
    init_scale: float = 0.1,
    seconds_budget: float = 2.0,
    als_iterations: int = 500,
    als_tol: float | None = 1e-9,
    gd_iterations: int = 2000,
    sgd_epochs: int = 300,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> pd.DataFrame:
    """ALS, gradient descent (Armijo line search) and SGD (tuned, decaying rate) on the same
    objective, data, start and λ; each gets at most ``seconds_budget`` seconds of its own.
    ALS runs until its objective changes by less than ``als_tol`` (relative) over an iteration,
    or ``als_iterations``, or the budget: a method that ends higher has not converged yet.

    Returns a tidy frame with one row per method and step: ``method`` ("ALS", "gradient
    descent", "SGD"), ``step`` (0 = the shared random start; ALS counts half-steps as 0.5, so
    step 1 is one full users + items iteration; GD counts gradient steps, SGD epochs),
    ``seconds`` (the method's elapsed time at that step: the running sum of its steps' seconds,
    each including its objective and validation RMSE; SGD's counts its rate search),
    ``objective``, ``train_rmse`` (from the data term, unclipped) and ``validation_rmse`` (clipped
    predictions). ``attrs`` holds ``stopped``, per method ``stop_reasons``, SGD's
    ``learning_rate`` and ALS's ``als_tol``.
    """
    settings = {
        "k": k,
        "lam": lam,
        "regularization": regularization,
        "biases": biases,
        "seed": seed,
        "init_scale": init_scale,
    }
    run = _Run(3, progress, should_stop)
    frames = []
    start_model = ALS(iterations=0, **settings).fit(train)
    start = _start_row(start_model, train, validation, lam, regularization)
    stop_reasons: dict[str, str] = {}
    attrs: dict[str, Any] = {}
    methods = (
        ("ALS", lambda: ALS(iterations=als_iterations, tol=als_tol, **settings)),
        (
            "gradient descent",
            lambda: GradientDescent(
                iterations=gd_iterations, max_seconds=seconds_budget, **settings
            ),
        ),
        ("SGD", lambda: SGD(iterations=sgd_epochs, max_seconds=seconds_budget, **settings)),
    )
    for name, make in methods:
        if run.stop_now():
            break
        model = make()
        model.fit(train, validation, callback=run.callback(seconds_budget))
        history = model.history_
        if name == "ALS":
            steps = np.arange(1, len(history) + 1) / 2.0
        else:
            steps = history["iteration"].to_numpy(dtype=float)
            if name == "SGD":
                attrs["learning_rate"] = model.learning_rate_
        # One clock for every method: the running sum of the steps' own seconds.
        seconds = history["seconds"].cumsum().to_numpy()
        if name == "SGD":
            seconds = seconds + model.tuning_seconds_
        frame = pd.DataFrame(
            {
                "method": name,
                "step": steps,
                "seconds": seconds,
                "objective": history["objective"].to_numpy(),
                "train_rmse": history["train_rmse"].to_numpy(),
                "validation_rmse": history["validation_rmse"].to_numpy(),
            }
        )
        frames.append(pd.concat([pd.DataFrame([{"method": name, **start}]), frame]))
        stop_reasons[name] = "stopped" if run.stopped else model.stop_reason_
        run.finished(f"{name}: {len(history)} steps")
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COMPARE_COLUMNS)
    out = out[COMPARE_COLUMNS]
    out.attrs.update(attrs, stopped=run.stopped, stop_reasons=stop_reasons, als_tol=als_tol)
    return out


def _start_row(model: ALS, train: Ratings, validation, lam: float, regularization: str) -> dict:
    terms = objective(
        train,
        model.user_factors_,
        model.item_factors_,
        lam,
        regularization,
        user_bias=model.user_bias_,
        item_bias=model.item_bias_,
        global_mean=model.global_mean_,
    )
    return {
        "step": 0.0,
        "seconds": 0.0,
        "objective": terms.total,
        "train_rmse": float(np.sqrt(terms.data / train.nnz)) if train.nnz else np.nan,
        "validation_rmse": _validation_rmse(model, validation),
    }


# --------------------------------------------------------------------------------- missing
@dataclass
class MissingVsZero:
    """Zero-filled SVD against ALS on the same split.

    ``table``: method, train_rmse, validation_rmse, seconds. ``actual``: the held-out ratings;
    ``predictions`` / ``raw_predictions``: per method, its clipped / unclipped predictions for
    those same (user, item) pairs, in ``validation.coo()`` order.
    """

    table: pd.DataFrame
    actual: np.ndarray
    predictions: dict[str, np.ndarray]
    raw_predictions: dict[str, np.ndarray]
    stopped: bool = False


def missing_vs_zero(
    train: Ratings,
    validation: Ratings,
    *,
    k: int = 10,
    lam: float = 0.1,
    iterations: int = 15,
    regularization: str = "plain",
    biases: bool = False,
    both_biases: bool = False,
    include_mean_fill: bool = True,
    seed: int | None = 0,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> MissingVsZero:
    """Missing cells read as zeros, measured: a rank-k truncated SVD of the zero-filled matrix
    (and, with ``include_mean_fill``, of the matrix filled with the training mean) against ALS
    of the same rank fitted on the observed entries only.

    Method names: "zero-filled SVD", "mean-filled SVD", then "ALS (observed only)" (with
    ``biases`` as given), or with ``both_biases`` "ALS (no biases)" and "ALS (with biases)".
    Compare like with like: the zero-filled SVD and ALS without biases have no intercept (a
    factor must carry the overall level), the mean-filled SVD has μ, ALS with biases has
    μ + b_u + b_i.
    """
    if validation is None or validation.nnz == 0:
        raise ValueError("missing_vs_zero needs held-out ratings: pass a non-empty validation")
    makers: list[tuple[str, Callable[[], Any]]] = [
        ("zero-filled SVD", lambda: ZeroFilledSVD(k=k, fill="zero", seed=seed)),
    ]
    if include_mean_fill:
        makers.append(("mean-filled SVD", lambda: ZeroFilledSVD(k=k, fill="mean", seed=seed)))
    als = partial(
        ALS, k=k, lam=lam, iterations=iterations, regularization=regularization, seed=seed
    )
    if both_biases:
        makers.append(("ALS (no biases)", partial(als, biases=False)))
        makers.append(("ALS (with biases)", partial(als, biases=True)))
    else:
        makers.append(("ALS (observed only)", partial(als, biases=biases)))
    run = _Run(len(makers), progress, should_stop)
    users, items, actual = validation.coo()
    rows, predictions, raw = [], {}, {}
    for name, make in makers:
        if run.stop_now():
            break
        model, seconds = _timed_fit(make, train, run)
        predictions[name] = model.predict(users, items)
        raw[name] = model.predict(users, items, clip=False)
        rows.append(
            {
                "method": name,
                "train_rmse": _train_rmse(model, train),
                "validation_rmse": float(np.sqrt(np.mean((actual - predictions[name]) ** 2))),
                "seconds": seconds,
            }
        )
        run.finished(name)
    table = pd.DataFrame(rows, columns=["method", "train_rmse", "validation_rmse", "seconds"])
    return MissingVsZero(table, actual, predictions, raw, stopped=run.stopped)


# --------------------------------------------------------------------------------- sweep
@dataclass
class SweepResult:
    """``grid``: one row per (k, λ) fitted, columns k, lam, train_rmse, validation_rmse,
    objective, seconds, iterations (in the order fitted: k outer, λ inner). ``best``: the row
    with the lowest validation RMSE (empty when nothing was fitted)."""

    grid: pd.DataFrame
    best: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False

    def pivot(self, value: str = "validation_rmse") -> pd.DataFrame:
        """The grid as a k × λ table of one column (for a heatmap)."""
        return self.grid.pivot(index="k", columns="lam", values=value)


def sweep(
    train: Ratings,
    validation: Ratings,
    *,
    ks: Sequence[int],
    lams: Sequence[float],
    iterations: int = 15,
    regularization: str = "plain",
    biases: bool = False,
    seed: int | None = 0,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> SweepResult:
    """Fit ALS for every k in ``ks`` and λ in ``lams`` (same split, same seed) and record train
    and validation RMSE (clipped predictions, computed the same way for both) per cell."""
    if validation is None or validation.nnz == 0:
        raise ValueError("sweep needs held-out ratings: pass a non-empty validation")
    ks = [int(x) for x in ks]
    lams = [float(x) for x in lams]
    if not ks or not lams:
        raise ValueError(f"ks and lams must each hold at least one value, got {ks} and {lams}")
    limit = min(train.shape)
    too_big = [x for x in ks if not 1 <= x <= limit]
    if too_big:
        raise ValueError(f"every k must be in 1..{limit} (min(n_users, n_items)), got {too_big}")
    run = _Run(len(ks) * len(lams), progress, should_stop)
    rows = []
    for k in ks:
        for lam in lams:
            if run.stop_now():
                break
            make = partial(
                ALS,
                k=k,
                lam=lam,
                iterations=iterations,
                regularization=regularization,
                biases=biases,
                seed=seed,
            )
            model, seconds = _timed_fit(make, train, run)
            rows.append(
                {
                    "k": k,
                    "lam": lam,
                    "train_rmse": _train_rmse(model, train),
                    "validation_rmse": _validation_rmse(model, validation),
                    "objective": _final_objective(model),
                    "seconds": seconds,
                    "iterations": int(model.n_iter_),
                }
            )
            run.finished(f"k={k}, λ={lam:g}")
    grid = pd.DataFrame(rows, columns=SWEEP_COLUMNS)
    best: dict[str, Any] = {}
    if len(grid) and grid["validation_rmse"].notna().any():
        best = grid.loc[grid["validation_rmse"].idxmin()].to_dict()
    return SweepResult(grid=grid, best=best, stopped=run.stopped)


# --------------------------------------------------------------------------------- recovery
@dataclass
class RecoveryResult:
    """One row per k: validation and train RMSE, the noise σ and the oracle RMSE (the truth's own
    clipped predictions on the held-out ratings: the floor no model can beat on average), and
    the principal angles (degrees) between learned and true user / item factor subspaces."""

    table: pd.DataFrame
    true_rank: int
    sigma: float | None
    stopped: bool = False


def subspace_angles_deg(learned: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Principal angles (degrees, largest first) between the column spaces of two matrices with
    the same number of rows; min(k, r) angles. 0 means the smaller space lies in the larger."""
    return np.degrees(scipy.linalg.subspace_angles(learned, true))


def recovery(
    truth: Any,
    ks: Sequence[int],
    *,
    lam: float = 0.1,
    iterations: int = 30,
    starts: int = 3,
    fraction: float = 0.2,
    split_seed: int | None = 0,
    seed: int = 0,
    sigma: float | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> RecoveryResult:
    """Recovery of planted factors as k goes below and above the true rank.

    ``truth`` is anything with ``ratings`` (``ac.Ratings``), ``user_factors`` and
    ``item_factors`` (the true factors, index-aligned; the true rating is their dot product),
    e.g. the result of ``ac.synthetic``; σ is read from ``truth.settings["noise"]`` unless
    ``sigma`` is given. The ratings are split at random (``fraction``, ``split_seed``), then
    ``recovery_on_split`` does the work.
    """
    from .split import split

    ratings = truth.ratings
    train, validation = split(ratings, method="random", fraction=fraction, seed=split_seed)
    settings = getattr(truth, "settings", None) or {}
    if sigma is None:
        sigma = settings.get("noise")
    # The observed ratings were clipped to the scale when the generator clipped: so is the oracle.
    clip_to = tuple(settings["scale"]) if settings.get("clip") and "scale" in settings else None
    return recovery_on_split(
        train,
        validation,
        true_user_factors=np.asarray(truth.user_factors),
        true_item_factors=np.asarray(truth.item_factors),
        ks=ks,
        sigma=sigma,
        clip_to=clip_to,
        lam=lam,
        iterations=iterations,
        starts=starts,
        seed=seed,
        progress=progress,
        should_stop=should_stop,
    )


def recovery_on_split(
    train: Ratings,
    validation: Ratings,
    *,
    true_user_factors: np.ndarray,
    true_item_factors: np.ndarray,
    ks: Sequence[int],
    sigma: float | None = None,
    clip_to: tuple[float, float] | None = None,
    lam: float = 0.1,
    iterations: int = 30,
    starts: int = 3,
    seed: int = 0,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> RecoveryResult:
    """``recovery`` on a given split with the true factors as plain arrays.

    ALS (plain λ, no biases: the truth is a pure product) is fitted for each k from ``starts``
    random starts (seeds ``seed``, ``seed + 1``, ...), keeping the one with the lowest training
    objective: at k = true rank ALS can settle in a spurious local minimum (measured: 2 of 5 seeds
    on a noise-free 60 × 40 rank-2 problem stopped at train RMSE 0.44 instead of 0), which would
    show as a large angle that says nothing about the rank. Angles compare
    the users (items) that have training ratings only: the others get a zero factor by
    construction and carry no information about the subspace. ``clip_to`` clips the oracle's
    predictions like the observed ratings were clipped (default: no clipping).
    """
    U = np.asarray(true_user_factors, dtype=np.float64)
    V = np.asarray(true_item_factors, dtype=np.float64)
    if U.shape[0] != train.n_users or V.shape[0] != train.n_items or U.shape[1] != V.shape[1]:
        raise ValueError(
            f"expected true factors of shapes ({train.n_users}, r) and ({train.n_items}, r), "
            f"got {U.shape} and {V.shape}"
        )
    ks = [int(x) for x in ks]
    limit = min(train.shape)
    bad = [x for x in ks if not 1 <= x <= limit]
    if bad or not ks:
        raise ValueError(f"ks must be integers in 1..{limit}, got {ks}")
    if isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1:
        raise ValueError(f"starts must be a positive integer, got {starts!r}")
    users, items, actual = validation.coo()
    oracle = np.einsum("nk,nk->n", U[users], V[items])
    if clip_to is not None:
        oracle = np.clip(oracle, *clip_to)
    oracle_rmse = float(np.sqrt(np.mean((actual - oracle) ** 2))) if len(actual) else np.nan
    active_users = train.user_counts() > 0
    active_items = train.item_counts() > 0
    run = _Run(len(ks), progress, should_stop)
    rows = []
    for k in ks:
        if run.stop_now():
            break
        t0 = time.perf_counter()
        model = _best_of_starts(train, k, lam, iterations, seed, starts, run)
        seconds = time.perf_counter() - t0
        user_angles = subspace_angles_deg(model.user_factors_[active_users], U[active_users])
        item_angles = subspace_angles_deg(model.item_factors_[active_items], V[active_items])
        rows.append(
            {
                "k": k,
                "train_rmse": _train_rmse(model, train),
                "validation_rmse": _validation_rmse(model, validation),
                "objective": _final_objective(model),
                "seed": model.seed,
                "sigma": np.nan if sigma is None else float(sigma),
                "oracle_rmse": oracle_rmse,
                "user_angle_max_deg": float(user_angles.max()),
                "user_angle_mean_deg": float(user_angles.mean()),
                "item_angle_max_deg": float(item_angles.max()),
                "item_angle_mean_deg": float(item_angles.mean()),
                "seconds": seconds,
            }
        )
        run.finished(f"k={k}")
    table = pd.DataFrame(
        rows,
        columns=[
            "k",
            "train_rmse",
            "validation_rmse",
            "objective",
            "seed",
            "sigma",
            "oracle_rmse",
            "user_angle_max_deg",
            "user_angle_mean_deg",
            "item_angle_max_deg",
            "item_angle_mean_deg",
            "seconds",
        ],
    )
    return RecoveryResult(
        table=table,
        true_rank=int(U.shape[1]),
        sigma=None if sigma is None else float(sigma),
        stopped=run.stopped,
    )


def _timed_fit(make: Callable[[], Any], train: Ratings, run: _Run) -> tuple[Any, float]:
    """A model from ``make`` fitted on ``train``, and the seconds that took; the iterative
    ones (ALS and its subclasses, implicit ALS) get ``run``'s callback, so a stop request ends
    them within one step (the baselines fit in one go)."""
    t0 = time.perf_counter()
    model = make()
    if isinstance(model, (ALS, ImplicitALS)):
        model.fit(train, callback=run.callback())
    else:
        model.fit(train)
    return model, time.perf_counter() - t0


def _final_objective(model: ALS) -> float:
    return float(model.history_["objective"].iloc[-1]) if len(model.history_) else np.nan


def _best_of_starts(
    train: Ratings, k: int, lam: float, iterations: int, seed: int, starts: int, run: _Run
) -> ALS:
    best = None
    for offset in range(int(starts)):
        if offset and run.stop_now():
            break
        model = ALS(k=k, lam=lam, iterations=iterations, seed=int(seed) + offset)
        model.fit(train, callback=run.callback())
        if best is None or _final_objective(model) < _final_objective(best):
            best = model
    return best


# --------------------------------------------------------------------------------- baselines
def baselines_table(
    train: Ratings,
    validation: Ratings,
    *,
    k: int = 10,
    lam: float = 0.1,
    bias_lam: float = 5.0,
    iterations: int = 15,
    regularization: str = "plain",
    seed: int | None = 0,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> pd.DataFrame:
    """Global mean, bias-only (μ + b_u + b_i, ridge ``bias_lam``), ALS without biases and ALS
    with biases (both ``k``, ``lam``, ``regularization``), on one split.

    Columns: method, train_rmse, validation_rmse (clipped predictions), seconds, settings.
    ``attrs["stopped"]`` tells whether a stop request cut it short.
    """
    als = {"k": k, "lam": lam, "iterations": iterations, "regularization": regularization}
    makers: list[tuple[str, str, Callable[[], Any]]] = [
        ("global mean", "", GlobalMean),
        ("bias only", f"λ={bias_lam:g}", lambda: BiasOnly(lam=bias_lam)),
        (
            "ALS (no biases)",
            f"k={k}, λ={lam:g} {regularization}",
            lambda: ALS(biases=False, seed=seed, **als),
        ),
        (
            "ALS (with biases)",
            f"k={k}, λ={lam:g} {regularization}",
            lambda: ALS(biases=True, seed=seed, **als),
        ),
    ]
    run = _Run(len(makers), progress, should_stop)
    rows = []
    for name, described, make in makers:
        if run.stop_now():
            break
        model, seconds = _timed_fit(make, train, run)
        rows.append(
            {
                "method": name,
                "train_rmse": _train_rmse(model, train),
                "validation_rmse": _validation_rmse(model, validation),
                "seconds": seconds,
                "settings": described,
            }
        )
        run.finished(name)
    out = pd.DataFrame(
        rows, columns=["method", "train_rmse", "validation_rmse", "seconds", "settings"]
    )
    out.attrs["stopped"] = run.stopped
    return out


# --------------------------------------------------------------------------------- ranking
def ranking_table(
    train: Ratings,
    validation: Ratings,
    *,
    n: int = 10,
    k: int = 10,
    lam: float = 0.1,
    implicit_lam: float = 1.0,
    alpha: float = 10.0,
    iterations: int = 15,
    cg_steps: int = 3,
    min_rating: float | None = None,
    min_interaction: float | None = None,
    seed: int | None = 0,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> pd.DataFrame:
    """Top-n quality on held-out interactions (RMSE does not apply to implicit feedback):
    popularity, the zero-filled SVD (which ranks far better than it predicts ratings), explicit
    ALS with biases, and implicit ALS (c = 1 + α·r) with the exact and the CG solver.

    Relevant = held out by the user (at least ``min_rating`` when given); training items are
    never recommended. The implicit models learn from the training ratings of at least
    ``min_interaction`` only (``threshold_interactions``; None: every rating is an
    interaction). Columns: method, precision@n, recall@n, ndcg@n, users, seconds (fit).
    """
    interactions = threshold_interactions(train, min_interaction)
    makers: list[tuple[str, Callable[[], Any]]] = [
        ("popularity", Popularity),
        ("zero-filled SVD", lambda: ZeroFilledSVD(k=k, seed=seed)),
        (
            "ALS (explicit, biases)",
            lambda: ALS(k=k, lam=lam, iterations=iterations, biases=True, seed=seed),
        ),
        (
            "implicit ALS (exact)",
            lambda: ImplicitALS(
                k=k, lam=implicit_lam, alpha=alpha, iterations=iterations, seed=seed
            ),
        ),
        (
            f"implicit ALS (CG, {cg_steps} steps)",
            lambda: ImplicitALS(
                k=k,
                lam=implicit_lam,
                alpha=alpha,
                iterations=iterations,
                solver="cg",
                cg_steps=cg_steps,
                seed=seed,
            ),
        ),
    ]
    run = _Run(len(makers), progress, should_stop)
    rows = []
    for name, make in makers:
        if run.stop_now():
            break
        data = interactions if name.startswith("implicit") else train
        model, seconds = _timed_fit(make, data, run)
        metrics = ranking_metrics(model, validation, n=n, min_rating=min_rating)
        rows.append({"method": name, **metrics.to_dict(), "seconds": seconds})
        run.finished(name)
    columns = ["method", f"precision@{n}", f"recall@{n}", f"ndcg@{n}", "users", "seconds"]
    out = pd.DataFrame(rows, columns=columns)
    out.attrs["stopped"] = run.stopped
    return out
