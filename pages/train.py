"""Train: choose the model and how to validate it, watch the loss fall, compare runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import (
    controls,
    fitting,
    formulas,
    implicit_view,
    jobs,
    presenter,
    saved_model,
    scene_url,
    session,
    settings,
    shell,
    slides,
    tuning,
)
from dashboard.controls import TOLERANCES, snap
from dashboard.figures import training as figs
from dashboard.text import md_escape

shell.require_app()  # first: a bookmarked page URL on a fresh server runs through app.py

SPLIT_LABELS = {
    "random": "Random share of all ratings",
    "per_user": "Random ratings of each user",
    "by_time": "Each user's latest ratings",
    "none": "No validation",
}
STOPPING_LABELS = {
    "fixed": "Fixed number of iterations",
    "tolerance": "Objective stops improving (tolerance)",
    "patience": "Validation stops improving (patience)",
}


def init_widget(key: str, value: object) -> None:
    """Give a widget its value from the saved settings if it has none (widget state is dropped
    when the user visits another page, the saved settings are not)."""
    if key not in st.session_state:
        st.session_state[key] = value


def widget_values(saved: dict, k_max: int) -> dict[str, object]:
    """Widget key -> value that shows the saved settings."""
    return {
        "train_w_k": min(int(saved["k"]), k_max),
        "train_w_lam": float(saved["lam"]),  # its options include it (lambda_options)
        "train_w_iterations": int(saved["iterations"]),
        "train_w_regularization": saved["regularization"],
        "train_w_damping": float(saved.get("damping", 0.0)),
        "train_w_biases": bool(saved["biases"]),
        "train_w_split": saved["split"],
        "train_w_fraction": float(saved["fraction"]),
        "train_w_n_per_user": int(saved["n_per_user"]),
        "train_w_seed": int(saved["seed"]),
        "train_w_stopping": saved["stopping"],
        "train_w_tol": snap(saved["tol"], TOLERANCES),
        "train_w_patience": int(saved["patience"]),
    }


def bring_back(run_number: int, k_max: int) -> None:
    """Widget callback: restore an earlier run's settings into the widgets."""
    restored = fitting.restore_run(run_number)
    st.session_state.update(widget_values(restored, k_max))


