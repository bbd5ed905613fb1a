"""What the pages show about a model opened from disk (``model_open.open_model_directory``).

A model trained outside the app (``python -m als_core fit --out DIR``, ``ac.save_model``, the
Spark engine) is explored as it is: it is never refitted behind the user's back. The Train page
shows its card and history instead of the settings panel, and pages that would fit new models
say so (``model_open.EXTERNAL_MODEL_NOTE``).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from . import formulas, model_open, session, slides
from .figures import training as training_figs
from .settings import FitResult
from .text import md_escape

#: The pages that explore an opened model as it is (path, label, icon).
EXPLORING_PAGES = (
    ("pages/latent.py", "Latent space and recommendations", ":material/scatter_plot:"),
    ("pages/reconstruction.py", "Reconstruction", ":material/grid_on:"),
    ("pages/add_yourself.py", "Add yourself", ":material/person_add:"),
    ("pages/update.py", "One update by hand", ":material/calculate:"),
)
STOP_REASONS = {
    "iterations": "ran all its iterations",
    "tol": "stopped: the objective changed by less than the tolerance",
    "patience": "stopped: validation RMSE stopped improving (best iteration kept)",
    "callback": "stopped by request",
}


def where_from(fit: FitResult) -> str:
    """Where the model came from: its directory, or "uploaded file m.zip"."""
    kind, _, name = fit.origin.partition(":")
    return f"uploaded file {name}" if kind + ":" == model_open.MODEL_UPLOAD_SOURCE else f"{name}"


def model_facts(fit: FitResult) -> dict[str, Any]:
    """The numbers a card shows, from the model and what its directory recorded."""
    model = fit.model
    recorded: dict[str, Any] = getattr(model, "settings_", {}) or {}
    manifest: dict[str, Any] = getattr(model, "manifest_", {}) or {}
    history = model.history_
    last = history.iloc[-1] if len(history) else None

    def last_value(column: str) -> float:
        if last is None or column not in history:
            return math.nan
        value = last[column]
        return float(value) if value is not None else math.nan

    best = recorded.get("fit", {}).get("best_validation_rmse")
    return {
        "engine": str(recorded.get("engine", fit.settings.get("engine", "numpy"))),
        "created": str(manifest.get("created", "")),
        "train_rmse": last_value("train_rmse"),
        "validation_rmse": float(best) if best is not None else last_value("validation_rmse"),
        "iterations_run": int(getattr(model, "n_iter_", 0) or 0),
        "stop_reason": getattr(model, "stop_reason_", None),
    }


def fmt(value: float, digits: int = 3) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def model_card(fit: FitResult) -> None:
    """The opened model in a few lines: where from, settings, size, recorded quality."""
    s, facts, train = fit.settings, model_facts(fit), fit.train
    st.markdown(f"**Opened model** · {md_escape(where_from(fit))}")
    cols = st.columns(5)
    cols[0].metric("Rank k", f"{s['k']}")
    cols[1].metric(f"λ ({s['regularization']})", f"{s['lam']:g}")
    cols[2].metric("Iterations run", f"{facts['iterations_run']}")
    cols[3].metric("Train RMSE", fmt(facts["train_rmse"]))
    cols[4].metric(
        "Validation RMSE",
        fmt(facts["validation_rmse"]),
        help="As recorded when the model was trained (on its own held-out ratings, if any).",
    )
    created = f", saved {facts['created'].replace('T', ' ')}" if facts["created"] else ""
    reason = STOP_REASONS.get(facts["stop_reason"], facts["stop_reason"] or "")
    st.caption(
        f"Trained with the {facts['engine']} engine{created}; biases "
        f"{'on' if s['biases'] else 'off'}; {reason + '; ' if reason else ''}"
        f"{train.n_users:,} users × {train.n_items:,} items, {train.nnz:,} training ratings. "
        "Only the training ratings are saved, so there is no validation set here."
    )


def page_links() -> None:
    cols = st.columns(len(EXPLORING_PAGES))
    for col, (page, label, icon) in zip(cols, EXPLORING_PAGES, strict=True):
        col.page_link(page, label=label, icon=icon)


def train_here_button(fit: FitResult, *, key: str) -> None:
    """Offer training in the app on the model's ratings, when they are small enough."""
    n = fit.train.nnz
    if model_open.refit_allowed(fit.train):
        st.button(
            "Put the opened model aside and train here on its training ratings",
            key=key,
            on_click=session.train_here_instead,
            help="The Train page's settings are used; open the directory again to come back.",
        )
    else:
        st.caption(
            f"Training here is offered up to {model_open.MAX_REFIT_RATINGS:,} ratings; this model "
            f"has {n:,}. Train models this large with `python -m als_core fit` (optionally "
            "`--engine spark`) and open the result here."
        )


def train_page(fit: FitResult) -> None:
    """The Train page for an opened model: its card and history instead of a refit."""
    st.info(
        f"{model_open.EXTERNAL_MODEL_NOTE} The settings panel is hidden so it cannot start a fit; "
        "every exploration page uses this model as it is.",
        icon=":material/inventory_2:",
    )
    model_card(fit)
    train_here_button(fit, key="train_model_train_here")
    history = fit.model.history_
    needed = {"iteration", "side", "objective", "data_term", "regularization_term"}
    if len(history) and needed <= set(history.columns):
        st.markdown("**How the saved run went** (its history, as recorded)")
        left, right = st.columns(2)
        pack = slides.SlidePack("train-saved-model")  # PNG/HTML exports, one zip
        pack.chart(
            training_figs.objective_figure(history, formulas.Form.of_model(fit.model)),
            key="train_model_objective",
            name="saved-model-objective",
            container=left,
        )
        best = getattr(fit.model, "best_iteration_", None)
        pack.chart(
            training_figs.rmse_figure(history, best_iteration=best),
            key="train_model_rmse",
            name="saved-model-rmse",
            container=right,
        )
        pack.pack_button(settings={"dataset": session.current_dataset().name, **fit.settings})
    else:
        st.caption("The saved run recorded no per-iteration history to draw.")
    settings = {k: v for k, v in getattr(fit.model, "settings_", {}).get("params", {}).items()}
    if settings:
        with st.expander("All saved settings"):
            st.dataframe(
                pd.DataFrame(
                    {"setting": list(settings), "value": [str(v) for v in settings.values()]}
                ),
                hide_index=True,
                width="stretch",
            )


def experiments_gate(ratings_nnz: int) -> bool:
    """On the Experiments page with an opened model: say what the experiments fit on, and
    return False (show nothing else) when its ratings are too many to refit here."""
    if session.loaded_fit() is None:
        return True
    if ratings_nnz > model_open.MAX_REFIT_RATINGS:
        st.info(
            f"{model_open.EXTERNAL_MODEL_NOTE} The experiments fit many new models on the data, "
            f"and this model's {ratings_nnz:,} training ratings are more than the "
            f"{model_open.MAX_REFIT_RATINGS:,} this shared server refits. Run experiments on a "
            "sample, generated data or an upload (Data page); explore the opened model on the "
            "other pages.",
            icon=":material/inventory_2:",
        )
        return False
    st.caption(
        "The experiments fit their own new models on the opened model's training ratings; the "
        "opened model itself stays as it is."
    )
    return True
