"""Experiments: check the article's claims on this session's data, one experiment at a time.

Every experiment runs only when its Run button is pressed (or comes from the cache when some
session already ran it with the same data and settings), shows progress, stops within one step,
and keeps its results on screen. Each experiment is a ``Section`` (its widgets and its results
here; the frame they run in is ``dashboard/experiment_frame.py``); the computations are in
``dashboard/experiment_work.py``, the figures in ``dashboard/figures/experiments``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import (
    controls,
    data_sources,
    fitting,
    implicit_view,
    presenter,
    saved_model,
    scene_url,
    session,
    settings,
    shell,
    slides,
)
from dashboard import experiment_work as work
from dashboard.controls import ALPHAS, EXPERIMENT_LAMBDAS, SWEEP_LAMBDAS, remember, remembered
from dashboard.experiment_frame import (
    RESULTS_RESERVE_PX,
    RMSE_COLUMNS,
    Context,
    Section,
    k_slider,
    lam_slider,
    model_controls,
    regularization_radio,
    setting_columns,
    show_section,
)
from dashboard.figures import experiments as figs
from dashboard.text import md_escape

shell.require_app()  # first: a bookmarked page URL on a fresh server runs through app.py

SWEEP_KS = [1, 2, 3, 4, 6, 8, 12]
#: Largest k offered here: the experiments must stay quick on a shared two-core server.
MAX_EXPERIMENT_K = 32
MAX_GRID_CELLS = 120
#: Generated when the user asks for data with a known truth (about 1.5 s for recovery k = 1..8).
SYNTHETIC_FOR_RECOVERY = {
    "n_users": 400,
    "n_items": 200,
    "rank": 3,
    "density": 0.15,
    "noise": 0.3,
    "seed": 0,
}


# ----------------------------------------------------------------------------- 1 compare
#: The estimators' ``stop_reason_`` in words (the experiment's own deadline reaches a gradient
#: method through its callback, so "callback" means the budget unless the user stopped it).
STOP_REASONS = {
    "iterations": "ran all its steps",
    "callback": "used its seconds budget",
    "seconds": "used its seconds budget",
    "tol": "converged (objective stopped changing)",
    "line_search": "the line search found no lower point (a stationary point)",
    "diverged": "diverged",
    "stopped": "stopped by you",
}


def reached_text(seconds: float) -> str:
    return "not within 0.1 %" if not np.isfinite(seconds) else f"{seconds:.3f} s"


def compare_controls(ctx: Context) -> dict | None:
    s = ctx.settings
    cols = setting_columns(4)
    model = model_controls("compare", ctx, cols)
    with cols[2]:
        biases = st.toggle("Biases", key=remembered("exp_w_compare_biases", bool(s["biases"])))
    with cols[3]:
        budget = st.select_slider(
            "Seconds for GD and SGD (each)",
            options=controls.COMPARE_SECONDS,
            key=remembered("exp_w_compare_budget", 2.0),
        )
    return {**model, "biases": bool(biases), "seconds_budget": float(budget)}


def compare_results(ctx: Context, frame: pd.DataFrame) -> None:
    cols = st.columns([2, 1, 3])
    x = cols[0].radio(
        "x axis",
        ["seconds", "step"],
        key=remembered("exp_w_compare_x", "seconds"),
        horizontal=True,
        format_func={"seconds": "wall-clock seconds", "step": "steps"}.__getitem__,
    )
    log_x = cols[1].toggle("log x", key=remembered("exp_w_compare_logx", True))
    ctx.pack.chart(
        figs.compare_figure(frame, x=x, log_x=log_x),
        key="exp_compare_chart",
        name="experiments-als-vs-gradient-descent",
        main=True,
        reserve_px=RESULTS_RESERVE_PX + presenter.HEADING_PX,  # below the x-axis choice
    )
    summary = work.compare_summary(frame)
    reached = "reached ALS's RMSE after (s)"
    summary[reached] = [reached_text(v) for v in summary[reached]]
    st.dataframe(
        summary.rename(columns={reached: "within 0.1 % of ALS's final validation RMSE after"}),
        hide_index=True,
        width="stretch",
        column_config={
            "steps": st.column_config.NumberColumn(format="%g"),
            "seconds": st.column_config.NumberColumn(format="%.3f"),
            "objective": st.column_config.NumberColumn(format="%.6g"),
            "validation RMSE": st.column_config.NumberColumn(format="%.4f"),
        },
    )
    rate = frame.attrs.get("learning_rate")
    rate_text = f"η₀ = {rate:g}" if rate is not None else "η₀"
    reasons = frame.attrs.get("stop_reasons", {})
    st.markdown(
        "**Step sizes.** Gradient descent: full-batch steps on all factors at once with a "
        "backtracking (Armijo) line search: try η, halve it until the objective falls by at "
        "least 10⁻⁴·η·‖∇f‖², then try 2η on the next step. SGD: shuffled mini-batches of 256 "
        f"ratings, {rate_text} chosen from 0.3 … 0.001 by a 2-epoch trial (its time is "
        "counted), then η₀ / (1 + 0.05·(epoch − 1)), halved whenever an epoch fails to lower "
        "the objective. ALS has no step size: each half-step is an exact solve."
    )
    if reasons:
        st.caption(
            "Why each ended: "
            + "; ".join(
                f"{method}: {STOP_REASONS.get(reason, reason)}"
                for method, reason in reasons.items()
            )
            + "."
        )
    against_als = work.objectives_against_als(summary)
    if against_als is not None:
        als_objective, relative = against_als
        others = ", ".join(
            f"{method} {row['objective']:,.7g} ({row['relative']:+.1e})"
            for method, row in relative.iterrows()
        )
        st.caption(
            f"Final objectives: ALS {als_objective:,.7g}; {others} (relative to ALS). ALS runs "
            f"until its objective changes by less than {frame.attrs.get('als_tol') or 0:g} of "
            "itself over one iteration; where the objectives still differ, in the last digits, "
            "it is because "
            "each method stopped at its own tolerance, step count or budget (see why each "
            "ended), not because one found better factors: at a common optimum the two sides' "
            "scales are already balanced by λ."
        )


COMPARE = Section(
    name="compare",
    title="ALS vs gradient descent",
    intro=(
        "The article solves for users, then items, each exactly. Gradient descent and SGD "
        "minimise **the same objective** from **the same random start** with the same λ; only "
        "the way they step differs. Each gradient method gets the same budget of seconds."
    ),
    controls=compare_controls,
    work=lambda ctx, params: work.compare_work(ctx.ratings, ctx.split, params),
    results=compare_results,
)


# ----------------------------------------------------------------------------- 2 missing
def missing_controls(ctx: Context) -> dict | None:
    ratings = ctx.ratings
    k_max = max(1, min(ctx.k_max, min(ratings.shape) - 1))
    cols = setting_columns(2)
    model = model_controls(
        "missing", ctx, cols, k_max=k_max, lam_label="λ (ALS)", regularization=False
    )
    return {**model, "both_biases": True}


def missing_results(ctx: Context, result: Any) -> None:
    ratings = ctx.ratings
    left, right = st.columns([2, 3])
    ctx.pack.chart(
        figs.rmse_bars(result.table, title="RMSE (held-out = validation)"),
        key="exp_missing_bars",
        name="experiments-missing-rmse",
        container=left,
        main=True,
        reserve_px=RESULTS_RESERVE_PX,
    )
    with right:
        clipped = st.toggle(
            "Clip predictions to the rating scale (as the RMSE does)",
            key=remembered("exp_w_missing_clipped", False),
        )
        predictions = result.predictions if clipped else result.raw_predictions
        ctx.pack.chart(
            figs.prediction_histogram(result.actual, predictions, scale=ratings.rating_scale),
            key="exp_missing_hist",
            name="experiments-missing-predictions",
        )
    rmse = result.table.set_index("method")["validation_rmse"]
    k = ctx.params.get("k")
    missing_share = 1.0 - ratings.density
    text = (
        f"{missing_share:.0%} of the cells are missing. Read as zeros, they pull the SVD's "
        "predictions towards 0, far below every real rating. Like with like (validation RMSE): "
    )
    pairs = []
    if {"zero-filled SVD", "ALS (no biases)"} <= set(rmse.index):
        pairs.append(
            f"without an intercept, zero-filled SVD {rmse['zero-filled SVD']:.3f} against ALS "
            f"without biases {rmse['ALS (no biases)']:.3f}"
        )
    if {"mean-filled SVD", "ALS (with biases)"} <= set(rmse.index):
        pairs.append(
            f"with one, mean-filled SVD (μ) {rmse['mean-filled SVD']:.3f} against ALS with "
            f"biases (μ + b_u + b_i) {rmse['ALS (with biases)']:.3f}"
        )
    text += "; ".join(pairs) + ". "
    text += (
        "Why an intercept matters: ratings sit around their mean μ, far from 0, and a model "
        "without one has to spend a factor on that level (x·y ≈ μ for everyone), leaving k − 1 "
        "for taste."
    )
    if {"mean-filled SVD", "ALS (no biases)"} <= set(rmse.index) and (
        rmse["mean-filled SVD"] < rmse["ALS (no biases)"]
    ):
        text += (
            f" That is why at k = {k} the mean-filled SVD, which gets μ for free, beats ALS "
            "without biases here (a larger k leaves ALS more factors for taste)."
        )
    st.caption(
        text + " Filling with the mean still treats guesses as data; ALS never looks at the "
        "missing cells."
    )


MISSING = Section(
    name="missing",
    title="Missing ≠ zero",
    intro=(
        "What if the missing cells were simply zeros? (Not the article's idea: its zeros are "
        "placeholders its code skips, and it never mentions SVD.) Here a truncated SVD of the "
        "zero-filled matrix, and of the matrix filled with the mean rating, meets ALS of the "
        "same rank fitted on the observed ratings only, without and with biases, so each "
        "SVD has an ALS to compare with: no intercept against no intercept, μ against "
        "μ + b_u + b_i."
    ),
    controls=missing_controls,
    work=lambda ctx, params: work.missing_work(ctx.ratings, ctx.split, params),
    results=missing_results,
)


# ----------------------------------------------------------------------------- 3 sweep
def sweep_controls(ctx: Context) -> dict | None:
    s = ctx.settings
    k_options = list(range(1, ctx.k_max + 1))
    cols = setting_columns([3, 3, 2, 2])
    ks = cols[0].multiselect(
        "Ranks k",
        k_options,
        key=remembered(
            "exp_w_sweep_ks",
            [k for k in SWEEP_KS if k <= ctx.k_max],
            valid=lambda v: all(k in k_options for k in v),
        ),
    )
    lams = cols[1].multiselect(
        "λ values",
        EXPERIMENT_LAMBDAS,
        key=remembered("exp_w_sweep_lams", SWEEP_LAMBDAS),
        format_func=lambda v: f"{v:g}",
    )
    iterations = cols[2].slider(
        "Iterations per fit",
        *controls.SWEEP_ITERATIONS_RANGE,
        key=remembered("exp_w_sweep_iter", 15),
    )
    with cols[3]:
        reg = regularization_radio("sweep", s["regularization"])
        biases = st.toggle("Biases", key=remembered("exp_w_sweep_biases", bool(s["biases"])))
    cells = len(ks) * len(lams)
    if not cells:
        st.info("Pick at least one k and one λ.")
        return
    if cells > MAX_GRID_CELLS:
        st.warning(
            f"{len(ks)} × {len(lams)} = {cells} fits is more than this page runs at once "
            f"({MAX_GRID_CELLS}); drop some values."
        )
        return
    st.caption(
        f"{len(ks)} × {len(lams)} = {cells} fits{_fit_time_hint()}. "
        + settings.describe_lambda(reg)
    )
    params = {
        "ks": tuple(sorted(int(k) for k in ks)),
        "lams": tuple(sorted(float(v) for v in lams)),
        "iterations": int(iterations),
        "regularization": reg,
        "biases": bool(biases),
        "seed": int(s["seed"]),
    }
    return params


def curve_position(key: str, grid: list, best: Any) -> str:
    """The key of a U-curve's position: the best cell's for a new grid, else the one chosen
    (or a link's, when the grid has it)."""
    ss = st.session_state
    grid_key = f"{key}_grid"
    if ss.get(grid_key, tuple(grid)) != tuple(grid) or ss.get(key) not in grid:
        ss[key] = best
    ss[grid_key] = tuple(grid)
    return key


def sweep_results(ctx: Context, result: Any) -> None:
    best = result.best
    ctx.pack.chart(
        figs.sweep_heatmap(result.grid, best),
        key="exp_sweep_heatmap",
        name="experiments-sweep-k-lambda",
        main=True,
        reserve_px=RESULTS_RESERVE_PX,
    )
    if best:
        st.markdown(
            f"**Best cell:** k = {int(best['k'])}, λ = {best['lam']:g}: validation RMSE "
            f"{best['validation_rmse']:.4f} (train {best['train_rmse']:.4f})."
        )
    grid_ks, grid_lams, best_k, best_lam = work.sweep_axes(result.grid, best)
    left, right = st.columns(2)
    with left:
        at_k = st.selectbox(
            "λ curve at k =",
            grid_ks,
            key=curve_position("exp_w_sweep_at_k", grid_ks, best_k),
        )
        ctx.pack.chart(
            figs.sweep_curve(result.grid, along="lam", at=at_k),
            key="exp_sweep_lam_curve",
            name=f"experiments-sweep-lambda-at-k{at_k}",
        )
    with right:
        at_lam = st.selectbox(
            "k curve at λ =",
            grid_lams,
            key=curve_position("exp_w_sweep_at_lam", grid_lams, best_lam),
            format_func=lambda v: f"{v:g}",
        )
        ctx.pack.chart(
            figs.sweep_curve(result.grid, along="k", at=at_lam),
            key="exp_sweep_k_curve",
            name=f"experiments-sweep-k-at-lambda{at_lam:g}",
        )


SWEEP = Section(
    name="sweep",
    title="Sweeps: k × λ",
    intro=(
        "Fit ALS for every pair of rank k and regularisation λ you pick (same split, same "
        "start) and compare their validation RMSE. Small λ with large k overfits (train RMSE "
        "keeps falling, validation rises); large λ or tiny k underfits (both stay high)."
    ),
    controls=sweep_controls,
    work=lambda ctx, params: work.sweep_work(ctx.ratings, ctx.split, params),
    results=sweep_results,
)


def _fit_time_hint() -> str:
    """For scale: how long this session's last fit on these data took (no training here)."""
    fingerprint = session.current_fingerprint()
    same = [r for r in fitting.session_runs() if r["key"][0] == fingerprint]
    if not same:
        return ""
    last = same[-1]
    return (
        f"; for scale, one fit on these data took {last['seconds']:.2f} s on the Train page "
        f"(k = {last['settings']['k']}, {last['iterations_run']} iterations); Stop keeps the "
        "cells already done"
    )


# ----------------------------------------------------------------------------- 4 recovery
def use_synthetic_for_recovery() -> None:
    """Button callback: generate data with known factors, as the Data page's generator does."""
    session.set_dataset(data_sources.synthetic_dataset(**SYNTHETIC_FOR_RECOVERY))


def recovery_controls(ctx: Context) -> dict | None:
    dataset = ctx.dataset
    truth = dataset.truth
    if truth is None:
        g = SYNTHETIC_FOR_RECOVERY
        st.info(
            f"**{md_escape(dataset.name)}** has no known true factors. Generate data with a "
            f"planted truth here ({g['n_users']} × {g['n_items']}, true rank {g['rank']}, "
            f"{g['density']:.0%} observed, noise σ = {g['noise']}), or choose your own on the "
            "**Data** page (tab *Generate*). The new data become this session's dataset for "
            "every page."
        )
        st.button(
            "Generate synthetic data and use it",
            key="exp_recovery_generate",
            on_click=use_synthetic_for_recovery,
            type="primary",
        )
        return
    true_rank = work.true_rank(truth)
    sigma = (getattr(truth, "settings", None) or {}).get("noise")
    k_max = min(ctx.k_max, 3 * true_rank + 4)
    cols = setting_columns(4)
    default_range = (1, min(k_max, 2 * true_rank + 2))
    k_range = cols[0].slider(
        "k from … to",
        1,
        k_max,
        key=remembered(
            "exp_w_recovery_ks",
            default_range,
            valid=lambda v: 1 <= v[0] <= v[1] <= k_max,
        ),
    )
    with cols[1]:
        lam = lam_slider("recovery", 1.0, label="λ (plain, no biases)")
    starts = cols[2].slider(
        "Random starts per k (best kept)",
        *controls.RECOVERY_STARTS_RANGE,
        key=remembered("exp_w_recovery_starts", 3),
    )
    fraction = cols[3].select_slider(
        "Held out",
        options=controls.RECOVERY_FRACTIONS,
        key=remembered("exp_w_recovery_fraction", 0.2),
    )
    params = {
        "ks": tuple(range(int(k_range[0]), int(k_range[1]) + 1)),
        "lam": lam,
        "iterations": 30,
        "starts": int(starts),
        "fraction": float(fraction),
        "seed": int(ctx.settings["seed"]),
    }
    st.caption(
        f"True rank {true_rank}, noise σ = {sigma}. This experiment holds out its own random "
        f"{fraction:.0%} (seed {params['seed']}); ALS runs 30 iterations from {starts} random "
        "start(s) per k and keeps the lowest objective (at k = true rank a single start can stop "
        "in a poor local minimum)."
    )
    return params


def recovery_results(ctx: Context, result: Any) -> None:
    ctx.pack.chart(
        figs.recovery_figure(result.table, true_rank=result.true_rank, sigma=result.sigma),
        key="exp_recovery_chart",
        name="experiments-recovery",
        main=True,
        reserve_px=RESULTS_RESERVE_PX,
    )
    table = result.table[
        [
            "k",
            "train_rmse",
            "validation_rmse",
            "oracle_rmse",
            "user_angle_max_deg",
            "item_angle_max_deg",
            "seconds",
        ]
    ]
    st.dataframe(
        table.rename(
            columns={
                **RMSE_COLUMNS,
                "oracle_rmse": "true factors' RMSE",
                "user_angle_max_deg": "users: largest angle (°)",
                "item_angle_max_deg": "items: largest angle (°)",
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in ("train RMSE", "validation RMSE", "true factors' RMSE", "seconds")
        }
        | {
            c: st.column_config.NumberColumn(format="%.1f")
            for c in ("users: largest angle (°)", "items: largest angle (°)")
        },
    )
    st.caption(
        "Reading the angles: below the true rank they ask whether the k learned directions lie "
        "inside the true space (they can, while RMSE shows what is missing); from the true "
        "rank up they ask whether the true space lies inside the learned one. The true "
        "factors' own RMSE on the held-out ratings is the floor (about σ, less where clipping "
        "and rounding help). With few ratings per user, angles of 20–60° even at the right k "
        "are the data's limit, not a bug: denser data brings them down."
    )


RECOVERY = Section(
    name="recovery",
    title="Recovery (synthetic)",
    intro=(
        "On generated data the true factors are known, so we can ask whether ALS finds "
        "them: the **principal angles** between the learned and the true factor subspaces "
        "(0° = the same directions), and the validation RMSE against the **noise floor σ** "
        "that no model can beat, as k goes below and above the true rank."
    ),
    controls=recovery_controls,
    work=lambda ctx, params: work.recovery_work(ctx.dataset.truth, params),
    results=recovery_results,
)


# ----------------------------------------------------------------------------- 5 implicit
def implicit_controls(ctx: Context) -> dict | None:
    ratings, s = ctx.ratings, ctx.settings
    with setting_columns(1)[0]:
        min_interaction = implicit_view.interactions_slider(ratings, "exp_w_implicit_interactions")
    cols = setting_columns(5)
    n = cols[0].select_slider(
        "Top N", options=controls.TOP_N, key=remembered("exp_w_implicit_n", 10)
    )
    with cols[1]:
        k = k_slider("implicit", ctx.k_max, 3)
    with cols[2]:
        implicit_lam = lam_slider("implicit", 1.0, label="λ (implicit)")
    alpha = cols[3].select_slider("α", options=ALPHAS, key=remembered("exp_w_implicit_alpha", 5.0))
    relevant = "any"
    if min_interaction is not None:
        relevant = cols[4].radio(
            "Relevant",
            ["interactions", "any"],
            key=remembered(
                "exp_w_implicit_relevant",
                "interactions",
                valid=lambda v: v in ("interactions", "any"),
            ),
            format_func={
                "interactions": f"held-out interactions (≥ {min_interaction:g})",
                "any": "every held-out rating",
            }.get,
            help="Which held-out ratings a good top N should contain: by default the same kind "
            "the implicit models learn from.",
        )
    else:
        cols[4].caption("Relevant: every held-out rating (each one is an interaction).")
    params = {
        "n": int(n),
        "k": int(k),
        "lam": float(s["lam"]),
        "implicit_lam": float(implicit_lam),
        "alpha": float(alpha),
        "iterations": 15,
        "min_rating": min_interaction if relevant == "interactions" else None,
        "min_interaction": min_interaction,
        "seed": int(s["seed"]),
    }
    return params


def implicit_results(ctx: Context, result: work.ImplicitOutcome) -> None:
    ratings, s = ctx.ratings, ctx.settings
    ctx.pack.chart(
        figs.ranking_figure(result.table, n=result.n),
        key="exp_implicit_bars",
        name="experiments-implicit-ranking",
        main=True,
        reserve_px=RESULTS_RESERVE_PX,
    )
    st.caption(
        f"Explicit ALS uses the Train page's λ = {s['lam']:g} with biases, rank k; both "
        "implicit models use the k, λ and α above (CG: 3 warm-started conjugate-gradient "
        "steps per half-step instead of an exact solve). "
        + implicit_view.data_note(ctx.dataset.source, min_rating=result.min_interaction)
    )
    if result.model is None:
        st.caption("Stopped before the implicit model was kept: run again to explain one.")
        return
    st.markdown("**Because you liked …** (the exact implicit model above)")
    implicit_view.because_you_liked(
        result.model,
        ratings,
        key_prefix="exp_implicit",
        pack=ctx.pack,
        min_rating=result.min_interaction,
    )


IMPLICIT = Section(
    name="implicit",
    title="Implicit feedback",
    intro=(
        "Implicit feedback (Hu, Koren & Volinsky): every cell counts; an interaction r is a "
        "preference p = 1 held with confidence c = 1 + α·r, a missing cell is p = 0 with "
        "c = 1. From star ratings, which ones count as interactions is the first setting (the "
        "implicit models learn from those only; a 1-star rating is no like). "
        "RMSE does not apply, so the models are judged on ranking: recommend the top N unseen "
        "items and count the held-out interactions among them."
    ),
    controls=implicit_controls,
    work=lambda ctx, params: work.implicit_work(ctx.ratings, ctx.split, params),
    results=implicit_results,
)


# ----------------------------------------------------------------------------- 6 baselines
def baselines_controls(ctx: Context) -> dict | None:
    cols = setting_columns(4)
    model = model_controls("baselines", ctx, cols, lam_label="λ (ALS)")
    bias_lam = cols[3].select_slider(
        "λ of the bias-only model",
        options=controls.BIAS_LAMBDAS,
        key=remembered("exp_w_baselines_bias_lam", 5.0),
        format_func=lambda v: f"{v:g}",
    )
    return {**model, "bias_lam": float(bias_lam)}


def baselines_results(ctx: Context, table: pd.DataFrame) -> None:
    ctx.pack.chart(
        figs.rmse_bars(table, title="RMSE by model"),
        key="exp_baselines_bars",
        name="experiments-baselines",
        main=True,
        reserve_px=RESULTS_RESERVE_PX,
    )
    st.dataframe(
        table.rename(columns=RMSE_COLUMNS),
        hide_index=True,
        width="stretch",
        column_config={
            "train RMSE": st.column_config.NumberColumn(format="%.4f"),
            "validation RMSE": st.column_config.NumberColumn(format="%.4f"),
            "seconds": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    st.caption(
        "Predictions are clipped to the rating scale for both RMSEs. A model only earns its "
        "extra parameters if its validation RMSE beats the simpler one's."
    )


BASELINES = Section(
    name="baselines",
    title="Baselines",
    intro=(
        "How much does each piece add? The global mean predicts one number for all; biases "
        "add a per-user and per-item offset (μ + b_u + b_i); ALS adds k taste factors, "
        "without and with the biases."
    ),
    controls=baselines_controls,
    work=lambda ctx, params: work.baselines_work(ctx.ratings, ctx.split, params),
    results=baselines_results,
)


# ----------------------------------------------------------------------------- page
SECTIONS = {s.name: s for s in (COMPARE, MISSING, SWEEP, RECOVERY, IMPLICIT, BASELINES)}


def main() -> None:
    dataset = session.current_dataset()
    if not saved_model.experiments_gate(dataset.ratings.nnz):
        return
    chosen = session.current_settings()
    split = work.split_choice(dataset.ratings, chosen)
    with presenter.folded("Experiments", icon=":material/science:"):
        st.caption(
            f"On **{md_escape(dataset.name)}**. Defaults come from the Train page's settings (k = "
            f"{chosen['k']}, λ = {chosen['lam']:g} {chosen['regularization']}, biases "
            f"{'on' if chosen['biases'] else 'off'}). {split.text} Nothing runs until you press "
            "Run; results stay here while you change settings or visit other pages."
        )
        name = st.radio(
            "Experiment",
            list(SECTIONS),
            key=remembered("exp_w_section", "compare", valid=lambda v: v in SECTIONS),
            horizontal=True,
            format_func=lambda n: SECTIONS[n].title,
            label_visibility="collapsed",
        )
    remember("exp_w_")
    section = SECTIONS[name]
    ctx = Context(
        dataset=dataset,
        settings=chosen,
        split=split,
        k_max=min(settings.max_k(dataset.ratings), MAX_EXPERIMENT_K),
        pack=slides.SlidePack(f"experiments-{name}"),
    )
    st.subheader(section.title)
    try:
        show_section(section, ctx)
    finally:
        remember("exp_w_")
    ctx.pack.pack_button(  # only when the section shows figures (after a Run)
        settings={
            "dataset": dataset.name,
            "experiment": section.title,
            "experiment_settings": ctx.params,
            "split": split.text,
            **scene_url.current_params("experiments"),
        },
        key="exp_slides_pack",
    )


main()
