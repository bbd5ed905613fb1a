"""Gradient descent and stochastic gradient descent on the ALS objective, for comparison.

Both minimise exactly the objective ``ac.ALS`` minimises (see ``als_core.als``), on the same
data, from the same random start (same ``seed``, ``k`` and ``init_scale`` give the same initial
factors as ``ac.ALS``), so their curves can be drawn beside ALS's:

    Σ_obs (r_ui − μ − b_u − b_i − x_u·y_i)² + λ (Σ_u c_u (‖x_u‖² + b_u²) + Σ_i c_i (‖y_i‖² + b_i²))

with c = 1 (``regularization="plain"``) or c = n (``"weighted"``), and μ = b = 0 when
``biases=False``. Both are fitted models with the same face as ``ac.ALS`` (they subclass it for
``predict``, ``recommend``, ``similar_items`` ...); only ``fit`` differs.

Step sizes, stated so the comparison is fair:

- ``GradientDescent``: full-batch gradient steps on (X, Y, biases) jointly, with a backtracking
  (Armijo) line search: try η, halve it until f(θ − η∇f) ≤ f(θ) − c·η‖∇f‖² (c = 1e-4); the next
  step starts from twice the last accepted η. The objective therefore never rises.
- ``SGD``: shuffled mini-batches of ratings, one vectorised update per mini-batch (no Python loop
  per rating). Rating (u, i) carries the loss (r_ui − r̂_ui)² plus its share of the penalty,
  λ c_u/n_u (‖x_u‖² + b_u²) + λ c_i/n_i (‖y_i‖² + b_i²), so one epoch's shares add up to exactly
  the objective above. The learning rate of epoch e is η_e = η₀ · h / (1 + decay·(e − 1)), where
  h halves each time an epoch fails to lower the objective (that epoch is then undone). With
  ``learning_rate="auto"`` η₀ is the candidate (``RATE_CANDIDATES``) with the lowest objective
  after ``tune_epochs`` epochs from the start; that search is timed and counted in ``elapsed``.

History (``history_``): one row per step (GD) or epoch (SGD) with the columns of ``ac.ALS``'s
history (``side`` is ``"both"``: both sides move at once) plus ``step_size`` (the accepted η or
the epoch's learning rate) and ``evaluations`` (objective evaluations in that step). ``seconds``
is the step's work including its objective and validation RMSE (as ALS's history counts them);
``elapsed`` is the running sum of ``seconds`` (plus SGD's rate search), excluding callbacks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._params import ParamsMixin
from ._validation import as_csr, check_positive_int, observed
from .als import ALS, HISTORY_COLUMNS, FitEvent, initial_factors
from .errors import NonFiniteFactorsError, NotFittedError
from .ratings import Ratings

GRADIENT_HISTORY_COLUMNS = HISTORY_COLUMNS + ["step_size", "evaluations"]
ARMIJO_C = 1e-4
# Learning rates tried by SGD(learning_rate="auto"); per-rating rates, as in Funk's SVD.
RATE_CANDIDATES = (0.3, 0.1, 0.03, 0.01, 0.003, 0.001)
# Observed entries handled at once when computing residuals: bounds the gathered (chunk, k) blocks.
CHUNK = 1 << 16


class _Problem:
    """The observed ratings in coordinate form plus the penalty weights, for fast evaluation."""

    def __init__(
        self, R: sp.csr_matrix, lam: float, regularization: str, biases: bool, damping: float = 0.0
    ) -> None:
        self.R = R
        self.shape = R.shape
        self.rows = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))
        self.cols = R.indices.astype(np.intp)
        self.data = R.data
        self.nnz = R.nnz
        self.lam = float(lam)
        self.biases = biases
        self.mu = float(R.data.mean()) if (biases and R.nnz) else 0.0
        self.n_u = np.diff(R.indptr)
        self.n_i = np.bincount(self.cols, minlength=R.shape[1])
        weighted = regularization == "weighted"
        # c_u and c_i of the penalty, per row (n + n₀ when weighted).
        self.c_u = self.n_u + float(damping) if weighted else np.ones(R.shape[0])
        self.c_i = self.n_i + float(damping) if weighted else np.ones(R.shape[1])

    def residuals(self, X, Y, bu, bi) -> np.ndarray:
        """r − r̂ on every observed entry, in CSR order."""
        out = np.empty(self.nnz)
        for s in range(0, self.nnz, CHUNK):
            r, c = self.rows[s : s + CHUNK], self.cols[s : s + CHUNK]
            pred = np.einsum("nk,nk->n", X[r], Y[c])
            if self.biases:
                pred += self.mu + bu[r] + bi[c]
            out[s : s + CHUNK] = self.data[s : s + CHUNK] - pred
        return out

    def penalty(self, X, Y, bu, bi) -> float:
        sx = np.einsum("nk,nk->n", X, X)
        sy = np.einsum("nk,nk->n", Y, Y)
        if self.biases:
            sx = sx + bu * bu
            sy = sy + bi * bi
        return self.lam * float(sx @ self.c_u + sy @ self.c_i)

    def value(self, params) -> tuple[float, float, np.ndarray]:
        """(data term, regularisation term, residuals) at params = (X, Y, bu, bi)."""
        e = self.residuals(*params)
        return float(e @ e), self.penalty(*params), e

    def gradient(self, params, e: np.ndarray) -> tuple:
        """∇f at params, given its residuals e: −2 E Y + 2λ c x, and the same for the rest."""
        X, Y, bu, bi = params
        E = sp.csr_matrix((e, self.R.indices, self.R.indptr), shape=self.shape)
        gX = -2.0 * (E @ Y) + (2.0 * self.lam) * self.c_u[:, None] * X
        gY = -2.0 * (E.T @ X) + (2.0 * self.lam) * self.c_i[:, None] * Y
        if not self.biases:
            return gX, gY, None, None
        two_lam = 2.0 * self.lam
        gbu = -2.0 * np.bincount(self.rows, e, minlength=self.shape[0]) + two_lam * self.c_u * bu
        gbi = -2.0 * np.bincount(self.cols, e, minlength=self.shape[1]) + two_lam * self.c_i * bi
        return gX, gY, gbu, gbi


def _axpy(params, step: float, direction) -> tuple:
    """params − step·direction, skipping absent (None) parts."""
    pairs = zip(params, direction, strict=True)
    return tuple(None if p is None else p - step * d for p, d in pairs)


def _sq_norm(parts) -> float:
    return float(sum(np.vdot(p, p) for p in parts if p is not None))


@dataclass
class _FitLog:
    """What one fit's steps are recorded against: the data, the running ``elapsed`` and the
    history rows so far."""

    R: sp.csr_matrix
    problem: _Problem
    train: Any
    val: tuple | None
    elapsed: float
    rows: list[dict[str, Any]] = field(default_factory=list)


class _GradientModel(ALS):
    """Shared settings, validation, bookkeeping and history of the gradient methods."""

    method_name = "gradient"

    def __init__(
        self,
        *,
        k: int = 10,
        lam: float = 0.1,
        iterations: int = 100,
        regularization: str = "plain",
        biases: bool = False,
        tol: float | None = None,
        max_seconds: float | None = None,
        seed: int | None = 0,
        init_scale: float = 0.1,
    ) -> None:
        super().__init__(
            k=k,
            lam=lam,
            iterations=iterations,
            regularization=regularization,
            biases=biases,
            tol=tol,
            seed=seed,
            init_scale=init_scale,
        )
        self.max_seconds = max_seconds

    # Every setting, not ALS's short form.
    __repr__ = ParamsMixin.__repr__

    def _require_fitted(self) -> None:
        if not hasattr(self, "user_factors_"):
            raise NotFittedError(
                f"this {type(self).__name__} model is not fitted yet: call fit(train) first"
            )

    def _prepare(self, train, validation) -> tuple:
        R = as_csr(train)
        V = None if validation is None else as_csr(validation)
        self._validate(R, V)
        if self.max_seconds is not None and not (self.max_seconds > 0):
            raise ValueError(
                f"max_seconds must be a positive number or None, got {self.max_seconds!r}"
            )
        problem = _Problem(R, self.lam, self.regularization, bool(self.biases))
        X, Y, rng = initial_factors(
            R.shape[0], R.shape[1], int(self.k), seed=self.seed, init_scale=self.init_scale
        )
        bu = np.zeros(R.shape[0]) if self.biases else None
        bi = np.zeros(R.shape[1]) if self.biases else None
        return R, problem, (X, Y, bu, bi), rng, observed(V)

    def _store(self, R, problem, params, train) -> None:
        X, Y, bu, bi = params
        self._set_state(R, X, Y, bu, bi, problem.mu, problem.n_u, problem.n_i, train)

    def _row(self, it, problem, data_term, reg_term, val_rmse, seconds, elapsed, step, evals):
        return {
            "iteration": it,
            "side": "both",
            "objective": data_term + reg_term,
            "data_term": data_term,
            "regularization_term": reg_term,
            "train_rmse": float(np.sqrt(data_term / problem.nnz)) if problem.nnz else np.nan,
            "validation_rmse": val_rmse,
            "seconds": seconds,
            "elapsed": elapsed,
            "step_size": step,
            "evaluations": evals,
        }

    def _report(self, callback, row) -> bool:
        """Send one history row to the callback; True when it asked to stop."""
        if callback is None:
            return False
        fields = {key: row[key] for key in HISTORY_COLUMNS}
        event = FitEvent(iterations=int(self.iterations), model=self, **fields)
        callback(event)
        return event.stop_requested

    def _record_step(
        self, log: _FitLog, it: int, params, data_term: float, reg_term: float, *, t0, step, evals
    ) -> dict[str, Any]:
        """Store the step's factors, time it from ``t0`` (its validation RMSE included, as
        ALS's history counts them), add its seconds to ``log.elapsed`` and append its row."""
        self._store(log.R, log.problem, params, log.train)
        val_rmse = self._rmse_on(log.val)
        seconds = time.perf_counter() - t0
        log.elapsed += seconds
        row = self._row(
            it, log.problem, data_term, reg_term, val_rmse, seconds, log.elapsed, step, evals
        )
        log.rows.append(row)
        return row

    def _stop_after(
        self, callback, row, previous: float, *, diverged: bool, moved: bool
    ) -> str | None:
        """The ``stop_reason_`` after a step, checked in this order: "callback" (it asked to
        stop), "diverged", "tol" (only when the step ``moved`` the factors), "seconds"; None
        to go on."""
        if self._report(callback, row):
            return "callback"
        if diverged:
            return "diverged"
        if moved and self._converged(previous, row["objective"]):
            return "tol"
        if self.max_seconds is not None and row["elapsed"] >= self.max_seconds:
            return "seconds"
        return None

    def _converged(self, previous: float | None, current: float) -> bool:
        if self.tol is None or previous is None:
            return False
        return abs(previous - current) / max(abs(previous), 1e-300) < self.tol

    def _finish(self, history, start: float) -> None:
        self._check_finite()
        self.history_ = pd.DataFrame(history, columns=GRADIENT_HISTORY_COLUMNS)
        self.n_iter_ = len(history)
        self.best_iteration_ = None
        self.best_validation_rmse_ = None
        self.snapshots_ = None
        self.fit_seconds_ = time.perf_counter() - start


