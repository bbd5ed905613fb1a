"""What each experiment computes: small builders that turn (data, split, settings) into the
``work(progress, should_stop) -> (value, stopped)`` a ``jobs.Job`` runs, and how the experiments
hold out ratings.

No Streamlit here (the work runs in a background thread); the numbers come from
``als_core.experiments`` and the estimators, never from code of our own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import als_core as ac

from .jobs import Progress, ShouldStop, Work
from .settings import effective_settings, half_step_callback, split_ratings

#: The experiments of the Experiments page, in its order (names in links: ``?section=``).
EXPERIMENTS = ("compare", "missing", "sweep", "recovery", "implicit", "baselines")
#: A held-out share used when the Train page's settings hold nothing out.
FALLBACK_FRACTION = 0.2


# --------------------------------------------------------------------------------- data split
@dataclass(frozen=True)
class SplitChoice:
    """How the experiments hold out ratings: the Train page's split, or a random 20% when the
    Train page holds nothing out."""

    settings: dict
    text: str

    @property
    def key(self) -> tuple:
        s = self.settings
        return (s["split"], s["fraction"], s["n_per_user"], s["seed"])


def split_choice(ratings: ac.Ratings, train_settings: dict) -> SplitChoice:
    s = effective_settings(train_settings, ratings)
    if s["split"] == "none":
        s = {**s, "split": "random", "fraction": FALLBACK_FRACTION}
        text = (
            f"The Train page holds nothing out, so the experiments hold out a random "
            f"{FALLBACK_FRACTION:.0%} of the ratings (seed {s['seed']})."
        )
    elif s["split"] == "random":
        text = f"Held out as on the Train page: a random {s['fraction']:.0%} (seed {s['seed']})."
    else:
        what = "latest" if s["split"] == "by_time" else "random"
        text = (
            f"Held out as on the Train page: each user's {s['n_per_user']} {what} rating(s) "
            f"(seed {s['seed']})."
        )
    return SplitChoice(settings=s, text=text)


def split_data(ratings: ac.Ratings, choice: SplitChoice) -> tuple[ac.Ratings, ac.Ratings]:
    """Train and held-out ratings in one index space; errors say what to change."""
    train, valid = split_ratings(ratings, choice.settings)
    if valid is None or valid.nnz == 0:
        raise ValueError(
            "this split holds out no ratings; on the Train page choose a larger share or "
            "another way to hold out"
        )
    return train, valid


def error_text(error: BaseException) -> str:
    """A message for the page: the library's own words when it explains the problem."""
    if isinstance(error, (ValueError, ac.RatingsError)):
        return f"The experiment could not run: {error}"
    return (
        "The experiment failed unexpectedly (details are in the server log). Try other "
        "settings or a smaller grid."
    )


# --------------------------------------------------------------------------------- experiments


def _stopped(result: Any) -> bool:
    """Whether an experiment's result was cut short: tables carry it in ``attrs["stopped"]``,
    result objects in ``.stopped``."""
    if isinstance(result, pd.DataFrame):
        return bool(result.attrs.get("stopped", False))
    return bool(result.stopped)


def _split_experiment_work(
    ratings: ac.Ratings,
    split: SplitChoice,
    experiment: Callable[..., Any],
    params: dict[str, Any],
    names: tuple[str, ...],
) -> Work:
    """The work of an ``als_core.experiments`` function called as ``experiment(train, valid,
    **settings, progress=..., should_stop=...)`` on the chosen split, with ``settings`` the
    ``names`` taken from ``params`` (a missing one raises ``KeyError`` when the work runs)."""

    def work(progress: Progress, should_stop: ShouldStop) -> tuple[Any, bool]:
        train, valid = split_data(ratings, split)
        settings = {name: params[name] for name in names}
        result = experiment(train, valid, **settings, progress=progress, should_stop=should_stop)
        return result, _stopped(result)

    return work


def compare_work(ratings: ac.Ratings, split: SplitChoice, params: dict[str, Any]) -> Work:
    """ALS vs gradient descent vs SGD (``params``: k, lam, regularization, biases, seed,
    seconds_budget)."""
    names = ("k", "lam", "regularization", "biases", "seed", "seconds_budget")
    return _split_experiment_work(ratings, split, ac.experiments.compare_methods, params, names)


