"""Add yourself: rate a few items, and one half-step places you among everyone else.

With the item factors fixed, a new user's factors are one exact least-squares solve
(``ALS.fold_in``): the same update as on the "One update by hand" page, for a row that was not in
the training data. Your point lands on the latent map; your predicted top items and the users
whose tastes point the same way follow from it.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from als_core import embed
from dashboard import (
    controls,
    data_summary,
    fitting,
    fold_in,
    formulas,
    presenter,
    scene_url,
    scenes,
    session,
    shell,
    slides,
)
from dashboard.figures import teaching as figs
from dashboard.text import md_escape

shell.require_app()  # first: a bookmarked page URL on a fresh server runs through app.py

(MIN_SHOWN, MAX_SHOWN), DEFAULT_SHOWN = controls.YOU_SHOWN_RANGE, 12
TOP_N = 10
NEIGHBOURS = 5


@st.cache_data(max_entries=8, show_spinner=False)
def page_data(fingerprint: str, fit_key: tuple, _ratings, _fit) -> dict:
    model = _fit.model
    projection = embed.shared_projection(model.user_factors_, model.item_factors_)
    return {
        "projection": projection,
        "popular": data_summary.popular_items(_fit.train.item_counts(), MAX_SHOWN),
    }


rating_key = scenes.stars_key


def fill_example(fingerprint: str, items: np.ndarray, groups: np.ndarray | None) -> None:
    """A clear taste to demo with (``fold_in.example_stars``): loves the first genre,
    dislikes the rest."""
    for item, stars in zip(items, fold_in.example_stars(items, groups), strict=True):
        st.session_state[rating_key(fingerprint, int(item))] = stars - 1  # the widget counts from 0


def clear_ratings(fingerprint: str, items: np.ndarray) -> None:
    for item in items:
        st.session_state[rating_key(fingerprint, int(item))] = None


dataset = session.current_dataset()
ratings = dataset.ratings
fit = fitting.current_fit()
model = fit.model
fingerprint = session.current_fingerprint()
fit_key = fit.key
data = page_data(fingerprint, fit_key, ratings, fit)
form = formulas.Form.of_model(model, clipped=False)  # scores are ranked unclipped
user_names, item_names = session.labels()
groups = session.item_categories()
scale = ratings.rating_scale

with presenter.controls("Your ratings"):  # presenter mode: folded, with the introduction
    st.caption(
        "Rate a few of the most rated items (1 to 5 stars; leave the rest blank). One exact "
        "half-step against the trained item factors places you on the map: no retraining."
    )
    top_cols = st.columns([2, 1, 1], vertical_alignment="bottom")
    most_shown = min(MAX_SHOWN, ratings.n_items)
    if most_shown > MIN_SHOWN:
        n_shown = top_cols[0].slider(
            "Items to rate (most rated first)",
            MIN_SHOWN,
            most_shown,
            min(DEFAULT_SHOWN, most_shown),
            key="you_n_shown",
        )
    else:  # a few items only: all of them (a slider needs two different ends)
        n_shown = most_shown
    offered = data["popular"][:n_shown]
    top_cols[1].button(
        "Fill in an example",
        key="you_example",
        on_click=fill_example,
        args=(fingerprint, offered, groups),
        help="Loves the first item's genre, dislikes the others.",
    )
    top_cols[2].button(
        "Clear", key="you_clear", on_click=clear_ratings, args=(fingerprint, offered)
    )
    grid = st.columns(3)
    for j, item in enumerate(offered):
        with grid[j % 3]:
            genre = f" · {md_escape(groups[item])}" if groups is not None else ""
            st.markdown(f"**{md_escape(item_names[item])}**{genre}")
            st.feedback("stars", key=rating_key(fingerprint, int(item)))

chosen = [
    (int(item), int(st.session_state[rating_key(fingerprint, int(item))]) + 1)
    for item in offered
    if st.session_state.get(rating_key(fingerprint, int(item))) is not None
]
projection = data["projection"]
pack = slides.SlidePack("add-yourself")
map_fig = figs.map_figure(
    projection.users,
    projection.items,
    user_labels=user_names,
    item_labels=item_names,
    item_groups=groups,
    axis_titles=projection.axis_titles,
    title="You among the users and items",
    uirevision=f"you-{fingerprint}",
    height=560,
)


placement = fold_in.place_new_user(
    model,
    fit.train,
    projection,
    chosen,
    scale=scale,
    item_names=item_names,
    user_names=user_names,
    n_top=TOP_N,
    n_users=NEIGHBOURS,
)


def show_placement() -> None:
    """Show where the ratings land (called only with at least one rating)."""
    placed = placement.fold
    figs.highlight_points(
        map_fig,
        projection.items[placed.top],
        item_names[placed.top],
        name=f"your top {len(placed.top)}",
        colour="#2b8a3e",
        size=18,
    )
    figs.highlight_points(
        map_fig,
        projection.users[placed.neighbours],
        user_names[placed.neighbours],
        name="nearest users",
        colour="#111111",
    )
    figs.add_point(map_fig, placement.position, name="you")

    left, right = st.columns([1.35, 1], gap="large")
    pack.chart(map_fig, key="you_map_chart", name="add-yourself-map", container=left, main=True)
    with right:
        pack.chart(
            figs.scores_figure(
                item_names[placed.top], placed.scores[placed.top], title="Your predicted top items"
            ),
            key="you_top_chart",
            name="add-yourself-top",
        )
        st.markdown("**Users whose tastes point the same way as yours**")
        st.dataframe(
            placement.similar,
            hide_index=True,
            width="stretch",
            column_config={"cosine similarity": st.column_config.NumberColumn(format="%.3f")},
        )

    items, values = placed.items, placement.values
    with st.expander(f"How you were placed ({len(items)} rating{'s' if len(items) != 1 else ''})"):
        k = len(placed.factors)
        bias_text = f" and your bias b = {placed.bias:.3f}" if model.biases else ""
        st.markdown(
            f"Your stars became ratings on the data's scale ({scale[0]:g}–{scale[1]:g}). With the "
            f"item factors fixed, your {k} factors{bias_text} solve one small ridge regression:"
        )
        st.latex(formulas.update_latex(form, "users", who=r"\text{you}"))
        st.markdown(
            "exactly the update every user gets in a half-step: see it built number by number on "
            "the update page. Your factors: " + ", ".join(f"{v:.3f}" for v in placed.factors) + "."
        )
        st.page_link("pages/update.py", label="One update by hand", icon=":material/calculate:")
        st.dataframe(placement.fitted, hide_index=True, width="stretch")
    one = (
        " One rating was enough to move you: with a single rating the solve already has "
        "something to fit."
        if len(items) == 1
        else ""
    )
    st.caption(
        f"Scores are {formulas.prediction(form, user='you')} (unclipped, so the order at the "
        "top is kept); items you rated are left out. Nearest users: highest cosine similarity "
        f"between factor vectors.{one}"
    )
    pack.pack_button(
        settings={
            "dataset": dataset.name,
            **fit.settings,
            "your_ratings": {
                str(item_names[i]): float(v) for i, v in zip(items, values, strict=True)
            },
            **scene_url.current_params("add_yourself"),
        }
    )


def show_cold_start() -> None:
    """No ratings yet: what a cold-start user is shown (an empty fold-in: x = 0, b = 0)."""
    cold = placement.fold  # an empty fold-in: x = 0, b = 0
    above = st.container()
    left, right = st.columns([1.35, 1], gap="large")
    pack.chart(map_fig, key="you_map_chart", name="add-yourself-map", container=left, main=True)
    # Presenter mode: the note goes below the map, which then fits the first screen.
    (st.container() if presenter.active() else above).info(
        "Rate at least one item above (or press **Fill in an example**) to appear on the map.",
        icon=":material/star:",
    )
    with right:
        rule = "μ + b_i" if model.biases else "x_you·y_i = 0"
        pack.chart(
            figs.scores_figure(
                item_names[cold.top],
                cold.scores[cold.top],
                title=f"With no ratings: your top items by {rule}",
            ),
            key="you_cold_chart",
            name="add-yourself-cold-start",
        )
        st.markdown(
            "**Cold start.** With no ratings the solve has nothing to fit: your factors are 0"
            + (
                " and your bias 0, so every score is **μ + b_i**: the best-liked items, the "
                "same list for every newcomer."
                if model.biases
                else ", so every score is x·y_i = 0: a tie, broken here by popularity (the app "
                "predicts the training mean for such a user)."
            )
            + " One rating is enough for the fold-in to place you."
        )


if not chosen:
    show_cold_start()
else:
    show_placement()