class GradientDescent(_GradientModel):
    """Full-batch gradient descent with a backtracking (Armijo) line search on the ALS objective.

    Settings as ``ac.ALS`` (``k``, ``lam``, ``regularization``, ``biases``, ``seed``,
    ``init_scale``; same start as ALS) plus ``iterations`` (gradient steps, default 200),
    ``tol`` (stop when the relative decrease of one step is below it), ``max_seconds`` (stop once
    ``elapsed`` passes it), ``initial_step`` (the first η tried) and ``max_backtracks``.
    ``stop_reason_`` is one of "iterations", "tol", "seconds", "callback", "line_search" (no
    step of at least η·2^-max_backtracks lowered the objective: a stationary point to rounding).
    """

    method_name = "gradient descent"

    def __init__(
        self,
        *,
        k: int = 10,
        lam: float = 0.1,
        iterations: int = 200,
        regularization: str = "plain",
        biases: bool = False,
        tol: float | None = None,
        max_seconds: float | None = None,
        seed: int | None = 0,
        init_scale: float = 0.1,
        initial_step: float = 1.0,
        max_backtracks: int = 50,
    ) -> None:
        super().__init__(
            k=k,
            lam=lam,
            iterations=iterations,
            regularization=regularization,
            biases=biases,
            tol=tol,
            max_seconds=max_seconds,
            seed=seed,
            init_scale=init_scale,
        )
        self.initial_step = initial_step
        self.max_backtracks = max_backtracks

    def fit(
        self,
        train: Ratings | sp.spmatrix | sp.sparray,
        validation: Ratings | sp.spmatrix | sp.sparray | None = None,
        callback: Callable[[FitEvent], Any] | None = None,
    ) -> GradientDescent:
        """Take up to ``iterations`` line-searched gradient steps; report each to ``callback``."""
        if not (np.isfinite(self.initial_step) and self.initial_step > 0):
            raise ValueError(f"initial_step must be a positive number, got {self.initial_step!r}")
        R, problem, params, _, val = self._prepare(train, validation)
        self._store(R, problem, params, train)
        start = time.perf_counter()
        data_term, reg_term, e = problem.value(params)
        self.initial_objective_ = data_term + reg_term
        step = float(self.initial_step)
        # The start's evaluation is part of the method.
        log = _FitLog(R, problem, train, val, elapsed=time.perf_counter() - start)
        self.stop_reason_ = "iterations"
        for it in range(1, int(self.iterations) + 1):
            t0 = time.perf_counter()
            f0 = data_term + reg_term
            grad = problem.gradient(params, e)
            g2 = _sq_norm(grad)
            evals = 0
            accepted = None
            for _ in range(int(self.max_backtracks) + 1):
                trial = _axpy(params, step, grad)
                d1, r1, e1 = problem.value(trial)
                evals += 1
                if np.isfinite(d1 + r1) and d1 + r1 <= f0 - ARMIJO_C * step * g2:
                    accepted = (trial, d1, r1, e1)
                    break
                step *= 0.5
            if accepted is None:
                self.stop_reason_ = "line_search"
                break
            params, data_term, reg_term, e = accepted
            row = self._record_step(
                log, it, params, data_term, reg_term, t0=t0, step=step, evals=evals
            )
            step *= 2.0  # let the step grow back; the search halves it again when needed
            reason = self._stop_after(callback, row, f0, diverged=False, moved=True)
            if reason is not None:
                self.stop_reason_ = reason
                break
        self._finish(log.rows, start)
        return self