def missing_work(ratings: ac.Ratings, split: SplitChoice, params: dict[str, Any]) -> Work:
    """Zero-filled (and mean-filled) SVD vs ALS on the observed entries, without and with
    biases (``params``: k, lam, regularization, both_biases, seed)."""
    names = ("k", "lam", "regularization", "both_biases", "seed")
    return _split_experiment_work(ratings, split, ac.experiments.missing_vs_zero, params, names)


def sweep_work(ratings: ac.Ratings, split: SplitChoice, params: dict[str, Any]) -> Work:
    """A k × λ grid (``params``: ks, lams, iterations, regularization, biases, seed)."""
    names = ("ks", "lams", "iterations", "regularization", "biases", "seed")
    return _split_experiment_work(ratings, split, ac.experiments.sweep, params, names)


def recovery_work(truth: Any, params: dict[str, Any]) -> Work:
    """Recovery of the planted factors for k in ``params["ks"]`` (its own random split of
    ``params["fraction"]``, best of ``params["starts"]`` starts per k)."""

    def work(
        progress: Progress, should_stop: ShouldStop
    ) -> tuple[ac.experiments.RecoveryResult, bool]:
        result = ac.experiments.recovery(
            truth,
            params["ks"],
            lam=params["lam"],
            iterations=params["iterations"],
            starts=params["starts"],
            fraction=params["fraction"],
            split_seed=params["seed"],
            seed=params["seed"],
            progress=progress,
            should_stop=should_stop,
        )
        return result, _stopped(result)

    return work


@dataclass(frozen=True)
class ImplicitOutcome:
    """Ranking table of the experiment plus the fitted implicit model (for "because you liked")."""

    table: pd.DataFrame
    model: ac.ImplicitALS | None
    n: int
    min_rating: float | None
    min_interaction: float | None = None


def implicit_work(ratings: ac.Ratings, split: SplitChoice, params: dict[str, Any]) -> Work:
    """Ranking metrics of popularity, zero-filled SVD, explicit ALS and implicit ALS (``params``:
    n, k, lam (explicit), implicit_lam, alpha, iterations, min_rating, seed); then the exact
    implicit model once more, kept for explanations."""

    def work(progress: Progress, should_stop: ShouldStop) -> tuple[ImplicitOutcome, bool]:
        train, valid = split_data(ratings, split)
        table = ac.experiments.ranking_table(
            train,
            valid,
            n=params["n"],
            k=params["k"],
            lam=params["lam"],
            implicit_lam=params["implicit_lam"],
            alpha=params["alpha"],
            iterations=params["iterations"],
            min_rating=params["min_rating"],
            min_interaction=params.get("min_interaction"),
            seed=params["seed"],
            progress=progress,
            should_stop=should_stop,
        )
        stopped = _stopped(table)
        model = None
        if not stopped:
            model = ac.ImplicitALS(
                k=params["k"],
                lam=params["implicit_lam"],
                alpha=params["alpha"],
                iterations=params["iterations"],
                seed=params["seed"],
            ).fit(ac.threshold_interactions(train, params.get("min_interaction")))
        outcome = ImplicitOutcome(
            table=table,
            model=model,
            n=params["n"],
            min_rating=params["min_rating"],
            min_interaction=params.get("min_interaction"),
        )
        return outcome, stopped

    return work


def baselines_work(ratings: ac.Ratings, split: SplitChoice, params: dict[str, Any]) -> Work:
    """Global mean, bias only, ALS without and with biases."""
    names = ("k", "lam", "bias_lam", "regularization", "seed")
    return _split_experiment_work(ratings, split, ac.experiments.baselines_table, params, names)


# --------------------------------------------------------------------------------- implicit fit
@dataclass(frozen=True)
class ImplicitFit:
    """An implicit model trained on the Train page's split, with its ranking on held-out
    interactions and popularity's for comparison."""

    model: ac.ImplicitALS
    params: dict
    metrics: pd.Series  # precision@n, recall@n, ndcg@n, users (after the last half-step)
    popularity: pd.Series  # the same for the most-rated items
    n_train: int
    n_heldout: int


