"""Find ALS settings that predict well: ``tune(train)`` searches k, λ, the regularisation, biases
and the damping on ratings held out from ``train``, within a time budget.

The search space. Every row's ridge in ``ALS`` is ``a·n + b`` (n: the row's number of ratings):
``regularization="plain"`` is a = 0, b = λ; ``"weighted"`` is a = λ, b = λ·damping, so a damping
n₀ turns pure ALS-WR (b = 0) into a mix of both. ``tune`` searches (a, b) on geometric ladders
of factor √2 that include 0, so plain, pure ALS-WR and everything between are one space, plus
biases on/off and the rank k. It reports the settings in ``ALS``'s own terms.

The plan (fixed: what it visits depends only on the data, the seed and, for the ranks, the
budget; the time it takes never changes it):

1. **screen** at a small rank k₀ = min(10, n_users, n_items): weighted λ = 0.1 with damping 25
   (the centre), plain λ with the same mean ridge over the rated rows, pure ALS-WR (damping 0),
   and the centre without biases.
2. **refine** from the best of those: a compass search on (a, b), moving to the best of the
   four neighbours while it improves, with steps ×4 then ×2 (at most ``REFINE_FITS`` fits).
3. **rank**: k₀·2, k₀·4, … with the same ridge while doubling lowers the RMSE by ``RANK_GAIN``
   (relative). Ranks whose estimated cost at a nominal speed (``NOMINAL_FLOPS``) exceeds a
   quarter of the budget are left out of the plan, so it fits the budget on any machine.
4. **polish**: the compass search with ×√2 steps at the chosen rank (at most ``POLISH_FITS``).

The setting with the lowest validation RMSE of all fits is chosen.

Every fit runs up to ``MAX_ITERATIONS`` iterations and scores the validation ratings after
each. Its table row says why it ended: "converged" (its validation RMSE has not improved by
``MIN_GAIN``, relative, for ``PATIENCE`` iterations; ``LOOSE_GAIN`` while it trails the best
fit so far), "behind" (it trails the best fit of its rank by ``RACE_MARGIN`` after
``RACE_FROM`` iterations: it would not win), "max iterations", "budget", "stopped" or
"failed" (non-finite factors). A fit of n iterations is exactly the first n iterations of a
longer fit with the same seed, so the best iteration on a fit's curve is the iteration count
reported, and the best fit's curve is followed to the strict ``MIN_GAIN``.

The budget only truncates this plan: it is checked before every fit and after every half-step,
and the best setting found so far is returned (the first fit's first iteration always
completes, so there is always a measured setting). With a budget long enough for the whole
plan, the same data and seed give the same table (up to its ``seconds`` column) and the same
settings; a truncated table says so in ``table.attrs["truncated"]``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._validation import is_int
from .als import ALS, FitEvent
from .errors import NonFiniteFactorsError
from .ratings import Ratings
from .split import split

#: Fraction of ``train`` held out for validation when no ``validation`` is given.
VALIDATION_FRACTION = 0.2
#: Fewest ratings ``train`` may have (a validation split needs some of them).
MIN_RATINGS = 10
#: Rank of the screening and refining fits (or min(n_users, n_items) if smaller).
SCREEN_K = 10
#: Most iterations of one fit, and when a fit counts as converged.
MAX_ITERATIONS = 50
PATIENCE = 2
#: Relative gain per iteration that counts as progress: for the best fit so far (whose curve
#: decides the iteration count), and for the others (which only need to lose clearly).
MIN_GAIN = 1e-4
LOOSE_GAIN = 2e-4
#: A fit that trails the best fit of its rank by this much (relative) after RACE_FROM
#: iterations is ended: it would not win.
RACE_MARGIN = 0.01
RACE_FROM = 5
#: Most fits of the refine and polish stages.
REFINE_FITS = 12
POLISH_FITS = 8
#: A doubled rank must lower the validation RMSE by this much (relative) to go on doubling.
RANK_GAIN = 5e-4
#: Nominal speed (floating-point operations per second) for planning ranks against the budget,
#: and the share of the budget one fit may be planned to take.
NOMINAL_FLOPS = 2e9
RANK_BUDGET_SHARE = 0.25
#: The search space's centre: weighted λ = 0.1 with damping 25 (see benchmarks/README.md).
CENTRE_A = 0.1
CENTRE_B = 2.5
#: Ladder indices (value = centre · 2^(j/2)); one step below the lowest is 0.
A_STEPS = (-8, 8)
B_STEPS = (-8, 12)

TABLE_COLUMNS = [
    "fit",
    "stage",
    "regularization",
    "biases",
    "k",
    "lam",
    "damping",
    "iterations",
    "validation_rmse",
    "iterations_run",
    "status",
    "seconds",
    "chosen",
]

_now = time.perf_counter  # the clock of the budget (tests replace it)


# --------------------------------------------------------------------------------- results
@dataclass
class TuneEvent:
    """What ``tune``'s callback receives: at the start, after every half-step of every fit,
    after every fit, and once at the end. Call ``stop()`` to end the search (within one
    half-step); the result then holds what was measured so far.

    ``kind`` is "start", "half-step", "fit" (a fit just finished: its row is the table's
    last) or "end". ``done`` fits of at most ``total`` are finished (``total`` shrinks when a
    stage ends early); ``fraction`` also counts the current fit's progress, for a progress bar;
    ``best_params`` and ``best_rmse`` are the best settings so far (None and NaN before the
    first measured iteration); ``elapsed`` is seconds since the search started.
    """

    kind: str
    done: int
    total: int
    message: str
    best_params: dict[str, Any] | None
    best_rmse: float
    elapsed: float
    fraction: float
    stop_requested: bool = field(default=False, repr=False)

    def stop(self) -> None:
        self.stop_requested = True


@dataclass(frozen=True)
class TuneResult:
    """What ``tune`` found.

    Attributes
    ----------
    params : dict or None
        The best settings, for ``ALS(**params)``: k, lam, regularization, damping, biases,
        iterations and seed. None only if the search was stopped before any iteration was
        measured.
    table : pandas.DataFrame
        One row per fit, in order (columns ``TABLE_COLUMNS``): the settings, the best
        iteration and its validation RMSE, iterations run, why the fit ended (``status``),
        seconds, and ``chosen`` on the best row. ``table.attrs["truncated"]`` as below.
    validation_rmse : float
        The best setting's RMSE on the validation ratings (NaN if none was measured).
    truncated : bool
        The budget or a stop ended the plan before its end.
    stopped : bool
        The callback asked to stop.
    seconds : float
        Wall-clock time of the search.
    n_fit, n_validation : int
        How many ratings the fits used and were scored on.
    """

    params: dict[str, Any] | None
    table: pd.DataFrame
    validation_rmse: float
    truncated: bool
    stopped: bool
    seconds: float
    n_fit: int
    n_validation: int

    def summary(self) -> str:
        """One line for people: the settings and their validation RMSE."""
        if self.params is None:
            return "no settings measured (stopped before the first iteration)"
        cut = " (search cut short)" if self.truncated else ""
        return (
            f"{describe_params(self.params)}: validation RMSE {self.validation_rmse:.4f} "
            f"after {len(self.table)} fit(s) in {self.seconds:.1f} s{cut}"
        )


def describe_params(params: dict[str, Any]) -> str:
    """``k=20, weighted λ=0.1, damping 25, biases, 17 iterations`` (as people read them)."""
    ridge = f"{params['regularization']} λ={params['lam']:g}"
    if params.get("damping"):
        ridge += f", damping {params['damping']:g}"
    parts = [f"k={params['k']}", ridge, "biases" if params["biases"] else "no biases"]
    if "iterations" in params:
        parts.append(f"{params['iterations']} iterations")
    return ", ".join(parts)


# --------------------------------------------------------------------------------- the space
@dataclass(frozen=True)
class _Point:
    """A setting: biases, rank and the ridge a·n + b as ladder indices (None is 0)."""

    biases: bool
    k: int
    a: int | None
    b: int | None

    def settings(self) -> dict[str, Any]:
        """The ALS keyword arguments of this point (without iterations and seed)."""
        a, b = _ladder_value(CENTRE_A, self.a), _ladder_value(CENTRE_B, self.b)
        if a == 0:
            return {
                "k": self.k,
                "lam": b,
                "regularization": "plain",
                "damping": 0.0,
                "biases": self.biases,
            }
        return {
            "k": self.k,
            "lam": a,
            "regularization": "weighted",
            "damping": _round(b / a),
            "biases": self.biases,
        }

    def moved(self, axis: str, steps: int) -> _Point | None:
        """The point ``steps`` ladder steps along ``axis`` ("a" or "b"), clamped to the ladder
        (one step below its lowest value is 0); None where that is no move, or where the
        ridge would be 0 on both parts."""
        low, high = A_STEPS if axis == "a" else B_STEPS
        j = getattr(self, axis)
        if j is None:
            new = low if steps > 0 else None
        else:
            new = min(j + steps, high)
            if new < low:
                new = None
        if new == j:
            return None
        ab = {"a": self.a, "b": self.b, axis: new}
        if ab["a"] is None and ab["b"] is None:
            return None
        return _Point(self.biases, self.k, ab["a"], ab["b"])

    def with_k(self, k: int) -> _Point:
        return _Point(self.biases, k, self.a, self.b)


def _ladder_value(centre: float, j: int | None) -> float:
    return 0.0 if j is None else _round(centre * 2.0 ** (j / 2))


def _round(x: float) -> float:
    """Three significant digits: readable settings that are exactly what was fitted."""
    return float(f"{x:.3g}")


def _nearest_b(value: float) -> int:
    j = int(round(2 * math.log2(max(value, 1e-12) / CENTRE_B)))
    return min(max(j, B_STEPS[0]), B_STEPS[1])


# --------------------------------------------------------------------------------- the search
class _Halt(Exception):
    """The budget ran out or the callback asked to stop: the plan ends here."""


class _Search:
    """Runs fits, keeps their rows and curves, reports progress and enforces budget and Stop."""

    def __init__(
        self,
        fit_part: Ratings,
        valid: Ratings,
        *,
        seed: int,
        budget_seconds: float,
        callback: Callable[[TuneEvent], Any] | None,
        start: float,
        max_k: int | None = None,
    ) -> None:
        self.fit_part = fit_part
        self.max_k = max_k
        self.valid = valid
        self.seed = seed
        self.budget_seconds = float(budget_seconds)
        self.callback = callback
        self.start = start
        self.deadline = start + self.budget_seconds
        self.rows: list[dict[str, Any]] = []
        self.curves: dict[_Point, list[float]] = {}
        self.scores: dict[_Point, float] = {}
        self.best: _Point | None = None
        self.best_params: dict[str, Any] | None = None
        self.done = 0
        self.total = 0
        self.stage_end = 0
        self.stopped = False
        self.out_of_time = False

    # ----------------------------------------------------------------------------- bookkeeping
    def plan_stage(self, planned: int, later: int) -> None:
        """A stage of at most ``planned`` fits starts; ``later`` fits are planned after it."""
        self.stage_end = self.done + planned
        self.total = self.done + planned + later

    def end_stage(self, later: int) -> None:
        """The stage is over (perhaps early): drop its unused fits from the total."""
        self.total = self.done + later

    def score(self, point: _Point) -> float:
        return self.scores.get(point, math.inf)

    def emit(self, kind: str, message: str, fit_fraction: float = 0.0) -> None:
        if self.callback is None:
            return
        total = max(self.total, self.done, 1)
        event = TuneEvent(
            kind=kind,
            done=self.done,
            total=max(self.total, self.done),
            message=message,
            best_params=None if self.best_params is None else dict(self.best_params),
            best_rmse=self.score(self.best) if self.best is not None else math.nan,
            elapsed=_now() - self.start,
            fraction=min(1.0, (self.done + fit_fraction) / total),
        )
        self.callback(event)
        if event.stop_requested:
            self.stopped = True

    def _past_deadline(self, measuring: bool) -> bool:
        """The budget is spent, and a result exists (or one is being measured): the first
        iteration of the first fit always completes."""
        return _now() >= self.deadline and (self.best is not None or measuring)

    # ----------------------------------------------------------------------------- fitting
    def evaluate(self, point: _Point, stage: str) -> float:
        """Fit ``point`` (once: a repeated point returns its score) and return its best
        validation RMSE (inf if nothing was measured). Raises ``_Halt`` when the search must
        end."""
        if point in self.scores:
            return self.scores[point]
        if self.stopped:
            raise _Halt
        if self._past_deadline(measuring=False):
            self.out_of_time = True
            raise _Halt
        settings = point.settings()
        label = f"{stage} {self.done + 1} of {max(self.total, self.done + 1)}: "
        label += describe_params(settings)
        curve: list[float] = []
        outcome = {"status": "max iterations"}
        rival = self._rival_curve(point)
        leader = self.score(self.best) if self.best is not None else math.inf

        def on_half_step(event: FitEvent) -> None:
            if event.side == "items":
                curve.append(float(event.validation_rmse))
                verdict = _verdict(curve, rival, leader)
                if verdict:
                    outcome["status"] = verdict
                    event.stop()
            self.emit("half-step", f"{label} · iteration {event.iteration}", event.fraction_done)
            if self.stopped:
                outcome["status"] = "stopped"
                event.stop()
            elif self._past_deadline(measuring=bool(curve)) and not event.stop_requested:
                self.out_of_time = True
                outcome["status"] = "budget"
                event.stop()

        model = ALS(**settings, iterations=MAX_ITERATIONS, seed=self.seed)
        t0 = _now()
        try:
            model.fit(self.fit_part, validation=self.valid, callback=on_half_step)
        except NonFiniteFactorsError:
            outcome["status"] = "failed"
            curve = []
        seconds = _now() - t0
        self._record(point, stage, settings, curve, outcome["status"], seconds)
        self.done += 1
        self.emit("fit", f"{label}: " + _row_text(self.rows[-1]))
        if self.stopped or self.out_of_time:
            raise _Halt
        return self.scores[point]

    def _rival_curve(self, point: _Point) -> list[float] | None:
        """The curve of the best fit so far at this rank (what a new fit races against)."""
        same_k = [p for p in self.scores if p.k == point.k and math.isfinite(self.scores[p])]
        if not same_k:
            return None
        return self.curves[min(same_k, key=self.score)]

    def _record(
        self,
        point: _Point,
        stage: str,
        settings: dict[str, Any],
        curve: list[float],
        status: str,
        seconds: float,
    ) -> None:
        values = np.asarray(curve, dtype=np.float64)
        measured = values.size > 0 and bool(np.isfinite(values).any())
        best_at = int(np.nanargmin(values)) if measured else -1
        rmse = float(values[best_at]) if measured else math.nan
        self.curves[point] = list(curve)
        self.scores[point] = rmse if measured else math.inf
        self.rows.append(
            {
                "fit": len(self.rows) + 1,
                "stage": stage,
                **settings,
                "iterations": best_at + 1,
                "validation_rmse": rmse,
                "iterations_run": len(curve),
                "status": status,
                "seconds": seconds,
                "chosen": False,
            }
        )
        if measured and (self.best is None or rmse < self.score(self.best)):
            self.best = point
            self.best_params = {**settings, "iterations": best_at + 1, "seed": self.seed}


def _verdict(curve: list[float], rival: list[float] | None, leader: float) -> str | None:
    """Why a fit should end after the latest iteration of ``curve``: "converged" (no relative
    gain of ``MIN_GAIN`` for ``PATIENCE`` iterations; ``LOOSE_GAIN`` while the fit trails the
    ``leader``'s RMSE), "behind" (trails ``rival``, the best curve at its rank, by
    ``RACE_MARGIN`` after ``RACE_FROM`` iterations), or None to go on."""
    best, stale = math.inf, 0
    for value in curve:
        gain = MIN_GAIN if value < leader else LOOSE_GAIN
        stale = 0 if value < best * (1 - gain) else stale + 1
        best = min(best, value)
    if stale >= PATIENCE:
        return "converged"
    t = len(curve)
    if rival and t >= RACE_FROM and best > min(rival[:t]) * (1 + RACE_MARGIN):
        return "behind"
    return None


def _row_text(row: dict[str, Any]) -> str:
    if not math.isfinite(row["validation_rmse"]):
        return f"nothing measured ({row['status']})"
    return (
        f"validation RMSE {row['validation_rmse']:.4f} at iteration {row['iterations']} "
        f"({row['status']})"
    )


# --------------------------------------------------------------------------------- the plan
def _run_plan(search: _Search) -> None:
    """Screen, refine, rank, polish (see the module docstring); raises ``_Halt`` to end."""
    fit_part = search.fit_part
    limit = min(fit_part.shape) if search.max_k is None else min(*fit_part.shape, search.max_k)
    k0 = min(SCREEN_K, limit)
    ranks = _planned_ranks(fit_part, k0, limit, search.budget_seconds)
    centre = _Point(True, k0, 0, 0)
    screen = [
        centre,
        _Point(True, k0, None, _nearest_b(_plain_lam(fit_part))),
        _Point(True, k0, 0, None),
        _Point(False, k0, 0, 0),
    ]
    later = REFINE_FITS + len(ranks) + POLISH_FITS
    search.plan_stage(len(screen), later)
    search.emit(
        "start",
        f"starting: fitting on {fit_part.nnz:,} ratings, scoring on {search.valid.nnz:,} held out",
    )
    for point in screen:
        search.evaluate(point, "screen")
    search.end_stage(later)

    later -= REFINE_FITS
    search.plan_stage(REFINE_FITS, later)
    current = _compass(search, min(screen, key=search.score), (4, 2), "refine")
    search.end_stage(later)

    later -= len(ranks)
    search.plan_stage(len(ranks), later)
    current = _rank_ladder(search, current, ranks)
    search.end_stage(later)

    search.plan_stage(POLISH_FITS, 0)
    _compass(search, current, (1,), "polish")
    search.end_stage(0)


def _compass(search: _Search, start: _Point, steps: tuple[int, ...], stage: str) -> _Point:
    """Compass search on (a, b): try the four neighbours at each step size (ladder steps of
    √2), move to the best while it improves by ``MIN_GAIN``, then take the next (smaller)
    step; at most the stage's planned fits."""
    current = start
    for step in steps:
        while True:
            moves = [current.moved(axis, sign * step) for axis in "ab" for sign in (1, -1)]
            neighbours = [p for p in moves if p is not None]
            for point in neighbours:
                if point not in search.scores and search.done >= search.stage_end:
                    return current
                search.evaluate(point, stage)
            challenger = min(neighbours, key=search.score, default=current)
            if search.score(challenger) < search.score(current) * (1 - MIN_GAIN):
                current = challenger
            else:
                break
    return current


