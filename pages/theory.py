"""Home: the story of ALS told with the data and model of this session.

R with its gaps, the factors X and Y, the objective (plain, weighted, with biases), why the
algorithm alternates exact solves, and the update every user and item gets. Each idea links to
the page that shows it in action.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from als_core import embed
from dashboard import fitting, presenter, scene_url, session, settings, shell, slides
from dashboard.figures import teaching as figs

shell.require_app()  # first: a bookmarked page URL on a fresh server runs through app.py

#: The excerpt of R shown: this many most active users and most rated items.
EXCERPT_USERS = 8
EXCERPT_ITEMS = 8


@st.cache_data(max_entries=8, show_spinner=False)
def excerpt(fingerprint: str, fit_key: tuple, _ratings, _fit) -> dict:
    """The most active users × most rated items: ratings (NaN = missing), factors, guesses."""
    users = embed.most_active(_ratings.user_counts(), EXCERPT_USERS)
    items = embed.most_active(_ratings.item_counts(), EXCERPT_ITEMS)
    sub = _ratings.matrix[users][:, items].tocoo()
    values = np.full((len(users), len(items)), np.nan)
    values[sub.row, sub.col] = sub.data  # stored entries are ratings, even a rating of 0
    model = _fit.model
    predicted = model.predict(users[:, None], items[None, :])
    return {
        "users": users,
        "items": items,
        "values": values,
        "predicted": predicted,
        "X": model.user_factors_[users],
        "Y": model.item_factors_[items],
        "user_labels": embed.user_labels(_ratings)[users],
        "item_labels": embed.item_labels(_ratings)[items],
    }


def link(page: str, label: str, icon: str) -> None:
    st.page_link(page, label=label, icon=icon)


dataset = session.current_dataset()
ratings = dataset.ratings
fit = fitting.current_fit()
s = fit.settings
fit_key = fit.key
ex = excerpt(session.current_fingerprint(), fit_key, ratings, fit)
pack = slides.SlidePack("theory")
missing = 1.0 - ratings.density
history = fit.model.history_

with presenter.folded("About these data"):  # presenter mode: R's excerpt on the first screen
    st.markdown(
        "#### Alternating least squares, told with your data\n"
        f"The data now: **{dataset.name}**, {ratings.n_users:,} users × {ratings.n_items:,} items "
        f"with {ratings.nnz:,} ratings. The model: k = {s['k']}, λ = {s['lam']:g} "
        f"({s['regularization']}), biases {'on' if s['biases'] else 'off'}, "
        f"{fit.model.n_iter_} iterations, seed {s['seed']}. Change either on the Data and Train "
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
            ex["values"],
            user_labels=ex["user_labels"],
            item_labels=ex["item_labels"],
            title=f"R: the {len(ex['users'])} most active users × {len(ex['items'])} most rated "
            "items",
            rating_scale=ratings.rating_scale,
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
    )
    link("pages/data.py", "See the whole table and its pattern of holes", ":material/table_chart:")

# ---------------------------------------------------------------- 2. X and Y
st.subheader("2 · X and Y: a few numbers per user and per item")
left, right = st.columns([1.3, 1], gap="large")
with left:
    pack.chart(
        figs.factorization_figure(
            ex["values"],
            ex["X"],
            ex["Y"],
            user_labels=ex["user_labels"],
            item_labels=ex["item_labels"],
            rating_scale=ratings.rating_scale,
            title=f"R ≈ X · Yᵀ with k = {s['k']} (the same excerpt)",
        ),
        key="theory_factors_chart",
        name="theory-factorisation",
    )
with right:
    st.markdown(
        f"Each user u gets a vector x_u of k = {s['k']} numbers, each item i a vector y_i of "
        "the same length. The predicted rating is their dot product: users and items that "
        "point the same way score high."
    )
    st.latex(
        r"\hat r_{ui} = \mu + b_u + b_i + x_u^\top y_i"
        if s["biases"]
        else r"\hat r_{ui} = x_u^\top y_i"
    )
    if s["biases"]:
        st.caption(
            "With biases the model also learns the overall mean μ, how generous each user is "
            "(b_u) and how liked each item is (b_i); the factors then only carry taste."
        )
    st.markdown(
        f"That is {ratings.n_users + ratings.n_items:,} × {s['k']} numbers instead of "
        f"{ratings.n_users * ratings.n_items:,} cells, and every empty cell gets a guess."
    )
    link("pages/reconstruction.py", "R beside X·Yᵀ for many users", ":material/grid_on:")
    link("pages/latent.py", "Users and items on one map", ":material/scatter_plot:")

pack.chart(
    figs.excerpt_figure(
        ex["values"],
        user_labels=ex["user_labels"],
        item_labels=ex["item_labels"],
        title="The holes filled in: the model's guesses in italics",
        rating_scale=ratings.rating_scale,
        predicted=ex["predicted"],
    ),
    key="theory_filled_chart",
    name="theory-R-filled",
)

# ---------------------------------------------------------------- 3. objective
st.subheader("3 · The objective: fit the ratings you have, keep the vectors small")
left, right = st.columns(2, gap="large")
with left:
    st.markdown("**Plain** (the article): one λ for everyone")
    st.latex(
        r"\min_{X,Y}\ \sum_{(u,i)\ \text{rated}} \big(r_{ui} - x_u^\top y_i\big)^2"
        r" + \lambda\Big(\sum_u \lVert x_u\rVert^2 + \sum_i \lVert y_i\rVert^2\Big)"
    )
    st.markdown("**Weighted** (ALS-WR, as in Spark): λ times each one's number of ratings")
    st.latex(
        r"\min_{X,Y}\ \sum_{(u,i)\ \text{rated}} \big(r_{ui} - x_u^\top y_i\big)^2"
        r" + \lambda\Big(\sum_u n_u\lVert x_u\rVert^2 + \sum_i n_i\lVert y_i\rVert^2\Big)"
    )
    st.markdown("**With biases**: the prediction gains μ + b_u + b_i, and λ shrinks b too")
    st.latex(
        r"\begin{aligned}&\sum_{(u,i)\ \text{rated}}"
        r" \big(r_{ui} - \mu - b_u - b_i - x_u^\top y_i\big)^2 \\"
        r"&+ \lambda\Big(\sum_u c_u (\lVert x_u\rVert^2 + b_u^2)"
        r" + \sum_i c_i (\lVert y_i\rVert^2 + b_i^2)\Big)\end{aligned}"
    )
with right:
    st.markdown(
        "The first sum runs over rated cells only: that is where the holes stay holes. The "
        "second is the price of large vectors: without it, a user with two ratings would get "
        "whatever wild vector fits those two exactly.\n\n"
        f"**This model uses the {s['regularization']} form**"
        + (" with biases" if s["biases"] else "")
        + f", λ = {s['lam']:g}. "
        + settings.describe_lambda(s["regularization"])
        + " (c = 1 for plain, c = n for weighted.)"
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
st.subheader("5 · One update: a k × k system per user")
left, right = st.columns(2, gap="large")
with left:
    st.latex(
        r"x_u = \Big(\sum_{i \in \text{rated}(u)} y_i y_i^\top + \lambda I\Big)^{-1}"
        r" \sum_{i \in \text{rated}(u)} r_{ui}\, y_i"
    )
    st.latex(
        r"y_i = \Big(\sum_{u \in \text{rated}(i)} x_u x_u^\top + \lambda I\Big)^{-1}"
        r" \sum_{u \in \text{rated}(i)} r_{ui}\, x_u"
    )
    st.caption(
        "Weighted: λ becomes λ·n_u (λ·n_i). With biases each y_i gets a trailing 1 (so b_u is "
        "solved alongside x_u) and r_ui becomes r_ui − μ − b_i. The inverse is never formed: "
        "the library solves the linear system."
    )
with right:
    st.markdown(
        f"A = Σ y yᵀ + λI is only {s['k']} × {s['k']} (k × k), whatever the number of items: "
        "each rating adds one outer product to it, and r times the item's vector to B. Follow "
        "one user's update number by number, or add yourself as a new user: one such solve "
        "places you."
    )
    link("pages/update.py", "One update by hand", ":material/calculate:")
    link("pages/add_yourself.py", "Add yourself", ":material/person_add:")

pack.pack_button(
    settings={"dataset": dataset.name, **s, **scene_url.current_params("home")},
    key="theory_slides_pack",
)
