"""The teaching figures: the numbers in the cells are the numbers given, gaps stay gaps, big
maps are sampled reproducibly, the replay marker sits where asked, presenter styling enlarges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import als_core as ac
from dashboard import formulas, presenter
from dashboard.figures import teaching as figs


def test_fmt_is_short_and_exact_enough():
    assert figs.fmt(0) == "0"
    assert figs.fmt(1.23456) == "1.23"
    assert figs.fmt(-0.0409123) == "-0.0409"
    assert figs.fmt(123.6) == "124"
    assert figs.fmt(1.5e-5) == "1.50e-05"
    assert figs.fmt(float("nan")) == ""


def test_system_figure_prints_A_x_and_B_in_their_cells():
    A = np.array([[2.0, 0.5], [0.5, 3.0]])
    B = np.array([1.0, -2.0])
    x = np.linalg.solve(A, B)
    fig = figs.system_figure(A, B, x, names=["x₁", "x₂"], title="t")
    a, xs, b = fig.data
    np.testing.assert_array_equal(a.z, A)
    np.testing.assert_array_equal(np.asarray(xs.z).ravel(), x)
    np.testing.assert_array_equal(np.asarray(b.z).ravel(), B)
    assert a.text.tolist() == [["2", "0.5"], ["0.5", "3"]]
    assert list(a.x) == ["x₁", "x₂"]
    # A and B share one colour scale centred on 0, so equal numbers look equal.
    assert a.zmin == b.zmin == -3.0 and a.zmax == b.zmax == 3.0


def test_system_figure_before_solving_and_for_big_k():
    fig = figs.system_figure(np.eye(2), np.zeros(2), None, names=["a", "b"], title="t")
    assert np.isnan(np.asarray(fig.data[1].z, dtype=float)).all()
    k = figs.ANNOTATE_UP_TO + 1
    names = [f"x{j}" for j in range(k)]
    big = figs.system_figure(np.eye(k), np.ones(k), np.ones(k), names=names, title="")
    assert big.data[0].text is None  # numbers move to the hover


def test_excerpt_shows_gaps_as_question_marks_or_as_the_models_guess():
    values = np.array([[5.0, np.nan], [np.nan, 1.0]])
    fig = figs.excerpt_figure(
        values, user_labels=["u1", "u2"], item_labels=["a", "b"], title="", rating_scale=(1, 5)
    )
    assert fig.data[0].text.tolist() == [["5", "?"], ["?", "1"]]
    assert np.isnan(np.asarray(fig.data[0].z, dtype=float)[0, 1])
    guessed = figs.excerpt_figure(
        values,
        user_labels=["u1", "u2"],
        item_labels=["a", "b"],
        title="",
        rating_scale=(1, 5),
        predicted=np.array([[4.9, 3.25], [2.5, 1.1]]),
    )
    assert guessed.data[0].text.tolist() == [["5", "<i>3.25</i>"], ["<i>2.5</i>", "1"]]


def test_factorization_figure_has_R_X_and_Y_transposed():
    R = np.array([[5.0, np.nan, 1.0]])
    X = np.array([[1.0, 2.0]])
    Y = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    fig = figs.factorization_figure(
        R, X, Y, user_labels=["u"], item_labels=list("abc"), rating_scale=(1, 5), title=""
    )
    np.testing.assert_array_equal(fig.data[1].z, X)
    np.testing.assert_array_equal(fig.data[2].z, Y.T)


def test_predictions_figure_marks_held_out_ratings_hollow():
    fig = figs.predictions_figure(
        ["a", "b", "c"],
        actual=np.array([5.0, 3.0, 1.0]),
        before=np.array([3.0, 3.0, 3.0]),
        after=np.array([4.8, 3.1, 2.0]),
        held_out=np.array([False, False, True]),
        title="",
    )
    by_name = {trace.name: trace for trace in fig.data if trace.name}
    np.testing.assert_array_equal(by_name["predicted after"].y, [4.8, 3.1, 2.0])
    assert list(by_name["actual rating (used)"].y) == [5.0, 3.0]
    held = by_name["actual rating (held out, not used)"]
    assert list(held.x) == ["c"] and held.marker.symbol == "diamond-open"
    no_held = figs.predictions_figure(["a"], [1.0], [2.0], [1.5], title="")
    assert all("held out" not in (trace.name or "") for trace in no_held.data)


def test_map_figure_groups_items_and_samples_big_data_reproducibly():
    rng = np.random.default_rng(0)
    users, items = rng.normal(size=(5000, 2)), rng.normal(size=(40, 2))
    groups = np.array(["A", "B"] * 20, dtype=object)
    kwargs = {
        "user_labels": [f"u{i}" for i in range(5000)],
        "item_labels": [f"i{i}" for i in range(40)],
        "item_groups": groups,
        "axis_range": (-4.0, 4.0),
    }
    fig = figs.map_figure(users, items, **kwargs)
    names = [trace.name for trace in fig.data]
    assert names == ["users", "A", "B"]
    assert len(fig.data[0].x) == figs.MAX_POINTS
    assert isinstance(fig.data[0], go.Scattergl)  # big: WebGL
    assert sum(len(trace.x) for trace in fig.data[1:]) == 40
    again = figs.map_figure(users, items, **kwargs)
    np.testing.assert_array_equal(fig.data[0].x, again.data[0].x)
    assert tuple(fig.layout.xaxis.range) == (-4.0, 4.0) == tuple(fig.layout.yaxis.range)


def test_mark_moment_draws_a_line_and_a_ring_where_asked():
    fig = go.Figure(go.Scatter(x=[0.5, 1.0], y=[10.0, 5.0]))
    figs.mark_moment(fig, x=1.0, y=5.0, label="iteration 1: items solved", start_y=20.0)
    assert fig.layout.shapes[0].x0 == 1.0 == fig.layout.shapes[0].x1
    ring = next(t for t in fig.data if (t.name or "").startswith("now"))
    assert list(ring.x) == [1.0] and list(ring.y) == [5.0]
    start = next(t for t in fig.data if t.name == "random start")
    assert list(start.x) == [0.0] and list(start.y) == [20.0]


def test_presenter_styling_enlarges_text_and_height_only_when_on():
    fig = go.Figure(layout={"height": 400})
    presenter.style_figure(fig, on=False)
    assert fig.layout.font.size is None and fig.layout.height == 400
    presenter.style_figure(fig, on=True)
    assert fig.layout.font.size == presenter.FIGURE_FONT["size"]
    assert fig.layout.height == pytest.approx(400 * presenter.HEIGHT_FACTOR)


def test_the_replay_map_and_the_latent_map_share_one_colour_per_genre():
    """Genres of unequal sizes (alphabetical order ≠ size order), and more items than either
    map draws: each genre gets the same colour in both, the biggest the first colour."""
    from dashboard.figures import CATEGORY_PALETTE
    from dashboard.figures import latent as latent_figs

    rng = np.random.default_rng(0)
    sizes = {"Action": 300, "Western": 2500, "Comedy": 1200, "Drama": 40}
    groups = np.array([g for g, n in sizes.items() for _ in range(n)], dtype=object)
    rng.shuffle(groups)
    items = rng.standard_normal((len(groups), 2))
    users = rng.standard_normal((50, 2))
    projection = ac.shared_projection(users, items)
    labels = np.array([f"item {i}" for i in range(len(groups))], dtype=object)
    user_labels = np.array([f"user {u}" for u in range(50)], dtype=object)
    replay = figs.map_figure(
        projection.users,
        projection.items,
        user_labels=user_labels,
        item_labels=labels,
        item_groups=groups,
    )
    latent = latent_figs.latent_figure(
        projection,
        item_labels=labels,
        user_labels=user_labels,
        item_colour=groups,
        item_colour_title="genre",
        categorical=True,
        user_activity=np.ones(50),
    )

    def colours(fig):
        return {t.name: t.marker.color for t in fig.data if t.name in sizes}

    assert colours(replay) == colours(latent)
    by_size = sorted(sizes, key=lambda g: -sizes[g])
    assert [colours(replay)[g] for g in by_size] == list(CATEGORY_PALETTE[:4])


def test_replay_objective_marks_the_moment_at_its_half_step_and_the_kept_one():
    history = pd.DataFrame(
        {
            "iteration": [1, 1, 2, 2, 3, 3],
            "side": ["users", "items"] * 3,
            "objective": [9.0, 7.0, 6.0, 5.5, 5.4, 5.3],
            "data_term": [8.0, 6.0, 5.0, 4.5, 4.4, 4.3],
            "regularization_term": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    fig = figs.replay_objective_figure(
        history,
        formulas.Form(),
        moment=(2, "users"),
        moment_label="iteration 2: users solved",
        start_objective=12.0,
        kept=(2, "items", "iteration 2: items solved"),
    )
    ring = next(t for t in fig.data if (t.name or "").startswith("now"))
    # The users half-step of iteration 2 sits at x = 2 − ½ with the history's objective there.
    assert list(ring.x) == [1.5] and list(ring.y) == [6.0]
    lines = sorted(shape.x0 for shape in fig.layout.shapes)
    assert lines == [1.5, 2.0]  # the moment, and the kept half-step (iteration 2's items)
    assert fig.layout.height == 520
    start = figs.replay_objective_figure(
        history, formulas.Form(), moment=None, moment_label="random start", start_objective=12.0
    )
    ring = next(t for t in start.data if (t.name or "").startswith("now"))
    assert list(ring.x) == [0.0] and list(ring.y) == [12.0]  # the start: before the history


def test_predictions_figure_tilts_labels_that_would_run_into_each_other():
    # The movie-night sample's user 9: six titles of up to 19 characters under six columns.
    titles = ["The Substitute Chef", "They Knock at Three", "Northbound", "The Cellist",
              "Starfall Archive", "Skin of the Marsh"]  # fmt: skip
    values = np.full(len(titles), 3.0)
    fig = figs.predictions_figure(titles, values, values, values, title="")
    assert fig.layout.xaxis.tickangle == -30
    assert max(len(t) for t in titles) > figs.LEVEL_LABEL_CHARS
    short = ["Heat", "Up", "Jaws", "Alien", "Big", "Rocky"]
    fig = figs.predictions_figure(short, values, values, values, title="")
    assert fig.layout.xaxis.tickangle == 0  # short names stay level
