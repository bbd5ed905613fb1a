"""Simple predictors to measure ALS against."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .als import _as_csr, _check_index, _check_lam
from .errors import NotFittedError
from .ratings import Ratings


class GlobalMean:
    """Predicts the training mean for everything."""

    def fit(self, train: Ratings | sp.spmatrix, validation: Any = None) -> GlobalMean:
        R = _as_csr(train)
        if R.nnz == 0:
            raise ValueError("cannot fit on an empty set of ratings")
        self.global_mean_ = float(R.data.mean())
        self.shape_ = R.shape
        return self

    def predict(self, user_idx: Any, item_idx: Any, *, clip: bool = True) -> np.ndarray:
        if not hasattr(self, "global_mean_"):
            raise NotFittedError("call fit(train) first")
        users, items = np.broadcast_arrays(np.asarray(user_idx), np.asarray(item_idx))
        _check_index(users, self.shape_[0], "user")
        _check_index(items, self.shape_[1], "item")
        return np.full(users.shape, self.global_mean_)


class BiasOnly:
    """μ + b_u + b_i, minimising Σ (r − μ − b_u − b_i)² + λ(Σ b_u² + Σ b_i²) exactly by
    alternating closed-form updates (ALS with k = 0)."""

    def __init__(self, *, lam: float = 5.0, iterations: int = 20) -> None:
        self.lam = lam
        self.iterations = iterations

    def fit(self, train: Ratings | sp.spmatrix, validation: Any = None) -> BiasOnly:
        _check_lam(self.lam)
        R = _as_csr(train)
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
        _check_index(users, len(self.user_bias_), "user")
        _check_index(items, len(self.item_bias_), "item")
        pred = self.global_mean_ + self.user_bias_[users] + self.item_bias_[items]
        return np.clip(pred, *self.rating_scale_) if clip else pred
