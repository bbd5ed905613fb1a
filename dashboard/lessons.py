"""The numbers of the "How ALS works" page, each taken from the library on this session's fit.

What a lecturer would add to the story, shown on the user's data rather than told: the excerpt of
R with what the factors fit; the cost of a half-step (operation count beside measured seconds);
identifiability (X → XQ, Y → YQ⁻ᵀ leaves every prediction, the ridge makes every system
positive definite, λ fixes the scale but not the rotation); convergence (a monotone objective
reaching a stationary point, and different starts reaching different optima); cold start (a
user without ratings, and one rating folded in).

Plain computations (numpy, pandas, als_core), no Streamlit: the page draws, the tests recompute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import als_core as ac
from als_core import embed

from . import jobs
from .fold_in import FoldIn, fold_in_user
from .settings import (
    FitResult,
    build_model,
    effective_settings,
    objective_settings,
    split_ratings,
)

#: Above this many training ratings the spectra are taken on the least active rows only.
SPECTRUM_ALL_UP_TO = 2_000_000
SPECTRUM_ROWS = 5_000


# --------------------------------------------------------------------------------- the excerpt
@dataclass(frozen=True)
class Excerpt:
    """The most active users × most rated items: every rating (NaN = missing) with the held-out
    ones marked, the model's shown predictions (clipped), and what X·Yᵀ fits on the rated
    cells (the rating minus μ + b_u + b_i with biases)."""

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray
    held_out: np.ndarray
    predicted: np.ndarray
    target: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    user_labels: np.ndarray
    item_labels: np.ndarray


def excerpt(ratings: ac.Ratings, fit: FitResult, *, n_users: int = 8, n_items: int = 8) -> Excerpt:
    users = embed.most_active(ratings.user_counts(), n_users)
    items = embed.most_active(ratings.item_counts(), n_items)
    values = _dense(ratings.matrix, users, items)
    held = np.zeros(values.shape, dtype=bool)
    if fit.validation is not None:
        held = ~np.isnan(_dense(fit.validation.matrix, users, items))
    model = fit.model
    predicted = model.predict(users[:, None], items[None, :])
    target = values - ac.baseline_scores(model, users[:, None], items[None, :])
    return Excerpt(
        users=users,
        items=items,
        values=values,
        held_out=held,
        predicted=predicted,
        target=target,
        X=model.user_factors_[users],
        Y=model.item_factors_[items],
        user_labels=embed.user_labels(ratings)[users],
        item_labels=embed.item_labels(ratings)[items],
    )


def _dense(matrix: Any, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """R[users, items] with NaN where nothing is stored (a stored 0 is a rating of 0)."""
    sub = matrix[users][:, items].tocoo()
    out = np.full((len(users), len(items)), np.nan)
    out[sub.row, sub.col] = sub.data
    return out


# --------------------------------------------------------------------------------- cost
def half_step_costs(fit: FitResult) -> pd.DataFrame:
    """Per side: rows solved, ratings, unknowns per row, the operation count of one half-step
    (``ac.half_step_flops``), the median measured seconds of the fit's half-steps of that side
    and the rate they imply."""
    model, train = fit.model, fit.train
    width = int(model.user_factors_.shape[1]) + (1 if model.biases else 0)
    history = model.history_
    rows = []
    for side, n_rows in (("users", train.n_users), ("items", train.n_items)):
        flops = ac.half_step_flops(train.nnz, n_rows, width)
        seconds = history.loc[history["side"] == side, "seconds"]
        measured = float(seconds.median()) if len(seconds) else float("nan")
        rows.append(
            {
                "half-step": f"solve the {side}",
                "systems": n_rows,
                "ratings": train.nnz,
                "unknowns each": width,
                "operations": flops,
                "seconds (median)": measured,
                "GFLOP/s": flops / measured / 1e9 if measured > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def cost_settings(fit: FitResult, *, seconds: float = 1.0) -> dict[str, Any]:
    """The model's settings for timing ALS against gradient descent and SGD on these data."""
    s = fit.settings
    return {
        "k": int(s["k"]),
        "lam": float(s["lam"]),
        "regularization": s["regularization"],
        "biases": bool(s["biases"]),
        "seed": int(s["seed"]),
        "seconds_budget": float(seconds),
    }


# --------------------------------------------------------------------------------- identifiability
@dataclass(frozen=True)
class Gauge:
    """The objective's two terms as the factors are transformed without changing X·Yᵀ:
    ``scale`` (factor 1 of X times d, of Y divided by d) and ``rotation`` (the first two factors
    turned by θ degrees; empty when k = 1)."""

    scale: pd.DataFrame  # d, data, penalty
    rotation: pd.DataFrame  # degrees, data, penalty


