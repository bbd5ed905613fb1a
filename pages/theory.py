"""Home: the story of ALS told with the data and model of this session.

R with its gaps, the factors X and Y, the objective this model minimises, why the algorithm
alternates exact solves, the update every user and item gets; then what a lecturer adds: the
cost of a half-step, why the factors are not unique, where ALS converges, and cold start. Every
formula and label follows the model's settings (``dashboard.formulas``); every number comes
from the library through ``dashboard.lessons``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import (
    controls,
    experiment_frame,
    first_view,
    fitting,
    formulas,
    lessons,
    presenter,
    scene_url,
    session,
    settings,
    shell,
    slides,
)
from dashboard import experiment_work as work
from dashboard.controls import remember, remembered
from dashboard.figures import lessons as lesson_figs
from dashboard.figures import teaching as figs
from dashboard.text import md_escape

shell.require_app()  # first: a bookmarked page URL on a fresh server runs through app.py

#: The excerpt of R shown: this many most active users and most rated items.
EXCERPT_USERS = 8
EXCERPT_ITEMS = 8


@st.cache_data(max_entries=8, show_spinner=False)
def page_numbers(fingerprint: str, fit_key: tuple, _ratings, _fit) -> dict:
    """Everything this page shows of one fit (keyed on the data and the settings)."""
    return {
        "excerpt": lessons.excerpt(_ratings, _fit, n_users=EXCERPT_USERS, n_items=EXCERPT_ITEMS),
        "costs": lessons.half_step_costs(_fit),
        "gauge": lessons.gauge(_fit),
        "systems": lessons.systems(_fit),
        "norms": lessons.column_norms(_fit),
        "cold": lessons.cold_start_tables(_ratings, _fit),
    }


def link(page: str, label: str, icon: str) -> None:
    st.page_link(page, label=label, icon=icon)


dataset = session.current_dataset()
ratings = dataset.ratings
fit = fitting.current_fit()
model = fit.model
s = fit.settings
form = formulas.Form.of_model(model)
numbers = page_numbers(session.current_fingerprint(), fit.key, ratings, fit)
ex = numbers["excerpt"]
pack = slides.SlidePack("theory")
missing = 1.0 - ratings.density
history = model.history_
k = int(model.user_factors_.shape[1])

data_name = md_escape(dataset.name)  # a file name, shown as written
with presenter.folded("About these data"):  # presenter mode: R's excerpt on the first screen
    st.markdown(
        "#### Alternating least squares, told with your data\n"
        f"The data now: **{data_name}**, {ratings.n_users:,} users × {ratings.n_items:,} items "
        f"with {ratings.nnz:,} ratings. The model: k = {s['k']}, λ = {s['lam']:g} "
        f"({s['regularization']}), biases {'on' if s['biases'] else 'off'}, "
        f"{model.n_iter_} iterations, seed {s['seed']}. Change either on the Data and Train "
        "pages; this page follows."
    )
    cols = st.columns(4)
    cols[0].metric("Users", f"{ratings.n_users:,}")
    cols[1].metric("Items", f"{ratings.n_items:,}")
    cols[2].metric("Ratings", f"{ratings.nnz:,}")
    cols[3].metric("Cells missing", f"{missing:.1%}")

# ---------------------------------------------------------------- 1. R
st.subheader("1 · R: a table that is mostly holes")
left, right = st.columns([1.3, 1], gap="large")
with left:
    pack.chart(
        figs.excerpt_figure(
            ex.values,
            user_labels=ex.user_labels,
            item_labels=ex.item_labels,
            title=f"R: the {len(ex.users)} most active users × {len(ex.items)} most rated items",
            rating_scale=ratings.rating_scale,
            held_out=ex.held_out,
        ),
        key="theory_excerpt_chart",
        name="theory-R-excerpt",
        main=True,
        reserve_px=presenter.SCREEN_RESERVE_PX + presenter.HEADING_PX,
    )
with right:
    st.markdown(
        f"Rows are users, columns items, a cell is a rating. Across the whole table "
        f"**{missing:.1%} of the cells are empty**, even here among the most active users and "
        "the most rated items some are.\n\n"
        "An empty cell is **not a zero**. Nobody rated that film 0 stars; they have not seen it "
        "(or not told us). Fill the holes with zeros and any method learns that people hate "
        "most films, pulling every prediction towards 0. ALS only ever sums over the cells "
        "that were rated."
        + (
            "\n\nThe outlined ratings are held out for validation: they are in the data, but "
            "the model was trained without them, so they test it."
            if fit.validation is not None
            else ""
        )
    )
    link("pages/data.py", "See the whole table and its pattern of holes", ":material/table_chart:")

first_view.fold()  # a session's first run: the rest once the browser has drawn R

# ---------------------------------------------------------------- 2. X and Y
st.subheader("2 · X and Y: a few numbers per user and per item")
left, right = st.columns([1.3, 1], gap="large")
target_title = formulas.factor_target(form)
with left:
    pack.chart(
        figs.factorization_figure(
            ex.target,
            ex.X,
            ex.Y,
            user_labels=ex.user_labels,
            item_labels=ex.item_labels,
            rating_scale=ratings.rating_scale,
            title=f"{formulas.factorisation(form)} with k = {k}: X · Yᵀ fits {target_title}",
            target_title=target_title,
            diverging=form.biases,
            held_out=ex.held_out,
        ),
        key="theory_factors_chart",
        name="theory-factorisation",
    )
with right:
    st.markdown(
        f"Each user u gets a vector x_u of k = {k} numbers, each item i a vector y_i of "
        "the same length. Users and items that point the same way score high:"
    )
    st.latex(formulas.prediction_latex(form))
    if form.biases:
        st.caption(
            "With biases the model also learns the overall mean μ, how generous each user is "
            "(b_u) and how liked each item is (b_i); the factors then only carry taste. So "
            f"X·Yᵀ alone is small (around 0): it fits {target_title}, drawn on the left "
            "(blue above the baseline, red below)."
        )
    extra = " plus one bias each and μ" if form.biases else ""
    st.markdown(
        f"That is {ratings.n_users + ratings.n_items:,} × {k} numbers{extra} instead of "
        f"{ratings.n_users * ratings.n_items:,} cells, and every empty cell gets a guess."
    )
    link("pages/reconstruction.py", "R beside R̂ for many users", ":material/grid_on:")
    link("pages/latent.py", "Users and items on one map", ":material/scatter_plot:")

guess = "the model's guesses in italics"
if form.scale is not None:
    guess += f" (clipped to {formulas.scale_text(form)}, as every prediction shown)"
pack.chart(
    figs.excerpt_figure(
        ex.values,
        user_labels=ex.user_labels,
        item_labels=ex.item_labels,
        title=f"The holes filled in: {guess}",
        rating_scale=ratings.rating_scale,
        predicted=ex.predicted,
        held_out=ex.held_out,
    ),
    key="theory_filled_chart",
    name="theory-R-filled",
)
st.caption(
    f"A guess is R̂ = {formulas.shown_prediction(form)}. The outlined ratings were held out: "
    "under each one, in italics, the model's guess for it, made without having seen it."
    if fit.validation is not None
    else f"A guess is R̂ = {formulas.shown_prediction(form)}."
)

# ---------------------------------------------------------------- 3. objective
st.subheader("3 · The objective: fit the ratings you have, keep the vectors small")
left, right = st.columns(2, gap="large")
with left:
    st.markdown(
        f"**This model's objective** ({s['regularization']}"
        + (", with biases" if form.biases else "")
        + f", λ = {s['lam']:g}):"
    )
    st.latex(formulas.objective_latex(form))
    with st.expander("The other forms"):
        st.markdown("**Plain** (the article): one λ for everyone")
        st.latex(formulas.objective_latex(formulas.Form(regularization="plain")))
        st.markdown("**Weighted** (ALS-WR, as in Spark): λ times each one's number of ratings")
        st.latex(formulas.objective_latex(formulas.Form(regularization="weighted")))
        st.markdown("**With biases**: the prediction gains μ + b_u + b_i, and λ shrinks b too")
        st.latex(formulas.objective_latex(formulas.Form(biases=True)))
with right:
    st.markdown(
        "The first sum runs over rated cells only: that is where the holes stay holes. The "
        "second is the price of large vectors: without it, a user with two ratings would get "
        "whatever wild vector fits those two exactly.\n\n"
        + settings.describe_lambda(s["regularization"])
    )
    if len(history):
        first, last = history["objective"].iloc[0], history["objective"].iloc[-1]
        st.markdown(
            f"On these data the objective fell from **{first:,.4g}** after the first "
            f"half-step to **{last:,.4g}** after the last."
        )
    link("pages/train.py", "Train: watch the objective fall", ":material/model_training:")

# ---------------------------------------------------------------- 4. why alternate
st.subheader("4 · Why alternate exact solves instead of gradient descent")
left, right = st.columns(2, gap="large")
with left:
    st.markdown(
        "In X and Y together the objective is not convex (x·y multiplies two unknowns), so "
        "there is no formula for the best pair. But **fix Y and it is a plain least-squares "
        "problem in X**, a bowl with one bottom that a formula finds exactly; likewise for Y "
        "with X fixed. ALS takes turns:\n\n"
        "1. fix the items, solve every user exactly;\n"
        "2. fix the users, solve every item exactly;\n"
        "3. repeat.\n\n"
        "Each half-step lands at the bottom of its bowl, so the objective can never rise, "
        "there is no step size to tune, and every user (then every item) is solved "
        "independently, in parallel. Gradient descent would take many small steps, each "
        "needing a learning rate that is neither too small nor too big."
    )
with right:
    st.markdown(
        "A few iterations are usually enough. Watch them: the map of users and items starts "
        "as a small random cloud and settles."
    )
    link(
        "pages/replay.py", "Iteration replay: the fit, half-step by half-step", ":material/replay:"
    )

# ---------------------------------------------------------------- 5. the update
width = formulas.system_size(form, k)
st.subheader(f"5 · One update: a {width} × {width} system per user")
st.latex(formulas.update_latex(form, "users"))
st.latex(formulas.update_latex(form, "items"))
left, right = st.columns(2, gap="large")
with left:
    ridge_words = (
        "λ" if not form.weighted else f"{formulas.ridge(form)} (λ times the row's ratings)"
    )
    st.caption(
        f"The ridge on the diagonal is {ridge_words}."
        + (
            " With biases each fixed vector gets a trailing 1, so the row's own bias is solved "
            "alongside its factors, and each rating becomes its target r − μ − b of the other "
            "side."
            if form.biases
            else ""
        )
        + " The inverse is never formed: the library solves the linear system."
    )
with right:
    st.markdown(
        "Call the matrix in brackets A and the sum after it B. "
        f"A is only {formulas.system_shape(form, k)}, whatever the number of items: each "
        "rating adds one outer product to it, and its target times the item's vector to B. "
        "Follow one user's update number by number, or add yourself as a new user: one such "
        "solve places you."
    )
    link("pages/update.py", "One update by hand", ":material/calculate:")
    link("pages/add_yourself.py", "Add yourself", ":material/person_add:")

# ---------------------------------------------------------------- 6. cost
st.subheader("6 · What a half-step costs")
st.dataframe(
    numbers["costs"],
    hide_index=True,
    width="stretch",
    column_config={
        "operations": st.column_config.NumberColumn(format="%.3g"),
        "seconds (median)": st.column_config.NumberColumn(format="%.3g"),
        "GFLOP/s": st.column_config.NumberColumn(format="%.2f"),
    },
)
left, right = st.columns(2, gap="large")
with left:
    st.markdown(
        "Operations: nnz·(w² + 2w) to build every Σ f fᵀ and Σ r f, plus n·(w³/3 + 2w²) to "
        f"solve n systems of w = {width} unknowns: **O(nnz·k² + n·k³)** per half-step. "
        "Seconds: the median of this fit's half-steps, as its history recorded them (with the "
        "objective and validation RMSE computed after each)."
    )
    st.markdown(
        "Every rating costs k² work per half-step, every row k³ once. Per-rating SGD does only "
        "about k work per rating per epoch, but its updates are tiny, depend on each other and "
        "need a step size, so it takes many epochs; a half-step is a few big, independent, "
        "cache-friendly matrix products. Time both on these data:"
    )
with right:
    cost_params = lessons.cost_settings(fit)
    cost_split = work.split_choice(ratings, s)
    key = experiment_frame.make_key("theory_cost", cost_split, cost_params)
    outcome = experiment_frame.run_area(
        "theory_cost",
        key,
        lambda: work.compare_work(ratings, cost_split, cost_params),
    )
if outcome is not None:
    summary = work.compare_summary(outcome.value)
    st.dataframe(
        summary,
        hide_index=True,
        width="stretch",
        column_config={
            "seconds": st.column_config.NumberColumn(format="%.3f"),
            "seconds per step": st.column_config.NumberColumn(format="%.2g"),
            "objective": st.column_config.NumberColumn(format="%.6g"),
            "validation RMSE": st.column_config.NumberColumn(format="%.4f"),
            "reached ALS's RMSE after (s)": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    st.caption(
        "Each method starts from the same factors and has "
        f"{cost_params['seconds_budget']:g} s; a step is an iteration (ALS: users, then items), "
        "a full gradient step (GD) or an epoch (SGD). ALS stops when its objective changes by "
        "less than 1e-9 of itself in an iteration. More in Experiments › ALS vs gradient "
        "descent."
    )

# ---------------------------------------------------------------- 7. identifiability
st.subheader("7 · The factors are not unique")
gauge = numbers["gauge"]
left, right = st.columns([1.25, 1], gap="large")
with left:
    pack.chart(
        lesson_figs.gauge_figure(gauge.scale, gauge.rotation, form),
        key="theory_gauge_chart",
        name="theory-identifiability",
    )
with right:
    st.markdown(
        "For any invertible k × k matrix Q, X → XQ and Y → YQ⁻ᵀ give the same X·Yᵀ, so the "
        "same predictions and the same data term (flat lines, left and right). The penalty "
        "tells them apart: "
        "stretching one side and shrinking the other (left) raises it, so **λ > 0 fixes the "
        "scales**: each factor's length is shared evenly between X and Y. Rotating (right) "
        "changes no length, so **the rotation stays free**: that is why the latent map can "
        "come out turned after a refit, and why the replay turns its frames to line them up."
    )
    st.dataframe(
        numbers["norms"],
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(format="%.4f") for c in ("‖X column‖", "‖Y column‖")
        },
    )
spectra = numbers["systems"]
st.markdown(
    "**Every system has one solution.** Σ f fᵀ alone is singular for a row with fewer ratings "
    "than unknowns (and can be for others): the article's code wrapped its solve in try/except "
    "for that. Adding the ridge lifts every eigenvalue by at least λ, so with λ > 0 every "
    "system is positive definite:"
)
st.dataframe(
    spectra.table,
    hide_index=True,
    width="stretch",
    column_config={
        "smallest eigenvalue": st.column_config.NumberColumn(
            format="%.3g", help="Of Σ f fᵀ alone, over the rows examined (0: singular)."
        ),
        "with the ridge": st.column_config.NumberColumn(
            format="%.3g", help="Smallest eigenvalue of Σ f fᵀ + ridge·I: at least λ."
        ),
        "smallest ridge": st.column_config.NumberColumn(format="%.3g"),
    },
)
if spectra.sampled:
    st.caption(f"On big data: the {lessons.SPECTRUM_ROWS:,} least active rows of each side.")
elif note := lessons.unrated_note(spectra):
    st.caption(note)

# ---------------------------------------------------------------- 8. convergence
st.subheader("8 · Where ALS converges")
rises = float(max(0.0, history["objective"].diff().max())) if len(history) > 1 else 0.0
st.markdown(
    f"The objective never rose: over this fit's {len(history)} half-steps its largest rise was "
    f"**{rises:.3g}** (a fall every time). Bounded below by 0 and never rising, it converges; "
    "the factors reach a **stationary point** (zero gradient on both sides). That is a local "
    "optimum (or a saddle), **not necessarily the best one**: from another random start the "
    "same data and settings can end elsewhere. Fit from several starts, each to a tolerance "
    f"of {lessons.CONVERGENCE_TOL:g}:"
)
seed_k_max = min(settings.max_k(ratings), controls.SEEDS_K_RANGE[1])
seed_k = st.slider(
    "k for this demo",
    1,
    seed_k_max,
    key=remembered(
        "theory_w_seeds_k", min(k, seed_k_max), valid=lambda v: 1 <= int(v) <= seed_k_max
    ),
    help="The model's other settings and training ratings stay; each start is its own seed.",
)
remember("theory_w_")
seed_settings = {**s, "k": int(seed_k)}
seed_split = work.split_choice(ratings, s)
seed_key = experiment_frame.make_key("theory_seeds", seed_split, seed_settings)
seeds_outcome = experiment_frame.run_area(
    "theory_seeds",
    seed_key,
    lambda: lessons.convergence_work(ratings, s, k=int(seed_k)),
)
if seeds_outcome is not None and seeds_outcome.value is not None:
    result = seeds_outcome.value
    a, b = result.pair
    table = result.table.set_index("seed")
    gap = abs(table.loc[b, "objective"] - table.loc[a, "objective"])
    left, right = st.columns([1.25, 1], gap="large")
    pack.chart(
        lesson_figs.convergence_figure(result.histories, result.pair),
        key="theory_seeds_chart",
        name="theory-convergence",
        container=left,
    )
    with right:
        if gap > 1e-6 * abs(table.loc[a, "objective"]):
            st.markdown(
                f"**Two optima:** seed {a} ends at {table.loc[a, 'objective']:,.7g}, seed {b} "
                f"at {table.loc[b, 'objective']:,.7g}. Both stopped where the objective no "
                "longer moves and their gradients are tiny (table), so each is a stationary "
                "point, yet their predictions differ by up to "
                f"{result.prediction_gap:.3f} stars: ALS finds *an* optimum, not *the* optimum."
            )
        else:
            st.markdown(
                f"**One optimum here:** every start ends at {table.loc[a, 'objective']:,.7g}, "
                f"and seeds {a} and {b} predict the same (largest difference "
                f"{result.prediction_gap:.1e}) with different factors: the same optimum, "
                f"rotated. At k = {result.k} these data seem to have one; raise k and run "
                "again to see starts end at different optima."
            )
    st.dataframe(
        result.table,
        hide_index=True,
        width="stretch",
        column_config={
            "objective": st.column_config.NumberColumn(format="%.7g"),
            "largest rise": st.column_config.NumberColumn(
                format="%.2g", help="The largest increase between half-steps (0: never rose)."
            ),
            "gradient (users)": st.column_config.NumberColumn(format="%.2g"),
            "gradient (items)": st.column_config.NumberColumn(format="%.2g"),
        },
    )

# ---------------------------------------------------------------- 9. cold start
st.subheader("9 · Cold start: a user with no ratings")
st.markdown(
    "A new user has no ratings, so the solve has nothing to fit: x = 0"
    + (
        " and b = 0, and every score is **μ + b_i**: the most liked items first, the same list "
        "for everyone."
        if form.biases
        else ", every score x·y_i is 0 (the app predicts the training mean): a tie that only "
        "popularity can break."
    )
    + " One rating is enough for the update to move x away from 0: that is fold-in, the same "
    "half-step for one new row, with the items fixed."
)
cold = numbers["cold"]
left, right = st.columns(2, gap="large")
with left:
    st.markdown("**A newcomer's top 5** (no ratings)")
    st.dataframe(cold["before"], hide_index=True, width="stretch")
with right:
    st.markdown(
        f"**After one rating**: {cold['rating']:g} for {md_escape(cold['item'])} "
        f"(x moves to ‖x‖ = {cold['length']:.3f})"
    )
    st.dataframe(cold["after"], hide_index=True, width="stretch")
link(
    "pages/add_yourself.py",
    "Add yourself: rate items and see where you land",
    ":material/person_add:",
)

pack.pack_button(
    settings={"dataset": dataset.name, **s, **scene_url.current_params("home")},
    key="theory_slides_pack",
)
