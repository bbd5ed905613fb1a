"""The numbers of "One update by hand": one row's update, rating by rating, checked.

Pure computations on a fitted model and its kept states (numpy and als_core only, no Streamlit),
so the page stays short and the tests can hold every number to the library's own half-step.
``replay_fit`` gives the page the session's fit with its states (``fit_states``).

The update by hand follows ``als_core.reference_update_steps`` (the article's loop, one rating at
a time). With biases the loop runs on what the library solves: each fixed row gets a trailing 1
(so the row's own bias is one more unknown) and each target is r − μ − b_other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

import als_core as ac
from als_core.reference import UpdateStep, reference_solve_row, reference_update_steps

from .fit_states import FactorState, final_state
from .settings import global_mean_term

SIDES = ("users", "items")


def update_moments(states: list[FactorState], side: str) -> list[int]:
    """Iterations t whose ``side`` update can be replayed exactly from the kept states.

    A users update of iteration t starts from the state after the items of t − 1 (or the random
    start when t = 1); an items update starts from the users of the same iteration. When the fit
    kept only every other snapshot (big data), some iterations cannot be replayed.
    """
    moments = []
    for before, after in zip(states, states[1:], strict=False):
        if after.side != side:
            continue
        if side == "users":
            ok = (before.side == "start" and after.iteration == 1) or (
                before.side == "items" and before.iteration == after.iteration - 1
            )
        else:
            ok = before.side == "users" and before.iteration == after.iteration
        if ok:
            moments.append(after.iteration)
    return moments


def update_states(
    states: list[FactorState], side: str, iteration: int
) -> tuple[FactorState, FactorState]:
    """(state before, state after) the ``side`` update of ``iteration``."""
    for before, after in zip(states, states[1:], strict=False):
        same = after.side == side and after.iteration == iteration
        if same and iteration in update_moments([before, after], side):
            return before, after
    raise ValueError(
        f"the {side} update of iteration {iteration} was not kept; choose one of "
        f"{update_moments(states, side)}"
    )


@dataclass(frozen=True)
class UpdateProblem:
    """One row's exact update, x = (A + ridge·I)⁻¹ B, with everything needed to show it.

    ``side`` is the side being solved ("users": the row is a user, the columns are items).
    ``cols`` are the columns this row rated in the training data, in CSR order (the order the
    reference loop visits them); ``ratings`` the raw ratings, ``targets`` what is regressed
    (r − μ − b_other with biases, else r), ``design`` the fixed rows used (with a trailing 1
    with biases) and ``offset`` the part of each prediction that is fixed (μ + b_other, or 0).
    ``steps`` are the running A and B after each rating (``reference_update_steps``).
    ``before`` / ``solution`` are the row's unknowns (factors, then its bias with biases) before
    and after the update.
    """

    side: str
    row: int
    cols: np.ndarray
    ratings: np.ndarray
    targets: np.ndarray
    design: np.ndarray
    offset: np.ndarray
    ridge: float
    regularization: str
    lam: float
    biases: bool
    steps: tuple[UpdateStep, ...]
    A: np.ndarray  # Σ y yᵀ, without the ridge
    B: np.ndarray  # Σ target · y
    solution: np.ndarray
    before: np.ndarray

    @property
    def k(self) -> int:
        return self.design.shape[1] - (1 if self.biases else 0)

    @property
    def n(self) -> int:
        return len(self.cols)

    @property
    def system(self) -> np.ndarray:
        """A + ridge·I: the matrix actually solved."""
        return self.A + self.ridge * np.eye(len(self.B))

    def unknown_names(self, symbol: str) -> list[str]:
        """Names of the unknowns: x₁ … x_k, then b (the row's bias) with biases."""
        names = [f"{symbol}{_subscript(f + 1)}" for f in range(self.k)]
        return [*names, "b"] if self.biases else names

    def running(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """A and B after the first ``step`` ratings (step 0: nothing yet)."""
        if step <= 0 or not self.steps:
            width = self.design.shape[1]
            return np.zeros((width, width)), np.zeros(width)
        s = self.steps[min(step, len(self.steps)) - 1]
        return s.A, s.B

    def table(self, labels: np.ndarray, *, fixed_symbol: str) -> pd.DataFrame:
        """One row per rating in the order they are added: step, who was rated (``labels`` of
        ``cols``), r, with biases the fixed part and the target, then the fixed factors."""
        table = pd.DataFrame(
            {"step": np.arange(1, self.n + 1), "item" if self.side == "users" else "user": labels}
        )
        table["r"] = self.ratings
        if self.biases:
            table["μ + b (fixed)"] = self.offset
            table["target"] = self.targets
        for f in range(self.k):
            table[f"{fixed_symbol}{f + 1}"] = self.design[:, f]
        if self.biases:
            table["1"] = self.design[:, -1]
        return table

    def at_step(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(A + ridge·I, B, x) after the first ``step`` ratings: the system as it stands and
        the unknowns it would give if solved now (0 before any rating)."""
        A, B = self.running(step)
        x = reference_solve_row(A, B, self.ridge) if step > 0 else np.zeros(len(B))
        return A + self.ridge * np.eye(len(B)), B, x

    def addition(self, step: int) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        """What rating ``step`` (1-based) adds: (its fixed row y, its target t, t·y added to
        B, B after it); A grows by y yᵀ."""
        if not 1 <= step <= self.n:
            raise ValueError(f"step must be in 1..{self.n}, got {step}")
        y = self.design[step - 1]
        target = float(self.targets[step - 1])
        return y, target, target * y, self.steps[step - 1].B

    def predictions(self, unknowns: np.ndarray, design: np.ndarray | None = None) -> np.ndarray:
        """Predicted ratings of this row's rated columns for the given unknowns (unclipped)."""
        design = self.design if design is None else design
        return self.offset + design @ unknowns


def update_problem(
    model: ac.ALS,
    train: ac.Ratings,
    before: FactorState,
    *,
    side: str,
    row: int,
) -> UpdateProblem:
    """Set up and solve one row's update from state ``before`` exactly as the library does.

    ``side="users"``: row ``row`` of the training matrix against the item factors of
    ``before``; ``side="items"``: column ``row`` against the user factors. Uses the model's λ,
    regularisation (ridge λ, or λ·(n + damping) when weighted), biases and global mean.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    matrix = _one_row(train, side, row)
    other = "items" if side == "users" else "users"
    fixed = np.asarray(before.factors(other), dtype=np.float64)
    biases = bool(model.biases)
    mu = global_mean_term(model)
    fixed_bias = before.bias(other) if biases else None
    cols = matrix.indices.astype(np.int64)
    ratings = matrix.data.astype(np.float64)
    offset = np.full(len(cols), mu)
    if fixed_bias is not None:
        offset = offset + np.asarray(fixed_bias, dtype=np.float64)[cols]
    targets = ratings - offset
    full_design = design_rows(fixed, biases=biases)
    # The reference loop over this one row: a 1-row matrix of targets at the rated columns.
    one_row = sp.csr_matrix((targets, cols, np.array([0, len(cols)])), shape=(1, matrix.shape[1]))
    steps = tuple(reference_update_steps(one_row, full_design, 0))
    width = full_design.shape[1]
    A = steps[-1].A if steps else np.zeros((width, width))
    B = steps[-1].B if steps else np.zeros(width)
    lam = float(model.lam)
    damping = float(getattr(model, "damping", 0.0) or 0.0)
    ridge = lam * (len(cols) + damping) if model.regularization == "weighted" else lam
    solution = reference_solve_row(A, B, ridge) if len(cols) else np.zeros(width)
    own = np.asarray(before.factors(side), dtype=np.float64)[row]
    own_bias = before.bias(side)
    before_unknowns = np.append(own, float(own_bias[row])) if biases else own.copy()
    return UpdateProblem(
        side=side,
        row=int(row),
        cols=cols,
        ratings=ratings,
        targets=targets,
        design=full_design[cols],
        offset=offset,
        ridge=float(ridge),
        regularization=str(model.regularization),
        lam=lam,
        biases=biases,
        steps=steps,
        A=A,
        B=B,
        solution=solution,
        before=before_unknowns,
    )


def design_rows(fixed: np.ndarray, *, biases: bool) -> np.ndarray:
    """The fixed side's rows as the solve sees them: with a trailing 1 when fitting biases."""
    fixed = np.asarray(fixed, dtype=np.float64)
    if not biases:
        return fixed
    return np.hstack([fixed, np.ones((len(fixed), 1))])


def library_half_step_row(
    model: ac.ALS, train: ac.Ratings, before: FactorState, *, side: str, row: int
) -> np.ndarray:
    """The same row solved by the library's fast ``als_half_step`` (for checking by eye)."""
    matrix = _one_row(train, side, row)  # rows are solved independently: this one alone
    other = "items" if side == "users" else "users"
    kwargs: dict[str, Any] = {}
    damping = float(getattr(model, "damping", 0.0) or 0.0)
    if damping:
        kwargs["damping"] = damping
    result = ac.als_half_step(
        matrix,
        np.asarray(before.factors(other), dtype=np.float64),
        float(model.lam),
        model.regularization,
        biases=bool(model.biases),
        fixed_bias=before.bias(other) if model.biases else None,
        global_mean=global_mean_term(model),
        **kwargs,
    )
    if model.biases:
        factors, bias = result
        return np.append(factors[0], bias[0])
    return result[0]


def _one_row(train: ac.Ratings, side: str, row: int) -> sp.csr_matrix:
    """Row ``row`` of R (users) or of Rᵀ (items) as a 1-row CSR matrix with sorted columns;
    cutting out one row keeps a page quick on big data (a full Rᵀ takes ~1 s at 20M)."""
    n = train.matrix.shape[0 if side == "users" else 1]
    if not 0 <= row < n:
        raise ValueError(f"row must be in 0..{n - 1}, got {row}")
    one = train.matrix[row : row + 1] if side == "users" else train.matrix[:, [row]].T
    one = sp.csr_matrix(one)
    one.sort_indices()
    return one


@dataclass(frozen=True)
class UpdateCheck:
    """How far the update by hand is from the library: its fast ``als_half_step`` on the same
    row, and (for an update made during training) the factors the fit stored after it."""

    library: float  # largest |difference| to als_half_step (0 for a row without ratings)
    stored: float | None  # largest |difference| to the fit's snapshot; None for "one more"


def update_check(
    model: ac.ALS,
    train: ac.Ratings,
    problem: UpdateProblem,
    before: FactorState,
    after: FactorState | None,
) -> UpdateCheck:
    """Hold the solved unknowns of ``problem`` to the library and to the fit's own state."""
    library = library_half_step_row(model, train, before, side=problem.side, row=problem.row)
    difference = float(np.max(np.abs(library - problem.solution))) if problem.n else 0.0
    stored = None
    if after is not None:
        kept = after.factors(problem.side)[problem.row]
        if problem.biases:
            kept = np.append(kept, after.bias(problem.side)[problem.row])
        stored = float(np.max(np.abs(kept - problem.solution)))
    return UpdateCheck(library=difference, stored=stored)


@dataclass(frozen=True)
class UpdatePredictions:
    """One row's predictions before and after its update: its training ratings first, then
    its held-out ones (which the update never saw). Unclipped: offset + design · unknowns."""

    cols: np.ndarray  # the other side's indices, training ratings first
    actual: np.ndarray
    before: np.ndarray
    after: np.ndarray
    held_out: np.ndarray  # True for the held-out ratings
    rmse_before: float  # on the training ratings only (NaN when there are none)
    rmse_after: float


def update_predictions(
    problem: UpdateProblem,
    before: FactorState,
    validation: ac.Ratings | None,
    *,
    global_mean: float,
) -> UpdatePredictions:
    """Predicted ratings of ``problem``'s row with its unknowns before and after the update,
    on its training ratings and on its ratings in ``validation`` (same index space)."""
    held = _one_row(validation, problem.side, problem.row) if validation is not None else None
    held_cols = held.indices.astype(np.int64) if held is not None else np.zeros(0, np.int64)
    held_values = held.data.astype(np.float64) if held is not None else np.zeros(0)
    other = "items" if problem.side == "users" else "users"
    design = design_rows(before.factors(other), biases=problem.biases)
    cols = np.concatenate([problem.cols, held_cols])
    offset = np.zeros(len(cols))
    if problem.biases:
        offset = global_mean + np.asarray(before.bias(other), dtype=np.float64)[cols]
    predicted_before = offset + design[cols] @ problem.before
    predicted_after = offset + design[cols] @ problem.solution
    actual = np.concatenate([problem.ratings, held_values])
    n = problem.n

    def train_rmse(predicted: np.ndarray) -> float:
        return ac.rmse(actual[:n], predicted[:n]) if n else float("nan")

    return UpdatePredictions(
        cols=cols,
        actual=actual,
        before=predicted_before,
        after=predicted_after,
        held_out=np.arange(len(cols)) >= n,
        rmse_before=train_rmse(predicted_before),
        rmse_after=train_rmse(predicted_after),
    )


@dataclass(frozen=True)
class RowObjectiveChange:
    """The row's objective (``ac.row_objectives``: its squared errors plus its own penalty)
    with its unknowns before and after the update: what the solve minimises, so it falls."""

    data_before: float
    penalty_before: float
    data_after: float
    penalty_after: float

    @property
    def before(self) -> float:
        return self.data_before + self.penalty_before

    @property
    def after(self) -> float:
        return self.data_after + self.penalty_after


def update_row_objective(
    model: ac.ALS, train: ac.Ratings, problem: UpdateProblem, before: FactorState
) -> RowObjectiveChange:
    """The row objective of ``problem``'s row before and after its update, by the library."""
    matrix = _one_row(train, problem.side, problem.row)
    other = "items" if problem.side == "users" else "users"
    k = problem.k
    terms = []
    for unknowns in (problem.before, problem.solution):
        result = ac.row_objectives(
            matrix,
            np.asarray(unknowns[:k], dtype=np.float64)[None, :],
            np.asarray(before.factors(other), dtype=np.float64),
            float(model.lam),
            model.regularization,
            own_bias=np.array([unknowns[k]]) if problem.biases else None,
            fixed_bias=before.bias(other) if problem.biases else None,
            global_mean=global_mean_term(model),
            damping=float(getattr(model, "damping", 0.0) or 0.0),
        )
        terms.append((float(result.data[0]), float(result.penalty[0])))
    (data_before, penalty_before), (data_after, penalty_after) = terms
    return RowObjectiveChange(data_before, penalty_before, data_after, penalty_after)


@dataclass(frozen=True)
class UpdateLesson:
    """Everything the update page shows for one row and one moment of the fit."""

    before: FactorState
    problem: UpdateProblem
    check: UpdateCheck
    predictions: UpdatePredictions
    objective: RowObjectiveChange


def update_lesson(
    model: ac.ALS,
    train: ac.Ratings,
    validation: ac.Ratings | None,
    states: list[FactorState],
    *,
    side: str,
    row: int,
    iteration: int | None,
) -> UpdateLesson:
    """One row's update by hand, checked, with its predictions and row objective.

    Parameters
    ----------
    model : ac.ALS
        The fitted model (λ, regularisation, biases, μ).
    train, validation : ac.Ratings
        The fit's training ratings and its held-out ones (or None).
    states : list of FactorState
        The fit's kept states (``states_of``).
    side : {"users", "items"}
        The side being solved.
    row : int
        The user (or item) whose update is shown.
    iteration : int or None
        The ``side`` update made during training at this iteration, from the state before it;
        None: the update the trained model would make next (from its own factors).

    Returns
    -------
    UpdateLesson
    """
    if iteration is None:
        before, after = final_state(model), None
    else:
        before, after = update_states(states, side, int(iteration))
    problem = update_problem(model, train, before, side=side, row=row)
    return UpdateLesson(
        before=before,
        problem=problem,
        check=update_check(model, train, problem, before, after),
        predictions=update_predictions(
            problem, before, validation, global_mean=global_mean_term(model)
        ),
        objective=update_row_objective(model, train, problem, before),
    )


def easy_row(counts: np.ndarray) -> int:
    """A row that is quick to follow by hand: the first with the fewest ratings ≥ 5 (or, when
    no row has 5, the first of the most active)."""
    counts = np.asarray(counts)
    enough = counts >= min(5, int(counts.max(initial=0)))
    if not enough.any():
        return 0
    fewest = counts[enough].min()
    return int(np.flatnonzero(enough & (counts == fewest))[0])


def _subscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
