"""The home page tells ALS with the session's data: it opens without a click, shows a real excerpt
of R with its gaps, the objectives, the update, and links to every page that shows an idea."""

from __future__ import annotations

import time

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

import als_core as ac
from als_core import embed
from als_core.reference import reference_objective
from dashboard.figures import teaching as figs
from dashboard.settings import DEFAULT_SETTINGS, fit_model
from tests.app_support import figure_array, open_app, rerun


def charts(at: AppTest) -> list[go.Figure]:
    """The page's plotly figures, decoded (arrays travel base64-encoded in the spec)."""
    return [pio.from_json(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_the_app_opens_on_the_theory_page_with_the_current_data():
    at = open_app()
    assert at.title[0].value == "How ALS works"
    ratings = ac.load_sample("movie_night")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Users"] == f"{ratings.n_users:,}"
    assert metrics["Cells missing"] == f"{1 - ratings.density:.1%}"
    assert not at.error


def test_the_objectives_and_the_update_are_written_out():
    at = open_app()
    latex = [element.value for element in at.latex]
    assert any(r"\lVert x_u\rVert^2 + \sum_i \lVert y_i\rVert^2" in t for t in latex)  # plain
    assert any(r"n_u\lVert x_u\rVert^2" in t for t in latex)  # weighted
    assert any(r"\mu - b_u - b_i" in t for t in latex)  # biases


def test_each_idea_links_to_the_page_that_shows_it():
    at = open_app()
    targets = {link.proto.page for link in at.page_link}
    assert {"data", "train", "reconstruction", "latent", "update", "replay", "add_yourself"} <= (
        targets
    )


def test_the_excerpt_of_R_shows_gaps_as_question_marks_not_zeros():
    """On the tiny sample the excerpt is the whole 5 × 6 table: 19 ratings and 11 gaps."""
    at = open_app(params=dict(data="sample:tiny"))
    tiny = ac.load_sample("tiny")
    dense = tiny.matrix.toarray()
    observed = np.zeros(dense.shape, dtype=bool)
    observed[tiny.matrix.nonzero()] = True
    excerpt = next(fig for fig in charts(at) if fig.layout.title.text.startswith("R: the"))
    heatmap = excerpt.data[0]
    text = np.array(heatmap.text, dtype=object)
    assert text.shape == dense.shape
    assert int(np.sum(text == "?")) == int((~observed).sum()) == 11
    # The gaps are NaN (drawn as gaps), never zeros; the ratings are the real values.
    z = figure_array(heatmap.z)
    assert np.isnan(z[~observed]).all()
    np.testing.assert_array_equal(z[observed], dense[observed])


# ----------------------------------------------------------------------------- settings → text
def latex_of(at: AppTest) -> list[str]:
    """The page's formulas as written (AppTest wraps each in $$ … $$)."""
    return [
        element.value.strip().removeprefix("$$").removesuffix("$$").strip() for element in at.latex
    ]


def open_with(**settings) -> AppTest:
    """The home page with the movie-night sample and the Train page's settings changed."""
    return open_app(state={"train_settings": {**DEFAULT_SETTINGS, **settings}})


def session_fit(at: AppTest):
    """The session's model, fitted again independently from its settings (same split, seed)."""
    return fit_model(at.session_state["data_dataset"].ratings, at.session_state["train_settings"])


@pytest.mark.parametrize("biases", [True, False])
def test_the_update_the_factorisation_and_the_system_size_follow_the_biases(biases):
    at = open_with(biases=biases)
    latex = latex_of(at)
    md = "\n".join(m.value for m in at.markdown)
    headers = [h.value for h in at.subheader]
    if biases:
        # The augmented system the library solves: [x; b], ỹ = [y; 1], targets r − μ − b_i.
        update = [t for t in latex if t.startswith(r"\begin{bmatrix} x_{u} \\ b_{u}")]
        assert update and r"\big(r_{ui} - \mu - b_i\big)\, \tilde y_i" in update[0]
        assert "5 · One update: a 3 × 3 system per user" in headers
        assert "A is only 3 × 3 (k + 1" in md
        # A and B are named before they are used: the formulas above do not say them.
        assert "Call the matrix in brackets A and the sum after it B. A is only" in md
        assert r"\hat r_{ui} = \mu + b_{u} + b_{i} + x_{u}^\top y_{i}" in latex
    else:
        assert any(
            t.startswith(r"x_{u} = \Big(\sum_{i \in \text{rated}(u)} y_i y_i^\top + \lambda I")
            for t in latex
        )
        assert not any(r"\tilde" in t for t in latex)
        assert "5 · One update: a 2 × 2 system per user" in headers
        assert "A is only 2 × 2 (k × k)" in md
        assert r"\hat r_{ui} = x_{u}^\top y_{i}" in latex
    # The model's own objective comes first, the other forms after it.
    objective = latex[latex.index(next(t for t in latex if t.startswith(r"\begin{aligned}\min")
                                       or t.startswith(r"\min")))]  # fmt: skip
    assert (r"\mu" in objective) is biases


@pytest.mark.parametrize("biases", [True, False])
def test_the_factorisation_panel_is_what_XYt_fits(biases):
    """With biases X·Yᵀ fits R − μ − b_u − b_i; the panel's numbers are recomputed here from
    the model's own biases, independently of the page."""
    at = open_with(biases=biases)
    fig = next(f for f in charts(at) if (f.layout.title.text or "").startswith("R ≈"))
    title = fig.layout.title.text
    assert title.startswith("R ≈ μ + b_u + b_i + X·Yᵀ" if biases else "R ≈ X·Yᵀ")
    fit = session_fit(at)
    ratings, model = at.session_state["data_dataset"].ratings, fit.model
    users = np.sort(np.lexsort((np.arange(ratings.n_users), -ratings.user_counts()))[:8])
    items = np.sort(np.lexsort((np.arange(ratings.n_items), -ratings.item_counts()))[:8])
    dense = ratings.matrix.toarray()
    observed = np.zeros(dense.shape, dtype=bool)
    observed[ratings.matrix.nonzero()] = True
    expected = np.where(observed, dense, np.nan)[np.ix_(users, items)]
    if biases:
        expected = (
            expected
            - model.global_mean_
            - model.user_bias_[users][:, None]
            - model.item_bias_[items][None, :]
        )
    z = figure_array(fig.data[0].z)
    np.testing.assert_allclose(z, expected, atol=1e-9)  # NaN where no rating, same places
    assert fig.layout.annotations[0].text == ("R − μ − b_u − b_i" if biases else "R (8 × 8 shown)")


def test_held_out_ratings_are_outlined_and_their_guesses_clipped():
    at = open_app()
    fit = session_fit(at)
    ratings = at.session_state["data_dataset"].ratings
    users = np.sort(np.lexsort((np.arange(ratings.n_users), -ratings.user_counts()))[:8])
    items = np.sort(np.lexsort((np.arange(ratings.n_items), -ratings.item_counts()))[:8])
    held = fit.validation.matrix[users][:, items].toarray() != 0
    names_u = embed.user_labels(ratings)[users]
    names_i = embed.item_labels(ratings)[items]
    expected = {(names_i[c], names_u[r]) for r, c in zip(*np.nonzero(held), strict=True)}
    assert expected  # the default split holds some out among these cells
    for title in ("R: the", "The holes filled in"):
        fig = next(f for f in charts(at) if (f.layout.title.text or "").startswith(title))
        (marks,) = [t for t in fig.data if t.name and t.name.startswith("held out")]
        assert set(zip(marks.x, marks.y, strict=True)) == expected
    filled = next(f for f in charts(at) if f.layout.title.text.startswith("The holes filled in"))
    assert "clipped to [1, 5]" in filled.layout.title.text
    lo, hi = fit.model.rating_scale_
    guesses = fit.model.predict(users[:, None], items[None, :])
    assert guesses.min() >= lo and guesses.max() <= hi
    text = np.array(filled.data[0].text, dtype=object)
    r, c = np.argwhere(held)[0]
    assert text[r, c].endswith(f"<i>{figs.fmt(guesses[r, c])}</i>")


def test_cost_table_is_the_operation_count_beside_the_fits_own_seconds():
    at = open_app()
    fit = session_fit(at)
    model, train = fit.model, fit.train
    table = next(d.value for d in at.dataframe if "operations" in d.value.columns)
    w = 2 + 1  # k = 2 with the bias
    history = at.session_state["train_fits"]  # the page's own fit: its recorded seconds
    shown_fit = next(reversed(history.values()))
    for row, side, n in ((0, "users", train.n_users), (1, "items", train.n_items)):
        expected = train.nnz * (w * w + 2 * w) + n * (w**3 / 3 + 2 * w * w)
        assert table["operations"].iloc[row] == pytest.approx(expected)
        h = shown_fit.model.history_
        assert table["seconds (median)"].iloc[row] == pytest.approx(
            float(np.median(h.loc[h["side"] == side, "seconds"]))
        )
    assert list(table["unknowns each"]) == [w, w]
    assert model.n_iter_ == 15


def test_identifiability_curves_and_every_system_positive_definite():
    """Rescaling changes the penalty only (lowest at d = 1), rotating changes nothing; every
    system Σ f fᵀ + λI has eigenvalues ≥ λ while rows with fewer ratings than unknowns are
    singular alone: recomputed here with a loop over users."""
    at = open_with(biases=False)
    fit = session_fit(at)
    model, train = fit.model, fit.train
    fig = next(
        f for f in charts(at) if f.layout.title.text == "The same predictions, other factors"
    )
    data_d, penalty_d, data_t, penalty_t = (figure_array(t.y) for t in fig.data)
    d = figure_array(fig.data[0].x)
    # Independent: the article's objective by plain loops at d = 2 (factor 1 of X doubled).
    X, Y = model.user_factors_.copy(), model.item_factors_.copy()
    j = int(np.argmin(np.abs(d - 2.0)))
    X[:, 0] *= d[j]
    Y[:, 0] /= d[j]
    total = reference_objective(train.matrix, X, Y, model.lam)
    assert data_d[j] + penalty_d[j] == pytest.approx(total, rel=1e-9)
    assert np.ptp(data_d) < 1e-9 * data_d.max() and np.ptp(data_t) < 1e-9 * data_t.max()
    assert np.ptp(penalty_t) < 1e-9 * penalty_t.max()
    assert d[np.argmin(penalty_d)] == pytest.approx(1.0)
    spectra = next(t.value for t in at.dataframe if "singular alone" in t.value.columns)
    users = spectra.set_index("side").loc["users"]
    R = train.matrix
    counts = np.diff(R.indptr)
    smallest = [
        np.linalg.eigvalsh(Y_.T @ Y_)[0]
        for Y_ in (model.item_factors_[R.indices[R.indptr[u] : R.indptr[u + 1]]]
                   for u in range(R.shape[0]) if counts[u])
    ]  # fmt: skip
    assert users["fewer ratings than unknowns"] == int(np.sum((counts > 0) & (counts < 2)))
    assert users["with the ridge"] >= model.lam - 1e-12
    assert users["with the ridge"] == pytest.approx(max(0.0, min(smallest)) + model.lam)


def test_two_seeds_reach_two_optima_at_k3_recomputed_independently():
    at = open_app()
    at.slider(key="theory_w_seeds_k").set_value(3)
    rerun(at)
    at.button(key="exp_theory_seeds_run").click()
    rerun(at)
    for _ in range(100):  # the job runs in a thread: rerun until its results are shown
        if any(m.value.startswith("**Two optima") for m in at.markdown):
            break
        time.sleep(0.2)
        rerun(at)
    said = next(m.value for m in at.markdown if m.value.startswith("**Two optima"))
    table = next(t.value for t in at.dataframe if "largest rise" in t.value.columns)
    assert (table["largest rise"] <= 0).all()  # monotone: never rose
    fit = session_fit(at)
    for seed, objective in zip(table["seed"], table["objective"], strict=True):
        m = ac.ALS(k=3, lam=1.0, biases=True, seed=int(seed), iterations=300, tol=1e-10).fit(
            fit.train
        )
        assert objective == pytest.approx(m.history_["objective"].iloc[-1], rel=1e-9)
    assert table["objective"].max() - table["objective"].min() > 1.0
    low = table.loc[table["objective"].idxmin()]
    assert f"seed {int(low['seed'])} ends at {low['objective']:,.7g}" in said


def test_cold_start_lists_mu_plus_item_bias_then_moves_after_one_rating():
    at = open_app()
    model = session_fit(at).model
    names = embed.item_labels(at.session_state["data_dataset"].ratings)
    before = next(t.value for t in at.dataframe if list(t.value.columns) == ["item", "score"])
    order = np.lexsort((-model.item_counts_, -(model.global_mean_ + model.item_bias_)))[:5]
    assert list(before["item"]) == list(names[order])
    np.testing.assert_allclose(
        before["score"], np.round(model.global_mean_ + model.item_bias_[order], 3)
    )
    assert any("After one rating" in m.value for m in at.markdown)


def test_rows_left_out_of_the_systems_table_are_the_ones_without_training_ratings():
    """The default split holds out every rating of one movie-night user: the table counts the
    rows that have a system, and a note says who is missing and why (recomputed here)."""
    at = open_app()
    fit = session_fit(at)
    train = fit.train
    empty = {"users": int((train.user_counts() == 0).sum()),
             "items": int((train.item_counts() == 0).sum())}  # fmt: skip
    assert empty["users"] >= 1  # the case this test is about
    spectra = next(t.value for t in at.dataframe if "singular alone" in t.value.columns)
    rows = spectra.set_index("side")["rows"]
    assert rows["users"] == train.n_users - empty["users"]
    assert rows["items"] == train.n_items - empty["items"]
    (note,) = [c.value for c in at.caption if "no training rating" in c.value]
    n = empty["users"]
    assert note.startswith(f"{n} of the {train.n_users} users {'has' if n == 1 else 'have'} ")
    assert ("items" in note) is (empty["items"] > 0)
    # Their factors do stay 0: nothing was fitted for them.
    missing = np.flatnonzero(train.user_counts() == 0)
    assert np.all(fit.model.user_factors_[missing] == 0)
