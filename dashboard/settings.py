"""Training settings → model: the one place a page's choices become an ``ac.ALS`` and a fit;
and back, a fitted model's settings as the library's objective and half-step take them.

Plain Python on top of als_core (no Streamlit), so the background job that fits, the tests and
the benchmarks all use exactly what the Train page uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import als_core as ac

from . import formulas

#: Good defaults on the movie-night sample, measured: over 4 random 20% splits, k = 2 with plain
#: λ = 1 and biases reaches validation RMSE 0.665 (k = 4: 0.74, k = 8: 0.79; biases alone ~1.2),
#: and its planted tastes are two-dimensional, so the Latent page shows the raw factors.
DEFAULT_SETTINGS: dict[str, Any] = {
    "k": 2,
    "lam": 1.0,
    "iterations": 15,
    "regularization": "plain",
    "damping": 0.0,  # weighted only: the ridge is λ·(n + damping)
    "biases": True,
    "split": "random",
    "fraction": 0.2,
    "n_per_user": 1,
    "seed": 0,
    "stopping": "fixed",
    "tol": 1e-4,
    "patience": 3,
}
SPLIT_METHODS = ("random", "per_user", "by_time", "none")
STOPPING_RULES = ("fixed", "tolerance", "patience")
MAX_K = 64
MAX_ITERATIONS = 50


@dataclass(frozen=True)
class FitResult:
    """A fitted model with the exact settings and data split it was trained on."""

    settings: dict  # k, lam, iterations, regularization, biases, split, fraction, seed, stopping…
    model: ac.ALS  # fitted
    train: ac.Ratings
    validation: ac.Ratings | None
    seconds: float
    fingerprint: str = ""  # of the full dataset the split was taken from
    origin: str = ""  # "" when trained here; the Dataset.source of a model opened from disk

    @property
    def external(self) -> bool:
        """True for a model trained outside the app and opened from a model directory."""
        return bool(self.origin)

    @property
    def key(self) -> tuple[str, tuple]:
        """(data fingerprint, settings key): what caches of this fit's figures are keyed on."""
        return (self.fingerprint, settings_key(self.settings))


def max_k(ratings: ac.Ratings) -> int:
    """Largest rank offered for these data: k ≤ min(n_users, n_items), and at most MAX_K."""
    return int(max(1, min(MAX_K, ratings.n_users, ratings.n_items)))


def effective_settings(settings: dict[str, Any], ratings: ac.Ratings) -> dict[str, Any]:
    """The settings a fit really uses on these data (complete, clamped, consistent).

    k is clamped to what the data allow; a time split without timestamps becomes a random one;
    stopping on patience without a validation set becomes a fixed number of iterations.
    """
    s = {**DEFAULT_SETTINGS, **settings}
    s["k"] = int(min(max(1, int(s["k"])), max_k(ratings)))
    s["lam"] = float(s["lam"])
    # Damping only means something with weighted regularisation (ALS refuses it with plain).
    s["damping"] = float(s["damping"]) if s["regularization"] == "weighted" else 0.0
    s["iterations"] = int(min(max(1, int(s["iterations"])), MAX_ITERATIONS))
    s["fraction"] = float(s["fraction"])
    s["n_per_user"] = int(s["n_per_user"])
    s["seed"] = int(s["seed"])
    s["biases"] = bool(s["biases"])
    s["tol"] = float(s["tol"])
    s["patience"] = int(s["patience"])
    if s["split"] == "by_time" and ratings.timestamps is None:
        s["split"] = "random"
    if s["split"] == "none" and s["stopping"] == "patience":
        s["stopping"] = "fixed"
    return s


def settings_key(settings: dict[str, Any]) -> tuple:
    """A hashable, order-independent key for a settings dict."""
    return tuple(sorted(settings.items()))


def split_ratings(ratings: ac.Ratings, s: dict[str, Any]) -> tuple[ac.Ratings, ac.Ratings | None]:
    """Hold out validation ratings as the settings say (``split == "none"``: no validation)."""
    if s["split"] == "none":
        return ratings, None
    if s["split"] == "random":
        train, valid = ac.split(ratings, method="random", fraction=s["fraction"], seed=s["seed"])
    else:
        train, valid = ac.split(
            ratings, method=s["split"], n_per_user=s["n_per_user"], seed=s["seed"]
        )
    return train, (valid if valid.nnz else None)


