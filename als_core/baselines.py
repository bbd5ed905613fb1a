"""Simple predictors to measure ALS against: the global mean, biases only, a zero-filled SVD
(the article's "put zeros in there") and popularity (for ranking)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from ._validation import as_csr, check_index, check_lam
from .errors import NotFittedError
from .metrics import rmse
from .ratings import Ratings


class GlobalMean:
    """Predicts the training mean for everything."""

    def fit(self, train: Ratings | sp.spmatrix, validation: Any = None) -> GlobalMean:
        R = as_csr(train)
        if R.nnz == 0:
            raise ValueError("cannot fit on an empty set of ratings")
        self.global_mean_ = float(R.data.mean())
        self.shape_ = R.shape
        return self

    def predict(self, user_idx: Any, item_idx: Any, *, clip: bool = True) -> np.ndarray:
        if not hasattr(self, "global_mean_"):
            raise NotFittedError("call fit(train) first")
        users, items = np.broadcast_arrays(np.asarray(user_idx), np.asarray(item_idx))
        check_index(users, self.shape_[0], "user")
        check_index(items, self.shape_[1], "item")
        return np.full(users.shape, self.global_mean_)


class BiasOnly:
    """μ + b_u + b_i, minimising Σ (r − μ − b_u − b_i)² + λ(Σ b_u² + Σ b_i²) exactly by
    alternating closed-form updates (ALS with k = 0)."""

    def __init__(self, *, lam: float = 5.0, iterations: int = 20) -> None:
        self.lam = lam
        self.iterations = iterations

    def fit(self, train: Ratings | sp.spmatrix, validation: Any = None) -> BiasOnly:
        check_lam(self.lam)
        R = as_csr(train)
        if R.nnz == 0:
            raise ValueError("cannot fit on an empty set of ratings")
        rows = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))
        cols = R.indices
        mu = float(R.data.mean())
        n_u = np.bincount(rows, minlength=R.shape[0])
        n_i = np.bincount(cols, minlength=R.shape[1])
        bu = np.zeros(R.shape[0])
        bi = np.zeros(R.shape[1])
        resid = R.data - mu
        for _ in range(self.iterations):
            bu = np.bincount(rows, resid - bi[cols], minlength=R.shape[0]) / (n_u + self.lam)
            bi = np.bincount(cols, resid - bu[rows], minlength=R.shape[1]) / (n_i + self.lam)
        bu[n_u == 0] = 0.0
        bi[n_i == 0] = 0.0
        self.global_mean_, self.user_bias_, self.item_bias_ = mu, bu, bi
        self.rating_scale_ = (float(R.data.min()), float(R.data.max()))
        return self

    def predict(self, user_idx: Any, item_idx: Any, *, clip: bool = True) -> np.ndarray:
        if not hasattr(self, "global_mean_"):
            raise NotFittedError("call fit(train) first")
        users, items = np.broadcast_arrays(np.asarray(user_idx), np.asarray(item_idx))
        check_index(users, len(self.user_bias_), "user")
        check_index(items, len(self.item_bias_), "item")
        pred = self.global_mean_ + self.user_bias_[users] + self.item_bias_[items]
        return np.clip(pred, *self.rating_scale_) if clip else pred


FILLS = ("zero", "mean")


class ZeroFilledSVD:
    """Truncated SVD of the ratings matrix with the missing entries filled in: the article's
    "put zeros in there for now", kept to show why missing must not mean zero.

    ``fill="zero"`` (default): the sparse matrix as stored, every missing cell a 0, factorised by
    ``scipy.sparse.linalg.svds``; a prediction is (U S Vᵀ)_ui. ``fill="mean"``: every missing cell
    is the training mean μ instead, done without densifying by taking the SVD of the observed
    ratings minus μ (missing cells then are 0 = μ − μ); a prediction is μ + (U S Vᵀ)_ui.
    Either way the unobserved cells are treated as known values, so predictions for them are
    pulled towards the fill. Predictions are clipped to the training scale by default.

    After ``fit``: ``singular_values_`` (k, descending), ``user_factors_`` = U·√S and
    ``item_factors_`` = V·√S (so x_u·y_i is the low-rank part), ``offset_`` (0 or μ),
    ``validation_rmse_`` (when ``validation`` is given) and ``fit_seconds_``.
    """

    def __init__(self, *, k: int = 10, fill: str = "zero", seed: int | None = 0) -> None:
        self.k = k
        self.fill = fill
        self.seed = seed

    def __repr__(self) -> str:
        return f"ZeroFilledSVD(k={self.k!r}, fill={self.fill!r}, seed={self.seed!r})"

    def fit(
        self,
        train: Ratings | sp.spmatrix,
        validation: Ratings | sp.spmatrix | None = None,
        callback: Any = None,
    ) -> ZeroFilledSVD:
        """Factorise the filled matrix; ``callback`` is accepted for a uniform signature and
        never called (there are no iterations to report)."""
        start = time.perf_counter()
        R = as_csr(train)
        if self.fill not in FILLS:
            raise ValueError(f"fill must be one of {FILLS}, got {self.fill!r}")
        k = self.k
        limit = min(R.shape) - 1
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= limit:
            raise ValueError(
                f"k must be an integer in 1..{limit} (svds needs k < min(n_users, n_items) = "
                f"{min(R.shape)}), got {k!r}"
            )
        if R.nnz == 0:
            raise ValueError("cannot fit on an empty set of ratings")
        offset = float(R.data.mean()) if self.fill == "mean" else 0.0
        A = R.copy()
        A.data = A.data - offset
        # v0 from the seed keeps ARPACK's start, and so the result, reproducible.
        v0 = np.random.default_rng(self.seed).uniform(-1.0, 1.0, size=min(A.shape))
        U, s, Vt = svds(A, k=int(k), v0=v0)
        order = np.argsort(-s)
        U, s, Vt = U[:, order], s[order], Vt[order]
        U, Vt = _stable_signs(U, Vt)
        root = np.sqrt(s)
        self.singular_values_ = s
        self.user_factors_ = U * root
        self.item_factors_ = Vt.T * root
        self.offset_ = offset
        self.rating_scale_ = (float(R.data.min()), float(R.data.max()))
        self.train_matrix_ = R
        self.item_counts_ = np.bincount(R.indices, minlength=R.shape[1])
        self.item_ids_ = train.item_ids if isinstance(train, Ratings) else np.arange(R.shape[1])
        self.validation_rmse_ = None
        if validation is not None:
            V = as_csr(validation)
            rows = np.repeat(np.arange(V.shape[0]), np.diff(V.indptr))
            if V.nnz:
                self.validation_rmse_ = rmse(V.data, self.predict(rows, V.indices))
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _require_fitted(self) -> None:
        if not hasattr(self, "user_factors_"):
            raise NotFittedError("this ZeroFilledSVD is not fitted yet: call fit(train) first")

    def predict(self, user_idx: Any, item_idx: Any, *, clip: bool = True) -> np.ndarray:
        """Predictions for index pairs (broadcast), clipped to the training scale by default."""
        self._require_fitted()
        users, items = np.broadcast_arrays(np.asarray(user_idx), np.asarray(item_idx))
        check_index(users, len(self.user_factors_), "user")
        check_index(items, len(self.item_factors_), "item")
        X, Y = self.user_factors_, self.item_factors_
        pred = np.einsum("nk,nk->n", X[users.ravel()], Y[items.ravel()]) + self.offset_
        if clip:
            np.clip(pred, *self.rating_scale_, out=pred)
        return pred.reshape(users.shape)

    def scores(self, user_idx: int) -> np.ndarray:
        """Unclipped scores of one user for every item (for ranking)."""
        self._require_fitted()
        check_index(np.asarray(user_idx), len(self.user_factors_), "user")
        return self.item_factors_ @ self.user_factors_[int(user_idx)] + self.offset_

    def recommend(self, user_idx: int, n: int = 10, *, exclude_seen: bool = True) -> pd.DataFrame:
        """Top-n items by score (as ``ALS.recommend``: rank, item, item_id, score)."""
        return recommend_from_scores(
            self.scores(user_idx),
            self.train_matrix_,
            int(user_idx),
            n,
            exclude_seen=exclude_seen,
            item_ids=self.item_ids_,
            popularity=self.item_counts_,
        )


class Popularity:
    """Recommends the items rated most often in training (a ranking baseline; no ratings)."""

    def fit(
        self, train: Ratings | sp.spmatrix, validation: Any = None, callback: Any = None
    ) -> Popularity:
        R = as_csr(train)
        self.item_counts_ = np.bincount(R.indices, minlength=R.shape[1])
        self.train_matrix_ = R
        self.item_ids_ = train.item_ids if isinstance(train, Ratings) else np.arange(R.shape[1])
        return self

    def scores(self, user_idx: int) -> np.ndarray:
        if not hasattr(self, "item_counts_"):
            raise NotFittedError("this Popularity model is not fitted yet: call fit(train) first")
        check_index(np.asarray(user_idx), self.train_matrix_.shape[0], "user")
        return self.item_counts_.astype(np.float64)

    def recommend(self, user_idx: int, n: int = 10, *, exclude_seen: bool = True) -> pd.DataFrame:
        """The n most-rated items the user has not rated (rank, item, item_id, score = count)."""
        return recommend_from_scores(
            self.scores(user_idx),
            self.train_matrix_,
            int(user_idx),
            n,
            exclude_seen=exclude_seen,
            item_ids=self.item_ids_,
            popularity=self.item_counts_,
        )


def recommend_from_scores(
    scores: np.ndarray,
    seen_matrix: sp.csr_matrix,
    user_idx: int,
    n: int,
    *,
    exclude_seen: bool,
    item_ids: np.ndarray,
    popularity: np.ndarray,
) -> pd.DataFrame:
    """Top-n items of one user's score vector, best first, ties broken by popularity.

    The frame has the columns of ``ALS.recommend``: rank, item (index), item_id (label), score.
    """
    candidates = np.arange(len(scores))
    if exclude_seen:
        seen = seen_matrix.indices[seen_matrix.indptr[user_idx] : seen_matrix.indptr[user_idx + 1]]
        candidates = np.setdiff1d(candidates, seen, assume_unique=True)
    order = np.lexsort((-popularity[candidates], -scores[candidates]))[: max(0, int(n))]
    chosen = candidates[order]
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1),
            "item": chosen,
            "item_id": item_ids[chosen],
            "score": scores[chosen],
        }
    )


def _stable_signs(U: np.ndarray, Vt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip each singular pair so the largest-magnitude entry of v is positive (SVD signs are
    arbitrary; this keeps pictures of the factors from flipping between runs)."""
    pivot = np.argmax(np.abs(Vt), axis=1)
    signs = np.sign(Vt[np.arange(len(Vt)), pivot])
    signs[signs == 0] = 1.0
    return U * signs, Vt * signs[:, None]