def _rank_ladder(search: _Search, current: _Point, ranks: list[int]) -> _Point:
    """Double the rank, same ridge, while that lowers the RMSE by ``RANK_GAIN`` (relative)."""
    for k in ranks:
        candidate = current.with_k(k)
        search.evaluate(candidate, "rank")
        if search.score(candidate) < search.score(current) * (1 - RANK_GAIN):
            current = candidate
        else:
            break
    return current


def _planned_ranks(fit_part: Ratings, k0: int, limit: int, budget_seconds: float) -> list[int]:
    """k₀·2, k₀·4, … up to min(n_users, n_items), while one fit's estimated cost at the
    nominal speed stays within its share of the budget (from the data's shape only)."""
    ranks = []
    k = 2 * k0
    while k <= limit and _fit_seconds_estimate(fit_part, k) <= RANK_BUDGET_SHARE * budget_seconds:
        ranks.append(k)
        k *= 2
    return ranks


def _fit_seconds_estimate(ratings: Ratings, k: int) -> float:
    """Seconds of a fit of ``MAX_ITERATIONS`` iterations at ``NOMINAL_FLOPS``: per iteration
    2·nnz·w² for the Gram matrices and w³/3 + 2w² per solved row (w = k + 1 with biases)."""
    w = k + 1
    rows = int(np.count_nonzero(ratings.user_counts())) + int(
        np.count_nonzero(ratings.item_counts())
    )
    flops = 2.0 * ratings.nnz * w * w + rows * (w**3 / 3 + 2 * w * w)
    return MAX_ITERATIONS * flops / NOMINAL_FLOPS