def settings_panel(ratings, saved: dict) -> dict:
    """The widgets; returns the settings they show."""
    k_max = settings.max_k(ratings)
    for key, value in widget_values(saved, k_max).items():
        init_widget(key, value)

    with st.container(border=True):
        st.markdown("**Model**")
        k = st.slider(
            "Rank k (latent factors)",
            1,
            k_max,
            key="train_w_k",
            help=f"At most min(users, items, {settings.MAX_K}) = {k_max} for these data.",
        )
        lam = st.select_slider(
            "Regularisation λ (log scale)",
            options=controls.lambda_options(st.session_state["train_w_lam"]),
            key="train_w_lam",
            format_func=lambda v: "0 (none)" if v == 0 else f"{v:g}",
        )
        regularization = st.radio(
            "Regularisation",
            ["plain", "weighted"],
            key="train_w_regularization",
            horizontal=True,
            format_func=lambda v: {"plain": "Plain (article)", "weighted": "Weighted (ALS-WR)"}[v],
        )
        # The damping as the input below holds it (its value is known before it is drawn).
        damping = st.session_state["train_w_damping"]
        st.caption(settings.describe_lambda(regularization, damping))
        if regularization == "weighted":
            damping = st.number_input(
                "Damping n₀: each row's ridge is λ·(n + n₀)",
                *controls.DAMPING_RANGE,
                step=5.0,
                key="train_w_damping",
                help="0 is Spark's ALS-WR (λ·n). A larger n₀ keeps a firmer ridge on users and "
                "items with few ratings, between weighted and plain.",
            )
        biases = st.toggle(
            "User and item biases (μ + b_u + b_i + x·y)",
            key="train_w_biases",
            help="Let each user and item have its own offset, so the factors model taste only.",
        )
        iterations = st.slider(
            "Iterations (at most)", *controls.ITERATIONS_RANGE, key="train_w_iterations"
        )

    with st.container(border=True):
        st.markdown("**Validation**")
        has_time = ratings.timestamps is not None
        methods = [m for m in settings.SPLIT_METHODS if m != "by_time" or has_time]
        if st.session_state["train_w_split"] not in methods:
            st.session_state["train_w_split"] = "random"
        split = st.selectbox(
            "Hold out", methods, key="train_w_split", format_func=SPLIT_LABELS.__getitem__
        )
        if ratings.timestamps is None:
            st.caption("These ratings have no timestamps, so a split by time is not offered.")
        fraction = st.session_state["train_w_fraction"]
        n_per_user = st.session_state["train_w_n_per_user"]
        if split == "random":
            fraction = st.slider(
                "Share held out",
                *controls.FRACTION_RANGE,
                step=0.05,
                key="train_w_fraction",
                format="%.2f",
            )
        elif split in ("per_user", "by_time"):
            n_per_user = st.slider(
                "Ratings held out per user", *controls.N_PER_USER_RANGE, key="train_w_n_per_user"
            )
        seed = st.number_input(
            "Seed (split and starting factors)", *controls.SEED_RANGE, step=1, key="train_w_seed"
        )

    with st.container(border=True):
        st.markdown("**Stopping**")
        stopping = st.radio(
            "Stop when",
            list(settings.STOPPING_RULES),
            key="train_w_stopping",
            format_func=STOPPING_LABELS.__getitem__,
        )
        tol = st.session_state["train_w_tol"]
        patience = st.session_state["train_w_patience"]
        if stopping == "tolerance":
            tol = st.select_slider(
                "Relative change of the objective below",
                options=TOLERANCES,
                key="train_w_tol",
                format_func=lambda v: f"{v:.0e}",
            )
        elif stopping == "patience":
            patience = st.slider(
                "Iterations without a better validation RMSE",
                *controls.PATIENCE_RANGE,
                key="train_w_patience",
                help="The factors of the best validation iteration are kept.",
            )
            if split == "none":
                st.caption("Patience needs a validation set; without one all iterations run.")
    return {
        "k": int(k),
        "lam": float(lam),
        "iterations": int(iterations),
        "regularization": regularization,
        "damping": float(damping),
        "biases": bool(biases),
        "split": split,
        "fraction": float(fraction),
        "n_per_user": int(n_per_user),
        "seed": int(seed),
        "stopping": stopping,
        "tol": float(tol),
        "patience": int(patience),
    }


def metrics_row(fit: settings.FitResult) -> None:
    m = settings.fit_metrics(fit)
    form = formulas.Form.of_model(fit.model)
    cols = st.columns(5)
    cols[0].metric("Train RMSE", f"{m['train_rmse']:.3f}", help=formulas.train_rmse_note(form))
    val = m["validation_rmse"]
    cols[1].metric(
        "Validation RMSE",
        f"{val:.3f}" if val == val else "–",
        help=formulas.validation_rmse_note(form),
    )
    best = m["best_iteration"]
    cols[2].metric("Best iteration", f"{best}" if best else "–")
    cols[3].metric("Iterations run", f"{m['iterations_run']}/{fit.settings['iterations']}")
    cols[4].metric(
        "Time",
        # Long fits in 3 digits ("59.6 s"): two decimals more would be cut off at 1280 px.
        f"{fit.seconds:.2f} s" if fit.seconds < 10 else f"{fit.seconds:.3g} s",
        help=f"Wall time of the whole fit. Half-steps solved by the {fitting.solver_engine()}.",
    )
    reasons = {
        "iterations": "ran all iterations",
        "tol": "stopped: the objective changed by less than the tolerance",
        "patience": "stopped: validation RMSE stopped improving (best iteration's factors kept)",
        "callback": "stopped by request",
    }
    validation_note = (
        f"{fit.validation.nnz:,} validation ratings"
        if fit.validation is not None
        else "no validation ratings"
    )
    st.caption(
        f"{reasons.get(m['stop_reason'], m['stop_reason'])} · {fit.train.nnz:,} training and "
        f"{validation_note} · objective {m['objective']:,.4g}. "
        f"{formulas.train_rmse_note(form)} {formulas.validation_rmse_note(form)}"
    )