class SGD(_GradientModel):
    """Mini-batch stochastic gradient descent on the ALS objective (schedule in the module docs).

    Settings as ``ac.ALS`` (same start for the same ``seed``/``k``/``init_scale``) plus
    ``iterations`` (epochs, default 50), ``learning_rate`` (η₀, a number or ``"auto"``),
    ``decay`` (the 1/(1 + decay·(e − 1)) schedule), ``batch_size`` (ratings per vectorised
    update), ``tune_epochs`` (epochs per candidate rate when ``"auto"``), ``tol`` and
    ``max_seconds``. After the fit ``learning_rate_`` is the η₀ used and ``tuning_seconds_`` the
    time the search took (already included in ``history_["elapsed"]``). ``stop_reason_`` is one
    of "iterations", "tol", "seconds", "callback", "diverged" (the rate was halved 30 times
    without an epoch that lowered the objective).
    """

    method_name = "SGD"

    def __init__(
        self,
        *,
        k: int = 10,
        lam: float = 0.1,
        iterations: int = 50,
        regularization: str = "plain",
        biases: bool = False,
        tol: float | None = None,
        max_seconds: float | None = None,
        seed: int | None = 0,
        init_scale: float = 0.1,
        learning_rate: float | str = "auto",
        decay: float = 0.05,
        batch_size: int = 256,
        tune_epochs: int = 2,
    ) -> None:
        super().__init__(
            k=k,
            lam=lam,
            iterations=iterations,
            regularization=regularization,
            biases=biases,
            tol=tol,
            max_seconds=max_seconds,
            seed=seed,
            init_scale=init_scale,
        )
        self.learning_rate = learning_rate
        self.decay = decay
        self.batch_size = batch_size
        self.tune_epochs = tune_epochs

    def _check_settings(self) -> None:
        lr = self.learning_rate
        if not (lr == "auto" or (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0)):
            raise ValueError(f"learning_rate must be a positive number or 'auto', got {lr!r}")
        if not (np.isfinite(self.decay) and self.decay >= 0):
            raise ValueError(f"decay must be a number ≥ 0, got {self.decay!r}")
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("tune_epochs", self.tune_epochs)

    def fit(
        self,
        train: Ratings | sp.spmatrix | sp.sparray,
        validation: Ratings | sp.spmatrix | sp.sparray | None = None,
        callback: Callable[[FitEvent], Any] | None = None,
    ) -> SGD:
        """Run up to ``iterations`` epochs over the shuffled ratings; report each epoch."""
        self._check_settings()
        R, problem, params, rng, val = self._prepare(train, validation)
        # Rows without ratings have only the penalty, whose minimiser is 0 (as ALS sets them).
        params = _zero_empty_rows(params, problem)
        self._store(R, problem, params, train)
        start = time.perf_counter()
        data_term, reg_term, _ = problem.value(params)
        self.initial_objective_ = data_term + reg_term
        shares = _penalty_shares(problem)
        if self.learning_rate == "auto":
            eta0 = _tune_rate(problem, params, shares, rng, int(self.tune_epochs), self)
        else:
            eta0 = float(self.learning_rate)
        self.learning_rate_ = eta0
        self.tuning_seconds_ = time.perf_counter() - start
        log = _FitLog(R, problem, train, val, elapsed=self.tuning_seconds_)
        halvings = 0
        self.stop_reason_ = "iterations"
        for epoch in range(1, int(self.iterations) + 1):
            t0 = time.perf_counter()
            f0 = data_term + reg_term
            rate = eta0 * 0.5**halvings / (1.0 + float(self.decay) * (epoch - 1))
            with np.errstate(over="ignore", invalid="ignore"):
                trial = _sgd_epoch(problem, params, shares, rate, rng, int(self.batch_size))
                d1, r1, _ = problem.value(trial)
            evals = 1
            if np.isfinite(d1 + r1) and d1 + r1 <= f0:
                params, data_term, reg_term = trial, d1, r1
            else:
                halvings += 1  # undo the epoch and continue with half the rate
            row = self._record_step(
                log, epoch, params, data_term, reg_term, t0=t0, step=rate, evals=evals
            )
            # An undone epoch moved nothing, so it says nothing about convergence.
            moved = params is trial
            reason = self._stop_after(callback, row, f0, diverged=halvings >= 30, moved=moved)
            if reason is not None:
                self.stop_reason_ = reason
                break
        self._finish(log.rows, start)
        return self