def _plain_lam(ratings: Ratings) -> float:
    """A plain λ with the same mean ridge over rated rows as the centre's λ·(n + damping)."""
    counts = np.concatenate([ratings.user_counts(), ratings.item_counts()])
    counts = counts[counts > 0]
    mean = float(counts.mean()) if counts.size else 0.0
    return CENTRE_A * (mean + CENTRE_B / CENTRE_A)


# --------------------------------------------------------------------------------- entry point
def tune(
    train: Ratings,
    *,
    validation: Ratings | None = None,
    seed: int = 0,
    budget_seconds: float = 60,
    callback: Callable[[TuneEvent], Any] | None = None,
    max_k: int | None = None,
) -> TuneResult:
    """Search ALS settings that predict held-out ratings of ``train`` well, within a budget.

    Searches the rank k, λ, plain or weighted regularisation, the damping and biases (see the
    module docstring for the plan), scoring every fit by its RMSE on validation ratings that
    come from ``train`` alone: a seeded random 20 % of it, or ``validation`` if given. Keep
    your test ratings out of both: nothing else is looked at.

    Parameters
    ----------
    train : Ratings
        The ratings to tune on (for example the training part of ``ac.split``). Needs at least
        ``MIN_RATINGS`` ratings.
    validation : Ratings, optional
        Ratings to score the settings on, in the same index space as ``train`` (both from one
        ``ac.split``) and sharing no (user, item) pair with it. Then every fit uses all of
        ``train``. Default: hold out 20 % of ``train`` at random (seeded by ``seed``).
    seed : int, default 0
        Seeds the validation split and every fit's initial factors; ``params["seed"]``.
    budget_seconds : float, default 60
        Wall-clock seconds the search may take. Checked before each fit and after each
        half-step; when it is spent the search ends and returns the best setting so far
        (at least one iteration is always measured, so a tiny budget still gives settings).
    callback : callable, optional
        Called with a ``TuneEvent`` (``done``, ``total``, ``message``, ``best_params``,
        ``best_rmse``, ``elapsed``, ``fraction``) at the start, after every half-step of
        every fit and after every fit. Calling ``event.stop()`` ends the search within one
        half-step; the result keeps what was measured so far.
    max_k : int, optional
        The largest rank to try (default: min(n_users, n_items)), e.g. the largest k an app
        offers, so that the settings found are settings it can show.

    Returns
    -------
    TuneResult
        ``params``: a dict for ``ac.ALS(**params)`` (k, lam, regularization, damping, biases,
        iterations, seed); fit that on all of ``train``. ``table``: one row per fit with its
        settings, best iteration, validation RMSE, seconds and status (``chosen`` marks the
        best); ``table.attrs["truncated"]`` and ``truncated``: the plan was cut short by the
        budget or a stop; ``stopped``: the callback stopped it; ``validation_rmse``,
        ``seconds``, ``n_fit``, ``n_validation``.

    Raises
    ------
    TypeError
        If ``train`` or ``validation`` is not ``ac.Ratings`` or ``callback`` is not callable.
    ValueError
        If ``train`` has too few ratings, ``validation`` is empty, has another shape or shares
        ratings with ``train``, ``seed`` is not an integer ≥ 0, or ``budget_seconds`` is not a
        positive number.

    Examples
    --------
    >>> import als_core as ac
    >>> data = ac.synthetic(n_users=60, n_items=40, rank=2, density=0.5, seed=1)
    >>> train, test = ac.split(data.ratings, fraction=0.2, seed=1)
    >>> result = ac.tune(train, seed=0, budget_seconds=30)
    >>> sorted(result.params)
    ['biases', 'damping', 'iterations', 'k', 'lam', 'regularization', 'seed']
    >>> model = ac.ALS(**result.params).fit(train)
    >>> bool(ac.evaluate(model, test)["rmse"] < 1.0)
    True

    In a background job that reports ``progress(done, total, message)`` and asks
    ``should_stop()`` (the app's job runner)::

        def work(progress, should_stop):
            def on_event(event):
                progress(event.done, event.total, event.message)
                if should_stop():
                    event.stop()

            result = ac.tune(train, callback=on_event)
            return result, result.stopped
    """
    start = _now()
    _check_arguments(train, validation, seed, budget_seconds, callback)
    if max_k is not None and (not is_int(max_k) or max_k < 1):
        raise ValueError(f"max_k must be an integer ≥ 1 (the largest rank to try), got {max_k!r}")
    if validation is None:
        fit_part, valid = split(train, method="random", fraction=VALIDATION_FRACTION, seed=seed)
    else:
        fit_part, valid = train, validation
    search = _Search(
        fit_part,
        valid,
        seed=int(seed),
        budget_seconds=float(budget_seconds),
        callback=callback,
        start=start,
        max_k=None if max_k is None else int(max_k),
    )
    with contextlib.suppress(_Halt):  # the budget or a stop ended the plan early
        _run_plan(search)
    return _result(search, start)