def runs_table(current_key: tuple) -> None:
    runs = fitting.session_runs()
    if not runs:
        return
    st.subheader("This session's runs")
    rows = []
    for run in runs:
        s = run["settings"]
        rows.append(
            {
                "run": f"▶ {run['run']}" if run["key"] == current_key else str(run["run"]),
                "dataset": run["dataset"],
                "k": s["k"],
                "λ": s["lam"],
                "regularisation": s["regularization"],
                "biases": s["biases"],
                "split": s["split"],
                "stopping": s["stopping"],
                "iterations": run["iterations_run"],
                "train RMSE": run["train_rmse"],
                "validation RMSE": run["validation_rmse"],
                "seconds": run["seconds"],
                "finished": run["finished"],
            }
        )
    frame = pd.DataFrame(rows).iloc[::-1]
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "λ": st.column_config.NumberColumn(format="%g"),
            "train RMSE": st.column_config.NumberColumn(format="%.4f"),
            "validation RMSE": st.column_config.NumberColumn(format="%.4f"),
            "seconds": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    fingerprint = session.current_fingerprint()
    same_data = [r["run"] for r in runs if r["key"][0] == fingerprint and r["key"] != current_key]
    if same_data:
        cols = st.columns([2, 1, 3], vertical_alignment="bottom")
        chosen = cols[0].selectbox(
            "Bring back an earlier run on this dataset",
            same_data[::-1],
            key="train_restore_choice",
            format_func=lambda n: f"run {n}",
        )
        k_max = settings.max_k(session.current_dataset().ratings)
        cols[1].button("Bring back", key="train_restore", on_click=bring_back, args=(chosen, k_max))


def main() -> None:
    loaded = session.loaded_fit()
    if loaded is not None:  # a model opened from disk is shown as it is, never refitted here
        saved_model.train_page(loaded)
        return
    # Presenter mode: every setting folds into one closed expander, the charts get the width.
    box = presenter.controls_box()
    with box or st.container():
        implicit = implicit_view.implicit_mode_chosen()
    if implicit:  # implicit feedback: its own model and charts
        pack = slides.SlidePack("train-implicit")
        implicit_view.main(pack=pack, controls=box)
        pack.pack_button(
            settings={
                "dataset": session.current_dataset().name,
                "feedback": "implicit",
                **implicit_settings(),
                **scene_url.current_params("train"),
            }
        )
        return
    dataset = session.current_dataset()
    pack = slides.SlidePack("train")
    if box is not None:
        settings_col, charts_col = box, st.container()
    else:
        settings_col, charts_col = st.columns([1, 2.4], gap="large")
    with settings_col:
        chosen = settings_panel(dataset.ratings, session.current_settings())
    session.set_settings(chosen)
    with charts_col:
        fit = fitting.current_fit()
        failure = fitting.training_failure()
        if failure:  # the previous model of these data stands
            st.error(md_escape(failure), icon=":material/error:")
            st.info(
                f"The charts show the previous model (k = {fit.settings['k']}, "
                f"λ = {fit.settings['lam']:g}). Change a setting to train again.",
            )
            st.button("Try again", key="train_retry", on_click=fitting.retry_training)
        if fitting.training_stopped():
            if fit.model.stop_reason_ == "callback":
                what = f"the model as it was after iteration {fit.model.n_iter_}"
            else:
                what = "the previous model"
            st.warning(f"Training was stopped. The charts show {what}.")
            st.button(
                "Train with these settings", key="train_resume", on_click=fitting.resume_training
            )
        # Presenter mode: the objective (the main figure) first, the numbers below it.
        first, second = st.container(), st.container()
        numbers, curve = (second, first) if presenter.active() else (first, second)
        with numbers:
            metrics_row(fit)
        history = fit.model.history_
        form = formulas.Form.of_model(fit.model)
        pack.chart(
            figs.objective_figure(history, form),
            key="train_objective_chart",
            name="train-objective",
            container=curve,
            main=True,
        )
        pack.chart(
            figs.rmse_figure(history, best_iteration=settings.fit_metrics(fit)["best_iteration"]),
            key="train_rmse_chart",
            name="train-rmse",
        )
        st.caption(
            "Each iteration t solves for all users with the items fixed (drawn at t − ½: "
            "iteration 2's users at 1.5), then for all items with the users fixed (drawn at t, "
            "where the RMSE chart has its point). Each solve is exact, so the objective never "
            "rises; its data and regularisation terms trade off from one half-step to the next."
        )
    find_settings(dataset, chosen)
    runs_table(fit.key)
    pack.pack_button(
        settings={
            "dataset": dataset.name,
            **fit.settings,
            "metrics": settings.fit_metrics(fit),
            **scene_url.current_params("train"),
        }
    )


