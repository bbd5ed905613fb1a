"""Latent space: users and items on one map, an item's neighbours, a user's recommendations."""

from __future__ import annotations

import streamlit as st

import als_core as ac
from dashboard import (
    controls,
    data_summary,
    fitting,
    latent_view,
    presenter,
    scene_url,
    session,
    settings,
    shell,
    slides,
)
from dashboard.figures.latent import contributions_figure, latent_figure
from dashboard.text import md_escape

shell.require_app()  # first: a bookmarked page URL on a fresh server runs through app.py

COLOUR_CHOICES = ("genre", "mean rating", "popularity")
FIT_ON_CHOICES = ("users and items", "items only")
SIMILARITY_CHOICES = ("cosine", "shrunk")
SHRINKAGE = latent_view.SHRINKAGE


@st.cache_data(max_entries=8, show_spinner=False)
def dataset_facts(fingerprint: str, _ratings: ac.Ratings) -> data_summary.DatasetFacts:
    """Counts and mean ratings of one dataset (keyed on its fingerprint)."""
    return data_summary.dataset_facts(_ratings)


@st.cache_data(max_entries=16, show_spinner=False)
def projection_for(fit_key: tuple, fit_on: str, _fit: settings.FitResult) -> ac.Projection:
    """The shared 2-D map of one fit (the fit is identified by ``fit_key``)."""
    return ac.shared_projection(_fit.model.user_factors_, _fit.model.item_factors_, fit_on=fit_on)


def steady(projection: ac.Projection, key: str) -> ac.Projection:
    """The map turned to match the one this session saw last (``latent_view.steady``)."""
    projection = latent_view.steady(projection, st.session_state.get(key))
    st.session_state[key] = projection
    return projection


def choose(label: str, options: list[str], key: str, default: str, **kwargs) -> str:
    """A selectbox that survives a change of dataset (a stale choice falls back to default)."""
    controls.keep_choice(key, options, default)
    return st.selectbox(label, options, key=key, **kwargs)


dataset = session.current_dataset()
ratings = dataset.ratings
fit = fitting.current_fit()
model = fit.model
facts = dataset_facts(session.current_fingerprint(), ratings)
fit_key = fit.key
user_names, item_names = session.labels()
genres = session.item_categories()

colour_options = [c for c in COLOUR_CHOICES if c != "genre" or genres is not None]
# Big data: the pick lists offer the most rated / most active (controls.MAX_CHOICES) and the choice.
popular_first = controls.choice_options(
    latent_view.most_first(item_names, facts.item_counts),
    keep=[st.session_state.get("latent_item")],
)
active_first = controls.choice_options(
    latent_view.most_first(user_names, facts.user_counts),
    keep=[st.session_state.get("latent_user")],
)
# Remembered or linked choices that these data cannot show fall back to the defaults.
controls.keep_choice("latent_colour", colour_options, colour_options[0])
controls.keep_choice("latent_fit_on", list(FIT_ON_CHOICES), FIT_ON_CHOICES[0])
low, high = controls.NEIGHBOURS_RANGE
controls.keep_in_range("latent_n", low, high, 8)
with presenter.controls():
    top = st.columns([1.2, 1, 1])
    colour_by = top[0].radio(
        "Colour items by", colour_options, key="latent_colour", horizontal=True
    )
    fit_on = top[1].radio(
        "Fit the map on",
        list(FIT_ON_CHOICES),
        key="latent_fit_on",
        horizontal=True,
        help="The 2-D basis (PCA) is fitted once, on these points, and applied to users and "
        "items alike. With k = 2 the map shows the raw factors.",
    )
    n_show = top[2].slider("Neighbours and recommendations", low, high, key="latent_n")
    controls.keep_choice("latent_similarity", list(SIMILARITY_CHOICES), SIMILARITY_CHOICES[0])
    pick = st.columns([1, 1, 1])
    similarity_by = pick[2].radio(
        "Rank neighbours by",
        list(SIMILARITY_CHOICES),
        key="latent_similarity",
        horizontal=True,
        format_func={"cosine": "cosine", "shrunk": f"shrunk cosine (β = {SHRINKAGE:g})"}.get,
        help="Cosine compares directions only: an item with few ratings (a short vector, "
        "shrunk by λ) can point exactly like a popular one. The shrunk cosine multiplies it by "
        "n/(n + β), n = users who rated both in training.",
    )
    with pick[0]:
        item_name = choose(
            "Choose an item (most rated first)", popular_first, "latent_item", popular_first[0]
        )
    with pick[1]:
        user_name = choose(
            "Choose a user (most active first)", active_first, "latent_user", active_first[0]
        )
shrunk = similarity_by == "shrunk"
view = latent_view.latent_view(
    fit,
    ratings,
    facts,
    item_names=item_names,
    genres=genres,
    item=controls.index_of(item_names, item_name),
    user=controls.index_of(user_names, user_name),
    n=n_show,
    shrunk=shrunk,
)
item, user, neighbours, recs = view.item, view.user, view.neighbours, view.recommendations

