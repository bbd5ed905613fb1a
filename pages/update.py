"""One update by hand: the small k×k system behind one user's (or one item's) new factors.

Walks the article's loop one rating at a time (``als_core.reference_update_steps``): each rating
adds y yᵀ to A and r·y to B; then (A + λI) x = B is solved. The numbers are the real ones of the
session's model at the chosen iteration, and the page checks them against the library's fast
half-step and against the fit's own snapshot.
"""

from __future__ import annotations

import streamlit as st

from dashboard import (
    controls,
    formulas,
    model_open,
    presenter,
    replay_fit,
    scene_url,
    session,
    shell,
    slides,
    update_by_hand,
)
from dashboard.figures import teaching as figs
from dashboard.text import md_escape, plotly_escape

shell.require_app()  # first: a bookmarked page URL on a fresh server runs through app.py

#: Up to this many unknowns the equations are also written out with their numbers.
LATEX_UP_TO = 4
NEXT = "next"
SIDE_LABELS = {"users": "a user", "items": "an item"}


def step_back() -> None:
    st.session_state["update_step"] = max(0, int(st.session_state.get("update_step", 0)) - 1)


def step_forward(n: int) -> None:
    st.session_state["update_step"] = min(n, int(st.session_state.get("update_step", 0)) + 1)


dataset = session.current_dataset()
ratings = dataset.ratings
replay = replay_fit.current_replay_fit(final_only_ok=True)  # an opened model: its final state
fit, model, states = replay.fit, replay.fit.model, replay.states
user_names, item_names = session.labels()
train = fit.train
form = formulas.Form.of_model(model, clipped=False)  # this page shows unclipped predictions

with presenter.controls():  # presenter mode: folded, with the introduction
    st.caption(
        "ALS never runs gradient steps: each half-step solves, for every user, one small k×k "
        "linear system exactly. Here is one of those systems, built rating by rating."
    )
    cols = st.columns([1.1, 2, 2.4])
    controls.keep_choice("update_side", ["users", "items"], "users")
    side = cols[0].segmented_control(
        "Solve for",
        ["users", "items"],
        key="update_side",
        format_func=lambda s: "a user" if s == "users" else "an item",
    )
    side = side or "users"
    names = user_names if side == "users" else item_names
    counts = train.user_counts() if side == "users" else train.item_counts()
    who_key = "update_user" if side == "users" else "update_item"
    controls.keep_choice(who_key, list(names), names[update_by_hand.easy_row(counts)])
    who = cols[1].selectbox(
        "User" if side == "users" else "Item",
        controls.choice_options(names, counts=counts, keep=[st.session_state[who_key]]),
        key=who_key,
        help="Type to search. The number of training ratings is shown beside each name.",
        format_func=lambda name: name,
    )
    row = controls.index_of(names, who)
    moments = update_by_hand.update_moments(states, side)
    options = [*moments, NEXT]
    controls.keep_choice("update_iteration", options, min(2, moments[-1]) if moments else NEXT)
    iteration = cols[2].select_slider(
        "Which update",
        options=options,
        key="update_iteration",
        format_func=lambda t: (
            "one more (from the trained model)" if t == NEXT else f"iteration {t}"
        ),
        help="Iteration t: the update made during training, from the factors of the iteration "
        "before. 'One more': the update the trained model would make next.",
    )
    if fit.external:  # a model opened from disk kept no half-steps to go back to
        st.caption(
            f"{model_open.EXTERNAL_MODEL_NOTE} Its half-steps were not saved, so the update "
            "shown is the one the trained model would make next."
        )

lesson = update_by_hand.update_lesson(
    model,
    train,
    fit.validation,
    states,
    side=side,
    row=row,
    iteration=None if iteration == NEXT else int(iteration),
)
before, problem = lesson.before, lesson.problem
n = problem.n
other_names = item_names if side == "users" else user_names
col_labels = other_names[problem.cols]
symbol = "x" if side == "users" else "y"
fixed_symbol = "y" if side == "users" else "x"
unknowns = problem.unknown_names(symbol)

if "update_step" not in st.session_state or int(st.session_state["update_step"]) > n:
    st.session_state["update_step"] = n