def _zero_empty_rows(params, problem: _Problem) -> tuple:
    X, Y, bu, bi = (None if p is None else p.copy() for p in params)
    X[problem.n_u == 0] = 0.0
    Y[problem.n_i == 0] = 0.0
    return X, Y, bu, bi


def _penalty_shares(problem: _Problem) -> tuple[np.ndarray, np.ndarray]:
    """λ c_u / n_u and λ c_i / n_i: each rating's share of its row's and column's penalty."""
    su = problem.lam * problem.c_u / np.maximum(problem.n_u, 1)
    si = problem.lam * problem.c_i / np.maximum(problem.n_i, 1)
    return su, si


def _sgd_epoch(problem: _Problem, params, shares, rate: float, rng, batch: int) -> tuple:
    """One pass over the shuffled ratings in mini-batches; returns new parameter arrays."""
    X, Y, bu, bi = (None if p is None else p.copy() for p in params)
    su, si = shares
    order = rng.permutation(problem.nnz)
    for s in range(0, problem.nnz, batch):
        idx = order[s : s + batch]
        u, i, r = problem.rows[idx], problem.cols[idx], problem.data[idx]
        xu, yi = X[u], Y[i]
        pred = np.einsum("nk,nk->n", xu, yi)
        if bu is not None:
            pred += problem.mu + bu[u] + bi[i]
        e2 = 2.0 * (r - pred)
        # Gradient of each rating's loss; summed per row by np.add.at (rows repeat in a batch).
        np.add.at(X, u, rate * (e2[:, None] * yi - 2.0 * su[u][:, None] * xu))
        np.add.at(Y, i, rate * (e2[:, None] * xu - 2.0 * si[i][:, None] * yi))
        if bu is not None:
            np.add.at(bu, u, rate * (e2 - 2.0 * su[u] * bu[u]))
            np.add.at(bi, i, rate * (e2 - 2.0 * si[i] * bi[i]))
    return X, Y, bu, bi


def _tune_rate(problem: _Problem, params, shares, rng, epochs: int, model: SGD) -> float:
    """The candidate rate with the lowest objective after ``epochs`` epochs from ``params``.

    Each candidate sees the same shuffles (a generator spawned from ``rng``), so they differ only
    in the rate. The schedule's decay applies as in the real run.
    """
    seed_seq = rng.integers(0, 2**63 - 1)
    best_rate, best_value = None, np.inf
    for rate in RATE_CANDIDATES:
        local = np.random.default_rng(seed_seq)
        trial = params
        value = np.inf
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(1, epochs + 1):
                eta = rate / (1.0 + float(model.decay) * (epoch - 1))
                trial = _sgd_epoch(problem, trial, shares, eta, local, int(model.batch_size))
                d, r, _ = problem.value(trial)
                value = d + r
                if not np.isfinite(value):
                    break
        if np.isfinite(value) and value < best_value:
            best_rate, best_value = rate, value
    if best_rate is None:
        raise NonFiniteFactorsError(
            f"SGD diverged for every candidate learning rate {RATE_CANDIDATES}; scale the "
            "ratings down or pass a smaller learning_rate"
        )
    return float(best_rate)