def _result(search: _Search, start: float) -> TuneResult:
    table = pd.DataFrame(search.rows, columns=TABLE_COLUMNS)
    truncated = search.stopped or search.out_of_time
    if search.best is not None:
        chosen = int(table["validation_rmse"].idxmin())
        table.loc[chosen, "chosen"] = True
    table.attrs["truncated"] = truncated
    result = TuneResult(
        params=search.best_params,
        table=table,
        validation_rmse=search.score(search.best) if search.best is not None else math.nan,
        truncated=truncated,
        stopped=search.stopped,
        seconds=_now() - start,
        n_fit=search.fit_part.nnz,
        n_validation=search.valid.nnz,
    )
    search.total = search.done
    if search.stopped:
        search.emit("end", "stopped: " + result.summary())
    else:
        ended = "budget spent" if search.out_of_time else "finished"
        search.emit("end", f"{ended}: " + result.summary())
    return result


def _check_arguments(
    train: Any, validation: Any, seed: Any, budget_seconds: Any, callback: Any
) -> None:
    if not isinstance(train, Ratings):
        raise TypeError(
            f"tune expects train as ac.Ratings, got {type(train).__name__}; build it with "
            "ac.read_ratings or ac.Ratings.from_frame"
        )
    if train.nnz < MIN_RATINGS:
        raise ValueError(
            f"tune needs at least {MIN_RATINGS} ratings in train to hold some out for "
            f"validation, got {train.nnz}"
        )
    if validation is not None:
        _check_validation(train, validation)
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be an integer ≥ 0, got {seed!r}")
    if (
        isinstance(budget_seconds, bool)
        or not isinstance(budget_seconds, (int, float, np.integer, np.floating))
        or not math.isfinite(budget_seconds)
        or budget_seconds <= 0
    ):
        raise ValueError(
            f"budget_seconds must be a positive number of seconds, got {budget_seconds!r}"
        )
    if callback is not None and not callable(callback):
        raise TypeError(
            f"callback must be a function taking a TuneEvent, got {type(callback).__name__}"
        )


def _check_validation(train: Ratings, validation: Any) -> None:
    if not isinstance(validation, Ratings):
        raise TypeError(f"validation must be ac.Ratings or None, got {type(validation).__name__}")
    if validation.shape != train.shape:
        raise ValueError(
            f"validation must have train's shape {train.shape}, got {validation.shape}; "
            "make both with one ac.split so they share users and items"
        )
    if validation.nnz == 0:
        raise ValueError("validation holds no ratings; pass None to hold out part of train")
    shared = np.intersect1d(_pair_keys(train), _pair_keys(validation)).size
    if shared:
        raise ValueError(
            f"validation shares {shared:,} (user, item) pair(s) with train, so it would "
            "score settings on ratings they were fitted to; split them with ac.split"
        )


def _pair_keys(ratings: Ratings) -> np.ndarray:
    users, items, _ = ratings.coo()
    return users.astype(np.int64) * ratings.n_items + items
