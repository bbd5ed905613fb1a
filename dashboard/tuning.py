"""Find good settings: ``ac.tune`` on the Train page's training ratings as a background job, and
its best settings as the Train page's settings.

The search sees only the training part of the Train page's split (it holds out its own share of
it to score each candidate), never the validation ratings the page reports, so the validation
RMSE of the settings it finds stays an honest check.
"""

from __future__ import annotations

from typing import Any

import als_core as ac

from . import jobs
from .settings import MAX_K, effective_settings, split_ratings

#: The session's job name of a search (one at a time per session).
TUNE_JOB = "train_tune"
#: Time budgets offered (seconds) and the default.
BUDGETS = (15, 30, 60, 120)
DEFAULT_BUDGET = 30
#: The split settings a search depends on (with the data and the budget).
SPLIT_KEYS = ("split", "fraction", "n_per_user", "seed")


def tune_key(fingerprint: str, settings: dict[str, Any], budget: int) -> tuple:
    """What a search's result depends on: the data, the Train page's split and the budget."""
    return (fingerprint, tuple((k, settings[k]) for k in SPLIT_KEYS), int(budget))


def progress_text(event: ac.TuneEvent) -> str:
    best = f" · best so far: validation RMSE {event.best_rmse:.4f}" if event.best_params else ""
    return f"Searching: {event.message}{best}"


def tune_work(ratings: ac.Ratings, settings: dict[str, Any], budget: int) -> jobs.Work:
    """The search as a job: progress after every half-step, Stop within one half-step (the
    value is then the search as far as it got)."""

    def work(progress: jobs.Progress, should_stop: jobs.ShouldStop) -> tuple[Any, bool]:
        s = effective_settings(settings, ratings)
        progress(0, 1, "Searching: splitting the ratings as the Train page does…")
        train, _ = split_ratings(ratings, s)

        def on_event(event: ac.TuneEvent) -> None:
            progress(round(1000 * event.fraction), 1000, progress_text(event))
            if should_stop():
                event.stop()

        result = ac.tune(
            train, seed=s["seed"], budget_seconds=budget, max_k=MAX_K, callback=on_event
        )
        return result, result.stopped

    return work


def table_for_display(table: Any) -> Any:
    """The search's table as the page shows it: one row per fit, the best marked, in words."""
    shown = table.rename(
        columns={
            "lam": "λ",
            "regularization": "regularisation",
            "iterations": "best iteration",
            "validation_rmse": "validation RMSE",
            "iterations_run": "iterations run",
        }
    )
    shown["chosen"] = shown["chosen"].map({True: "◀ best", False: ""})
    return shown


def tuned_settings(params: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The Train page's settings with the search's best: its k, λ, regularisation, damping,
    biases and iteration count (a fixed number: the search found where it stops improving)."""
    return {
        **current,
        "k": int(params["k"]),
        "lam": float(params["lam"]),
        "regularization": params["regularization"],
        "damping": float(params.get("damping", 0.0)),
        "biases": bool(params["biases"]),
        "iterations": int(params["iterations"]),
        "stopping": "fixed",
    }
