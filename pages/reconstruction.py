"""Reconstruction: the ratings R beside the model's predictions R̂ and the residual, on a chosen
subset. R̂ is named as the model computes it (``formulas``: biases, clipping)."""

from __future__ import annotations

import streamlit as st

import als_core as ac
from dashboard import (
    fitting,
    formulas,
    presenter,
    reconstruction_view,
    scene_url,
    session,
    settings,
    shell,
    slides,
)
from dashboard.controls import SHOWN_RANGE, choice_options, index_of, keep_in_range
from dashboard.figures.reconstruction import reconstruction_figure, run_length

shell.require_app()  # first: a bookmarked page URL on a fresh server runs through app.py

CELL_LIMIT = reconstruction_view.CELL_LIMIT
#: Opening view: enough cells to see patterns, big enough to see single cells.
DEFAULT_SHOWN = 60
#: The sliders offer at most this many most active users / most rated items: every cell shown
#: is predicted (5,000 × 5,000 takes ~2 s at k = 50) and then averaged into ≤ 200×200 blocks.
MAX_SHOWN = SHOWN_RANGE[1]
ORDER_NOTES = {
    "given": "in data order",
    "activity": "most ratings first",
    "leading factor": "by leading pattern",
}


@st.cache_data(max_entries=16, show_spinner="Computing the reconstruction…")
def grid_for(
    fit_key: tuple,
    order: str,
    n_users: int,
    n_items: int,
    extra_users: tuple[int, ...],
    extra_items: tuple[int, ...],
    _fit: settings.FitResult,
    _ratings: ac.Ratings,
) -> ac.ReconstructionGrid:
    """The grid for one fit and one view (the fit is identified by ``fit_key``)."""
    return reconstruction_view.reconstruction(
        _fit,
        _ratings,
        n_users=n_users,
        n_items=n_items,
        order=order,
        extra_users=extra_users,
        extra_items=extra_items,
    )


def keep_valid_choices(key: str, options: list[str]) -> None:
    """Drop remembered choices that no longer exist (the dataset changed)."""
    chosen = st.session_state.get(key)
    if chosen:
        allowed = set(options)
        st.session_state[key] = [c for c in chosen if c in allowed]


dataset = session.current_dataset()
ratings = dataset.ratings
fit = fitting.current_fit()
user_names, item_names = session.labels()
form = formulas.Form.of_model(fit.model)

# A slider needs two different ends, hence max(2, ...).
most_users = max(2, min(ratings.n_users, MAX_SHOWN))
most_items = max(2, min(ratings.n_items, MAX_SHOWN))
keep_in_range("recon_n_users", 1, most_users, min(ratings.n_users, DEFAULT_SHOWN))
keep_in_range("recon_n_items", 1, most_items, min(ratings.n_items, DEFAULT_SHOWN))
st.session_state.setdefault("recon_order", "leading factor")
keep_valid_choices("recon_users", list(user_names))
keep_valid_choices("recon_items", list(item_names))
with presenter.controls():  # presenter mode: folded, with the introduction
    st.caption(
        "The ratings R (left) beside what the model predicts for every cell, "
        f"R̂ = {formulas.shown_prediction(form)} (middle), and the error R − R̂ on the cells "
        "that were rated (right). The model saw only the training ratings."
    )
    controls = st.columns([1.3, 1, 1])
    order = controls[0].radio(
        "Order rows and columns",
        list(ORDER_NOTES),
        key="recon_order",
        horizontal=True,
        help="Leading factor: users and items sorted by the strongest pattern in the "
        "predictions, so groups with shared tastes form blocks.",
    )
    n_users = controls[1].slider(
        "Users shown (most active)",
        1,
        most_users,
        key="recon_n_users",
        help=f"Up to {CELL_LIMIT} users × {CELL_LIMIT} items every cell is drawn; above that, "
        "runs of neighbouring users or items are averaged into blocks.",
    )
    n_items = controls[2].slider(
        "Items shown (most rated)",
        1,
        most_items,
        key="recon_n_items",
    )
    with st.expander("Also show particular users or items"):
        # Big data: the most active MAX_CHOICES are offered (plus what is already picked).
        users_offered = choice_options(
            user_names, counts=ratings.user_counts(), keep=st.session_state.get("recon_users", [])
        )
        items_offered = choice_options(
            item_names, counts=ratings.item_counts(), keep=st.session_state.get("recon_items", [])
        )
        picked_users = st.multiselect("Users", users_offered, key="recon_users")
        picked_items = st.multiselect("Items", items_offered, key="recon_items")
extra_users = tuple(sorted(index_of(user_names, name) for name in picked_users))
extra_items = tuple(sorted(index_of(item_names, name) for name in picked_items))

fit_key = fit.key
grid = grid_for(fit_key, order, n_users, n_items, extra_users, extra_items, fit, ratings)
figure = reconstruction_figure(
    grid,
    user_labels=user_names,
    item_labels=item_names,
    rating_scale=ratings.rating_scale,
    order_note=ORDER_NOTES[order],
    uirevision=f"recon-{fit.fingerprint}-{order}",
    form=form,
)
# Plotly's own theme: Streamlit's theme pads the axes, which leaves a grey frame of empty
# "missing" cells around every heatmap.
pack = slides.SlidePack("reconstruction")
pack.chart(figure, key="recon_chart", name="reconstruction", width="stretch", theme=None, main=True)

observed = grid.n_observed.sum()
held = grid.n_validation.sum()
no_validation = fit.validation is None  # split "none", or a model opened from disk
if grid.is_cells:
    how = (
        f"{len(grid.users)} users × {len(grid.items)} items, every cell drawn; "
        f"{observed:,} rated"
        + ("." if no_validation else f" ({held:,} of them held out for validation).")
    )
    marks = (
        "**Pink** outlines (dots when cells are small) mark the validation ratings: the model "
        "never saw them, so the residual there shows how well it generalises."
    )
    if no_validation:
        marks = ""
else:
    how = (
        f"{len(grid.users):,} users × {len(grid.items):,} items, averaged in blocks of "
        f"{run_length(grid.row_bounds)} users × {run_length(grid.col_bounds)} items "
        f"({grid.shape[0]}×{grid.shape[1]} blocks) so the browser "
        f"stays fast; {observed:,} ratings"
        + ("." if no_validation else f" ({held:,} held out for validation).")
    )
    marks = (
        "Each block shows the mean of its rated cells (R), of all its cells (R̂) and of the "
        "errors on its rated cells; hover to see how many ratings and validation ratings it "
        "holds. Show at most 200 users and 200 items to see single cells."
    )
rmse_note = ""
parts = [f"{name} cells {value:.3f}" for name, value in reconstruction_view.shown_rmse(grid)]
if parts:
    rmse_note = (
        " RMSE of the clipped predictions on the shown " + ", on the shown ".join(parts) + "."
    )
st.caption(
    f"{how} **Grey** means no rating: a missing cell, not a zero. R and R̂ share one colour "
    f"scale from {ratings.rating_scale[0]:g} to {ratings.rating_scale[1]:g}. In the residual "
    "(actual − predicted), **blue** cells are rated higher than the model predicts, **red** "
    f"lower, white about right. {marks}{rmse_note}"
)
pack.pack_button(
    settings={
        "dataset": dataset.name,
        **fit.settings,
        "users_shown": [str(user_names[u]) for u in grid.users],
        "items_shown": [str(item_names[i]) for i in grid.items],
        **scene_url.current_params("reconstruction"),
    }
)
