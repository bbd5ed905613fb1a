"""Implicit feedback on the Train page, and the "because you liked …" panel shared with the
Experiments page.

The Train page calls ``implicit_mode_chosen()`` first; when the user picks implicit feedback it
calls ``main()`` instead of drawing the explicit panel. The implicit model lives only here (its
own job, results and session keys, prefix ``train_imp_``): ``fitting.current_fit()`` keeps serving
the explicit ``ac.ALS`` that the sidebar and the other pages show.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

import als_core as ac

from . import experiment_work as work
from . import jobs, session, slides
from .controls import (
    ALPHAS,
    EXPERIMENT_LAMBDAS,
    IMPLICIT_ITERATIONS_RANGE,
    TOP_N,
    keep_choice,
    remember,
    remembered,
)
from .figures import experiments as figs
from .settings import max_k
from .text import md_escape

JOB = "train_implicit"
MODES = {
    "explicit": "Explicit (ratings): predict the stars",
    "implicit": "Implicit (confidence-weighted): predict who interacts",
}
DEFAULTS = {
    "train_imp_w_interactions": None,
    "train_imp_w_k": 3,
    "train_imp_w_lam": 1.0,
    "train_imp_w_alpha": 5.0,
    "train_imp_w_iterations": 15,
    "train_imp_w_solver": "cholesky",
    "train_imp_w_n": 10,
}


def implicit_mode_chosen() -> bool:
    """Draw the explicit / implicit choice; True when implicit feedback is chosen."""
    session.ensure_session()  # first: a page opened without app.py is re-run through it from here
    key = remembered("train_imp_w_mode", "explicit")
    mode = st.radio(
        "Feedback",
        list(MODES),
        key=key,
        horizontal=True,
        format_func=MODES.__getitem__,
        help=(
            "Explicit: ALS fits the observed ratings only. Implicit (Hu, Koren & Volinsky): every "
            "cell counts; a stored value r (an interaction) becomes a preference p = 1 held with "
            "confidence c = 1 + α·r, and missing cells are p = 0 with c = 1. Which ratings count "
            "as interactions is a setting: by default only the high ones."
        ),
    )
    remember("train_imp_w_mode")
    return mode == "implicit"


def interaction_options(ratings: ac.Ratings) -> tuple[list, Any]:
    """(the thresholds offered, the default): None (every rating) and, for star ratings (at
    most 20 distinct values), each value from the middle of the scale up; the default is the
    value nearest the upper quarter (4 on a 1–5 scale), so a 1-star rating is not a like."""
    values = np.unique(ratings.matrix.data)
    if len(values) > 20 or len(values) < 2:
        return [None], None
    lo, hi = float(values[0]), float(values[-1])
    offered = [float(v) for v in values if v > lo + 0.4 * (hi - lo)]
    liked = lo + 0.75 * (hi - lo)
    default = min(offered, key=lambda v: (abs(v - liked), v)) if offered else None
    return [None, *offered], default


def interactions_label(value: float | None) -> str:
    return "every rating" if value is None else f"ratings ≥ {value:g}"


def interactions_slider(ratings: ac.Ratings, key: str) -> float | None:
    """The visible setting "which ratings are interactions" (remembered under ``key``)."""
    options, default = interaction_options(ratings)
    chosen = st.select_slider(
        "Count as an interaction",
        options=options,
        key=remembered(key, default, valid=lambda v: v in options),
        format_func=interactions_label,
        help="Implicit ALS reads every stored value as 'interacted' (p = 1). From star ratings, "
        "keep only the ratings at or above this value, so a 1-star rating is not a like; the "
        "others are treated as missing. Held-out ratings count as relevant from the same value.",
    )
    return None if chosen is None else float(chosen)


def settings_panel(ratings: ac.Ratings) -> dict:
    k_max = max_k(ratings)
    if st.session_state.get("train_imp_w_k", 1) > k_max:
        st.session_state["train_imp_w_k"] = k_max
    with st.container(border=True):
        st.markdown("**Implicit ALS**")
        min_rating = interactions_slider(ratings, "train_imp_w_interactions")
        k = st.slider("Rank k", 1, k_max, key=remembered("train_imp_w_k", min(3, k_max)))
        lam = st.select_slider(
            "Regularisation λ (plain, on every factor)",
            options=EXPERIMENT_LAMBDAS,
            key=remembered("train_imp_w_lam", 1.0),
            format_func=lambda v: f"{v:g}",
        )
        alpha = st.select_slider(
            "Confidence α in c = 1 + α·r",
            options=ALPHAS,
            key=remembered("train_imp_w_alpha", 5.0),
            format_func=lambda v: f"{v:g}",
            help="How much more a stored value counts than a missing cell. Hu et al. used 40 "
            "on viewing counts; star ratings are smaller numbers, so smaller α suits them.",
        )
        iterations = st.slider(
            "Iterations",
            *IMPLICIT_ITERATIONS_RANGE,
            key=remembered("train_imp_w_iterations", 15),
        )
        solver = st.radio(
            "Solver",
            ["cholesky", "cg"],
            key=remembered("train_imp_w_solver", "cholesky"),
            horizontal=True,
            format_func=lambda v: {"cholesky": "Exact", "cg": "Conjugate gradient (3 steps)"}[v],
            help="Both use the YᵀY trick: YᵀY is shared by every user, so a user costs only "
            "their own items. Exact solves each k × k system; CG takes 3 warm-started steps.",
        )
        n = st.select_slider(
            "Evaluate the top N", options=TOP_N, key=remembered("train_imp_w_n", 10)
        )
    remember("train_imp_w_")
    return {
        "min_rating": min_rating,
        "k": int(k),
        "lam": float(lam),
        "alpha": float(alpha),
        "iterations": int(iterations),
        "solver": solver,
        "n": int(n),
        "seed": int(session.current_settings()["seed"]),
    }


def main(pack: slides.SlidePack | None = None, controls: Any = None) -> None:
    """The Train page in implicit mode: settings, training with progress and Stop, the loss
    curve and ranking metrics (RMSE does not apply). Figures are drawn through ``pack``; the
    settings go into ``controls`` when given (presenter mode's folded expander), else into a
    column beside the charts."""
    pack = pack or slides.SlidePack("train-implicit")
    dataset = session.current_dataset()
    ratings = dataset.ratings
    split = work.split_choice(ratings, session.current_settings())
    if controls is not None:
        settings_col, charts_col = controls, st.container()
    else:
        settings_col, charts_col = st.columns([1, 2.4], gap="large")
    with settings_col:
        params = settings_panel(ratings)
        relevant = (
            "every held-out rating"
            if params["min_rating"] is None
            else f"every held-out rating ≥ {params['min_rating']:g}"
        )
        st.caption(
            split.text + f" Relevant = {relevant}; items seen in training are never recommended."
        )
    key = (JOB, session.current_fingerprint(), split.key, tuple(sorted(params.items())))
    with charts_col:
        st.info(
            "**Implicit mode.** This model is trained and shown here only. The sidebar and the "
            "Reconstruction, Latent space and Experiments pages keep using the explicit ALS "
            "model (its settings are on this page in explicit mode).",
            icon=":material/info:",
        )
        outcome, current = jobs.shown(JOB, key)
        if not current and jobs.running(JOB) is None:
            jobs.start(JOB, key, work.implicit_fit_work(ratings, split, params))
        ended = jobs.watch(JOB, stop_label="Stop training")
        if ended is not None and ended.error is not None:
            st.error(work.error_text(ended.error))
            return
        outcome, current = jobs.shown(JOB, key)
        if outcome is None or outcome.key[1] != key[1]:
            return
        if not current:
            st.caption("Shown: the model for earlier settings.")
        if outcome.stopped:
            st.warning("Training was stopped: these are the factors after the last half-step.")
            if st.button("Train again", key="train_imp_again"):
                jobs.forget(JOB)
                st.rerun()
        show_fit(outcome.value, outcome.seconds, ratings, pack=pack)


def show_fit(
    fit: work.ImplicitFit, seconds: float, ratings: ac.Ratings, *, pack: slides.SlidePack
) -> None:
    n = fit.params["n"]
    cols = st.columns(5)
    for col, metric, label in zip(
        cols[:3], ("precision", "recall", "ndcg"), ("Precision", "Recall", "NDCG"), strict=True
    ):
        value = float(fit.metrics[f"{metric}@{n}"])
        baseline = float(fit.popularity[f"{metric}@{n}"])
        col.metric(
            f"{label}@{n}",
            f"{value:.3f}",
            delta=f"{value - baseline:+.3f}",
            delta_color="normal",
            help=f"Arrow: difference to popularity ({baseline:.3f}), which recommends the "
            "most-rated items the user has not seen.",
        )
    cols[3].metric("Iterations run", f"{fit.model.n_iter_}/{fit.params['iterations']}")
    cols[4].metric("Time", f"{seconds:.2f} s")
    st.caption(
        f"{fit.n_train:,} training and {fit.n_heldout:,} held-out interactions · "
        f"{int(fit.metrics['users'])} users with held-out items · the arrows compare with "
        "popularity (the most-rated items the user has not seen). "
        + data_note(session.current_dataset().source, min_rating=fit.params.get("min_rating"))
    )
    pack.chart(
        figs.implicit_history_figure(fit.model.history_, n=n, popularity=fit.popularity),
        key="train_imp_history_chart",
        name="train-implicit-history",
    )
    st.caption(
        "The objective counts every cell (missing ones as preference 0 with confidence 1), so "
        "it is far larger than the explicit one; each exact half-step cannot raise it. RMSE does "
        "not apply: the model predicts who will interact, so it is judged on ranking held-out "
        "interactions."
    )
    with st.expander("Because you liked … (explain a recommendation)", expanded=False):
        because_you_liked(
            fit.model,
            ratings,
            key_prefix="train_imp",
            pack=pack,
            min_rating=fit.params.get("min_rating"),
        )


def data_note(source: str, *, min_rating: float | None = None) -> str:
    """What the data allow an implicit model to learn (said so a poor ranking is not a surprise),
    with ``min_rating`` the threshold at which a rating counts as an interaction (None: all)."""
    if source == "synthetic":
        return (
            "On generated data the rated pairs are drawn at random, so which items a user "
            "interacts with carries no signal: every method ranks at chance level here."
        )
    if source == "sample:movie_night" and min_rating is None:
        return (
            "On the movie-night sample, which films a viewer rated was drawn from the films' "
            "popularity alone (only the stars depend on taste), so with every rating an "
            "interaction popularity is the ceiling; implicit ALS comes close, explicit ALS "
            "(which predicts stars) does not."
        )
    if source == "sample:movie_night":
        return (
            "On the movie-night sample, which films a viewer rated was drawn from the films' "
            "popularity alone, but which of them they liked depends on taste: with only the "
            f"ratings ≥ {min_rating:g} as interactions there is taste to learn, and implicit "
            "ALS can beat popularity."
        )
    return ""


def because_you_liked(
    model: ac.ImplicitALS,
    ratings: ac.Ratings,
    *,
    key_prefix: str,
    pack: slides.SlidePack | None = None,
    min_rating: float | None = None,
) -> None:
    """Pick a user, see their top recommendations, and which of their items made one of them
    score high (Hu, Koren & Volinsky's explanation: the score splits over the user's items).
    ``min_rating``: the threshold the model's interactions were taken at (None: every rating),
    said beside the explanation with each item's own rating. The figure is drawn through
    ``pack`` (exports for slides)."""
    pack = pack or slides.SlidePack(key_prefix)
    users, items = session.labels()  # the session's names (``ratings`` are its ratings)
    counts = ratings.user_counts()
    order = np.argsort(-counts, kind="stable")  # most active first: the richest explanations
    cols = st.columns(2)
    offered = order.tolist()
    keep_choice(f"{key_prefix}_user", offered, offered[0])
    user = cols[0].selectbox(
        "User",
        offered,
        key=f"{key_prefix}_user",
        format_func=lambda u: f"{users[u]} ({counts[u]} ratings)",
    )
    recs = model.recommend(int(user), n=5)
    if recs.empty:
        st.caption("This user has seen every item: nothing to recommend.")
        return
    keep_choice(f"{key_prefix}_item", recs["item"].tolist(), int(recs["item"].iloc[0]))
    item = cols[1].selectbox(
        "Recommendation to explain",
        recs["item"].tolist(),
        key=f"{key_prefix}_item",
        format_func=lambda i: f"{items[i]} (score {float(model.predict(int(user), int(i))):.3f})",
    )
    frame = work.explanation(model, int(user), int(item), items, n=6)
    if frame.empty:
        st.caption("This user has no positive interactions in training to explain with.")
        return
    pack.chart(
        figs.explanation_figure(frame, item_label=str(items[item])),
        key=f"{key_prefix}_explain_chart",
        name=f"because-you-liked-{items[item]}",
    )
    own = ratings.matrix[int(user)]
    rated = dict(zip(own.indices.tolist(), own.data.tolist(), strict=True))
    shown = frame.assign(rating=[rated.get(int(i), np.nan) for i in frame["item"]])
    shown = shown[["label", "rating", "contribution", "similarity", "confidence", "share"]]
    heading = "because you liked" if min_rating is not None else "because you rated"
    st.dataframe(
        pd.DataFrame(shown).rename(columns={"label": heading, "rating": "your rating"}),
        hide_index=True,
        width="stretch",
        column_config={
            "contribution": st.column_config.NumberColumn(format="%.4f"),
            "similarity": st.column_config.NumberColumn(format="%.4f"),
            "confidence": st.column_config.NumberColumn(format="%.3g"),
            "share": st.column_config.NumberColumn("share of score", format="percent"),
        },
    )
    counted = (
        f"Only this user's ratings ≥ {min_rating:g} are interactions here, so every item credited "
        "is one they rated highly. "
        if min_rating is not None
        else "Every rating counts as an interaction here, a 1-star one too: the items credited "
        "are ones the user rated, not necessarily liked (see their ratings). "
    )
    chosen = md_escape(items[item])  # an item name from the data, shown as written
    st.caption(
        counted + f"The score of “{chosen}” splits over the user's items j: Σ_j s_ij · c_uj = "
        f"{frame.attrs.get('score', float('nan')):.4f}, with s_ij = y_iᵀ W_u y_j an item-item "
        "similarity seen through this user's weighting W_u = (YᵀC_uY + λI)⁻¹ and c_uj the "
        "confidence of j; the six largest terms are shown. (The sum re-solves the user's "
        "factors against the final item factors, so it can differ slightly from the fitted "
        f"score, {frame.attrs.get('model_score', float('nan')):.4f}.)"
    )
