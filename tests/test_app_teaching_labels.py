"""Issue 12 across pages: every label follows the model's settings (biases on/off, plain or
weighted, clipping), half-step positions are named on the axis, the replay names its axes
honestly and marks the iteration early stopping kept, and a genre has one colour everywhere.

Each test opens the real page in AppTest with the Train page's settings set, and compares what
is shown with ``dashboard.formulas`` AND with literal text written here, so a label that stops
following the settings fails."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import als_core as ac
from als_core import embed
from dashboard import fit_states, replay_frames
from dashboard.settings import DEFAULT_SETTINGS, fit_model
from tests.app_support import captions, chart, figure_array, open_app, rerun

MOVIE_NIGHT = ac.load_sample("movie_night")


def open_page(page: str, **settings) -> AppTest:
    state = {"train_settings": {**DEFAULT_SETTINGS, **settings}}
    return open_app(f"pages/{page}.py", state=state)


# ----------------------------------------------------------------------------- finding 1
@pytest.mark.parametrize(
    ("biases", "predictions"),
    [
        (True, "R̂ = μ + b_u + b_i + XYᵀ, clipped to [1, 5]"),
        (False, "R̂ = XYᵀ, clipped to [1, 5]"),
    ],
)
def test_reconstruction_names_the_predictions_as_the_model_makes_them(biases, predictions):
    at = open_page("reconstruction", biases=biases)
    fig = chart(at, "recon_chart")
    titles = [a.text for a in fig.layout.annotations]
    assert titles[1] == predictions and titles[2] == "R − R̂ on rated cells"
    assert not any("XYᵀ:" in t for t in titles)
    said = captions(at)
    assert ("μ + b_u + b_i + x_u·y_i, clipped to [1, 5]" in said) is biases
    # The middle panel's numbers are the clipped predictions (recomputed independently).
    model = fit_model(MOVIE_NIGHT, at.session_state["train_settings"]).model
    grid_users = figure_array(fig.data[1].z).shape[0]
    assert grid_users == 60
    z = figure_array(fig.data[1].z)
    assert np.nanmin(z) >= 1.0 - 1e-6 and np.nanmax(z) <= 5.0 + 1e-6
    assert model.biases is biases


@pytest.mark.parametrize(
    ("settings", "data", "penalty"),
    [
        ({"biases": True}, "Σ(r − μ − b_u − b_i − x·y)²", "λ(Σ(‖x_u‖² + b_u²) + Σ(‖y_i‖² + b_i²))"),
        ({"biases": False}, "Σ(r − x·y)²", "λ(Σ‖x_u‖² + Σ‖y_i‖²)"),
        (
            {"biases": False, "regularization": "weighted", "lam": 0.1},
            "Σ(r − x·y)²",
            "λ(Σn_u‖x_u‖² + Σn_i‖y_i‖²)",
        ),
    ],
)
def test_train_and_replay_legends_write_the_models_terms(settings, data, penalty):
    for page, key in (("train", "train_objective_chart"), ("replay", "replay_loss_chart")):
        at = open_page(page, **settings)
        names = [t.name for t in chart(at, key).data]
        assert f"data term {data}" in names, (page, names)
        assert f"regularisation term {penalty}" in names, (page, names)


# ----------------------------------------------------------------------------- finding 6
def test_train_says_which_rmse_is_clipped():
    at = open_page("train")
    said = captions(at)
    assert "Train RMSE: √(data term ÷ training ratings), from the unclipped predictions" in said
    assert "Validation RMSE: held-out ratings against the predictions" in said
    assert "clipped to [1, 5]." in said
    # And the numbers are what they say: train from the data term, validation clipped.
    fit = fit_model(MOVIE_NIGHT, at.session_state["train_settings"])
    m = fit.model
    users, items, actual = fit.train.coo()
    unclipped = m.predict(users, items, clip=False)
    shown = {x.label: x.value for x in at.metric}
    assert shown["Train RMSE"] == f"{np.sqrt(np.mean((actual - unclipped) ** 2)):.3f}"
    vu, vi, va = fit.validation.coo()
    assert shown["Validation RMSE"] == f"{np.sqrt(np.mean((va - m.predict(vu, vi)) ** 2)):.3f}"


# ----------------------------------------------------------------------------- finding 10
def test_half_step_positions_are_named_on_the_axis():
    at = open_page("train")
    loss = chart(at, "train_objective_chart")
    assert loss.layout.xaxis.title.text == "iteration (users of t solved at t − ½, items at t)"
    (users,) = [t for t in loss.data if t.name == "after solving users"]
    labels = list(users.text)
    assert labels[1] == "iteration 2: users solved" and figure_array(users.x)[1] == 1.5
    rmse = chart(at, "train_rmse_chart")
    assert rmse.layout.xaxis.title.text == "iteration (after its items are solved)"
    assert "iteration 2's users at 1.5" in captions(at)


# ----------------------------------------------------------------------------- finding 5
def genre_colours(fig) -> dict[str, str]:
    genres = set(embed.item_genres(MOVIE_NIGHT))
    return {t.name: t.marker.color for t in fig.data if t.name in genres}


def test_a_genre_has_one_colour_on_every_page():
    latent = genre_colours(chart(open_page("latent"), "latent_map"))
    replay = genre_colours(chart(open_page("replay"), "replay_map_chart"))
    you = genre_colours(chart(open_page("add_yourself"), "you_map_chart"))
    assert latent == replay == you
    assert len(latent) == len(set(embed.item_genres(MOVIE_NIGHT)))
    # Independent of the figure code: the most common genre gets the first palette colour.
    genres, counts = np.unique(embed.item_genres(MOVIE_NIGHT), return_counts=True)
    biggest = sorted(zip(-counts, genres, strict=True))[0][1]
    assert latent[biggest] == "#1F77B4"
    assert len(set(latent.values())) == len(latent)


def test_replay_axes_say_what_they_are_on_every_frame():
    at = open_page("replay")
    first = chart(at, "replay_map_chart")
    titles = (first.layout.xaxis.title.text, first.layout.yaxis.title.text)
    assert titles == (
        "factor 1 of the kept model (frames turned to match)",
        "factor 2 of the kept model (frames turned to match)",
    )
    assert not any("PCA" in t for t in titles)  # k = 2: the factors themselves, turned
    last = at.select_slider(key="replay_frame").options[-1]
    at.select_slider(key="replay_frame").set_value(int(last) if last.isdigit() else 30)
    rerun(at)
    final = chart(at, "replay_map_chart")
    assert (final.layout.xaxis.title.text, final.layout.yaxis.title.text) == titles
    # The last frame is the model's own factors, drawn as they are (same as the Latent page).
    model = fit_model(MOVIE_NIGHT, at.session_state["train_settings"]).model
    (users,) = [t for t in final.data if t.name == "users"]
    np.testing.assert_allclose(figure_array(users.x), model.user_factors_[:, 0], atol=1e-9)


def test_with_early_stopping_the_replay_marks_the_iteration_the_model_keeps():
    settings = {"stopping": "patience", "patience": 2, "iterations": 30, "k": 8, "lam": 3.0}
    ratings = MOVIE_NIGHT
    replay = fit_states.fit_with_snapshots(ratings, {**DEFAULT_SETTINGS, **settings})
    model = replay.fit.model
    assert model.stop_reason_ == "patience" and model.best_iteration_ < model.n_iter_
    kept = replay_frames.kept_frame(replay.states, model)
    state = replay.states[kept]
    assert (state.iteration, state.side) == (model.best_iteration_, "items")
    np.testing.assert_array_equal(state.user_factors, model.user_factors_)
    # The anchor of the aligned maps is the kept frame: the Latent page's own picture.
    frames = replay_frames.aligned_projections(replay.states, anchor=kept)
    plain = ac.shared_projection(model.user_factors_, model.item_factors_)
    np.testing.assert_allclose(frames[kept].users, plain.users)

    at = open_page("replay", **settings)
    loss = chart(at, "replay_loss_chart")
    marks = [a.text for a in loss.layout.annotations]
    assert f"kept: iteration {model.best_iteration_}: items solved" in marks
    label = at.select_slider(key="replay_frame").format_func(kept)
    assert label.endswith("(the model keeps this one)")
    assert f"Early stopping kept iteration {model.best_iteration_}" in captions(at)


# ----------------------------------------------------------------------------- finding 7
def test_neighbours_show_length_and_counts_and_can_be_shrunk():
    at = open_page("latent")
    table = at.dataframe[0].value
    assert {"similarity", "length ‖y‖", "ratings", "rated both"} <= set(table.columns)
    assert "direction of taste only" in captions(at)
    fit = fit_model(MOVIE_NIGHT, at.session_state["train_settings"])
    Y, counts = fit.model.item_factors_, fit.train.item_counts()
    names = embed.item_labels(MOVIE_NIGHT)
    index = {n: i for i, n in enumerate(names)}
    rows = [index[n] for n in table["item"]]
    np.testing.assert_allclose(table["length ‖y‖"], np.linalg.norm(Y[rows], axis=1).round(3))
    np.testing.assert_array_equal(table["ratings"], counts[rows])
    at.radio(key="latent_similarity").set_value("shrunk")
    rerun(at)
    shrunk = at.dataframe[0].value
    chosen = index[at.selectbox(key="latent_item").value]
    # Independent: users who rated both in training, n/(n + 10) · cosine, best first.
    R = (fit.train.matrix != 0).astype(int)
    both = np.asarray((R[:, [chosen]].T @ R).todense()).ravel()
    cos = Y @ Y[chosen] / (np.linalg.norm(Y, axis=1) * np.linalg.norm(Y[chosen]))
    score = cos * both / (both + 10.0)
    score[chosen] = -np.inf
    best = np.argsort(-score, kind="stable")[: len(shrunk)]
    assert [index[n] for n in shrunk["item"]] == list(best)
    np.testing.assert_allclose(shrunk["similarity"], score[best].round(3), atol=1e-12)
    np.testing.assert_array_equal(shrunk["rated both"], both[best])


def test_reconstruction_rmse_note_is_of_clipped_predictions_recomputed_here():
    at = open_page("reconstruction")
    fit = fit_model(MOVIE_NIGHT, at.session_state["train_settings"])
    users = np.sort(np.lexsort((np.arange(MOVIE_NIGHT.n_users), -MOVIE_NIGHT.user_counts()))[:60])
    items = np.sort(np.lexsort((np.arange(MOVIE_NIGHT.n_items), -MOVIE_NIGHT.item_counts()))[:60])
    expected = {}
    for name, part in (("training", fit.train), ("validation", fit.validation)):
        sub = part.matrix[users][:, items].tocoo()
        guess = fit.model.predict(users[sub.row], items[sub.col])  # clipped, as shown
        expected[name] = np.sqrt(np.mean((sub.data - guess) ** 2))
    said = captions(at)
    assert (
        f"RMSE of the clipped predictions on the shown training cells {expected['training']:.3f}, "
        f"on the shown validation cells {expected['validation']:.3f}."
    ) in said