with presenter.controls("Step through the ratings"):
    step_cols = st.columns([6, 1, 1], vertical_alignment="bottom")
    step = step_cols[0].slider(
        f"Ratings added to A and B (of {n})",
        0,
        max(n, 1),
        key="update_step",
        disabled=n == 0,
        help="The article's loop: for each rating, A += y yᵀ and B += r·y. Then solve.",
    )
    step_cols[1].button("◀ back", key="update_back", on_click=step_back, disabled=step <= 0)
    step_cols[2].button(
        "next ▶", key="update_next", on_click=step_forward, args=(n,), disabled=step >= n
    )
step = min(int(step), n)

who_kind = "user" if side == "users" else "item"
who_md = md_escape(who)  # a name from the data, shown in Markdown as written
moment = "one more update" if iteration == NEXT else f"iteration {iteration}"
pack = slides.SlidePack("update")
if n == 0:
    st.warning(
        f"{who_md} has no training ratings (all of them may be held out for validation), so A is "
        f"just the ridge and {symbol} = 0. Pick another {who_kind}."
    )

# ---------------------------------------------------------------- the ratings and fixed rows
left, right = st.columns([1.3, 1], gap="large")
with left:
    st.subheader(f"{who_md}'s {n} training rating{'s' if n != 1 else ''}")
    table = problem.table(col_labels, fixed_symbol=fixed_symbol)
    styled = table.style.apply(
        lambda r: [
            "background-color: #dbe4ff" if r["step"] <= step else "color: #adb5bd" for _ in r
        ],
        axis=1,
    ).format(precision=3)
    # "auto" fits up to about ten rows whatever the font size (presenter mode is bigger).
    st.dataframe(styled, hide_index=True, width="stretch", height="auto" if n <= 10 else 420)
    fixed_side = "item" if side == "users" else "user"
    st.caption(
        f"Each row is one rating and the {fixed_side}'s factors {fixed_symbol}ᵢ, held fixed "
        f"at {before.label}. Blue rows are already in A and B."
        + (
            " With biases the row also gets a trailing 1 (column 1), so the "
            f"{who_kind}'s own bias b is solved together with its factors, and the target is "
            f"r − μ − b, the rating minus what is fixed: μ = {model.global_mean_:.3f} and the "
            f"{fixed_side}'s bias."
            if problem.biases
            else ""
        )
    )

with right:
    system_s, B_s, x_s = problem.at_step(step)
    title = f"After {step} of {n} ratings" + (
        ": the update" if step == n else f": {symbol} if we stopped here"
    )
    fixed_vector = f"{fixed_symbol}̃" if problem.biases else fixed_symbol  # ỹ = [y; 1]
    pack.chart(
        figs.system_figure(
            system_s,
            B_s,
            x_s,
            names=unknowns,
            title=title,
            a_title=f"A = Σ {fixed_vector}{fixed_vector}ᵀ + {problem.ridge:.3g}·I",
            b_title=f"B = Σ {'t' if problem.biases else 'r'}·{fixed_vector}",
            x_title=f"{symbol} = A⁻¹B",
        ),
        key="update_system_chart",
        name="update-system",
        main=True,
        reserve_px=presenter.SCREEN_RESERVE_PX + presenter.HEADING_PX,
    )
    st.caption(
        f"Regularisation {formulas.ridge_sentence(form, problem.n, side)}. The ridge sits on "
        "A's diagonal from the start, so the system can be solved even before any rating is "
        "added."
        + (
            f" With biases each {fixed_symbol} gets a trailing 1 ({fixed_vector} = "
            f"[{fixed_symbol}; 1]), so the {who_kind}'s own bias b is the last unknown, and "
            f"each rating enters B as its target t = {formulas.target(form, side)}."
            if problem.biases
            else ""
        )
    )

# ---------------------------------------------------------------- the step, written out
if 0 < step <= n and len(unknowns) <= LATEX_UP_TO:
    y, target, added, B_after = problem.addition(step)
    said = formulas.target_sentence(
        form, problem.ratings[step - 1], problem.offset[step - 1], target, side
    )
    st.markdown(f"**Step {step}:** {who_md} {said} (**{md_escape(col_labels[step - 1])}**)")
    st.latex(
        rf"A \mathrel{{+}}= {formulas.column_latex(y)}{formulas.matrix_latex(y)} \qquad "
        rf"B \mathrel{{+}}= {formulas.short_number(target)} \cdot {formulas.column_latex(y)} = "
        rf"{formulas.column_latex(added)} \quad\Rightarrow\quad B = "
        rf"{formulas.column_latex(B_after)}"
    )
