"""Ratings with planted structure and known true factors, so ALS's recovery can be measured.

The true matrix is exactly ``user_factors @ item_factors.T`` (rank ``rank``):

- factor 0 is a *level*: about sqrt(mid) for everyone, so its product is about the middle of the
  rating scale, with a small spread that acts like user generosity and item quality;
- factors 1..rank-1 are *tastes*: zero-mean, scaled so their products spread the ratings over
  roughly a fifth of the scale (one standard deviation);
- with ``clusters`` the items' taste vectors sit around that many centres (``item_groups``), so
  the groups show up as clusters in a latent map.

Observed ratings are the true values at sampled (user, item) pairs plus Gaussian noise σ, then
optionally clipped to the scale and rounded. Pairs are drawn without replacement with popularity
skew (item weights ∝ rank^-skew, users' activity ∝ rank^-skew/2). Nothing builds a dense
users × items array except ``true_matrix`` on request, and only for small sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import RatingsError
from .ratings import Ratings

# Above this many cells, pairs are sampled by rejection instead of exactly over all cells.
_EXACT_SAMPLING_CELLS = 2_000_000
# true_matrix() refuses to build a dense array larger than this (80 MB of float64).
MAX_DENSE_CELLS = 10_000_000
#: synthetic() makes at most this many ratings (density x n_users x n_items): every caller
#: (a form, a link's parameters, a script) goes through this check, so no request can ask for
#: more memory than a few hundred MB.
MAX_SYNTHETIC_RATINGS = 2_000_000
#: ... and at most this many true-factor entries, (n_users + n_items) x rank (80 MB).
MAX_SYNTHETIC_FACTOR_CELLS = 10_000_000
# Spread of the level factor: product ≈ mid · (1 + 2·_LEVEL_SPREAD·z).
_LEVEL_SPREAD = 0.08


@dataclass(frozen=True, eq=False)
class SyntheticData:
    """A generated data set: the observed ``ratings`` and the truth behind them.

    ``user_factors`` (n_users × rank) and ``item_factors`` (n_items × rank) are the true factors,
    index-aligned with ``ratings``; the true (noise-free, unclipped, unrounded) rating of user
    ``u`` for item ``i`` is ``user_factors[u] @ item_factors[i]``. ``item_groups`` holds each
    item's planted cluster (or None). ``settings`` are the arguments it was made with.
    """

    ratings: Ratings
    user_factors: np.ndarray
    item_factors: np.ndarray
    item_groups: np.ndarray | None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        return int(self.user_factors.shape[1])

    def true_values(self, user_idx: Any, item_idx: Any) -> np.ndarray:
        """True ratings for index pairs (broadcast like numpy), before noise, clipping, rounding."""
        users, items = np.broadcast_arrays(
            np.asarray(user_idx, dtype=np.int64), np.asarray(item_idx, dtype=np.int64)
        )
        X, Y = self.user_factors, self.item_factors
        out = np.einsum("nk,nk->n", X[users.ravel()], Y[items.ravel()])
        return out.reshape(users.shape)

    def true_observed(self) -> np.ndarray:
        """True values at the observed entries, in CSR order (aligned with ``matrix.data``)."""
        rows, cols, _ = self.ratings.coo()
        return self.true_values(rows, cols)

    def true_matrix(self, *, max_cells: int = MAX_DENSE_CELLS) -> np.ndarray:
        """The dense true matrix (n_users × n_items); refused above ``max_cells`` cells."""
        n_users, n_items = self.ratings.shape
        if n_users * n_items > max_cells:
            raise RatingsError(
                f"the true matrix has {n_users * n_items:,} cells, more than max_cells="
                f"{max_cells:,}; use true_values(user_idx, item_idx) for the pairs you need"
            )
        return self.user_factors @ self.item_factors.T


def synthetic(
    *,
    n_users: int = 300,
    n_items: int = 200,
    rank: int = 3,
    density: float = 0.1,
    noise: float = 0.3,
    scale: tuple[float, float] = (1.0, 5.0),
    rounding: float | None = 0.5,
    clip: bool = True,
    popularity_skew: float = 0.0,
    clusters: int | None = None,
    cluster_spread: float = 0.3,
    seed: int | None = 0,
) -> SyntheticData:
    """Generate ratings from known rank-``rank`` factors (model described in the module docs).

    Parameters (keyword only)
    -------------------------
    n_users, n_items: at least 2 each.
    rank: true rank ≥ 1 (factor 0 is the level, the rest are tastes).
    density: share of cells observed, 0 < density ≤ 1 (≤ 0.5 above 2 million cells).
    noise: standard deviation σ ≥ 0 of the Gaussian noise added to observed values.
    scale: (low, high) of the ratings; sets the level and the spread of the true values.
    rounding: round observed values to multiples of this step from ``low`` (0.5 = half stars,
        1 = whole stars), or None to keep them continuous.
    clip: clip observed values into ``scale`` (before rounding). With ``noise=0``,
        ``rounding=None`` and ``clip=False`` the observed values equal the true ones exactly.
    popularity_skew: 0 = every item equally likely to be rated; 1 ≈ Zipf's law.
    clusters: plant this many item groups in taste space (needs rank ≥ 2), or None.
    cluster_spread: spread of items around their group centre, relative to the centres' spread.
    seed: the single source of randomness.
    """
    settings = {
        "n_users": n_users,
        "n_items": n_items,
        "rank": rank,
        "density": density,
        "noise": noise,
        "scale": list(scale),
        "rounding": rounding,
        "clip": clip,
        "popularity_skew": popularity_skew,
        "clusters": clusters,
        "cluster_spread": cluster_spread,
        "seed": seed,
    }
    _check_settings(settings)
    settings["scale"] = [float(v) for v in settings["scale"]]
    rng = np.random.default_rng(seed)
    low, high = float(scale[0]), float(scale[1])
    X, Y, groups = _true_factors(rng, n_users, n_items, rank, low, high, clusters, cluster_spread)
    user_weights = _popularity(rng, n_users, popularity_skew / 2)
    item_weights = _popularity(rng, n_items, popularity_skew)
    n_obs = max(1, int(round(density * n_users * n_items)))
    rows, cols = sample_pairs(rng, user_weights, item_weights, n_obs)
    values = np.einsum("nk,nk->n", X[rows], Y[cols])
    if noise > 0:
        values = values + rng.normal(0.0, noise, size=values.shape)
    if clip:
        values = np.clip(values, low, high)
    if rounding:
        values = low + rounding * np.round((values - low) / rounding)
        if clip:
            values = np.clip(values, low, high)
    ratings = Ratings.from_codes(
        rows,
        cols,
        values,
        user_ids=np.arange(1, n_users + 1),
        item_ids=np.arange(1, n_items + 1),
        notes=(f"synthetic: rank {rank}, noise σ {noise}, seed {seed}",),
    )
    return SyntheticData(
        ratings=ratings, user_factors=X, item_factors=Y, item_groups=groups, settings=settings
    )


def _check_settings(s: dict[str, Any]) -> None:
    def fail(what: str) -> None:
        raise RatingsError(f"synthetic(): {what}")

    # Types first, so a NaN, 1e400 or 2.5 users is refused in words, not by int() or float().
    for name in ("n_users", "n_items", "rank", "clusters", "seed"):
        value = s[name]
        if value is None and name in ("clusters", "seed"):
            continue
        if isinstance(value, bool) or not _is_whole(value):
            fail(f"{name} must be a whole number, got {value!r}")
    if s["seed"] is not None and s["seed"] < 0:
        fail(f"seed must be ≥ 0 or None, got {s['seed']}")
    numbers = ["density", "noise", "popularity_skew", "cluster_spread"]
    numbers += ["rounding"] if s["rounding"] is not None else []
    for name in numbers:
        if not _is_finite_number(s[name]):
            fail(f"{name} must be a finite number, got {s[name]!r}")
    if len(s["scale"]) != 2 or not all(_is_finite_number(v) for v in s["scale"]):
        fail(f"scale must be two finite numbers (low, high), got {tuple(s['scale'])}")
    if int(s["n_users"]) < 2 or int(s["n_items"]) < 2:
        fail(f"n_users and n_items must be ≥ 2, got {s['n_users']} and {s['n_items']}")
    if int(s["rank"]) < 1 or int(s["rank"]) > min(s["n_users"], s["n_items"]):
        fail(f"rank must be between 1 and min(n_users, n_items), got {s['rank']}")
    if not 0 < float(s["density"]) <= 1:
        fail(f"density must be in (0, 1], got {s['density']}")
    # Ratings asked for, in exact integer arithmetic: 10**400 users must not overflow a float.
    expected = round(float(s["density"]) * min(int(s["n_users"]) * int(s["n_items"]), 10**300))
    if expected > MAX_SYNTHETIC_RATINGS:
        fail(
            f"that is about {_count(expected)} ratings (density x n_users x n_items), more "
            f"than the limit of {MAX_SYNTHETIC_RATINGS:,}; lower the users, items or density"
        )
    factor_cells = (int(s["n_users"]) + int(s["n_items"])) * int(s["rank"])
    if factor_cells > MAX_SYNTHETIC_FACTOR_CELLS:
        fail(
            f"(n_users + n_items) x rank = {_count(factor_cells)} true-factor entries, more "
            f"than the limit of {MAX_SYNTHETIC_FACTOR_CELLS:,}; lower the users, items or rank"
        )
    cells = int(s["n_users"]) * int(s["n_items"])
    if cells > _EXACT_SAMPLING_CELLS and float(s["density"]) > 0.5:
        fail(f"density above 0.5 is only supported up to {_EXACT_SAMPLING_CELLS:,} cells")
    if not float(s["noise"]) >= 0:
        fail(f"noise must be ≥ 0, got {s['noise']}")
    low, high = s["scale"]
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        fail(f"scale must be (low, high) with low < high, got {tuple(s['scale'])}")
    if s["rounding"] is not None and not float(s["rounding"]) > 0:
        fail(f"rounding must be a positive step or None, got {s['rounding']}")
    if not float(s["popularity_skew"]) >= 0:
        fail(f"popularity_skew must be ≥ 0, got {s['popularity_skew']}")
    if s["clusters"] is not None:
        if int(s["rank"]) < 2:
            fail("clusters need rank ≥ 2 (factor 0 is the level, tastes start at factor 1)")
        if not 1 <= int(s["clusters"]) <= int(s["n_items"]):
            fail(f"clusters must be between 1 and n_items, got {s['clusters']}")


def _count(n: int) -> str:
    """A count for a message: 1,234,567, or 1.2e+40 when the digits would fill the line."""
    return f"{n:,}" if n < 10**15 else f"{float(min(n, 10**300)):.1e}"


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and bool(np.isfinite(value))


def _is_whole(value: Any) -> bool:
    if isinstance(value, (int, np.integer)):
        return True
    return _is_finite_number(value) and float(value).is_integer()


def _true_factors(
    rng: np.random.Generator,
    n_users: int,
    n_items: int,
    rank: int,
    low: float,
    high: float,
    clusters: int | None,
    cluster_spread: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    mid = (low + high) / 2
    # The level's product is mid: both factors get sqrt(|mid|), the item side carries the sign
    # (a scale centred on 0 has no level, and the true rank is then rank - 1).
    root = np.sqrt(abs(mid))
    X = np.empty((n_users, rank))
    Y = np.empty((n_items, rank))
    X[:, 0] = root * (1 + _LEVEL_SPREAD * rng.standard_normal(n_users))
    Y[:, 0] = np.sign(mid) * root * (1 + _LEVEL_SPREAD * rng.standard_normal(n_items))
    groups = None
    if rank > 1:
        taste_sd = (high - low) / 5
        # Sum of (rank-1) products of independent N(0, s²) has variance (rank-1)·s⁴.
        s = np.sqrt(taste_sd / np.sqrt(rank - 1))
        X[:, 1:] = s * rng.standard_normal((n_users, rank - 1))
        if clusters:
            centres = rng.standard_normal((clusters, rank - 1))
            groups = rng.integers(0, clusters, size=n_items)
            groups[:clusters] = np.arange(clusters)  # every group has at least one item
            groups = rng.permutation(groups)
            local = cluster_spread * rng.standard_normal((n_items, rank - 1))
            taste = centres[groups] + local
            taste /= np.sqrt(1 + cluster_spread**2)
            Y[:, 1:] = s * taste
        else:
            Y[:, 1:] = s * rng.standard_normal((n_items, rank - 1))
    return X, Y, groups


def _popularity(rng: np.random.Generator, n: int, skew: float) -> np.ndarray:
    """Sampling weights ∝ rank^-skew, assigned to the indices in random order (sum 1)."""
    weights = np.arange(1, n + 1, dtype=np.float64) ** -float(skew)
    weights = rng.permutation(weights)
    return weights / weights.sum()


def sample_pairs(
    rng: np.random.Generator,
    user_weights: np.ndarray,
    item_weights: np.ndarray,
    n_obs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (user, item) pairs, drawn without replacement with probability ∝ w_u · w_i.

    Every user and every item gets at least one pair when ``n_obs`` allows (so no row or column
    of the result is empty). Exact weighted sampling over all cells (Gumbel top-k) for small
    sizes; rounds of sampling with replacement and de-duplication above that.
    """
    n_users, n_items = len(user_weights), len(item_weights)
    cells = n_users * n_items
    n_obs = min(int(n_obs), cells)
    seed_keys = _cover_every_row_and_column(rng, user_weights, item_weights, n_obs)
    if cells <= _EXACT_SAMPLING_CELLS:
        keys = _exact_weighted_cells(rng, user_weights, item_weights, n_obs, seed_keys)
    else:
        keys = _rejection_cells(rng, user_weights, item_weights, n_obs, seed_keys)
    keys = np.sort(keys)
    return keys // n_items, keys % n_items