def gauge(fit: FitResult, *, points: int = 13) -> Gauge:
    model, train = fit.model, fit.train
    X = np.asarray(model.user_factors_, dtype=np.float64)
    Y = np.asarray(model.item_factors_, dtype=np.float64)
    k = X.shape[1]

    def terms(Q: np.ndarray) -> tuple[float, float]:
        X2, Y2 = ac.reparametrize(X, Y, Q)
        t = ac.objective(
            train,
            X2,
            Y2,
            user_bias=model.user_bias_,
            item_bias=model.item_bias_,
            **objective_settings(model),
        )
        return t.data, t.regularization

    scale_rows = []
    for d in np.geomspace(0.25, 4.0, points):
        Q = np.eye(k)
        Q[0, 0] = d
        scale_rows.append((float(d), *terms(Q)))
    rotation_rows = []
    if k >= 2:
        for degrees in np.linspace(0.0, 180.0, points):
            theta = np.radians(degrees)
            Q = np.eye(k)
            Q[:2, :2] = [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
            rotation_rows.append((float(degrees), *terms(Q)))
    return Gauge(
        scale=pd.DataFrame(scale_rows, columns=["d", "data", "penalty"]),
        rotation=pd.DataFrame(rotation_rows, columns=["degrees", "data", "penalty"]),
    )


@dataclass(frozen=True)
class Systems:
    """The systems one half-step solves, for each side: how many rows were examined, how many
    of their Σ f fᵀ are singular on their own, the smallest eigenvalue without and with the
    ridge, and the smallest ridge."""

    table: pd.DataFrame
    sampled: bool
    #: Per side, how many rows have no training rating (all theirs held out): not in the table.
    unrated: dict[str, int] = field(default_factory=dict)


def systems(fit: FitResult) -> Systems:
    model, train = fit.model, fit.train
    biases = bool(model.biases)
    sampled = train.nnz > SPECTRUM_ALL_UP_TO
    rows = []
    unrated: dict[str, int] = {}
    for side, matrix, fixed, counts in (
        ("users", train.matrix, model.item_factors_, train.user_counts()),
        ("items", train.matrix.T.tocsr(), model.user_factors_, train.item_counts()),
    ):
        chosen = None
        if sampled:  # the least active rows: the ones most likely to be singular
            chosen = np.sort(np.argsort(counts, kind="stable")[:SPECTRUM_ROWS])
        spectrum = ac.gram_spectrum(matrix, fixed, biases=biases, rows=chosen)
        rated = spectrum.counts > 0
        unrated[side] = int((counts == 0).sum())
        ridges = _ridges(model, spectrum.counts)
        # Σ f fᵀ is positive semi-definite: a negative eigenvalue is rounding (about -1e-15).
        smallest = np.maximum(spectrum.smallest, 0.0)
        lifted = smallest + ridges
        rows.append(
            {
                "side": side,
                "rows": int(rated.sum()),
                "unknowns": spectrum.width,
                "singular alone": int(spectrum.singular()[rated].sum()),
                "fewer ratings than unknowns": int((spectrum.counts[rated] < spectrum.width).sum()),
                "smallest eigenvalue": float(smallest[rated].min(initial=np.inf)),
                "with the ridge": float(lifted[rated].min(initial=np.inf)),
                "smallest ridge": float(ridges[rated].min(initial=np.inf)),
            }
        )
    return Systems(table=pd.DataFrame(rows), sampled=sampled, unrated=unrated)


def unrated_note(systems: Systems) -> str:
    """Why the table counts fewer rows than the data has (empty when it does not)."""
    parts = []
    for side, n in systems.unrated.items():
        if n:
            rows = int(systems.table.set_index("side").loc[side, "rows"])
            parts.append(f"{n:,} of the {rows + n:,} {side} {'has' if n == 1 else 'have'}")
    if not parts:
        return ""
    return (
        " and ".join(parts)
        + " no training rating (all their ratings were held out for validation): nothing to "
        "solve, so the table leaves them out of rows; their factors stay 0, as for the new "
        "user of section 9."
    )


def _ridges(model: ac.ALS, counts: np.ndarray) -> np.ndarray:
    lam = float(model.lam)
    if model.regularization == "weighted":
        return lam * (counts + float(model.damping))
    return np.full(len(counts), lam)


def column_norms(fit: FitResult) -> pd.DataFrame:
    """‖column f of X‖ beside ‖column f of Y‖: balanced by λ (each pair about equal)."""
    X = np.asarray(fit.model.user_factors_, dtype=np.float64)
    Y = np.asarray(fit.model.item_factors_, dtype=np.float64)
    return pd.DataFrame(
        {
            "factor": np.arange(1, X.shape[1] + 1),
            "‖X column‖": np.linalg.norm(X, axis=0),
            "‖Y column‖": np.linalg.norm(Y, axis=0),
        }
    )


# --------------------------------------------------------------------------------- convergence
#: Starts tried by the convergence demo, and how long each may run.
SEEDS = 6
CONVERGENCE_TOL = 1e-10
CONVERGENCE_ITERATIONS = 300


@dataclass(frozen=True)
class Convergence:
    """Fits from several random starts on the same training ratings, each run to a tolerance.

    ``table``: one row per seed (seed, objective, iterations, stop reason, the largest rise of
    the objective between half-steps, the gradient's size per side at the end). ``histories``:
    seed → the fit's history. ``pair``: the two seeds with the most different final objectives;
    ``prediction_gap``: the largest difference between their predictions on the training
    ratings (0 up to rounding when they found the same optimum, rotated)."""

    table: pd.DataFrame
    histories: dict[int, pd.DataFrame]
    pair: tuple[int, int]
    prediction_gap: float
    k: int


def convergence_work(
    ratings: ac.Ratings, settings: dict[str, Any], *, k: int, seeds: int = SEEDS
) -> jobs.Work:
    """Fit the session's model from ``seeds`` random starts (the split stays the session's)."""

    def work(progress: jobs.Progress, should_stop: jobs.ShouldStop) -> tuple[Any, bool]:
        s = effective_settings({**settings, "k": k}, ratings)
        train, valid = split_ratings(ratings, s)
        base = build_model(s, has_validation=False).get_params()
        models: dict[int, ac.ALS] = {}
        first = int(s["seed"])
        progress(0, seeds, "starting")
        for j in range(seeds):
            if should_stop():
                break
            seed = first + j
            params = {**base, "seed": seed, "iterations": CONVERGENCE_ITERATIONS}
            params.update(tol=CONVERGENCE_TOL, patience=None)
            models[seed] = ac.ALS(**params).fit(train)
            progress(j + 1, seeds, f"start {j + 1} of {seeds} (seed {seed})")
        if len(models) < 2:
            return None, True
        return convergence_of(models, train, k=int(s["k"])), len(models) < seeds

    return work


def convergence_of(models: dict[int, ac.ALS], train: ac.Ratings, *, k: int) -> Convergence:
    rows = []
    for seed, m in models.items():
        objective = m.history_["objective"].to_numpy()
        rises = np.diff(objective) if len(objective) > 1 else np.zeros(1)
        gradient = ac.objective_gradient(
            train,
            m.user_factors_,
            m.item_factors_,
            user_bias=m.user_bias_,
            item_bias=m.item_bias_,
            **objective_settings(m),
        )
        rows.append(
            {
                "seed": seed,
                "objective": float(objective[-1]),
                "iterations": int(m.n_iter_),
                "stopped because": m.stop_reason_,
                "largest rise": float(max(0.0, rises.max())),
                "gradient (users)": gradient.users,
                "gradient (items)": gradient.items,
            }
        )
    table = pd.DataFrame(rows)
    low = int(table.loc[table["objective"].idxmin(), "seed"])
    high = int(table.loc[table["objective"].idxmax(), "seed"])
    if low == high:
        high = int(table["seed"].iloc[1])
    users, items, _ = train.coo()
    gap = float(
        np.max(
            np.abs(
                models[low].predict(users, items, clip=False)
                - models[high].predict(users, items, clip=False)
            ),
            initial=0.0,
        )
    )
    return Convergence(
        table=table,
        histories={seed: m.history_ for seed, m in models.items()},
        pair=(low, high),
        prediction_gap=gap,
        k=k,
    )


# --------------------------------------------------------------------------------- cold start
@dataclass(frozen=True)
class ColdStart:
    """What a user without ratings is shown (``scores``: μ + b_i with biases, one tie without),
    and the same user after a single rating (``one``: the fold-in)."""

    scores: np.ndarray
    top: np.ndarray
    item: int
    rating: float
    one: FoldIn


def cold_start_tables(ratings: ac.Ratings, fit: FitResult, *, n_top: int = 5) -> dict[str, Any]:
    """The newcomer's top items, then the same after one top rating of the most rated item."""
    model = fit.model
    item = int(np.argmax(fit.train.item_counts()))
    rating = float(model.rating_scale_[1])
    cold = cold_start(model, item, rating, n_top=n_top)
    names = embed.item_labels(ratings)

    def table(items: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"item": names[items], "score": np.round(scores[items], 3)})

    return {
        "before": table(cold.top, cold.scores),
        "after": table(cold.one.top, cold.one.scores),
        "item": names[item],
        "rating": rating,
        "length": float(np.linalg.norm(cold.one.factors)),
    }


def cold_start(model: ac.ALS, item: int, rating: float, *, n_top: int = 10) -> ColdStart:
    """A user with no ratings (an empty fold-in) and the same user after rating ``item``."""
    empty = fold_in_user(model, np.zeros(0, np.int64), np.zeros(0), n_top=n_top, n_users=1)
    one = fold_in_user(model, np.array([item]), np.array([float(rating)]), n_top=n_top, n_users=1)
    return ColdStart(
        scores=empty.scores, top=empty.top, item=int(item), rating=float(rating), one=one
    )