projection = steady(
    projection_for(fit_key, "both" if fit_on == "users and items" else "items", fit),
    "latent_last_map",
)
colour, title, categorical = latent_view.item_colour(colour_by, facts, genres)
figure = latent_figure(
    projection,
    item_labels=item_names,
    user_labels=user_names,
    item_colour=colour,
    item_colour_title=title,
    categorical=categorical,
    user_activity=facts.user_counts,
    chosen_item=item,
    neighbours=neighbours["index"].to_numpy(),
    neighbours_name="nearest neighbours (shrunk cosine)" if shrunk else None,
    chosen_user=user,
    recommended=recs["item"].to_numpy(),
    # Zoom survives reruns of the same fit and map, and resets when the map itself changes.
    uirevision=f"latent-{fit.fingerprint}-{fit.settings['k']}-{fit.settings['seed']}-{fit_on}",
)
pack = slides.SlidePack("latent")
pack.chart(figure, key="latent_map", name="latent-map", main=True)
explained_share = float(sum(projection.explained))
drawn = figure.layout.meta
sampled = (
    f" To keep the page light, {drawn['items_drawn']:,} items and {drawn['users_drawn']:,} "
    "users are drawn (a fixed random sample, plus everything highlighted)."
    if drawn["items_drawn"] < ratings.n_items or drawn["users_drawn"] < ratings.n_users
    else ""
)
fitted_on = "users and items" if fit_on == "users and items" else "items"
turned = " (turned to match the previous map)" if projection.aligned else ""
baseline = "μ + biases + " if model.biases else ""
basis_note = {
    "raw": f"With k = 2 the axes are the two factors themselves: a predicted score is {baseline}"
    "the dot product of a user's and an item's position, so users rate highly the items that "
    "lie far out in their own direction.",
    "raw-1d": "With k = 1 there is one factor: users (bottom row) and items (top row) sit on one "
    "axis, and a score grows with the product of the two positions.",
    "pca": f"With k = {model.item_factors_.shape[1]} the map is a projection: the first two "
    f"principal components of the {fitted_on}{turned} ({explained_share:.0%} of the variance), "
    "one basis for both. Neighbours and scores below use all k factors, so they can differ "
    "from what looks close here.",
}[projection.method]
st.caption(
    f"Diamonds are items, grey dots users (darker = more ratings). {basis_note} The star is the "
    "chosen item with its nearest neighbours circled; the × is the chosen user with the "
    f"recommended items in squares.{sampled}"
)

left, right = st.columns(2)
with left:
    st.subheader("Nearest neighbours", anchor=False)
    ranked_by = (
        f"the shrunk cosine n/(n + {SHRINKAGE:g}) · cosine, with n the users who rated both in "
        "training: pairs backed by few shared ratings move towards 0"
        if shrunk
        else "cosine similarity of all k factors: 1 = same direction, 0 = unrelated, −1 = opposite"
    )
    st.caption(
        f"Items whose factor vectors point the same way as **{md_escape(item_name)}**, ranked by "
        f"{ranked_by}. Cosine measures the **direction of taste only**: an item with few "
        "ratings has a short vector (λ shrinks it towards 0) and can still score 1.000 against "
        "a popular one. Its length ‖y‖ and its number of ratings are beside it."
    )
    st.dataframe(
        view.neighbour_table,
        key="latent_neighbours",
        width="stretch",
        column_config={
            "similarity": st.column_config.NumberColumn(format="%.3f"),
            "cosine": st.column_config.NumberColumn(format="%.3f"),
            "length ‖y‖": st.column_config.NumberColumn(format="%.3f"),
            "ratings": st.column_config.NumberColumn(help="Training ratings of the item."),
            "rated both": st.column_config.NumberColumn(
                help=f"Users who rated both this item and {md_escape(item_name)} in training."
            ),
            "mean rating": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    st.caption(
        f"{md_escape(item_name)} itself: length ‖y‖ = {view.chosen_length:.3f}, "
        f"{view.chosen_train_ratings} training ratings."
    )
with right:
    st.subheader("Recommendations", anchor=False)
    st.caption(
        f"The {len(recs)} highest predicted scores for **{md_escape(user_name)}** among the "
        f"items they have not rated ({view.user_seen} rated, training and validation, are left "
        "out)."
    )
    st.dataframe(
        view.recommendation_table,
        key="latent_recs",
        width="stretch",
        column_config={
            "score": st.column_config.NumberColumn(format="%.3f"),
            "predicted rating": st.column_config.NumberColumn(format="%.2f"),
        },
    )

st.subheader("What makes each score", anchor=False)
parts = "the global mean μ, the user's and the item's bias, and " if model.biases else ""
start = "μ (the dotted line)" if model.biases else "0"
st.caption(
    f"Each recommendation's score is the sum of {parts}one product x_uf·y_if per factor f. "
    f"Read each row as a waterfall from {start}: every bar moves the running total, right "
    "to raise it, left to lower it, starting where the previous bar ended; the last one ends "
    "on the black tick, the score."
)
pack.chart(
    contributions_figure(view.explained, item_labels=item_names),
    key="latent_contributions",
    name="latent-score-parts",
)
pack.pack_button(
    settings={
        "dataset": dataset.name,
        **fit.settings,
        "chosen_item": str(item_name),
        "chosen_user": str(user_name),
        **scene_url.current_params("latent"),
    }
)