def _cover_every_row_and_column(
    rng: np.random.Generator, uw: np.ndarray, iw: np.ndarray, n_obs: int
) -> np.ndarray:
    n_users, n_items = len(uw), len(iw)
    if n_obs < n_users + n_items:
        return np.empty(0, dtype=np.int64)
    users_items = rng.choice(n_items, size=n_users, p=iw)
    items_users = rng.choice(n_users, size=n_items, p=uw)
    keys = np.concatenate(
        [np.arange(n_users) * n_items + users_items, items_users * n_items + np.arange(n_items)]
    )
    return _sorted_unique(keys.astype(np.int64))


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    # Sorting then comparing neighbours is several times faster than np.unique's hash path here.
    a = np.sort(a)
    if a.size == 0:
        return a
    keep = np.empty(a.size, dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def _draw(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with replacement, probability ∝ weights (inverse CDF)."""
    cdf = np.cumsum(weights)
    # Sorted queries make searchsorted cache-friendly (several times faster); the shuffle after
    # makes the draws independent again (two sorted draws would pair low users with low items).
    idx = np.searchsorted(cdf, np.sort(rng.random(size)) * cdf[-1], side="right")
    return rng.permutation(np.minimum(idx, len(weights) - 1))


def _exact_weighted_cells(
    rng: np.random.Generator, uw: np.ndarray, iw: np.ndarray, n_obs: int, seed_keys: np.ndarray
) -> np.ndarray:
    # Gumbel top-k: the n largest of log(w) + Gumbel noise are a weighted sample without
    # replacement. The seeded cells get +inf so they are always kept.
    scores = (np.log(uw)[:, None] + np.log(iw)[None, :]).ravel()
    scores += rng.gumbel(size=scores.shape)
    scores[seed_keys] = np.inf
    if n_obs >= scores.size:
        return np.arange(scores.size, dtype=np.int64)
    return np.argpartition(-scores, n_obs - 1)[:n_obs].astype(np.int64)


def _rejection_cells(
    rng: np.random.Generator, uw: np.ndarray, iw: np.ndarray, n_obs: int, seed_keys: np.ndarray
) -> np.ndarray:
    n_items = len(iw)
    keys = seed_keys
    for _ in range(200):
        missing = n_obs - keys.size
        if missing <= 0:
            break
        batch = int(missing * 1.3) + 16
        draw = _draw(rng, uw, batch) * n_items + _draw(rng, iw, batch)
        fresh = np.setdiff1d(_sorted_unique(draw), keys, assume_unique=True)
        keys = np.concatenate([keys, rng.permutation(fresh)[:missing]])
    else:  # pragma: no cover - only with extreme skew at high density
        raise RatingsError(
            f"could not draw {n_obs:,} distinct pairs with this popularity skew; "
            "lower density or popularity_skew"
        )
    return keys