def build_model(s: dict[str, Any], *, has_validation: bool) -> ac.ALS:
    """An unfitted ALS estimator for effective settings ``s``."""
    return ac.ALS(
        k=s["k"],
        lam=s["lam"],
        iterations=s["iterations"],
        regularization=s["regularization"],
        damping=s["damping"],
        biases=s["biases"],
        tol=s["tol"] if s["stopping"] == "tolerance" else None,
        patience=s["patience"] if (s["stopping"] == "patience" and has_validation) else None,
        seed=s["seed"],
    )


def fit_model(
    ratings: ac.Ratings,
    settings: dict[str, Any],
    *,
    callback: Any = None,
    fingerprint: str = "",
    snapshot_max_bytes: int | None = None,
) -> FitResult:
    """Split and fit: the one place a page's settings become a model.

    ``snapshot_max_bytes``: keep the factors after every half-step (``model.snapshots_``) in
    at most this much memory (past it the library keeps every other one); None keeps none."""
    s = effective_settings(settings, ratings)
    train, valid = split_ratings(ratings, s)
    model = build_model(s, has_validation=valid is not None)
    if snapshot_max_bytes is not None:
        model.snapshots = True
        model.snapshot_max_bytes = snapshot_max_bytes
    start = time.perf_counter()
    model.fit(train, validation=valid, callback=callback)
    return FitResult(
        settings=s,
        model=model,
        train=train,
        validation=valid,
        seconds=time.perf_counter() - start,
        fingerprint=fingerprint,
    )


def global_mean_term(model: ac.ALS) -> float:
    """μ as the solve and the objective take it: the model's global mean with biases, else 0."""
    return float(model.global_mean_) if model.biases else 0.0


def objective_settings(model: ac.ALS) -> dict[str, Any]:
    """λ, regularisation, μ and n₀ of a fitted model, as ``ac.objective`` (and
    ``ac.objective_gradient``) take them after R and the factors."""
    return {
        "lam": float(model.lam),
        "regularization": model.regularization,
        "global_mean": global_mean_term(model),
        "damping": float(getattr(model, "damping", 0.0) or 0.0),
    }


def half_step_callback(
    progress: Callable[[int, int, str], Any],
    should_stop: Callable[[], bool],
    describe: Callable[[ac.FitEvent], str],
) -> Callable[[ac.FitEvent], None]:
    """A fit ``callback`` for a background job (any estimator's ``FitEvent``): each half-step is
    reported as ``progress(done, total, describe(event))`` in half-steps, and the fit stops
    after the half-step during which ``should_stop()`` became true."""

    def callback(event: ac.FitEvent) -> None:
        total = 2 * int(event.iterations)
        progress(round(event.fraction_done * total), total, describe(event))
        if should_stop():
            event.stop()

    return callback


def fit_metrics(fit: FitResult) -> dict[str, Any]:
    """Final numbers of a fit, for the sidebar, the metrics row and the runs table."""
    m = fit.model
    h = m.history_
    last = h.iloc[-1] if len(h) else None
    validation_rmse = float(last["validation_rmse"]) if last is not None else float("nan")
    if m.stop_reason_ == "patience" and m.best_validation_rmse_ is not None:
        # Early stopping keeps the best iteration's factors, so that is the model's RMSE.
        validation_rmse = float(m.best_validation_rmse_)
    best_iteration, best_rmse = m.best_iteration_, m.best_validation_rmse_
    if m.stop_reason_ == "callback" and h["validation_rmse"].notna().any():
        # A stopped fit ends before it books its last iteration as a candidate for best.
        ends = h.groupby("iteration")["validation_rmse"].last()
        best_iteration, best_rmse = int(ends.idxmin()), float(ends.min())
    return {
        "train_rmse": float(last["train_rmse"]) if last is not None else float("nan"),
        "validation_rmse": validation_rmse,
        "best_iteration": best_iteration,
        "best_validation_rmse": best_rmse,
        "iterations_run": int(fit.model.n_iter_),
        "stop_reason": fit.model.stop_reason_,
        "objective": float(last["objective"]) if last is not None else float("nan"),
    }


def describe_lambda(regularization: str, damping: float = 0.0) -> str:
    """What λ multiplies under each regularisation, with the damping n₀ of the weighted one
    (``formulas.lambda_caption``)."""
    return formulas.lambda_caption(
        formulas.Form(regularization=regularization, damping=float(damping or 0.0))
    )