def implicit_fit_work(ratings: ac.Ratings, split: SplitChoice, params: dict[str, Any]) -> Work:
    """Fit ``ac.ImplicitALS`` (``params``: k, lam, alpha, iterations, solver, n, seed, and
    ``min_rating``: only training ratings at least this are interactions, and held-out ones
    are relevant from it; None: all) with one progress report per half-step and a stop after
    any half-step."""

    def work(progress: Progress, should_stop: ShouldStop) -> tuple[ImplicitFit, bool]:
        train, valid = split_data(ratings, split)
        min_rating = params.get("min_rating")
        train = ac.threshold_interactions(train, min_rating)
        model = ac.ImplicitALS(
            k=params["k"],
            lam=params["lam"],
            alpha=params["alpha"],
            iterations=params["iterations"],
            solver=params["solver"],
            eval_n=params["n"],
            seed=params["seed"],
        )
        progress(0, 2 * int(params["iterations"]), "Training implicit ALS")
        callback = half_step_callback(
            progress, should_stop, lambda e: f"iteration {e.iteration}, {e.side} solved"
        )
        model.fit(train, validation=valid, callback=callback)
        n = int(params["n"])
        metrics = ac.ranking_metrics_from_factors(
            model.user_factors_, model.item_factors_, train, valid, n, min_rating=min_rating
        )
        popularity = ac.ranking_metrics(
            ac.Popularity().fit(train), valid, n=n, min_rating=min_rating
        )
        fit = ImplicitFit(
            model=model,
            params=dict(params),
            metrics=metrics,
            popularity=popularity,
            n_train=train.nnz,
            n_heldout=valid.nnz,
        )
        return fit, model.stop_reason_ == "callback"

    return work


# --------------------------------------------------------------------------------- pure helpers
def compare_summary(frame: pd.DataFrame, *, tolerance: float = 0.001) -> pd.DataFrame:
    """Per method: steps, seconds (and seconds per step), the final objective and validation
    RMSE, plus when (in seconds of its own) it first came within ``tolerance`` (relative) of
    ALS's final validation RMSE: the fair "who gets there first" number."""
    rows = []
    als = frame[frame["method"] == "ALS"]
    target = float(als["validation_rmse"].iloc[-1]) if len(als) else np.nan
    for method, group in frame.groupby("method", sort=False):
        last = group.iloc[-1]
        reached = group[group["validation_rmse"] <= target * (1.0 + tolerance)]
        rows.append(
            {
                "method": method,
                "steps": float(last["step"]),
                "seconds": float(last["seconds"]),
                "seconds per step": float(last["seconds"]) / float(last["step"])
                if last["step"] > 0
                else np.nan,
                "objective": float(last["objective"]),
                "validation RMSE": float(last["validation_rmse"]),
                "reached ALS's RMSE after (s)": float(reached["seconds"].iloc[0])
                if len(reached)
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def objectives_against_als(summary: pd.DataFrame) -> tuple[float, pd.DataFrame] | None:
    """ALS's final objective and every other method's, with its relative difference
    objective / ALS's − 1 (from ``compare_summary``); None when ALS did not run."""
    by_method = summary.set_index("method")
    if "ALS" not in by_method.index:
        return None
    als = float(by_method.loc["ALS", "objective"])
    others = by_method.drop(index="ALS")[["objective"]].copy()
    others["relative"] = others["objective"] / als - 1
    return als, others


def sweep_axes(grid: pd.DataFrame, best: dict[str, Any]) -> tuple[list, list, int, float]:
    """The sweep's ks and λs, ascending, and the best cell's k and λ (the first of each
    without a best cell): what the curves through the grid offer and start at."""
    ks = sorted(grid["k"].unique().tolist())
    lams = sorted(grid["lam"].unique().tolist())
    best_k = int(best["k"]) if best else ks[0]
    best_lam = float(best["lam"]) if best else lams[0]
    return ks, lams, best_k, best_lam


def true_rank(truth: Any) -> int:
    """The rank of planted factors (their number of columns)."""
    return int(np.asarray(truth.user_factors).shape[1])


def explanation(
    model: ac.ImplicitALS, user: int, item: int, labels: np.ndarray, n: int = 5
) -> pd.DataFrame:
    """ "Because you liked …" for one recommendation: the user's items with the largest
    contributions to its score, with readable labels."""
    frame = model.explain(user, item, n=n)
    out = frame.assign(label=labels[frame["item"].to_numpy()])
    out.attrs.update(frame.attrs)
    return out