if step == n and n and len(unknowns) <= LATEX_UP_TO:
    st.markdown("**Solve** (a linear solve; the inverse is never formed):")
    st.latex(
        rf"{symbol}_{{\text{{new}}}} = {formulas.matrix_latex(problem.system)}^{{-1}} "
        rf"{formulas.column_latex(problem.B)} = {formulas.column_latex(problem.solution)}"
    )

# ---------------------------------------------------------------- checks against the library
check = lesson.check
checks = [
    f"the library's fast `als_half_step` gives the same {symbol} "
    f"(largest difference {check.library:.1e})"
]
if check.stored is not None:
    checks.append(
        "training stored the same numbers after this half-step "
        f"(largest difference {check.stored:.1e})"
    )
st.success("Checked: " + "; ".join(checks) + ".", icon=":material/task_alt:")

# ---------------------------------------------------------------- predictions before / after
shown = lesson.predictions
pack.chart(
    figs.predictions_figure(
        other_names[shown.cols],
        shown.actual,
        shown.before,
        shown.after,
        held_out=shown.held_out,
        title=f"{plotly_escape(who)}: predictions before and after the update ({moment})",
        rating_scale=ratings.rating_scale,
    ),
    key="update_predictions_chart",
    name="update-predictions",
)
change = lesson.objective
metric_cols = st.columns([1, 1, 1, 1, 1.2])
metric_cols[0].metric(
    "f before",
    f"{change.before:.4g}",
    help="The row objective f: what the solve minimises, this row's squared errors plus its "
    "own penalty.",
)
metric_cols[1].metric(
    "f after",
    f"{change.after:.4g}",
    delta=f"{change.after - change.before:+.4g}" if n else None,
    delta_color="inverse",
)
metric_cols[2].metric(
    "RMSE before", f"{shown.rmse_before:.3f}", help="On this row's training ratings."
)
metric_cols[3].metric(
    "RMSE after",
    f"{shown.rmse_after:.3f}",
    delta=f"{shown.rmse_after - shown.rmse_before:+.3f}" if n else None,
    delta_color="inverse",
)
metric_cols[4].metric("Ridge on the diagonal", f"{problem.ridge:.4g}")
st.latex(formulas.row_objective_latex(form, side))
if n:
    rose = shown.rmse_after > shown.rmse_before
    st.markdown(
        f"The update minimises this row's objective f: squared errors "
        f"{change.data_before:.4g} → {change.data_after:.4g}, penalty "
        f"{change.penalty_before:.4g} → {change.penalty_after:.4g}, together "
        f"**{change.before:.4g} → {change.after:.4g}**: it always falls (or stays)."
        + (
            " Here the RMSE rose all the same: the solve gave up some fit to the ratings for a "
            "smaller penalty (a shorter vector), because their sum is what it minimises. RMSE "
            "alone need not fall; the objective must."
            if rose
            else " The RMSE fell too, but it need not: the solve may trade some fit for a "
            "smaller penalty, since their sum is what it minimises."
        )
    )
st.caption(
    f"Before: {who_md}'s factors at {before.label}; after: the solved {symbol}. Only {who_md}'s "
    f"row changes in this update, so these are the unclipped predictions "
    f"{formulas.prediction(form)}. Hollow diamonds are held-out ratings the update never saw."
)
with st.expander("Why a solve and not a gradient step?"):
    st.markdown(
        f"With the {fixed_side}s fixed, the objective is a plain ridge regression in "
        f"{who_md}'s {len(unknowns)} unknowns: a quadratic bowl. Setting its gradient to zero "
        f"gives (A + {formulas.ridge(form, side)}·I){symbol} = B, and solving that lands at the "
        "bottom in one move: no "
        "step size, no many small steps. Every user's system is independent, so all of them "
        "are solved at once (the library batches them), and the objective can never rise."
    )
pack.pack_button(
    settings={"dataset": dataset.name, **fit.settings, **scene_url.current_params("update")}
)