def find_settings(dataset, chosen: dict) -> None:
    """ "Find good settings": ac.tune as a background job on this split's training ratings; its
    table; one click puts the best settings into the widgets (and the model retrains)."""
    st.subheader("Find good settings", anchor=False)
    st.caption(
        "Searches the rank k, λ, plain or weighted regularisation with its damping, and biases. "
        "Each candidate is fitted on 80 % of the training ratings and scored on the other 20 %; "
        "the validation ratings above are never looked at, so their RMSE stays an honest check "
        "of what the search finds."
    )
    cols = st.columns([1, 1, 2], vertical_alignment="bottom")
    budget = cols[0].selectbox(
        "Time budget",
        tuning.BUDGETS,
        index=tuning.BUDGETS.index(tuning.DEFAULT_BUDGET),
        format_func=lambda s: f"{s} seconds",
        key="train_w_tune_budget",
    )
    key = tuning.tune_key(
        session.current_fingerprint(), settings.effective_settings(chosen, dataset.ratings), budget
    )
    if cols[1].button("Find good settings", key="train_tune_start", type="primary"):
        work = tuning.tune_work(dataset.ratings, chosen, budget)
        jobs.start(tuning.TUNE_JOB, key, work, describe=jobs.as_reported)
    ended = jobs.watch(tuning.TUNE_JOB, stop_label="Stop the search")
    if ended is not None and ended.error is not None:
        st.error(f"The search failed: {md_escape(ended.error)}")
    outcome, current = jobs.shown(tuning.TUNE_JOB, key)
    if outcome is None:
        return
    result = outcome.value
    if not current:
        st.caption("This search ran on other data or another split; run it again for these.")
    if result.params is None:
        st.info("The search was stopped before it measured any setting.")
        return
    cut = " (stopped early: the best found so far)" if result.stopped else ""
    cut = cut or (" (the budget ran out: the best found so far)" if result.truncated else "")
    st.markdown(
        f"**Best{cut}:** {md_escape(result.summary())}. (Its validation RMSE is on the search's "
        "own held-out share of the training ratings.)"
    )
    st.button(
        "Use these settings",
        key="train_tune_apply",
        type="primary",
        disabled=not current,
        on_click=use_tuned,
        args=(result.params, settings.max_k(dataset.ratings)),
    )
    st.dataframe(
        tuning.table_for_display(result.table),
        hide_index=True,
        width="stretch",
        column_config={
            "λ": st.column_config.NumberColumn(format="%g"),
            "damping": st.column_config.NumberColumn(format="%g"),
            "validation RMSE": st.column_config.NumberColumn(format="%.4f"),
            "seconds": st.column_config.NumberColumn(format="%.2f"),
        },
    )


def use_tuned(params: dict, k_max: int) -> None:
    """Button callback: the search's best settings become the session's and the widgets'."""
    tuned = tuning.tuned_settings(params, session.current_settings())
    session.set_settings(tuned)
    st.session_state.update(widget_values(tuned, k_max))


def implicit_settings() -> dict:
    """The implicit model's settings as its widgets show them (for the slides' settings.json)."""
    chosen = {k: st.session_state.get(k) for k in implicit_view.DEFAULTS}
    return {key.removeprefix("train_imp_w_"): value for key, value in chosen.items()}


main()
